"""Atom and RSS feeds, read back by feedparser as a feed reader reads them."""

import datetime
import html
import types
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import feedgenerator, timezone

from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

FORMATS = ["atom", "rss"]
VERSIONS = {"atom": "atom10", "rss": "rss20"}
PARSE_DATE = {"atom": datetime.datetime.fromisoformat, "rss": parsedate_to_datetime}
SITE = "http://testserver"


def read_feed(client, url):
    """The feed at ``url``, parsed; it must be well-formed and of the asked format."""
    response = client.get(url)
    assert response.status_code == 200, url
    feed = feedparser.parse(
        response.content, response_headers={"content-type": response["Content-Type"]}
    )
    assert feed.bozo == 0, (url, feed.get("bozo_exception"))
    assert feed.version == VERSIONS[url.rsplit(".", 1)[1].split("?")[0]], url
    # RSS titles are escaped HTML (reading.feeds): compare what a reader shows.
    for item in [feed.feed, *feed.entries]:
        if item.get("title_detail", {}).get("type") == "text/html":
            item["title"] = html.unescape(item["title"])
    return feed


def published(item, fmt):
    """An item's publication time, to the second (RSS dates have no fractions)."""
    when = PARSE_DATE[fmt](item.published)
    assert when.tzinfo is not None
    return exact_second(when)


def exact_second(moment):
    return moment.replace(microsecond=0)


@pytest.fixture
def archive(db):
    """Two published issues: a long-context section and tags shared between them."""
    section = SectionFactory(name="长上下文", slug="long-context")
    other = SectionFactory(name="RAG", slug="rag")
    latest = IssueFactory(title="第二期：长上下文专题", slug="second")
    older = IssueFactory(
        title="第一期", slug="first", published_at=latest.published_at - datetime.timedelta(days=14)
    )
    entries = {
        "risky": EntryFactory(
            issue=latest,
            section=section,
            title="Attention & Memory: <Scaling> Laws",
            summary="**加粗**的摘要。<script>alert('pwned')</script>",
            tags=["长上下文", "RAG"],
        ),
        "both": EntryFactory(
            issue=older, section=section, title="Old Long Paper", tags=["长上下文", "RAG"]
        ),
        "one": EntryFactory(
            issue=older, section=other, title="Only Long Context", tags=["长上下文"]
        ),
        "none": EntryFactory(
            issue=latest,
            section=other,
            title="Untagged Retrieval",
            arxiv_id="",
            url="https://example.org/paper",
        ),
    }
    return {"latest": latest, "older": older, "section": section, **entries}


@pytest.mark.parametrize("fmt", FORMATS)
def test_issues_feed_lists_published_issues_newest_first(client, archive, fmt):
    latest, older = archive["latest"], archive["older"]
    feed = read_feed(client, f"/feeds/issues.{fmt}")
    assert feed.feed.title == settings.SITE_NAME
    assert feed.feed.link == f"{SITE}/issues/"
    assert [item.title for item in feed.entries] == [latest.title, older.title]
    first = feed.entries[0]
    assert first.link == f"{SITE}{latest.get_absolute_url()}"
    assert published(first, fmt) == exact_second(latest.published_at)
    assert first.author == settings.SITE_NAME
    assert "<strong>导言</strong>" in first.summary
    assert "Attention &amp; Memory: &lt;Scaling&gt; Laws" in first.summary
    assert "Untagged Retrieval" in first.summary and "Old Long Paper" not in first.summary


def test_issues_feed_has_atom_updated_dates_and_keeps_the_latest_20(client, archive):
    for days in range(1, 25):
        IssueFactory(published_at=archive["older"].published_at - datetime.timedelta(days=days))
    feed = read_feed(client, "/feeds/issues.atom")
    assert len(feed.entries) == 20
    assert feed.entries[0].title == archive["latest"].title
    updated = datetime.datetime.fromisoformat(feed.entries[0].updated)
    assert exact_second(updated) == exact_second(archive["latest"].updated_at)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tag_feed_items_have_title_link_date_summary_and_categories(client, archive, fmt):
    feed = read_feed(client, f"/tags/长上下文/feed.{fmt}")
    assert feed.feed.title == f"{settings.SITE_NAME} · 标签：长上下文"
    assert feed.feed.link == f"{SITE}/tags/%E9%95%BF%E4%B8%8A%E4%B8%8B%E6%96%87/"
    risky = archive["risky"]
    assert [item.title for item in feed.entries] == [
        "Attention & Memory: <Scaling> Laws",
        "Old Long Paper",
        "Only Long Context",
    ]
    item = feed.entries[0]
    assert item.link == f"{SITE}{risky.get_absolute_url()}"
    assert item.id == item.link
    assert published(item, fmt) == exact_second(archive["latest"].published_at)
    assert "<strong>加粗</strong>的摘要" in item.summary
    assert (
        f'<a href="https://arxiv.org/abs/{risky.arxiv_id}">arXiv:{risky.arxiv_id}</a>'
        in item.summary
    )
    assert sorted(tag.term for tag in item.tags) == ["RAG", "长上下文"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_section_feed(client, archive, fmt):
    feed = read_feed(client, f"/sections/long-context/feed.{fmt}")
    assert feed.feed.title == f"{settings.SITE_NAME} · 栏目：长上下文"
    assert feed.feed.link == f"{SITE}/sections/long-context/"
    assert [item.title for item in feed.entries] == [
        "Attention & Memory: <Scaling> Laws",
        "Old Long Paper",
    ]
    assert published(feed.entries[1], fmt) == exact_second(archive["older"].published_at)


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/issues.atom",
        "/feeds/issues.rss",
        "/tags/长上下文/feed.atom",
        "/tags/长上下文/feed.rss",
        "/entries/feed.atom",
        "/entries/feed.rss",
    ],
)
def test_no_script_reaches_a_feed_even_from_a_summary_that_had_one(client, archive, url):
    raw = client.get(url).content.decode().lower()
    assert "attention" in raw
    assert "<script" not in raw and "&lt;script" not in raw and "pwned" not in raw


def test_an_entry_without_arxiv_id_links_its_own_url(client, archive):
    item = read_feed(client, "/sections/rag/feed.atom").entries[0]
    assert item.title == "Untagged Retrieval"
    assert '<a href="https://example.org/paper">原文链接</a>' in item.summary


@pytest.mark.parametrize("fmt", FORMATS)
def test_filtered_feed_with_two_tags_lists_entries_having_both(client, archive, fmt):
    feed = read_feed(client, f"/entries/feed.{fmt}?tag=长上下文&tag=rag&page=2")
    assert [item.title for item in feed.entries] == [
        "Attention & Memory: <Scaling> Laws",
        "Old Long Paper",
    ]
    assert feed.feed.title == f"{settings.SITE_NAME} · 全部论文 · 标签：长上下文 · 标签：RAG"
    assert feed.feed.link == (f"{SITE}/entries/?tag=%E9%95%BF%E4%B8%8A%E4%B8%8B%E6%96%87&tag=rag")


def test_filtered_feed_combines_tags_section_and_issue(client, archive):
    query = "tag=长上下文&section=long-context&issue=first"
    feed = read_feed(client, f"/entries/feed.atom?{query}")
    assert [item.title for item in feed.entries] == ["Old Long Paper"]
    unfiltered = read_feed(client, "/entries/feed.atom")
    assert len(unfiltered.entries) == 4
    assert unfiltered.feed.title == f"{settings.SITE_NAME} · 全部论文"


NASTY_FILTERS = [
    "tag=no-such-tag",
    "tag=%00",
    "section=%00",
    "issue=%00",
    "section=nope",
    "issue=nope",
    "tag=RAG&" * 11,
    "q=" + "长" * 1_000,
    "q=%00",
    "q=%E4%B8%",
    "%FF%FE=%C0%AF",
    "page=%00",
    "tag=" + "x" * 10_240,
    "year=abc",
    "tag[]=RAG",
    "tag=RAG&tag=",
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_filter_input_never_gives_a_500(client, archive, fmt):
    for query in NASTY_FILTERS:
        response = client.get(f"/entries/feed.{fmt}?{query}")
        assert response.status_code in (200, 400), query[:40]
        if response.status_code == 200:
            assert feedparser.parse(response.content).bozo == 0, query[:40]


def test_invalid_filters_give_an_empty_feed_not_every_entry(client, archive):
    for query in ["tag=no-such-tag", "tag=rag&tag=no-such-tag", "section=%00", "issue=nope"]:
        feed = read_feed(client, f"/entries/feed.atom?{query}")
        assert feed.entries == [], query
        assert "筛选条件有误" in feed.feed.title


def three_hours_later():
    """The datetime module as django.utils.feedgenerator sees it, three hours on."""

    class IsADatetime(type):
        def __instancecheck__(cls, value):
            return isinstance(value, datetime.datetime)

    class Later(metaclass=IsADatetime):
        combine = staticmethod(datetime.datetime.combine)

        @staticmethod
        def now(tz=None):
            return datetime.datetime.now(tz) + datetime.timedelta(hours=3)

    return types.SimpleNamespace(datetime=Later, time=datetime.time, timezone=datetime.timezone)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("url", ["/feeds/issues.{fmt}", "/entries/feed.{fmt}?tag=no-such-tag"])
def test_an_empty_feed_is_the_same_bytes_whenever_it_is_asked(client, db, monkeypatch, fmt, url):
    """Its date is no request's time: feed readers see no change where there
    is none, and a cached copy is the page made now (found by the page cache's
    state machine after every issue was unpublished)."""
    url = url.format(fmt=fmt)
    with override_settings(PAGE_CACHE=False):
        first = client.get(url)

        monkeypatch.setattr(feedgenerator, "datetime", three_hours_later())
        again = client.get(url)
    assert read_feed(client, url).entries == []
    assert first.content == again.content


def test_unknown_tag_or_section_feed_is_a_404(client, archive):
    assert client.get("/tags/no-such-tag/feed.atom").status_code == 404
    assert client.get("/sections/no-such-section/feed.rss").status_code == 404


@pytest.fixture
def draft(archive):
    """A draft issue with its own tag and section, and a tag shared with the public."""
    issue = IssueFactory(status=Issue.Status.DRAFT, title="草稿一期标题", slug="draft-issue")
    EntryFactory(
        issue=issue,
        section=SectionFactory(name="草稿专用栏目", slug="draft-only"),
        title="Secret Draft Paper",
        summary="草稿里的秘密摘要",
        tags=["草稿专用标签", "长上下文"],
    )
    return issue


SECRETS = ["草稿一期标题", "Secret Draft Paper", "草稿里的秘密摘要", "草稿专用标签"]
PUBLIC_FEEDS = [
    "/feeds/issues.atom",
    "/feeds/issues.rss",
    "/entries/feed.atom",
    "/entries/feed.rss",
    "/tags/长上下文/feed.atom",
    "/tags/长上下文/feed.rss",
    "/entries/feed.atom?q=Secret",
    "/entries/feed.atom?issue=draft-issue",
]
DRAFT_ONLY_FEEDS = [
    "/tags/草稿专用标签/feed.atom",
    "/tags/草稿专用标签/feed.rss",
    "/sections/draft-only/feed.atom",
    "/sections/draft-only/feed.rss",
]


def leaks(client, urls):
    return {
        url: secret
        for url in urls
        for secret in SECRETS
        if secret in client.get(url).content.decode()
    }


def test_a_draft_is_in_no_feed_until_it_is_published(client, draft):
    assert leaks(client, PUBLIC_FEEDS) == {}
    assert {url: client.get(url).status_code for url in DRAFT_ONLY_FEEDS} == dict.fromkeys(
        DRAFT_ONLY_FEEDS, 404
    )

    draft.publish()
    assert set(leaks(client, PUBLIC_FEEDS)) == set(PUBLIC_FEEDS)
    for url in DRAFT_ONLY_FEEDS:
        assert [item.title for item in read_feed(client, url).entries] == ["Secret Draft Paper"]


def test_a_scheduled_issue_appears_when_its_time_comes(client, draft, monkeypatch):
    now = timezone.now()
    draft.publish(when=now + datetime.timedelta(hours=1))
    assert draft.status == Issue.Status.SCHEDULED
    assert leaks(client, PUBLIC_FEEDS) == {}
    assert client.get("/tags/草稿专用标签/feed.atom").status_code == 404

    monkeypatch.setattr(timezone, "now", lambda: now + datetime.timedelta(hours=2))
    assert set(leaks(client, PUBLIC_FEEDS)) == set(PUBLIC_FEEDS)
    feed = read_feed(client, "/feeds/issues.atom")
    assert feed.entries[0].title == "草稿一期标题"
    assert published(feed.entries[0], "atom") == exact_second(draft.published_at)


def alternates(html):
    """The feeds a page links in its <head>: {type: [href, ...]} (not its translations)."""
    links = BeautifulSoup(html, "html.parser").select('head link[rel="alternate"][type]')
    found = {}
    for link in links:
        found.setdefault(link["type"], []).append(link["href"])
    return found


PAGES_AND_FEEDS = {
    "/": "/feeds/issues",
    "/issues/": "/feeds/issues",
    "/issues/second/": "/feeds/issues",
    "/tags/": "/feeds/issues",
    "/sections/": "/feeds/issues",
    "/papers/2406.10001/": "/feeds/issues",
    "/no-such-page/": "/feeds/issues",
    "/tags/长上下文/": "/tags/%E9%95%BF%E4%B8%8A%E4%B8%8B%E6%96%87/feed",
    "/sections/long-context/": "/sections/long-context/feed",
    "/entries/": "/entries/feed",
    "/entries/?tag=rag&page=1&section=rag": "/entries/feed",
}
SUFFIXES = {"application/atom+xml": ".atom", "application/rss+xml": ".rss"}


def test_every_page_links_its_own_feed_and_the_feed_answers(client, archive):
    EntryFactory(
        issue=archive["latest"], section=archive["section"], arxiv_id="2406.10001", position=50
    )
    for page, feed in PAGES_AND_FEEDS.items():
        response = client.get(page)
        assert response.status_code in (200, 404), page
        found = alternates(response.content.decode())
        query = "?tag=rag&section=rag" if "page=1" in page else ""
        for mime, suffix in SUFFIXES.items():
            assert found[mime][0] == f"{feed}{suffix}{query}", page
            for href in found[mime]:
                answer = client.get(href)
                assert answer.status_code == 200, (page, href)
                assert answer["Content-Type"].startswith(mime), (page, href)


@pytest.mark.parametrize(
    "page", ["/tags/长上下文/", "/sections/long-context/", "/entries/?tag=rag&page=1"]
)
def test_tag_section_and_entries_pages_show_a_subscribe_link(client, archive, page):
    html = client.get(page).content.decode()
    soup = BeautifulSoup(html, "html.parser")
    subscribe = soup.find("main").find("a", string="Atom")
    assert subscribe["href"] == alternates(html)["application/atom+xml"][0]
    assert "page=" not in subscribe["href"]


FEEDS_FOR_BUDGET = [
    "/feeds/issues.atom",
    "/feeds/issues.rss",
    "/tags/common/feed.atom",
    "/tags/common/feed.rss",
    "/sections/s0/feed.atom",
    "/entries/feed.atom",
    "/entries/feed.rss",
    "/entries/feed.atom?tag=common&tag=shared&section=s0&issue=budget",
]
BUDGET = 8


def queries_per_feed(client):
    counts = {}
    for url in FEEDS_FOR_BUDGET:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        counts[url] = len(queries)
    return counts


def add_entries(issues, sections, start, stop):
    for n in range(start, stop):
        EntryFactory(
            issue=issues[n % len(issues)],
            section=sections[n % len(sections)],
            position=n,
            tags=["common", "shared", f"t{n % 7}"],
        )


def test_feeds_run_the_same_few_queries_for_5_and_50_entries(client, db, settings):
    settings.PAGE_CACHE = False  # what rendering costs (a cached feed costs none)
    issues = [IssueFactory(slug="budget")] + [IssueFactory() for _ in range(2)]
    sections = [SectionFactory(slug=f"s{i}") for i in range(3)]
    add_entries(issues, sections, 0, 5)
    with_5 = queries_per_feed(client)
    issues += [IssueFactory() for _ in range(5)]
    add_entries(issues, sections, 5, 50)
    with_50 = queries_per_feed(client)
    assert with_5 == with_50
    assert max(with_50.values()) <= BUDGET, with_50
