"""The page caches' tasks (``manage.py delivery_worker`` runs them with the mail's)."""

import datetime

from django_tasks import task

from reading import front_cache


@task(queue_name="default")
def purge_front_cache(address, keys, attempt):
    """Try a front cache's purge again (reading.front_cache); leaves the next try if it fails."""
    try:
        front_cache.send_purge(address, keys)
    except front_cache.PurgeFailed as error:
        front_cache.logger.warning("front cache purge failed (try %d): %s", attempt, error)
        front_cache.retry_later(address, keys, attempt)
        return "failed"
    return "purged"


@task(queue_name="default")
def scheduled_issue_due(issue_pk, published_at):
    """A scheduled issue went live: purge what it changes, if it is still due at that time."""
    from papers.models import Issue
    from reading import page_cache, signals

    issue = Issue.objects.published().filter(pk=issue_pk).first()
    if issue is None or issue.published_at != datetime.datetime.fromisoformat(published_at):
        return "not due"  # unscheduled or moved since: another task was planned
    page_cache.purge(signals.publication_keys(issue_pk, (issue.published_at,)))
    return "purged"
