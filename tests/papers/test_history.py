"""Revision history: every admin save is kept; compare and restore."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from reversion.models import Version

from papers.models import Issue
from tests.conftest import make_section
from tests.papers.test_admin import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited_issue(client, publisher_user):
    """An issue written in the admin with one tagged entry, then edited once."""
    section = make_section()
    client.force_login(publisher_user)
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    data.update(title="第一版标题", slug="history", period_start="2024-07-01",
                period_end="2024-07-15", intro="第一版导言", status="draft")
    data.update({"entries-0-section": str(section.pk), "entries-0-position": "1",
                 "entries-0-title": "First title", "entries-0-arxiv_id": "2407.00001",
                 "entries-0-summary": "第一版摘要", "entries-0-tags": "对齐、安全"})
    assert client.post("/admin/papers/issue/add/", data).status_code == 302
    issue = Issue.objects.get(slug="history")
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    data.update({"title": "第二版标题", "entries-0-summary": "第二版摘要",
                 "entries-0-tags": "幻觉"})
    assert client.post(url, data).status_code == 302
    return issue


def test_every_save_is_kept_with_who_and_when(client, edited_issue):
    versions = Version.objects.get_for_object(edited_issue)
    assert versions.count() == 2
    assert {v.revision.user.username for v in versions} == {"publisher"}
    history = client.get(reverse("admin:papers_issue_history", args=[edited_issue.pk]))
    assert history.status_code == 200
    assert history.content.decode().count("publisher") >= 2


def test_the_compare_view_shows_what_changed(client, edited_issue):
    newer, older = Version.objects.get_for_object(edited_issue)
    url = reverse("admin:papers_issue_compare", args=[edited_issue.pk])
    response = client.get(url, {"version_id1": older.pk, "version_id2": newer.pk})
    assert response.status_code == 200
    text = BeautifulSoup(response.content, "html.parser").get_text()
    assert "第一版标题" in text and "第二版标题" in text


def test_restoring_an_old_version_brings_back_entries_and_tags(client, edited_issue):
    older = Version.objects.get_for_object(edited_issue).last()
    url = reverse("admin:papers_issue_revision", args=[edited_issue.pk, older.pk])
    form = client.get(url)
    assert form.status_code == 200
    data = form_data(form, "issue_form")
    assert data["title"] == "第一版标题" and data["entries-0-summary"] == "第一版摘要"
    assert client.post(url, data).status_code == 302
    edited_issue.refresh_from_db()
    entry = edited_issue.entries.get()
    assert edited_issue.title == "第一版标题"
    assert entry.summary == "第一版摘要" and entry.summary_html == "<p>第一版摘要</p>"
    assert sorted(entry.tags.names()) == ["安全", "对齐"]
    assert Version.objects.get_for_object(edited_issue).count() == 3


def test_a_restore_does_not_let_an_old_form_overwrite_it(client, edited_issue):
    """After a restore the token is new, so a form opened before still conflicts."""
    url = reverse("admin:papers_issue_change", args=[edited_issue.pk])
    stale = form_data(client.get(url), "issue_form")
    older = Version.objects.get_for_object(edited_issue).last()
    revision_url = reverse("admin:papers_issue_revision", args=[edited_issue.pk, older.pk])
    client.post(revision_url, form_data(client.get(revision_url), "issue_form"))
    stale["title"] = "过时的表单"
    response = client.post(url, stale)
    assert response.status_code == 200 and "保存未成功" in response.content.decode()


def test_an_imported_roundup_starts_its_history(seed, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    source = tmp_path / "roundup.md"
    text = StringIO()
    call_command("export_roundup", seed.slug, stdout=text)
    source.write_text(text.getvalue().replace("slug: 2024-06-h2", "slug: imported"),
                      encoding="utf-8")
    call_command("import_roundup", str(source), stdout=StringIO())
    imported = Issue.objects.get(slug="imported")
    (version,) = Version.objects.get_for_object(imported)
    assert version.revision.comment == "从 Markdown 导入（roundup.md）"
