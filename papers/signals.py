"""Keeping derived data in step with what editors change.

The search documents (papers.search) depend on an entry's own text, its tags,
its section's name and its tags' names. Each change reindexes exactly the
entries it touches, in the same transaction. Fixture loads (raw saves) are
included, so the index is right after ``loaddata`` too.

Related entries (papers.related) are recomputed the same way when an entry's
text or tags change, and ``related_lists_changed`` names the entries whose
lists changed (the page cache purges their pages). A renamed tag or section
changes one term of many entries and is left to ``rebuild_related``; a bulk
write rebuilds them all (``archive_rewritten``).

Other apps keep their own derived data the same way (the page cache:
reading/signals.py) and wrap their receivers in ``keeps_step`` so that one
``suspended()`` block quiets them all. Bulk writers that send no per-row
signals (``bulk_create``, a restore, a rebuilt index) send
``archive_rewritten`` once instead. See docs/architecture.md.
"""

import contextlib
import contextvars
import functools

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import Signal, receiver

from papers import related, search
from papers.models import Entry, Section, Tag, TaggedEntry

#: Sent once after a bulk write that sent no per-row signals.
archive_rewritten = Signal()
#: Sent after entry ``entry_id`` was saved and the related lists of
#: ``entry_ids`` (its own among them) changed as a result.
related_lists_changed = Signal()

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
def entry_saved(sender, instance, raw=False, **kwargs):
    search.index_entries([instance.pk])
    update_related([instance.pk], raw)


@receiver(post_save, sender=TaggedEntry)
@keeps_step
def tag_link_saved(sender, instance, created=False, raw=False, **kwargs):
    """A link written as a row: loaded (a fixture, a version restored) or
    changed (a tag merged into another). A link the entry's tag manager
    creates (``tags.add``, ``tags.set``: the admin, the importer, the
    factories) is left to ``entry_tags_changed``, which the manager sends
    once after all of them: an entry saved with five tags was otherwise
    reindexed and its related list recomputed five more times."""
    if raw or not created:
        search.index_entries([instance.content_object_id])
        update_related([instance.content_object_id], raw)


@receiver(m2m_changed, sender=TaggedEntry)
@keeps_step
def entry_tags_changed(sender, instance, action, pk_set=None, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear") or not isinstance(instance, Entry):
        return
    if action != "post_clear" and not pk_set:  # tags.set() with the same tags adds nothing
        return
    search.index_entries([instance.pk])
    update_related([instance.pk])


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


# Entries a fixture load (raw saves) touched, whose lists wait for its commit:
# the first callback for an entry updates it, the others find it done. (One
# callback per save, not one per load: a load rolled back drops its callbacks,
# and the next load must register its own.)
_loaded_entry_ids = set()


def _update_loaded_entry(entry_id):
    if entry_id in _loaded_entry_ids:
        _loaded_entry_ids.discard(entry_id)
        update_related([entry_id])


def update_related(entry_ids, raw=False):
    """Recompute the related lists of these entries (papers.related) and say,
    for each, whose lists changed.

    A fixture load saves an entry, then its tag links one by one, and other
    entries after it: recomputing at each raw save would redo every entry
    several times against a half-loaded archive, so those wait until the
    load's transaction commits, each entry once."""
    if raw:
        for entry_id in entry_ids:
            _loaded_entry_ids.add(entry_id)
            transaction.on_commit(functools.partial(_update_loaded_entry, entry_id))
        return
    for entry_id in entry_ids:
        changed = related.update_entry(entry_id)
        if changed:
            related_lists_changed.send(sender=Entry, entry_id=entry_id, entry_ids=changed)


@receiver(pre_delete, sender=Entry)
@keeps_step
def entry_deleting(sender, instance, **kwargs):
    related.forget_entry(instance.pk)


@receiver(archive_rewritten)
def archive_bulk_changed(sender, **kwargs):
    """Every related list again: a bulk write sent no per-row signal."""
    related.rebuild()
