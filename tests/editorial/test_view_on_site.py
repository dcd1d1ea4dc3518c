"""The admin's "在站点上查看" opens what the editor can see: the public page
of a public issue or entry, the staff preview of one that is not public yet."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

LATER = timezone.now() + datetime.timedelta(days=3)


@pytest.fixture
def editor(client, editor_user):
    client.force_login(editor_user)
    return editor_user


def view_on_site_links(client, url):
    """Every "view on site" link of an admin page (the page's and the inlines')."""
    response = client.get(url)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    page = [a["href"] for a in soup.select("a.viewsitelink")]
    inline = [
        a["href"]
        for a in soup.select(".inline-related h3 a")
        if a.get_text(strip=True) == "在站点上查看"
    ]
    return page, inline


def landing(client, href):
    """Where a link ends, after redirects, and the status it ends with."""
    response = client.get(href, follow=True)
    return response.status_code, response.request["PATH_INFO"]


@pytest.mark.parametrize(
    "state",
    ["draft", "scheduled"],
)
def test_an_issue_not_yet_public_opens_its_preview(client, editor, state):
    fields = (
        {"status": Issue.Status.DRAFT}
        if state == "draft"
        else {"status": Issue.Status.SCHEDULED, "published_at": LATER}
    )
    issue = IssueFactory(**fields)
    entry = EntryFactory(issue=issue, section=SectionFactory())
    preview = f"/admin/papers/issue/{issue.pk}/preview/"

    [href], [inline_href] = view_on_site_links(client, f"/admin/papers/issue/{issue.pk}/change/")
    assert href == preview
    assert inline_href == f"{preview}#entry-{entry.pk}"
    assert landing(client, href) == (200, preview)

    [entry_href], _ = view_on_site_links(client, f"/admin/papers/entry/{entry.pk}/change/")
    assert entry_href == f"{preview}#entry-{entry.pk}"
    assert landing(client, entry_href) == (200, preview)


def test_a_published_issue_and_its_entries_open_the_public_pages(client, editor):
    issue = IssueFactory(slug="live-issue")
    entry = EntryFactory(issue=issue, section=SectionFactory())

    [href], [inline_href] = view_on_site_links(client, f"/admin/papers/issue/{issue.pk}/change/")
    assert landing(client, href) == (200, "/issues/live-issue/")
    assert inline_href.endswith(f"#entry-{entry.pk}")
    assert landing(client, inline_href) == (200, "/issues/live-issue/")

    [entry_href], _ = view_on_site_links(client, f"/admin/papers/entry/{entry.pk}/change/")
    assert landing(client, entry_href) == (200, "/issues/live-issue/")


def test_a_scheduled_issue_whose_time_has_come_is_public(client, editor):
    issue = IssueFactory(
        status=Issue.Status.SCHEDULED,
        slug="due",
        published_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    [href], _ = view_on_site_links(client, f"/admin/papers/issue/{issue.pk}/change/")
    assert landing(client, href) == (200, "/issues/due/")
