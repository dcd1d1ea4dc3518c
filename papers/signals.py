"""Keeping derived data in step with what editors change.

The search documents (papers.search) depend on an entry's own text, its tags,
its section's name and its tags' names. Each change reindexes exactly the
entries it touches, in the same transaction. Fixture loads (raw saves) are
included, so the index is right after ``loaddata`` too.

The page cache (papers.caching) depends on everything public pages show: any
save or delete of an issue, section, entry, tag or tag link starts a new
content generation.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from . import caching, search
from .models import Entry, Issue, Section, Tag, TaggedEntry


@receiver(post_save, sender=Entry)
def entry_saved(sender, instance, **kwargs):
    search.index_entries([instance.pk])


@receiver(post_save, sender=TaggedEntry)
def tag_link_saved(sender, instance, **kwargs):
    search.index_entries([instance.content_object_id])


@receiver(m2m_changed, sender=TaggedEntry)
def entry_tags_changed(sender, instance, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear") and isinstance(instance, Entry):
        search.index_entries([instance.pk])


@receiver(post_save, sender=Section)
def section_saved(sender, instance, created, **kwargs):
    if not created:
        search.index_entries(instance.entries.values_list("pk", flat=True))


@receiver(post_save, sender=Tag)
def tag_saved(sender, instance, created, **kwargs):
    if not created:
        search.index_entries(instance.tagged_entries.values_list("content_object_id", flat=True))


@receiver(pre_delete, sender=Tag)
def tag_deleting(sender, instance, **kwargs):
    instance._tagged_entry_ids = list(
        instance.tagged_entries.values_list("content_object_id", flat=True)
    )


@receiver(post_delete, sender=Tag)
def tag_deleted(sender, instance, **kwargs):
    search.index_entries(getattr(instance, "_tagged_entry_ids", []))


def archive_changed(sender, **kwargs):
    caching.archive_changed()


for model in (Issue, Section, Entry, Tag, TaggedEntry):
    post_save.connect(archive_changed, sender=model, dispatch_uid=f"pages-{model.__name__}-saved")
    post_delete.connect(
        archive_changed, sender=model, dispatch_uid=f"pages-{model.__name__}-deleted"
    )
m2m_changed.connect(archive_changed, sender=TaggedEntry, dispatch_uid="pages-entry-tags-changed")
