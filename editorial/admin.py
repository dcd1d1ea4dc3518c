"""The editors' admin: an issue and its entries on one page.

Entries sit inline under their issue, ordered by section and position, and
can be moved with buttons or by dragging (static/js/entry-order.js). Every
save is a revision (django-reversion, with a compare view); a save over
someone else's newer save is merged with it (editorial.merge). Editors write;
only publishers publish, schedule, unpublish and delete (groups made by a data
migration, enforced here).
"""

import reversion
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from taggit.forms import TagWidget
from taggit.managers import TaggableManager
from taggit.models import Tag as TaggitTag

from editorial import admin_links, admin_views, entry_rows, presence, restore, roundup_markdown
from editorial.admin_widgets import BareSectionSelectMixin
from editorial.forms import EditTokenAdminForm, MinuteDateTimeField
from editorial.history_admin import ContentHistoryAdmin
from editorial.merge_admin import MergeAdminMixin, MergingInlineFormSetMixin
from papers.models import Entry, GlossaryTerm, Issue, Section, Tag
from reading.templatetags.digest import period

admin.site.unregister(TaggitTag)  # this site uses its own Tag model

TAG_SUGGESTIONS_SHOWN = 500

ENTRY_FIELD_OVERRIDES = {
    # A link typed without a scheme is an https link (Django 6's default).
    models.URLField: {"assume_scheme": "https"},
    # The time input shows minutes: an untouched time keeps its seconds.
    models.DateTimeField: {"form_class": MinuteDateTimeField},
    # Suggest existing tags (static/js/tag-input.js completes the last one).
    TaggableManager: {
        "widget": TagWidget(
            attrs={
                "class": "vTextField tag-input",
                "list": "tag-suggestions",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        )
    },
}

# An entry's form, under its issue and on its own page (which adds the issue):
# one list, so that a field added to Entry is editable in both at once. A pair
# shares a line; ``seen_token`` is the edit token the merge reads.
ENTRY_FORM_FIELDS = (
    ("section", "position"),
    "title",
    ("arxiv_id", "url"),
    "authors",
    "summary",
    "tags",
    "seen_token",
)


class EditorToolsMixin:
    """What the writing pages need: tag suggestions, the live Markdown
    preview and the arXiv look-up (their URLs go to the page's scripts),
    and the editors' stylesheet on their forms and lists."""

    class Media:
        css = {"all": ["css/editor.css", "css/merge.css"]}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        names = (
            Tag.objects.with_entry_counts()
            .most_used_first()
            .values_list("name", flat=True)[:TAG_SUGGESTIONS_SHOWN]
        )
        extra_context = {
            **(extra_context or {}),
            "tag_suggestions": list(names),
            "markdown_preview_url": reverse("admin:papers_markdown_preview"),
            "arxiv_metadata_url": reverse("admin:papers_arxiv_metadata"),
            # The issue being written, so the arXiv look-up lists only other issues.
            "editor_issue_id": self.issue_id_for(object_id),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def issue_id_for(self, object_id):
        """The issue the page writes in (none by default)."""
        return ""


def announce_earlier_coverage(request, entries):
    """A notice for each entry whose paper another issue already covered."""
    entries = [entry for entry in entries if entry.arxiv_id]
    if not entries:
        return
    earlier = (
        Entry.objects.filter(arxiv_id__in={entry.arxiv_id for entry in entries})
        .select_related("issue")
        .order_by("issue__period_end")
    )
    for entry in entries:
        others = [
            e for e in earlier if e.arxiv_id == entry.arxiv_id and e.issue_id != entry.issue_id
        ]
        if others:
            links = format_html_join(
                "、",
                '<a href="{}">{}</a>',
                (
                    (reverse("admin:papers_entry_change", args=[e.pk]), e.issue.title)
                    for e in others
                ),
            )
            messages.info(
                request,
                format_html(
                    "《{}》（arXiv:{}）之前已收录于：{}。", entry.title, entry.arxiv_id, links
                ),
            )


class EntryInlineFormSet(MergingInlineFormSetMixin, BaseInlineFormSet):
    """Saves reordered entries without tripping the unique position constraint.

    Swapping positions 1 and 2 saves row by row, so the first row would land
    on a position the second still holds. Moved rows are first parked out of
    the way, in the same transaction, and then saved where the editor put
    them. New rows are numbered, and clashes refused, by editorial.entry_rows
    before anything is saved.
    """

    def clean(self):
        entry_rows.check_inline_rows(self)
        super().clean()

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
                Entry.objects.filter(pk__in=moved).park_positions()
            return super().save(commit=commit)


class EntryInline(BareSectionSelectMixin, admin.StackedInline):
    model = Entry
    form = EditTokenAdminForm
    formset = EntryInlineFormSet
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    extra = 1
    fields = ENTRY_FORM_FIELDS
    show_change_link = True
    classes = ["entry-inline"]

    def get_queryset(self, request):
        """The issue's entries as its page prints them."""
        entries = (
            super()
            .get_queryset(request)
            .select_related("section")
            .prefetch_related("tags")
            .in_issue_order()
        )
        return entries.with_issue_state()

    def view_on_site(self, entry):
        return admin_links.entry_url(entry)


@admin.register(Issue)
class IssueAdmin(MergeAdminMixin, EditorToolsMixin, ContentHistoryAdmin):
    form = EditTokenAdminForm
    inlines = [EntryInline]
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    change_form_template = "admin/papers/issue/change_form.html"
    restore_base_template = change_form_template
    kept_on_restore = restore.ISSUE_KEPT_FIELDS
    list_display = ["title", "state", "period", "entry_count", "published_at"]
    list_filter = ["status", "period_end"]
    search_fields = ["title", "slug", "intro"]
    date_hierarchy = "period_end"
    ordering = ["-period_end", "-pk"]
    actions = ["publish_now", "unpublish", "download_markdown"]
    fieldsets = [
        (None, {"fields": ["title", "slug", ("period_start", "period_end"), "intro"]}),
        ("发布", {"fields": [("status", "published_at"), "source_url", "seen_token"]}),
    ]

    def issue_id_for(self, object_id):
        return object_id or ""

    def view_on_site(self, issue):
        return admin_links.issue_url(issue)

    # Roles ---------------------------------------------------------------

    def has_publish_permission(self, request, obj=None):
        return request.user.has_perm("papers.publish_issue")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request):
            readonly += [name for name in ("status", "published_at") if name not in readonly]
        return readonly

    def save_model(self, request, obj, form, change):
        if not self.has_publish_permission(request):
            before = (
                Issue.objects.filter(pk=obj.pk).values_list("status", "published_at").first()
                if change
                else (Issue.Status.DRAFT, None)
            )
            if (obj.status, obj.published_at) != before:
                raise PermissionDenied("只有发布者可以发布、定时发布或撤回一期。")
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is Entry:
            changed = [entry for entry, fields in formset.changed_objects if "arxiv_id" in fields]
            announce_earlier_coverage(request, [*formset.new_objects, *changed])

    # The list ------------------------------------------------------------

    def get_queryset(self, request):
        return super().get_queryset(request).with_entry_counts().with_public_state()

    @admin.display(description="状态", ordering="status")
    def state(self, issue):
        if issue.is_live:
            label, css = ("已发布", "live")
        elif issue.status == Issue.Status.SCHEDULED:
            label, css = (f"定时 {issue.published_at:%Y-%m-%d %H:%M}", "scheduled")
        else:
            label, css = ("草稿", "draft")
        return format_html('<span class="issue-state issue-state-{}">{}</span>', css, label)

    @admin.display(description="时段", ordering="period_start")
    def period(self, issue):
        return f"{issue.period_start:%Y-%m-%d} – {issue.period_end:%Y-%m-%d}"

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, issue):
        return issue.entry_count

    # Publishing ----------------------------------------------------------

    def _set_state(self, request, issues, change, comment):
        with transaction.atomic(), reversion.create_revision():
            reversion.set_user(request.user)
            reversion.set_comment(comment)
            for issue in issues:
                change(issue)

    @admin.action(description="立即发布所选的期", permissions=["publish"])
    def publish_now(self, request, queryset):
        self._set_state(request, queryset, Issue.publish, "发布")
        self.message_user(request, f"已发布 {queryset.count()} 期。", messages.SUCCESS)

    @admin.action(description="撤回所选的期（改回草稿）", permissions=["publish"])
    def unpublish(self, request, queryset):
        self._set_state(request, queryset, Issue.unpublish, "撤回发布")
        self.message_user(request, f"已撤回 {queryset.count()} 期。", messages.SUCCESS)

    @admin.action(description="导出所选的一期为 Markdown", permissions=["view"])
    def download_markdown(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "请只选择一期导出。", messages.WARNING)
            return None
        return self._markdown_download(request, queryset.get())

    def _markdown_download(self, request, issue):
        """The issue as a Markdown file, or a message saying why it cannot be."""
        try:
            text = roundup_markdown.export_roundup(issue)
        except roundup_markdown.RoundupExportError as error:
            self.message_user(request, str(error), messages.ERROR)
            return self._back_to(issue)
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{issue.slug}.md"'
        return response

    # Extra pages -----------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/preview/", wrap(self.preview_view), name="papers_issue_preview"),
            path("<path:object_id>/wechat/", wrap(self.wechat_view), name="papers_issue_wechat"),
            path("<path:object_id>/publish/", wrap(self.publish_view), name="papers_issue_publish"),
            path(
                "<path:object_id>/unpublish/",
                wrap(self.unpublish_view),
                name="papers_issue_unpublish",
            ),
            path(
                "<path:object_id>/markdown/", wrap(self.markdown_view), name="papers_issue_markdown"
            ),
            path(
                "<path:object_id>/heartbeat/",
                wrap(self.heartbeat_view),
                name="papers_issue_heartbeat",
            ),
            path("<path:object_id>/leave/", wrap(self.leave_view), name="papers_issue_leave"),
            path(
                "markdown-preview/",
                wrap(admin_views.markdown_preview),
                name="papers_markdown_preview",
            ),
            path("arxiv-metadata/", wrap(admin_views.arxiv_metadata), name="papers_arxiv_metadata"),
            *super().get_urls(),
        ]

    def _issue_for(self, request, object_id, permission):
        """The issue, with ``is_live`` (whether readers see it now), if the
        user may ``permission`` it."""
        issue = get_object_or_404(Issue.objects.with_public_state(), pk=object_id)
        if not permission(request, issue):
            raise PermissionDenied
        return issue

    def preview_view(self, request, object_id):
        self._issue_for(request, object_id, self.has_view_permission)
        return admin_views.preview_issue(request, object_id)

    def wechat_view(self, request, object_id):
        issue = self._issue_for(request, object_id, self.has_view_permission)
        return admin_views.wechat_article(request, issue, self.admin_site.each_context(request))

    def markdown_view(self, request, object_id):
        issue = self._issue_for(request, object_id, self.has_view_permission)
        return self._markdown_download(request, issue)

    def heartbeat_view(self, request, object_id):
        self._issue_for(request, object_id, self.has_change_permission)
        return admin_views.editing_heartbeat(request, object_id)

    def leave_view(self, request, object_id):
        self._issue_for(request, object_id, self.has_change_permission)
        return admin_views.editing_left(request, object_id)

    @staticmethod
    def _back_to(issue):
        return HttpResponseRedirect(reverse("admin:papers_issue_change", args=[issue.pk]))

    def publish_view(self, request, object_id):
        return self._state_view(request, object_id, Issue.publish, "发布", "已发布。")

    def unpublish_view(self, request, object_id):
        return self._state_view(
            request, object_id, Issue.unpublish, "撤回发布", "已撤回，这一期现在是草稿。"
        )

    def _state_view(self, request, object_id, change, comment, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        issue = self._issue_for(request, object_id, self.has_publish_permission)
        self._set_state(request, [issue], change, comment)
        self.message_user(request, done, messages.SUCCESS)
        return self._back_to(issue)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        issue = Issue.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if issue is not None:
            presence.mark_editing(issue, request.user)
            extra_context.update(
                others_editing=presence.others_editing(issue, request.user),
                can_publish=self.has_publish_permission(request),
                heartbeat_seconds=presence.heartbeat_seconds(),
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "entry_count"]
    list_editable = ["position"]
    search_fields = ["name", "slug", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_entry_counts()

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, section):
        return section.entry_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "entry_count"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    actions = ["merge_tags"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_entry_counts()

    @admin.display(description="条目数", ordering="entry_count")
    def entry_count(self, tag):
        return tag.entry_count

    def has_merge_permission(self, request):
        """Merging changes tags and deletes all but one."""
        return self.has_change_permission(request) and self.has_delete_permission(request)

    @admin.action(description="合并所选标签", permissions=["merge"])
    def merge_tags(self, request, queryset):
        """Ask which tag to keep, then give its entries to it (Tag.objects.merge_into)."""
        tags = list(queryset.with_entry_counts().most_used_first())
        if len(tags) < 2:
            self.message_user(request, "请至少选择两个标签来合并。", messages.WARNING)
            return None
        kept = next((tag for tag in tags if str(tag.pk) == request.POST.get("target")), None)
        if request.POST.get("post") == "yes" and kept is not None:
            with reversion.create_revision():
                reversion.set_user(request.user)
                merged = Tag.objects.filter(pk__in=[t.pk for t in tags]).merge_into(kept)
            self.message_user(
                request, f"已把 {merged} 个标签合并到“{kept.name}”。", messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "合并标签",
            "tags": tags,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "error": "请选择要保留的标签。" if request.POST.get("post") == "yes" else "",
        }
        return TemplateResponse(request, "admin/papers/tag/merge_tags.html", context)


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(admin.ModelAdmin):
    """The glossary search expands queries by: a term in Chinese with its
    English forms and abbreviations (papers.search, docs/search.md)."""

    list_display = ["chinese", "english"]
    search_fields = ["chinese", "english"]


@admin.register(Entry)
class EntryAdmin(MergeAdminMixin, BareSectionSelectMixin, EditorToolsMixin, ContentHistoryAdmin):
    form = entry_rows.EntryForm
    formfield_overrides = ENTRY_FIELD_OVERRIDES
    list_display = ["title", "paper", "issue_period", "section", "position", "tag_list"]
    list_filter = ["issue__status", "section", "issue", "tags"]
    search_fields = ["title", "summary", "arxiv_id", "authors", "tags__name"]
    list_select_related = ["issue", "section"]
    autocomplete_fields = ["issue"]
    fields = ("issue", *ENTRY_FORM_FIELDS)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags").with_issue_state()

    def view_on_site(self, entry):
        return admin_links.entry_url(entry)

    def issue_id_for(self, object_id):
        if not object_id or not str(object_id).isdigit():
            return ""
        return Entry.objects.filter(pk=object_id).values_list("issue_id", flat=True).first() or ""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or "arxiv_id" in form.changed_data:
            announce_earlier_coverage(request, [obj])

    @admin.display(description="arXiv / 链接", ordering="arxiv_id")
    def paper(self, entry):
        label = entry.arxiv_id or "链接"
        if not entry.link:
            return label
        return format_html('<a href="{}" rel="noopener">{}</a>', entry.link, label)

    @admin.display(description="期", ordering="issue__period_end")
    def issue_period(self, entry):
        """The issue by its period, as entry lists on the site name it; its
        whole title (40-odd characters) would crowd out the entries' own."""
        return format_html('<span title="{}">{}</span>', entry.issue.title, period(entry.issue))

    @admin.display(description="标签")
    def tag_list(self, entry):
        return "，".join(tag.name for tag in entry.tags.all())
