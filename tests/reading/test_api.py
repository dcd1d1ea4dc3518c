"""The JSON API (reading.api): shapes, order, pages, parity with /entries/, drafts, errors."""

import datetime
import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers.models import Entry, Issue, Section
from reading.views import ENTRIES_PER_PAGE
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

ENTRY_FIELDS = {
    "id",
    "title",
    "arxiv_id",
    "url",
    "links",
    "authors",
    "summary_html",
    "tags",
    "section",
    "issue",
    "permalink",
}
RELATED_FIELDS = {
    "id",
    "title",
    "arxiv_id",
    "url",
    "section",
    "issue",
    "permalink",
    "shared_terms",
}
ISSUE_FIELDS = {
    "slug",
    "title",
    "period_start",
    "period_end",
    "published_at",
    "url",
    "intro_html",
    "entry_count",
}


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url[:100], response.content[:300])
    assert response["Content-Type"].startswith("application/json"), url[:100]
    return response.json()


def api_ids(client, query="", page_size=100):
    url = f"/api/entries?page_size={page_size}&{query}"
    return [item["id"] for item in get_json(client, url)["items"]]


# Issues -------------------------------------------------------------------------------


def test_issues_newest_first_with_absolute_urls_and_counts(client, seed):
    older = IssueFactory(slug="older", published_at=seed.published_at - datetime.timedelta(days=30))
    newer = IssueFactory(slug="newer")
    EntryFactory(issue=newer, section=SectionFactory())
    data = get_json(client, "/api/issues")
    assert data["count"] == 3
    assert [issue["slug"] for issue in data["items"]] == ["newer", seed.slug, older.slug]
    first = data["items"][0]
    assert set(first) == ISSUE_FIELDS
    assert first["url"] == "http://testserver/issues/newer/"
    assert first["entry_count"] == 1
    assert first["intro_html"] == "<p>本期<strong>导言</strong>。</p>"
    assert first["period_start"] == newer.period_start.isoformat()
    assert data["items"][1]["entry_count"] == 20
    assert datetime.datetime.fromisoformat(data["items"][1]["published_at"]) == seed.published_at


def test_issue_detail_has_its_sections_and_entries_in_order(client, seed):
    data = get_json(client, f"/api/issues/{seed.slug}")
    assert set(data) == ISSUE_FIELDS | {"sections", "previous", "next"}
    assert data["url"] == f"http://testserver/issues/{seed.slug}/"
    expected_sections = list(
        Section.objects.filter(entries__issue=seed)
        .distinct()
        .order_by("position", "name")
        .values_list("slug", flat=True)
    )
    assert [section["slug"] for section in data["sections"]] == expected_sections
    assert len(expected_sections) == 5
    for section in data["sections"]:
        expected = list(
            seed.entries.filter(section__slug=section["slug"])
            .order_by("position")
            .values_list("pk", flat=True)
        )
        assert [entry["id"] for entry in section["entries"]] == expected
    entries = [entry for section in data["sections"] for entry in section["entries"]]
    assert len(entries) == data["entry_count"] == 20
    assert (
        entries[0]["permalink"] == f"http://testserver/issues/{seed.slug}/#entry-{entries[0]['id']}"
    )


# Entries ------------------------------------------------------------------------------


def test_an_entry_has_its_links_tags_section_and_issue(client, seed):
    entry = seed.entries.get(arxiv_id="2406.15877")
    data = get_json(client, f"/api/entries/{entry.pk}")
    assert set(data) == ENTRY_FIELDS
    assert data["title"].startswith("BigCodeBench")
    assert data["url"] == "https://arxiv.org/abs/2406.15877"
    assert data["links"] == {
        "abstract": "https://arxiv.org/abs/2406.15877",
        "pdf": "https://arxiv.org/pdf/2406.15877",
    }
    assert data["tags"] == [{"name": tag.name, "slug": tag.slug} for tag in entry.tags.all()]
    assert data["tags"]
    assert data["section"] == {"name": entry.section.name, "slug": entry.section.slug}
    assert data["issue"] == {"slug": seed.slug, "title": seed.title}
    assert data["permalink"] == f"http://testserver/issues/{seed.slug}/#entry-{entry.pk}"
    assert data["summary_html"] == entry.summary_html and "<p>" in data["summary_html"]


def test_an_entry_without_an_arxiv_id_links_to_its_own_url(client):
    entry = EntryFactory(
        issue=IssueFactory(), section=SectionFactory(), arxiv_id="", url="https://example.org/paper"
    )
    data = get_json(client, f"/api/entries/{entry.pk}")
    assert data["url"] == "https://example.org/paper"
    assert data["links"] == {"abstract": None, "pdf": None}


def test_entries_come_in_pages(client, seed):
    everything = api_ids(client)
    assert len(everything) == 20
    pages = [get_json(client, f"/api/entries?page_size=8&page={n}") for n in (1, 2, 3)]
    assert [page["count"] for page in pages] == [20, 20, 20]
    assert [len(page["items"]) for page in pages] == [8, 8, 4]
    assert [item["id"] for page in pages for item in page["items"]] == everything
    assert len(get_json(client, "/api/entries")["items"]) == 20  # the default page size
    assert get_json(client, "/api/entries?page=99999") == {"items": [], "count": 20}


# The same query string finds the same entries, in the same order, as /entries/.
PAGE_QUERIES = [
    f"tag={quote('长上下文')}&tag={quote('基准测试')}",
    "section=rag",
    f"section=reasoning&issue=2024-06-h2&tag={quote('推理能力')}",
    f"q={quote('幻觉')}",
    "q=hallucination",
    "q=2406.15877",
    "year=2024",
    "year=",
]


def test_entries_filter_and_search_exactly_as_the_entries_page(client, seed):
    newer = IssueFactory()  # listed first, though its entries are the newest rows
    for position in (2, 1):
        EntryFactory(
            issue=newer,
            section=Section.objects.get(slug="rag"),
            position=position,
            tags=["长上下文", "基准测试"],
            summary="检索能否减少幻觉（hallucination）？",
        )
    for query in PAGE_QUERIES:  # one test: the seed takes seconds to load
        page = client.get(f"/entries/?{query}")
        assert page.status_code == 200, query
        page_ids = [entry.pk for entry in page.context["entries"]]
        assert page_ids, f"{query} should find something"
        assert api_ids(client, query, ENTRIES_PER_PAGE) == page_ids, query


def test_two_tags_mean_entries_with_both(client, seed):
    ids = set(api_ids(client, f"tag={quote('长上下文')}&tag={quote('基准测试')}"))
    expected = set(
        Entry.objects.filter(tags__name="长上下文")
        .filter(tags__name="基准测试")
        .values_list("pk", flat=True)
    )
    assert ids == expected
    assert 0 < len(ids) < len(api_ids(client, f"tag={quote('长上下文')}"))


# Tags ----------------------------------------------------------------------------------


def test_tags_most_used_first_with_counts_and_absolute_urls(client, seed):
    data = get_json(client, "/api/tags?page_size=100")
    counts = [tag["entry_count"] for tag in data["items"]]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    assert data["count"] == len(data["items"])
    tags = {tag["name"]: tag for tag in data["items"]}
    assert tags["长上下文"] == {
        "name": "长上下文",
        "slug": "长上下文",
        "entry_count": Entry.objects.filter(tags__name="长上下文").count(),
        "url": f"http://testserver/tags/{quote('长上下文')}/",
    }
    first_two = get_json(client, "/api/tags?page_size=2")
    assert [tag["name"] for tag in first_two["items"]] == list(tags)[:2]


def test_an_entry_lists_related_entries_with_their_reasons_as_its_paper_page_does(client, seed):
    entry = seed.entries.get(arxiv_id="2406.15877")
    data = get_json(client, f"/api/entries/{entry.pk}/related")
    assert data and all(set(item) == RELATED_FIELDS for item in data)
    assert all(item["shared_terms"] and item["arxiv_id"] != entry.arxiv_id for item in data)
    assert len({item["arxiv_id"] for item in data}) == len(data)  # a paper once
    first = Entry.objects.get(pk=data[0]["id"])
    assert data[0]["permalink"] == f"http://testserver{first.get_absolute_url()}"
    assert data[0]["issue"] == {"slug": seed.slug, "title": seed.title}
    page = client.get(entry.get_paper_url())
    shown = [(e.pk, e.shared_terms) for e in page.context["related_entries"]]
    assert shown == [(item["id"], item["shared_terms"]) for item in data][: len(shown)]


# Only published content -------------------------------------------------------------


def visible(client, draft_issue, draft_entry):
    """Where the draft issue and its entry show through the API."""
    issues = [issue["slug"] for issue in get_json(client, "/api/issues?page_size=100")["items"]]
    tags = {
        tag["name"]: tag["entry_count"]
        for tag in get_json(client, "/api/tags?page_size=100")["items"]
    }
    return {
        "issues": draft_issue.slug in issues,
        "issue": client.get(f"/api/issues/{draft_issue.slug}").status_code == 200,
        "entries": draft_entry.pk in api_ids(client),
        "entry": client.get(f"/api/entries/{draft_entry.pk}").status_code == 200,
        "related": client.get(f"/api/entries/{draft_entry.pk}/related").status_code == 200,
        "tag": "秘密标签" in tags,
        # A tag only drafts carry is as unknown as any other (a 400), not an empty list.
        "in tag": client.get(f"/api/entries?tag={quote('秘密标签')}").status_code == 200
        and draft_entry.pk in api_ids(client, f"tag={quote('秘密标签')}"),
        "by issue": client.get(f"/api/entries?issue={draft_issue.slug}").status_code == 200,
        "shared tag count": tags["长上下文"],
    }


@pytest.mark.parametrize("status", [Issue.Status.DRAFT, Issue.Status.SCHEDULED])
def test_unpublished_issues_appear_nowhere_until_they_are_published(client, seed, status):
    when = timezone.now() + datetime.timedelta(days=1) if status == Issue.Status.SCHEDULED else None
    issue = IssueFactory(status=status, slug="secret", published_at=when)
    entry = EntryFactory(issue=issue, section=SectionFactory(), tags=["秘密标签", "长上下文"])
    public_count = Entry.objects.published().filter(tags__name="长上下文").count()
    hidden = dict.fromkeys(
        ["issues", "issue", "entries", "entry", "related", "tag", "in tag", "by issue"], False
    )
    assert visible(client, issue, entry) == {**hidden, "shared tag count": public_count}

    if status == Issue.Status.SCHEDULED:  # its time comes
        Issue.objects.filter(pk=issue.pk).update(published_at=timezone.now())
    else:
        issue.publish()
    shown = dict.fromkeys(hidden, True)
    assert visible(client, issue, entry) == {**shown, "shared tag count": public_count + 1}


# Bad parameters: a JSON 4xx that says what is wrong, never a 500 ---------------------


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/entries?tag=no-such-tag", 400, "tag"),
        ("/api/entries?section=no-such-section", 400, "section"),
        ("/api/entries?issue=no-such-issue", 400, "issue"),
        ("/api/entries?tag=" + "&tag=".join(["长上下文"] * 11), 400, "tag"),
        ("/api/entries?tag=%00", 400, "tag"),
        ("/api/entries?section=%00", 400, "section"),
        ("/api/entries?q=%00", 400, "q"),
        ("/api/entries?q=" + "长" * 10_000, 400, "q"),
        ("/api/entries?q=" + "x" * 10_240, 400, "q"),
        ("/api/entries?tag=" + "长" * 5_000, 400, "tag"),
        ("/api/entries?tag=%E4%B8", 400, "tag"),
        ("/api/entries?year=1000", 400, "year"),
        ("/api/entries?year=abc", 422, "year"),
        ("/api/entries?page=abc", 422, "page"),
        ("/api/entries?page=0", 422, "page"),
        ("/api/entries?page=99999999999999999999", 422, "page"),
        ("/api/entries?page_size=1000", 422, "page_size"),
        ("/api/entries?page_size=0", 422, "page_size"),
        ("/api/issues?page=abc", 422, "page"),
        ("/api/tags?page_size=101", 422, "page_size"),
        ("/api/entries/abc", 422, "entry_id"),
        ("/api/entries/99999999999999999999", 404, None),
        ("/api/entries/0", 404, None),
        ("/api/entries/abc/related", 422, "entry_id"),
        ("/api/entries/0/related", 404, None),
        ("/api/entries/99999999999999999999/related", 404, None),
        ("/api/entries/-1/related", 404, None),
        ("/api/issues/no-such-issue", 404, None),
        ("/api/issues/%00", 404, None),
        ("/api/issues/a%0Ab", 404, None),
        ("/api/no-such%0Athing", 404, None),
        ("/api/issues/" + "a" * 10_240, 404, None),
        ("/api/issues/", 404, None),
        ("/api/no-such-thing", 404, None),
        ("/api/", 404, None),
    ],
)
def test_bad_parameters_get_a_json_error(client, db, url, status, field):
    data = get_json(client, url, status=status)
    assert isinstance(data["detail"], str) and data["detail"]
    if field:
        assert set(data["errors"]) == {field}
        assert all(isinstance(message, str) for message in data["errors"][field])


def test_filter_errors_carry_the_pages_messages(client, seed):
    data = get_json(client, "/api/entries?tag=no-such-tag&section=rag", status=400)
    assert data == {
        "detail": "Invalid filters.",
        "errors": {"tag": ["没有名为“no-such-tag”的标签。"]},
    }


# The OpenAPI document -------------------------------------------------------------------


def test_the_openapi_schema_describes_every_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "大模型论文双周报 API"
    assert set(schema["paths"]) == {
        "/api/issues",
        "/api/issues/{slug}",
        "/api/entries",
        "/api/entries/{entry_id}",
        "/api/entries/{entry_id}/related",
        "/api/tags",
    }
    entries = schema["paths"]["/api/entries"]["get"]
    assert {p["name"] for p in entries["parameters"]} == {
        "tag",
        "section",
        "issue",
        "year",
        "q",
        "page",
        "page_size",
    }
    assert {"200", "400", "422"} <= set(entries["responses"])
    assert set(schema["components"]["schemas"]["EntryOut"]["properties"]) == ENTRY_FIELDS


def test_no_docs_page_that_would_load_scripts_from_a_cdn(client):
    get_json(client, "/api/docs", status=404)


# Queries ---------------------------------------------------------------------------------

API_URLS = {
    "issues": "/api/issues?page_size=100",
    "issue": "/api/issues/budget",
    "entries": "/api/entries?page_size=100",
    "entries, two tags and a section": (
        "/api/entries?page_size=100&tag=common&tag=shared&section=s0"
    ),
    "entries, search": f"/api/entries?page_size=100&q={quote('长上下文')}",
    "entry": "/api/entries/{first}",
    "related entries": "/api/entries/{first}/related",
    "tags": "/api/tags?page_size=100",
}
BUDGET = 8


def add_entries(issue, sections, start, stop):
    for n in range(start, stop):
        EntryFactory(
            issue=issue,
            section=sections[n % len(sections)],
            position=n,
            tags=["common", "shared", f"t{n % 7}"],
        )


def queries_per_url(client, first):
    counts = {}
    for name, url in API_URLS.items():
        with CaptureQueriesContext(connection) as queries:
            get_json(client, url.format(first=first))
        counts[name] = len(queries)
    return counts


def test_every_endpoint_runs_the_same_queries_for_20_and_60_entries(client):
    issue = IssueFactory(slug="budget")
    sections = [SectionFactory(slug=f"s{i}") for i in range(3)]
    IssueFactory(slug="another")
    add_entries(issue, sections, 0, 20)
    first = issue.entries.first().pk
    with_20 = queries_per_url(client, first)
    add_entries(issue, sections, 20, 60)
    assert len(api_ids(client)) == 60
    with_60 = queries_per_url(client, first)
    assert with_20 == with_60
    assert max(with_60.values()) <= BUDGET, with_60


def test_issue_detail_links_the_issues_before_and_after_it(client, db):
    at = timezone.now() - datetime.timedelta(days=30)
    IssueFactory(slug="older", title="旧的一期", published_at=at)
    IssueFactory(slug="middle", published_at=at + datetime.timedelta(days=7))
    IssueFactory(slug="draft-one", status=Issue.Status.DRAFT)
    middle = client.get("/api/issues/middle").json()
    assert middle["previous"] == {
        "slug": "older",
        "title": "旧的一期",
        "url": "http://testserver/issues/older/",
    }
    assert middle["next"] is None
    assert client.get("/api/issues/older").json()["previous"] is None
