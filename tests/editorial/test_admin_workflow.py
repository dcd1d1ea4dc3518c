"""Status, scheduling, preview and the two roles, through the admin."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from bench.common.admin_form import form_data
from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/papers/issue/"


def change_url(issue):
    return reverse("admin:papers_issue_change", args=[issue.pk])


def test_the_issue_list_shows_each_state(client, publisher_user):
    IssueFactory(title="已经发布的一期")
    IssueFactory(
        title="定时的一期",
        status=Issue.Status.SCHEDULED,
        published_at=timezone.now() + datetime.timedelta(days=2),
    )
    IssueFactory(title="草稿一期", status=Issue.Status.DRAFT)
    client.force_login(publisher_user)
    soup = BeautifulSoup(client.get(CHANGELIST).content, "html.parser")
    states = {
        row.find("th").get_text(strip=True): row.find(class_="issue-state").get_text()
        for row in soup.select("#result_list tbody tr")
    }
    assert states["已经发布的一期"] == "已发布"
    assert states["定时的一期"].startswith("定时 ")
    assert states["草稿一期"] == "草稿"


def test_a_publisher_publishes_and_unpublishes_with_the_buttons(client, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT, slug="buttons")
    client.force_login(publisher_user)
    page = client.get(change_url(issue)).content.decode()
    assert "立即发布" in page
    response = client.post(reverse("admin:papers_issue_publish", args=[issue.pk]))
    assert response.status_code == 302
    assert client.get("/issues/buttons/").status_code == 200
    client.post(reverse("admin:papers_issue_unpublish", args=[issue.pk]))
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT
    assert client.get("/issues/buttons/").status_code == 404
    # Both changes are in the history, with who made them.
    comments = [v.revision.comment for v in Version.objects.get_for_object(issue)]
    assert comments[:2] == ["撤回发布", "发布"]


def test_the_state_buttons_accept_only_post(client, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    client.force_login(publisher_user)
    assert client.get(reverse("admin:papers_issue_publish", args=[issue.pk])).status_code == 405
    issue.refresh_from_db()
    assert issue.status == Issue.Status.DRAFT


def test_list_actions_publish_and_unpublish(client, publisher_user):
    drafts = [IssueFactory(status=Issue.Status.DRAFT) for _ in range(2)]
    client.force_login(publisher_user)
    ids = [str(i.pk) for i in drafts]
    client.post(CHANGELIST, {"action": "publish_now", "_selected_action": ids})
    assert Issue.objects.published().filter(pk__in=ids).count() == 2
    client.post(CHANGELIST, {"action": "unpublish", "_selected_action": ids})
    assert not Issue.objects.published().filter(pk__in=ids).exists()


def test_scheduling_in_the_form_makes_the_issue_public_when_its_time_comes(client, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT, slug="later")
    client.force_login(publisher_user)
    data = form_data(client.get(change_url(issue)), "issue_form")
    when = timezone.localtime() + datetime.timedelta(hours=3)
    data.update(
        status="scheduled", published_at_0=f"{when:%Y-%m-%d}", published_at_1=f"{when:%H:%M:%S}"
    )
    assert client.post(change_url(issue), data).status_code == 302
    assert client.get("/issues/later/").status_code == 404
    Issue.objects.filter(pk=issue.pk).update(
        published_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert client.get("/issues/later/").status_code == 200


def test_an_editor_cannot_publish_even_by_a_direct_post(client, editor_user):
    issue = IssueFactory(status=Issue.Status.DRAFT, slug="not-yet")
    client.force_login(editor_user)
    page = client.get(change_url(issue))
    assert "立即发布" not in page.content.decode()
    data = form_data(page, "issue_form")
    assert "status" not in data  # read-only for editors
    data.update(
        status="published",
        published_at_0="2024-07-01",
        published_at_1="09:00:00",
        title="编辑改了标题",
    )
    assert client.post(change_url(issue), data).status_code == 302
    issue.refresh_from_db()
    assert issue.title == "编辑改了标题" and issue.status == Issue.Status.DRAFT
    assert client.post(reverse("admin:papers_issue_publish", args=[issue.pk])).status_code == 403
    client.post(CHANGELIST, {"action": "publish_now", "_selected_action": [issue.pk]})
    assert not Issue.objects.published().filter(pk=issue.pk).exists()
    assert client.get("/issues/not-yet/").status_code == 404


def test_an_editor_cannot_delete_an_issue_a_publisher_can(client, editor_user, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    delete = reverse("admin:papers_issue_delete", args=[issue.pk])
    client.force_login(editor_user)
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Issue.objects.filter(pk=issue.pk).exists()
    client.force_login(publisher_user)
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not Issue.objects.filter(pk=issue.pk).exists()


def test_an_editor_writes_a_new_issue_as_a_draft(client, editor_user):
    section = SectionFactory()
    client.force_login(editor_user)
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    data.update(
        title="编辑写的新一期",
        slug="by-editor",
        period_start="2024-07-01",
        period_end="2024-07-15",
        status="published",
    )
    data.update(
        {
            "entries-0-section": str(section.pk),
            "entries-0-position": "1",
            "entries-0-title": "A paper",
            "entries-0-arxiv_id": "2407.00001",
            "entries-0-summary": "摘要",
            "entries-0-tags": "对齐、安全",
        }
    )
    assert client.post("/admin/papers/issue/add/", data).status_code == 302
    issue = Issue.objects.get(slug="by-editor")
    assert issue.status == Issue.Status.DRAFT


def test_preview_shows_a_draft_as_readers_will_see_it_only_to_staff(client, editor_user, seed):
    draft = IssueFactory(status=Issue.Status.DRAFT, title="预览中的草稿", slug="preview-me")
    EntryFactory(
        issue=draft, section=seed.entries.first().section, title="Draft Paper", tags=["对齐"]
    )
    url = reverse("admin:papers_issue_preview", args=[draft.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(editor_user)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "预览中的草稿" in html and "Draft Paper" in html
    assert "预览：" in html and '<meta name="robots" content="noindex, nofollow">' in html
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response.templates[0].name == "papers/issue_detail.html"
    assert url in client.get(change_url(draft)).content.decode()  # the admin links to it
    assert client.get("/issues/preview-me/").status_code == 404


def test_the_change_form_says_who_else_has_the_issue_open(client, editor_user, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    client.force_login(publisher_user)
    client.get(change_url(issue))
    client.force_login(editor_user)
    soup = BeautifulSoup(client.get(change_url(issue)).content, "html.parser")
    note = soup.find(id="editing-presence")
    assert not note.has_attr("hidden") and "Publisher" in note.get_text()
    heartbeat = reverse("admin:papers_issue_heartbeat", args=[issue.pk])
    client.force_login(publisher_user)
    others = client.post(heartbeat).json()["others"]
    assert [other["name"] for other in others] == ["Editor"]
