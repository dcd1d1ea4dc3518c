"""The entries list's filters: tags (all of them), section, issue, text, bad input."""

import datetime
from urllib.parse import quote

import pytest

from papers.models import Entry
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def found(client, query):
    response = client.get(f"/entries/?{query}")
    assert response.status_code == 200, query
    return response, {e.arxiv_id for e in response.context["entries"]}


def ids_with_tags(*names):
    entries = Entry.objects.published()
    for name in names:
        entries = entries.filter(tags__name=name)
    return set(entries.values_list("arxiv_id", flat=True))


def test_one_tag(client, seed):
    _, ids = found(client, f"tag={quote('长上下文')}")
    assert ids == ids_with_tags("长上下文") and len(ids) >= 3


def test_several_tags_mean_entries_with_all_of_them(client, seed):
    response, ids = found(client, f"tag={quote('长上下文')}&tag={quote('基准测试')}")
    assert ids == ids_with_tags("长上下文", "基准测试")
    assert 0 < len(ids) < len(ids_with_tags("长上下文"))
    assert f"共 {len(ids)} 篇论文" in response.content.decode()


def test_section_and_issue_filters_combine_with_tags(client, seed):
    other = IssueFactory(slug="other")
    EntryFactory(
        issue=other,
        section=seed.entries.get(arxiv_id="2406.15319").section,
        tags=["长上下文"],
        arxiv_id="2407.11111",
    )
    _, ids = found(client, "section=rag")
    assert "2407.11111" in ids and "2406.15319" in ids
    _, ids = found(client, f"section=rag&tag={quote('长上下文')}&issue={seed.slug}")
    expected = set(
        Entry.objects.filter(issue=seed, section__slug="rag", tags__name="长上下文").values_list(
            "arxiv_id", flat=True
        )
    )
    assert ids == expected and "2407.11111" not in ids


def test_text_filter_finds_titles_and_ids(client, seed):
    _, ids = found(client, "q=BigCodeBench")
    assert ids == {"2406.15877"}
    _, ids = found(client, "q=2406.18510")
    assert ids == {"2406.18510"}


def test_active_filters_are_listed_each_with_a_removal_link(client, seed):
    query = f"tag={quote('长上下文')}&tag={quote('基准测试')}&section=progress-benchmarks"
    response, _ = found(client, query)
    active = response.context["active_filters"]
    labels = [label for _, label, _ in active]
    assert labels == ["长上下文", "基准测试", "LLM进展与基准"]
    remove_first_tag = active[0][2]
    assert "tag=%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95" in remove_first_tag  # 基准测试 stays
    assert "%E9%95%BF%E4%B8%8A%E4%B8%8B%E6%96%87" not in remove_first_tag  # 长上下文 gone
    assert "section=progress-benchmarks" in remove_first_tag
    _, ids = found(client, remove_first_tag.lstrip("?"))
    assert ids == ids_with_tags("基准测试") & set(
        Entry.objects.filter(section__slug="progress-benchmarks").values_list("arxiv_id", flat=True)
    )


def test_narrowing_tags_add_to_the_current_filters(client, seed):
    response, _ = found(client, f"tag={quote('长上下文')}")
    tags = {tag.name: url for tag, url in response.context["narrowing_tags"]}
    assert "长上下文" not in tags
    _, narrowed = found(client, tags["基准测试"].lstrip("?"))
    assert narrowed == ids_with_tags("长上下文", "基准测试")


def test_section_facets_come_in_the_issue_pages_order(client):
    """Sections sharing a position come by name, as on the issue page, whatever
    their slugs."""
    issue = IssueFactory()
    for name, slug, position in [("Beta", "a-beta", 2), ("Alpha", "z-alpha", 2), ("Zeta", "m", 1)]:
        EntryFactory(issue=issue, section=SectionFactory(name=name, slug=slug, position=position))
    response, _ = found(client, "")
    assert [name for name, _, _ in response.context["section_facets"]] == [
        "Zeta",
        "Alpha",
        "Beta",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tag=no-such-tag", "没有名为“no-such-tag”的标签"),
        ("section=no-such-section", "没有这个栏目"),
        ("issue=no-such-issue", "没有这一期"),
        ("tag=%00", "空字符"),
        ("section=%00", "空字符"),
        ("q=%00", "空字符"),
        ("q=" + "长" * 10_000, "200"),
        ("tag=" + "&tag=".join(["长上下文"] * 11), "最多同时筛选"),
    ],
)
def test_bad_filters_give_an_empty_result_with_a_message(client, seed, query, message):
    response, ids = found(client, query)
    assert ids == set()
    assert message in response.content.decode()


def test_a_draft_issue_cannot_be_selected(client, seed):
    IssueFactory(status="draft", slug="secret-draft")
    response, ids = found(client, "issue=secret-draft")
    assert ids == set()
    assert "没有这一期" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "tag=%E4%B8",  # a truncated UTF-8 sequence
        "q=%ZZ%",
        "section=%E4",
        "q=" + "x" * 10_240,
        "page=1&page=2",
        "tag=" + "长" * 5_000,
        "q=%27%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    ],
)
def test_malformed_query_strings_never_give_a_500(client, seed, query):
    response = client.get(f"/entries/?{query}")
    assert response.status_code in (200, 400, 404)
    assert "<script>alert(1)" not in response.content.decode()


@pytest.fixture
def late_roundup(db):
    """A roundup of 2024-07-01..14 published in 2026, and one of 2026 itself."""
    late = IssueFactory(
        slug="late",
        period_start=datetime.date(2024, 7, 1),
        period_end=datetime.date(2024, 7, 14),
        published_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
    )
    EntryFactory(issue=late, arxiv_id="2407.00001")
    current = IssueFactory(
        slug="current",
        period_start=datetime.date(2026, 2, 1),
        period_end=datetime.date(2026, 2, 14),
        published_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC),
    )
    EntryFactory(issue=current, arxiv_id="2602.00001")
    return late


def test_an_entry_belongs_to_the_year_its_issue_covers_not_the_year_it_was_published(
    client, late_roundup
):
    assert found(client, "year=2024")[1] == {"2407.00001"}
    assert found(client, "year=2026")[1] == {"2602.00001"}
    facets = client.get("/entries/").context["year_facets"]
    assert [(year, n) for year, n, _ in facets] == [(2026, 1), (2024, 1)]
    api = client.get("/api/entries?year=2024").json()
    assert [entry["arxiv_id"] for entry in api["items"]] == ["2407.00001"]


def test_moving_a_published_issue_to_another_year_shows_in_the_facets_next_time(
    client, late_roundup
):
    """The year's list did not show the issue, and now must (the page cache)."""
    assert found(client, "year=2026")[1] == {"2602.00001"}
    late_roundup.period_start = datetime.date(2026, 1, 1)
    late_roundup.period_end = datetime.date(2026, 1, 14)
    late_roundup.save()
    assert found(client, "year=2026")[1] == {"2602.00001", "2407.00001"}
    facets = client.get("/entries/").context["year_facets"]
    assert [(year, n) for year, n, _ in facets] == [(2026, 2)]
