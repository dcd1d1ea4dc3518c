"""Every public page, through the test client, as a reader reaches it."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone

from papers.models import Issue
from reading import pages
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(seed):
    """A draft issue that shares a section with the seed, with its own tag."""
    issue = IssueFactory(status=Issue.Status.DRAFT, title="草稿一期标题", slug="draft-issue")
    section = seed.entries.first().section
    EntryFactory(
        issue=issue,
        section=section,
        title="Secret Draft Paper",
        arxiv_id="2407.00001",
        summary="草稿里的秘密摘要",
        tags=["草稿专用标签", "基准测试"],
    )
    SectionFactory(name="草稿专用栏目", slug="draft-only")
    return issue


def test_home_shows_the_latest_issue_and_a_way_into_the_archive(client, seed):
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["issue"] == seed
    assert seed.title in response.content.decode()
    assert "BigCodeBench" in response.content.decode()
    assert reverse("reading:issue_list") in response.content.decode()


def test_home_without_any_issue(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "第一期还在编辑中" in response.content.decode()


def test_archive_lists_published_issues_newest_first(client, seed):
    older = IssueFactory(
        published_at=seed.published_at - datetime.timedelta(days=14), title="更早的一期"
    )
    response = client.get("/issues/")
    assert list(response.context["issues"]) == [seed, older]
    assert response.context["issues"][0].entry_count == 20


def test_archive_is_paginated(client, db):
    for _ in range(25):
        IssueFactory()
    first = client.get("/issues/")
    second = client.get("/issues/?page=2")
    assert len(first.context["issues"]) == 20 and len(second.context["issues"]) == 5
    assert 'rel="next"' in first.content.decode()


def test_issue_page_has_intro_sections_and_entries_in_order(client, seed):
    response = client.get(seed.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert seed.intro_html in html
    names = ["LLM进展与基准", "RAG", "LLM微调", "LLM推理", "LLM安全与对齐"]
    positions = [html.index(f">{name}</a></h2>") for name in names]
    assert positions == sorted(positions)
    ids = [e.arxiv_id for e in seed.entries.order_by("section__position", "position")]
    assert [html.index(f"arXiv:{i}") for i in ids] == sorted(html.index(f"arXiv:{i}") for i in ids)
    assert 'href="https://arxiv.org/abs/2406.15877"' in html
    assert 'href="/tags/%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95/"' in html  # 基准测试


def test_entries_list_counts_and_paginates(client, seed):
    response = client.get("/entries/")
    assert response.status_code == 200
    assert response.context["paginator"].count == 20
    assert "共 20 篇论文" in response.content.decode()


def test_tag_index_with_counts_and_a_chinese_tag_page(client, seed):
    EntryFactory(issue=seed, section=seed.entries.first().section, position=99, tags=["幻觉检测"])
    response = client.get("/tags/")
    counts = {tag.name: tag.entry_count for tag in response.context["tags"]}
    assert counts["基准测试"] == seed.entries.filter(tags__name="基准测试").count()
    assert counts["幻觉检测"] == 1
    page = client.get("/tags/幻觉检测/")
    assert page.status_code == 200
    assert page.context["tag"].name == "幻觉检测"
    assert page.context["paginator"].count == 1


def test_section_index_and_page(client, seed):
    response = client.get("/sections/")
    assert [s.name for s in response.context["sections"]][:2] == ["LLM进展与基准", "RAG"]
    page = client.get("/sections/rag/")
    assert page.status_code == 200
    assert page.context["paginator"].count == 4


def test_paper_page_lists_every_issue_that_covered_it(client, seed):
    later = IssueFactory(title="后来的一期")
    EntryFactory(
        issue=later,
        section=SectionFactory(),
        arxiv_id="2406.15877",
        title=seed.entries.first().title,
    )
    response = client.get("/papers/2406.15877/")
    assert response.status_code == 200
    assert [e.issue for e in response.context["entries"]] == [later, seed]
    html = response.content.decode()
    assert "https://arxiv.org/pdf/2406.15877" in html and "收录于 2 期" in html


def test_old_style_paper_ids_work_in_urls(client, seed):
    EntryFactory(
        issue=seed, section=seed.entries.first().section, position=50, arxiv_id="cs/0112017"
    )
    assert client.get("/papers/cs/0112017/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/issues/draft-issue/",
        "/papers/2407.00001/",
        "/tags/草稿专用标签/",
        "/sections/draft-only/",
        "/issues/no-such-issue/",
        "/tags/no-such-tag/",
        "/sections/no-such-section/",
        "/papers/2499.99999/",
        "/papers/not-an-id/",
        "/issues/?page=abc",
        "/issues/?page=99999",
        "/entries/?page=0",
        "/tags/%E4/",
    ],
)
def test_unknown_or_unpublished_things_are_404s_with_the_site_page(client, draft, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "找不到这个页面" in response.content.decode()


def test_drafts_appear_on_no_public_page(client, draft):
    # Every public page, and the tag, section and search the draft shares.
    shared = ["/tags/基准测试/", "/sections/progress-benchmarks/", "/entries/?q=Secret"]
    for url in [*pages.example_urls().values(), *shared]:
        html = client.get(url).content.decode()
        for secret in (
            "Secret Draft Paper",
            "草稿里的秘密摘要",
            "草稿一期标题",
            "草稿专用标签",
            "草稿专用栏目",
        ):
            assert secret not in html, (url, secret)


def test_a_scheduled_issue_appears_when_its_time_comes(client, seed):
    scheduled = IssueFactory(
        status=Issue.Status.SCHEDULED,
        slug="soon",
        published_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert client.get("/issues/soon/").status_code == 404
    Issue.objects.filter(pk=scheduled.pk).update(
        published_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get("/issues/soon/").status_code == 200


def test_pages_link_the_stylesheet_by_its_hashed_name(client, seed):
    html = client.get("/").content.decode()
    assert "/static/css/site." in html and ".css" in html
    assert "/static/css/site.css" not in html


def test_static_files_are_served_compressed(client, collected_static):
    hashed = next((collected_static / "css").glob("site.*.css"))
    assert (collected_static / "css" / f"{hashed.name}.br").exists()
    assert (collected_static / "css" / f"{hashed.name}.gz").exists()
    response = client.get(f"/static/css/{hashed.name}", HTTP_ACCEPT_ENCODING="br, gzip")
    response.close()
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert "max-age=315360000" in response["Cache-Control"]


NASTY_QUERIES = [
    "page=abc",
    "page=99999",
    "page=-1",
    "page=%00",
    "page=" + "9" * 10_240,
    "x=" + "y" * 10_240,
    "q=%E4%B8%",
    "%FF%FE=%C0%AF",
    "page=1e3",
]


def test_bad_query_strings_never_give_a_500(client, seed):
    statuses = {
        (url, query[:40]): client.get(f"{url}?{query}").status_code
        for url in pages.example_urls().values()
        for query in NASTY_QUERIES
    }
    assert {case: code for case, code in statuses.items() if code not in (200, 400, 404)} == {}


@pytest.mark.parametrize(
    "path", ["/tags/%FF%FE/", "/issues/%C0%AF/", "/papers/%E4%B8/", "/tags/" + "长" * 3_000 + "/"]
)
def test_broken_paths_are_404s(client, seed, path):
    assert client.get(path).status_code == 404


def test_an_unexpected_error_shows_the_site_500_page(client, seed, monkeypatch):
    def broken(self):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("reading.views.IssueListView.get_queryset", broken)
    client.raise_request_exception = False
    response = client.get("/issues/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "服务器出错了" in html and "database on fire" not in html


@pytest.mark.django_db
def test_no_page_has_a_render_blocking_script(client, seed):
    """Scripts load with defer or async; inline ones are data (JSON-LD), not code.
    Every public page in each language, and the search results."""
    paths = [url for language in pages.LANGUAGES for url in pages.example_urls(language).values()]
    for path in [*paths, "/entries/?q=%E5%B9%BB%E8%A7%89"]:
        soup = BeautifulSoup(client.get(path).content, "html.parser")
        for script in soup.find_all("script"):
            if script.has_attr("src"):
                assert script.has_attr("defer") or script.has_attr("async"), (path, script)
            else:
                assert script.get("type") == "application/ld+json", (path, script)


def test_an_editors_comment_in_the_introduction_stays_out_of_the_page_description(client):
    """The meta description is cut from the introduction's Markdown source,
    where an editor's HTML comment is still there; the page must not show it."""
    issue = IssueFactory(intro="<!-- 备注：作者要求暂不公开 -->本期导言。")

    page = client.get(issue.get_absolute_url()).content.decode()

    assert "暂不公开" not in page
    assert "本期导言" in page


@pytest.fixture
def three_issues(db):
    """Three published issues a week apart, two at the same moment, and a draft between."""
    at = timezone.now() - datetime.timedelta(days=30)
    first = IssueFactory(slug="first", title="第一期", published_at=at)
    second = IssueFactory(slug="second", title="第二期", published_at=at + datetime.timedelta(7))
    third = IssueFactory(slug="third", title="第三期", published_at=second.published_at)
    IssueFactory(slug="draft", title="草稿期", status=Issue.Status.DRAFT)
    return first, second, third


def neighbour_links(client, slug):
    page = BeautifulSoup(client.get(f"/issues/{slug}/").content, "html.parser")
    nav = page.find("nav", class_="issue-neighbours")
    if nav is None:
        return None, None
    older, newer = nav.find("a", rel="prev"), nav.find("a", rel="next")
    return (
        older and older["href"].strip("/").split("/")[-1],
        newer and newer["href"].strip("/").split("/")[-1],
    )


def test_each_issue_page_links_the_issues_before_and_after_it(client, three_issues):
    """In the archive's order; two issues published at the same moment are in
    it by when they were made; a draft is never a neighbour."""
    assert neighbour_links(client, "first") == (None, "second")
    assert neighbour_links(client, "second") == ("first", "third")
    assert neighbour_links(client, "third") == ("second", None)
    page = client.get("/en/issues/second/").content.decode()
    assert "Previous issue" in page and "Next issue" in page and "草稿期" not in page


def test_publishing_an_issue_adds_it_to_its_neighbours_pages_next_time(client, three_issues):
    assert neighbour_links(client, "third") == ("second", None)
    Issue.objects.get(slug="draft").publish()
    assert neighbour_links(client, "third") == ("second", "draft")
    Issue.objects.get(slug="draft").unpublish()
    assert neighbour_links(client, "third") == ("second", None)


def test_a_lone_issue_has_no_neighbours_nav(client, db):
    IssueFactory(slug="alone")
    assert neighbour_links(client, "alone") == (None, None)
