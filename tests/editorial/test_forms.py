"""No lost edits: a save over someone else's newer save is merged with it,
and asks the editor only where both changed the same field."""

import pytest
from django.urls import reverse

from bench.common.admin_form import form_data
from papers.models import Entry
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import error_text, signed_in

pytestmark = pytest.mark.django_db


def test_without_history_every_difference_is_asked_and_the_text_kept(editor_user, publisher_user):
    """Rows saved outside the admin have no version to merge from: each field
    that differs is a question, never a silent overwrite."""
    issue = IssueFactory(title="原来的标题", intro="原来的导言")
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    first, second = signed_in(editor_user), signed_in(publisher_user)
    first_form = form_data(first.get(url), "issue_form")
    second_form = form_data(second.get(url), "issue_form")

    first_form["title"] = "第一位编辑的标题"
    assert first.post(url, first_form).status_code == 302

    second_form["intro"] = "第二位编辑写了很久的导言"
    response = second.post(url, second_form)
    assert response.status_code == 200
    message = error_text(response)
    assert "保存未成功" in message and "Editor" in message and "标题" in message
    kept = form_data(response, "issue_form")
    assert kept["intro"] == "第二位编辑写了很久的导言"
    issue.refresh_from_db()
    assert issue.title == "第一位编辑的标题" and issue.intro == "原来的导言"

    # The second editor keeps the first one's title and their own introduction.
    kept.update({"merge-title": "theirs", "merge-intro": "mine"})
    assert second.post(url, kept).status_code == 302
    issue.refresh_from_db()
    assert issue.intro == "第二位编辑写了很久的导言" and issue.title == "第一位编辑的标题"


def test_an_entry_edited_on_its_own_meanwhile_blocks_the_stale_inline(editor_user, publisher_user):
    issue, section = IssueFactory(), SectionFactory()
    entry = EntryFactory(issue=issue, section=section, summary="原摘要")
    issue_url = reverse("admin:papers_issue_change", args=[issue.pk])
    entry_url = reverse("admin:papers_entry_change", args=[entry.pk])
    issue_editor, entry_editor = signed_in(editor_user), signed_in(publisher_user)
    stale = form_data(issue_editor.get(issue_url), "issue_form")

    on_its_own = form_data(entry_editor.get(entry_url), "entry_form")
    on_its_own["summary"] = "单独改过的摘要"
    assert entry_editor.post(entry_url, on_its_own).status_code == 302

    stale["entries-0-summary"] = "在一期的页面里改的摘要"
    response = issue_editor.post(issue_url, stale)
    assert response.status_code == 200
    assert "保存未成功" in error_text(response) and "摘要" in error_text(response)
    assert Entry.objects.get(pk=entry.pk).summary == "单独改过的摘要"
    assert form_data(response, "issue_form")["entries-0-summary"] == "在一期的页面里改的摘要"


def test_two_saves_of_an_entry_on_its_own(editor_user, publisher_user):
    entry = EntryFactory(issue=IssueFactory(), section=SectionFactory(), title="Old")
    url = reverse("admin:papers_entry_change", args=[entry.pk])
    first, second = signed_in(editor_user), signed_in(publisher_user)
    a, b = form_data(first.get(url), "entry_form"), form_data(second.get(url), "entry_form")
    a["title"] = "First"
    b["title"] = "Second"
    assert first.post(url, a).status_code == 302
    response = second.post(url, b)
    assert response.status_code == 200 and "保存未成功" in error_text(response)
    assert Entry.objects.get(pk=entry.pk).title == "First"


def test_a_form_without_its_token_cannot_overwrite(editor_user):
    issue = IssueFactory(title="T")
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    client = signed_in(editor_user)
    client.get(url)
    issue.save()  # saved elsewhere: it now has a token
    data = form_data(client.get(url), "issue_form")
    data.pop("seen_token")
    data["title"] = "Overwrite"
    response = client.post(url, data)
    assert response.status_code == 200 and "保存未成功" in error_text(response)


def test_with_history_the_message_names_exactly_the_fields_merged(editor_user, publisher_user):
    import reversion
    from django.contrib.messages import get_messages

    with reversion.create_revision():
        issue = IssueFactory(title="原标题", intro="原导言")
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    first, second = signed_in(editor_user), signed_in(publisher_user)
    a, b = form_data(first.get(url), "issue_form"), form_data(second.get(url), "issue_form")
    a["title"] = "新标题"
    assert first.post(url, a).status_code == 302
    b["intro"] = "我的导言"
    response = second.post(url, b)
    assert response.status_code == 302
    message = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "合并了 Editor 改的 标题" in message and "导言" not in message
    issue.refresh_from_db()
    assert (issue.title, issue.intro) == ("新标题", "我的导言")
