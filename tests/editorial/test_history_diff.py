"""editorial.history: what changed between two versions, in an editor's terms."""

import datetime

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from reversion.models import Version

from bench.common.admin_form import form_data
from editorial import history
from editorial.history import EntryState, IssueState, Piece, text_diff, tokens
from tests.factories import SectionFactory, UserFactory


def test_english_is_split_into_words_and_chinese_into_characters():
    assert tokens("Long-context LLMs, 2024") == ["Long-context", " ", "LLMs", ",", " ", "2024"]
    assert tokens("检索增强") == ["检", "索", "增", "强"]
    assert tokens("用 RAG 检索") == ["用", " ", "RAG", " ", "检", "索"]


def test_a_chinese_change_is_marked_by_character():
    assert text_diff("第一版标题", "第二版标题") == [
        Piece("same", "第"),
        Piece("del", "一"),
        Piece("ins", "二"),
        Piece("same", "版标题"),
    ]


def test_an_english_change_is_marked_by_whole_words():
    assert text_diff("a large language model", "a large vision model") == [
        Piece("same", "a large "),
        Piece("del", "language"),
        Piece("ins", "vision"),
        Piece("same", " model"),
    ]


@given(st.text(max_size=60), st.text(max_size=60))
def test_the_pieces_give_back_both_texts(old, new):
    pieces = text_diff(old, new)
    assert "".join(p.text for p in pieces if p.op != "ins") == old
    assert "".join(p.text for p in pieces if p.op != "del") == new
    assert all(p.text for p in pieces)


def entry(pk, **fields):
    values = dict(
        issue_id=1,
        section_id=None,
        position=pk,
        title=f"Paper {pk}",
        summary="摘要",
        tag_ids=frozenset(),
    )
    values.update(fields)
    return EntryState(pk=pk, **values)


def issue(entries, **fields):
    values = dict(
        title="标题",
        slug="s",
        period_start="2024-07-01",
        period_end="2024-07-14",
        intro="",
        source_url="",
    )
    values.update(fields)
    return IssueState(
        pk=1, fields=values, status="draft", published_at=None, entries={e.pk: e for e in entries}
    )


@pytest.mark.django_db
def test_a_diff_goes_entry_by_entry_and_sums_up_in_one_line():
    old = issue([entry(1), entry(2), entry(3)])
    new = issue([entry(1, summary="新摘要", position=5), entry(2), entry(4)], title="新标题")
    diff = history.diff_issues(old, new)
    assert [c.label for c in diff.fields] == ["标题"]
    kinds = {e.entry.pk: e.kind for e in diff.entries}
    assert kinds == {1: "changed", 3: "removed", 4: "added"}
    changed = next(e for e in diff.entries if e.kind == "changed")
    assert [c.label for c in changed.changes] == ["序号", "摘要"]
    assert diff.summary() == "改了标题；条目《Paper 1》的序号、摘要；新增 1 条；删除 1 条"


@pytest.mark.django_db
def test_a_diff_lists_entries_as_the_issue_page_prints_them():
    """By section position, then section name, then position; a section
    deleted since comes last."""
    late = SectionFactory(name="Alpha", position=2)
    early = SectionFactory(name="Beta", position=1)
    tied = SectionFactory(name="Aardvark", position=2)
    gone = SectionFactory(name="Gone", position=0)
    gone_pk = gone.pk
    gone.delete()
    old = issue([])
    new = issue(
        [
            entry(1, section_id=late.pk, position=1),
            entry(2, section_id=gone_pk),
            entry(3, section_id=early.pk, position=2),
            entry(4, section_id=tied.pk),
            entry(5, section_id=early.pk, position=1),
        ]
    )
    diff = history.diff_issues(old, new)
    assert [e.entry.pk for e in diff.entries] == [5, 3, 4, 1, 2]


@pytest.mark.django_db
def test_publication_is_reported_apart_from_content():
    old = issue([entry(1)])
    new = IssueState(
        pk=1,
        fields=old.fields,
        status="published",
        published_at=datetime.datetime(2024, 7, 16, tzinfo=datetime.UTC),
        entries=old.entries,
    )
    diff = history.diff_issues(old, new)
    assert not diff.has_content_changes
    assert diff.publication.old == "草稿" and diff.publication.new.startswith("已发布")
    assert diff.summary().startswith("状态：草稿 → 已发布")


@pytest.mark.django_db
def test_the_history_list_says_who_when_and_what(client, edited_issue):
    page = client.get(reverse("admin:papers_issue_history", args=[edited_issue.pk]))
    rows = BeautifulSoup(page.content, "html.parser").select("#change-history tbody tr")
    assert len(rows) == 2
    newest = rows[0].get_text(" ", strip=True)
    assert "Publisher" in newest and "刚刚" in newest
    assert "改了标题；条目《First title》的摘要、标签" in newest
    assert "最早保存的版本（1 条条目）" in rows[1].get_text()


@pytest.mark.django_db
def test_the_compare_view_shows_content_only_entry_by_entry(client, edited_issue):
    newer, older = Version.objects.get_for_object(edited_issue)
    url = reverse("admin:papers_issue_compare", args=[edited_issue.pk])
    page = client.get(url, {"version_id1": older.pk, "version_id2": newer.pk})
    soup = BeautifulSoup(page.content, "html.parser")
    text = soup.select_one("#content-main").get_text(" ", strip=True)
    for hidden in (
        "edit_token",
        "edit token",
        "summary_html",
        "updated_at",
        "<p>",
        str(newer.field_dict["edit_token"]),
    ):
        assert hidden not in text
    entry = soup.select_one(".history-entry")
    assert "First title" in entry.get_text()
    assert [del_.get_text() for del_ in entry.select("del")] == ["一", "安全", "对齐"]
    assert [ins.get_text() for ins in entry.select("ins")] == ["二", "幻觉"]
    breadcrumbs = soup.select_one(".breadcrumbs").get_text(" ", strip=True)
    assert "首页" in breadcrumbs and "历史" in breadcrumbs and "Home" not in breadcrumbs


@pytest.mark.django_db
def test_untrusted_text_is_escaped_on_every_history_page(client, edited_issue):
    hostile = '<img src=x onerror=alert(1)>"&'
    url = reverse("admin:papers_issue_change", args=[edited_issue.pk])
    data = form_data(client.get(url), "issue_form")
    data.update(
        {
            "title": hostile,
            "entries-0-title": hostile,
            "entries-0-summary": hostile,
            "entries-0-tags": "<b>标签</b>",
        }
    )
    assert client.post(url, data).status_code == 302
    newest, *_, oldest = Version.objects.get_for_object(edited_issue)
    pages = [
        client.get(reverse("admin:papers_issue_history", args=[edited_issue.pk])),
        client.get(
            reverse("admin:papers_issue_compare", args=[edited_issue.pk]),
            {"version_id1": oldest.pk, "version_id2": newest.pk},
        ),
        client.get(reverse("admin:papers_issue_revision", args=[edited_issue.pk, oldest.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert "<img src=x" not in body and "<b>标签" not in body


@pytest.mark.django_db
def test_an_editor_without_view_permission_sees_no_history(client, edited_issue):
    client.force_login(UserFactory(username="nobody", is_staff=True))
    newer, older = Version.objects.get_for_object(edited_issue)
    for url, params in (
        (reverse("admin:papers_issue_history", args=[edited_issue.pk]), {}),
        (
            reverse("admin:papers_issue_compare", args=[edited_issue.pk]),
            {"version_id1": older.pk, "version_id2": newer.pk},
        ),
    ):
        assert client.get(url, params).status_code == 403
