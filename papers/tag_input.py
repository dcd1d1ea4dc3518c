"""Tag input as Chinese editors type it.

django-taggit splits only on ASCII commas (or spaces when there is no comma), so
"检索增强，微调" or "大模型、推理" would each become a single tag. ``parse_tags``
treats the Chinese separators, and line breaks (a list pasted line by line),
like commas and drops case-insensitive duplicates;
settings.TAGGIT_TAGS_FROM_STRING points django-taggit at it. Control characters
(pasted along with text, never meant) are dropped, so no tag is named \x07.
"""

import re
import unicodedata

from taggit.utils import _parse_tags

# After NFKC, the full-width comma and semicolon are already ASCII. Line breaks
# of every kind separate too.
_SEPARATORS = re.compile(r"[、;\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _without_controls(text):
    """``text`` without control characters; white space (tab, newline) stays."""
    return "".join(char for char in text if char.isspace() or unicodedata.category(char) != "Cc")


def parse_tags(tagstring):
    """Return the sorted, de-duplicated tag names typed in ``tagstring``."""
    if not tagstring:
        return []
    text = _without_controls(unicodedata.normalize("NFKC", tagstring))
    text = _SEPARATORS.sub(",", text)
    names = {}
    for name in _parse_tags(text):
        name = " ".join(name.split())[:100]
        if name:
            names.setdefault(name.casefold(), name)
    return sorted(names.values())
