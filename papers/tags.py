"""Tag input as Chinese editors type it.

django-taggit splits only on ASCII commas (or spaces when there is no comma), so
"检索增强，微调" or "大模型、推理" would each become a single tag. ``parse_tags``
treats the Chinese separators like commas and drops case-insensitive duplicates;
settings.TAGGIT_TAGS_FROM_STRING points django-taggit at it.
"""

import re
import unicodedata

from taggit.utils import _parse_tags

# After NFKC, the full-width comma and semicolon are already ASCII.
_SEPARATORS = re.compile(r"[、;]")


def parse_tags(tagstring):
    """Return the sorted, de-duplicated tag names typed in ``tagstring``."""
    if not tagstring:
        return []
    text = unicodedata.normalize("NFKC", tagstring)
    text = _SEPARATORS.sub(",", text)
    names = {}
    for name in _parse_tags(text):
        name = " ".join(name.split())[:100]
        if name:
            names.setdefault(name.casefold(), name)
    return sorted(names.values())
