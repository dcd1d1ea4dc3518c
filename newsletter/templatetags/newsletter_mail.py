"""Filters for the text part of the issue mail, which is written from the Markdown."""

import re

from django import template

register = template.Library()

# Closed, or open to the end as an HTML parser reads an unclosed one.
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


@register.filter
def without_comments(markdown):
    """The Markdown without its HTML comments: editors' notes, which the
    site's sanitiser drops (papers.markdown) and no reader sees."""
    return _COMMENT.sub("", markdown)
