"""The publisher's side of sending an issue, on the issue's admin page.

The panel (``{% newsletter_panel %}`` in templates/admin/papers/issue/
change_form.html) posts here; these views are mounted by
``newsletter.admin.MailingAdmin.get_urls`` through ``admin_view``, so only
signed-in staff reach them, and each checks its permission itself: a button
that is not shown is no protection. Sending twice is harmless because
``delivery.request_mailing`` mails an issue once, whoever asks and however
often.
"""

import logging
from dataclasses import dataclass

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from papers.models import Issue

from . import delivery
from .models import Delivery, Mailing, Subscriber

logger = logging.getLogger(__name__)

# How often the panel asks for the numbers while a mailing is under way.
POLL_SECONDS = 3


def can_see_mailings(user):
    """Who sees the panel: the numbers and dates of a mailing are publishers' business."""
    return user.has_perm("newsletter.view_mailing") or delivery.can_send(user)


@dataclass
class MailingState:
    """Where the mailing of one issue stands, for the panel and its JSON."""

    issue: Issue
    mailing: Mailing | None
    public: bool
    counts: dict

    @property
    def requested(self):
        return self.mailing is not None and self.mailing.requested_at is not None

    @property
    def queued(self):
        return self.mailing is not None and self.mailing.queued_at is not None

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def unfinished(self):
        return sum(self.counts[status] for status in Delivery.UNFINISHED)

    @property
    def waiting_for_publication(self):
        return self.requested and not self.queued and not self.public

    @property
    def active(self):
        """Something will change soon: a worker is to queue the rows, or rows
        are still to be sent. The page stops asking once this is false."""
        return (self.requested and not self.queued and self.public) or self.unfinished > 0

    @property
    def requester(self):
        who = self.mailing.requested_by if self.requested else None
        if who is None:
            return "（已删除的用户）"
        return who.get_full_name() or who.get_username()

    def rows(self):
        """(status, label, count) in the order of Delivery.Status."""
        return [(status, label, self.counts[status]) for status, label in Delivery.Status.choices]

    def summary(self):
        """One sentence on where the mailing stands."""
        if not self.requested:
            return "尚未发送给订阅者。"
        if self.waiting_for_publication:
            if self.issue.status == Issue.Status.SCHEDULED and self.issue.published_at:
                when = _local(self.issue.published_at)
                return f"已设为发布时发送：将在 {when} 定时发布时发送。"
            return "已设为发布时发送：这一期发布后立即发送。"
        if not self.queued:
            return "已请求发送，正在等待发送进程排队……"
        if self.unfinished:
            return f"发送中：共 {self.total} 封，还有 {self.unfinished} 封未完成。"
        return f"发送完毕：共 {self.total} 封，已发送 {self.counts[Delivery.Status.SENT]} 封。"

    def facts(self):
        """Who asked for the mailing and when, and when its rows were queued."""
        if not self.requested:
            return ""
        mailing = self.mailing
        text = f"由 {self.requester} 于 {_local(mailing.requested_at)} 请求发送"
        if mailing.send_on_publish:
            text += "（发布时发送）"
        if self.queued:
            text += f"；{_local(mailing.queued_at)} 排队，共 {self.total} 封"
        return text + "。"

    def as_json(self):
        return {
            "counts": self.counts,
            "total": self.total,
            "unfinished": self.unfinished,
            "requested": self.requested,
            "queued_at": self.mailing.queued_at.isoformat() if self.queued else None,
            "active": self.active,
            "summary": self.summary(),
            "facts": self.facts(),
        }


def _local(moment):
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def mailing_state(issue):
    mailing = Mailing.objects.select_related("requested_by").filter(issue=issue).first()
    return MailingState(
        issue=issue,
        mailing=mailing,
        public=Issue.objects.published().filter(pk=issue.pk).exists(),
        counts=Delivery.objects.filter(issue=issue).progress(),
    )


def _issue_for_sending(request, issue_id):
    """The issue, if this user may send it; a 403 otherwise, whatever the page showed."""
    if not delivery.can_send(request.user):
        raise PermissionDenied
    return get_object_or_404(Issue, pk=issue_id)


def _back_to(issue):
    return HttpResponseRedirect(reverse("admin:papers_issue_change", args=[issue.pk]))


def _requested(state):
    return f"{state.requester}，{_local(state.mailing.requested_at)}"


@require_POST
def send_test(request, issue_id):
    """The whole issue to the publisher's own address, now, in the chosen language."""
    issue = _issue_for_sending(request, issue_id)
    language = request.POST.get("language", "")
    if language not in Subscriber.Language.values:
        messages.error(request, "请选择测试邮件的语言。")
        return _back_to(issue)
    try:
        delivery.send_test(issue, request.user, language)
    except delivery.NoAddress as error:
        messages.error(request, str(error))
    except Exception:
        logger.exception("The test mail of issue %s could not be sent", issue.pk)
        messages.error(
            request, "测试邮件发送失败：邮件服务器没有接受。请稍后再试，或请管理员查看日志。"
        )
    else:
        label = Subscriber.Language(language).label
        messages.success(request, f"测试邮件（{label}）已发送到 {request.user.email}。")
    return _back_to(issue)


@require_http_methods(["GET", "POST"])
def send_to_all(request, issue_id):
    """GET: how many subscribers will receive the issue, and a button to
    confirm. POST: send it (once, however often this is posted)."""
    issue = _issue_for_sending(request, issue_id)
    state = mailing_state(issue)
    if request.method == "POST":
        if state.requested:
            messages.warning(
                request,
                f"这一期已经请求过发送（{_requested(state)}），不会重复发送。",
            )
            return _back_to(issue)
        try:
            delivery.request_mailing(issue, request.user)
        except delivery.NotPublic as error:
            messages.error(request, str(error))
            return _back_to(issue)
        count = Subscriber.objects.receiving(issue).count()
        messages.success(request, f"开始发送《{issue.title}》给 {count} 位订阅者。")
        return _back_to(issue)
    return render(
        request,
        "admin/newsletter/send_confirm.html",
        {
            **request_context(request),
            "title": "发送给全部订阅者",
            "issue": issue,
            "state": state,
            "already": _requested(state) if state.requested else "",
            "receiving": Subscriber.objects.receiving(issue).count() if state.public else 0,
        },
    )


@require_POST
def send_on_publish(request, issue_id):
    """Send the issue as soon as it is public: a draft when it is published,
    a scheduled issue at its time."""
    issue = _issue_for_sending(request, issue_id)
    state = mailing_state(issue)
    if state.requested:
        messages.warning(request, f"这一期已经请求过发送（{_requested(state)}），不会重复发送。")
        return _back_to(issue)
    if state.public:
        # Published since the page was drawn: sending now goes through the
        # page that says how many will receive it.
        messages.warning(request, "这一期已经发布，请确认收件人数后再发送。")
        return HttpResponseRedirect(reverse("admin:newsletter_send_to_all", args=[issue.pk]))
    delivery.request_mailing(issue, request.user, when_published=True)
    messages.success(request, mailing_state(issue).summary())
    return _back_to(issue)


@require_POST
def cancel_send(request, issue_id):
    """Withdraw a request that no worker has queued yet."""
    issue = _issue_for_sending(request, issue_id)
    if delivery.cancel_mailing(issue, request.user):
        messages.success(request, "已取消发送，这一期不会发给订阅者。")
    else:
        messages.error(request, "无法取消：邮件已经开始发送，或本来就没有设为发送。")
    return _back_to(issue)


@require_GET
def progress(request, issue_id):
    """The mailing's numbers by delivery status, for the panel to refresh itself."""
    if not can_see_mailings(request.user):
        raise PermissionDenied
    issue = get_object_or_404(Issue, pk=issue_id)
    return JsonResponse(mailing_state(issue).as_json())


def request_context(request):
    """What admin/base_site.html needs to draw the admin's header and links."""
    return admin.site.each_context(request)
