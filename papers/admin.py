"""The editors' admin: an issue and its entries on one page.

Entries sit inline under their issue, ordered by section and position; an
editor reorders them by changing positions, even by swapping two positions
in one save (see ``EntryInlineFormSet``).
"""

from django.contrib import admin
from django.db import models, transaction
from django.db.models import Count, F
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from taggit.forms import TagWidget
from taggit.managers import TaggableManager
from taggit.models import Tag as TaggitTag

from .models import Entry, Issue, Section, Tag

admin.site.unregister(TaggitTag)  # this site uses its own Tag model

TAG_SUGGESTIONS_SHOWN = 500

ENTRY_FIELD_OVERRIDES = {
    # A link typed without a scheme is an https link (Django 6's default).
    models.URLField: {"assume_scheme": "https"},
    # Suggest existing tags (static/js/tag-input.js completes the last one).
    TaggableManager: {
        "widget": TagWidget(
            attrs={"class": "vTextField tag-input", "list": "tag-suggestions",
                   "autocomplete": "off", "spellcheck": "false"}
        )
    },
}


class TagSuggestionsMixin:
    """Puts the most used tag names in the change form for the tag inputs."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        names = (
            Tag.objects.annotate(uses=Count("tagged_entries"))
            .order_by("-uses", "name")
            .values_list("name", flat=True)[:TAG_SUGGESTIONS_SHOWN]
        )
        extra_context = {**(extra_context or {}), "tag_suggestions": list(names)}
        return super().changeform_view(request, object_id, form_url, extra_context)


class EntryInlineFormSet(BaseInlineFormSet):
    """Saves reordered entries without tripping the unique position constraint.

    Swapping positions 1 and 2 saves row by row, so the first row would land
    on a position the second still holds. Moved rows are first parked out of
    the way, in the same transaction, and then saved where the editor put
    them. Duplicates among the submitted rows are still caught by the
    formset's own unique check before anything is saved.
    """

    PARKING_OFFSET = 30000

    def save(self, commit=True):
        if not commit:
            return super().save(commit=commit)
        moved = [
            form.instance.pk
            for form in self.initial_forms
            if form.instance.pk
            and form not in self.deleted_forms
            and {"position", "section"} & set(form.changed_data)
        ]
        with transaction.atomic():
            if moved:
                Entry.objects.filter(pk__in=moved).update(
                    position=F("position") + self.PARKING_OFFSET
                )
            return super().save(commit=commit)


class EntryInline(admin.StackedInline):
    model = Entry
    formset = EntryInlineFormSet
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    extra = 1
    fields = [
        ("section", "position"),
        "title",
        ("arxiv_id", "url"),
        "authors",
        "summary",
        "tags",
    ]
    ordering = ["section__position", "section__name", "position"]
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("section").prefetch_related("tags")


@admin.register(Issue)
class IssueAdmin(TagSuggestionsMixin, admin.ModelAdmin):
    inlines = [EntryInline]
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    list_display = ["title", "status", "period", "entry_count", "published_at"]
    list_filter = ["status", "period_end"]
    search_fields = ["title", "slug", "intro"]
    date_hierarchy = "period_end"
    ordering = ["-period_end", "-pk"]
    fieldsets = [
        (None, {"fields": ["title", "slug", ("period_start", "period_end"), "intro"]}),
        ("发布", {"fields": [("status", "published_at"), "source_url"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description="时段", ordering="period_start")
    def period(self, issue):
        return f"{issue.period_start:%Y-%m-%d} – {issue.period_end:%Y-%m-%d}"

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, issue):
        return issue.entry_count


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "entry_count"]
    list_editable = ["position"]
    search_fields = ["name", "slug", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("entries"))

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, section):
        return section.entry_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "entry_count"]
    search_fields = ["name", "slug"]
    ordering = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("tagged_entries"))

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, tag):
        return tag.entry_count


@admin.register(Entry)
class EntryAdmin(TagSuggestionsMixin, admin.ModelAdmin):
    list_display = ["title", "paper", "issue", "section", "position", "tag_list"]
    list_filter = ["issue__status", "section", "issue", "tags"]
    search_fields = ["title", "summary", "arxiv_id", "authors", "tags__name"]
    list_select_related = ["issue", "section"]
    autocomplete_fields = ["issue"]
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    fields = [
        "issue",
        ("section", "position"),
        "title",
        ("arxiv_id", "url"),
        "authors",
        "summary",
        "tags",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags")

    @admin.display(description="arXiv / 链接", ordering="arxiv_id")
    def paper(self, entry):
        label = entry.arxiv_id or "链接"
        return format_html('<a href="{}" rel="noopener">{}</a>', entry.link, label)

    @admin.display(description="标签")
    def tag_list(self, entry):
        return "，".join(tag.name for tag in entry.tags.all())
