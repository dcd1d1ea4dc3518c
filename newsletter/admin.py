"""Subscribers, mailings and deliveries in the admin, for publishers only.

Addresses are personal data: the Publisher group holds the permissions
(migration 0002), editors hold none, so they see none of this. Staff cannot
add a subscriber: a subscription is the reader's own, confirmed from their
mailbox (double opt-in), and an address typed in here would get mail nobody
asked for. Mailings and deliveries are records of what was sent, written by
``newsletter.delivery`` only: read-only here. The panel on an issue's page
that sends it is mounted by ``MailingAdmin.get_urls`` (newsletter.admin_views).
"""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

from papers.models import Section, Tag

from . import admin_views
from .models import Delivery, Mailing, Subscriber

# A spreadsheet runs a cell that starts with one of these as a formula
# (OWASP "CSV injection"); a leading apostrophe makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def selection_summary(subscriber):
    """What a subscriber receives, in a few words (sections and tags prefetched)."""
    if subscriber.every_issue:
        return "每一期"
    parts = []
    sections = "、".join(section.name for section in subscriber.sections.all())
    tags = "、".join(tag.name for tag in subscriber.tags.all())
    if sections:
        parts.append(f"栏目：{sections}")
    if tags:
        parts.append(f"标签：{tags}")
    return "；".join(parts) or "（未选择任何内容）"


class OfferedChoiceFilter(admin.SimpleListFilter):
    """Filters only by a value it offered: anything else in the address
    (typed, stale, hostile) is ignored rather than sent to the database."""

    def queryset(self, request, queryset):
        offered = {str(value) for value, _ in self.lookup_choices}
        if self.value() is None or self.value() not in offered:
            return None
        return self.filter(queryset, self.value())


class FollowedSectionFilter(OfferedChoiceFilter):
    title = "关注的栏目"
    parameter_name = "section"

    def lookups(self, request, model_admin):
        followed = Section.objects.filter(subscribers__isnull=False).distinct()
        return [(section.pk, section.name) for section in followed.order_by("position", "pk")]

    def filter(self, queryset, value):
        return queryset.filter(sections__pk=value)


class FollowedTagFilter(OfferedChoiceFilter):
    title = "关注的标签"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        followed = Tag.objects.filter(subscribers__isnull=False).distinct()
        return [(tag.pk, tag.name) for tag in followed.order_by("name", "pk")]

    def filter(self, queryset, value):
        return queryset.filter(tags__pk=value)


CSV_COLUMNS = [
    ("邮箱", lambda s: s.email),
    ("邮件语言", lambda s: s.get_language_display()),
    ("状态", lambda s: s.get_status_display()),
    ("暂停接收", lambda s: "是" if s.paused else "否"),
    ("接收内容", selection_summary),
    ("订阅时间", lambda s: s.created_at),
    ("确认时间", lambda s: s.confirmed_at),
    ("退订时间", lambda s: s.unsubscribed_at),
    ("退信时间", lambda s: s.bounced_at),
]


def csv_cell(value):
    if hasattr(value, "tzinfo"):
        value = f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return spreadsheet_safe(value)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "language",
        "status",
        "paused",
        "selection",
        "created_at",
        "confirmed_at",
    ]
    list_filter = [
        "status",
        "paused",
        "language",
        "every_issue",
        FollowedSectionFilter,
        FollowedTagFilter,
    ]
    search_fields = ["email"]
    actions = ["export_csv"]
    autocomplete_fields = ["sections", "tags"]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["email", "status", "paused", "language"]}),
        ("接收内容", {"fields": ["every_issue", "sections", "tags"]}),
        (
            "记录",
            {
                "fields": [
                    "created_at",
                    "confirmation_sent_at",
                    "confirmed_at",
                    "unsubscribed_at",
                    "bounced_at",
                ]
            },
        ),
    ]
    # The address and its state are what the reader did (subscribed,
    # confirmed, unsubscribed) or what the mail server said (bounced): a
    # publisher may pause a subscriber or change what they receive, not
    # confirm an address for them.
    readonly_fields = [
        "email",
        "status",
        "created_at",
        "confirmation_sent_at",
        "confirmed_at",
        "unsubscribed_at",
        "bounced_at",
    ]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sections", "tags")

    def get_search_results(self, request, queryset, search_term):
        # A NUL cannot be sent to PostgreSQL, and no address holds one.
        return super().get_search_results(request, queryset, search_term.replace("\x00", ""))

    @admin.display(description="接收内容")
    def selection(self, subscriber):
        return selection_summary(subscriber)

    @admin.action(description="导出所选订阅者为 CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        """UTF-8 with a byte-order mark, so that Excel reads the Chinese; a
        cell that would run as a formula starts with an apostrophe."""
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([heading for heading, _ in CSV_COLUMNS])
        rows = queryset.prefetch_related("sections", "tags").order_by("pk")
        for subscriber in rows.iterator(chunk_size=1000):
            writer.writerow([csv_cell(value(subscriber)) for _, value in CSV_COLUMNS])
        return response


class RecordAdmin(admin.ModelAdmin):
    """Records that ``newsletter.delivery`` writes: nobody adds, changes or
    deletes them here. They go only with what they belong to: deleting an
    issue or a subscriber deletes its rows, and the confirmation of that
    asks this admin about each row (``obj`` given), so it must say yes there
    while its own delete page and action stay closed."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied


@admin.register(Mailing)
class MailingAdmin(RecordAdmin):
    """Each issue's mailing: who asked, when, and how far it went. Deleting
    one would let an issue be mailed again, so nobody can."""

    list_display = [
        "issue",
        "send_on_publish",
        "requested_at",
        "requested_by",
        "queued_at",
        "sent",
        "unfinished",
        "undelivered",
    ]
    list_select_related = ["issue", "requested_by"]
    ordering = ["-requested_at", "-pk"]
    exclude = ["wake_at"]

    def get_queryset(self, request):
        deliveries = "issue__deliveries__status"
        return (
            super()
            .get_queryset(request)
            .annotate(
                sent_count=Count("issue__deliveries", filter=Q(**{deliveries: "sent"})),
                unfinished_count=Count(
                    "issue__deliveries", filter=Q(**{f"{deliveries}__in": Delivery.UNFINISHED})
                ),
                undelivered_count=Count(
                    "issue__deliveries", filter=Q(**{f"{deliveries}__in": ["failed", "bounced"]})
                ),
            )
        )

    @admin.display(description="已发送", ordering="sent_count")
    def sent(self, mailing):
        return mailing.sent_count

    @admin.display(description="未完成", ordering="unfinished_count")
    def unfinished(self, mailing):
        return mailing.unfinished_count

    @admin.display(description="失败或退信", ordering="undelivered_count")
    def undelivered(self, mailing):
        return mailing.undelivered_count

    def get_urls(self):
        wrap = self.admin_site.admin_view
        views = [
            ("test", admin_views.send_test, "newsletter_send_test"),
            ("send", admin_views.send_to_all, "newsletter_send_to_all"),
            ("send-on-publish", admin_views.send_on_publish, "newsletter_send_on_publish"),
            ("cancel", admin_views.cancel_send, "newsletter_cancel_send"),
            ("progress", admin_views.progress, "newsletter_progress"),
        ]
        return [
            *(
                path(f"issue/<int:issue_id>/{route}/", wrap(view), name=name)
                for route, view, name in views
            ),
            *super().get_urls(),
        ]


@admin.register(Delivery)
class DeliveryAdmin(RecordAdmin):
    """One row per issue and subscriber: what the workers did, and why a mail failed."""

    list_display = [
        "issue",
        "subscriber",
        "status",
        "attempts",
        "sent_at",
        "next_attempt_at",
        "last_error",
    ]
    list_filter = [("issue", admin.RelatedOnlyFieldListFilter), "status"]
    list_select_related = ["issue", "subscriber"]
    search_fields = ["subscriber__email"]
    ordering = ["-pk"]
    show_full_result_count = False
    exclude = ["claim"]

    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, search_term.replace("\x00", ""))
