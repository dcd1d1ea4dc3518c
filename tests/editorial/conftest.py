"""Fixtures of the editors' desk tests."""

import pytest
from django.urls import reverse

from bench.common.admin_form import form_data
from papers.models import Issue
from tests.factories import SectionFactory


@pytest.fixture
def edited_issue(client, publisher_user):
    """An issue written in the admin with one tagged entry, then edited once."""
    section = SectionFactory()
    client.force_login(publisher_user)
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    data.update(
        title="第一版标题",
        slug="history",
        period_start="2024-07-01",
        period_end="2024-07-15",
        intro="第一版导言",
        status="draft",
    )
    data.update(
        {
            "entries-0-section": str(section.pk),
            "entries-0-position": "1",
            "entries-0-title": "First title",
            "entries-0-arxiv_id": "2407.00001",
            "entries-0-summary": "第一版摘要",
            "entries-0-tags": "对齐、安全",
        }
    )
    assert client.post("/admin/papers/issue/add/", data).status_code == 302
    issue = Issue.objects.get(slug="history")
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    data.update(
        {"title": "第二版标题", "entries-0-summary": "第二版摘要", "entries-0-tags": "幻觉"}
    )
    assert client.post(url, data).status_code == 302
    return issue
