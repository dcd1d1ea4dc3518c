"""Defects found by a hostile review of delivery, each kept from coming back."""

import io
import logging

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from django.core.mail import get_connection
from django_tasks_db.models import DBTaskResult

from newsletter import delivery, tokens
from newsletter.mail import MailRenderer
from newsletter.models import Delivery, Subscriber
from tests.factories import EntryFactory, IssueFactory, StaffFactory, SubscriberFactory
from tests.support.smtp import RecordingHandler, free_port
from tests.support.tasks import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def publisher():
    return StaffFactory(group="Publisher", email="publisher@example.org")


@pytest.fixture
def issue():
    issue = IssueFactory()
    EntryFactory(issue=issue)
    return issue


class SenderRefusingHandler(RecordingHandler):
    """A relay that will not take mail from our From address (550 at MAIL FROM)."""

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        return "550 5.7.1 Sender address not allowed for this account"


class ContentRefusingHandler(RecordingHandler):
    """A relay whose filter refuses the message itself (5xx after DATA)."""

    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 Message content rejected"


def _wrong_password(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


def _relay(kind):
    if kind == "sender refused":
        return Controller(SenderRefusingHandler(), hostname="127.0.0.1", port=free_port())
    if kind == "content refused":
        return Controller(ContentRefusingHandler(), hostname="127.0.0.1", port=free_port())
    return Controller(
        RecordingHandler(),
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_wrong_password,
        auth_required=True,
        auth_require_tls=False,
    )


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(
    ("kind", "left"),
    [
        ("sender refused", Delivery.Status.RETRYING),
        ("wrong password", Delivery.Status.RETRYING),
        ("content refused", Delivery.Status.FAILED),
    ],
)
def test_a_relay_refusing_us_rather_than_the_address_bounces_nobody(
    kind, left, issue, publisher, settings
):
    """A 5xx about our account, our From address or the message itself says
    nothing about the subscriber's address: marking them bounced would end
    their subscription (the whole list's, one batch at a time) for a mistake
    in our settings or a filter's view of one issue."""
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    readers = SubscriberFactory.create_batch(3)
    controller = _relay(kind)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        if kind == "wrong password":
            settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "digest", "wrong"
        delivery.request_mailing(issue, publisher)
        outcome = delivery.deliver(issue.pk)
    finally:
        controller.stop()

    assert outcome.bounced == 0
    assert not Subscriber.objects.filter(status=Subscriber.Status.BOUNCED).exists()
    assert Subscriber.objects.filter(pk__in=[r.pk for r in readers]).count() == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {left}


def test_an_issue_unpublished_while_it_is_mailed_is_not_mailed_further(
    smtp, issue, publisher, django_capture_on_commit_callbacks
):
    """Taking an issue back to draft stops its mailing: the rows not sent
    yet wait, and go once the issue is public again."""
    SubscriberFactory.create_batch(3)
    delivery.request_mailing(issue, publisher)
    delivery.queue_mailing(issue.pk)  # a worker queued the rows...
    issue.unpublish()  # ...and the publisher pulls the issue before they go

    delivery.deliver(issue.pk)

    assert smtp.messages == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}

    with django_capture_on_commit_callbacks(execute=True):
        issue.publish()
    assert DBTaskResult.objects.exists()  # woken for the workers already running
    run_worker()
    assert len(smtp.messages) == 3


def test_a_site_address_holding_the_word_token_gives_working_links(issue, settings):
    """The links are built from a reversed address with "TOKEN" in it: a site
    address holding that word too must not break every message."""
    settings.SITE_URL = "https://TOKEN.example.org"
    reader = SubscriberFactory()

    message = MailRenderer(issue).message_for(reader)

    assert message.manage.startswith("https://TOKEN.example.org/subscribe/manage/")
    assert message.unsubscribe.startswith("https://TOKEN.example.org/subscribe/unsubscribe/")


def test_the_console_backend_prints_an_issue_mail(issue):
    """EMAIL_BACKEND may name Django's console backend (a developer's
    choice): it asks the message for its charset."""
    reader = SubscriberFactory(email="console@example.org")
    stream = io.StringIO()
    connection = get_connection("django.core.mail.backends.console.EmailBackend", stream=stream)

    MailRenderer(issue).message_for(reader, connection=connection).send()

    assert "To: console@example.org" in stream.getvalue()


def test_a_title_with_a_line_break_still_makes_a_subject(smtp, publisher):
    """Nothing in the model keeps a line break out of a title (a crafted
    admin post, a fixture): the subject must not stop the whole mailing."""
    issue = IssueFactory(title="第1期\n更正版")
    EntryFactory(issue=issue)
    SubscriberFactory()
    delivery.request_mailing(issue, publisher)

    assert delivery.deliver(issue.pk).sent == 1
    assert smtp.messages[0]["Subject"].endswith("第1期 更正版")


def test_a_turn_for_a_deleted_issue_ends_quietly(publisher, issue):
    """A publisher may delete an issue whose mailing a worker has yet to take up."""
    SubscriberFactory()
    delivery.request_mailing(issue, publisher)
    deleted = issue.pk
    issue.delete()

    assert delivery.deliver(deleted) == delivery.Outcome()


def test_the_text_part_leaves_out_comments_the_site_hides(smtp, publisher):
    """An HTML comment in Markdown is an editor's note: the site's sanitiser
    drops it, and the text part, written from the Markdown, must too."""
    issue = IssueFactory(intro="导言。<!-- 内部：导言还要改 -->")
    EntryFactory(issue=issue, summary="摘要<!-- 备注：作者要求\n暂不公开 -->完。")
    SubscriberFactory()
    delivery.request_mailing(issue, publisher)
    delivery.deliver(issue.pk)

    (message,) = smtp.messages
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "导言。" in text and "摘要完。" in text
    assert "内部" not in text and "作者要求" not in text and "<!--" not in text


@pytest.mark.parametrize(
    "local_part",
    [
        "NEWSLETTER-DATE-0c6f",
        "NEWSLETTER-MANAGE-LINK-0c6f",
        "NEWSLETTER-UNSUBSCRIBE-LINK-0c6f",
        '"<newsletter-message-id-0c6f@placeholder.invalid>"',
    ],
)
def test_an_address_holding_a_placeholder_is_the_to_header_as_typed(issue, local_part):
    """Anyone may sign up with such an address: the values put into the
    serialised message must not be filled in again by the next placeholder."""
    reader = SubscriberFactory(email=f"{local_part}@example.org")
    message = MailRenderer(issue).message_for(reader)

    data = message.message().as_bytes(linesep="\r\n")

    assert f"\r\nTo: {local_part}@example.org\r\n".encode() in data


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_text_that_looks_like_a_placeholder_never_carries_another_readers_values(
    smtp, publisher, language
):
    """An editor may type a placeholder's text into a title, an introduction
    or a summary: each reader's message still holds only their own address
    and links."""
    every = "NEWSLETTER-MANAGE-LINK-0c6f NEWSLETTER-UNSUBSCRIBE-LINK-0c6f " + (
        "newsletter-to-0c6f@placeholder.invalid "
        "<newsletter-message-id-0c6f@placeholder.invalid> NEWSLETTER-DATE-0c6f"
    )
    issue = IssueFactory(title=f"Issue {every}", intro=every)
    EntryFactory(issue=issue, title=every, summary=every)
    readers = [SubscriberFactory(email=f"r{n}@example.org", language=language) for n in (1, 2)]
    delivery.request_mailing(issue, publisher)
    delivery.deliver(issue.pk)

    for reader, other in (readers, readers[::-1]):
        (message,) = smtp.to(reader.email)
        raw = "".join(
            [*(f"{name}: {value}" for name, value in message.items())]
            + [message.get_body(preferencelist=(kind,)).get_content() for kind in ("plain", "html")]
        )
        assert message["To"] == reader.email
        assert tokens.manage_token(other) not in raw and other.email not in raw
        assert tokens.manage_token(reader) in raw
