"""Public URLs: stable, human-readable permalinks (README, "Public URLs")."""

from django.urls import path, register_converter
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from papers.arxiv import ARXIV_ID_PATTERN
from reading import feeds, social_cards, views
from reading.page_cache import cache_public_page

app_name = "reading"


class UnicodeSlugConverter:
    """Like ``<slug:>`` but lets Chinese tag slugs such as 幻觉检测 through."""

    regex = r"[-\w]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


class ArxivIdConverter:
    """A bare arXiv id, new style (2406.15877) or old style (cs/0112017)."""

    regex = ARXIV_ID_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


def public(route, view, name):
    """A public URL: its successful answers come from the page cache (reading.page_cache)."""
    return path(route, cache_public_page(view), name=name)


class CardDigestConverter:
    """The hash of a social card's text in its address (reading.social_cards)."""

    regex = social_cards.DIGEST_PATTERN

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UnicodeSlugConverter, "uslug")
register_converter(CardDigestConverter, "digest")
register_converter(ArxivIdConverter, "arxiv")

urlpatterns = [
    public("", views.home, name="home"),
    public("issues/", views.IssueListView.as_view(), name="issue_list"),
    public("issues/<slug:slug>/", views.IssueDetailView.as_view(), name="issue_detail"),
    public("entries/", views.EntryListView.as_view(), name="entry_list"),
    public("tags/", views.TagListView.as_view(), name="tag_list"),
    public("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag_detail"),
    public("sections/", views.SectionListView.as_view(), name="section_list"),
    public("sections/<slug:slug>/", views.SectionDetailView.as_view(), name="section_detail"),
    public("papers/<arxiv:arxiv_id>/", views.PaperDetailView.as_view(), name="paper_detail"),
]

# Feeds, each in Atom and RSS 2.0 (reading.feeds); pages link them in <head>.
urlpatterns += [
    public("feeds/issues.atom", feeds.IssuesFeed(Atom1Feed), name="issues_feed_atom"),
    public("feeds/issues.rss", feeds.IssuesFeed(Rss201rev2Feed), name="issues_feed_rss"),
    public("entries/feed.atom", feeds.FilteredEntriesFeed(Atom1Feed), name="entries_feed_atom"),
    public("entries/feed.rss", feeds.FilteredEntriesFeed(Rss201rev2Feed), name="entries_feed_rss"),
    public("tags/<uslug:slug>/feed.atom", feeds.TagFeed(Atom1Feed), name="tag_feed_atom"),
    public("tags/<uslug:slug>/feed.rss", feeds.TagFeed(Rss201rev2Feed), name="tag_feed_rss"),
    public(
        "sections/<slug:slug>/feed.atom", feeds.SectionFeed(Atom1Feed), name="section_feed_atom"
    ),
    public(
        "sections/<slug:slug>/feed.rss", feeds.SectionFeed(Rss201rev2Feed), name="section_feed_rss"
    ),
]

# Citations as BibTeX files (reading.citations).
urlpatterns += [
    public("papers/<arxiv:arxiv_id>/cite.bib", views.paper_bibtex, name="paper_bibtex"),
    public("issues/<slug:slug>/papers.bib", views.issue_bibtex, name="issue_bibtex"),
]

# Topic trends (reading.trends).
urlpatterns += [
    public("trends/", views.topic_trends, name="trends"),
]

# Social cards (reading.social_cards): PNGs at addresses that change with their
# text, served for a year. Not through the page cache, which revalidates every
# answer: each request asks whether the issue or paper is public (one query) and
# takes the PNG from the shared cache, drawn once per text.
urlpatterns += [
    path("issues/<slug:slug>/card-<digest:digest>.png", views.issue_card, name="issue_card"),
    path("papers/<arxiv:arxiv_id>/card-<digest:digest>.png", views.paper_card, name="paper_card"),
]
