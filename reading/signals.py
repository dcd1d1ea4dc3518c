"""What each change to the archive purges from the page caches (docs/page-cache.md).

A change purges the keys (reading.page_keys) of exactly the pages that show
what changed, once its transaction commits (``page_cache.purge_after_commit``):

- an entry's text: the pages showing it, and search results;
- where an entry stands (its issue, section, position or paper): also the
  lists it leaves and joins;
- an entry's tags: the entry, the lists of those tags, the tag counts;
- a section or tag renamed: the pages showing it;
- an issue becoming public or ceasing to be (published, unpublished,
  deleted, or its time moved): every page that showed it and every list it
  joins or leaves, related lists (papers.related) holding its entries included;
  An edit of a public issue: the pages showing it (and the entry lists,
  whose year facets follow its period, when its period moves);
- a public entry's related list recomputed (``related_lists_changed``): the
  pages showing that list and the lists it now joins or left.

Only public rows count: saving a draft, or a scheduled issue before its
time, purges nothing. Whether a row is public is asked of the database
(``published()``, the one definition), before and after the change. A scheduled
issue's time passes without any save: reading.page_cache starts a new
generation then, and front caches are purged by a task (reading.tasks).

Bulk rewrites (``archive_rewritten``) purge everything. Everything here is
quiet inside ``papers.signals.suspended()``.
"""

from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_save,
    pre_delete,
    pre_save,
)

from papers.models import Entry, GlossaryTerm, Issue, RelatedEntry, Section, Tag, TaggedEntry
from papers.signals import archive_rewritten, keeps_step, related_lists_changed
from reading import page_cache
from reading import page_keys as keys

# What places an entry in lists; anything else is its text.
PLACE = ("issue_id", "section_id", "position", "arxiv_id")


def public_entry(pk):
    """The entry's place if it is public now, else None."""
    if pk is None:
        return None
    return Entry.objects.published().filter(pk=pk).values("pk", *PLACE).first()


def tag_ids_of(entry_pk):
    return set(
        TaggedEntry.objects.filter(content_object_id=entry_pk).values_list("tag_id", flat=True)
    )


def entry_change_keys(before, after, tag_ids):
    """Keys for an entry whose public place was ``before`` and is ``after`` (either None)."""
    if before is None and after is None:
        return set()
    pk = (before or after)["pk"]
    purged = {keys.entry(pk), keys.SEARCH}
    # Pages printing all of its issue go whatever changed (reading.page_keys.compacted).
    purged |= {keys.every_entry_of(place["issue_id"]) for place in (before, after) if place}
    if before == after:
        return purged  # its text, at most
    for place in (before, after):
        if place is not None:
            purged |= {
                keys.ENTRIES,
                keys.issue_entries(place["issue_id"]),
                keys.section_entries(place["section_id"]),
            }
            if place["arxiv_id"]:
                purged.add(keys.paper_entries(place["arxiv_id"]))
    appeared_or_left = before is None or after is None
    if appeared_or_left or before["issue_id"] != after["issue_id"]:
        # The order of its tags' lists (newest issue first); the issues'
        # counts go with their entries' lists (above).
        purged |= {keys.tag_entries(tag_id) for tag_id in tag_ids}
    if appeared_or_left:
        purged.add(keys.TAGS)
    if appeared_or_left or before["section_id"] != after["section_id"]:
        purged.add(keys.SECTIONS)
    return purged


def publication_keys(issue_pk, moments=()):
    """Everything that changes when an issue becomes public or stops being so,
    or moves: ``moments`` are the publication times it takes or leaves, where
    the issue pages on either side of it link to it (``neighbour_keys``)."""
    entries = Entry.objects.filter(issue_id=issue_pk)
    purged = neighbour_keys(issue_pk, moments) | {
        keys.issue(issue_pk),
        keys.issue_entries(issue_pk),
        keys.ISSUES,
        keys.ENTRIES,
        keys.SEARCH,
        keys.TAGS,
        keys.SECTIONS,
    }
    purged |= {keys.section_entries(pk) for pk in entries.values_list("section_id", flat=True)}
    purged |= {
        keys.paper_entries(arxiv_id)
        for arxiv_id in entries.exclude(arxiv_id="").values_list("arxiv_id", flat=True)
    }
    purged |= {
        keys.tag_entries(pk)
        for pk in TaggedEntry.objects.filter(content_object__issue_id=issue_pk).values_list(
            "tag_id", flat=True
        )
    }
    # Related lists are filtered at read time: those holding its entries change.
    purged |= {
        keys.related_list(pk)
        for pk in RelatedEntry.objects.filter(related__issue_id=issue_pk).values_list(
            "entry_id", flat=True
        )
    }
    return purged


def neighbour_keys(issue_pk, moments):
    """The pages of the public issues just before and after where issue
    ``issue_pk`` stands (or stood) at each of ``moments``: they link to it,
    or to each other across its place (``IssueQuerySet.neighbours_at``)."""
    others = Issue.objects.published().exclude(pk=issue_pk)
    purged = set()
    for moment in set(moments):
        purged |= {keys.neighbours(i.pk) for i in others.neighbours_at(moment, issue_pk) if i}
    return purged


# ---------------------------------------------------------------- entries


@keeps_step
def entry_before_save(sender, instance, raw=False, **kwargs):
    instance._public_place_before = public_entry(instance.pk)


@keeps_step
def entry_saved(sender, instance, raw=False, **kwargs):
    before = getattr(instance, "_public_place_before", None)
    after = public_entry(instance.pk)
    tag_ids = tag_ids_of(instance.pk) if before != after else ()
    page_cache.purge_after_commit(entry_change_keys(before, after, tag_ids))


@keeps_step
def entry_before_delete(sender, instance, **kwargs):
    before = public_entry(instance.pk)
    if before is not None:
        tag_ids = tag_ids_of(instance.pk)
        page_cache.purge_after_commit(entry_change_keys(before, None, tag_ids))


@keeps_step
def related_changed(sender, entry_id, entry_ids, **kwargs):
    """Entry ``entry_id`` was saved and the related lists of ``entry_ids``
    changed. Only a public entry's changes show: a draft's own list is on no
    page, and its rows in others' lists are filtered out as they are read."""
    if public_entry(entry_id) is None:
        return
    public = Entry.objects.published().filter(pk__in=entry_ids).values_list("pk", flat=True)
    page_cache.purge_after_commit({keys.related_list(pk) for pk in public})


# ---------------------------------------------------------------- tags of entries


def tag_links_changed(entry_ids, tag_ids):
    if not tag_ids or not entry_ids:
        return  # taggit sends add and remove with nothing in them
    public = Entry.objects.published().filter(pk__in=entry_ids).values_list("pk", "issue_id")
    public = list(public)
    if public:
        page_cache.purge_after_commit(
            {keys.entry(pk) for pk, _ in public}
            | {keys.every_entry_of(issue_id) for _, issue_id in public}
            | {keys.tag_entries(pk) for pk in tag_ids}
            | {keys.SEARCH, keys.ENTRIES, keys.TAGS}
        )


@keeps_step
def entry_tags_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear":
        held = TaggedEntry.objects.filter(
            **({"tag": instance} if reverse else {"content_object": instance})
        )
        instance._tag_links_before = set(
            held.values_list("content_object_id" if reverse else "tag_id", flat=True)
        )
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    others = pk_set if action != "post_clear" else getattr(instance, "_tag_links_before", set())
    if reverse:  # instance is a tag, the others are entries
        tag_links_changed(others, {instance.pk})
    else:
        tag_links_changed({instance.pk}, others)


@keeps_step
def tag_link_before_save(sender, instance, raw=False, **kwargs):
    before = TaggedEntry.objects.filter(pk=instance.pk).values("content_object_id", "tag_id")
    instance._link_before = before.first() if instance.pk else None


@keeps_step
def tag_link_saved(sender, instance, **kwargs):
    links = [{"content_object_id": instance.content_object_id, "tag_id": instance.tag_id}]
    before = getattr(instance, "_link_before", None)
    if before:
        links.append(before)
    tag_links_changed(
        {link["content_object_id"] for link in links}, {link["tag_id"] for link in links}
    )


@keeps_step
def tag_link_deleted(sender, instance, **kwargs):
    tag_links_changed({instance.content_object_id}, {instance.tag_id})


# ---------------------------------------------------------------- tags and sections


@keeps_step
def tag_saved(sender, instance, **kwargs):
    # Lists of tag names read as values (the sign-up's suggestions) name no row: TAGS.
    page_cache.purge_after_commit({keys.tag(instance.pk), keys.TAGS, keys.TAG_NAMES, keys.SEARCH})


@keeps_step
def tag_deleted(sender, instance, **kwargs):
    page_cache.purge_after_commit(
        {
            keys.tag(instance.pk),
            keys.tag_entries(instance.pk),
            keys.TAGS,
            keys.TAG_NAMES,
            keys.ENTRIES,
            keys.SEARCH,
        }
    )


@keeps_step
def section_saved(sender, instance, **kwargs):
    page_cache.purge_after_commit({keys.section(instance.pk), keys.SECTIONS, keys.SEARCH})


@keeps_step
def section_deleted(sender, instance, **kwargs):
    page_cache.purge_after_commit(
        {keys.section(instance.pk), keys.section_entries(instance.pk), keys.SECTIONS}
    )


@keeps_step
def glossary_changed(sender, instance, **kwargs):
    """A search expands by the glossary: every search page may change."""
    page_cache.purge_after_commit({keys.SEARCH})


# ---------------------------------------------------------------- issues


def issue_state(pk):
    if pk is None:
        return None
    return (
        Issue.objects.with_public_state()
        .filter(pk=pk)
        .values("status", "published_at", "period_start", "is_live")
        .first()
    )


def scheduled(state):
    return state is not None and state["status"] == Issue.Status.SCHEDULED


@keeps_step
def issue_before_save(sender, instance, raw=False, **kwargs):
    instance._state_before = issue_state(instance.pk)


@keeps_step
def issue_saved(sender, instance, **kwargs):
    before = getattr(instance, "_state_before", None)
    after = issue_state(instance.pk)
    was_live = bool(before and before["is_live"])
    if was_live != after["is_live"] or (
        was_live and before["published_at"] != after["published_at"]
    ):
        moments = (before and before["published_at"], after["published_at"])
        page_cache.purge_after_commit(publication_keys(instance.pk, moments))
    elif was_live and before["period_start"] != after["period_start"]:
        # Its entries' year (reading.filters.ISSUE_YEAR_FROM): the lists' year facets.
        page_cache.purge_after_commit({keys.issue(instance.pk), keys.ENTRIES, keys.SEARCH})
    elif was_live:
        page_cache.purge_after_commit({keys.issue(instance.pk)})
    if (scheduled(before) or scheduled(after)) and before != after:
        page_cache.schedule_changed(instance.pk)


@keeps_step
def issue_before_delete(sender, instance, **kwargs):
    state = issue_state(instance.pk)
    if state and state["is_live"]:
        page_cache.purge_after_commit(publication_keys(instance.pk, (state["published_at"],)))
    if scheduled(state):
        page_cache.schedule_changed(instance.pk)


@keeps_step
def archive_changed(sender, **kwargs):
    page_cache.purge_everything()


def _connect():
    receivers = [
        (pre_save, Entry, entry_before_save),
        (post_save, Entry, entry_saved),
        (pre_delete, Entry, entry_before_delete),
        (pre_save, TaggedEntry, tag_link_before_save),
        (post_save, TaggedEntry, tag_link_saved),
        (post_delete, TaggedEntry, tag_link_deleted),
        (m2m_changed, TaggedEntry, entry_tags_changed),
        (post_save, Tag, tag_saved),
        (post_delete, Tag, tag_deleted),
        (post_save, Section, section_saved),
        (post_delete, Section, section_deleted),
        (post_save, GlossaryTerm, glossary_changed),
        (post_delete, GlossaryTerm, glossary_changed),
        (pre_save, Issue, issue_before_save),
        (post_save, Issue, issue_saved),
        (pre_delete, Issue, issue_before_delete),
    ]
    for signal, model, receiver in receivers:
        signal.connect(receiver, sender=model, dispatch_uid=f"pages-{receiver.__name__}")
    archive_rewritten.connect(archive_changed, dispatch_uid="pages-archive-rewritten")
    related_lists_changed.connect(related_changed, dispatch_uid="pages-related-changed")


_connect()
