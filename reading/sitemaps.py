"""sitemap.xml (django.contrib.sitemaps): the public pages, and only those.

Like the feeds, every sitemap starts from ``published()``; a section, tag or
paper appears only once a published issue carries it.
"""

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from papers.models import Entry, Issue, Section, Tag
from reading import pages


class PageSitemap(Sitemap):
    """Every page in each language (Chinese at /, English under /en/), each URL
    listing its translations as hreflang alternates."""

    i18n = True
    alternates = True
    x_default = True


class StaticPagesSitemap(PageSitemap):
    """The pages without arguments that the registry puts in the sitemap
    (reading.pages): the lists a reader starts from. Pages with arguments
    have a sitemap each below, listing every public object."""

    def items(self):
        return [
            page.view_name for page in pages.PAGES if page.in_sitemap and page.arguments is None
        ]

    def location(self, name):
        return reverse(name)


class IssueSitemap(PageSitemap):
    def items(self):
        return Issue.objects.published().newest_first()

    def lastmod(self, issue):
        """Never before publication: a scheduled issue was last saved earlier."""
        return max(issue.updated_at, issue.published_at)


class SectionSitemap(PageSitemap):
    """Sections, last modified when a published issue last added to them."""

    def items(self):
        return Section.objects.public_counts().in_issue_order()

    def lastmod(self, section):
        return section.latest


class TagSitemap(PageSitemap):
    """Tags, last modified when a published issue last used them."""

    def items(self):
        return (
            Tag.objects.published()
            .annotate(lastmod=Max("tagged_entries__content_object__issue__published_at"))
            .order_by("name")
        )

    def lastmod(self, tag):
        return tag.lastmod


class PaperSitemap(PageSitemap):
    """``/papers/<arxiv-id>/``: one URL per paper however many issues covered it."""

    def items(self):
        return (
            Entry.objects.published()
            .exclude(arxiv_id="")
            .values("arxiv_id")
            .annotate(lastmod=Max("issue__published_at"))
            .order_by("arxiv_id")
        )

    def location(self, paper):
        return reverse("reading:paper_detail", kwargs={"arxiv_id": paper["arxiv_id"]})

    def lastmod(self, paper):
        return paper["lastmod"]


SITEMAPS = {
    "pages": StaticPagesSitemap,
    "issues": IssueSitemap,
    "sections": SectionSitemap,
    "tags": TagSitemap,
    "papers": PaperSitemap,
}
