"""Subscribers, the mailing of an issue, and one delivery row per (issue, subscriber).

The delivery rows are the truth about what was sent: workers claim them with a
lease, so a killed worker's rows are taken up again when the lease runs out
(docs/newsletter.md).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from papers.models import Entry, Issue, Section, Tag, TaggedEntry


def new_subscriber_key():
    """The secret behind a subscriber's signed links; a new key kills the old links."""
    return secrets.token_urlsafe(18)


class SubscriberQuerySet(models.QuerySet):
    def confirmed(self):
        """Subscribers who confirmed and still want mail: not unsubscribed, bounced or paused."""
        return self.filter(status=Subscriber.Status.CONFIRMED, paused=False)

    def by_email(self, email):
        """The subscriber for an address, whatever its case (one row per address)."""
        return self.alias(address=Lower("email")).filter(address=email.lower())

    def receiving(self, issue):
        """Confirmed subscribers for whom ``issue`` holds something: everyone
        who takes every issue, and those following a section or tag that one
        of its entries is in. Each subscriber once, with no DISTINCT: the
        follows are tested with EXISTS on the link tables."""
        sections = Entry.objects.filter(issue=issue).values("section_id")
        tags = TaggedEntry.objects.filter(content_object__issue=issue).values("tag_id")
        follows_section = Exists(
            Subscriber.sections.through.objects.filter(
                subscriber_id=OuterRef("pk"), section_id__in=sections
            )
        )
        follows_tag = Exists(
            Subscriber.tags.through.objects.filter(subscriber_id=OuterRef("pk"), tag_id__in=tags)
        )
        return self.confirmed().filter(Q(every_issue=True) | follows_section | follows_tag)


class Subscriber(models.Model):
    """One email address and what it wants to receive. No account: the reader
    manages it through signed links in every mail."""

    class Status(models.TextChoices):
        PENDING = "pending", "待确认"
        CONFIRMED = "confirmed", "已确认"
        UNSUBSCRIBED = "unsubscribed", "已退订"
        BOUNCED = "bounced", "已退信"

    class Language(models.TextChoices):
        CHINESE = "zh-hans", "中文"
        ENGLISH = "en", "English"

    email = models.EmailField("邮箱", max_length=254)
    language = models.CharField(
        "邮件语言", max_length=8, choices=Language.choices, default=Language.CHINESE
    )
    every_issue = models.BooleanField("接收每一期", default=True)
    sections = models.ManyToManyField(
        Section, blank=True, related_name="subscribers", verbose_name="关注的栏目"
    )
    tags = models.ManyToManyField(
        Tag, blank=True, related_name="subscribers", verbose_name="关注的标签"
    )
    status = models.CharField(
        "状态", max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    paused = models.BooleanField("暂停接收", default=False)
    key = models.CharField(max_length=32, default=new_subscriber_key, unique=True, editable=False)
    created_at = models.DateTimeField("订阅时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)
    confirmation_sent_at = models.DateTimeField("确认邮件发出时间", null=True, blank=True)
    unsubscribed_at = models.DateTimeField("退订时间", null=True, blank=True)
    bounced_at = models.DateTimeField("退信时间", null=True, blank=True)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        verbose_name = "订阅者"
        verbose_name_plural = "订阅者"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One row per address whatever its case, without a second column to keep in step.
            models.UniqueConstraint(
                Lower("email"),
                name="one_subscriber_per_address",
                violation_error_message="这个邮箱已经有订阅记录。",
            )
        ]

    def __str__(self):
        return self.email

    def confirm(self):
        self.status = self.Status.CONFIRMED
        self.confirmed_at = timezone.now()
        self.unsubscribed_at = None
        self.save(update_fields=["status", "confirmed_at", "unsubscribed_at"])

    def unsubscribe(self):
        self.status = self.Status.UNSUBSCRIBED
        self.unsubscribed_at = timezone.now()
        self.save(update_fields=["status", "unsubscribed_at"])


class MailingQuerySet(models.QuerySet):
    def due(self):
        """Mailings asked for whose issue is public now and whose rows are not made yet."""
        return self.filter(
            requested_at__isnull=False, queued_at__isnull=True, issue__in=Issue.objects.published()
        )


class Mailing(models.Model):
    """The sending of one issue to its subscribers: asked for by a publisher
    (now, or when the issue is published), queued once."""

    issue = models.OneToOneField(
        Issue, on_delete=models.CASCADE, related_name="mailing", verbose_name="期"
    )
    send_on_publish = models.BooleanField("发布时发送", default=False)
    requested_at = models.DateTimeField("请求发送时间", null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    # The earliest time a follow-up delivery task is already waiting for, so
    # that many workers finishing at once enqueue one follow-up, not many.
    wake_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = MailingQuerySet.as_manager()

    class Meta:
        verbose_name = "邮件发送"
        verbose_name_plural = "邮件发送"
        permissions = [("send_issue", "可以把一期发送给订阅者")]

    def __str__(self):
        return str(self.issue)


class DeliveryQuerySet(models.QuerySet):
    def claimable(self, now=None):
        """Rows a worker may take now: waiting (first try or a retry that is
        due), or held by a worker whose lease has run out (it died)."""
        now = now or timezone.now()
        waiting = Q(
            status__in=[Delivery.Status.QUEUED, Delivery.Status.RETRYING], next_attempt_at__lte=now
        )
        abandoned = Q(status=Delivery.Status.SENDING, lease_until__lt=now)
        return self.filter(waiting | abandoned)

    def unfinished(self):
        return self.filter(status__in=Delivery.UNFINISHED)

    def progress(self):
        """{status: count} for these rows, every status present (0 if none)."""
        counts = dict.fromkeys(Delivery.Status.values, 0)
        for row in self.values("status").annotate(n=models.Count("pk")).order_by():
            counts[row["status"]] = row["n"]
        return counts


class Delivery(models.Model):
    """One issue for one subscriber: the unit a worker claims, sends and marks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        SENDING = "sending", "发送中"
        RETRYING = "retrying", "等待重试"
        SENT = "sent", "已发送"
        FAILED = "failed", "失败"
        BOUNCED = "bounced", "退信"

    UNFINISHED = (Status.QUEUED, Status.SENDING, Status.RETRYING)

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = "投递"
        verbose_name_plural = "投递"
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "subscriber"], name="one_delivery_per_issue_and_subscriber"
            )
        ]
        indexes = [
            models.Index(fields=["issue", "status", "next_attempt_at"], name="delivery_claim_idx")
        ]

    def __str__(self):
        return f"{self.issue} → {self.subscriber}"
