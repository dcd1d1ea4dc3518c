"""Signing up from the public form, and the mails that answer it.

The form is anonymous, so what it may do is narrow. Whatever the address's
state, the page that answers looks the same (nobody learns whether an address
is subscribed), and the mail goes to the address itself:

- a new address becomes a pending subscriber and gets a confirmation mail;
- a pending, unsubscribed or bounced one takes the new choice, is pending
  (again) and gets a confirmation mail;
- a confirmed one keeps its choice (an anonymous form may not change it)
  and gets a mail saying it is subscribed already, with its preferences link.

At most one such mail an hour goes to an address (``RESEND_AFTER``, counted
from ``Subscriber.confirmation_sent_at``, which is written only once a mail
has been handed to the mail server).
"""

import datetime
import logging
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import tokens
from .mail import absolute, manage_url
from .models import Subscriber

logger = logging.getLogger(__name__)

RESEND_AFTER = datetime.timedelta(hours=1)


class Outcome(Enum):
    SENT = "sent"
    HELD = "held"  # a mail went to the address less than an hour ago: none now
    FAILED = "failed"  # the mail server did not take it; try again later


def sign_up(email, language, *, every_issue, sections, tags):
    """Apply a valid sign-up (see the module docstring) and send its mail."""
    with transaction.atomic():
        subscriber = _locked_subscriber(email, language)
        already = subscriber.status == Subscriber.Status.CONFIRMED
        if not already:
            subscriber.language = language
            subscriber.every_issue = every_issue
            subscriber.status = Subscriber.Status.PENDING
            subscriber.paused = False
            subscriber.save()
            subscriber.sections.set([] if every_issue else sections)
            subscriber.tags.set([] if every_issue else tags)
        sent_at = subscriber.confirmation_sent_at
    if sent_at is not None and timezone.now() - sent_at < RESEND_AFTER:
        return Outcome.HELD
    message = already_subscribed_mail(subscriber) if already else confirmation_mail(subscriber)
    try:
        message.send()
    except Exception:  # any backend's failure (SMTP, an ESP's API): the reader tries later
        logger.exception("newsletter: the sign-up mail could not be sent")
        return Outcome.FAILED
    Subscriber.objects.filter(pk=subscriber.pk).update(confirmation_sent_at=timezone.now())
    return Outcome.SENT


def _locked_subscriber(email, language):
    """The subscriber for ``email``, locked for this transaction; a new,
    pending one if there is none (two sign-ups at once make one row)."""
    found = Subscriber.objects.select_for_update().by_email(email).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, language=language)
    except IntegrityError:
        return Subscriber.objects.select_for_update().by_email(email).get()


def confirmation_url(subscriber):
    with translation.override(subscriber.language):
        return absolute(reverse("newsletter:confirm", args=[tokens.confirmation_token(subscriber)]))


def confirmation_mail(subscriber):
    return _mail(
        subscriber,
        "confirm",
        subject=gettext_lazy("请确认订阅"),
        context={
            "confirm_url": confirmation_url(subscriber),
            "valid_days": tokens.CONFIRMATION_MAX_AGE.days,
        },
    )


def already_subscribed_mail(subscriber):
    return _mail(
        subscriber,
        "already_subscribed",
        subject=gettext_lazy("你已经订阅了"),
        context={
            "manage_url": manage_url(subscriber),
            "unsubscribe_page_url": manage_url(subscriber) + "#unsubscribe",
        },
    )


def _mail(subscriber, template, *, subject, context):
    """A plain-text mail with an HTML alternative, in the subscriber's language."""
    with translation.override(subscriber.language):
        site_name = _(settings.SITE_NAME)
        context = {
            **context,
            "subscriber": subscriber,
            "sections": list(subscriber.sections.in_issue_order()),
            "tags": list(subscriber.tags.order_by("name")),
            "site_name": site_name,
            "site_url": absolute(reverse("reading:home")),
        }
        message = EmailMultiAlternatives(
            subject=f"{subject} · {site_name}",
            body=render_to_string(f"newsletter/mail/{template}.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[subscriber.email],
            reply_to=[settings.NEWSLETTER_REPLY_TO] if settings.NEWSLETTER_REPLY_TO else None,
        )
        message.attach_alternative(
            render_to_string(f"newsletter/mail/{template}.html", context), "text/html"
        )
    return message
