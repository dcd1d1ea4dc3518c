"""What a public page shows, as keys that a change can purge (docs/page-cache.md).

A page's keys name two kinds of things:

- **the rows it shows**: every issue, entry, tag and section loaded while the
  page was made (``issue-12``, ``entry-345``, ``tag-7``, ``section-3``), recorded
  as each instance is made (a ``post_init`` receiver), so a template or a
  template tag that prints one more thing cannot forget to say so. An entry
  also names its issue: a page that shows an entry goes when its issue is
  taken off the site.
- **the lists it is**: a list changes when a row joins or leaves it, which no
  row it shows can tell. Views say which lists they print with ``shows()``:
  the public issues (``issues``), all public entries with their facets
  (``entries``), search results (``search``), the counts of the tag and section
  indexes (``tags``, ``sections``), and the entries of one issue, tag, section
  or paper (``issue-12-entries``, ``tag-7-entries``, ``section-3-entries``,
  ``paper-2406.15877-entries``), and the related entries stored for an entry
  (``entry-345-related``). A page that prints every entry of an issue
  (the issue page, the home page, the issues feed, the issue's BibTeX) says
  so too (``issue-12-every-entry``, ``whole_issue()``): every change of one
  of its entries purges that key.

Every page also carries ``all``, which empties a front cache at once.
reading.signals says which keys each change purges.

A page is stored and sent with its keys ``compacted()``: a row's key is left
out when the page also carries the list that every change of that row purges
too (an entry's ``issue-N-every-entry``, a tag's ``tags``, a section's
``sections``); and a page naming more than TAGS_NAMED_MAX tags (an issue page
of 100 entries names hundreds) carries ``tag-names``, which every change of a
tag purges, instead of each. An issue page of 100 entries, a feed of 20 issues or the tag
index of 5,000 tags would otherwise carry thousands of keys: tens of KB in
every front cache response header (Varnish refuses more than 8 KB by default)
and in every cache hit's head.
"""

import contextlib
import contextvars

from django.db.models.signals import post_init

from papers.models import Entry, Issue, Section, Tag

ALL = "all"
ISSUES = "issues"
ENTRIES = "entries"
SEARCH = "search"
TAGS = "tags"
SECTIONS = "sections"
# Every tag's name, as a page naming many tags shows them (compacted()).
TAG_NAMES = "tag-names"
TAGS_NAMED_MAX = 30


def issue(pk):
    return f"issue-{pk}"


def entry(pk):
    return f"entry-{pk}"


def tag(pk):
    return f"tag-{pk}"


def section(pk):
    return f"section-{pk}"


def issue_entries(pk):
    return f"issue-{pk}-entries"


def every_entry_of(pk):
    return f"issue-{pk}-every-entry"


def neighbours(pk):
    """Issue ``pk``'s page, for its links to the issues before and after it."""
    return f"issue-{pk}-neighbours"


def whole_issue(pk):
    """The keys of a page that prints every entry of issue ``pk``: the list, and each entry."""
    return (issue_entries(pk), every_entry_of(pk))


def tag_entries(pk):
    return f"tag-{pk}-entries"


def section_entries(pk):
    return f"section-{pk}-entries"


def paper_entries(arxiv_id):
    return f"paper-{arxiv_id}-entries"


def related_list(pk):
    """The related entries stored for entry ``pk`` (papers.related), as its
    paper's page shows them."""
    return f"entry-{pk}-related"


_recorded = contextvars.ContextVar("page_keys_recorded", default=None)


class PageKeys(set):
    """A page's keys, knowing for each row's key the list key that is purged
    with it whatever changes the row (reading.signals), if any."""

    def __init__(self, *args):
        super().__init__(*args)
        self.purged_with = {}


def compacted(keys):
    """``keys`` without the rows whose list the page carries too, and with
    ``tag-names`` for the tags of a page naming more than TAGS_NAMED_MAX (module
    docstring)."""
    purged_with = getattr(keys, "purged_with", {})
    kept = {key for key in keys if purged_with.get(key) not in keys}
    tags = {key for key in kept if purged_with.get(key) == TAGS}
    if len(tags) > TAGS_NAMED_MAX:
        kept = (kept - tags) | {TAG_NAMES}
    return frozenset(kept)


@contextlib.contextmanager
def recording():
    """Within the block, collect the keys of what is loaded and shown; yields them."""
    keys = PageKeys({ALL})
    token = _recorded.set(keys)
    try:
        yield keys
    finally:
        _recorded.reset(token)


def shows(*keys):
    """A view says which lists its page prints (no effect outside ``recording()``)."""
    keys_of_page = _recorded.get()
    if keys_of_page is not None:
        keys_of_page.update(keys)


def _record_row(keys_of_page, instance):
    pk = instance.__dict__.get("id")
    if pk is None:
        return
    key = KEY_OF_ROW[type(instance)](pk)
    keys_of_page.add(key)
    if isinstance(instance, Entry):
        issue_id = instance.__dict__.get("issue_id")
        if issue_id is not None:
            keys_of_page.add(issue(issue_id))
            keys_of_page.purged_with[key] = every_entry_of(issue_id)
    elif type(instance) in LIST_OF_ROW:
        keys_of_page.purged_with[key] = LIST_OF_ROW[type(instance)]


KEY_OF_ROW = {Issue: issue, Entry: entry, Tag: tag, Section: section}
# The list whose key every change of such a row purges too (reading.signals).
LIST_OF_ROW = {Tag: TAGS, Section: SECTIONS}


def _loaded(sender, instance, **kwargs):
    keys_of_page = _recorded.get()
    if keys_of_page is not None:
        _record_row(keys_of_page, instance)


for _model in KEY_OF_ROW:
    post_init.connect(_loaded, sender=_model, dispatch_uid=f"page-keys-{_model.__name__}")
