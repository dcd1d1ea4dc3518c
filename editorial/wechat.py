"""An issue as a WeChat 公众号 article: HTML that an editor pastes into
WeChat's editor to republish the roundup there.

WeChat's editor drops stylesheets, classes and ids, keeps the inline ``style``
of a few tags (section, h2, h3, p, ul, li, strong, sup...), and an article may
not link outside WeChat. So the article is written as templates with classes
(readable, styled by one stylesheet, ``wechat/article.css``) and then made fit
for pasting in three steps:

1. every link becomes a numbered reference: the text keeps a superscript
   ``[n]`` and the "参考链接" list at the end gives each address as plain text,
   so readers can still find the paper;
2. the stylesheet is written into ``style`` attributes (css_inline);
3. nh3 keeps only the tags WeChat keeps and only ``style`` attributes. Links,
   classes, ids, scripts and anything the steps before let through go here,
   so what is pasted does not depend on the templates behaving.

Titles and summaries are editors' text and may be hostile: the templates
escape them, the summaries are the sanitised ``*_html`` the site prints, and
every step parses HTML with a real parser and writes text back escaped.
"""

from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser

import css_inline
import nh3
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from papers.models import web_link

TEMPLATE_FOLDER = "admin/papers/issue/wechat"

# What the pasted article may contain: the tags WeChat's editor keeps, and
# those a rendered summary uses (papers.markdown.ALLOWED_TAGS) but without
# ``a``; any other tag is dropped and its text kept.
ARTICLE_TAGS = {
    "section",
    "h2",
    "h3",
    "h4",
    "p",
    "br",
    "hr",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "del",
    "s",
    "sup",
    "sub",
    "code",
    "pre",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}

# An element with no end tag, written back without one.
VOID_TAGS = {"br", "hr", "img", "input", "meta", "link", "wbr", "col", "area", "source"}


@dataclass(frozen=True)
class Reference:
    number: int
    title: str
    url: str


def article_html(issue):
    """The issue as HTML to paste into WeChat: inline styles only, no links,
    each link a numbered reference listed at the end."""
    body = render_to_string(
        f"{TEMPLATE_FOLDER}/body.html",
        {"issue": issue, "sections": issue.entries_by_section()},
    )
    body, references = links_to_references(body)
    article = render_to_string(
        f"{TEMPLATE_FOLDER}/article.html",
        {"body": mark_safe(body), "references": references},
    )
    return keep_what_wechat_keeps(inline_styles(article)).strip()


def inline_styles(html):
    """``html`` with the article's stylesheet written into ``style``
    attributes: the only styling that survives WeChat's editor."""
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return inliner.inline_fragment(html, render_to_string(f"{TEMPLATE_FOLDER}/article.css"))


def keep_what_wechat_keeps(html):
    """The last guard: only ARTICLE_TAGS, only ``style`` attributes, no
    scripts, styles or comments, whatever the steps before produced."""
    return nh3.clean(
        html,
        tags=ARTICLE_TAGS,
        attributes={"*": {"style"}},
        clean_content_tags={"script", "style"},
        strip_comments=True,
        link_rel=None,
    )


def links_to_references(html):
    """``html`` with each ``<a>`` replaced by its text and a reference mark,
    and the list of references, numbered in order of first appearance.

    A link to a web address already cited gets that address's number again;
    a link to anything but an http(s) address (``javascript:``...) loses its
    address and keeps its text, so it is never printed, even as text.
    """
    parser = _LinkNumbering()
    parser.feed(html)
    parser.close()
    return "".join(parser.out), list(parser.references.values())


def reference_mark(number):
    return f'<sup class="reference-mark">[{number}]</sup>'


class _LinkNumbering(HTMLParser):
    """Writes the HTML it reads back unchanged but for its links (see
    ``links_to_references``). Text is unescaped by the parser and escaped
    again on the way out, so escaped text stays escaped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.references = {}
        self._open_links = []  # (address, [text...]) of each <a> not yet closed

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open_links.append((web_link((dict(attrs).get("href") or "").strip()), []))
            return
        self.out.append(_start_tag(tag, attrs))

    def handle_startendtag(self, tag, attrs):
        if tag != "a":
            self.out.append(_start_tag(tag, attrs))

    def handle_endtag(self, tag):
        if tag == "a":
            if self._open_links:
                self._close_link(*self._open_links.pop())
        elif tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        for _, text in self._open_links:
            text.append(data)
        self.out.append(escape(data, quote=False))

    def _close_link(self, url, text):
        if not url:
            return
        if url not in self.references:
            title = " ".join("".join(text).split())
            self.references[url] = Reference(
                number=len(self.references) + 1,
                title="" if title == url else title,
                url=url,
            )
        self.out.append(reference_mark(self.references[url].number))


def _start_tag(tag, attrs):
    written = "".join(
        f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"'
        for name, value in attrs
    )
    return f"<{tag}{written}>"
