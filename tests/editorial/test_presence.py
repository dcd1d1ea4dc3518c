"""The "also editing" notice: gone within a minute of the other editor leaving."""

import time

import pytest
from django.urls import reverse

from editorial import presence
from papers.models import Issue
from tests.factories import IssueFactory
from tests.support.admin import signed_in

pytestmark = pytest.mark.django_db


def test_leaving_the_page_removes_the_notice_at_once(editor_user, publisher_user):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    editor, publisher = signed_in(editor_user), signed_in(publisher_user)
    editor.get(url)
    publisher.get(url)
    assert [name for name, _ in presence.others_editing(issue, editor_user)] == ["Publisher"]
    # The page's pagehide beacon.
    leave = reverse("admin:papers_issue_leave", args=[issue.pk])
    assert publisher.post(leave).status_code == 204
    assert presence.others_editing(issue, editor_user) == []
    assert [name for name, _ in presence.others_editing(issue, publisher_user)] == ["Editor"]


def test_without_a_beacon_the_notice_goes_within_a_minute(editor_user, publisher_user, monkeypatch):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    presence.mark_editing(issue, publisher_user)
    presence.mark_editing(issue, editor_user)
    assert presence.others_editing(issue, editor_user)
    monkeypatch.setattr(time, "time", lambda: now + 60)
    presence.mark_editing(issue, editor_user)  # the editor's own heartbeat goes on
    assert presence.others_editing(issue, editor_user) == []


def test_the_page_beats_often_enough_and_says_where_to_leave(editor_user, settings):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    client = signed_in(editor_user)
    html = client.get(reverse("admin:papers_issue_change", args=[issue.pk])).content.decode()
    assert reverse("admin:papers_issue_leave", args=[issue.pk]) in html
    assert settings.EDITING_PRESENCE_SECONDS <= 60
    assert 'data-heartbeat-seconds="' in html


def test_leaving_needs_a_post_and_the_right_to_edit(client, db, editor_user):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    leave = reverse("admin:papers_issue_leave", args=[issue.pk])
    assert client.post(leave).status_code == 302  # not signed in: to the login page
    client.force_login(editor_user)
    assert client.get(leave).status_code == 405
