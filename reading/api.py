"""The read-only JSON API under ``/api/``: issues, entries (with the entries
related to each) and tags.

Built with django-ninja because it gives typed schemas and the OpenAPI document
(``/api/openapi.json``) from the same code: what a response declares is what it
sends. The interactive docs page is off: ninja's bundled Swagger UI and ReDoc
would add ~7 MB to every ``collectstatic`` (≈50 s more of compression), and the
page's default loads them from a CDN, which this site must not do at run time.

Like the pages, every query starts from ``published()``; the entries endpoint
runs the entries page's own ``EntryFilter`` on the request's query string, so
it filters and searches exactly as ``/entries/`` does. Every error is JSON:
``{"detail": ..., "errors": {parameter: [messages]}}`` for bad parameters
(400 for filter values, 422 for wrong types), ``{"detail": ...}`` for 404s.
"""

import datetime

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import register_converter
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import ValidationError
from ninja.pagination import PageNumberPagination, paginate
from pydantic import field_validator

from papers.models import Entry, Issue, RelatedEntry, Tag
from papers.related import LIST_LENGTH
from reading.citations import paper_key, unique_papers
from reading.filters import MAX_QUERY_LENGTH, MAX_TAGS, MAX_YEAR, MIN_YEAR, EntryFilter

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# Far beyond any archive; bounded so that a huge page number is a 422, not an
# offset the database cannot take (a 500).
MAX_PAGE = 100_000

api = NinjaAPI(
    title="大模型论文双周报 API",
    version="1",
    urls_namespace="api",
    docs_url=None,
    description="大模型论文双周报的只读接口：已发布的各期、条目与标签。",
)


class BadFilters(Exception):
    """The entries filter form refused the query string."""

    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


@api.exception_handler(BadFilters)
def bad_filters(request, exc):
    return api.create_response(
        request, {"detail": "Invalid filters.", "errors": exc.errors}, status=400
    )


@api.exception_handler(ValidationError)
def bad_parameters(request, exc):
    """Ninja's type errors, shaped like the filter errors: messages by parameter."""
    errors = {}
    for error in exc.errors:
        loc = error["loc"]  # ("query", "page"), ("path", "entry_id")...
        errors.setdefault(str(loc[1] if len(loc) > 1 else loc[0]), []).append(error["msg"])
    return api.create_response(
        request, {"detail": "Invalid parameters.", "errors": errors}, status=422
    )


class Pages(PageNumberPagination):
    """Ninja's page numbers with their limits in the schema: too large a page
    size is refused rather than silently cut, and a page past the end is empty."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


# Schemas -----------------------------------------------------------------------


def absolute(context, path):
    return context["request"].build_absolute_uri(path)


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class TagRef(Schema):
    name: str
    slug: str


class SectionRef(Schema):
    name: str
    slug: str


class IssueRef(Schema):
    slug: str
    title: str


class Links(Schema):
    abstract: str | None
    pdf: str | None


class EntryRefOut(Schema):
    """What names an entry and where it is: the fields an entry and a related
    entry share."""

    id: int
    title: str
    arxiv_id: str
    url: str = Field(description="where the paper is: its arXiv abstract, or its own URL")
    section: SectionRef
    issue: IssueRef
    permalink: str = Field(description="the entry in its issue's page")

    @staticmethod
    def resolve_url(entry):
        return entry.link

    @staticmethod
    def resolve_permalink(entry, context):
        return absolute(context, entry.get_absolute_url())


class EntryOut(EntryRefOut):
    links: Links
    authors: str
    summary_html: str
    tags: list[TagRef]

    @staticmethod
    def resolve_links(entry):
        return {"abstract": entry.link if entry.arxiv_id else None, "pdf": entry.pdf_link or None}


class RelatedOut(EntryRefOut):
    shared_terms: list[str] = Field(
        description="why it is related: the terms the two entries share, most telling first"
    )


class IssueOut(Schema):
    slug: str
    title: str
    period_start: datetime.date
    period_end: datetime.date
    published_at: datetime.datetime
    url: str
    intro_html: str
    entry_count: int

    @staticmethod
    def resolve_url(issue, context):
        return absolute(context, issue.get_absolute_url())


class SectionEntries(Schema):
    name: str
    slug: str
    entries: list[EntryOut]


class IssueLinkOut(Schema):
    slug: str
    title: str
    url: str

    @staticmethod
    def resolve_url(issue, context):
        return absolute(context, issue.get_absolute_url())


def neighbours(issue):
    """``(older, newer)`` published issues of ``issue``, asked once per issue."""
    if not hasattr(issue, "_neighbours"):
        issue._neighbours = Issue.objects.published().neighbours_of(issue)
    return issue._neighbours


class IssueDetailOut(IssueOut):
    sections: list[SectionEntries]
    previous: IssueLinkOut | None = Field(
        None, description="the issue published just before this one, if any"
    )
    next: IssueLinkOut | None = Field(
        None, description="the issue published just after this one, if any"
    )

    @staticmethod
    def resolve_previous(issue):
        return neighbours(issue)[0]

    @staticmethod
    def resolve_next(issue):
        return neighbours(issue)[1]

    @staticmethod
    def resolve_sections(issue):
        return [
            {"name": section.name, "slug": section.slug, "entries": entries}
            for section, entries in issue.entries_by_section()
        ]


class TagOut(Schema):
    name: str
    slug: str
    entry_count: int = Field(description="published entries that carry the tag")
    url: str

    @staticmethod
    def resolve_url(tag, context):
        return absolute(context, tag.get_absolute_url())


class EntryFilters(Schema):
    """The entries page's filters, declared for the OpenAPI document and type
    checks; ``EntryFilter`` reads them from the query string itself.

    Their limits are in the document (``json_schema_extra``) but checked by
    ``EntryFilter``, so that a value out of range is the same 400 as an
    unknown tag, not a 422 from the type check."""

    tag: list[str] = Field(
        [],
        description="tag slug; repeat it for entries with all the tags",
        json_schema_extra={"maxItems": MAX_TAGS},
    )
    section: str | None = Field(None, description="section slug")
    issue: str | None = Field(None, description="issue slug")
    year: int | None = Field(
        None,
        description="the year the issue's period starts in; empty for any year",
        json_schema_extra=lambda schema: schema.update(
            anyOf=[
                {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
                {"type": "null"},
                {"type": "string", "maxLength": 0},
            ]
        ),
    )
    q: str | None = Field(
        None,
        description="full-text search, Chinese or English",
        json_schema_extra={"maxLength": MAX_QUERY_LENGTH},
    )

    @field_validator("year", mode="before")
    @classmethod
    def blank_year_is_any_year(cls, value):
        """``year=`` (an empty form field) means no year, as on the page."""
        return value or None


# Endpoints ------------------------------------------------------------------------


def public_issues():
    return Issue.objects.published().with_entry_counts()


@api.get("/issues", response={200: list[IssueOut], 422: Error}, tags=["issues"])
@paginate(Pages)
def list_issues(request):
    """Published issues, newest first."""
    return public_issues().newest_first()


@api.get("/issues/{slug:slug}", response={200: IssueDetailOut, 404: Error}, tags=["issues"])
def get_issue(request, slug: str):
    """One published issue with its sections in order, and their entries in order."""
    return get_object_or_404(public_issues(), slug=slug)


@api.get("/entries", response={200: list[EntryOut], 400: Error, 422: Error}, tags=["entries"])
@paginate(Pages)
def list_entries(request, filters: Query[EntryFilters]):
    """Published entries, filtered and searched exactly as on ``/entries/``:
    newest issue first, or best match first when searching."""
    entries = Entry.objects.published().for_listing().newest_first()
    filterset = EntryFilter(request.GET, queryset=entries, request=request)
    if not filterset.is_valid():
        raise BadFilters({name: list(messages) for name, messages in filterset.errors.items()})
    return filterset.qs


@api.get("/entries/{entry_id}", response={200: EntryOut, 404: Error, 422: Error}, tags=["entries"])
def get_entry(request, entry_id: int):
    """One published entry."""
    return get_object_or_404(Entry.objects.published().for_listing(), pk=entry_id)


@api.get(
    "/entries/{entry_id}/related",
    response={200: list[RelatedOut], 404: Error, 422: Error},
    tags=["entries"],
)
def get_related_entries(request, entry_id: int):
    """Published entries of other papers most like this one by content, best
    first, each with the terms they share: the list its paper page shows,
    stored when an entry is saved (at most twelve)."""
    entry = get_object_or_404(Entry.objects.published(), pk=entry_id)
    rows = RelatedEntry.objects.public_for([entry.pk])[:LIST_LENGTH]
    related = rows.entries_with_reasons()
    return unique_papers(other for other in related if paper_key(other) != paper_key(entry))


@api.get("/tags", response={200: list[TagOut], 422: Error}, tags=["tags"])
@paginate(Pages)
def list_tags(request):
    """Tags of published entries with their counts, most used first."""
    return Tag.objects.public_counts().most_used_first()


@api.get("", include_in_schema=False)
def root(request):
    """``/api/`` has no index of its own: ``/api/openapi.json`` lists everything."""
    raise Http404("See /api/openapi.json.")


class AnyPathConverter:
    """Any rest of an address, line breaks included: Django's ``path``
    converter (``.+``) stops at a newline, and such an address then fell
    through to the site's HTML 404."""

    regex = r"[\s\S]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(AnyPathConverter, "anypath")


@api.get("/{anypath:rest}", include_in_schema=False)
def unknown(request, rest: str):
    """Any other address under ``/api/`` is a JSON 404 too, not the site's HTML page."""
    raise Http404(rest)
