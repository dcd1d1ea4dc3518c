"""Merging tags in the admin (TagAdmin.merge_tags, TagQuerySet.merge_into)."""

import pytest
from django.urls import reverse

from papers.models import Entry, SearchDocument, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import signed_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:papers_tag_changelist")


@pytest.fixture
def tagged():
    issue, section = IssueFactory(), SectionFactory()
    both = EntryFactory(issue=issue, section=section, title="Both", tags=["RAG", "检索增强"])
    one = EntryFactory(issue=issue, section=section, title="One", tags=["检索增强", "🔥"])
    other = EntryFactory(issue=issue, section=section, title="Other", tags=["RAG"])
    return both, one, other


def ids(*names):
    return [Tag.objects.get(name=name).pk for name in names]


def test_a_publisher_merges_two_tags_into_the_one_chosen(tagged, publisher_user, client):
    both, one = tagged[:2]
    admin = signed_in(publisher_user)
    selected = ids("RAG", "检索增强")
    ask = admin.post(CHANGELIST, {"action": "merge_tags", "_selected_action": selected})
    assert ask.status_code == 200
    assert "选择要保留的标签" in ask.content.decode()
    rag = Tag.objects.get(name="RAG")
    page_before = client.get(f"/tags/{rag.slug}/")
    assert "One" not in page_before.content.decode()  # cached, then purged by the merge
    done = admin.post(
        CHANGELIST,
        {"action": "merge_tags", "_selected_action": selected, "target": rag.pk, "post": "yes"},
    )
    assert done.status_code == 302
    assert not Tag.objects.filter(name="检索增强").exists()
    names = {e.title: sorted(e.tags.names()) for e in Entry.objects.all()}
    assert names == {"Both": ["RAG"], "One": ["RAG", "🔥"], "Other": ["RAG"]}
    assert "rag" in SearchDocument.objects.get(entry=one).keywords
    # An entry that carried both keeps one, and the search no longer reads the other.
    assert "检索 索增 增强" not in SearchDocument.objects.get(entry=both).keywords
    page = client.get(f"/tags/{rag.slug}/").content.decode()
    assert all(title in page for title in ("Both", "One", "Other"))


def test_without_a_choice_nothing_is_merged(tagged, publisher_user):
    admin = signed_in(publisher_user)
    selected = ids("RAG", "检索增强")
    again = admin.post(
        CHANGELIST, {"action": "merge_tags", "_selected_action": selected, "post": "yes"}
    )
    assert again.status_code == 200 and "请选择要保留的标签" in again.content.decode()
    assert Tag.objects.count() == 3


def test_an_editor_cannot_merge(tagged, editor_user):
    admin = signed_in(editor_user)
    assert "merge_tags" not in admin.get(CHANGELIST).content.decode()
    selected = ids("RAG", "检索增强")
    admin.post(
        CHANGELIST,
        {
            "action": "merge_tags",
            "_selected_action": selected,
            "target": selected[0],
            "post": "yes",
        },
    )
    assert Tag.objects.count() == 3
