"""Entry rows in the issue form and the entry form: positions the server
numbers, and one paper at most once per issue."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common.admin_form import form_data
from editorial import roundup_markdown
from papers.models import Entry
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import fill_entry

pytestmark = pytest.mark.django_db

ADD_ENTRY = "/admin/papers/entry/add/"


def change_url(issue):
    return reverse("admin:papers_issue_change", args=[issue.pk])


def errors(response):
    soup = BeautifulSoup(response.content, "html.parser")
    return " ".join(n.get_text(" ", strip=True) for n in soup.select(".errornote, .errorlist"))


def add_rows(data, rows):
    """Append new inline rows (dicts of fields) to an issue form's data."""
    # The page's one blank row is the first of the new ones.
    start = int(data["entries-INITIAL_FORMS"])
    for offset, fields in enumerate(rows):
        row = {
            "position": "1",
            "arxiv_id": "",
            "url": "",
            "authors": "",
            "tags": "",
            "summary": "摘要",
            "seen_token": "",
            "id": "",
            "issue": data.get(f"entries-{start}-issue", ""),
            **fields,
        }
        fill_entry(data, start + offset, **row)
    data["entries-TOTAL_FORMS"] = str(start + len(rows))
    return data


def test_new_rows_at_the_default_position_are_numbered_after_the_section(client, editor_user):
    """Section chosen first, then the title: every new row still says 序号 1."""
    client.force_login(editor_user)
    issue, section, other = IssueFactory(), SectionFactory(), SectionFactory()
    EntryFactory(issue=issue, section=section, position=1, title="Existing one")
    EntryFactory(issue=issue, section=section, position=2, title="Existing two")
    data = form_data(client.get(change_url(issue)), "issue_form")
    add_rows(
        data,
        [
            {"section": str(section.pk), "title": "New A", "arxiv_id": "2407.00001"},
            {"section": str(section.pk), "title": "New B", "arxiv_id": "2407.00002"},
            {"section": str(other.pk), "title": "New C", "arxiv_id": "2407.00003"},
        ],
    )
    response = client.post(change_url(issue), data)
    assert response.status_code == 302, errors(response)
    placed = dict(issue.entries.values_list("title", "position"))
    assert placed == {"Existing one": 1, "Existing two": 2, "New A": 3, "New B": 4, "New C": 1}


def test_a_new_issue_with_three_new_rows_in_one_section(client, editor_user):
    client.force_login(editor_user)
    section = SectionFactory()
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    data.update(
        title="新的一期",
        slug="new-one",
        period_start="2024-07-01",
        period_end="2024-07-15",
        intro="",
        status="draft",
    )
    add_rows(
        data,
        [
            {"section": str(section.pk), "title": f"Paper {n}", "arxiv_id": f"2407.0000{n}"}
            for n in (1, 2, 3)
        ],
    )
    response = client.post("/admin/papers/issue/add/", data)
    assert response.status_code == 302, errors(response)
    assert list(Entry.objects.order_by("position").values_list("title", "position")) == [
        ("Paper 1", 1),
        ("Paper 2", 2),
        ("Paper 3", 3),
    ]


def test_existing_rows_keep_the_positions_the_editor_gave_them(client, editor_user):
    """A reorder moves existing rows; a new row goes after them, whatever it says."""
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    first = EntryFactory(issue=issue, section=section, position=1, title="First")
    second = EntryFactory(issue=issue, section=section, position=2, title="Second")
    data = form_data(client.get(change_url(issue)), "issue_form")
    rows = {data[f"entries-{i}-id"]: i for i in range(2)}
    data[f"entries-{rows[str(first.pk)]}-position"] = "2"
    data[f"entries-{rows[str(second.pk)]}-position"] = "1"
    add_rows(
        data,
        [{"section": str(section.pk), "title": "Third", "arxiv_id": "2407.00009", "position": "1"}],
    )
    response = client.post(change_url(issue), data)
    assert response.status_code == 302, errors(response)
    assert dict(issue.entries.values_list("title", "position")) == {
        "First": 2,
        "Second": 1,
        "Third": 3,
    }


def test_a_clash_among_existing_rows_is_explained_in_chinese_naming_them(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory(name="RAG")
    EntryFactory(issue=issue, section=section, position=1, title="Alpha")
    EntryFactory(issue=issue, section=section, position=2, title="Beta")
    data = form_data(client.get(change_url(issue)), "issue_form")
    for i in range(2):
        data[f"entries-{i}-position"] = "5"
    response = client.post(change_url(issue), data)
    assert response.status_code == 200
    text = errors(response)
    assert "《Alpha》" in text and "《Beta》" in text and "栏目 RAG" in text and "序号 5" in text
    assert "section" not in text and "position" not in text
    assert sorted(issue.entries.values_list("position", flat=True)) == [1, 2]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(st.integers(0, 2), st.integers(1, 4)), min_size=1, max_size=5),
    st.integers(0, 3),
)
def test_any_new_rows_save_with_unique_positions(client, editor_user, rows, existing):
    """New rows in any sections at any submitted position: one save, no clash."""
    client.force_login(editor_user)
    Entry.objects.all().delete()
    issue = IssueFactory()
    sections = [SectionFactory() for _ in range(3)]
    for n in range(existing):
        EntryFactory(issue=issue, section=sections[0], position=n + 1)
    data = form_data(client.get(change_url(issue)), "issue_form")
    add_rows(
        data,
        [
            {
                "section": str(sections[s].pk),
                "title": f"Row {n}",
                "position": str(p),
                "arxiv_id": f"2407.1{n:04d}",
            }
            for n, (s, p) in enumerate(rows)
        ],
    )
    response = client.post(change_url(issue), data)
    assert response.status_code == 302, errors(response)
    assert issue.entries.count() == existing + len(rows)
    # Within each section, the new rows follow the existing ones, ordered by
    # the number sent for them, then as they stand on the page.
    for s, section in enumerate(sections):
        titles = list(
            issue.entries.filter(section=section)
            .order_by("position")
            .values_list("title", flat=True)
        )
        new = [t for t in titles if t.startswith("Row ")]
        asked = sorted((p, n) for n, (row_section, p) in enumerate(rows) if row_section == s)
        assert new == [f"Row {n}" for _, n in asked]
        assert titles[len(titles) - len(new) :] == new


# One paper once per issue ---------------------------------------------------


def test_the_same_paper_twice_in_one_issue_is_refused_naming_both_rows(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(
        issue=issue, section=section, position=1, title="Already here", arxiv_id="2407.01219"
    )
    data = form_data(client.get(change_url(issue)), "issue_form")
    add_rows(
        data,
        [
            {
                "section": str(section.pk),
                "title": "Pasted again",
                "arxiv_id": "https://arxiv.org/abs/2407.01219v3",
            }
        ],
    )
    response = client.post(change_url(issue), data)
    assert response.status_code == 200
    text = errors(response)
    assert "《Already here》" in text and "《Pasted again》" in text and "2407.01219" in text
    assert issue.entries.count() == 1
    roundup_markdown.export_roundup(issue)  # still exportable


def test_two_new_rows_with_one_paper_are_refused(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    data = form_data(client.get(change_url(issue)), "issue_form")
    add_rows(
        data,
        [
            {"section": str(section.pk), "title": "One", "arxiv_id": "2407.01219"},
            {"section": str(section.pk), "title": "Two", "arxiv_id": "arXiv:2407.01219v1"},
        ],
    )
    response = client.post(change_url(issue), data)
    assert response.status_code == 200
    assert "《One》" in errors(response) and "《Two》" in errors(response)
    assert not issue.entries.exists()


def test_swapping_papers_between_rows_is_not_a_duplicate(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(issue=issue, section=section, position=1, arxiv_id="2407.00001")
    EntryFactory(issue=issue, section=section, position=2, arxiv_id="2407.00002")
    data = form_data(client.get(change_url(issue)), "issue_form")
    data["entries-0-arxiv_id"], data["entries-1-arxiv_id"] = (
        data["entries-1-arxiv_id"],
        data["entries-0-arxiv_id"],
    )
    assert client.post(change_url(issue), data).status_code == 302


def entry_form(client, **fields):
    data = form_data(client.get(ADD_ENTRY), "entry_form")
    data.update(summary="摘要", url="", authors="", tags="", **fields)
    return data


def test_the_entry_form_refuses_a_paper_the_issue_already_covers(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(
        issue=issue, section=section, position=1, title="Already here", arxiv_id="2407.01219"
    )
    data = entry_form(
        client,
        issue=str(issue.pk),
        section=str(section.pk),
        position="2",
        title="Again",
        arxiv_id="https://arxiv.org/abs/2407.01219v3",
    )
    response = client.post(ADD_ENTRY, data)
    assert response.status_code == 200
    assert "《Already here》" in errors(response) and "2407.01219" in errors(response)
    assert issue.entries.count() == 1


def test_moving_an_entry_into_an_issue_that_covers_its_paper_is_refused(client, editor_user):
    client.force_login(editor_user)
    section = SectionFactory()
    here, there = IssueFactory(), IssueFactory()
    EntryFactory(issue=here, section=section, position=1, title="Here", arxiv_id="2407.01219")
    moving = EntryFactory(
        issue=there, section=section, position=1, title="Moving", arxiv_id="2407.01219"
    )
    url = reverse("admin:papers_entry_change", args=[moving.pk])
    data = form_data(client.get(url), "entry_form")
    data["issue"] = str(here.pk)
    data["position"] = "7"
    response = client.post(url, data)
    assert response.status_code == 200 and "《Here》" in errors(response)
    moving.refresh_from_db()
    assert moving.issue == there


def test_a_new_entry_on_its_own_gets_the_next_free_position(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(issue=issue, section=section, position=1)
    EntryFactory(issue=issue, section=section, position=2)
    data = entry_form(
        client, issue=str(issue.pk), section=str(section.pk), title="Next", arxiv_id="2407.00042"
    )
    assert data["position"] == "1"  # the form's default
    response = client.post(ADD_ENTRY, data)
    assert response.status_code == 302, errors(response)
    assert Entry.objects.get(title="Next").position == 3


def test_a_typed_position_that_is_taken_is_explained(client, editor_user):
    client.force_login(editor_user)
    issue, section = IssueFactory(), SectionFactory(name="RAG")
    EntryFactory(issue=issue, section=section, position=1)
    EntryFactory(issue=issue, section=section, position=2, title="Second")
    data = entry_form(
        client,
        issue=str(issue.pk),
        section=str(section.pk),
        position="2",
        title="Mine",
        arxiv_id="2407.00042",
    )
    response = client.post(ADD_ENTRY, data)
    assert response.status_code == 200
    assert "《Second》" in errors(response) and "序号 2" in errors(response)
