"""Delivery under everything at once: hypothesis drives subscribers, a relay
that refuses, goes away and comes back, workers that take rows and die, and
time that passes. Whatever the order, nobody gets an issue twice (no worker
here dies after the relay accepted a message), only confirmed readers get it,
a row marked sent is a message received, and once the relay is healthy and
time has passed, every reader the issue was queued for has it."""

import datetime
import itertools

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from newsletter import delivery
from newsletter.models import Delivery, Subscriber
from tests.factories import (
    EntryFactory,
    IssueFactory,
    SectionFactory,
    StaffFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db

SINK = {}


class MailingUnderFaults(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()  # each example rolled back at teardown
        self._atomic.__enter__()
        self.smtp = SINK["smtp"]
        self.smtp.handler.messages.clear()
        self.smtp.handler.refusals.clear()
        if self.smtp.controller is None:
            self.smtp.start()
        self.numbers = itertools.count(1)
        self.queued_for = None  # addresses the rows were made for

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        if self.smtp.controller is None:
            self.smtp.start()

    @initialize()
    def an_issue_with_two_sections(self):
        self.sections = [SectionFactory(), SectionFactory()]
        self.issue = IssueFactory()
        for section in self.sections:
            EntryFactory(issue=self.issue, section=section)
        EntryFactory(issue=self.issue, section=self.sections[0], tags=["RAG"])
        self.publisher = StaffFactory(group="Publisher")
        for follows in ("all", "first", "second"):
            self.a_reader_signs_up(Subscriber.Status.CONFIRMED, False, follows, "zh-hans")

    @rule(
        status=st.sampled_from(Subscriber.Status.values),
        paused=st.booleans(),
        follows=st.sampled_from(["all", "first", "second", "other"]),
        language=st.sampled_from(["zh-hans", "en"]),
    )
    def a_reader_signs_up(self, status, paused, follows, language):
        sections = {"all": [], "first": [self.sections[0]], "second": [self.sections[1]]}
        SubscriberFactory(
            email=f"reader{next(self.numbers)}@example.org",
            status=status,
            paused=paused,
            language=language,
            sections=sections.get(follows, [SectionFactory()]),
        )

    @rule(
        reader=st.integers(0, 30),
        code=st.sampled_from(["451 4.7.1 Later", "550 5.1.1 No such user", "421 4.3.2 Bye"]),
    )
    def the_relay_refuses_someone(self, reader, code):
        subscriber = Subscriber.objects.order_by("pk")[reader : reader + 1].first()
        if subscriber:
            self.smtp.refuse(subscriber.email, code)

    @rule()
    def the_relay_forgives(self):
        self.smtp.handler.refusals.clear()

    @rule()
    def the_relay_goes_away(self):
        self.smtp.stop()

    @rule()
    def the_relay_comes_back(self):
        if self.smtp.controller is None:
            self.smtp.start()

    @rule()
    def a_publisher_sends(self):
        delivery.request_mailing(self.issue, self.publisher)

    @rule()
    def a_worker_takes_its_turn(self):
        if delivery.queue_mailing(self.issue.pk) or self.queued_for is None:
            self._note_queue()
        delivery.deliver(self.issue.pk, max_batches=1)
        self._note_queue()

    @rule(size=st.integers(1, 5))
    def a_worker_claims_rows_and_dies(self, size):
        delivery.queue_mailing(self.issue.pk)
        self._note_queue()
        delivery.claim_batch(self.issue.pk, size=size)

    @rule(reader=st.integers(0, 30))
    def a_reader_unsubscribes(self, reader):
        subscriber = Subscriber.objects.order_by("pk")[reader : reader + 1].first()
        if subscriber:
            subscriber.unsubscribe()

    @rule(minutes=st.sampled_from([1, 10, 600]))
    def time_passes(self, minutes):
        past = timezone.now() - datetime.timedelta(seconds=1)
        later = timezone.now() + datetime.timedelta(minutes=minutes)
        Delivery.objects.filter(next_attempt_at__lte=later).update(next_attempt_at=past)
        Delivery.objects.filter(lease_until__lte=later).update(lease_until=past)

    def _note_queue(self):
        if self.queued_for is None and Delivery.objects.exists():
            self.queued_for = set(Delivery.objects.values_list("subscriber__email", flat=True))

    @invariant()
    def nobody_gets_it_twice_and_sent_means_received(self):
        received = [m["To"] for m in self.smtp.messages]
        assert len(received) == len(set(received)), received
        sent = set(
            Delivery.objects.filter(status=Delivery.Status.SENT).values_list(
                "subscriber__email", flat=True
            )
        )
        assert sent == set(received)

    @invariant()
    def only_readers_it_was_queued_for(self):
        received = {m["To"] for m in self.smtp.messages}
        assert received <= (self.queued_for or set())
        bounced = set(
            Subscriber.objects.filter(status=Subscriber.Status.BOUNCED).values_list(
                "email", flat=True
            )
        )
        bounced_rows = set(
            Delivery.objects.filter(status=Delivery.Status.BOUNCED).values_list(
                "subscriber__email", flat=True
            )
        )
        assert bounced_rows <= bounced

    def check_everyone_gets_it_in_the_end(self):
        """Relay healthy, everyone forgiven, time passed: every queued row ends."""
        self.the_relay_comes_back()
        self.the_relay_forgives()
        for _ in range(delivery.MAX_ATTEMPTS + 2):
            self.time_passes(24 * 60)
            delivery.deliver(self.issue.pk)
        assert not Delivery.objects.unfinished().exists()
        for row in Delivery.objects.select_related("subscriber"):
            reachable = (
                row.subscriber.status == Subscriber.Status.CONFIRMED and not row.subscriber.paused
            )
            if row.status == Delivery.Status.SENT:
                continue
            # Not sent: the reader left, paused or bounced, or retries ran out.
            assert not reachable or row.attempts >= delivery.MAX_ATTEMPTS, (row, row.last_error)


def test_delivery_keeps_its_promises_under_faults(smtp):
    SINK["smtp"] = smtp

    class Machine(MailingUnderFaults):
        def teardown(self):
            if Delivery.objects.exists():
                self.check_everyone_gets_it_in_the_end()
            self.nobody_gets_it_twice_and_sent_means_received()
            super().teardown()

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
