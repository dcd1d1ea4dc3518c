"""sitemap.xml lists the public pages and nothing else; robots.txt points to it."""

import datetime
import urllib.robotparser
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def sitemap(client):
    """{location: lastmod or None} of every Chinese URL in /sitemap.xml.

    Each page is listed once per language: every Chinese URL must have its
    English twin under /en/, with the same lastmod, and nothing else may be there.
    """
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    urls = {
        url.findtext("s:loc", namespaces=NS): url.findtext("s:lastmod", namespaces=NS)
        for url in root.findall("s:url", NS)
    }
    english = {url: lastmod for url, lastmod in urls.items() if url.startswith(f"{SITE}/en/")}
    chinese = {url: lastmod for url, lastmod in urls.items() if url not in english}
    assert english == {url.replace(SITE, f"{SITE}/en", 1): m for url, m in chinese.items()}
    return chinese


def day(moment):
    """A datetime as the sitemap prints it: its date in the site's time zone."""
    return timezone.localtime(moment).date().isoformat()


def test_sitemap_lists_static_pages_issues_sections_tags_and_papers(client, seed):
    urls = sitemap(client)
    for page in ["/", "/issues/", "/entries/", "/tags/", "/sections/"]:
        assert f"{SITE}{page}" in urls
    assert urls[f"{SITE}{seed.get_absolute_url()}"] == day(seed.updated_at)
    assert urls[f"{SITE}/sections/rag/"] == day(seed.published_at)
    assert urls[f"{SITE}/tags/%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95/"] == day(seed.published_at)
    assert urls[f"{SITE}/papers/2406.15877/"] == day(seed.published_at)
    papers = [url for url in urls if url.startswith(f"{SITE}/papers/")]
    assert len(papers) == seed.entries.exclude(arxiv_id="").values("arxiv_id").distinct().count()


def test_a_paper_covered_twice_is_one_url_dated_by_its_latest_issue(client, db):
    section = SectionFactory()
    older = IssueFactory(published_at=timezone.now() - datetime.timedelta(days=30))
    newer = IssueFactory(published_at=timezone.now() - datetime.timedelta(days=2))
    EntryFactory(issue=older, section=section, arxiv_id="2406.15877")
    EntryFactory(issue=newer, section=section, arxiv_id="2406.15877")
    EntryFactory(issue=newer, section=section, arxiv_id="", url="https://example.org/no-arxiv")
    papers = {url: lastmod for url, lastmod in sitemap(client).items() if "/papers/" in url}
    assert papers == {f"{SITE}/papers/2406.15877/": day(newer.published_at)}


@pytest.fixture
def draft(seed):
    """A draft with its own section and tag, and a tag it shares with the seed."""
    issue = IssueFactory(status=Issue.Status.DRAFT, title="草稿一期", slug="draft-issue")
    EntryFactory(
        issue=issue,
        section=SectionFactory(name="草稿专用栏目", slug="draft-only"),
        arxiv_id="2407.00001",
        tags=["草稿专用标签", "基准测试"],
    )
    return issue


DRAFT_URLS = [
    f"{SITE}/issues/draft-issue/",
    f"{SITE}/sections/draft-only/",
    f"{SITE}/tags/%E8%8D%89%E7%A8%BF%E4%B8%93%E7%94%A8%E6%A0%87%E7%AD%BE/",
    f"{SITE}/papers/2407.00001/",
]


def test_a_draft_is_not_in_the_sitemap_until_it_is_published(client, draft):
    assert set(DRAFT_URLS) & set(sitemap(client)) == set()
    draft.publish()
    assert set(DRAFT_URLS) <= set(sitemap(client))
    for url in DRAFT_URLS:
        assert client.get(url.removeprefix(SITE)).status_code == 200, url


def test_a_scheduled_issue_joins_the_sitemap_when_its_time_comes(client, seed, draft, monkeypatch):
    now = timezone.now()
    when = now + datetime.timedelta(days=3)
    draft.publish(when=when)
    urls = sitemap(client)
    assert set(DRAFT_URLS) & set(urls) == set()
    # The tag it shares with the seed keeps the seed's date, not the future one.
    assert urls[f"{SITE}/tags/%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95/"] == day(seed.published_at)

    monkeypatch.setattr(timezone, "now", lambda: when + datetime.timedelta(minutes=1))
    urls = sitemap(client)
    assert set(DRAFT_URLS) <= set(urls)
    assert urls[f"{SITE}/issues/draft-issue/"] == day(when)  # saved before, published then
    assert urls[f"{SITE}/tags/%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95/"] == day(when)


def test_robots_txt_allows_all_but_the_admin_and_names_the_sitemap(client, db):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(response.content.decode().splitlines())
    assert robots.can_fetch("*", f"{SITE}/issues/")
    assert robots.can_fetch("*", f"{SITE}/tags/%E5%B9%BB%E8%A7%89/")
    assert not robots.can_fetch("*", f"{SITE}/admin/")
    assert not robots.can_fetch("*", f"{SITE}/admin/papers/issue/1/preview/")
    assert robots.site_maps() == [f"{SITE}/sitemap.xml"]
    assert client.get("/sitemap.xml").status_code == 200
