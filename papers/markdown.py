"""The one Markdown renderer: Markdown in, sanitised HTML out.

Python-Markdown passes raw HTML straight through, so its output is cleaned by
nh3 (the Ammonia sanitiser) against an allow-list: no scripts, no event-handler
attributes, no ``javascript:`` or ``data:`` URLs. Models call it once, when a
text is saved, and store the result in a ``*_html`` field that pages print.
"""

import re

import markdown as python_markdown
import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
EXTENSIONS = ["tables", "fenced_code", "sane_lists"]


def render_markdown(text):
    """Render ``text`` (Markdown, possibly hostile) to safe HTML."""
    if not text:
        return ""
    html = python_markdown.markdown(text, extensions=EXTENSIONS, output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


# Closed, or open to the end as an HTML parser reads an unclosed one.
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


def strip_comments(text):
    """The Markdown source without its HTML comments: editors' notes, which
    ``render_markdown`` drops. For places that show the source itself (a
    mail's text part, a page's meta description), so no reader sees them."""
    return _COMMENT.sub("", text)
