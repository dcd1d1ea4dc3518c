"""Public URLs: stable, human-readable permalinks (see DESIGN.md)."""

from django.urls import path, register_converter
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from . import feeds, views
from .arxiv import ARXIV_ID_PATTERN

app_name = "papers"


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


register_converter(UnicodeSlugConverter, "uslug")
register_converter(ArxivIdConverter, "arxiv")

urlpatterns = [
    path("", views.home, name="home"),
    path("issues/", views.IssueListView.as_view(), name="issue_list"),
    path("issues/<slug:slug>/", views.IssueDetailView.as_view(), name="issue_detail"),
    path("entries/", views.EntryListView.as_view(), name="entry_list"),
    path("tags/", views.TagListView.as_view(), name="tag_list"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag_detail"),
    path("sections/", views.SectionListView.as_view(), name="section_list"),
    path("sections/<slug:slug>/", views.SectionDetailView.as_view(), name="section_detail"),
    path("papers/<arxiv:arxiv_id>/", views.PaperDetailView.as_view(), name="paper_detail"),
]

# Feeds, each in Atom and RSS 2.0 (papers.feeds); pages link them in <head>.
urlpatterns += [
    path("feeds/issues.atom", feeds.IssuesFeed(Atom1Feed), name="issues_feed_atom"),
    path("feeds/issues.rss", feeds.IssuesFeed(Rss201rev2Feed), name="issues_feed_rss"),
    path("entries/feed.atom", feeds.FilteredEntriesFeed(Atom1Feed), name="entries_feed_atom"),
    path("entries/feed.rss", feeds.FilteredEntriesFeed(Rss201rev2Feed), name="entries_feed_rss"),
    path("tags/<uslug:slug>/feed.atom", feeds.TagFeed(Atom1Feed), name="tag_feed_atom"),
    path("tags/<uslug:slug>/feed.rss", feeds.TagFeed(Rss201rev2Feed), name="tag_feed_rss"),
    path("sections/<slug:slug>/feed.atom", feeds.SectionFeed(Atom1Feed), name="section_feed_atom"),
    path("sections/<slug:slug>/feed.rss", feeds.SectionFeed(Rss201rev2Feed),
         name="section_feed_rss"),
]

# Citations as BibTeX files (papers.citations).
urlpatterns += [
    path("papers/<arxiv:arxiv_id>/cite.bib", views.paper_bibtex, name="paper_bibtex"),
    path("issues/<slug:slug>/papers.bib", views.issue_bibtex, name="issue_bibtex"),
]

# Topic trends (papers.trends).
urlpatterns += [
    path("trends/", views.topic_trends, name="trends"),
]
