"""``papers.signals.suspended()``: inside it no app's receiver touches derived data."""

import pytest

from papers import signals
from papers.models import SearchDocument
from reading import page_cache
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_a_save_inside_suspended_leaves_the_index_and_the_page_cache_alone(
    django_capture_on_commit_callbacks,
):
    issue, section = IssueFactory(), SectionFactory()
    generation = page_cache.current_generation()
    with django_capture_on_commit_callbacks() as after_commit, signals.suspended():
        entry = EntryFactory(issue=issue, section=section, title="Quietly saved", tags=["安静"])
    assert not SearchDocument.objects.filter(entry=entry).exists()
    assert page_cache.current_generation() == generation
    assert after_commit == []  # nor a new generation once the transaction commits


def test_the_same_save_outside_suspended_reaches_both(django_capture_on_commit_callbacks):
    issue, section = IssueFactory(), SectionFactory()
    generation = page_cache.current_generation()
    with django_capture_on_commit_callbacks() as after_commit:
        entry = EntryFactory(issue=issue, section=section, title="Loudly saved", tags=["热闹"])
    assert SearchDocument.objects.get(entry=entry).title == "loudly saved"
    assert page_cache.current_generation() != generation
    assert after_commit  # and again after the commit
