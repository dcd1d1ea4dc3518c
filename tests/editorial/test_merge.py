"""Two editors, one issue: a stale save is merged, never refused wholesale
and never allowed to undo the other editor's work."""

import datetime

import pytest
import reversion
from bs4 import BeautifulSoup
from django.contrib.messages import get_messages
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reversion.models import Version

from bench.common.admin_form import form_data
from editorial import merge
from papers.models import MAX_POSITION, Entry, Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import error_text, fill_entry, signed_in

# The rules --------------------------------------------------------------------

FIELDS = ["title", "intro", "slug", "summary"]


@given(
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(["a", "b", "base"])),
    st.dictionaries(st.sampled_from(FIELDS), st.sampled_from(["a", "b", "base"])),
)
def test_three_way_takes_each_side_where_only_it_changed(my_edits, their_edits):
    base = dict.fromkeys(FIELDS, "base")
    mine, theirs = {**base, **my_edits}, {**base, **their_edits}
    outcome = merge.three_way(base, mine, theirs)
    for name in FIELDS:
        i_changed, they_changed = mine[name] != "base", theirs[name] != "base"
        conflict = i_changed and they_changed and mine[name] != theirs[name]
        assert (name in outcome.conflicts) == conflict
        if they_changed and not i_changed:
            assert outcome.merged[name] == theirs[name] and name in outcome.theirs_only
        else:
            assert outcome.merged[name] == mine[name] and name not in outcome.theirs_only


def test_without_a_base_every_difference_is_a_conflict():
    outcome = merge.three_way(None, {"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert outcome.conflicts == ["b"] and outcome.merged == {"a": 1, "b": 2}


def test_values_compare_as_the_form_shows_them():
    when = datetime.datetime(2024, 7, 1, 9, 30, 45, 5, tzinfo=datetime.UTC)
    assert merge.comparable(when) == merge.comparable(when.replace(second=0, microsecond=0))
    assert merge.comparable("a\r\nb ") == merge.comparable("a\nb")
    assert merge.comparable(["RAG", "幻觉"]) == merge.comparable(["幻觉", "rag"])


# Through the admin ----------------------------------------------------------------

pytestmark = pytest.mark.django_db


def message_text(response):
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def versioned_issue(entries=2, **fields):
    """An issue and its entries as one revision, as an admin save leaves them."""
    with reversion.create_revision():
        issue = IssueFactory(status=Issue.Status.DRAFT, title="原标题", intro="原导言", **fields)
        section = SectionFactory()
        for n in range(entries):
            EntryFactory(
                issue=issue,
                section=section,
                position=n + 1,
                title=f"Paper {n}",
                summary=f"原摘要 {n}",
                tags=["幻觉"],
            )
    return issue


def url_of(issue):
    return reverse("admin:papers_issue_change", args=[issue.pk])


def row_of(data, entry):
    return next(
        i
        for i in range(int(data["entries-TOTAL_FORMS"]))
        if data.get(f"entries-{i}-id") == str(entry.pk)
    )


@pytest.fixture
def two(editor_user, publisher_user):
    return signed_in(editor_user), signed_in(publisher_user)


def test_changes_to_different_fields_merge_without_asking(two):
    a, b = two
    issue = versioned_issue()
    first = issue.entries.order_by("position").first()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["title"] = "A 改的标题"
    assert a.post(url_of(issue), form_a).status_code == 302
    form_b[f"entries-{row_of(form_b, first)}-summary"] = "B 改的摘要"
    response = b.post(url_of(issue), form_b)
    assert response.status_code == 302, error_text(response)
    issue.refresh_from_db()
    first.refresh_from_db()
    assert issue.title == "A 改的标题" and first.summary == "B 改的摘要"
    assert "Editor" in message_text(response) and "标题" in message_text(response)
    comment = Version.objects.get_for_object(issue).first().revision.comment
    assert "Publisher" in comment and "Editor" in comment


def test_both_change_the_title_the_second_chooses(two):
    a, b = two
    issue = versioned_issue()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["title"] = "A 的标题"
    form_a["intro"] = "A 的导言"
    assert a.post(url_of(issue), form_a).status_code == 302
    form_b["title"] = "B 的标题"
    revisions = Version.objects.get_for_object(issue).count()
    screen = b.post(url_of(issue), form_b)
    assert screen.status_code == 200
    panel = BeautifulSoup(screen.content, "html.parser").find(class_="merge-panel")
    assert panel is not None and "A 的标题" in panel.get_text() and "B 的标题" in panel.get_text()
    # Only A changed the introduction: no question, it merges by itself.
    assert [legend.get_text() for legend in panel.find_all("legend")] == ["标题"]
    assert "导言" in panel.find(class_="merge-automatic").get_text()
    assert "保存未成功" in error_text(screen) and "标题" in error_text(screen)
    kept = form_data(screen, "issue_form")
    assert kept["title"] == "B 的标题"  # the form keeps what B typed
    assert Version.objects.get_for_object(issue).count() == revisions  # nothing saved yet

    kept["merge-title"] = "theirs"
    done = b.post(url_of(issue), kept)
    assert done.status_code == 302, error_text(done)
    issue.refresh_from_db()
    assert issue.title == "A 的标题" and issue.intro == "A 的导言"
    versions = Version.objects.get_for_object(issue)
    assert versions.count() == revisions + 1
    comment = versions.first().revision.comment
    assert "Editor" in comment and "Publisher" in comment


def test_choosing_mine_keeps_what_the_form_holds(two):
    a, b = two
    issue = versioned_issue()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["title"] = "A 的标题"
    a.post(url_of(issue), form_a)
    form_b["title"] = "B 的标题"
    kept = form_data(b.post(url_of(issue), form_b), "issue_form")
    kept["merge-title"] = "mine"
    assert b.post(url_of(issue), kept).status_code == 302
    issue.refresh_from_db()
    assert issue.title == "B 的标题"


def test_choosing_mine_then_typing_the_opened_value_keeps_it(two):
    """Found by the adversarial editor: B's form asks about the title (A
    changed it too); B keeps "mine", then types back the title the form was
    opened with. B has seen A's title and decided: B's title is saved, not
    A's taken silently as if B had never touched the field."""
    a, b = two
    issue = versioned_issue()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["title"] = "A 的标题"
    a.post(url_of(issue), form_a)
    form_b["title"] = "B 的标题"
    kept = form_data(b.post(url_of(issue), form_b), "issue_form")
    kept["merge-title"] = "mine"
    kept["title"] = "原标题"
    assert b.post(url_of(issue), kept).status_code == 302
    issue.refresh_from_db()
    assert issue.title == "原标题"


def test_a_choice_made_against_an_older_save_is_asked_again(two, editor_user):
    a, b = two
    issue = versioned_issue()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["title"] = "A 的标题"
    a.post(url_of(issue), form_a)
    form_b["title"] = "B 的标题"
    kept = form_data(b.post(url_of(issue), form_b), "issue_form")
    again = form_data(a.get(url_of(issue)), "issue_form")
    again["title"] = "A 又改的标题"
    assert a.post(url_of(issue), again).status_code == 302
    kept["merge-title"] = "theirs"  # chosen while "A 的标题" was theirs
    screen = b.post(url_of(issue), kept)
    assert screen.status_code == 200 and "A 又改的标题" in screen.content.decode()


def test_entries_added_and_deleted_by_the_other_editor(two):
    a, b = two
    issue = versioned_issue(entries=3)
    gone, touched, _ = issue.entries.order_by("position")
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a[f"entries-{row_of(form_a, gone)}-DELETE"] = "on"
    extra = int(form_a["entries-INITIAL_FORMS"])
    fill_entry(
        form_a,
        extra,
        section=str(gone.section_id),
        position="4",
        title="A 新加的",
        arxiv_id="2407.09999",
        summary="新摘要",
        tags="",
    )
    assert a.post(url_of(issue), form_a).status_code == 302
    # B, from a stale form, edits another entry and adds one of their own.
    form_b[f"entries-{row_of(form_b, touched)}-summary"] = "B 改的摘要"
    extra = int(form_b["entries-INITIAL_FORMS"])
    fill_entry(
        form_b,
        extra,
        section=str(gone.section_id),
        position="1",
        title="B 新加的",
        arxiv_id="2407.08888",
        summary="B 的新摘要",
        tags="",
    )
    response = b.post(url_of(issue), form_b)
    assert response.status_code == 302, error_text(response)
    titles = set(issue.entries.values_list("title", flat=True))
    assert titles == {touched.title, "Paper 2", "A 新加的", "B 新加的"}
    assert Entry.objects.get(pk=touched.pk).summary == "B 改的摘要"
    positions = list(issue.entries.values_list("position", flat=True))
    assert len(positions) == len(set(positions))


def test_an_entry_deleted_by_one_and_edited_by_the_other_is_a_choice(two):
    a, b = two
    issue = versioned_issue(entries=2)
    gone = issue.entries.order_by("position").first()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a[f"entries-{row_of(form_a, gone)}-DELETE"] = "on"
    assert a.post(url_of(issue), form_a).status_code == 302
    form_b[f"entries-{row_of(form_b, gone)}-summary"] = "B 还在改它"
    screen = b.post(url_of(issue), form_b)
    assert screen.status_code == 200
    assert "删除" in BeautifulSoup(screen.content, "html.parser").find(class_="merge-panel").text
    kept = form_data(screen, "issue_form")
    prefix = f"entries-{row_of(kept, gone)}-merge"
    kept[f"{prefix}-row"] = "mine"
    response = b.post(url_of(issue), kept)
    assert response.status_code == 302, error_text(response)
    assert issue.entries.get(title=gone.title).summary == "B 还在改它"

    # Letting it go instead leaves it deleted.
    issue2 = versioned_issue(entries=2)
    gone2 = issue2.entries.order_by("position").first()
    form_a, form_b = (
        form_data(a.get(url_of(issue2)), "issue_form"),
        form_data(b.get(url_of(issue2)), "issue_form"),
    )
    form_a[f"entries-{row_of(form_a, gone2)}-DELETE"] = "on"
    a.post(url_of(issue2), form_a)
    form_b[f"entries-{row_of(form_b, gone2)}-summary"] = "B 还在改它"
    kept = form_data(b.post(url_of(issue2), form_b), "issue_form")
    kept[f"entries-{row_of(kept, gone2)}-merge-row"] = "theirs"
    assert b.post(url_of(issue2), kept).status_code == 302
    assert not Entry.objects.filter(pk=gone2.pk).exists()


def test_one_entry_edited_by_both_merges_field_by_field(two):
    a, b = two
    issue = versioned_issue(entries=1)
    entry = issue.entries.get()
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    form_a["entries-0-title"] = "A 的论文标题"
    form_a["entries-0-tags"] = "幻觉、对齐"
    assert a.post(url_of(issue), form_a).status_code == 302
    form_b["entries-0-summary"] = "B 的摘要"
    assert b.post(url_of(issue), form_b).status_code == 302
    entry.refresh_from_db()
    assert (entry.title, entry.summary) == ("A 的论文标题", "B 的摘要")
    assert sorted(entry.tags.names()) == ["对齐", "幻觉"]


def test_an_entry_on_its_own_page_merges_too(two):
    a, b = two
    entry = versioned_issue(entries=1).entries.get()
    url = reverse("admin:papers_entry_change", args=[entry.pk])
    form_a, form_b = form_data(a.get(url), "entry_form"), form_data(b.get(url), "entry_form")
    form_a["title"] = "A 的论文标题"
    assert a.post(url, form_a).status_code == 302
    form_b["authors"] = "B 加的作者"
    assert b.post(url, form_b).status_code == 302
    entry.refresh_from_db()
    assert (entry.title, entry.authors) == ("A 的论文标题", "B 加的作者")
    form_c = form_data(a.get(url), "entry_form")
    form_d = form_data(b.get(url), "entry_form")
    form_c["summary"], form_d["summary"] = "甲", "乙"
    a.post(url, form_c)
    screen = b.post(url, form_d)
    assert screen.status_code == 200 and "merge-panel" in screen.content.decode()


ISSUE_FIELDS = {"title": "标题", "intro": "导言", "slug": "slug"}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mine=st.sets(st.sampled_from(sorted(ISSUE_FIELDS))),
    theirs=st.sets(st.sampled_from(sorted(ISSUE_FIELDS))),
    same=st.booleans(),
)
def test_a_stale_form_never_undoes_the_other_side(two, mine, theirs, same):
    """Whatever each side changes: theirs where only theirs changed, mine where
    only mine did, and a question exactly where both changed differently."""
    a, b = two
    Issue.objects.all().delete()
    issue = versioned_issue(entries=0)
    original = {name: getattr(issue, name) for name in ISSUE_FIELDS}
    form_a, form_b = (
        form_data(a.get(url_of(issue)), "issue_form"),
        form_data(b.get(url_of(issue)), "issue_form"),
    )
    for name in theirs:
        form_a[name] = f"their-{name}"
    assert a.post(url_of(issue), form_a).status_code == 302
    for name in mine:
        form_b[name] = f"their-{name}" if same else f"my-{name}"
    response = b.post(url_of(issue), form_b)
    conflicts = set() if same else mine & theirs
    if conflicts:
        assert response.status_code == 200
        panel = BeautifulSoup(response.content, "html.parser").find(class_="merge-panel")
        asked = {i["name"].removeprefix("merge-") for i in panel.find_all("input", type="radio")}
        assert asked == conflicts
        data = form_data(response, "issue_form")
        for name in conflicts:
            data[f"merge-{name}"] = "mine"
        response = b.post(url_of(issue), data)
    assert response.status_code == 302, error_text(response)
    issue.refresh_from_db()
    for name in ISSUE_FIELDS:
        if name in mine and not same:
            expected = f"my-{name}"
        elif name in theirs or (name in mine and same):
            expected = f"their-{name}"
        else:
            expected = original[name]
        assert getattr(issue, name) == expected, name


# Found in review: crafted rows, moved entries, limits -----------------------


def test_a_crafted_row_cannot_pull_in_an_entry_of_another_issue(editor_user):
    """A row id that never belonged to this issue is refused, however the
    merge fields are set: it would move (and rewrite) a published entry."""
    client = signed_in(editor_user)
    draft = versioned_issue(entries=1)
    with reversion.create_revision():
        live = IssueFactory(status=Issue.Status.PUBLISHED, title="已发布的一期")
        victim = EntryFactory(
            issue=live, section=SectionFactory(), title="Published paper", summary="公开摘要"
        )
    data = form_data(client.get(url_of(draft)), "issue_form")
    n = int(data["entries-INITIAL_FORMS"])
    for key in [key for key in data if key.startswith(f"entries-{n}-")]:
        del data[key]
    fill_entry(
        data,
        n,
        id=str(victim.pk),
        issue=str(draft.pk),
        section=str(victim.section_id),
        position="7",
        title="Stolen",
        arxiv_id=victim.arxiv_id,
        summary="被改写",
        tags="",
        **{"merge-token": "deleted", "merge-row": "mine"},
    )
    data["entries-INITIAL_FORMS"] = data["entries-TOTAL_FORMS"] = str(n + 1)
    client.post(url_of(draft), data)
    victim.refresh_from_db()
    assert (victim.issue_id, victim.title) == (live.pk, "Published paper")
    assert victim.summary == "公开摘要"
    assert not draft.entries.filter(title="Stolen").exists()


def test_an_entry_moved_to_another_issue_meanwhile_stays_moved(editor_user, publisher_user):
    mover, stale = signed_in(editor_user), signed_in(publisher_user)
    issue = versioned_issue(entries=2)
    with reversion.create_revision():
        other = IssueFactory(status=Issue.Status.DRAFT, title="另一期")
    moved = issue.entries.order_by("position").first()
    stale_form = form_data(stale.get(url_of(issue)), "issue_form")
    entry_url = reverse("admin:papers_entry_change", args=[moved.pk])
    entry_form = form_data(mover.get(entry_url), "entry_form")
    entry_form["issue"] = str(other.pk)
    assert mover.post(entry_url, entry_form).status_code == 302
    stale_form["title"] = "B 改的标题"
    stale_form[f"entries-{row_of(stale_form, moved)}-summary"] = "B 改的摘要"
    response = stale.post(url_of(issue), stale_form)
    assert response.status_code == 302, error_text(response)
    moved.refresh_from_db()
    assert moved.issue_id == other.pk
    issue.refresh_from_db()
    assert issue.title == "B 改的标题"


def test_positions_stop_at_their_limit_with_a_chinese_message(editor_user):
    """Past the limit a new row would not fit the column (a 500 on PostgreSQL)."""
    client = signed_in(editor_user)
    issue = versioned_issue(entries=1)
    entry = issue.entries.get()
    data = form_data(client.get(url_of(issue)), "issue_form")
    data["entries-0-position"] = str(MAX_POSITION)
    assert client.post(url_of(issue), data).status_code == 302
    data = form_data(client.get(url_of(issue)), "issue_form")
    n = int(data["entries-INITIAL_FORMS"])
    fill_entry(
        data,
        n,
        section=str(entry.section_id),
        position="1",
        title="New",
        arxiv_id="2407.07777",
        summary="x",
        tags="",
    )
    response = client.post(url_of(issue), data)
    assert response.status_code == 200
    assert "超过了上限" in error_text(response)
    data["entries-0-position"] = "40000"
    response = client.post(url_of(issue), data)
    assert response.status_code == 200 and issue.entries.count() == 1


def test_deleting_an_entry_the_other_editor_changed_meanwhile_is_a_choice(two):
    """B's stale form deletes an entry A has just rewritten: B is asked,
    instead of A's work vanishing unseen."""
    a, b = two
    issue = versioned_issue(entries=2)
    entry = issue.entries.order_by("position").first()
    form_a = form_data(a.get(url_of(issue)), "issue_form")
    form_b = form_data(b.get(url_of(issue)), "issue_form")
    form_a[f"entries-{row_of(form_a, entry)}-summary"] = "A 花了一小时写的摘要"
    assert a.post(url_of(issue), form_a).status_code == 302
    form_b[f"entries-{row_of(form_b, entry)}-DELETE"] = "on"
    asked = b.post(url_of(issue), form_b)
    assert asked.status_code == 200
    assert "而你要删除它" in error_text(asked)
    assert Entry.objects.filter(pk=entry.pk).exists()
    again = form_data(asked, "issue_form")
    again[f"entries-{row_of(again, entry)}-merge-row"] = "theirs"
    assert b.post(url_of(issue), again).status_code == 302
    entry.refresh_from_db()
    assert entry.summary == "A 花了一小时写的摘要"
    form_b = form_data(b.get(url_of(issue)), "issue_form")
    form_b[f"entries-{row_of(form_b, entry)}-DELETE"] = "on"
    assert b.post(url_of(issue), form_b).status_code == 302  # not stale now: deleted
    assert not Entry.objects.filter(pk=entry.pk).exists()
