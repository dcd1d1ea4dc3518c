"""The worker's tasks (Django's task framework; ``manage.py delivery_worker`` runs them)."""

import datetime
import logging

from django.utils import timezone
from django_tasks import task

from . import delivery

logger = logging.getLogger(__name__)

# After a turn that failed (a locked or unreachable database), the next one.
RETRY_FAILED_TURN_AFTER = datetime.timedelta(seconds=30)


@task(queue_name="newsletter")
def deliver_issue(issue_id):
    """Queue the issue's deliveries if due, and send what can be sent now.

    A turn that fails must not end the mailing: the task library does not
    retry, so the turn leaves another for later before it reports the error
    (and a worker starting up wakes unfinished mailings in any case)."""
    try:
        outcome = delivery.deliver(issue_id)
    except Exception:
        try:
            later = timezone.now() + RETRY_FAILED_TURN_AFTER
            deliver_issue.using(run_after=later).enqueue(issue_id)
        except Exception:  # the database may be what failed
            logger.exception("could not leave a turn for issue %s after a failed one", issue_id)
        raise
    return {
        "sent": outcome.sent,
        "retrying": outcome.retrying,
        "failed": outcome.failed,
        "bounced": outcome.bounced,
    }
