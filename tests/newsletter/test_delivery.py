"""The mailing of an issue through a real SMTP server: who gets what, the
headers, one-click unsubscribe, bounces, retries and a relay that goes away."""

import datetime
import email
import email.policy
import re

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from newsletter import delivery
from newsletter.mail import MailRenderer
from newsletter.models import Delivery, Mailing, Subscriber
from papers.models import Issue, Tag
from tests.factories import (
    EntryFactory,
    IssueFactory,
    SectionFactory,
    StaffFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher():
    return StaffFactory(group="Publisher", email="publisher@example.org")


@pytest.fixture
def issue():
    """A public issue: two sections, three entries, tags RAG and 幻觉."""
    issue = IssueFactory(title="第9期 <大模型> 论文")
    rag, safety = SectionFactory(name="RAG"), SectionFactory(name="安全与对齐")
    EntryFactory(issue=issue, section=rag, title="Retrieval paper", tags=["RAG"])
    EntryFactory(issue=issue, section=rag, title="Another retrieval paper")
    EntryFactory(issue=issue, section=safety, title="Hallucination paper", tags=["幻觉"])
    return issue


def send(issue, publisher):
    delivery.request_mailing(issue, publisher)
    return delivery.deliver(issue.pk)


def html_part(message):
    return message.get_body(preferencelist=("html",)).get_content()


def text_part(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def test_every_receiving_subscriber_gets_one_message_with_their_selection(smtp, issue, publisher):
    everyone = SubscriberFactory(email="all@example.org")
    rag_only = SubscriberFactory(email="rag@example.org", sections=[issue.entries.first().section])
    by_tag = SubscriberFactory(email="tag@example.org", tags=[Tag.objects.get(name="幻觉")])
    unrelated = SubscriberFactory(
        email="none@example.org", sections=[SectionFactory(name="多模态")]
    )
    SubscriberFactory(email="pending@example.org", status=Subscriber.Status.PENDING)
    SubscriberFactory(email="paused@example.org", paused=True)
    SubscriberFactory(email="gone@example.org", status=Subscriber.Status.UNSUBSCRIBED)

    outcome = send(issue, publisher)

    assert outcome.sent == 3
    assert sorted(m["To"] for m in smtp.messages) == [everyone.email, rag_only.email, by_tag.email]
    assert not Delivery.objects.filter(subscriber=unrelated).exists()
    whole = text_part(smtp.to(everyone.email)[0])
    assert all(
        t in whole for t in ("Retrieval paper", "Another retrieval paper", "Hallucination paper")
    )
    rag = text_part(smtp.to(rag_only.email)[0])
    assert "Another retrieval paper" in rag and "Hallucination paper" not in rag
    tagged = html_part(smtp.to(by_tag.email)[0])
    assert "Hallucination paper" in tagged and "Retrieval paper" not in tagged
    assert "本期" in tagged  # the issue's introduction goes to every selection
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


def test_headers_parts_and_links(smtp, issue, publisher, settings):
    settings.NEWSLETTER_UNSUBSCRIBE_MAILTO = "unsubscribe@example.org"
    settings.NEWSLETTER_REPLY_TO = "editors@example.org"
    subscriber = SubscriberFactory(email="reader@example.org", language="en")
    send(issue, publisher)

    (message,) = smtp.messages
    assert message["Reply-To"] == "editors@example.org"
    assert message["Message-ID"] and message["Date"] and "digest" in message["From"]
    assert message["List-Id"] == f"<{settings.NEWSLETTER_LIST_ID}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    one_click, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert one_click.startswith(settings.SITE_URL + "/subscribe/unsubscribe/")
    assert mailto == "mailto:unsubscribe@example.org?subject=unsubscribe"
    assert message["Subject"].endswith("第9期 <大模型> 论文")

    html = html_part(message)
    assert "<style>" not in html.replace('<style data-css-inline="keep">', "")
    assert 'style="' in html and "<script" not in html.lower()
    assert "第9期 &lt;大模型&gt; 论文" in html  # escaped once, in the subscriber's page
    assert "Read this issue on the website" in html  # the interface text in English
    manage = f"{settings.SITE_URL}/en/subscribe/manage/"
    assert manage in html and manage in text_part(message)
    assert "NEWSLETTER-" not in html + text_part(message)  # every placeholder filled in
    assert subscriber.email in message["To"]


def test_links_to_the_site_are_absolute(smtp, publisher, settings):
    issue = IssueFactory(intro="见[标签页](/tags/rag/)与[外链](https://example.com/x)。")
    EntryFactory(issue=issue, summary="参见[论文页](/papers/2406.15877/)。")
    SubscriberFactory()
    send(issue, publisher)

    html = html_part(smtp.messages[0])
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert f"{settings.SITE_URL}/tags/rag/" in hrefs
    assert f"{settings.SITE_URL}/papers/2406.15877/" in hrefs
    assert "https://example.com/x" in hrefs
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs


def test_the_one_click_link_unsubscribes_with_a_bare_post(smtp, issue, publisher, settings):
    subscriber = SubscriberFactory()
    send(issue, publisher)
    link = re.search(r"<([^>]+)>", smtp.messages[0]["List-Unsubscribe"])[1]

    response = Client(enforce_csrf_checks=True).post(
        link.removeprefix(settings.SITE_URL), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_rendered_once_per_selection_and_language(smtp, issue, publisher, monkeypatch):
    rag = issue.entries.first().section
    for n in range(12):
        SubscriberFactory(language=["zh-hans", "en"][n % 2], sections=[rag] if n % 3 else [])
    renders = []
    original = MailRenderer._render
    monkeypatch.setattr(
        MailRenderer, "_render", lambda self, *args: renders.append(args) or original(self, *args)
    )

    assert send(issue, publisher).sent == 12
    assert len(renders) == 4  # {whole issue, RAG only} × {中文, English}


def test_sending_twice_sends_once(smtp, issue, publisher):
    SubscriberFactory.create_batch(3)
    send(issue, publisher)
    send(issue, publisher)
    delivery.queue_mailing(issue.pk)
    delivery.deliver(issue.pk)

    assert len(smtp.messages) == 3
    assert Mailing.objects.count() == 1 and Delivery.objects.count() == 3


def test_a_permanent_refusal_bounces_the_address_for_good(smtp, issue, publisher):
    bad = SubscriberFactory(email="nobody@example.org")
    good = SubscriberFactory()
    smtp.refuse(bad.email, "550 5.1.1 No such user")

    outcome = send(issue, publisher)

    assert (outcome.sent, outcome.bounced) == (1, 1)
    bad.refresh_from_db()
    assert bad.status == Subscriber.Status.BOUNCED
    assert Delivery.objects.get(subscriber=bad).status == Delivery.Status.BOUNCED
    next_issue = IssueFactory()
    EntryFactory(issue=next_issue)
    send(next_issue, publisher)
    assert [m["To"] for m in smtp.to(bad.email)] == []
    assert len(smtp.to(good.email)) == 2


def test_a_temporary_refusal_is_retried_later_with_backoff(smtp, issue, publisher):
    reader = SubscriberFactory(email="busy@example.org")
    smtp.refuse(reader.email, "451 4.7.1 Try again later")

    outcome = send(issue, publisher)

    row = Delivery.objects.get()
    assert (outcome.sent, outcome.retrying) == (0, 1)
    assert row.status == Delivery.Status.RETRYING and row.attempts == 1
    assert row.next_attempt_at > timezone.now() + datetime.timedelta(seconds=40)
    assert delivery.deliver(issue.pk).sent == 0  # not due yet

    smtp.handler.refusals.clear()
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert delivery.deliver(issue.pk).sent == 1
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert len(smtp.messages) == 1


def test_backoff_grows_and_gives_up():
    delays = [delivery.retry_delay(n) for n in range(1, 12)]
    assert delays[0] < delays[3] < delays[6]
    assert max(delays) <= delivery.LONGEST_RETRY * 1.2


def test_a_relay_that_goes_away_loses_nothing(smtp, issue, publisher):
    SubscriberFactory.create_batch(5)
    smtp.stop()

    outcome = send(issue, publisher)

    assert outcome.sent == 0 and outcome.retrying == 5
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.RETRYING}
    smtp.start()
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert delivery.deliver(issue.pk).sent == 5
    assert len(smtp.messages) == 5


def test_two_workers_never_claim_the_same_row(issue, publisher):
    SubscriberFactory.create_batch(7)
    delivery.request_mailing(issue, publisher)
    delivery.queue_mailing(issue.pk)

    first = delivery.claim_batch(issue.pk, size=4)
    second = delivery.claim_batch(issue.pk, size=4)
    third = delivery.claim_batch(issue.pk, size=4)

    assert len(first) == 4 and len(second) == 3 and third == []
    assert not {r.pk for r in first} & {r.pk for r in second}


def test_rows_read_by_two_workers_are_taken_by_the_first_update_only(issue, publisher, monkeypatch):
    """The race the database decides: both workers read the same rows, the
    first UPDATE takes them, the second finds them leased and takes none."""
    SubscriberFactory.create_batch(3)
    delivery.request_mailing(issue, publisher)
    delivery.queue_mailing(issue.pk)
    seen_by_both = list(Delivery.objects.values_list("pk", flat=True))
    monkeypatch.setattr(delivery, "candidate_ids", lambda *args: seen_by_both)

    assert len(delivery.claim_batch(issue.pk)) == 3
    assert delivery.claim_batch(issue.pk) == []


def test_a_dead_workers_rows_are_taken_up_when_its_lease_runs_out(smtp, issue, publisher):
    SubscriberFactory.create_batch(3)
    delivery.request_mailing(issue, publisher)
    delivery.queue_mailing(issue.pk)
    held = delivery.claim_batch(issue.pk)  # ...and the worker dies here

    assert delivery.deliver(issue.pk).sent == 0
    Delivery.objects.update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert delivery.deliver(issue.pk).sent == 3
    # The dead worker's claim no longer holds: it cannot mark the rows.
    delivery._finish(held[0], Delivery.Status.FAILED)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


def test_a_draft_cannot_be_sent_now_but_can_be_sent_when_published(smtp, publisher):
    draft = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=draft)
    SubscriberFactory()
    with pytest.raises(delivery.NotPublic):
        delivery.request_mailing(draft, publisher)

    delivery.request_mailing(draft, publisher, when_published=True)
    assert delivery.deliver(draft.pk).sent == 0  # not public: nothing queued
    draft.publish()
    assert delivery.deliver(draft.pk).sent == 1


def test_editors_cannot_send(issue):
    editor = StaffFactory(group="Editor")
    with pytest.raises(delivery.PermissionDenied):
        delivery.request_mailing(issue, editor)
    assert not Mailing.objects.exists()


def test_messages_parse_as_utf8_mail(smtp, issue, publisher):
    SubscriberFactory(email="r@example.org")
    send(issue, publisher)
    raw = smtp.messages[0].as_bytes(policy=email.policy.SMTP)
    assert b"\r\n" in raw and b"Content-Type: text/html" in raw


def _parsed(message_bytes):
    return email.message_from_bytes(message_bytes, policy=email.policy.default)


def _same_mail(fast, slow):
    """Header by header (but the per-message Date and Message-ID) and part by part."""
    for header in ("Subject", "From", "To", "Reply-To", "List-Id", "List-Unsubscribe"):
        assert str(fast[header]).strip() == str(slow[header]).strip(), header  # folding aside
    assert fast["List-Unsubscribe-Post"] == slow["List-Unsubscribe-Post"]
    assert fast["Date"] and fast["Message-ID"]
    for kind in ("plain", "html"):
        assert fast.get_body((kind,)).get_content() == slow.get_body((kind,)).get_content()


def test_the_serialised_message_is_the_one_django_would_build(issue, settings):
    settings.NEWSLETTER_REPLY_TO = "editors@example.org"
    renderer = MailRenderer(issue)
    subscriber = SubscriberFactory(email="Reader.One@例子.中国", language="en")

    message = renderer.message_for(subscriber)
    fast = message.message().as_bytes(linesep="\r\n")

    assert renderer.rendered("en", renderer.entries).serialised() is not None  # the fast way
    slow = EmailMultiAlternatives.message(message).as_bytes(linesep="\r\n")
    _same_mail(_parsed(fast), _parsed(slow))
    assert b"NEWSLETTER-" not in fast and b"placeholder.invalid" not in fast


def test_a_body_with_very_long_lines_is_built_per_message(issue):
    EntryFactory(issue=issue, summary="长" * 2000)  # 6,000 bytes on one line
    renderer = MailRenderer(issue)
    subscriber = SubscriberFactory()

    message = renderer.message_for(subscriber)
    data = message.message().as_bytes(linesep="\r\n")

    assert renderer.rendered("zh-hans", renderer.entries).serialised() is None
    parsed = _parsed(data)
    assert "长" * 2000 in parsed.get_body(("plain",)).get_content()
    assert message.manage in parsed.get_body(("html",)).get_content()
    assert b"NEWSLETTER-" not in data


def test_readers_who_leave_during_a_slow_batch_are_not_mailed(smtp, issue, publisher, monkeypatch):
    SubscriberFactory.create_batch(3)
    delivery.request_mailing(issue, publisher)
    delivery.queue_mailing(issue.pk)
    rows = delivery.claim_batch(issue.pk)
    first, leaves, erased = (row.subscriber for row in rows)
    monkeypatch.setattr(delivery, "RECHECK_SUBSCRIBERS_EVERY", 0)
    build = MailRenderer.message_for

    def first_message_then_two_readers_leave(renderer, subscriber, **kwargs):
        message = build(renderer, subscriber, **kwargs)
        if subscriber == first:  # while the relay takes its time over the first
            Subscriber.objects.get(pk=leaves.pk).unsubscribe()
            Subscriber.objects.filter(pk=erased.pk).delete()
        return message

    monkeypatch.setattr(MailRenderer, "message_for", first_message_then_two_readers_leave)

    outcome = delivery.send_batch(issue, rows)

    assert [m["To"] for m in smtp.messages] == [first.email]
    assert outcome.sent == 1
