"""Public pages: thin views over the ``published()`` querysets.

Every list is paginated and prints its entries through ``for_listing()``, so a
page runs the same number of queries whatever the number of entries.
"""

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.utils.html import format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.generic import DetailView, ListView
from django_filters.views import FilterView

from papers import search
from papers.arxiv import html_url
from papers.models import Entry, Issue, RelatedEntry, Section, Tag
from reading import page_keys, social_cards, trends
from reading.citations import (
    bibtex_entry,
    bibtex_for_entries,
    issue_json_ld,
    json_ld,
    paper_json_ld,
    plain_text,
    unique_papers,
)
from reading.filters import RELEVANCE, EntryFilter, section_and_year_facets
from reading.templatetags.digest import lang_attr

ENTRIES_PER_PAGE = 20
ISSUES_PER_PAGE = 20
TAGS_PER_PAGE = 200
TOP_TAGS_SHOWN = 20
RELATED_SHOWN = 5


def home(request):
    issues = list(Issue.objects.published().newest_first()[:6])
    latest = issues[0] if issues else None
    page_keys.shows(page_keys.ISSUES, *(page_keys.whole_issue(latest.pk) if latest else ()))
    context = {
        "issue": latest,
        "sections": latest.entries_by_section() if latest else [],
        "recent_issues": issues[1:],
    }
    return render(request, "papers/home.html", context)


class IssueListView(ListView):
    template_name = "papers/issue_list.html"
    context_object_name = "issues"
    paginate_by = ISSUES_PER_PAGE

    def get_queryset(self):
        page_keys.shows(page_keys.ISSUES)
        return Issue.objects.published().with_entry_counts().newest_first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # Their entry counts change with their entries.
        page_keys.shows(*(page_keys.issue_entries(issue.pk) for issue in context["issues"]))
        return context


class IssueDetailView(DetailView):
    template_name = "papers/issue_detail.html"
    context_object_name = "issue"

    def get_queryset(self):
        return Issue.objects.published()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The issues it links to before and after it (reading.signals.neighbour_keys).
        page_keys.shows(
            *page_keys.whole_issue(self.object.pk), page_keys.neighbours(self.object.pk)
        )
        context["sections"] = self.object.entries_by_section()
        context["older"], context["newer"] = Issue.objects.published().neighbours_of(self.object)
        absolute_url = self.request.build_absolute_uri
        entries = [entry for _, items in context["sections"] for entry in items]
        context["canonical_url"] = absolute_url(self.object.get_absolute_url())
        context["page_description"] = plain_text(self.object.intro_html, 150)
        context["json_ld"] = json_ld(issue_json_ld(self.object, entries, absolute_url))
        context["social_card"] = social_cards.CardLink(
            absolute_url(social_cards.issue_card_path(self.object))
        )
        return context


class EntryListView(FilterView):
    """``/entries/``: every public entry, filtered by tag, section, issue, text."""

    template_name = "papers/entry_list.html"
    filterset_class = EntryFilter
    context_object_name = "entries"
    paginate_by = ENTRIES_PER_PAGE

    def get_queryset(self):
        page_keys.shows(page_keys.ENTRIES)
        if self.request.GET.get("q"):
            page_keys.shows(page_keys.SEARCH)
        return Entry.objects.published().for_listing().newest_first()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        valid = filterset.is_valid()
        context["active_filters"] = filterset.active_filters()
        context["query"] = filterset.form.cleaned_data.get("q", "") if valid else ""
        context["query_message"] = filterset.clean_query_message() if valid else ""
        context["filter_errors"] = [
            message for errors in filterset.errors.values() for message in errors
        ]
        if context["query"]:
            context["search_window"] = search.SEARCH_WINDOW
            context["search_window_full"] = search.window_is_full(context["paginator"].count)
            context.update(search_context(filterset))
            words = filterset.parsed_query.words
            for entry in context["entries"]:
                entry.title_html = search.highlight(entry.title, words)
                entry.snippet = search.snippet(entry, words)
        active_tags = set(filterset.data.getlist("tag")) if filterset.data else set()
        top_tags = (
            Tag.objects.counted_in(self.object_list.values("pk"))
            .exclude(slug__in=active_tags)
            .most_used_first()[:TOP_TAGS_SHOWN]
        )
        context["narrowing_tags"] = [(tag, filterset.with_tag(tag.slug)) for tag in top_tags]
        sections, years = section_and_year_facets(self.object_list)
        context["section_facets"] = [
            (name, n, filterset.with_value("section", slug)) for slug, name, n in sections
        ]
        context["year_facets"] = [
            (year, n, filterset.with_value("year", year)) for year, n in years
        ]
        return context


def search_context(filterset):
    """What the results page says of how it searched: the glossary forms it
    searched too (and the link to the exact words only), and what it relaxed
    when the phrases found nothing."""
    parsed, found = filterset.parsed_query, filterset.found
    relaxed = found.relaxed if found else search.PHRASE
    runs = [clause for clause in parsed.clauses if clause.words]
    return {
        "search_exact": bool(filterset.form.cleaned_data.get("exact")),
        "search_sort": filterset.form.cleaned_data.get("sort") or RELEVANCE,
        "search_expanded": [*parsed.expanded, *(parsed.expanded_apart if relaxed else ())],
        "search_relaxed": {search.NEAR: "near", search.ANYWHERE: "anywhere"}.get(relaxed, ""),
        "search_words_apart": typed_list(word for clause in runs for word in clause.word_texts),
        "search_runs": typed_list(clause.text for clause in runs),
    }


def typed_list(texts):
    """What the reader typed, in a sentence of the page's language, each
    part marked with its own language."""
    return format_html_join(gettext("、"), "<span{}>{}</span>", ((lang_attr(t), t) for t in texts))


class TagListView(ListView):
    template_name = "papers/tag_list.html"
    context_object_name = "tags"
    paginate_by = TAGS_PER_PAGE

    def get_queryset(self):
        page_keys.shows(page_keys.TAGS)
        return Tag.objects.public_counts().most_used_first()


class EntriesOfView(ListView):
    """A paginated list of the public entries of one tag or one section.

    The tag or section itself is a 404 unless a public entry carries it, so a
    name used only in drafts never shows.
    """

    context_object_name = "entries"
    paginate_by = ENTRIES_PER_PAGE

    def get_queryset(self):
        self.object = self.get_object()
        page_keys.shows(self.entries_key(self.object.pk))
        return (
            Entry.objects.published()
            .filter(**{self.entry_lookup: self.object})
            .for_listing()
            .newest_first()
        )

    def get_object(self):
        return get_object_or_404(self.model.objects.published(), slug=self.kwargs["slug"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context[self.context_name] = self.object
        return context


class TagDetailView(EntriesOfView):
    model = Tag
    template_name = "papers/tag_detail.html"
    entry_lookup = "tags"
    context_name = "tag"
    entries_key = staticmethod(page_keys.tag_entries)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tag_trend"] = trends.tag_trend(self.object)  # its recent issues
        page_keys.shows(page_keys.ISSUES)
        return context


class SectionDetailView(EntriesOfView):
    model = Section
    template_name = "papers/section_detail.html"
    entry_lookup = "section"
    context_name = "section"
    entries_key = staticmethod(page_keys.section_entries)


class SectionListView(ListView):
    template_name = "papers/section_list.html"
    context_object_name = "sections"

    def get_queryset(self):
        page_keys.shows(page_keys.SECTIONS)
        return Section.objects.public_counts().in_issue_order()


class PaperDetailView(ListView):
    """``/papers/<arxiv-id>/``: one paper and every issue that covered it."""

    template_name = "papers/paper_detail.html"
    context_object_name = "entries"
    allow_empty = False  # a paper no published issue covered is a 404

    def get_queryset(self):
        page_keys.shows(page_keys.paper_entries(self.kwargs["arxiv_id"]))
        return (
            Entry.objects.published()
            .filter(arxiv_id=self.kwargs["arxiv_id"])
            .for_listing()
            .newest_first()
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        paper = context["paper"] = context["entries"][0]
        arxiv_id = context["arxiv_id"] = self.kwargs["arxiv_id"]
        absolute_url = self.request.build_absolute_uri
        context["canonical_url"] = absolute_url(paper.get_paper_url())
        context["page_description"] = plain_text(paper.summary_html, 150)
        context["html_url"] = html_url(arxiv_id)
        context["bibtex"] = bibtex_entry(paper)
        context["json_ld"] = json_ld(paper_json_ld(context["entries"], absolute_url))
        context["related_entries"] = self.related_entries(context["entries"], arxiv_id)
        context["social_card"] = social_cards.CardLink(
            absolute_url(social_cards.paper_card_path(paper))
        )
        return context

    def related_entries(self, entries, arxiv_id):
        """Other papers' public entries most like this paper's by content
        (papers.related), each with ``shared_terms``, the reason: one query
        over the lists stored at each save, however large the archive.

        A paper covered in several issues has a list per entry, and a
        related paper may be in several lists or covered twice: a few more
        rows than shown are read and each paper's best kept.
        """
        page_keys.shows(*(page_keys.related_list(entry.pk) for entry in entries))
        rows = RelatedEntry.objects.public_for([entry.pk for entry in entries]).exclude(
            related__arxiv_id=arxiv_id
        )[: RELATED_SHOWN * 4]
        return unique_papers(rows.entries_with_reasons())[:RELATED_SHOWN]


# Citations (reading.citations): BibTeX downloads, and the issue and paper pages
# with their structured data, canonical URL and, for a paper, related entries.


def bibtex_response(text, filename):
    """A .bib download: reference managers go by the type and the file name."""
    return HttpResponse(
        text,
        content_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )


def paper_bibtex(request, arxiv_id):
    """``/papers/<arxiv-id>/cite.bib``: the citation the paper page shows."""
    page_keys.shows(page_keys.paper_entries(arxiv_id))
    paper = Entry.objects.published().filter(arxiv_id=arxiv_id).newest_first().first()
    if paper is None:
        raise Http404("No published issue covered this paper.")
    return bibtex_response(bibtex_entry(paper), f"arxiv-{arxiv_id.replace('/', '-')}.bib")


def issue_bibtex(request, slug):
    """``/issues/<slug>/papers.bib``: every paper of a published issue, in its order."""
    issue = get_object_or_404(Issue.objects.published(), slug=slug)
    page_keys.shows(*page_keys.whole_issue(issue.pk))
    entries = issue.entries.in_issue_order()
    return bibtex_response(bibtex_for_entries(entries), f"{issue.slug}.bib")


# Topic trends (reading.trends): a chart of the most used tags issue by issue.

TREND_CHART_WIDTHS = {"wide": 720, "narrow": 360}


def topic_trends(request):
    """``/trends/``: the chart, drawn once per layout (the stylesheet shows the
    one that fits the screen, so phones get legible text rather than a shrunken
    desktop drawing), then the same numbers as a table."""
    page_keys.shows(page_keys.TAGS, page_keys.ISSUES)
    data = trends.topic_trends()
    charts = {}
    if data.tags:
        charts = {
            layout: trends.trends_chart(data, width=width, svg_id=f"trends-chart-{layout}")
            for layout, width in TREND_CHART_WIDTHS.items()
        }
    return render(request, "papers/trends.html", {"trends": data, "charts": charts})


# Social cards (reading.social_cards): the picture a shared link shows.

CARD_FOR_EVER = {"public": True, "max_age": 365 * 24 * 60 * 60, "immutable": True}
# A card drawn without its Chinese font is replaced once the font is installed.
CARD_FOR_NOW = {"public": True, "max_age": 60 * 60}


def card_response(card, digest, current_path):
    """The card's PNG if ``digest`` is its text's; otherwise a redirect to the
    current card: an old address (the title changed since) still shows the
    issue, and no address makes the server draw a text of its choosing."""
    if digest != card.digest:
        response = HttpResponseRedirect(current_path)
        patch_cache_control(response, no_cache=True)
        return response
    drawn = social_cards.drawn(card)
    response = HttpResponse(drawn.png, content_type="image/png")
    patch_cache_control(response, **(CARD_FOR_EVER if drawn.final else CARD_FOR_NOW))
    return response


def issue_card(request, slug, digest):
    """``/issues/<slug>/card-<digest>.png``: a published issue's card."""
    issue = get_object_or_404(Issue.objects.published(), slug=slug)
    return card_response(
        social_cards.issue_card(issue), digest, social_cards.issue_card_path(issue)
    )


def paper_card(request, arxiv_id, digest):
    """``/papers/<arxiv-id>/card-<digest>.png``: a paper's card, from its
    newest public entry (the one its page shows first)."""
    paper = Entry.objects.published().filter(arxiv_id=arxiv_id).newest_first().first()
    if paper is None:
        raise Http404("No published issue covered this paper.")
    return card_response(
        social_cards.paper_card(paper), digest, social_cards.paper_card_path(paper)
    )


@cache_control(public=True, max_age=24 * 60 * 60)
def site_icon(request, name):
    """``/favicon.ico`` and ``/apple-touch-icon.png``, which browsers and feed
    readers ask for without reading a page: a temporary redirect to the
    static file under its name of the day (hashed, so a new icon is a new
    address, and this redirect is kept a day only)."""
    return redirect(static(f"icons/{name}"))
