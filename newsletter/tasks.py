"""The worker's tasks (Django's task framework; ``manage.py delivery_worker`` runs them)."""

from django_tasks import task

from . import delivery


@task(queue_name="newsletter")
def deliver_issue(issue_id):
    """Queue the issue's deliveries if due, and send what can be sent now."""
    outcome = delivery.deliver(issue_id)
    return {
        "sent": outcome.sent,
        "retrying": outcome.retrying,
        "failed": outcome.failed,
        "bounced": outcome.bounced,
    }
