"""``manage.py fill_arxiv_metadata``, against recorded arXiv responses; never the network."""

import io
import urllib.request
from pathlib import Path
from urllib.error import URLError

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from editorial import arxiv_client
from editorial.arxiv_client import ArxivUnavailable, PaperMetadata
from editorial.management.commands import fill_arxiv_metadata
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).parent / "data" / "arxiv"
BIGCODEBENCH_TITLE = (
    "BigCodeBench: Benchmarking Code Generation with Diverse Function Calls "
    "and Complex Instructions"
)
BIGCODEBENCH_AUTHORS = (
    "Terry Yue Zhuo, Minh Chien Vu, Jenny Chim, Han Hu, Wenhao Yu, Leandro Von Werra"
)
LONGRAG_AUTHORS = "Ziyan Jiang, Xueguang Ma, Wenhu Chen"


@pytest.fixture
def arxiv_answers(monkeypatch):
    """arXiv answers each request with the next recorded response (or raises it)."""

    def answer(*responses):
        remaining = list(responses)

        def get(url):
            response = remaining.pop(0)
            if isinstance(response, Exception):
                raise response
            return (RECORDED / response).read_bytes()

        monkeypatch.setattr(arxiv_client, "_get", get)

    return answer


@pytest.fixture
def issue_and_section():
    return {"issue": IssueFactory(), "section": SectionFactory()}


def fill(*args):
    """Run the command; returns what it printed to stdout and to stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("fill_arxiv_metadata", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_fills_what_is_missing_and_keeps_what_the_editor_wrote(arxiv_answers, issue_and_section):
    arxiv_answers("normal.xml")
    bigcodebench = EntryFactory(**issue_and_section, arxiv_id="2406.15877", title="", authors="")
    longrag = EntryFactory(
        **issue_and_section, arxiv_id="2406.15319", title="LongRAG（编辑拟题）", authors=""
    )

    stdout, _ = fill()

    bigcodebench.refresh_from_db()
    longrag.refresh_from_db()
    assert bigcodebench.title == BIGCODEBENCH_TITLE
    assert bigcodebench.authors == BIGCODEBENCH_AUTHORS
    assert longrag.title == "LongRAG（编辑拟题）"
    assert longrag.authors == LONGRAG_AUTHORS
    assert "arXiv [####################] 2/2 entries" in stdout
    assert "Looked at 2 entries: filled 2, unchanged 0, not found at arXiv 0, failed 0." in stdout


def test_complete_entries_are_not_looked_at(arxiv_answers, issue_and_section):
    arxiv_answers()  # any request would fail: none may be made
    complete = EntryFactory(
        **issue_and_section, arxiv_id="2406.15877", title="Mine", authors="Someone"
    )
    EntryFactory(
        **issue_and_section, arxiv_id="", url="https://example.org/paper", title="", authors=""
    )

    stdout, _ = fill()

    complete.refresh_from_db()
    assert (complete.title, complete.authors) == ("Mine", "Someone")
    assert "Looked at 0 entries" in stdout


def test_overwrite_replaces_the_editors_text(arxiv_answers, issue_and_section):
    arxiv_answers("normal.xml")
    longrag = EntryFactory(
        **issue_and_section,
        arxiv_id="2406.15319",
        title="LongRAG（编辑拟题）",
        authors="Jiang et al.",
    )

    fill("--overwrite")

    longrag.refresh_from_db()
    assert longrag.title == (
        "LongRAG: Enhancing Retrieval-Augmented Generation with Long-context LLMs"
    )
    assert longrag.authors == LONGRAG_AUTHORS


def test_a_paper_in_several_issues_is_asked_once_and_filled_everywhere(
    arxiv_answers, issue_and_section
):
    arxiv_answers("normal.xml")  # a second request would find no answer left
    section = issue_and_section["section"]
    first = EntryFactory(**issue_and_section, arxiv_id="2406.15877", authors="")
    again = EntryFactory(issue=IssueFactory(), section=section, arxiv_id="2406.15877", authors="")

    fill()

    for entry in (first, again):
        entry.refresh_from_db()
        assert entry.authors == BIGCODEBENCH_AUTHORS


def test_ids_arxiv_does_not_know_are_counted_and_left_alone(arxiv_answers, issue_and_section):
    arxiv_answers("normal.xml")
    EntryFactory(**issue_and_section, arxiv_id="2406.15877", authors="")
    unknown = EntryFactory(
        **issue_and_section, arxiv_id="2406.99999", title="Draft title", authors=""
    )

    stdout, _ = fill()

    unknown.refresh_from_db()
    assert (unknown.title, unknown.authors) == ("Draft title", "")
    assert "filled 1, unchanged 0, not found at arXiv 1, failed 0." in stdout


def test_dry_run_saves_nothing_and_says_what_it_would_do(arxiv_answers, issue_and_section):
    arxiv_answers("normal.xml")
    entry = EntryFactory(**issue_and_section, arxiv_id="2406.15877", title="", authors="")

    stdout, _ = fill("--dry-run")

    entry.refresh_from_db()
    assert (entry.title, entry.authors) == ("", "")
    assert f"2406.15877 (entry {entry.pk}): title, authors" in stdout
    assert "Dry run, nothing saved. Looked at 1 entries: would fill 1," in stdout


def test_unreachable_arxiv_stops_with_its_message_and_changes_nothing(
    monkeypatch, issue_and_section
):
    def no_route(request, timeout):
        raise URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlopen", no_route)
    entry = EntryFactory(**issue_and_section, arxiv_id="2406.15877", title="", authors="")
    saved_at = entry.updated_at

    with pytest.raises(CommandError, match=r"无法连接 arXiv.*Network is unreachable"):
        fill()

    entry.refresh_from_db()
    assert (entry.title, entry.authors, entry.updated_at) == ("", "", saved_at)


def test_batches_done_before_arxiv_went_away_stay_saved(
    monkeypatch, arxiv_answers, issue_and_section
):
    monkeypatch.setattr(fill_arxiv_metadata, "BATCH_SIZE", 1)
    arxiv_answers("normal.xml", ArxivUnavailable("无法连接 arXiv（timed out）"))
    # Batches go in id order: LongRAG (2406.15319) first, then BigCodeBench.
    longrag = EntryFactory(**issue_and_section, arxiv_id="2406.15319", authors="")
    bigcodebench = EntryFactory(**issue_and_section, arxiv_id="2406.15877", authors="")

    with pytest.raises(CommandError, match="timed out"):
        fill()

    longrag.refresh_from_db()
    bigcodebench.refresh_from_db()
    assert longrag.authors == LONGRAG_AUTHORS
    assert bigcodebench.authors == ""


def test_a_malformed_answer_fails_its_batch_and_the_run_goes_on(
    monkeypatch, arxiv_answers, issue_and_section
):
    monkeypatch.setattr(fill_arxiv_metadata, "BATCH_SIZE", 1)
    arxiv_answers("malformed.xml", "normal.xml")
    longrag = EntryFactory(**issue_and_section, arxiv_id="2406.15319", authors="")
    bigcodebench = EntryFactory(**issue_and_section, arxiv_id="2406.15877", authors="")

    stdout, stderr = fill()

    longrag.refresh_from_db()
    bigcodebench.refresh_from_db()
    assert longrag.authors == ""
    assert bigcodebench.authors == BIGCODEBENCH_AUTHORS
    assert "Skipped 1 entries" in stderr
    assert "filled 1, unchanged 0, not found at arXiv 0, failed 1." in stdout


def test_a_value_that_does_not_fit_the_field_fails_that_entry(monkeypatch, issue_and_section):
    too_long = PaperMetadata(
        arxiv_id="2406.15877",
        title="T" * 301,
        authors=("A. Author",),
        abstract_url="https://arxiv.org/abs/2406.15877",
    )
    monkeypatch.setattr(fill_arxiv_metadata, "fetch_metadata", lambda ids: {"2406.15877": too_long})
    entry = EntryFactory(**issue_and_section, arxiv_id="2406.15877", title="", authors="")

    stdout, stderr = fill()

    entry.refresh_from_db()
    assert (entry.title, entry.authors) == ("", "")
    assert f"2406.15877 (entry {entry.pk}):" in stderr
    assert "filled 0, unchanged 0, not found at arXiv 0, failed 1." in stdout
