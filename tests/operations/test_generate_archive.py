"""``manage.py generate_archive``: a synthetic archive with a correct search index.

Small archives here (5 issues, 300 entries, 50 tags); the same code makes the
100,000 entries of the benchmarks.
"""

import io
import statistics

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, OutputWrapper
from django.db import connection
from django.db.models import Count, TextField
from django.db.models.functions import Cast

from operations import synthetic_archive
from operations.management.commands.generate_archive import ProgressBar
from papers import search
from papers.markdown import render_markdown
from papers.models import Entry, Issue, SearchDocument, Section, Tag, TaggedEntry
from reading import page_cache
from tests.factories import EntryFactory, IssueFactory

pytestmark = pytest.mark.django_db

SIZES = {"issues": 5, "entries": 300, "tags": 50}


def generate(**options):
    out = io.StringIO()
    call_command("generate_archive", **{**SIZES, **options}, stdout=out)
    return out.getvalue()


@pytest.fixture
def output():
    return generate()


def snapshot():
    """What the archive says, in order, independent of primary keys."""
    entries = Entry.objects.order_by("issue__slug", "section__position", "position")
    return [
        (
            e.issue.slug,
            e.section.slug,
            e.position,
            e.title,
            e.arxiv_id,
            e.summary,
            sorted(e.tags.names()),
        )
        for e in entries.select_related("issue", "section").prefetch_related("tags")
    ]


# The archive ---------------------------------------------------------------------


def test_counts_are_as_asked(output):
    assert Issue.objects.count() == 5
    assert Entry.objects.count() == 300
    assert Tag.objects.count() == 50
    assert Section.objects.count() == 5
    assert SearchDocument.objects.count() == 300
    per_issue = list(Issue.objects.annotate(n=Count("entries")).values_list("n", flat=True))
    assert sum(per_issue) == 300 and len(set(per_issue)) > 1  # about 60 each, varied


def test_published_has_something_to_exclude(output):
    statuses = dict(Issue.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses[Issue.Status.SCHEDULED] == 1  # the newest, far in the future
    assert statuses[Issue.Status.DRAFT] >= 1
    assert Issue.objects.published().count() == 5 - 1 - statuses[Issue.Status.DRAFT]
    assert 0 < Entry.objects.published().count() < 300


def test_known_paper_is_covered_in_several_issues(output):
    issues = Entry.objects.filter(arxiv_id=synthetic_archive.KNOWN_ARXIV_ID).values("issue")
    assert issues.distinct().count() >= 2


def test_summaries_have_realistic_lengths_and_their_rendered_html(output):
    summaries = list(Entry.objects.values_list("summary", "summary_html"))
    lengths = [len(summary) for summary, _ in summaries]
    assert min(lengths) >= 150 and max(lengths) <= 620
    assert 250 <= statistics.mean(lengths) <= 350
    assert len(set(lengths)) > 50
    assert all(html == render_markdown(summary) for summary, html in summaries)
    assert all(i.intro_html == render_markdown(i.intro) for i in Issue.objects.all())


def test_tag_use_is_skewed(output):
    uses = sorted(Tag.objects.annotate(n=Count("tagged_entries")).values_list("n", flat=True))
    assert uses[-1] >= 5 * statistics.median(uses)
    per_entry = Entry.objects.annotate(n=Count("tagged_items")).values_list("n", flat=True)
    assert set(per_entry) <= {1, 2, 3, 4, 5} and statistics.mean(per_entry) >= 2


def test_tag_names_are_distinct_ignoring_case_even_at_5000():
    names = synthetic_archive.Archive(1).tag_names(5000)
    assert len({name.lower() for name in names}) == 5000


def test_the_same_seed_makes_the_same_archive(output):
    first = snapshot()
    Issue.objects.all().delete()  # the tags and sections stay, and are reused
    generate()
    assert snapshot() == first
    assert Tag.objects.count() == 50
    Issue.objects.all().delete()
    generate(seed=7)
    assert snapshot() != first


# The search index -------------------------------------------------------------------


def test_every_search_document_is_what_the_site_would_write(output):
    documents = {d.entry_id: d for d in SearchDocument.objects.all()}
    for entry in Entry.objects.select_related("section").prefetch_related("tags"):
        stored, expected = documents[entry.pk], search.document_for(entry)
        assert (stored.title, stored.body) == (expected["title"], expected["body"]), entry.pk
        assert sorted(stored.keywords.split()) == sorted(expected["keywords"].split()), entry.pk


@pytest.mark.parametrize("query", ["幻觉", "对齐", "rag", synthetic_archive.KNOWN_ARXIV_ID])
def test_the_index_finds_exactly_the_documents_holding_a_token(output, query):
    """The full-text index (FTS5 or tsvector) agrees with the documents' text."""
    (term,) = search.parse_query(query).terms
    (token,) = term.tokens
    holding = {
        d.entry_id
        for d in SearchDocument.objects.all()
        if token in f"{d.title} {d.keywords} {d.body}".split()
    }
    found = set(
        search.search(Entry.objects.all(), search.parse_query(query)).values_list("pk", flat=True)
    )
    assert holding and found == holding


def test_search_finds_generated_entries_and_only_public_ones(output):
    query = search.parse_query("模型")
    public = list(search.search(Entry.objects.published(), query))
    assert public
    public_issues = set(Issue.objects.published().values_list("pk", flat=True))
    assert {entry.issue_id for entry in public} <= public_issues
    assert search.search(Entry.objects.all(), query).count() > len(public)  # drafts indexed too


def test_the_database_index_agrees_with_the_documents(output):
    """PostgreSQL: each stored tsvector is what the site computes. SQLite: the
    FTS5 index, rebuilt after the bulk load, passes its own integrity check
    against the documents table (an error is raised otherwise)."""
    if connection.vendor == "postgresql":
        rows = SearchDocument.objects.annotate(
            actual=Cast("vector", TextField()),
            expected=Cast(search.postgres_vector(), TextField()),
        ).values_list("actual", "expected")
        assert all(actual == expected for actual, expected in rows)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO papers_searchdocument_fts(papers_searchdocument_fts, rank) "
                "VALUES ('integrity-check', 1)"
            )
            cursor.execute("SELECT count(*) FROM papers_searchdocument_fts")
            assert cursor.fetchone()[0] == SearchDocument.objects.count()


def test_the_index_follows_edits_after_generating(output):
    """On SQLite the FTS5 insert trigger was dropped for the bulk load: it is back."""
    entry = EntryFactory(
        issue=Issue.objects.published().first(),
        section=Section.objects.first(),
        position=999,
        summary="一篇关于甲骨文破译的新论文。",
    )
    found = search.search(Entry.objects.all(), search.parse_query("甲骨文破译"))
    assert list(found.values_list("pk", flat=True)) == [entry.pk]


def test_pages_cached_before_are_not_served_after():
    """bulk_create sends no signals: the generation starts a new cache generation itself."""
    before = page_cache.current_generation()
    generate()
    assert page_cache.current_generation() != before


# The command ----------------------------------------------------------------------


def test_it_refuses_a_database_that_holds_issues():
    IssueFactory()
    refused = r"Refusing to generate: the database already has issues \(1\)"
    with pytest.raises(CommandError, match=refused):
        generate()
    assert (Issue.objects.count(), Entry.objects.count(), Tag.objects.count()) == (1, 0, 0)


def test_impossible_sizes_are_refused():
    with pytest.raises(CommandError, match="at least 1"):
        generate(issues=0)
    assert not Issue.objects.exists()


def test_a_failure_leaves_no_half_archive(monkeypatch):
    """Everything is one transaction; on SQLite the dropped trigger comes back too."""

    def fail_on_index(rows, *args, **kwargs):
        raise RuntimeError("disk full")

    # The search documents go in last, after the entries (and with SQLite's triggers dropped).
    monkeypatch.setattr(SearchDocument.objects, "bulk_create", fail_on_index)
    with pytest.raises(RuntimeError, match="disk full"):
        generate()
    assert not Issue.objects.exists() and not Entry.objects.exists()
    assert not Tag.objects.exists() and not TaggedEntry.objects.exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'papers_searchdocument_ai'"
            )
            assert cursor.fetchone() == (1,)


def test_progress_is_reported_per_phase(output):
    lines = output.splitlines()
    assert any(line.startswith("entries") and "300/300" in line for line in lines)
    assert any(line.startswith("tokenise") and "[####################]" in line for line in lines)
    assert "\r" not in output  # not a terminal: plain lines
    assert lines[-1].startswith("Generated 5 issues, 300 entries, 50 tags (")


def test_verbosity_zero_is_quiet():
    out = io.StringIO()
    call_command("generate_archive", **SIZES, verbosity=0, stdout=out)
    assert out.getvalue() == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    terminal = Terminal()
    bar = ProgressBar(OutputWrapper(terminal))
    bar("entries", 0, 100_000)
    bar("entries", 100_000, 100_000)
    bar("tokenise", 0, 10)
    bar("tokenise", 10, 10)
    text = terminal.getvalue()
    assert text.startswith("\rentries      [....................]         0/100,000")
    assert "\rentries      [####################]   100,000/100,000" in text
    assert text.count("\n") == 2 and text.endswith("s\n")
