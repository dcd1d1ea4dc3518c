"""Every filter the public pages use has an index.

A generated archive (operations.synthetic_archive) is loaded, each public page is
requested with the page cache off, and every query it runs on the entries
table is EXPLAINed. PostgreSQL is told to avoid sequential scans
(enable_seqscan = off), so that the plan takes any index that can serve; what
remains, a "Seq Scan on papers_entry" or a whole index read row by row through
an equality or range filter, means that no index could. On SQLite the same
finding is a "SCAN" of the entries table.
"""

import re
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from papers.models import Entry, Issue, Tag
from reading import pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(settings):
    settings.PAGE_CACHE = False
    call_command("generate_archive", issues=30, entries=3000, tags=300, verbosity=0)


def public_pages():
    """Every public page with its feeds and files (reading/pages.py), and the
    entries list filtered and searched."""
    issue = Issue.objects.published().order_by("-published_at").first()
    tags = list(Tag.objects.published().order_by("name")[:2])
    two_tags = "&".join(f"tag={quote(t.slug)}" for t in tags)
    return {
        **pages.example_urls(feeds=True, downloads=True),
        "entries with two tags": f"/entries/?{two_tags}",
        "entries of an issue": f"/entries/?issue={issue.slug}",
        "search": f"/entries/?q={quote('幻觉')}",
    }


def entry_scans(sql):
    """The steps of the query's plan that read the entries table without an index
    to find the rows: a scan of the table, or an index read from end to end
    while filtering rows one by one (PostgreSQL's way round a missing index
    when sequential scans are off). Reading a whole index only to join or
    count, with no filter, is fine: the planner's choice, not a missing index."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")  # take any index that can serve
            try:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
            finally:
                cursor.execute("RESET enable_seqscan")
            return list(_postgres_entry_scans(plan[0]["Plan"]))
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [
            step
            for (*_, step) in cursor.fetchall()
            if re.fullmatch(r"SCAN (?:papers_entry|[A-Z]\d+)", step)
        ]


# A filter an index could serve: an equality or a range. (No index serves a
# negation such as the related-entries query's "arxiv_id <> ...".)
SELECTIVE = re.compile(r" (?:=|<|>|<=|>=|~~) ")


def _postgres_entry_scans(node):
    if node.get("Relation Name") == "papers_entry":
        if node["Node Type"] == "Seq Scan":
            yield f"Seq Scan on papers_entry {node.get('Alias', '')}"
        elif "Index Cond" not in node and SELECTIVE.search(node.get("Filter", "")):
            yield f"{node['Node Type']} on papers_entry, Filter: {node['Filter']}"
    for child in node.get("Plans", []):
        yield from _postgres_entry_scans(child)


def test_no_public_page_scans_the_entries_table(client, archive):
    scans = {}
    for name, url in public_pages().items():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        for query in queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and "papers_entry" in sql:
                scans.setdefault(name, []).extend(entry_scans(sql))
    assert {name: steps for name, steps in scans.items() if steps} == {}


def test_the_check_finds_a_filter_without_an_index(db):
    """authors has no index: filtering on it must be reported."""
    query = Entry.objects.filter(authors="Nobody")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            rendered = cursor.mogrify(sql, params)
        else:
            rendered = connection.ops.last_executed_query(cursor, sql, params)
    assert entry_scans(rendered)
