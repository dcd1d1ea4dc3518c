"""The querysets' vocabulary: the orders and counts every list is built from.

The issue page is the reference for order: every list of an issue's sections
or entries prints them as the issue page does.
"""

import datetime
import re

import pytest
from django.utils import timezone

from papers.models import Entry, Issue, Section, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

ENTRY_ARTICLE = re.compile(r'<article class="entry" id="entry-(\d+)"')


def printed_entries(client, url):
    """The pks of the entries ``url`` prints, in the page's order."""
    response = client.get(url)
    assert response.status_code == 200, url
    return [int(pk) for pk in ENTRY_ARTICLE.findall(response.content.decode())]


def pks(queryset):
    return [row.pk for row in queryset]


@pytest.fixture
def sections_sharing_a_position():
    """Two sections at one position, the later-made first by name."""
    beta = SectionFactory(name="Beta", slug="beta", position=5)
    alpha = SectionFactory(name="Alpha", slug="alpha", position=5)
    first = SectionFactory(name="Zeta", slug="zeta", position=1)
    return first, alpha, beta


# ------------------------------------------------------------------ issues


def test_issues_newest_first_by_publication_then_the_later_made():
    now = timezone.now()
    old = IssueFactory(published_at=now - datetime.timedelta(days=30))
    tied_first = IssueFactory(published_at=now - datetime.timedelta(days=1))
    tied_second = IssueFactory(published_at=tied_first.published_at)
    draft = IssueFactory(status=Issue.Status.DRAFT)
    assert pks(Issue.objects.published().newest_first()) == [
        tied_second.pk,
        tied_first.pk,
        old.pk,
    ]
    assert draft.pk not in pks(Issue.objects.published().newest_first())


def test_issues_with_entry_counts():
    section = SectionFactory()
    full, empty = IssueFactory(), IssueFactory()
    for _ in range(3):
        EntryFactory(issue=full, section=section)
    counts = {issue.pk: issue.entry_count for issue in Issue.objects.with_entry_counts()}
    assert counts == {full.pk: 3, empty.pk: 0}


# ------------------------------------------------------------------ sections


def test_sections_in_issue_order_by_position_then_name(sections_sharing_a_position):
    first, alpha, beta = sections_sharing_a_position
    assert pks(Section.objects.in_issue_order()) == [first.pk, alpha.pk, beta.pk]
    assert [s.order_key for s in (first, alpha, beta)] == [(1, "Zeta"), (5, "Alpha"), (5, "Beta")]


def test_section_entry_counts_include_drafts_for_the_editors():
    used, unused = SectionFactory(), SectionFactory()
    EntryFactory(issue=IssueFactory(), section=used)
    EntryFactory(issue=IssueFactory(status=Issue.Status.DRAFT), section=used)
    counts = {s.pk: s.entry_count for s in Section.objects.with_entry_counts()}
    assert counts == {used.pk: 2, unused.pk: 0}


def test_section_public_counts_count_public_entries_only():
    public, drafts_only = SectionFactory(), SectionFactory()
    older, newer = IssueFactory(), IssueFactory()
    draft = IssueFactory(status=Issue.Status.DRAFT)
    scheduled = IssueFactory(
        status=Issue.Status.SCHEDULED, published_at=timezone.now() + datetime.timedelta(days=1)
    )
    EntryFactory(issue=older, section=public)
    EntryFactory(issue=newer, section=public)
    EntryFactory(issue=draft, section=public)
    EntryFactory(issue=scheduled, section=public)
    EntryFactory(issue=draft, section=drafts_only)
    (counted,) = Section.objects.public_counts()
    assert counted == public
    assert counted.entry_count == 2
    assert counted.latest == max(older.published_at, newer.published_at)


# ------------------------------------------------------------------ tags


def test_tag_entry_counts_include_drafts_for_the_editors():
    section = SectionFactory()
    EntryFactory(issue=IssueFactory(), section=section, tags=["RAG"])
    draft = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=draft, section=section, tags=["RAG", "草稿"])
    Tag.objects.create(name="unused")
    counts = {t.name: t.entry_count for t in Tag.objects.with_entry_counts()}
    assert counts == {"RAG": 2, "草稿": 1, "unused": 0}


def test_tags_counted_in_some_entries():
    section, issue = SectionFactory(), IssueFactory()
    one = EntryFactory(issue=issue, section=section, tags=["a", "b"])
    two = EntryFactory(issue=issue, section=section, tags=["a"])
    EntryFactory(issue=issue, section=section, tags=["a", "c"])
    counted = Tag.objects.counted_in(Entry.objects.filter(pk__in=[one.pk, two.pk]))
    assert {t.name: t.entry_count for t in counted} == {"a": 2, "b": 1}


def test_tag_public_counts_most_used_first():
    section = SectionFactory()
    public, draft = IssueFactory(), IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=public, section=section, tags=["rag", "agents"])
    EntryFactory(issue=public, section=section, tags=["agents"])
    EntryFactory(issue=public, section=section, tags=["benchmarks"])
    EntryFactory(issue=draft, section=section, tags=["rag", "rag-draft"])
    EntryFactory(issue=draft, section=section, tags=["rag"])
    counted = Tag.objects.public_counts().most_used_first()
    # rag has three entries, but only one public: it ties with benchmarks,
    # and ties go by name; the draft-only tag is not there at all.
    assert [(t.name, t.entry_count) for t in counted] == [
        ("agents", 2),
        ("benchmarks", 1),
        ("rag", 1),
    ]


# ------------------------------------------------------------------ entries


@pytest.fixture
def issue_with_tied_sections(sections_sharing_a_position):
    """An issue whose two sections at one position were made in the reverse
    of their names' order, and whose entries were made in neither order."""
    first, alpha, beta = sections_sharing_a_position
    issue = IssueFactory(slug="tied")
    made = {
        "beta 1": EntryFactory(issue=issue, section=beta, position=1),
        "alpha 2": EntryFactory(issue=issue, section=alpha, position=2),
        "zeta 1": EntryFactory(issue=issue, section=first, position=1),
        "alpha 1": EntryFactory(issue=issue, section=alpha, position=1),
    }
    order = ["zeta 1", "alpha 1", "alpha 2", "beta 1"]  # as the issue page prints them
    return issue, [made[name].pk for name in order]


def test_entries_in_issue_order(issue_with_tied_sections):
    issue, printed = issue_with_tied_sections
    assert pks(issue.entries.in_issue_order()) == printed


def test_entries_by_section_as_the_issue_prints_them(issue_with_tied_sections):
    issue, printed = issue_with_tied_sections
    grouped = issue.entries_by_section()
    assert [section.slug for section, _ in grouped] == ["zeta", "alpha", "beta"]
    assert [entry.pk for _, entries in grouped for entry in entries] == printed
    # Runs, not a regrouping: a queryset in another order gives more runs.
    by_pk = issue.entries.order_by("pk").by_section()
    assert [section.slug for section, _ in by_pk] == ["beta", "alpha", "zeta", "alpha"]


def test_entries_newest_first_follow_the_issue_page(client, settings, issue_with_tied_sections):
    """Sections sharing a position come by name in every list, as on the
    issue page (``newest_first()`` once left the name out)."""
    settings.PAGE_CACHE = False
    issue, printed = issue_with_tied_sections
    assert printed_entries(client, issue.get_absolute_url()) == printed
    assert pks(Entry.objects.published().newest_first()) == printed
    assert printed_entries(client, "/entries/") == printed


def test_entries_newest_first_take_issues_as_the_archive_lists_them():
    """Two issues published at the same time: their entries come issue by
    issue, in the order of ``Issue.objects.newest_first()``, never mixed."""
    early, late = SectionFactory(position=1), SectionFactory(position=2)
    when = timezone.now() - datetime.timedelta(hours=1)
    first_made, second_made = IssueFactory(published_at=when), IssueFactory(published_at=when)
    a1 = EntryFactory(issue=first_made, section=early)
    a2 = EntryFactory(issue=first_made, section=late)
    b1 = EntryFactory(issue=second_made, section=early)
    b2 = EntryFactory(issue=second_made, section=late)
    assert pks(Issue.objects.published().newest_first()) == [second_made.pk, first_made.pk]
    assert pks(Entry.objects.published().newest_first()) == [b1.pk, b2.pk, a1.pk, a2.pk]


def test_public_state_is_published_asked_once_for_a_whole_list(django_assert_num_queries):
    """``is_live`` / ``issue_is_live`` agree with ``published()`` for every
    state an issue can be in, in one query for the whole list."""
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    issues = {
        "published": IssueFactory(),
        "scheduled, due": IssueFactory(status=Issue.Status.SCHEDULED, published_at=now - hour),
        "scheduled, later": IssueFactory(status=Issue.Status.SCHEDULED, published_at=now + hour),
        "draft": IssueFactory(status=Issue.Status.DRAFT),
    }
    section = SectionFactory()
    for issue in issues.values():
        EntryFactory(issue=issue, section=section)
    public = set(Issue.objects.published().values_list("pk", flat=True))
    assert len(public) == 2

    with django_assert_num_queries(1):
        live = {issue.pk: issue.is_live for issue in Issue.objects.with_public_state()}
    assert live == {issue.pk: issue.pk in public for issue in issues.values()}

    with django_assert_num_queries(1):
        entries = list(Entry.objects.with_issue_state())
        assert {entry.issue.pk: entry.issue_is_live for entry in entries} == live


def test_a_known_count_is_answered_without_a_query_and_forgotten_by_a_new_queryset(
    django_assert_num_queries,
):
    """Search results know their count (papers.search); a queryset made from
    them, which may hold other rows, counts again."""
    section, issue = SectionFactory(), IssueFactory()
    entries = [EntryFactory(issue=issue, section=section) for _ in range(3)]
    known = Entry.objects.filter(pk__in=[e.pk for e in entries]).with_known_count(3)
    with django_assert_num_queries(0):
        assert known.count() == 3
    with django_assert_num_queries(1):
        assert known.filter(pk=entries[0].pk).count() == 1
    with django_assert_num_queries(1):
        assert known.all().count() == 3
