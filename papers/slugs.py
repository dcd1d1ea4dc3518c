"""URL names (slugs) for tags and sections: never empty, unique, stable.

Tags get a slug from any name an editor can type:

1. **Unicode slugify**: Django's ``slugify(allow_unicode=True)`` (NFKC, lower
   case, letters, digits, ``_`` and ``-`` of every script), so 幻觉检测 stays
   幻觉检测, ``Long Context`` becomes ``long-context`` and ``ＲＡＧ`` ``rag``.
2. **Symbol names** when nothing is left (a name with no letter or digit):
   the Unicode names of its symbols and punctuation, slugified, so 🔥 is
   ``fire``, ``>`` ``greater-than-sign`` and ★ ``black-star``: still a URL a
   reader can read.
3. **A short hash** when even that is empty (control or format characters
   only, or characters this Python cannot name): ``tag-`` and the first eight
   hex digits of the name's SHA-256, the same for the same name on any site.

Every slug is cut to fit its column (NFKC can make a 100-character name much
longer: ﷺ is eighteen letters). When the slug is taken, ``-2``, ``-3``... is
added (``C`` is ``c``, then ``C++`` ``c-2`` and ``C#`` ``c-3``).

**Stable**: a slug is chosen once, when the row is created, and never follows
a rename: links, bookmarks, feeds and search engines keep working. An editor
may change it on purpose in the admin (a validated, unique slug); nothing
else does.

Section slugs are ASCII (``<slug:>`` in their URLs): ``section_slug`` gives
``slugify(name)`` made unique the same way, or "" when the name has no ASCII
letter or digit (the caller then asks the editor for one).
"""

import hashlib
import re
import unicodedata

from django.utils.text import slugify

SLUG_MAX_LENGTH = 100
# What the URL converters accept (reading.urls): a slug outside it has no URL.
TAG_SLUG = re.compile(r"[-\w]+\Z")
SECTION_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")
# Room kept for a "-NNN" suffix when a slug is taken.
_SUFFIX_ROOM = 4


def _cut(slug, length):
    return slug[:length].strip("-_")


def tag_slug_base(name, max_length=SLUG_MAX_LENGTH - _SUFFIX_ROOM):
    """The slug ``name`` asks for, before uniqueness: never empty."""
    slug = _cut(slugify(name, allow_unicode=True), max_length)
    if not slug:
        symbols = " ".join(
            unicodedata.name(char, "")
            for char in name
            if unicodedata.category(char)[0] in "PS"  # punctuation, symbols, emoji
        )
        slug = _cut(slugify(symbols), max_length)
    if not slug:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        slug = f"tag-{digest[:8]}"
    return slug


def section_slug_base(name, max_length=80 - _SUFFIX_ROOM):
    """An ASCII slug for a section name, or "" when the name has none to give."""
    return _cut(slugify(name), max_length)


def first_free(base, taken):
    """``base``, or the first of ``base-2``, ``base-3``... not in ``taken``."""
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def free_slug(queryset, base):
    """The first free slug for ``base`` among the rows of ``queryset``."""
    taken = set(queryset.filter(slug__startswith=base).values_list("slug", flat=True))
    return first_free(base, taken)
