"""Keeping derived data in step with what editors change.

The search documents (papers.search) depend on an entry's own text, its tags,
its section's name and its tags' names. Each change reindexes exactly the
entries it touches, in the same transaction. Fixture loads (raw saves) are
included, so the index is right after ``loaddata`` too.

Other apps keep their own derived data the same way (the page cache:
reading/signals.py) and wrap their receivers in ``keeps_step`` so that one
``suspended()`` block quiets them all. Bulk writers that send no per-row
signals (``bulk_create``, a restore, a rebuilt index) send
``archive_rewritten`` once instead. See docs/architecture.md.
"""

import contextlib
import contextvars
import functools

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import Signal, receiver

from papers import search
from papers.models import Entry, Section, Tag, TaggedEntry

#: Sent once after a bulk write that sent no per-row signals.
archive_rewritten = Signal()

_suspended = contextvars.ContextVar("derived_data_suspended", default=False)


@contextlib.contextmanager
def suspended():
    """Within the block, the receivers of every app leave derived data alone.

    For work whose caller takes care of it: a restore from backup loads
    thousands of rows and then indexes and renews the page cache once; the
    restore page applies a version only to show it and rolls it back. A
    context variable, not disconnected receivers: other threads keep theirs.
    """
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def keeps_step(handler):
    """A receiver of derived data: does nothing inside ``suspended()``."""

    @functools.wraps(handler)
    def unless_suspended(*args, **kwargs):
        if not _suspended.get():
            handler(*args, **kwargs)

    return unless_suspended


def archive_bulk_written(sender):
    """Tell every app that rows changed in bulk (see ``archive_rewritten``)."""
    if not _suspended.get():
        archive_rewritten.send(sender=sender)


@receiver(post_save, sender=Entry)
@keeps_step
def entry_saved(sender, instance, **kwargs):
    search.index_entries([instance.pk])


@receiver(post_save, sender=TaggedEntry)
@keeps_step
def tag_link_saved(sender, instance, **kwargs):
    search.index_entries([instance.content_object_id])


@receiver(m2m_changed, sender=TaggedEntry)
@keeps_step
def entry_tags_changed(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, Entry):
        search.index_entries([instance.pk])


@receiver(post_save, sender=Section)
@keeps_step
def section_saved(sender, instance, created, **kwargs):
    if not created:
        search.index_entries(instance.entries.values_list("pk", flat=True))


@receiver(post_save, sender=Tag)
@keeps_step
def tag_saved(sender, instance, created, **kwargs):
    if not created:
        search.index_entries(instance.tagged_entries.values_list("content_object_id", flat=True))


@receiver(pre_delete, sender=Tag)
@keeps_step
def tag_deleting(sender, instance, **kwargs):
    instance._tagged_entry_ids = list(
        instance.tagged_entries.values_list("content_object_id", flat=True)
    )


@receiver(post_delete, sender=Tag)
@keeps_step
def tag_deleted(sender, instance, **kwargs):
    search.index_entries(getattr(instance, "_tagged_entry_ids", []))
