"""Confirmed subscribers in bulk, with the mix of selections readers make, for
the delivery benchmark and the tests that run real worker processes.

Bulk inserts (no ``save()``, no signals): 100,000 subscribers take seconds.
The selection follows from the position ``n`` alone, so that a run can be
repeated and a test can tell from the address what its owner chose.
"""

from django.utils import timezone

from newsletter.models import Subscriber, new_subscriber_key
from papers.models import Section, Tag

# Out of every 20 subscribers: 10 take every issue, 5 follow one section of
# the issue, 4 one of its tags, and 1 a section the issue does not have.
PATTERN = ["every"] * 10 + ["section"] * 5 + ["tag"] * 4 + ["elsewhere"]
BATCH = 5000


def choice(n):
    """(kind, language) of the ``n``-th subscriber; every third one reads English."""
    kind = PATTERN[n % len(PATTERN)]
    language = Subscriber.Language.ENGLISH if n % 3 == 0 else Subscriber.Language.CHINESE
    return kind, language


def add_subscribers(issue, count, *, prefix="reader", domain="example.org"):
    """Make ``count`` confirmed subscribers; the addresses say what each
    chose: ``reader-<n>-<kind>-<language>@<domain>``. Sections and tags are
    taken in turn from those of the issue's entries. Returns how many would
    receive the issue (all but the ``elsewhere`` ones)."""
    sections = list(Section.objects.filter(entries__issue=issue).distinct().order_by("pk"))
    tags = list(
        Tag.objects.filter(tagged_entries__content_object__issue=issue).distinct().order_by("pk")
    )
    elsewhere, _ = Section.objects.get_or_create(
        slug="bench-elsewhere", defaults={"name": "不在这一期的栏目", "position": 999}
    )
    now = timezone.now()
    receiving = 0
    for start in range(0, count, BATCH):
        numbers = range(start, min(start + BATCH, count))
        rows = []
        for n in numbers:
            kind, language = choice(n)
            address = f"{prefix}-{n}-{kind}-{language}@{domain}"
            rows.append(
                Subscriber(
                    email=address,
                    key=new_subscriber_key(),
                    language=language,
                    every_issue=kind == "every",
                    status=Subscriber.Status.CONFIRMED,
                    confirmed_at=now,
                )
            )
            receiving += kind != "elsewhere"
        made = Subscriber.objects.bulk_create(rows)
        follows_section, follows_tag = [], []
        for n, subscriber in zip(numbers, made, strict=True):
            kind, _ = choice(n)
            if kind == "section":
                section = sections[n % len(sections)]
                follows_section.append((subscriber.pk, section.pk))
            elif kind == "elsewhere":
                follows_section.append((subscriber.pk, elsewhere.pk))
            elif kind == "tag":
                follows_tag.append((subscriber.pk, tags[n % len(tags)].pk))
        Subscriber.sections.through.objects.bulk_create(
            Subscriber.sections.through(subscriber_id=s, section_id=t) for s, t in follows_section
        )
        Subscriber.tags.through.objects.bulk_create(
            Subscriber.tags.through(subscriber_id=s, tag_id=t) for s, t in follows_tag
        )
    return receiving
