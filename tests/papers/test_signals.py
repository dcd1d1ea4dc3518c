"""``papers.signals.suspended()``: inside it no app's receiver touches derived data."""

import pytest
from django.db import connection

from papers import signals
from papers.models import SearchDocument, Tag
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


def test_derived_data_follows_each_change_once(monkeypatch):
    """An entry saved with five tags is indexed and its related list
    recomputed once for the save and once for its tags (the manager's one
    m2m_changed), not once more per link; setting the same tags again
    recomputes nothing; a tag removed or a link saved as a row (a merge)
    is followed."""
    from papers import related, search

    calls = []
    monkeypatch.setattr(related, "update_entry", lambda pk: calls.append(("related", pk)) or set())
    index_entries = search.index_entries
    monkeypatch.setattr(
        search, "index_entries", lambda ids: calls.append(("index", *ids)) or index_entries(ids)
    )
    issue, section = IssueFactory(), SectionFactory()
    tags = ["幻觉", "RAG", "对齐", "推理", "🔥"]
    entry = EntryFactory(issue=issue, section=section, tags=tags)
    assert calls == [("index", entry.pk), ("related", entry.pk)] * 2
    calls.clear()
    entry.tags.set(tags)
    assert calls == []
    entry.tags.remove("🔥")
    assert calls == [("index", entry.pk), ("related", entry.pk)]
    calls.clear()
    link = entry.tagged_items.get(tag__name="RAG")
    link.tag = Tag.objects.create(name="检索增强")
    link.save()
    assert calls == [("index", entry.pk), ("related", entry.pk)]
    assert "检索 索增 增强" in SearchDocument.objects.get(entry=entry).keywords
