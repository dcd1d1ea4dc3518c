"""Send-on-publish: a save that makes an issue public (or moves its time) wakes
its mailing, and a mailing stopped by the issue's return to draft goes on."""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.signals import post_save
from django.dispatch import receiver

from papers.models import Issue

from .models import Delivery, Mailing


@receiver(post_save, sender=Issue, dispatch_uid="newsletter.issue_saved")
def issue_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    requested = Mailing.objects.filter(issue=instance, requested_at__isnull=False)
    # Not queued yet, or queued and stopped part way by a return to draft.
    if requested.filter(
        Q(queued_at__isnull=True)
        | Exists(Delivery.objects.filter(issue=OuterRef("issue")).unfinished())
    ).exists():
        from .delivery import schedule_mailing

        transaction.on_commit(lambda: schedule_mailing(instance))
