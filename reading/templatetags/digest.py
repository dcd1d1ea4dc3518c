"""Template helpers shared by the public pages."""

from django import template
from django.conf import settings
from django.utils.dates import MONTHS
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext

from papers.markdown import strip_comments
from reading import fragments
from reading.languages import HTML_LANG, OG_LOCALE, text_language, url_in_language

register = template.Library()


@register.filter
def without_comments(markdown):
    """Markdown source as readers may see it: without the editors' HTML
    comments (papers.markdown.strip_comments)."""
    return strip_comments(markdown)


@register.simple_tag
def site_name():
    """The site's name in the page's language (a name set in the environment as it is)."""
    return gettext(settings.SITE_NAME)


@register.filter
def period(issue):
    """An issue's period as each language writes a date range.

    2024年6月16日–30日 or June 16–30, 2024: Django's date formats have no
    ranges, and the two languages drop different repeated parts.
    """
    start, end = issue.period_start, issue.period_end
    if get_language() == "en":
        if start.year != end.year:
            return (
                f"{MONTHS[start.month]} {start.day}, {start.year} – "
                f"{MONTHS[end.month]} {end.day}, {end.year}"
            )
        if start.month != end.month:
            return f"{MONTHS[start.month]} {start.day} – {MONTHS[end.month]} {end.day}, {end.year}"
        return f"{MONTHS[start.month]} {start.day}–{end.day}, {end.year}"
    if start.year != end.year:
        return f"{start.year}年{start.month}月{start.day}日–{end.year}年{end.month}月{end.day}日"
    if start.month != end.month:
        return f"{start.year}年{start.month}月{start.day}日–{end.month}月{end.day}日"
    return f"{start.year}年{start.month}月{start.day}日–{end.day}日"


@register.simple_tag
def html_lang(language=None):
    """The BCP 47 tag of a language (the page's by default): zh-Hans, en."""
    return HTML_LANG.get(language or get_language(), language)


@register.simple_tag
def og_locale():
    return OG_LOCALE.get(get_language(), "zh_CN")


@register.simple_tag
def lang_attr(text):
    """` lang="…"` for content written in another language than the page, else nothing.

    Issue titles, summaries and tags are Chinese on the English pages, and
    paper titles English on the Chinese ones; screen readers and browsers
    (fonts, hyphenation) need to know.
    """
    language = text_language(text)
    if language == get_language():
        return ""
    return mark_safe(f' lang="{HTML_LANG[language]}"')  # one of two fixed values


@register.filter
def mark_language(text):
    """The text in a ``<span lang="…">`` when written in another language than
    the page, for content quoted in an interface sentence ("Papers tagged “幻觉”")."""
    language = text_language(text)
    if language == get_language():
        return text
    return format_html('<span lang="{}">{}</span>', HTML_LANG[language], text)


@register.simple_tag(takes_context=True)
def translation_links(context):
    """``<link rel="alternate" hreflang>`` to this page in each language, and
    x-default to the default language's, each address worked out once (and
    kept for the same site and path, reading.fragments)."""
    request = context["request"]
    path = request.get_full_path()

    def render():
        addresses = {
            code: request.build_absolute_uri(url_in_language(path, code))
            for code, _ in settings.LANGUAGES
        }
        links = [(HTML_LANG[code], url) for code, url in addresses.items()]
        links.append(("x-default", addresses[settings.LANGUAGE_CODE]))
        return format_html_join("\n  ", '<link rel="alternate" hreflang="{}" href="{}">', links)

    site = request.build_absolute_uri("/")
    return fragments.remember(("translation_links", site, path, *fragments.environment()), render)


@register.simple_tag(takes_context=True)
def print_entry(context, template_name, entry, **arguments):
    """``{% include template_name with entry=entry ... only %}``, kept in
    memory once rendered (reading.fragments): the entry's HTML on every page."""
    return fragments.render_entry(context, template_name, entry, arguments)


@register.simple_tag(takes_context=True)
def print_issue(context, template_name, issue, sections, **arguments):
    """``{% include template_name with issue=issue sections=sections ... only %}``,
    kept in memory once rendered (reading.fragments): an issue with its entries."""
    return fragments.render_issue(context, template_name, issue, sections, arguments)
