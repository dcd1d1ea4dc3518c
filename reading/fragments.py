"""Each entry's HTML, rendered once per process and kept, keyed by what it is made of.

An issue page prints twenty to a hundred entries, each through the same few
templates (includes/entry.html, entry_body.html, tag_list.html), and each in
its JSON-LD; that was most of the time of a page the page cache did not have.
The same entry prints the same way on the issue page, the home page, its tag
and section pages and the entry list, and again after an edit elsewhere
purges those pages from the page cache. So ``{% print_entry %}`` renders an
entry's template once and keeps the HTML in this process's memory,
``{% print_issue %}`` an issue with all its entries, and the issue's JSON-LD
keeps each paper's article the same way (reading.citations); so do the
navigation and the translation links of base.html, the same on every page of
a kind (reading.templatetags).

The key is the content itself, never a version to bump: every concrete field
of the entry, of its issue, of its section and of each of its tags, as the
page loaded them, in their order; the template's name and its arguments; the
language, the time zone, the URL prefix and URL configuration. Whatever an
editor changes (an entry, its tags, a tag's name, a section, an issue's title
or dates), in whatever way (a save, ``QuerySet.update()``, a fixture, SQL),
the page reads different values, so the key differs and the entry is rendered
afresh: nothing has to be told, and a page made for one language never serves
another. Old items fall out of a bounded LRU (``settings.ENTRY_FRAGMENTS_KEPT``,
about 4 KB an item; an issue page's entry takes three: its HTML, its article
and its summary as plain text). 0 turns the memory off: every entry is
rendered each time, as before, which the tests and the benchmark compare with.

What a fragment may depend on is therefore limited: the template is rendered
with ``entry`` and the tag's arguments only (as ``{% include ... only %}``),
and may read the entry, its issue, its section and its tags, nothing else
from the database. An entry whose issue, section or tags the page did not
load with it (no ``select_related``/``prefetch_related``, or deferred fields)
is rendered directly and not kept, so that keying it never runs a query.

Template and translation files are read once per process when DEBUG is off
(the cached template loader), so a deployment that changes them restarts the
process and empties this memory too; with DEBUG on nothing is kept, and any
settings change (in tests) empties it. Figures: docs/render-benchmark.md.
"""

import threading
from collections import OrderedDict

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone
from django.utils.translation import get_language


class FragmentMemory:
    """A thread-safe LRU of rendered fragments, {key: value}, counting hits and misses."""

    def __init__(self):
        self._items = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
            else:
                self._items.move_to_end(key)
                self.hits += 1
            return value

    def put(self, key, value, size):
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > size:
                self._items.popitem(last=False)

    def clear(self, **kwargs):
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self):
        return len(self._items)


memory = FragmentMemory()
setting_changed.connect(memory.clear, dispatch_uid="reading-fragments-settings")


def capacity():
    return 0 if settings.DEBUG else settings.ENTRY_FRAGMENTS_KEPT


def remember(key, make):
    """``make()``, or what it returned before for the same ``key`` (None: not
    kept; nor is anything whose key holds a value that cannot be hashed)."""
    size = capacity()
    if key is None or not size:
        return make()
    try:
        value = memory.get(key)
    except TypeError:
        return make()
    if value is None:
        value = make()
        memory.put(key, value, size)
    return value


def row(instance):
    """The model and every concrete field value of ``instance`` as loaded, or
    None when a field was deferred (reading it would run a query)."""
    loaded = instance.__dict__
    try:
        return (
            instance._meta.label,
            *(loaded[field.attname] for field in instance._meta.concrete_fields),
        )
    except KeyError:
        return None


def environment():
    """What else a rendered fragment depends on: the language, the time zone,
    the URL prefix and URL configuration of this request."""
    return (
        get_language(),
        timezone.get_current_timezone_name(),
        get_script_prefix(),
        get_urlconf(),
    )


def entry_content(entry):
    """The entry, its issue, its section and its tags as loaded, in order; None
    when the issue, the section or the tags were not loaded with it."""
    cached = entry._state.fields_cache
    tags = getattr(entry, "_prefetched_objects_cache", {}).get("tags")
    if "issue" not in cached or "section" not in cached or tags is None:
        return None
    rows = (row(entry), row(cached["issue"]), row(cached["section"]), *map(row, tags))
    return None if None in rows else rows


def issue_content(issue, sections):
    """The issue and, section by section, the content of each of its entries
    (``Issue.entries_by_section()``); None when an entry's is None."""
    parts = []
    for section, entries in sections:
        contents = tuple(map(entry_content, entries))
        if None in contents:
            return None
        parts.append((row(section), contents))
    issue_row = row(issue)
    return issue_row and (issue_row, tuple(parts))


def render(context, template_name, content, objects, arguments):
    """``template_name`` rendered with ``objects`` and ``arguments`` alone, as
    ``{% include ... only %}`` would, from memory when it was rendered before
    for the same ``content`` (what ``objects`` are made of, or None: render
    and keep nothing) and ``arguments`` (flags: hashable values)."""
    key = content and (template_name, tuple(sorted(arguments.items())), *environment(), content)

    def make():
        template = context.template.engine.get_template(template_name)
        return template.render(context.new({**objects, **arguments}))

    return remember(key, make)


def render_entry(context, template_name, entry, arguments):
    """An entry's template (``{% print_entry %}``)."""
    content = entry_content(entry) if capacity() else None
    return render(context, template_name, content, {"entry": entry}, arguments)


def render_issue(context, template_name, issue, sections, arguments):
    """An issue's template with its sections and entries (``{% print_issue %}``):
    on a page printed before, one look-up for all of them; otherwise each
    entry printed through ``{% print_entry %}``, so only what changed is rendered."""
    content = issue_content(issue, sections) if capacity() else None
    return render(
        context, template_name, content, {"issue": issue, "sections": sections}, arguments
    )
