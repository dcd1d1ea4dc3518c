"""Public pages: thin views over the ``published()`` querysets.

Every list is paginated and prints its entries through ``for_listing()``, so a
page runs the same number of queries whatever the number of entries.
"""

from itertools import groupby

from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, render
from django.views.generic import DetailView, ListView
from django_filters.views import FilterView

from .filters import EntryFilter
from .models import Entry, Issue, Section, Tag

ENTRIES_PER_PAGE = 20
ISSUES_PER_PAGE = 20
TAGS_PER_PAGE = 200
TOP_TAGS_SHOWN = 20


def group_by_section(entries):
    """[(section, [entries...]), ...] in section order, for an issue's entries."""
    return [
        (section, list(items))
        for section, items in groupby(entries, key=lambda entry: entry.section)
    ]


def issue_entries(issue):
    return (
        issue.entries.for_listing()
        .order_by("section__position", "section__name", "position", "pk")
    )


def published_tags():
    """Tags of public entries with their public entry counts, most used first."""
    return (
        Tag.objects.filter(tagged_entries__content_object__in=Entry.objects.published())
        .annotate(entry_count=Count("tagged_entries"))
        .order_by("-entry_count", "name")
    )


def home(request):
    issues = list(Issue.objects.published().order_by("-published_at", "-pk")[:6])
    latest = issues[0] if issues else None
    context = {
        "issue": latest,
        "sections": group_by_section(issue_entries(latest)) if latest else [],
        "recent_issues": issues[1:],
    }
    return render(request, "papers/home.html", context)


class IssueListView(ListView):
    template_name = "papers/issue_list.html"
    context_object_name = "issues"
    paginate_by = ISSUES_PER_PAGE

    def get_queryset(self):
        return (
            Issue.objects.published()
            .annotate(entry_count=Count("entries"))
            .order_by("-published_at", "-pk")
        )


class IssueDetailView(DetailView):
    template_name = "papers/issue_detail.html"
    context_object_name = "issue"

    def get_queryset(self):
        return Issue.objects.published()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sections"] = group_by_section(issue_entries(self.object))
        return context


class EntryListView(FilterView):
    """``/entries/``: every public entry, filtered by tag, section, issue, text."""

    template_name = "papers/entry_list.html"
    filterset_class = EntryFilter
    context_object_name = "entries"
    paginate_by = ENTRIES_PER_PAGE

    def get_queryset(self):
        return (
            Entry.objects.published()
            .for_listing()
            .order_by("-issue__published_at", "section__position", "position", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        context["active_filters"] = filterset.active_filters()
        context["query"] = filterset.form.cleaned_data.get("q", "") if filterset.is_valid() else ""
        context["filter_errors"] = [
            message for errors in filterset.errors.values() for message in errors
        ]
        context["sections"] = Section.objects.filter(
            entries__in=Entry.objects.published()
        ).distinct()
        active_tags = set(filterset.data.getlist("tag")) if filterset.data else set()
        top_tags = (
            Tag.objects.filter(
                tagged_entries__content_object__in=self.object_list.values("pk")
            )
            .exclude(slug__in=active_tags)
            .annotate(entry_count=Count("tagged_entries"))
            .order_by("-entry_count", "name")[:TOP_TAGS_SHOWN]
        )
        context["narrowing_tags"] = [(tag, filterset.with_tag(tag.slug)) for tag in top_tags]
        return context


class TagListView(ListView):
    template_name = "papers/tag_list.html"
    context_object_name = "tags"
    paginate_by = TAGS_PER_PAGE

    def get_queryset(self):
        return published_tags()


class EntriesOfView(ListView):
    """A paginated list of the public entries of one tag or one section.

    The tag or section itself is a 404 unless a public entry carries it, so a
    name used only in drafts never shows.
    """

    context_object_name = "entries"
    paginate_by = ENTRIES_PER_PAGE

    def get_queryset(self):
        self.object = self.get_object()
        return (
            Entry.objects.published()
            .filter(**{self.entry_lookup: self.object})
            .for_listing()
            .order_by("-issue__published_at", "section__position", "position", "pk")
        )

    def get_object(self):
        public = self.model.objects.filter(
            **{f"{self.reverse_lookup}__in": Entry.objects.published()}
        )
        return get_object_or_404(public.distinct(), slug=self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context[self.context_name] = self.object
        return context


class TagDetailView(EntriesOfView):
    model = Tag
    template_name = "papers/tag_detail.html"
    entry_lookup = "tags"
    reverse_lookup = "tagged_entries__content_object"
    context_name = "tag"


class SectionDetailView(EntriesOfView):
    model = Section
    template_name = "papers/section_detail.html"
    entry_lookup = "section"
    reverse_lookup = "entries"
    context_name = "section"


class SectionListView(ListView):
    template_name = "papers/section_list.html"
    context_object_name = "sections"

    def get_queryset(self):
        return (
            Section.objects.filter(entries__in=Entry.objects.published())
            .annotate(
                entry_count=Count("entries"),
                latest=Max("entries__issue__published_at"),
            )
            .order_by("position", "name")
        )


class PaperDetailView(ListView):
    """``/papers/<arxiv-id>/``: one paper and every issue that covered it."""

    template_name = "papers/paper_detail.html"
    context_object_name = "entries"
    allow_empty = False  # a paper no published issue covered is a 404

    def get_queryset(self):
        return (
            Entry.objects.published()
            .filter(arxiv_id=self.kwargs["arxiv_id"])
            .for_listing()
            .order_by("-issue__published_at", "pk")
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["paper"] = context["entries"][0]
        context["arxiv_id"] = self.kwargs["arxiv_id"]
        return context
