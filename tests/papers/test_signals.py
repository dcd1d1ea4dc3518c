"""``papers.signals.suspended()``: inside it no app's receiver touches derived data."""

import pytest
from django.db import connection

from papers import signals
from papers.models import SearchDocument
from reading import page_cache, page_keys
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def purges_done():
    return page_cache.read_state()[0].purges_done


def test_a_save_inside_suspended_leaves_the_index_and_the_page_cache_alone(
    django_capture_on_commit_callbacks,
):
    issue, section = IssueFactory(), SectionFactory()
    purges = purges_done()
    with django_capture_on_commit_callbacks() as after_commit, signals.suspended():
        entry = EntryFactory(issue=issue, section=section, title="Quietly saved", tags=["安静"])
    assert not SearchDocument.objects.filter(entry=entry).exists()
    assert purges_done() == purges
    assert after_commit == []  # nor a purge once the transaction commits


def test_the_same_save_outside_suspended_reaches_both():
    issue, section = IssueFactory(), SectionFactory()
    purges = purges_done()
    entry = EntryFactory(issue=issue, section=section, title="Loudly saved", tags=["热闹"])
    assert SearchDocument.objects.get(entry=entry).title == "loudly saved"
    assert purges_done() > purges  # the issue is public: its pages are purged
    # and again after the commit, with the transaction's other purges
    pending = [
        callback
        for _, callback, _ in connection.run_on_commit
        if isinstance(callback, page_cache._PendingPurge)
    ]
    assert len(pending) == 1 and page_keys.entry(entry.pk) in pending[0].keys
