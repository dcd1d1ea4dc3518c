"""Public URLs: stable, human-readable permalinks (see DESIGN.md)."""

from django.urls import path, register_converter

from . import views
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
