"""Related papers by content on the paper page (papers.related, reading.views)
and in the API (/api/entries/<id>/related): the reasons shown, drafts never,
the page cache kept true, a fixed number of queries however large the archive."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

HALLUCINATION = "提出一种幻觉检测方法，用语义熵识别 hallucination，检测准确率提升。"
HALLUCINATION_TOO = "本文研究幻觉检测：模型的 hallucination 可以通过探针检测出来。"
PAPER = "2406.00001"


def related_list(client, arxiv_id=PAPER, prefix=""):
    """[(title, reason)] of the paper page's related papers."""
    response = client.get(f"{prefix}/papers/{arxiv_id}/")
    assert response.status_code == 200
    page = BeautifulSoup(response.content.decode(), "html.parser")
    return [
        (
            item.a.get_text(),
            item.select_one(".related-reason").get_text()
            if item.select_one(".related-reason")
            else "",
        )
        for item in page.select(".related-list li")
    ]


def api_related(client, entry):
    """[title] of the API's related entries of ``entry``."""
    response = client.get(f"/api/entries/{entry.pk}/related")
    assert response.status_code == 200
    return [item["title"] for item in response.json()]


@pytest.fixture
def section():
    return SectionFactory(name="LLM安全与对齐")


@pytest.fixture
def paper(section):
    return EntryFactory(
        section=section, arxiv_id=PAPER, title="Entropy Probes", summary=HALLUCINATION
    )


def test_related_papers_show_with_the_words_they_share(client, paper, section):
    EntryFactory(section=section, title="Probing Hallucinations", summary=HALLUCINATION_TOO)
    EntryFactory(section=section, title="Four Bits", summary="量化压缩把权重降到四比特，显存减半。")
    (title, reason), *_ = related_list(client)
    assert title == "Probing Hallucinations"
    assert reason.startswith("共同：") and "幻觉检测" in reason and "hallucination" in reason
    assert "、" in reason
    (_, english), *_ = related_list(client, prefix="/en")
    assert english.startswith("Shared: ") and ", " in english


def test_drafts_never_appear_and_publishing_shows_them(client, paper, section):
    draft = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=draft, section=section, title="Secret Twin", summary=HALLUCINATION_TOO)
    scheduled = IssueFactory(
        status=Issue.Status.SCHEDULED, published_at=timezone.now() + datetime.timedelta(days=1)
    )
    EntryFactory(issue=scheduled, section=section, title="Future Twin", summary=HALLUCINATION)
    assert related_list(client) == []
    assert api_related(client, paper) == []
    page = client.get(f"/papers/{PAPER}/").content.decode()
    assert "Secret Twin" not in page and "Future Twin" not in page
    draft.publish()  # cached page purged: the list holds the draft's entry already
    assert [title for title, _ in related_list(client)] == ["Secret Twin"]
    assert api_related(client, paper) == ["Secret Twin"]


def test_an_unpublished_issue_leaves_every_list(client, paper, section):
    other = IssueFactory()
    EntryFactory(
        issue=other, section=section, title="Probing Hallucinations", summary=HALLUCINATION_TOO
    )
    assert [title for title, _ in related_list(client)] == ["Probing Hallucinations"]
    assert api_related(client, paper) == ["Probing Hallucinations"]
    other.unpublish()
    assert related_list(client) == []  # the cached page went, and the list is read filtered
    assert api_related(client, paper) == []


def test_an_edit_that_makes_a_paper_alike_shows_at_once(client, paper, section):
    elsewhere = SectionFactory(name="效率")
    other = EntryFactory(section=elsewhere, title="Four Bits", summary="量化压缩把权重降到四比特。")
    assert "Four Bits" not in [title for title, _ in related_list(client)]
    other.summary = HALLUCINATION_TOO
    other.save()  # the paper's own entry was not saved: its list changed all the same
    assert related_list(client)[0][0] == "Four Bits"


def queries_of_the_page(client):
    client.get(f"/papers/{PAPER}/")  # the process's own caches warm
    with CaptureQueriesContext(connection) as queries:
        related = related_list(client)
    return len(queries), related


def test_the_page_runs_a_fixed_number_of_queries(client, settings, paper, section):
    """One query reads the stored list, however many entries are alike:
    the same count with one related paper as with forty."""
    settings.PAGE_CACHE = False
    EntryFactory(section=section, title="Twin", summary=HALLUCINATION_TOO)
    few, shown = queries_of_the_page(client)
    assert len(shown) == 1
    issues = [IssueFactory() for _ in range(4)]
    for n in range(40):
        EntryFactory(
            issue=issues[n % 4], section=section, title=f"Twin {n}", summary=HALLUCINATION_TOO
        )
    many, shown = queries_of_the_page(client)
    assert len(shown) == 5 and many == few


def test_hostile_text_in_a_related_paper_is_escaped(client, paper, section):
    EntryFactory(
        section=section,
        title='<img src=x onerror="alert(1)"> Hallucinations',
        summary=HALLUCINATION_TOO + " <script>alert(2)</script>",
    )
    page = client.get(f"/papers/{PAPER}/").content.decode()
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x" in page
