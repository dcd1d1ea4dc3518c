"""Send-on-publish: a save that makes an issue public (or moves its time) wakes its mailing."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from papers.models import Issue

from .models import Mailing


@receiver(post_save, sender=Issue, dispatch_uid="newsletter.issue_saved")
def issue_saved(sender, instance, raw=False, **kwargs):
    if raw:
        return
    if Mailing.objects.filter(
        issue=instance, requested_at__isnull=False, queued_at__isnull=True
    ).exists():
        from .delivery import schedule_mailing

        transaction.on_commit(lambda: schedule_mailing(instance))
