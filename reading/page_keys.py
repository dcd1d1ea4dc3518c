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
  ``paper-2406.15877-entries``).

Every page also carries ``all``, which empties a front cache at once.
reading.signals says which keys each change purges.
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


def tag_entries(pk):
    return f"tag-{pk}-entries"


def section_entries(pk):
    return f"section-{pk}-entries"


def paper_entries(arxiv_id):
    return f"paper-{arxiv_id}-entries"


_recorded = contextvars.ContextVar("page_keys_recorded", default=None)


@contextlib.contextmanager
def recording():
    """Within the block, collect the keys of what is loaded and shown; yields the set."""
    keys = {ALL}
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


def _row_keys(instance):
    pk = instance.__dict__.get("id")
    if pk is None:
        return ()
    if isinstance(instance, Entry):
        issue_id = instance.__dict__.get("issue_id")
        return (entry(pk), issue(issue_id)) if issue_id is not None else (entry(pk),)
    return (KEY_OF_ROW[type(instance)](pk),)


KEY_OF_ROW = {Issue: issue, Entry: entry, Tag: tag, Section: section}


def _loaded(sender, instance, **kwargs):
    keys_of_page = _recorded.get()
    if keys_of_page is not None:
        keys_of_page.update(_row_keys(instance))


for _model in KEY_OF_ROW:
    post_init.connect(_loaded, sender=_model, dispatch_uid=f"page-keys-{_model.__name__}")
