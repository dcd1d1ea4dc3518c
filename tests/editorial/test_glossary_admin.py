"""Editors keep the search glossary in the admin (papers.GlossaryTerm)."""

from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.common.admin_form import form_data
from papers.models import GlossaryTerm, Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory, StaffFactory

pytestmark = pytest.mark.django_db
ADD = reverse("admin:papers_glossaryterm_add")


def found(query):
    response = Client().get(f"/entries/?q={quote(query)}")
    assert response.status_code == 200
    return [entry.arxiv_id for entry in response.context["entries"]]


def test_an_editor_adds_a_term_and_search_uses_it_at_once(client):
    EntryFactory(
        issue=IssueFactory(status=Issue.Status.PUBLISHED),
        section=SectionFactory(),
        position=1,
        summary="讨论灾难性遗忘。",
        arxiv_id="2407.60001",
        tags=[],
    )
    assert found("catastrophic forgetting") == []
    client.force_login(StaffFactory(username="editor", group="Editor"))
    data = form_data(client.get(ADD), "glossaryterm_form")
    data.update(chinese="灾难性遗忘", english="catastrophic forgetting，CF")
    assert client.post(ADD, data).status_code == 302
    assert found("catastrophic forgetting") == ["2407.60001"]
    # The same term again: refused, in Chinese, with what was typed kept.
    again = client.post(ADD, data)
    assert again.status_code == 200 and "已存在" in again.content.decode()
    assert GlossaryTerm.objects.filter(chinese="灾难性遗忘").count() == 1


def test_staff_without_the_permission_cannot_change_the_glossary(client):
    client.force_login(User.objects.create_user("visitor", is_staff=True))
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"chinese": "x", "english": "y"}).status_code == 403
    assert not GlossaryTerm.objects.filter(chinese="x").exists()


TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chinese=TEXT.filter(str.strip), english=TEXT.filter(str.strip), query=TEXT)
def test_any_glossary_term_leaves_every_search_answering(db, chinese, english, query):
    """Whatever an editor writes into the glossary (emoji, punctuation only,
    right-to-left, a form that is another term's), any query still answers."""
    GlossaryTerm.objects.update_or_create(
        chinese=chinese.strip()[:100], defaults={"english": english[:300]}
    )
    for typed in (query, chinese, english):
        response = Client().get(f"/entries/?q={quote(typed[:200])}")
        assert response.status_code == 200
