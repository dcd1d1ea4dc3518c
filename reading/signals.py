"""The page cache follows the archive (reading.page_cache).

It depends on everything public pages show: any save or delete of an issue,
section, entry, tag or tag link, and any bulk rewrite, starts a new content
generation. Quiet inside ``papers.signals.suspended()``.
"""

from django.db.models.signals import m2m_changed, post_delete, post_save

from papers.models import Entry, Issue, Section, Tag, TaggedEntry
from papers.signals import archive_rewritten, keeps_step
from reading import page_cache


@keeps_step
def archive_changed(sender, **kwargs):
    page_cache.archive_changed()


for model in (Issue, Section, Entry, Tag, TaggedEntry):
    post_save.connect(archive_changed, sender=model, dispatch_uid=f"pages-{model.__name__}-saved")
    post_delete.connect(
        archive_changed, sender=model, dispatch_uid=f"pages-{model.__name__}-deleted"
    )
m2m_changed.connect(archive_changed, sender=TaggedEntry, dispatch_uid="pages-entry-tags-changed")
archive_rewritten.connect(archive_changed, dispatch_uid="pages-archive-rewritten")
