"""Pages run a fixed number of SQL queries, whatever the number of entries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reading import pages
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def rendered_pages(settings):
    """What rendering a page costs: the page cache off (a cached page costs none,
    tests/reading/test_page_cache.py)."""
    settings.PAGE_CACHE = False


# Besides every public page (reading/pages.py): the filters and the search.
FILTERED_PAGES = {
    "entries, two tags and a section": "/entries/?tag=common&tag=shared&section=s0",
    "search": "/entries/?q=common",
    "search with a tag": "/entries/?q=common&tag=shared",
}
# The search page with a tag is the dearest: on PostgreSQL its window's bounds
# and ranges, the glossary (papers.search.glossary), the facets and the tags.
BUDGET = 9


def add_entries(issue, sections, start, stop):
    for n in range(start, stop):
        EntryFactory(
            issue=issue,
            section=sections[n % len(sections)],
            position=n,
            arxiv_id=f"2406.{10000 + n}",
            tags=["common", "shared", f"t{n % 7}"],
        )


def queries_per_page(client, prefix=""):
    """{page: SQL queries}; ``prefix`` "/en" asks for the English pages.

    Every public page with its example arguments: the newest issue (the one
    with all the entries), the first tag and section, the paper that issue
    opens with (covered twice)."""
    counts = {}
    for name, url in {**pages.example_urls(), **FILTERED_PAGES}.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(prefix + url)
        assert response.status_code == 200, url
        counts[name] = len(queries)
    return counts


def test_every_page_runs_the_same_queries_for_20_and_200_entries(client):
    issue = IssueFactory(slug="budget")
    sections = [SectionFactory(slug=f"s{i}", name=f"栏目{i}") for i in range(5)]
    # An older issue covering the same paper, so the paper page lists two.
    EntryFactory(
        issue=IssueFactory(),
        section=sections[0],
        position=1,
        arxiv_id="2406.10000",
        tags=["common"],
    )
    add_entries(issue, sections, 0, 20)
    with_20 = queries_per_page(client)
    add_entries(issue, sections, 20, 200)
    with_200 = queries_per_page(client)
    print("\nSQL queries per page:", with_200)
    assert with_20 == with_200
    assert max(with_200.values()) <= BUDGET, with_200


def test_english_pages_run_the_same_queries_as_chinese_ones(client):
    issue = IssueFactory(slug="budget")
    sections = [SectionFactory(slug=f"s{i}", name=f"栏目{i}") for i in range(5)]
    EntryFactory(
        issue=IssueFactory(),
        section=sections[0],
        position=1,
        arxiv_id="2406.10000",
        tags=["common"],
    )
    add_entries(issue, sections, 0, 20)
    assert queries_per_page(client, "/en") == queries_per_page(client)
