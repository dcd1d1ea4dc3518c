"""What the admin forms store: the publication time as it was when nobody
changed it, and text with LF line ends whatever the browser sent."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common.admin_form import form_data
from papers.models import Entry, Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

WITH_SECONDS = datetime.datetime(2024, 7, 1, 9, 30, 45, 123456, tzinfo=datetime.UTC)


def crlf(text):
    """What a browser submits for a textarea: CRLF line ends."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def test_an_unchanged_publication_time_is_not_a_change(client, publisher_user):
    issue = IssueFactory(published_at=WITH_SECONDS, intro="第一段。\n\n第二段。")
    EntryFactory(issue=issue, section=SectionFactory(), summary="一行\n二行")
    client.force_login(publisher_user)
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    page = client.get(url)
    data = form_data(page, "issue_form")
    assert data["published_at_1"] in ("17:30", "17:30:45")  # shown in Asia/Shanghai
    # A browser sends textareas back with CRLF line ends.
    data["intro"] = crlf(data["intro"])
    data["entries-0-summary"] = crlf(data["entries-0-summary"])
    response = client.post(url, data)
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.published_at == WITH_SECONDS
    log = LogEntry.objects.filter(object_id=str(issue.pk)).latest("action_time")
    message = log.get_change_message()
    assert "发布时间" not in message and "导言" not in message and "摘要" not in message


def test_a_changed_publication_time_is_stored(client, publisher_user):
    issue = IssueFactory(published_at=WITH_SECONDS)
    client.force_login(publisher_user)
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    data["published_at_1"] = "18:05"
    assert client.post(url, data).status_code == 302
    issue.refresh_from_db()
    assert timezone.localtime(issue.published_at).strftime("%H:%M:%S") == "18:05:00"
    log = LogEntry.objects.filter(object_id=str(issue.pk)).latest("action_time")
    assert "发布时间" in log.get_change_message()


line_ends = st.sampled_from(["\r\n", "\r", "\n"])
words = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=8)
texts = st.lists(st.tuples(words, line_ends), min_size=1, max_size=4).map(
    lambda parts: "".join(w + e for w, e in parts) + "尾"
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=texts, intro=texts, summary=texts, authors=texts)
def test_text_saved_from_the_admin_has_lf_line_ends(
    client, editor_user, title, intro, summary, authors
):
    client.force_login(editor_user)
    Issue.objects.all().delete()
    issue = IssueFactory(status=Issue.Status.DRAFT)
    entry = EntryFactory(issue=issue, section=SectionFactory())
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    data.update(
        {
            "title": title,
            "intro": intro,
            "entries-0-summary": summary,
            "entries-0-authors": authors,
            "entries-0-title": title,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302
    issue.refresh_from_db()
    entry.refresh_from_db()
    for value in (issue.title, issue.intro, entry.title, entry.summary, entry.authors):
        assert "\r" not in value
    assert entry.summary.strip() == summary.replace("\r\n", "\n").replace("\r", "\n").strip()


def test_the_entry_form_stores_lf_too(client, editor_user):
    client.force_login(editor_user)
    entry = EntryFactory(issue=IssueFactory(), section=SectionFactory())
    url = reverse("admin:papers_entry_change", args=[entry.pk])
    data = form_data(client.get(url), "entry_form")
    data["summary"] = "甲\r\n乙\r丙"
    assert client.post(url, data).status_code == 302
    assert Entry.objects.get(pk=entry.pk).summary == "甲\n乙\n丙"
