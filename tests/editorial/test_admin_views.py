"""The staff-only helpers behind the writing pages."""

import logging
import re
import socket
import urllib.request
from urllib.error import URLError

import pytest
from django.test import Client
from django.urls import reverse

from bench.common.admin_form import form_data
from editorial import arxiv_client
from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

PREVIEW = "/admin/papers/issue/markdown-preview/"
ARXIV = "/admin/papers/issue/arxiv-metadata/"
PAPER = arxiv_client.PaperMetadata(
    arxiv_id="2406.15877",
    title="BigCodeBench: Benchmarking Code Generation",
    authors=("Terry Yue Zhuo", "Leandro von Werra"),
    abstract_url="https://arxiv.org/abs/2406.15877",
)


@pytest.fixture
def staff_client(editor_user):
    client = Client()
    client.force_login(editor_user)
    return client


def test_markdown_preview_uses_the_sanitising_renderer(staff_client):
    html = staff_client.post(PREVIEW, {"text": "**粗体** <script>alert(1)</script>"}).json()["html"]
    assert "<strong>粗体</strong>" in html and "<script" not in html


def test_the_helpers_are_for_staff_only(db):
    client = Client()
    assert client.post(PREVIEW, {"text": "x"}).status_code == 302
    assert client.get(ARXIV, {"id": "2406.15877"}).status_code == 302


def test_markdown_preview_needs_a_csrf_token(editor_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor_user)
    assert client.post(PREVIEW, {"text": "x"}).status_code == 403


def test_arxiv_lookup_offers_title_and_authors(staff_client, monkeypatch):
    monkeypatch.setattr(arxiv_client, "fetch_one", lambda arxiv_id: PAPER)
    data = staff_client.get(ARXIV, {"id": "https://arxiv.org/abs/2406.15877v2"}).json()
    assert data["arxiv_id"] == "2406.15877"
    assert data["title"] == PAPER.title
    assert data["authors"] == "Terry Yue Zhuo, Leandro von Werra"
    assert data["abstract_url"] == "https://arxiv.org/abs/2406.15877"


def test_arxiv_lookup_says_clearly_when_arxiv_cannot_be_reached(staff_client, monkeypatch):
    def unreachable(arxiv_id):
        raise arxiv_client.ArxivUnavailable("无法连接 arXiv（timed out）")

    monkeypatch.setattr(arxiv_client, "fetch_one", unreachable)
    response = staff_client.get(ARXIV, {"id": "2406.15877"})
    assert response.status_code == 503
    assert "无法连接 arXiv" in response.json()["error"]


def test_arxiv_lookup_of_an_unknown_or_malformed_id(staff_client, monkeypatch):
    monkeypatch.setattr(arxiv_client, "fetch_one", lambda arxiv_id: None)
    assert staff_client.get(ARXIV, {"id": "2406.99999"}).status_code == 404
    bad = staff_client.get(ARXIV, {"id": "not an id"})
    assert bad.status_code == 400 and "不是 arXiv 编号" in bad.json()["error"]


def test_arxiv_lookup_lists_other_issues_that_covered_the_paper(staff_client, monkeypatch):
    monkeypatch.setattr(arxiv_client, "fetch_one", lambda arxiv_id: PAPER)
    earlier, current = IssueFactory(title="更早的一期"), IssueFactory(title="正在写的一期")
    section = SectionFactory()
    EntryFactory(issue=earlier, section=section, arxiv_id="2406.15877")
    EntryFactory(issue=current, section=section, arxiv_id="2406.15877")
    data = staff_client.get(ARXIV, {"id": "2406.15877", "issue": current.pk}).json()
    assert [item["issue"] for item in data["earlier"]] == ["更早的一期"]


def test_saving_a_paper_covered_before_shows_a_notice_with_links(staff_client):
    earlier = IssueFactory(title="更早的一期")
    section = SectionFactory()
    old = EntryFactory(issue=earlier, section=section, arxiv_id="2406.15877")
    current = IssueFactory(title="新的一期", status=Issue.Status.DRAFT)
    url = reverse("admin:papers_issue_change", args=[current.pk])
    data = form_data(staff_client.get(url), "issue_form")
    data.update(
        {
            "entries-0-section": str(section.pk),
            "entries-0-position": "1",
            "entries-0-title": "BigCodeBench",
            "entries-0-arxiv_id": "arXiv:2406.15877",
            "entries-0-summary": "又写了一遍",
        }
    )
    response = staff_client.post(url, data, follow=True)
    notices = [str(m) for m in response.context["messages"]]
    assert any(
        "之前已收录于" in n and reverse("admin:papers_entry_change", args=[old.pk]) in n
        for n in notices
    )
    assert current.entries.count() == 1  # allowed, not blocked


def test_an_issue_downloads_as_markdown(staff_client, seed):
    response = staff_client.get(reverse("admin:papers_issue_markdown", args=[seed.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert 'filename="2024-06-h2.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("---\nslug: 2024-06-h2") and "### 1. BigCodeBench" in text
    action = staff_client.post(
        "/admin/papers/issue/", {"action": "download_markdown", "_selected_action": [seed.pk]}
    )
    assert action.content.decode() == text


def test_arxiv_lookup_ignores_a_malformed_issue_parameter(staff_client, monkeypatch):
    monkeypatch.setattr(arxiv_client, "fetch_one", lambda arxiv_id: PAPER)
    EntryFactory(
        issue=IssueFactory(title="更早的一期"), section=SectionFactory(), arxiv_id="2406.15877"
    )
    response = staff_client.get(ARXIV, {"id": "2406.15877", "issue": "abc"})
    assert response.status_code == 200
    assert [item["issue"] for item in response.json()["earlier"]] == ["更早的一期"]


@pytest.mark.parametrize(
    "error",
    [
        URLError(socket.gaierror(-2, "Name or service not known")),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
    ],
    ids=["dns", "refused", "timeout"],
)
def test_an_unreachable_arxiv_is_one_chinese_sentence_and_the_detail_is_logged(
    staff_client, monkeypatch, caplog, error
):
    def urlopen(request, timeout):
        raise error

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    with caplog.at_level(logging.WARNING, logger="papers"):
        response = staff_client.get(ARXIV, {"id": "2406.15877"})
    assert response.status_code == 503
    message = response.json()["error"]
    assert message == "无法连接 arXiv，请稍后再试，或手动填写标题和作者。"
    # The technical reason is for the log, not for the editor.
    assert str(error.reason if isinstance(error, URLError) else error) in caplog.text


def test_an_unreadable_arxiv_answer_is_one_chinese_sentence(staff_client, monkeypatch):
    monkeypatch.setattr(arxiv_client, "_get", lambda url: b"<html>not a feed")
    response = staff_client.get(ARXIV, {"id": "2406.15877"})
    assert response.status_code == 502
    message = response.json()["error"]
    assert "html" not in message.lower() and "xml" not in message.lower()
    assert re.fullmatch(r"[^A-Za-z]*(arXiv[^A-Za-z]*)*", message), message
