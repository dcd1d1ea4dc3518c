"""Atom and RSS 2.0 feeds of the public archive (django.contrib.syndication).

Every feed starts from ``published()``, the one definition of public, and
prints its items through ``for_listing()`` or a prefetch, so it runs the same
few queries whatever the number of items. A feed class serves both formats:
the URLconf makes one instance per format, e.g. ``IssuesFeed(Atom1Feed)``.
"""

import datetime
import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import RssFeed
from django.utils.html import escape, format_html, format_html_join
from django.utils.translation import gettext, gettext_noop

from papers.models import Entry, Issue, Section, Tag
from reading import page_keys
from reading.filters import EntryFilter

ISSUES_IN_FEED = 20
ENTRIES_IN_FEED = 50
SITE_DESCRIPTION = gettext_noop("每两周精选重要的大语言模型论文，附中文解读。")
# When an empty feed was last updated: nothing in it ever was. A constant, so
# that an empty feed is the same bytes (and ETag) on every request; Django's
# default, the time of the request, made every empty feed look new to feed
# readers and differ from its cached copy.
EMPTY_FEED_UPDATED = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
# What XML 1.0 cannot carry (the C0 controls but tab, newline, return).
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_safe(value):
    """``value`` (a string, a list of strings, anything else) without the
    characters XML 1.0 cannot carry."""
    if isinstance(value, str):
        return XML_ILLEGAL.sub("", value)
    if isinstance(value, list | tuple):
        return [xml_safe(item) for item in value]
    return value


def query_without_page(params):
    """The filters as a query string: a feed has no pages, and a page's feed is
    the same whichever page of the list it was found on."""
    params = params.copy()
    params.pop("page", None)
    return f"?{params.urlencode()}" if params else ""


class DigestFeed(Feed):
    """A feed of this site in one format (Atom1Feed or Rss201rev2Feed)."""

    def __init__(self, feed_type):
        self.feed_type = feed_type

    def get_feed(self, obj, request):
        """The feed, with its texts made safe for XML and for readers.

        Control characters are dropped from every text: one in a title
        (pasted from a PDF, say) would otherwise make Django refuse to write
        the feed (a 500 for every reader) or, in an attribute such as a
        category, write XML that no reader can parse.

        RSS titles are escaped once more, as Django's own ``Feed.item_title``
        does by default: RSS does not say whether a title is text or HTML, and
        readers guess; feedparser, for one, renders a title that looks like
        HTML as HTML. Escaped, it shows the text either way and never runs
        it. Atom titles are text by definition and stay as written.

        An empty feed's date is EMPTY_FEED_UPDATED, never the time of the
        request.
        """
        feed = super().get_feed(obj, request)
        rss = isinstance(feed, RssFeed)

        def safe(texts):
            texts = {name: xml_safe(value) for name, value in texts.items()}
            if rss and texts.get("title"):
                texts["title"] = escape(texts["title"])
            return texts

        feed.feed = safe(feed.feed)
        feed.items = [safe(item) for item in feed.items]
        if not feed.items:
            feed.latest_post_date = lambda: EMPTY_FEED_UPDATED
        return feed

    def author_name(self):
        return gettext(settings.SITE_NAME)

    item_author_name = author_name  # the editors wrote every item

    def description(self):
        return gettext(SITE_DESCRIPTION)

    subtitle = description  # Atom's name for RSS's channel description

    def item_title(self, item):
        """The plain title: Django's default escapes it, and Atom's text titles
        would then show "&amp;" for "&" (RSS titles are escaped in get_feed)."""
        return item.title


class IssuesFeed(DigestFeed):
    """``/feeds/issues.atom``: the latest published issues, one item each."""

    def title(self):
        return gettext(settings.SITE_NAME)

    def link(self):
        return reverse("reading:issue_list")

    def items(self):
        page_keys.shows(page_keys.ISSUES)
        return (
            Issue.objects.published()
            .prefetch_related(Prefetch("entries", queryset=Entry.objects.in_issue_order()))
            .newest_first()[:ISSUES_IN_FEED]
        )

    def item_description(self, issue):
        papers = format_html_join(
            "",
            "<li>{}</li>",
            (
                (format_html('<a href="{}">{}</a>', e.link, e.title) if e.link else e.title,)
                for e in issue.entries.all()
            ),
        )
        page_keys.shows(*page_keys.whole_issue(issue.pk))
        if not papers:
            return issue.intro_html
        return issue.intro_html + format_html("<p>{}</p><ul>{}</ul>", gettext("本期论文："), papers)

    def item_pubdate(self, issue):
        return issue.published_at

    def item_updateddate(self, issue):
        """Never before publication: a scheduled issue was last saved earlier."""
        return max(issue.updated_at, issue.published_at)


class EntriesFeed(DigestFeed):
    """The latest public entries of something (a tag, a section, a filter).

    Subclasses say which entries (``entries(obj)``) and how the feed is named.
    """

    item_guid_is_permalink = True  # the guid is the entry's permalink in its issue

    def items(self, obj):
        return self.entries(obj).for_listing().newest_first()[:ENTRIES_IN_FEED]

    def item_description(self, entry):
        if entry.arxiv_id:
            source = format_html('<p><a href="{}">arXiv:{}</a></p>', entry.link, entry.arxiv_id)
        elif entry.link:
            source = format_html('<p><a href="{}">{}</a></p>', entry.link, gettext("原文链接"))
        else:
            source = ""
        return entry.summary_html + source

    def item_pubdate(self, entry):
        return entry.issue.published_at

    def item_updateddate(self, entry):
        """When a summary was corrected after publication, readers see it updated."""
        return max(entry.updated_at, entry.issue.published_at)

    def item_categories(self, entry):
        return [tag.name for tag in entry.tags.all()]


class TagFeed(EntriesFeed):
    """``/tags/<slug>/feed.atom``."""

    def get_object(self, request, slug):
        return get_object_or_404(Tag.objects.published(), slug=slug)

    def entries(self, tag):
        page_keys.shows(page_keys.tag_entries(tag.pk))
        return Entry.objects.published().filter(tags=tag)

    def title(self, tag):
        label = gettext("标签：%(name)s") % {"name": tag.name}
        return " · ".join([gettext(settings.SITE_NAME), label])

    def link(self, tag):
        return tag.get_absolute_url()


class SectionFeed(EntriesFeed):
    """``/sections/<slug>/feed.atom``."""

    def get_object(self, request, slug):
        return get_object_or_404(Section.objects.published(), slug=slug)

    def entries(self, section):
        page_keys.shows(page_keys.section_entries(section.pk))
        return Entry.objects.published().filter(section=section)

    def title(self, section):
        label = gettext("栏目：%(name)s") % {"name": section.name}
        return " · ".join([gettext(settings.SITE_NAME), label])

    def link(self, section):
        return section.get_absolute_url()


class FilteredEntriesFeed(EntriesFeed):
    """``/entries/feed.atom?tag=..&section=..&issue=..&q=..``: the entries
    page's own filters and validation, so the feed lists what the page lists;
    invalid filters give an empty feed, as they give an empty page."""

    def get_object(self, request):
        return EntryFilter(request.GET, queryset=Entry.objects.published(), request=request)

    def entries(self, filterset):
        page_keys.shows(page_keys.ENTRIES, page_keys.SEARCH)
        return filterset.qs if filterset.is_valid() else Entry.objects.none()

    def title(self, filterset):
        if filterset.is_valid():
            labels = [
                gettext("%(kind)s：%(label)s") % {"kind": kind, "label": label}
                for kind, label, _ in filterset.active_filters()
            ]
        else:
            labels = [gettext("筛选条件有误")]
        return " · ".join([gettext(settings.SITE_NAME), gettext("全部论文"), *labels])

    def link(self, filterset):
        return reverse("reading:entry_list") + query_without_page(filterset.data)

    def feed_url(self, filterset):
        """The feed's own address keeps its filters (Django's default drops them)."""
        return filterset.request.path + query_without_page(filterset.data)
