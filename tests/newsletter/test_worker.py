"""The task path: a publisher's request becomes tasks in the database queue,
and ``manage.py delivery_worker`` runs them (here in batch mode, in-process)."""

import datetime

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from newsletter import delivery
from newsletter.models import Delivery, Mailing
from newsletter.tasks import deliver_issue
from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, StaffFactory, SubscriberFactory
from tests.support.tasks import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher():
    return StaffFactory(group="Publisher")


def test_send_now_enqueues_parallel_turns_that_send_everything_once(
    smtp, publisher, django_capture_on_commit_callbacks, settings
):
    settings.NEWSLETTER_PARALLEL_TASKS = 3
    issue = IssueFactory()
    EntryFactory(issue=issue)
    SubscriberFactory.create_batch(5)

    with django_capture_on_commit_callbacks(execute=True):
        delivery.request_mailing(issue, publisher)
        delivery.request_mailing(issue, publisher)  # a second click

    assert DBTaskResult.objects.count() == 3
    run_worker()
    assert len(smtp.messages) == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_a_scheduled_issue_is_sent_at_its_time(smtp, publisher, django_capture_on_commit_callbacks):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=issue)
    SubscriberFactory.create_batch(2)
    later = timezone.now() + datetime.timedelta(hours=2)

    with django_capture_on_commit_callbacks(execute=True):
        delivery.request_mailing(issue, publisher, when_published=True)
    assert not DBTaskResult.objects.exists()  # a draft has no time yet
    with django_capture_on_commit_callbacks(execute=True):
        issue.publish(when=later)

    (task,) = DBTaskResult.objects.all()
    assert task.run_after == later
    run_worker()
    assert smtp.messages == [] and not Delivery.objects.exists()  # not yet

    # The time comes (moved, rather than waited for).
    Issue.objects.filter(pk=issue.pk).update(published_at=timezone.now())
    DBTaskResult.objects.update(run_after=timezone.now())
    run_worker()
    assert len(smtp.messages) == 2
    assert Mailing.objects.get().queued_at is not None


def test_a_worker_starting_up_resumes_what_dead_workers_left(smtp, publisher):
    issue = IssueFactory()
    EntryFactory(issue=issue)
    SubscriberFactory.create_batch(4)
    delivery.request_mailing(issue, publisher)  # its task was never enqueued (on_commit)
    delivery.queue_mailing(issue.pk)
    delivery.claim_batch(issue.pk, size=2)  # a worker took two rows and died
    Delivery.objects.filter(status=Delivery.Status.SENDING).update(
        lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )

    run_worker()

    assert len(smtp.messages) == 4
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 4


def test_follow_ups_are_not_multiplied(smtp, publisher):
    issue = IssueFactory()
    EntryFactory(issue=issue)
    reader = SubscriberFactory()
    smtp.refuse(reader.email, "451 4.3.0 Mailbox busy")
    delivery.request_mailing(issue, publisher)

    for _ in range(5):  # five workers end their turn on the same retrying row
        delivery.deliver(issue.pk)
        delivery.follow_up(issue.pk)

    waiting = DBTaskResult.objects.filter(run_after__gt=timezone.now())
    assert waiting.count() == 1
    assert waiting.get().run_after == Delivery.objects.get().next_attempt_at


def test_a_scheduled_issue_moved_later_is_sent_at_its_new_time(
    smtp, publisher, django_capture_on_commit_callbacks
):
    issue = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=issue)
    SubscriberFactory()
    soon, later = (timezone.now() + datetime.timedelta(hours=h) for h in (1, 5))
    with django_capture_on_commit_callbacks(execute=True):
        delivery.request_mailing(issue, publisher, when_published=True)
        issue.publish(when=soon)
    with django_capture_on_commit_callbacks(execute=True):
        issue.publish(when=later)

    # The turn for the old time runs then (the clock moved to it), finds the
    # issue not public yet...
    DBTaskResult.objects.update(run_after=timezone.now())
    Mailing.objects.update(wake_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert smtp.messages == []
    # ...and leaves one for the new time.
    assert DBTaskResult.objects.filter(run_after=later).exists()


def test_a_turn_that_fails_leaves_another_for_later(monkeypatch):
    def locked(issue_id):
        raise OperationalError("database is locked")

    monkeypatch.setattr(delivery, "deliver", locked)
    with pytest.raises(OperationalError):
        deliver_issue.call(7)

    (task,) = DBTaskResult.objects.all()
    assert task.args_kwargs == {"args": [7], "kwargs": {}}
    assert task.run_after > timezone.now() + datetime.timedelta(seconds=20)
