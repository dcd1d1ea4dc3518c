"""Issues, sections and entries: the archive of roundups.

An ``Issue`` is one biweekly roundup; a ``Section`` is a category that recurs
across issues; an ``Entry`` is one paper's summary inside one issue and one
section. ``published()`` on the querysets is the only definition of what the
public may see; the querysets also carry the orders and counts that every
page, feed, sitemap and API response lists them by, so that each is written
once.
"""

import logging
import re
import uuid
from itertools import groupby
from operator import attrgetter

import reversion
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import IntegrityError, models, router, transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from taggit.managers import TaggableManager, _TaggableManager
from taggit.models import TagBase, TaggedItemBase

from papers import arxiv, slugs
from papers.markdown import render_markdown

logger = logging.getLogger(__name__)


def web_link(url):
    """``url`` when it is an http(s) address, else "": the one place where a
    stored URL becomes a link on a page, in a feed, in the API or the admin.

    URLField's validator runs only in forms. Rows written in code, by an
    import or in SQL skip it, and a ``javascript:`` or ``data:`` link would
    run script in a reader's browser when followed.
    """
    return url if url[:8].lower().startswith(("http://", "https://")) else ""


def reverse_or_index(row, viewname, index, **kwargs):
    """``reverse(viewname)``, or the ``index`` page when ``row`` holds a value
    no URL can carry (a slug written in SQL or by a script, past the forms).

    One bad row must never turn a page that links it into a 500: the link
    leads to the index instead, and the row is logged so someone repairs it.
    """
    try:
        return reverse(viewname, kwargs=kwargs)
    except NoReverseMatch:
        logger.warning(
            "%s %r has no URL (%s=%r); linked to %s instead",
            type(row).__name__,
            row.pk,
            viewname,
            kwargs,
            index,
        )
        return reverse(index)


# How an issue prints its sections (by position; sections sharing a position
# by name) and, within each section, its entries (by position). The issue
# page is the reference: every list of sections or entries follows it,
# through ``in_issue_order()`` and ``newest_first()`` on the querysets below.
SECTION_ORDER = ("position", "name")
# An entry's tags, everywhere: by name, as the tag index lists them.
ENTRY_TAG_ORDER = ("name", "pk")
ENTRY_ORDER_IN_ISSUE = (*(f"section__{field}" for field in SECTION_ORDER), "position")


class ArxivIdField(models.CharField):
    """A CharField that stores arXiv ids in their bare form.

    Model validation (and so every admin form) normalises what the editor
    typed and reports anything that is not an id; ``pre_save`` normalises ids
    set in code too.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 40)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        return arxiv.normalize_arxiv_id(super().to_python(value))

    def pre_save(self, model_instance, add):
        value = arxiv.normalize_arxiv_id(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class EditTokenModel(models.Model):
    """A row that gets a new random token at every save, so that an editor's
    form can tell whether someone else saved the row since it was opened (see
    editorial.forms). A token, unlike a counter, never comes back after a revert.
    Rows that were only loaded from a fixture have none yet."""

    edit_token = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self.edit_token = uuid.uuid4()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "edit_token"}
        super().save(*args, **kwargs)


class IssueQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def published(self):
        """Issues readers may see: published or scheduled, and due by now.

        A scheduled issue becomes public when its time comes, with no worker
        having to flip its status.
        """
        return self.filter(
            status__in=[Issue.Status.PUBLISHED, Issue.Status.SCHEDULED],
            published_at__lte=timezone.now(),
        )

    def newest_first(self):
        """Latest publication first, the later-made first at the same time: the
        archive, the home page, the feed, the sitemap and the API list issues
        so, and ``EntryQuerySet.newest_first()`` takes their issues in it."""
        return self.order_by("-published_at", "-pk")

    def neighbours_of(self, issue):
        """``(older, newer)``: the issues just before and just after ``issue``
        among these, in ``newest_first()`` order (None at either end)."""
        return self.neighbours_at(issue.published_at, issue.pk)

    def neighbours_at(self, at, pk):
        """``(older, newer)`` around the place an issue ``pk`` published at
        ``at`` takes in ``newest_first()`` order, whether or not it is there."""
        if at is None:
            return None, None
        older = self.filter(Q(published_at__lt=at) | Q(published_at=at, pk__lt=pk))
        newer = self.filter(Q(published_at__gt=at) | Q(published_at=at, pk__gt=pk))
        return (
            older.newest_first().only("title", "slug").first(),
            newer.order_by("published_at", "pk").only("title", "slug").first(),
        )

    def with_public_state(self):
        """Each issue with ``is_live``: whether readers see it now, by
        ``published()`` (for a list that shows many issues' state at once)."""
        public = Issue.objects.published().filter(pk=OuterRef("pk"))
        return self.annotate(is_live=Exists(public))

    def with_entry_counts(self):
        """Each issue with ``entry_count``, its number of entries. An issue is
        public as a whole, so for a published issue that is the public count."""
        return self.annotate(entry_count=Count("entries"))


class Issue(EditTokenModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        SCHEDULED = "scheduled", "定时发布"
        PUBLISHED = "published", "已发布"

    title = models.CharField("标题", max_length=200)
    slug = models.SlugField(
        "网址名",
        max_length=80,
        unique=True,
        help_text="用于网址的英文短名，如 2024-06-h2。",
    )
    period_start = models.DateField("起始日期")
    period_end = models.DateField("截止日期")
    intro = models.TextField("导言", blank=True, help_text="支持 Markdown。")
    intro_html = models.TextField(editable=False, blank=True)
    status = models.CharField(
        "状态",
        max_length=10,
        choices=Status.choices,
        default=Status.DRAFT,
        db_index=True,
    )
    published_at = models.DateTimeField(
        "发布时间",
        null=True,
        blank=True,
        db_index=True,
        help_text="定时发布时为生效时间；发布时留空则取当前时间。",
    )
    source_url = models.URLField(
        "原文链接",
        blank=True,
        max_length=500,
        help_text="本期首发于别处时填写。",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IssueQuerySet.as_manager()
    markdown_fields = {"intro": "intro_html"}
    # What editors write: the fields history compares one by one. Status and
    # publication time are a publisher's: reported apart, kept by a restore.
    content_fields = ("title", "slug", "period_start", "period_end", "intro", "source_url")

    class Meta:
        ordering = ["-period_end", "-pk"]
        verbose_name = "期"
        verbose_name_plural = "期"
        permissions = [("publish_issue", "可以发布、定时发布和撤回一期")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="issue_period_end_after_start",
                violation_error_message="截止日期不能早于起始日期。",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="issue_public_has_publication_time",
                violation_error_message="已发布或定时发布的一期需要发布时间。",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse_or_index(self, "reading:issue_detail", "reading:issue_list", slug=self.slug)

    @property
    def source_link(self):
        """Where the issue was first published, if that is a web address."""
        return web_link(self.source_url)

    def natural_key(self):
        return (self.slug,)

    def entries_by_section(self):
        """[(section, [entries...]), ...] as the issue's page prints them,
        each entry ready to print (``for_listing()``), its ``issue`` this very
        object."""
        return self.entries.for_listing(issue_known=True).in_issue_order().by_section()

    def publish(self, when=None):
        """Make the issue public now, or at ``when`` (a scheduled issue)."""
        now = timezone.now()
        if when is not None and when > now:
            self.status, self.published_at = self.Status.SCHEDULED, when
        else:
            self.status, self.published_at = self.Status.PUBLISHED, when or now
        self.save()

    def unpublish(self):
        """Take the issue off every public page; it becomes a draft again."""
        self.status = self.Status.DRAFT
        self.save()

    def clean(self):
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        if self.status == self.Status.SCHEDULED and self.published_at is None:
            raise ValidationError({"published_at": "定时发布需要填写发布时间。"})


class SectionQuerySet(models.QuerySet):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)

    def published(self):
        """Sections holding a public entry: one used only in drafts stays unknown."""
        return self.filter(entries__in=Entry.objects.published()).distinct()

    def in_issue_order(self):
        """The order in which an issue prints its sections."""
        return self.order_by(*SECTION_ORDER)

    def with_entry_counts(self):
        """Each section with ``entry_count``: how many entries it holds, drafts
        included (the editors' count); after a filter on its entries, how many
        of those (the count reuses the filter's join)."""
        return self.annotate(entry_count=Count("entries"))

    def public_counts(self):
        """Sections holding a public entry, each with ``entry_count`` (how many
        public entries) and ``latest`` (when a published issue last added one):
        the sections page prints both, the sitemap gives ``latest``."""
        return (
            self.filter(entries__in=Entry.objects.published())
            .with_entry_counts()
            .annotate(latest=Max("entries__issue__published_at"))
        )


class Section(models.Model):
    name = models.CharField("名称", max_length=100, unique=True)
    slug = models.SlugField(
        "网址名",
        max_length=80,
        unique=True,
        help_text="用于网址的英文短名，如 rag 或 safety-alignment。",
    )
    description = models.TextField("说明", blank=True)
    position = models.PositiveSmallIntegerField("显示顺序", default=0)

    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = [*SECTION_ORDER]
        verbose_name = "栏目"
        verbose_name_plural = "栏目"
        constraints = [
            models.CheckConstraint(
                condition=~Q(slug=""),
                name="section_slug_not_empty",
                violation_error_message="网址名不能为空。",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse_or_index(
            self, "reading:section_detail", "reading:section_list", slug=self.slug
        )

    def natural_key(self):
        return (self.slug,)

    @property
    def order_key(self):
        """``SECTION_ORDER`` for lists sorted in Python rather than by the database."""
        return tuple(getattr(self, field) for field in SECTION_ORDER)


class TagQuerySet(models.QuerySet):
    def get_by_natural_key(self, name):
        return self.get(name=name)

    def published(self):
        """Tags a public entry carries: one used only in drafts stays unknown."""
        return self.filter(tagged_entries__content_object__in=Entry.objects.published()).distinct()

    def with_entry_counts(self):
        """Each tag with ``entry_count``: how many entries carry it, drafts
        included (the editors' count); after a filter on its entries
        (``counted_in``), how many of those (the count reuses the filter's join)."""
        return self.annotate(entry_count=Count("tagged_entries"))

    def counted_in(self, entries):
        """The tags that ``entries`` (an entry queryset) carry, each with
        ``entry_count``: how many of those entries carry it."""
        return self.filter(tagged_entries__content_object__in=entries).with_entry_counts()

    def public_counts(self):
        """Tags a public entry carries, each with ``entry_count``: how many
        public entries carry it (the tags page, the API)."""
        return self.counted_in(Entry.objects.published())

    def most_used_first(self):
        """By ``entry_count`` (from the methods above), the most used first,
        ties by name."""
        return self.order_by("-entry_count", "name")

    def merge_into(self, target):
        """Give every entry of these tags ``target`` instead, then delete them.

        One transaction; each link is saved as a row, so the search index and
        the page cache follow as for an editor's re-tagging. An entry that
        already carries ``target`` just loses the other tag, with the tag
        itself: deleting a tag reindexes the entries it still tags (a link
        deleted first left them searchable by the merged name). Returns how
        many tags were merged."""
        merged = self.exclude(pk=target.pk)
        with transaction.atomic():
            for link in TaggedEntry.objects.filter(tag__in=merged).order_by("pk"):
                if not TaggedEntry.objects.filter(
                    content_object_id=link.content_object_id, tag=target
                ).exists():
                    link.tag = target
                    link.save()
            count = 0
            for tag in merged:
                tag.delete()
                count += 1
        return count


class Tag(TagBase):
    """A tag; names are unique regardless of case ("RAG" is "rag").

    Its slug is never empty, unique, and chosen once when the tag is created,
    whatever the name (🔥, ``>``, ``C++`` beside ``C``): the scheme and why it
    never follows a rename are in papers.slugs.
    """

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "标签"
        verbose_name_plural = "标签"
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="tag_name_unique_ignoring_case",
                violation_error_message="已有同名标签（不区分大小写）。",
            ),
            models.CheckConstraint(
                condition=~Q(slug=""),
                name="tag_slug_not_empty",
                violation_error_message="网址名不能为空。",
            ),
        ]

    def save(self, *args, **kwargs):
        """Give a new tag a free slug (papers.slugs), then save.

        Replaces taggit's own slug search, whose slugify makes "" of 🔥. A
        concurrent save that takes the same slug first makes the insert fail
        on the slug's unique index: then the next free slug is tried.
        """
        if not (self._state.adding and not self.slug):
            return super().save(*args, **kwargs)
        kwargs["using"] = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        others = type(self)._default_manager.using(kwargs["using"])
        base = self.slugify(self.name)
        for _attempt in range(5):
            self.slug = slugs.free_slug(others, base)
            try:
                with transaction.atomic(using=kwargs["using"]):
                    return models.Model.save(self, *args, **kwargs)
            except IntegrityError:
                if not others.filter(slug=self.slug).exists():
                    raise  # not the slug: a duplicate name, say
        raise IntegrityError(f"no free slug for tag {self.name!r}")

    def slugify(self, tag, i=None):
        base = slugs.tag_slug_base(tag)
        return base if i is None else f"{base}-{i + 1}"

    def get_absolute_url(self):
        return reverse_or_index(self, "reading:tag_detail", "reading:tag_list", slug=self.slug)

    def natural_key(self):
        return (self.name,)


class TaggedEntryManager(models.Manager):
    def get_by_natural_key(self, issue_slug, section_slug, position, tag_name):
        return self.get(
            content_object=Entry.objects.get_by_natural_key(issue_slug, section_slug, position),
            tag__name=tag_name,
        )


class TaggedEntry(TaggedItemBase):
    """The tag–entry link: a plain foreign key, not a generic relation."""

    objects = TaggedEntryManager()

    content_object = models.ForeignKey(
        "Entry", on_delete=models.CASCADE, related_name="tagged_items"
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="tagged_entries")

    class Meta:
        verbose_name = "条目标签"
        verbose_name_plural = "条目标签"
        constraints = [
            models.UniqueConstraint(fields=["content_object", "tag"], name="tagged_entry_unique"),
        ]

    def natural_key(self):
        return (*self.content_object.natural_key(), self.tag.name)

    natural_key.dependencies = ["papers.entry", "papers.tag"]


class EntryTagsManager(_TaggableManager):
    """``entry.tags``: taggit's manager (the field's ``manager``), cheaper to prefetch.

    A prefetch gives each entry a queryset of its own tags to hold them, and
    taggit builds that queryset's SQL filter there and then, for every entry:
    a quarter of the time an issue page spent loading its entries
    (docs/render-benchmark.md). Given a queryset (``for_listing()``'s
    ``Prefetch``), Django asks ``_apply_rel_filters`` for it instead, and this
    one defers the entry's filter, as Django's own related managers do: it is
    built only if that queryset is ever filtered again. The tags are fetched
    by taggit's one query as before; the given queryset only orders them.
    """

    def get_prefetch_querysets(self, instances, querysets=None):
        if querysets and querysets[0].query.has_filters():
            raise ValueError("entry.tags prefetches all of an entry's tags, never a filtered few")
        return super().get_prefetch_querysets(instances)

    def _apply_rel_filters(self, queryset):
        queryset._defer_next_filter = True
        lookup = f"{self.through.tag_relname()}__content_object"
        return queryset.filter(**{lookup: self.instance})


class EntryQuerySet(models.QuerySet):
    def get_by_natural_key(self, issue_slug, section_slug, position):
        return self.get(issue__slug=issue_slug, section__slug=section_slug, position=position)

    def published(self):
        """Entries of published issues: the only public entries."""
        return self.filter(issue__in=Issue.objects.published())

    def for_listing(self, issue_known=False):
        """Everything a list of entries prints, in a fixed number of queries.

        ``issue_known``: the entries are read through one issue's ``entries``,
        and Django gives each that issue object; joining the issue again would
        only make a copy of it per entry.
        """
        related = ("section",) if issue_known else ("issue", "section")
        tags = Prefetch("tags", queryset=Tag.objects.order_by(*ENTRY_TAG_ORDER))
        return self.select_related(*related).prefetch_related(tags)

    def with_known_count(self, count):
        """This queryset, answering ``count()`` (a paginator's question) with
        ``count`` instead of a query: papers.search has just counted its
        results while finding them. A queryset made from it (filtered,
        sliced...) counts again."""
        known = self._chain()
        known._known_count = count
        return known

    def count(self):
        known = getattr(self, "_known_count", None)
        return super().count() if known is None else known

    def park_positions(self):
        """Move these entries out of the way of the unique position
        constraint, in one UPDATE, before a save that reorders them row by
        row (a swap of 1 and 2 would otherwise collide halfway)."""
        return self.update(position=F("position") + POSITION_PARKING_OFFSET)

    def in_issue_order(self):
        """As an issue prints its entries: section by section, each section's
        entries by position (the issue page, its preview, its BibTeX file and
        roundup file, the issue in the feed and in the API)."""
        return self.order_by(*ENTRY_ORDER_IN_ISSUE, "pk")

    def newest_first(self):
        """The order of every list of entries: their issues as
        ``IssueQuerySet.newest_first()`` lists them, and within each issue as
        the issue itself prints them (``in_issue_order()``)."""
        return self.order_by("-issue__published_at", "-issue_id", *ENTRY_ORDER_IN_ISSUE, "pk")

    def with_issue_state(self):
        """Each entry with its issue and ``issue_is_live``: whether readers see
        that issue now, by ``IssueQuerySet.published()``, asked once for a
        whole list instead of once per entry."""
        public = Issue.objects.published().filter(pk=OuterRef("issue_id"))
        return self.select_related("issue").annotate(issue_is_live=Exists(public))

    def by_section(self):
        """[(section, [entries...]), ...]: runs of entries of one section, in
        this queryset's order (``in_issue_order()`` gives one run per section)."""
        return [
            (section, list(entries))
            for section, entries in groupby(self, key=attrgetter("section"))
        ]


# Positions within a section stop at MAX_POSITION, so that a save that moves
# rows can park them at ``position + POSITION_PARKING_OFFSET`` out of the way
# (the column is a smallint: 32767 at most on PostgreSQL).
MAX_POSITION = 999
POSITION_PARKING_OFFSET = 30000


class Entry(EditTokenModel):
    issue = models.ForeignKey(
        Issue, on_delete=models.CASCADE, related_name="entries", verbose_name="期"
    )
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="entries", verbose_name="栏目"
    )
    position = models.PositiveSmallIntegerField(
        "序号",
        default=1,
        validators=[MaxValueValidator(MAX_POSITION)],
    )
    title = models.CharField("论文标题", max_length=300)
    arxiv_id = ArxivIdField(
        "论文的 arXiv 编号",
        blank=True,
        db_index=True,
        help_text="可粘贴 arXiv 链接或编号，保存时规范为 2406.15877 的形式。",
    )
    url = models.URLField("链接", blank=True, max_length=500, help_text="论文不在 arXiv 上时填写。")
    authors = models.CharField("作者", max_length=500, blank=True)
    summary = models.TextField("摘要", help_text="支持 Markdown。")
    summary_html = models.TextField(editable=False, blank=True)
    tags = TaggableManager(
        through=TaggedEntry,
        manager=EntryTagsManager,
        blank=True,
        verbose_name="标签",
        # An entry's tags in one order everywhere (taggit clears the model's
        # ordering unless told): by name, as the tag index lists them.
        ordering=list(ENTRY_TAG_ORDER),
        help_text="用逗号、顿号或分号分隔，如：长上下文，检索增强生成、幻觉",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntryQuerySet.as_manager()
    markdown_fields = {"summary": "summary_html"}
    # What editors write about the paper, besides where the entry stands
    # (issue, section, position) and its tags: the fields history compares one
    # by one. A field editors write belongs here (docs/architecture.md).
    content_fields = ("title", "arxiv_id", "url", "authors", "summary")

    class Meta:
        ordering = ["issue", *ENTRY_ORDER_IN_ISSUE]
        verbose_name = "条目"
        verbose_name_plural = "条目"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "section", "position"],
                name="entry_unique_position_in_issue_section",
                violation_error_message="本期该栏目中已有这个序号的条目。",
            ),
            models.CheckConstraint(
                condition=~Q(arxiv_id="") | ~Q(url=""),
                name="entry_has_arxiv_id_or_url",
                violation_error_message="请填写 arXiv 编号或链接。",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"{self.issue.get_absolute_url()}#{self.anchor}"

    def natural_key(self):
        return (self.issue.slug, self.section.slug, self.position)

    natural_key.dependencies = ["papers.issue", "papers.section"]

    @property
    def author_names(self):
        """The authors as a list: ``authors`` is one string, "A, B, C"; blank
        names (a stray comma, a field of spaces) are dropped, so an entry
        with none shows and cites none."""
        return [name.strip() for name in self.authors.split(",") if name.strip()]

    @property
    def tag_links_for_history(self):
        """The entry's tag links with their tags and their entry: what a
        version records of each (django-reversion follows this; a link's name,
        "<entry> tagged with <tag>", would otherwise cost two queries a link,
        some hundred for one save of an issue)."""
        return self.tagged_items.select_related("tag", "content_object")

    @property
    def anchor(self):
        return f"entry-{self.pk}"

    @property
    def link(self):
        """Where the paper itself is: its arXiv abstract, or the given URL if
        that is a web address ("" otherwise)."""
        return arxiv.abstract_url(self.arxiv_id) if self.arxiv_id else web_link(self.url)

    @property
    def pdf_link(self):
        return arxiv.pdf_url(self.arxiv_id) if self.arxiv_id else ""

    def get_paper_url(self):
        if self.arxiv_id:
            return reverse_or_index(
                self, "reading:paper_detail", "reading:entry_list", arxiv_id=self.arxiv_id
            )
        return ""


def render_derived_fields(sender, instance, **kwargs):
    """Fill the ``*_html`` fields before every save, fixture loads included.

    ``loaddata`` saves with ``raw=True`` and skips ``Model.save()``, but it
    still sends ``pre_save``, so rendering here keeps loaded rows right.
    """
    for source, target in sender.markdown_fields.items():
        setattr(instance, target, render_markdown(getattr(instance, source)))


models.signals.pre_save.connect(render_derived_fields, sender=Issue)
models.signals.pre_save.connect(render_derived_fields, sender=Entry)


# The longest term papers.related keeps (a longer "word" is noise, not a topic).
TERM_MAX_LENGTH = 64


class FtsRowidField(models.OneToOneField):
    """The rowid of SQLite's FTS5 index table, pointing at the entry.

    It carries the ``match`` lookup: ``Entry.objects.filter(fts_row__match=q)``
    joins the index and matches through FTS5's hidden column named like the
    table, which works under the aliases Django gives tables in subqueries.
    """


@FtsRowidField.register_lookup
class FullTextMatch(models.Lookup):
    lookup_name = "match"

    def as_sql(self, compiler, connection):
        rhs, rhs_params = self.process_rhs(compiler, connection)
        table = self.lhs.target.model._meta.db_table
        return f'"{self.lhs.alias}"."{table}" MATCH {rhs}', rhs_params

    def get_prep_lookup(self):
        return self.rhs  # a query string, not a row id


class SearchDocument(models.Model):
    """An entry's text as the full-text index reads it: already tokenised by
    papers.search (Chinese bigrams, lower-case words), in three weighted
    parts. Written by papers.search.index_entries on every change."""

    entry = models.OneToOneField(
        Entry, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    title = models.TextField(blank=True)
    keywords = models.TextField(blank=True)
    body = models.TextField(blank=True)
    vector = SearchVectorField(null=True, editable=False)  # PostgreSQL only

    class Meta:
        verbose_name = "检索文档"
        verbose_name_plural = "检索文档"

    def __str__(self):
        return f"search document of entry {self.entry_id}"


class SearchWord(models.Model):
    """A word of Latin letters and digits, four or more, that some search
    document holds. A query's prefix, hallucination*, is looked up here and
    handed to the full-text index as the words it begins (hallucination |
    hallucinations), which PostgreSQL's GIN index and SQLite's FTS5 both
    answer several times as fast as a prefix (docs/search-benchmark.md).
    Kept by triggers on the search documents (migrations 0009 for PostgreSQL,
    0012 for SQLite); a word is never removed: one that no document holds any
    more costs an empty look-up."""

    word = models.TextField(primary_key=True)

    class Meta:
        verbose_name = "检索词"
        verbose_name_plural = "检索词"

    def __str__(self):
        return self.word


class GlossaryTermQuerySet(models.QuerySet):
    def forms_by_key(self):
        """{form as a query's words read it (papers.search.glossary_key): every
        form of the terms it names}: how search expands a query, in one query."""
        from papers.search import glossary_key

        found = {}
        for term in self:
            forms = term.forms()
            for key in map(glossary_key, forms):
                found[key] = list(dict.fromkeys([*found.get(key, []), *forms]))
        return found


class GlossaryTerm(models.Model):
    """A term of the field in Chinese with its English forms and
    abbreviations (幻觉 ↔ hallucination; 检索增强生成 ↔ RAG,
    retrieval-augmented generation). A reader's query naming any form also
    finds the others (papers.search); editors keep the list in the admin."""

    chinese = models.CharField("中文", max_length=100, unique=True)
    english = models.CharField(
        "英文与缩写",
        max_length=300,
        help_text="用逗号分隔，如：RAG, retrieval-augmented generation",
    )

    objects = GlossaryTermQuerySet.as_manager()

    class Meta:
        ordering = ["chinese"]
        verbose_name = "术语"
        verbose_name_plural = "术语表"

    def __str__(self):
        return f"{self.chinese} ↔ {self.english}"

    def forms(self):
        """The Chinese term and each English form, as written, without repeats."""
        english = [part.strip() for part in re.split(r"[,，、;；\n]", self.english)]
        return list(dict.fromkeys(part for part in [self.chinese.strip(), *english] if part))


class TermCount(models.Model):
    """How many entries use a term (a token of papers.search.tokens): the
    document frequency that weighs terms for related entries (papers.related),
    kept up to date at each save rather than counted over the archive."""

    term = models.CharField(max_length=TERM_MAX_LENGTH, primary_key=True)
    entries = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "词项计数"
        verbose_name_plural = "词项计数"

    def __str__(self):
        return f"{self.term}: {self.entries}"


class EntryTerms(models.Model):
    """An entry's terms with their tf-idf weights (a unit vector), as
    papers.related last computed them: compared with another entry's, they
    say how alike the two are, and their keys say which counts to lower when
    the entry changes."""

    entry = models.OneToOneField(
        Entry, on_delete=models.CASCADE, primary_key=True, related_name="related_terms"
    )
    weights = models.JSONField(default=dict)

    class Meta:
        verbose_name = "条目词项"
        verbose_name_plural = "条目词项"

    def __str__(self):
        return f"terms of entry {self.entry_id}"


class TermPosting(models.Model):
    """One of an entry's heaviest terms: where papers.related looks for
    candidates that share a term, by weight or newest first, reading a few
    rows of an index rather than every entry that uses the term."""

    term = models.CharField(max_length=TERM_MAX_LENGTH)
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    weight = models.FloatField()

    class Meta:
        verbose_name = "词项索引"
        verbose_name_plural = "词项索引"
        indexes = [
            models.Index(fields=["term", "-weight"], name="termposting_by_weight"),
            models.Index(fields=["term", "-entry"], name="termposting_newest"),
        ]

    def __str__(self):
        return f"{self.term} in entry {self.entry_id}"


class RelatedEntryQuerySet(models.QuerySet):
    def public_for(self, entries):
        """The stored related rows of ``entries`` whose related entry is public
        now (``Entry.objects.published()``, asked as the page is made: an entry
        whose issue is a draft or was unpublished never shows), best first,
        each with its related entry, issue and section."""
        return (
            self.filter(entry__in=entries, related__in=Entry.objects.published())
            .select_related("related__issue", "related__section")
            .order_by("-score", "-related__issue__published_at", "related_id")
        )

    def entries_with_reasons(self):
        """The related entries of these rows, in their order, each with
        ``shared_terms``: the reason the paper page and the API give."""
        entries = []
        for row in self:
            row.related.shared_terms = row.shared_terms
            entries.append(row.related)
        return entries


class RelatedEntry(models.Model):
    """Entry ``related`` is like ``entry`` by content (papers.related): the
    ``score`` that ranks it in ``entry``'s list and the terms they share,
    most telling first, which the page gives as the reason."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="related_rows")
    related = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    shared_terms = models.JSONField(default=list)

    objects = RelatedEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "相关条目"
        verbose_name_plural = "相关条目"
        constraints = [
            models.UniqueConstraint(fields=["entry", "related"], name="related_entry_unique"),
            models.CheckConstraint(
                condition=~Q(entry=F("related")), name="related_entry_not_itself"
            ),
        ]
        indexes = [models.Index(fields=["entry", "-score"], name="relatedentry_best_first")]

    def __str__(self):
        return f"entry {self.related_id} related to entry {self.entry_id}"


class SqliteSearchIndex(models.Model):
    """SQLite's FTS5 table over SearchDocument (made by a migration, kept in
    step by triggers); read-only from Django, and absent on PostgreSQL."""

    entry = FtsRowidField(
        Entry,
        on_delete=models.DO_NOTHING,
        primary_key=True,
        db_column="rowid",
        related_name="fts_row",
        db_constraint=False,
    )
    title = models.TextField()
    keywords = models.TextField()
    body = models.TextField()
    # FTS5's hidden rank column: bm25 with the column weights set by the migration.
    rank = models.FloatField()

    class Meta:
        managed = False
        db_table = "papers_searchdocument_fts"

    def __str__(self):
        return f"index row of entry {self.entry_id}"


# Revision history (django-reversion): an issue's versions include its entries,
# and an entry's include its tags, so a restore brings all of them back.
reversion.register(TaggedEntry)
reversion.register(Entry, follow=["tag_links_for_history"])
reversion.register(Issue, follow=["entries"])
