"""The filters of the public entries list (``/entries/``).

Query-string parameters: ``tag`` (repeatable; several tags mean entries that
carry all of them), ``section``, ``issue`` (slugs), ``year``, ``q`` (text),
with ``sort`` (``relevance``, the default, or ``newest``) and ``exact``
(``true``: no glossary forms). Unknown
values make the form invalid, and an invalid form gives an empty result with
the form's errors, never a 500.
"""

import functools

import django_filters
from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.http import QueryDict
from django.utils.translation import gettext, gettext_lazy

from papers import search
from papers.models import SECTION_ORDER, Entry, Issue, Section, Tag, TaggedEntry

MAX_TAGS = 10
RELEVANCE, NEWEST = "relevance", "newest"
MAX_QUERY_LENGTH = 200
MIN_YEAR, MAX_YEAR = 1990, 2200
# An entry's year is the year its issue's period starts in, not the year the
# issue was published: a roundup of 2024-07-01..14 published in 2026 is about 2024.
ISSUE_YEAR_FROM = "issue__period_start"


class SlugChoicesField(forms.ModelMultipleChoiceField):
    """Tag slugs from the query string; refuses NUL bytes and long lists before
    they reach the database (PostgreSQL rejects NUL in text)."""

    default_error_messages = {
        **forms.ModelMultipleChoiceField.default_error_messages,
        "invalid_choice": gettext_lazy("没有名为“%(value)s”的标签。"),
        "too_many": gettext_lazy("最多同时筛选 %(limit)s 个标签。"),
    }

    def clean(self, value):
        # An empty ``tag=`` (a blank form field) means no tag, as an empty
        # ``section=`` means every section.
        value = [item for item in value or [] if item]
        if len(value) > MAX_TAGS:
            raise forms.ValidationError(
                self.error_messages["too_many"], code="too_many", params={"limit": MAX_TAGS}
            )
        for item in value:
            ProhibitNullCharactersValidator()(item)
        return super().clean(value)


class TagsFilter(django_filters.ModelMultipleChoiceFilter):
    """Entries carrying every chosen tag, each tag a semi-join on its links.

    django-filter's own conjoined filter joins the tag links once per tag and
    then needs DISTINCT over whole entries, which at 100,000 entries made the
    count alone take 70 ms for two common tags.
    """

    field_class = SlugChoicesField

    def filter(self, queryset, tags):
        for tag in tags or ():
            queryset = queryset.filter(
                pk__in=TaggedEntry.objects.filter(tag=tag).values("content_object_id")
            )
        return queryset


class SlugChoiceField(django_filters.fields.ModelChoiceField):
    def to_python(self, value):
        if value:
            ProhibitNullCharactersValidator()(value)
        return super().to_python(value)


class SlugFilter(django_filters.ModelChoiceFilter):
    field_class = SlugChoiceField


# The filters' choices: only what is public, asked anew per request (published()
# reads the clock): a draft's tag or section is as unknown as a misspelt one,
# rather than named back in the active filters or the feed's title.


def issue_choices(request):
    return Issue.objects.published()


def tag_choices(request):
    return Tag.objects.published()


def section_choices(request):
    return Section.objects.published()


class EntryFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=gettext_lazy("关键词"), method="filter_text", max_length=MAX_QUERY_LENGTH, strip=True
    )
    tag = TagsFilter(
        label=gettext_lazy("标签"),
        field_name="tags__slug",
        to_field_name="slug",
        queryset=tag_choices,
        conjoined=True,
    )
    section = SlugFilter(
        label=gettext_lazy("栏目"),
        field_name="section",
        to_field_name="slug",
        queryset=section_choices,
        empty_label=gettext_lazy("全部栏目"),
        error_messages={"invalid_choice": gettext_lazy("没有这个栏目。")},
    )
    issue = SlugFilter(
        label=gettext_lazy("期"),
        field_name="issue",
        to_field_name="slug",
        queryset=issue_choices,
        error_messages={"invalid_choice": gettext_lazy("没有这一期。")},
    )

    year = django_filters.NumberFilter(
        label=gettext_lazy("年份"),
        field_name=ISSUE_YEAR_FROM,
        lookup_expr="year",
        min_value=MIN_YEAR,
        max_value=MAX_YEAR,
    )

    sort = django_filters.ChoiceFilter(
        label=gettext_lazy("排序"),
        choices=[(RELEVANCE, gettext_lazy("按相关度")), (NEWEST, gettext_lazy("按时间"))],
        method="ordered_later",
        empty_label=None,
    )
    exact = django_filters.BooleanFilter(
        label=gettext_lazy("只搜索原词"), method="ordered_later", widget=forms.CheckboxInput
    )

    found = None  # papers.search.Found, once a text search ran

    def filter_queryset(self, queryset):
        """The text search last: it ranks a window of the newest matches
        (papers.search), which must be taken among the entries that the tag,
        section, issue and year filters leave, not before them. Sorted by
        date on request, the same matches newest first."""
        data = self.form.cleaned_data
        for name, value in data.items():
            if name not in ("q", "sort", "exact"):
                queryset = self.filters[name].filter(queryset, value)
        queryset = self.filters["q"].filter(queryset, data.get("q"))
        if self.found and data.get("sort") == NEWEST:
            queryset = queryset.newest_first()
        return queryset

    def ordered_later(self, queryset, name, value):
        """``sort`` and ``exact`` shape the text search (filter_queryset)."""
        return queryset

    def filter_text(self, queryset, name, value):
        """Full-text search (papers.search): matching entries, best first."""
        if not value:
            return queryset
        self.found = search.find(queryset, self.parsed_query)
        return self.found.entries

    @functools.cached_property
    def parsed_query(self):
        """The query, expanded by the glossary and relaxed when its phrases
        find too few, unless the reader asked for the exact words (``exact``)."""
        data = self.form.cleaned_data
        if data.get("exact"):
            return search.parse_query(data.get("q", ""), relax=False)
        return search.parse_query(data.get("q", ""), search.glossary())

    def clean_query_message(self):
        """Why a query that was typed can find nothing (only punctuation…)."""
        typed = self.form.cleaned_data.get("q", "") if self.is_valid() else ""
        if typed and not self.parsed_query:
            return gettext("这个查询里没有可以检索的文字，请换几个词试试。")
        return ""

    def active_filters(self):
        """The applied filters, each with the query string that removes it."""
        if not self.is_bound or not self.is_valid():
            return []
        data = self.form.cleaned_data
        active = []
        if data.get("q"):
            active.append((gettext("关键词"), data["q"], self._without("q")))
        tags = {tag.slug: tag for tag in data.get("tag") or []}
        for slug in dict.fromkeys(self.data.getlist("tag")):  # in the order typed
            if slug in tags:
                active.append((gettext("标签"), tags[slug].name, self._without("tag", slug)))
        if data.get("section"):
            active.append((gettext("栏目"), data["section"].name, self._without("section")))
        if data.get("issue"):
            active.append((gettext("期"), data["issue"].title, self._without("issue")))
        if data.get("year"):
            year = gettext("%(year)s 年") % {"year": int(data["year"])}
            active.append((gettext("年份"), year, self._without("year")))
        return active

    def with_tag(self, slug):
        """The query string that narrows the current filters by one more tag."""
        params = self._params()
        if slug not in params.getlist("tag"):
            params.appendlist("tag", slug)
        return f"?{params.urlencode()}"

    def with_value(self, name, value):
        """The query string with ``name`` set to ``value`` (section, year)."""
        params = self._params()
        params[name] = value
        return f"?{params.urlencode()}"

    def _without(self, name, value=None):
        params = self._params()
        if value is None:
            params.pop(name, None)
        else:
            params.setlist(name, [v for v in params.getlist(name) if v != value])
        encoded = params.urlencode()
        return f"?{encoded}" if encoded else "?"

    def _params(self):
        """The filter parameters as submitted, without the page number."""
        params = QueryDict(mutable=True)
        for key in self.filters:
            values = [v for v in (self.data.getlist(key) if self.data else []) if v]
            if values:
                params.setlist(key, values)
        return params


def section_and_year_facets(entries):
    """Counts of ``entries`` per section and per year, in one query; the
    sections in the order an issue prints them."""
    rows = (
        Entry.objects.filter(pk__in=entries.values("pk"))
        .values(
            "section__slug", "section__name", "section__position", year=ExtractYear(ISSUE_YEAR_FROM)
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    sections, years = {}, {}
    for row in rows:
        order = tuple(row[f"section__{field}"] for field in SECTION_ORDER)
        key = (order, row["section__slug"], row["section__name"])
        sections[key] = sections.get(key, 0) + row["n"]
        year = row["year"]
        years[year] = years.get(year, 0) + row["n"]
    return (
        [(slug, name, n) for (_, slug, name), n in sorted(sections.items())],
        sorted(years.items(), reverse=True),
    )
