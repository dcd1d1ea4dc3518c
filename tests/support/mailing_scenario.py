"""A mailing for real worker processes to send, set up and read back in a
subprocess, on a database other processes can see (a scratch SQLite file or
PostgreSQL database; pytest-django's in-memory SQLite is visible to no one).

    DATABASE_URL=... python -m tests.support.mailing_scenario setup --subscribers 300
    DATABASE_URL=... python -m tests.support.mailing_scenario report

``setup`` makes a public issue (three sections, eight entries, three tags),
the subscribers (bench.common.subscribers: every issue, a section, a tag or
nothing in this issue; Chinese and English) and three who must get nothing
(pending, unsubscribed, paused), then asks for the mailing as a publisher
would: the delivery tasks are queued for the workers. Each prints one line of
JSON. ``progress`` (no Django) counts the delivery rows by status straight
from the database, cheaply enough to poll.
"""

import argparse
import json
import os
import sqlite3
import sys
from urllib.parse import urlsplit

# Codes of equal length, so that no title is a part of another.
ENTRIES = [
    ("rag", "A1", ["RAG"]),
    ("rag", "A2", ["RAG", "幻觉"]),
    ("rag", "A3", []),
    ("reasoning", "B1", ["长上下文"]),
    ("reasoning", "B2", []),
    ("reasoning", "B3", ["幻觉"]),
    ("safety", "C1", ["幻觉"]),
    ("safety", "C2", []),
]
SECTIONS = {"rag": "RAG", "reasoning": "LLM推理", "safety": "LLM安全与对齐"}


def title(code):
    return f"Scenario paper {code}"


def setup(subscribers):
    from django.contrib.auth.models import Group, User

    from bench.common.subscribers import add_subscribers
    from newsletter import delivery
    from newsletter.models import Delivery, Subscriber
    from tests.factories import EntryFactory, IssueFactory, SectionFactory, SubscriberFactory

    sections = {
        slug: SectionFactory(slug=slug, name=name, position=n)
        for n, (slug, name) in enumerate(SECTIONS.items())
    }
    issue = IssueFactory(title="第42期 大模型论文")
    for section, code, tags in ENTRIES:
        EntryFactory(issue=issue, section=sections[section], title=title(code), tags=tags)
    receiving = add_subscribers(issue, subscribers)
    SubscriberFactory(email="pending@example.org", status=Subscriber.Status.PENDING)
    SubscriberFactory(email="gone@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    SubscriberFactory(email="paused@example.org", paused=True)

    publisher = User.objects.create_user("publisher", "publisher@example.org", is_staff=True)
    publisher.groups.add(Group.objects.get(name="Publisher"))
    delivery.request_mailing(issue, publisher)  # the workers queue the rows and send
    assert not Delivery.objects.exists()
    return {"issue": issue.pk, "receiving": receiving}


def report():
    """The issue's entries, every subscriber's choice, and each row's status."""
    from newsletter.models import Delivery, Subscriber
    from papers.models import Entry

    entries = [
        {"title": e.title, "section": e.section.slug, "tags": sorted(t.name for t in e.tags.all())}
        for e in Entry.objects.filter(title__startswith="Scenario paper ")
        .select_related("section")
        .prefetch_related("tags")
    ]
    subscribers = [
        {
            "email": s.email,
            "language": s.language,
            "status": s.status,
            "paused": s.paused,
            "every_issue": s.every_issue,
            "sections": sorted(x.slug for x in s.sections.all()),
            "tags": sorted(x.name for x in s.tags.all()),
        }
        for s in Subscriber.objects.prefetch_related("sections", "tags")
    ]
    deliveries = {
        email: {"status": status, "attempts": attempts}
        for email, status, attempts in Delivery.objects.values_list(
            "subscriber__email", "status", "attempts"
        )
    }
    return {"entries": entries, "subscribers": subscribers, "deliveries": deliveries}


def progress(database_url):
    """{status: count} of the delivery rows, read without Django."""
    return dict(
        _query(database_url, "SELECT status, COUNT(*) FROM newsletter_delivery GROUP BY status")
    )


def batches_held(database_url, unsent=1):
    """How many batches workers hold now with at least ``unsent`` rows still
    to send (claims under a lease): each worker holds one at most, so 2 means
    both of two workers do."""
    query = (
        "SELECT COUNT(*) FROM (SELECT claim FROM newsletter_delivery WHERE status = 'sending'"
        f" GROUP BY claim HAVING COUNT(*) >= {int(unsent)}) AS held"
    )
    return _query(database_url, query)[0][0]


def _query(database_url, query):
    parts = urlsplit(database_url)
    if parts.scheme == "sqlite":
        path = "/" + parts.path.lstrip("/")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1)) as db:
        return db.execute(query).fetchall()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.support.mailing_scenario")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup").add_argument("--subscribers", type=int, default=300)
    commands.add_parser("report")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digestsite.settings")
    import django

    django.setup()
    result = setup(args.subscribers) if args.command == "setup" else report()
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
