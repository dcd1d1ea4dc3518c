"""Sending an issue: queue one row per subscriber, then claim, send and mark.

Workers take rows in batches under a lease (``claim_batch``). A row is marked
sent right after the SMTP server accepts its message, one row at a time: a
worker killed between the two is the only way a subscriber gets the issue
twice, and a killed worker's rows become claimable again when the lease runs
out. Temporary failures (4xx answers, a refused or dropped connection) are
retried with exponential backoff; a permanent one (5xx) marks the address
bounced, and it is not mailed again. docs/newsletter.md tells the whole way.
"""

import datetime
import logging
import random
import smtplib
import socket
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks_db.utils import exclusive_transaction

from papers.models import Issue

from .mail import MailRenderer
from .models import Delivery, Mailing, Subscriber

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# Longer than a batch can take to send through a slow relay (50 messages at
# the SMTP timeout each would be more; a worker gives up a batch on the first
# connection failure, so a healthy relay is what a lease must cover).
LEASE = datetime.timedelta(seconds=settings.NEWSLETTER_LEASE_SECONDS)
MAX_ATTEMPTS = 8
# How stale a batch's knowledge of who still wants mail may get (seconds).
RECHECK_SUBSCRIBERS_EVERY = 1.0
FIRST_RETRY = datetime.timedelta(seconds=settings.NEWSLETTER_FIRST_RETRY_SECONDS)
LONGEST_RETRY = datetime.timedelta(hours=6)


class NotPublic(Exception):
    """The issue is not public, so it cannot be sent to everyone now."""


class NoAddress(Exception):
    """The user has no email address to send a test to."""


def can_send(user):
    return user.has_perm("newsletter.send_issue")


def request_mailing(issue, user, *, when_published=False):
    """Ask for ``issue`` to go to its subscribers: now (it must be public),
    or as soon as it is public (``when_published``; a scheduled issue goes at
    its time). Asking twice changes nothing: an issue is mailed once."""
    if not can_send(user):
        raise PermissionDenied("只有发布者可以发送邮件。")
    with exclusive_transaction():  # read then write, beside busy workers (queue_mailing)
        Mailing.objects.get_or_create(issue=issue)
        mailing = Mailing.objects.select_for_update().get(issue=issue)
        public = Issue.objects.published().filter(pk=issue.pk).exists()
        if mailing.requested_at is not None:
            return mailing  # asked before: it is queued or will be
        if not public and not when_published:
            raise NotPublic("这一期尚未发布，不能立即发送；可以设为发布时发送。")
        mailing.requested_at = timezone.now()
        mailing.requested_by = user
        mailing.send_on_publish = not public
        mailing.save()
    transaction.on_commit(lambda: schedule_mailing(issue))
    return mailing


def send_test(issue, user, language):
    """Mail the whole issue at once to the publisher's own address, in
    ``language``, as a subscriber to every issue would get it: a preview of
    the mail, so drafts too. No subscriber or delivery row is made, and the
    preferences and unsubscribe links in it lead nowhere."""
    if not can_send(user):
        raise PermissionDenied("只有发布者可以发送邮件。")
    if not user.email:
        raise NoAddress("你的账号没有填写邮箱，无法发送测试邮件。请先在“用户”里为自己填写邮箱。")
    if language not in Subscriber.Language.values:
        raise ValueError(f"unknown mail language {language!r}")
    reader = Subscriber(email=user.email, language=language, every_issue=True)
    message = MailRenderer(issue).message_for(reader)
    message.subject = f"[测试] {message.subject}"
    message.send(fail_silently=False)
    return message


def cancel_mailing(issue, user):
    """Withdraw a send-on-publish request that has not been queued yet."""
    if not can_send(user):
        raise PermissionDenied("只有发布者可以发送邮件。")
    return Mailing.objects.filter(issue=issue, queued_at__isnull=True).update(
        requested_at=None, requested_by=None, send_on_publish=False
    )


def schedule_mailing(issue):
    """Have a worker queue and send the issue when it is public: now, or at
    its publication time. Idempotent: the task checks everything again."""
    issue = Issue.objects.filter(pk=issue.pk).first()
    if issue is None:  # deleted meanwhile
        return
    mailing = Mailing.objects.filter(issue=issue, requested_at__isnull=False).first()
    if mailing is None or issue.status == Issue.Status.DRAFT or issue.published_at is None:
        return
    if issue.published_at > timezone.now():
        wake(mailing, issue.published_at)
    else:
        wake(mailing, lanes=settings.NEWSLETTER_PARALLEL_TASKS)


def wake(mailing, run_after=None, *, lanes=1):
    """Enqueue delivery tasks for the mailing at ``run_after`` (now if None),
    unless one is already waiting for an earlier time: many workers finishing
    together then leave one follow-up, not one each. ``lanes`` tasks start
    at once, so that as many workers share a large mailing."""
    from .tasks import deliver_issue

    at = run_after or timezone.now()
    now = timezone.now()
    taken = (
        Mailing.objects.filter(pk=mailing.pk)
        .exclude(wake_at__gt=now, wake_at__lte=at)  # an earlier wake-up is already due
        .update(wake_at=at)
    )
    if taken:
        task = deliver_issue if run_after is None else deliver_issue.using(run_after=run_after)
        for _ in range(lanes):
            task.enqueue(mailing.issue_id)


def queue_mailing(issue_id):
    """Make the delivery rows of a requested, public issue, once: one per
    confirmed subscriber whose selection it touches. Returns how many rows
    were made (0 if they exist already or it is not time).

    Exclusive from its start on SQLite: several workers take their first turn
    at once, and a transaction that reads and then writes would find the
    database locked by another's write, where waiting for it at BEGIN works."""
    with exclusive_transaction():
        mailing = Mailing.objects.select_for_update().filter(issue_id=issue_id).due().first()
        if mailing is None:
            return 0
        now = timezone.now()
        rows = [
            Delivery(issue_id=issue_id, subscriber_id=pk, next_attempt_at=now)
            for pk in Subscriber.objects.receiving(mailing.issue)
            .values_list("pk", flat=True)
            .iterator()
        ]
        Delivery.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
        mailing.queued_at = now
        mailing.save(update_fields=["queued_at"])
    logger.info("Queued issue %s for %d subscribers", issue_id, len(rows))
    return len(rows)


def claim_batch(issue_id, size=BATCH_SIZE):
    """Take up to ``size`` claimable rows for this worker under a new lease.

    The UPDATE repeats the claimable condition, so two workers that read the
    same rows cannot both take them: the second finds them leased. On
    PostgreSQL the read skips rows another worker has locked."""
    claim = uuid.uuid4()
    now = timezone.now()
    with exclusive_transaction():
        ids = candidate_ids(issue_id, now, size)
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids).claimable(now).update(
            status=Delivery.Status.SENDING,
            claim=claim,
            lease_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
    # With the subscribers' followed sections and tags (two queries for the
    # batch), which the renderer reads to pick each one's entries.
    return list(
        Delivery.objects.filter(claim=claim)
        .select_related("subscriber")
        .prefetch_related("subscriber__sections", "subscriber__tags")
        .order_by("pk")
    )


def candidate_ids(issue_id, now, size):
    """The first ``size`` claimable rows as this worker reads them: another
    worker may take them before our UPDATE does."""
    candidates = (
        Delivery.objects.filter(issue_id=issue_id)
        .claimable(now)
        .order_by("pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:size]
    )
    return list(candidates)


@dataclass
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    bounced: int = 0


def send_batch(issue, rows, renderer=None, connection=None):
    """Send each claimed row's message over one SMTP connection and mark it.

    The connection is opened here, before the first message, and closed
    after the last: Django's ``send_messages`` on a closed backend opens a
    session for the call and quits it afterwards, and a relay that drops the
    line at that QUIT (after taking the message) would raise, and the row be
    sent again. One session per batch also spares a handshake per message.

    On a temporary failure of the connection the rest of the batch is put
    back for a retry at once, rather than hammering a relay that is down."""
    outcome = Outcome()
    renderer = renderer or MailRenderer(issue)
    connection = connection or get_connection(fail_silently=False)
    pending = list(rows)
    wanted = _still_wanted(pending)
    checked = time.monotonic()
    try:
        while pending:
            if time.monotonic() - checked > RECHECK_SUBSCRIBERS_EVERY:
                # A slow relay stretches a batch: readers who left meanwhile
                # are not mailed (one query, not one a message).
                wanted, checked = _still_wanted(pending), time.monotonic()
            row = pending.pop(0)
            if row.subscriber_id not in wanted:
                # Unsubscribed, bounced, paused or erased since the rows were queued.
                _finish(row, Delivery.Status.FAILED, error="订阅者已退订、退信、暂停或删除")
                outcome.failed += 1
                continue
            message = renderer.message_for(row.subscriber, connection=connection)
            try:
                connection.open()  # once; then send_messages leaves the session open
                connection.send_messages([message])
            except Exception as error:
                kind = classify(error)
                if kind == "permanent":
                    _bounce(row, error)
                    outcome.bounced += 1
                    continue
                if kind == "rejected":
                    _finish(row, Delivery.Status.FAILED, error=_describe(error))
                    outcome.failed += 1
                    continue
                _retry(row, error)
                outcome.retrying += 1
                if kind == "connection":
                    for rest in pending:
                        _retry(rest, error, count_attempt=False)
                        outcome.retrying += 1
                    pending = []
                continue
            _finish(
                row, Delivery.Status.SENT, message_id=message.extra_headers.get("Message-ID", "")
            )
            outcome.sent += 1
    finally:
        try:
            connection.close()
        except Exception:
            logger.debug("closing the SMTP connection failed", exc_info=True)
    return outcome


# Answers about our session, account or From address, whatever their code:
# they say nothing of the subscriber's address (a wrong password must not
# bounce the whole list), and nothing else in the batch can go either.
_REFUSALS_OF_US = (
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPSenderRefused,
)


def _still_wanted(rows):
    """The ids of these rows' subscribers who still want mail now."""
    ids = [row.subscriber_id for row in rows]
    return set(Subscriber.objects.confirmed().filter(pk__in=ids).values_list("pk", flat=True))


def classify(error):
    """'permanent' (5xx to the recipient: the address will not take mail),
    'rejected' (5xx to the message itself, after DATA: not sent, and not the
    address's fault), 'temporary' (4xx for this message), or 'connection'
    (the relay is unreachable, dropped us or refuses us: nothing in this
    batch can go now). Only the answer to the recipient bounces an address."""
    if isinstance(error, _REFUSALS_OF_US):
        return "connection"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return "permanent" if codes and all(500 <= code < 600 for code in codes) else "temporary"
    if isinstance(error, smtplib.SMTPResponseException):
        if isinstance(error, smtplib.SMTPDataError) and 500 <= error.smtp_code < 600:
            return "rejected"
        # 421: the server is closing the connection; any other 5xx outside a
        # recipient's or the message's answer (STARTTLS...) is about us.
        if error.smtp_code == 421 or 500 <= error.smtp_code < 600:
            return "connection"
        return "temporary"
    if isinstance(error, (smtplib.SMTPServerDisconnected, OSError, socket.timeout)):
        return "connection"
    return "temporary"


def retry_delay(attempts):
    """Exponential backoff from FIRST_RETRY, capped at LONGEST_RETRY, with
    jitter so that retries from many workers spread out."""
    delay = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    return delay * random.uniform(0.8, 1.2)


def _mark(row, **fields):
    """Update the row only while this worker still holds it."""
    return Delivery.objects.filter(pk=row.pk, claim=row.claim).update(**fields)


def _finish(row, status, *, error="", message_id=""):
    _mark(
        row,
        status=status,
        sent_at=timezone.now() if status == Delivery.Status.SENT else None,
        message_id=message_id[:200],
        last_error=error[:500],
        claim=None,
        lease_until=None,
    )


def _retry(row, error, *, count_attempt=True):
    attempts = row.attempts if count_attempt else max(row.attempts - 1, 0)
    if attempts >= MAX_ATTEMPTS:
        _finish(row, Delivery.Status.FAILED, error=_describe(error))
        return
    _mark(
        row,
        status=Delivery.Status.RETRYING,
        attempts=attempts,
        next_attempt_at=timezone.now() + (retry_delay(attempts) if count_attempt else FIRST_RETRY),
        last_error=_describe(error)[:500],
        claim=None,
        lease_until=None,
    )


def _bounce(row, error):
    _finish(row, Delivery.Status.BOUNCED, error=_describe(error))
    Subscriber.objects.filter(pk=row.subscriber_id).update(
        status=Subscriber.Status.BOUNCED, bounced_at=timezone.now()
    )


def _describe(error):
    return f"{type(error).__name__}: {error}"


def deliver(issue_id, *, max_batches=None):
    """A worker's turn at a mailing: queue it if due, send claimable batches
    until none is left, then leave one follow-up for the earliest row still
    unfinished (a retry's time, or the lease of a worker that may have died)."""
    queue_mailing(issue_id)
    issue = Issue.objects.filter(pk=issue_id).first()
    if issue is None:  # deleted since this turn was enqueued: its rows went with it
        return Outcome()
    if Mailing.objects.filter(issue_id=issue_id, queued_at__isnull=True).exists():
        # Requested but not public yet: its time was moved later since this
        # turn was enqueued. Wait for the new time instead.
        schedule_mailing(issue)
        return Outcome()
    renderer = MailRenderer(issue)
    total = Outcome()
    batches = 0
    public = Issue.objects.published().filter(pk=issue_id)
    while max_batches is None or batches < max_batches:
        if not public.exists():
            # Taken back to draft (or its time moved later) since its rows
            # were queued: what is not sent yet waits until it is public
            # again (newsletter.signals wakes the mailing then).
            schedule_mailing(issue)
            return total
        rows = claim_batch(issue_id)
        if not rows:
            break
        outcome = send_batch(issue, rows, renderer=renderer)
        batches += 1
        for field in ("sent", "retrying", "failed", "bounced"):
            setattr(total, field, getattr(total, field) + getattr(outcome, field))
    follow_up(issue_id)
    return total


def follow_up(issue_id):
    """Enqueue the next turn for the earliest moment a row becomes claimable."""
    mailing = Mailing.objects.filter(issue_id=issue_id).first()
    if mailing is None:
        return None
    waiting = Delivery.objects.filter(issue_id=issue_id)
    times = [
        waiting.filter(status__in=[Delivery.Status.QUEUED, Delivery.Status.RETRYING])
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first(),
        waiting.filter(status=Delivery.Status.SENDING)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first(),
    ]
    times = [t for t in times if t is not None]
    if not times:
        return None
    at = min(times)
    wake(mailing, at if at > timezone.now() else None)
    return at


def resume_unfinished():
    """For a worker starting up: wake every mailing that still has work,
    since the workers that held it may all have died."""
    woken = 0
    for issue_id in Mailing.objects.due().values_list("issue_id", flat=True):
        schedule_mailing(Issue.objects.get(pk=issue_id))
        woken += 1
    unfinished = Delivery.objects.unfinished().values_list("issue_id", flat=True).distinct()
    for issue_id in unfinished:
        follow_up(issue_id)
        woken += 1
    return woken
