"""The reader's pages of delivery: subscribe, confirm, manage, unsubscribe.

The subscribe page is a public page like the archive's (reading/pages.py):
the same for every reader, with no CSRF token, so the page cache serves it.
Its form is therefore posted without CSRF protection, on purpose: it is an
anonymous sign-up that changes nothing but a pending subscription and sends
one mail to the address typed, at most one an hour, rate limited per client
and per address. A sign-up forged from another site gains its author nothing
a direct post would not. Every other page belongs to one reader (a signed
link out of a mail): never cached, and protected by CSRF as usual, bar the
one-click unsubscribe of RFC 8058, which mail clients post to directly.
"""

import ipaddress
import json

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from reading import page_keys
from reading.page_cache import cache_public_page

from . import signup, tokens
from .forms import SelectionForm, SubscribeForm
from .models import Subscriber

# Sign-ups a client address may post, and sign-ups of one address, per hour.
RATE_PER_CLIENT = "20/h"
RATE_PER_ADDRESS = "5/h"


def _form_page(request, form, *, status=200, notice=None):
    page_keys.shows(page_keys.SECTIONS, page_keys.TAGS)  # its choices of sections and tags
    response = render(
        request, "newsletter/subscribe.html", {"form": form, "notice": notice}, status=status
    )
    if request.method == "POST":
        add_never_cache_headers(response)
    return response


def _sign_up_sent(request, email):
    response = render(request, "newsletter/subscribe_sent.html", {"email": email})
    add_never_cache_headers(response)
    return response


def _too_many(request, form):
    response = _form_page(
        request,
        form,
        status=429,
        notice=_("提交得太频繁了。为防止滥用，请一小时后再试。"),
    )
    response["Retry-After"] = "3600"
    return response


def _address_key(group, request):
    return request.newsletter_address.lower()


def client_address(request):
    """The address of the reader's machine. Behind our own proxy (nginx on
    this machine, deploy/nginx) every request comes from the proxy, which
    appends the address it saw to X-Forwarded-For: the last entry is the one
    to trust (earlier ones are whatever the client sent)."""
    peer = request.META.get("REMOTE_ADDR", "")
    if peer in settings.NEWSLETTER_TRUSTED_PROXIES:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").rsplit(",", 1)[-1].strip()
        return forwarded or peer
    return peer


def _client_key(group, request):
    """The client's address; for IPv6 its /64, which one machine usually has whole."""
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


@csrf_exempt  # see the module docstring: the page carries no token, to be cacheable
@require_http_methods(["GET", "HEAD", "POST"])
@cache_public_page  # GET and HEAD only; a POST goes straight to the view
def subscribe(request):
    if request.method != "POST":
        return _form_page(request, SubscribeForm(initial={"language": get_language()}))
    form = SubscribeForm(request.POST)
    if is_ratelimited(
        request,
        group="newsletter.subscribe.client",
        key=_client_key,
        rate=RATE_PER_CLIENT,
        increment=True,
    ):
        return _too_many(request, form)
    if form.is_trap:  # as a sign-up would be answered, and nothing done
        shown = form.cleaned_data["email"] if form.is_valid() else request.POST.get("email", "")
        return _sign_up_sent(request, shown)
    if not form.is_valid():
        return _form_page(request, form, status=400)
    email = form.cleaned_data["email"]
    request.newsletter_address = email
    if is_ratelimited(
        request,
        group="newsletter.subscribe.address",
        key=_address_key,
        rate=RATE_PER_ADDRESS,
        increment=True,
    ):
        return _too_many(request, form)
    outcome = signup.sign_up(
        email,
        form.cleaned_data["language"],
        every_issue=form.every_issue,
        sections=form.cleaned_data["sections"],
        tags=form.cleaned_data["tags"],
    )
    if outcome is signup.Outcome.FAILED:
        return _form_page(
            request,
            form,
            status=503,
            notice=_("确认邮件暂时发不出去。你填写的内容已保留，请稍后再提交一次。"),
        )
    return _sign_up_sent(request, email)


def _bad_link(request, kind):
    return render(
        request,
        "newsletter/bad_link.html",
        {"kind": kind, "valid_days": tokens.CONFIRMATION_MAX_AGE.days},
        status=404,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """A page with a button: only the POST confirms, so that a mail
    provider's link scanner opening the link confirms nothing."""
    try:
        subscriber = tokens.subscriber_for_confirmation(token)
    except tokens.BadLink:
        return _bad_link(request, "confirm")
    confirmed = False
    if request.method == "POST":
        if subscriber.status != Subscriber.Status.CONFIRMED:
            subscriber.confirm()
        confirmed = True
    return render(
        request,
        "newsletter/confirm.html",
        {
            "subscriber": subscriber,
            "confirmed": confirmed,
            "manage_url": reverse("newsletter:manage", args=[tokens.manage_token(subscriber)]),
        },
    )


MANAGE_ACTIONS = ("save", "pause", "resume", "unsubscribe", "resubscribe", "delete", "erase")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def manage(request, token):
    """The preferences page: what to receive and in which language, pause,
    unsubscribe, resubscribe, a copy of what we hold, and erasure."""
    try:
        subscriber = tokens.subscriber_for_management(token)
    except tokens.BadLink:
        return _bad_link(request, "manage")
    if request.method != "POST":
        if request.GET.get("download") == "json":
            return _download(subscriber)
        return _preferences_page(request, subscriber, token)
    action = request.POST.get("action")
    if action not in MANAGE_ACTIONS:
        return _preferences_page(request, subscriber, token, status=400)
    if action == "save":
        form = SelectionForm(request.POST)
        if not form.is_valid():
            return _preferences_page(request, subscriber, token, form=form, status=400)
        subscriber.language = form.cleaned_data["language"]
        subscriber.every_issue = form.every_issue
        subscriber.save(update_fields=["language", "every_issue"])
        subscriber.sections.set([] if form.every_issue else form.cleaned_data["sections"])
        subscriber.tags.set([] if form.every_issue else form.cleaned_data["tags"])
        return _preferences_page(request, subscriber, token, done=_("已保存你的选择。"))
    if action in ("pause", "resume"):
        subscriber.paused = action == "pause"
        subscriber.save(update_fields=["paused"])
        done = _("已暂停，恢复之前不会再收到邮件。") if subscriber.paused else _("已恢复接收。")
        return _preferences_page(request, subscriber, token, done=done)
    if action == "unsubscribe":
        if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            subscriber.unsubscribe()
        return _preferences_page(request, subscriber, token, done=_("已退订，不会再收到邮件。"))
    if action == "resubscribe":
        # The link came in a mail to this address: that is the confirmation.
        subscriber.confirm()
        return _preferences_page(request, subscriber, token, done=_("已重新订阅。"))
    if action == "delete":
        return render(request, "newsletter/delete.html", {"subscriber": subscriber})
    subscriber.delete()  # "erase": its deliveries go with it
    return render(request, "newsletter/deleted.html")


def _preferences_page(request, subscriber, token, *, form=None, status=200, done=None):
    form = form or SelectionForm(initial=SelectionForm.initial_for(subscriber))
    return render(
        request,
        "newsletter/manage.html",
        {
            "subscriber": subscriber,
            "form": form,
            "done": done,
            "unsubscribe_url": reverse("newsletter:unsubscribe", args=[token]),
        },
        status=status,
    )


def _download(subscriber):
    """Everything we hold about the subscriber, as a JSON file."""

    def moment(value):
        return value.isoformat() if value else None

    data = {
        "email": subscriber.email,
        "language": subscriber.language,
        "every_issue": subscriber.every_issue,
        "sections": [section.slug for section in subscriber.sections.in_issue_order()],
        "tags": [tag.name for tag in subscriber.tags.order_by("name")],
        "status": subscriber.status,
        "paused": subscriber.paused,
        "created_at": moment(subscriber.created_at),
        "confirmation_sent_at": moment(subscriber.confirmation_sent_at),
        "confirmed_at": moment(subscriber.confirmed_at),
        "unsubscribed_at": moment(subscriber.unsubscribed_at),
        "bounced_at": moment(subscriber.bounced_at),
        "deliveries": [
            {"issue": slug, "status": status, "sent_at": moment(sent_at)}
            for slug, status, sent_at in subscriber.deliveries.order_by("pk").values_list(
                "issue__slug", "status", "sent_at"
            )
        ],
    }
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="subscription.json"'
    return response


@csrf_exempt  # mail clients POST here with no page of ours before it (RFC 8058)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """One-click unsubscribe: a POST unsubscribes at once, no page to confirm.
    A GET (a person opening the address from the List-Unsubscribe header)
    shows a page whose button makes that POST."""
    try:
        subscriber = tokens.subscriber_for_management(token)
    except tokens.BadLink:
        return _bad_link(request, "manage")
    if request.method == "POST" and subscriber.status != Subscriber.Status.UNSUBSCRIBED:
        subscriber.unsubscribe()
    return render(
        request,
        "newsletter/unsubscribe.html",
        {
            "subscriber": subscriber,
            "done": request.method == "POST",
            "manage_url": reverse("newsletter:manage", args=[token]),
        },
    )
