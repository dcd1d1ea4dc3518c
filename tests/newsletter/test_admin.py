"""The publishers' side of delivery in the admin: the panel on an issue's
page, its send views and their permissions, the progress numbers, and the
subscriber, mailing and delivery lists."""

import csv
import datetime
import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from newsletter.models import Delivery, Mailing, Subscriber
from papers.models import Issue
from tests.factories import (
    EntryFactory,
    IssueFactory,
    SectionFactory,
    StaffFactory,
    SubscriberFactory,
    TagFactory,
    UserFactory,
)
from tests.support.admin import signed_in
from tests.support.tasks import run_worker

pytestmark = pytest.mark.django_db

SEND_URLS = [
    "admin:newsletter_send_test",
    "admin:newsletter_send_to_all",
    "admin:newsletter_send_on_publish",
    "admin:newsletter_cancel_send",
]


@pytest.fixture
def publisher(db):
    return StaffFactory(username="sender", email="sender@example.org", group="Publisher")


@pytest.fixture
def editor(db):
    return StaffFactory(username="writer", email="writer@example.org", group="Editor")


@pytest.fixture
def issue(db):
    """A published issue with entries in two sections, one entry tagged."""
    issue = IssueFactory(title="第9期 长上下文")
    EntryFactory(issue=issue, section=SectionFactory(name="RAG"), tags=["检索"])
    EntryFactory(issue=issue, section=SectionFactory(name="LLM推理"))
    return issue


@pytest.fixture
def audience(issue):
    """Who receives ``issue`` and who does not."""
    rag = issue.entries.get(section__name="RAG").section
    retrieval = issue.entries.get(section__name="RAG").tags.get()
    receiving = [
        SubscriberFactory(),
        SubscriberFactory(language=Subscriber.Language.ENGLISH),
        SubscriberFactory(sections=[rag]),
        SubscriberFactory(tags=[retrieval]),
    ]
    not_receiving = [
        SubscriberFactory(sections=[SectionFactory(name="安全")]),
        SubscriberFactory(status=Subscriber.Status.PENDING, confirmed_at=None),
        SubscriberFactory(status=Subscriber.Status.UNSUBSCRIBED),
        SubscriberFactory(paused=True),
    ]
    return receiving, not_receiving


def url(name, issue):
    return reverse(name, args=[issue.pk])


def change_page(client, issue):
    return client.get(reverse("admin:papers_issue_change", args=[issue.pk]))


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# The panel ------------------------------------------------------------------


def test_publisher_sees_the_panel_and_its_buttons(publisher, issue):
    response = change_page(signed_in(publisher), issue)
    page = response.content.decode()
    assert response.status_code == 200
    assert "邮件发送" in page
    assert "先发一封测试邮件给我" in page
    assert url("admin:newsletter_send_to_all", issue) in page
    assert url("admin:newsletter_send_test", issue) in page
    assert "尚未发送给订阅者" in page


def test_editor_sees_neither_panel_nor_buttons(editor, issue, audience):
    response = change_page(signed_in(editor), issue)
    page = response.content.decode()
    assert response.status_code == 200
    assert "邮件发送" not in page
    assert "newsletter-" not in page
    assert "/admin/newsletter/" not in page


def test_a_draft_offers_send_on_publish_not_send_now(publisher):
    draft = IssueFactory(status=Issue.Status.DRAFT)
    page = change_page(signed_in(publisher), draft).content.decode()
    assert "发布时发送" in page
    assert "发布后立即发给订阅者" in page
    assert url("admin:newsletter_send_to_all", draft) not in page


def test_a_scheduled_issue_says_when_it_will_go(publisher):
    when = timezone.now() + datetime.timedelta(days=2)
    scheduled = IssueFactory(status=Issue.Status.SCHEDULED, published_at=when)
    page = change_page(signed_in(publisher), scheduled).content.decode()
    assert f"将在 {timezone.localtime(when):%Y-%m-%d %H:%M} 定时发布时发给订阅者" in page


# Who may send ---------------------------------------------------------------


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: StaffFactory(email="editor@example.org", group="Editor"),
        lambda: UserFactory(email="staff@example.org", is_staff=True),
    ],
    ids=["editor", "staff-without-group"],
)
def test_only_publishers_may_post_to_the_send_urls(make_user, issue, audience, smtp):
    client = signed_in(make_user())
    for name in SEND_URLS:
        response = client.post(url(name, issue), {"language": "zh-hans"})
        assert response.status_code == 403, name
    assert client.get(url("admin:newsletter_send_to_all", issue)).status_code == 403
    assert client.get(url("admin:newsletter_progress", issue)).status_code == 403
    assert not Mailing.objects.exists()
    assert not Delivery.objects.exists()
    assert smtp.messages == []


def test_signed_out_and_non_staff_are_sent_to_the_login(issue):
    for client in (Client(), signed_in(UserFactory(email="reader@example.org"))):
        for name in [*SEND_URLS, "admin:newsletter_progress"]:
            response = client.post(url(name, issue))
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]
    assert not Mailing.objects.exists()


def test_send_views_refuse_get_where_they_change_something(publisher, issue):
    client = signed_in(publisher)
    for name in ["admin:newsletter_send_test", "admin:newsletter_send_on_publish"]:
        assert client.get(url(name, issue)).status_code == 405
    assert not Mailing.objects.exists()


def test_the_send_forms_carry_a_csrf_token(publisher, issue):
    client = signed_in(publisher)
    client.handler.enforce_csrf_checks = True
    assert client.post(url("admin:newsletter_send_to_all", issue)).status_code == 403
    assert not Mailing.objects.exists()
    page = change_page(client, issue).content.decode()
    assert page.count('id="newsletter-test-form"') == 1
    form_start = page.index('id="newsletter-test-form"')
    assert "csrfmiddlewaretoken" in page[form_start : page.index("</form>", form_start)]


# The test mail -------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_test_mail_reaches_the_publisher(publisher, issue, smtp, language):
    response = signed_in(publisher).post(
        url("admin:newsletter_send_test", issue), {"language": language}
    )
    assert response.status_code == 302
    [message] = smtp.messages
    assert message["To"] == "sender@example.org"
    # Python's parser keeps the space of a folded first line; mail clients drop it.
    subject = str(message["Subject"]).strip()
    assert subject.startswith("[测试] ")
    assert subject.endswith("第9期 长上下文")
    html = message.get_body(("html",)).get_content()
    assert f'lang="{language}"' in html
    assert issue.entries.count() == 2
    for entry in issue.entries.all():
        assert entry.title in html
    assert any("测试邮件" in text and "sender@example.org" in text for text in texts(response))
    assert not Delivery.objects.exists()
    assert not Mailing.objects.exists()


def test_a_draft_can_be_tried_out_by_mail(publisher, smtp):
    draft = IssueFactory(status=Issue.Status.DRAFT, title="草稿期")
    EntryFactory(issue=draft)
    signed_in(publisher).post(url("admin:newsletter_send_test", draft), {"language": "zh-hans"})
    assert [m["To"] for m in smtp.messages] == ["sender@example.org"]


def test_no_test_mail_without_an_address(issue, smtp):
    nameless = StaffFactory(email="", group="Publisher")
    response = signed_in(nameless).post(
        url("admin:newsletter_send_test", issue), {"language": "zh-hans"}
    )
    assert response.status_code == 302
    assert smtp.messages == []
    assert any("没有填写邮箱" in text for text in texts(response))


def test_an_unknown_language_sends_nothing(publisher, issue, smtp):
    response = signed_in(publisher).post(
        url("admin:newsletter_send_test", issue), {"language": "xx"}
    )
    assert response.status_code == 302
    assert smtp.messages == []
    assert any("语言" in text for text in texts(response))


def test_a_relay_that_is_down_gives_a_message_not_an_error(publisher, issue, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    response = signed_in(publisher).post(
        url("admin:newsletter_send_test", issue), {"language": "zh-hans"}
    )
    assert response.status_code == 302
    assert any("发送失败" in text for text in texts(response))


# Sending to everyone -------------------------------------------------------


def test_the_confirmation_says_how_many_will_receive_it(publisher, issue, audience):
    response = signed_in(publisher).get(url("admin:newsletter_send_to_all", issue))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong id="newsletter-receiving">4</strong>' in page
    assert "确认发送给 4 位订阅者" in page
    assert not Mailing.objects.exists()


def test_sending_to_all_makes_one_delivery_per_receiving_subscriber(
    publisher, issue, audience, smtp, django_capture_on_commit_callbacks
):
    receiving, _ = audience
    client = signed_in(publisher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("admin:newsletter_send_to_all", issue))
    assert response.status_code == 302
    assert any("给 4 位订阅者" in text for text in texts(response))
    mailing = Mailing.objects.get(issue=issue)
    assert mailing.requested_by == publisher
    run_worker()
    rows = Delivery.objects.filter(issue=issue)
    assert sorted(rows.values_list("subscriber_id", flat=True)) == sorted(s.pk for s in receiving)
    assert set(rows.values_list("status", flat=True)) == {Delivery.Status.SENT}
    assert sorted(m["To"] for m in smtp.messages) == sorted(s.email for s in receiving)


def test_posting_twice_sends_once(
    publisher, issue, audience, smtp, django_capture_on_commit_callbacks
):
    receiving, _ = audience
    client, other = signed_in(publisher), signed_in(StaffFactory(group="Publisher"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("admin:newsletter_send_to_all", issue))
        second = other.post(url("admin:newsletter_send_to_all", issue))
    assert any("不会重复发送" in text for text in texts(second))
    run_worker()
    with django_capture_on_commit_callbacks(execute=True):
        third = client.post(url("admin:newsletter_send_to_all", issue))
        client.post(url("admin:newsletter_send_on_publish", issue))
    run_worker()
    assert any("不会重复发送" in text for text in texts(third))
    assert Mailing.objects.count() == 1
    assert Mailing.objects.get().requested_by == publisher
    assert Delivery.objects.count() == len(receiving)
    assert len(smtp.messages) == len(receiving)


def test_a_draft_cannot_be_sent_to_all(publisher, audience, smtp):
    draft = IssueFactory(status=Issue.Status.DRAFT)
    client = signed_in(publisher)
    assert "尚未发布" in client.get(url("admin:newsletter_send_to_all", draft)).content.decode()
    response = client.post(url("admin:newsletter_send_to_all", draft))
    assert any("尚未发布" in text for text in texts(response))
    assert not Mailing.objects.filter(requested_at__isnull=False).exists()
    assert not Delivery.objects.exists()


def test_send_on_publish_of_a_public_issue_asks_for_the_confirmation(publisher, issue):
    response = signed_in(publisher).post(url("admin:newsletter_send_on_publish", issue))
    assert response.status_code == 302
    assert response["Location"] == url("admin:newsletter_send_to_all", issue)
    assert not Mailing.objects.filter(requested_at__isnull=False).exists()


# Send on publish -----------------------------------------------------------


def scheduled_issue_with_an_entry():
    issue = IssueFactory(
        status=Issue.Status.SCHEDULED, published_at=timezone.now() + datetime.timedelta(days=1)
    )
    EntryFactory(issue=issue)
    return issue


def test_send_on_publish_goes_when_the_scheduled_issue_is_published(
    publisher, smtp, django_capture_on_commit_callbacks
):
    issue = scheduled_issue_with_an_entry()
    readers = [SubscriberFactory(), SubscriberFactory()]
    client = signed_in(publisher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("admin:newsletter_send_on_publish", issue))
    assert any("定时发布时发送" in text for text in texts(response))
    mailing = Mailing.objects.get(issue=issue)
    assert mailing.send_on_publish and mailing.requested_by == publisher
    run_worker()  # the task waits for the issue's time: nothing yet
    assert not Delivery.objects.exists()
    page = change_page(client, issue).content.decode()
    assert "已设为发布时发送" in page
    assert "取消发送" in page

    with django_capture_on_commit_callbacks(execute=True):
        issue.published_at = timezone.now() - datetime.timedelta(minutes=1)
        issue.save()
    run_worker()
    assert sorted(Delivery.objects.values_list("subscriber_id", flat=True)) == sorted(
        r.pk for r in readers
    )
    assert sorted(m["To"] for m in smtp.messages) == sorted(r.email for r in readers)


def test_a_cancelled_send_on_publish_sends_nothing(
    publisher, smtp, django_capture_on_commit_callbacks
):
    issue = scheduled_issue_with_an_entry()
    SubscriberFactory()
    client = signed_in(publisher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("admin:newsletter_send_on_publish", issue))
        response = client.post(url("admin:newsletter_cancel_send", issue))
    assert any("已取消" in text for text in texts(response))
    with django_capture_on_commit_callbacks(execute=True):
        issue.published_at = timezone.now() - datetime.timedelta(minutes=1)
        issue.save()
    run_worker()
    assert not Delivery.objects.exists()
    assert smtp.messages == []
    assert "尚未发送给订阅者" in change_page(client, issue).content.decode()


def test_a_queued_mailing_cannot_be_cancelled(publisher, issue, audience):
    Mailing.objects.create(
        issue=issue, requested_at=timezone.now(), requested_by=publisher, queued_at=timezone.now()
    )
    response = signed_in(publisher).post(url("admin:newsletter_cancel_send", issue))
    assert any("无法取消" in text for text in texts(response))
    assert Mailing.objects.get().requested_at is not None


# Progress ------------------------------------------------------------------


def deliveries(issue, statuses):
    for status in statuses:
        Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status=status)


def test_progress_counts_each_status(publisher, issue):
    Mailing.objects.create(
        issue=issue, requested_at=timezone.now(), requested_by=publisher, queued_at=timezone.now()
    )
    deliveries(issue, ["queued", "queued", "sending", "retrying", "sent", "sent", "sent"])
    deliveries(issue, ["failed", "bounced"])
    deliveries(IssueFactory(), ["queued"])  # another issue's
    data = signed_in(publisher).get(url("admin:newsletter_progress", issue)).json()
    assert data["counts"] == {
        "queued": 2,
        "sending": 1,
        "retrying": 1,
        "sent": 3,
        "failed": 1,
        "bounced": 1,
    }
    assert data["total"] == 9
    assert data["unfinished"] == 4
    assert data["active"] is True

    Delivery.objects.filter(issue=issue, status__in=Delivery.UNFINISHED).update(status="sent")
    data = signed_in(publisher).get(url("admin:newsletter_progress", issue)).json()
    assert data["active"] is False
    assert data["summary"] == "发送完毕：共 9 封，已发送 7 封。"


def test_progress_is_drawn_on_the_page_without_script(publisher, issue):
    mailing = Mailing.objects.create(
        issue=issue, requested_at=timezone.now(), requested_by=publisher, queued_at=timezone.now()
    )
    deliveries(issue, ["sent", "sent", "failed", "queued"])
    page = change_page(signed_in(publisher), issue).content.decode()
    assert '<td data-delivery-status="sent">2</td>' in page
    assert '<td data-delivery-status="failed">1</td>' in page
    assert '<td data-delivery-status="queued">1</td>' in page
    assert 'data-active="true"' in page
    assert "Sender 于" in page
    assert f"{timezone.localtime(mailing.queued_at):%Y-%m-%d %H:%M} 排队，共 4 封" in page
    assert "js/newsletter-progress" in page


def test_a_requested_mailing_waits_for_the_worker(publisher, issue):
    Mailing.objects.create(issue=issue, requested_at=timezone.now(), requested_by=publisher)
    data = signed_in(publisher).get(url("admin:newsletter_progress", issue)).json()
    assert data["active"] is True
    assert data["queued_at"] is None
    assert "等待发送进程" in data["summary"]


# Subscribers ---------------------------------------------------------------


def changelist(client, **params):
    return client.get(reverse("admin:newsletter_subscriber_changelist"), params)


def test_subscriber_list_shows_each_subscriber_and_what_they_follow(publisher):
    section = SectionFactory(name="RAG")
    tag = TagFactory(name="幻觉")
    SubscriberFactory(email="every@example.org")
    SubscriberFactory(email="picky@example.org", sections=[section], tags=[tag])
    response = changelist(signed_in(publisher))
    page = response.content.decode()
    assert response.status_code == 200
    assert "every@example.org" in page and "picky@example.org" in page
    assert "每一期" in page
    assert "栏目：RAG；标签：幻觉" in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "pending"}, {"pending@example.org"}),
        ({"status__exact": "bounced"}, {"bounced@example.org"}),
        ({"paused__exact": "1"}, {"paused@example.org"}),
        ({"language__exact": "en"}, {"english@example.org"}),
        ({"every_issue__exact": "0"}, {"section@example.org", "tag@example.org"}),
        ({"q": "ENGLISH@"}, {"english@example.org"}),
        ({"section": "followed"}, {"section@example.org"}),
        ({"tag": "followed"}, {"tag@example.org"}),
        ({"section": "99999999999999999999999"}, "all"),
        ({"tag": "nonsense"}, "all"),
    ],
)
def test_subscriber_filters(publisher, params, expected):
    section, tag = SectionFactory(), TagFactory()
    emails = {
        SubscriberFactory(email="pending@example.org", status="pending").email,
        SubscriberFactory(email="bounced@example.org", status="bounced").email,
        SubscriberFactory(email="paused@example.org", paused=True).email,
        SubscriberFactory(email="english@example.org", language="en").email,
        SubscriberFactory(email="section@example.org", sections=[section]).email,
        SubscriberFactory(email="tag@example.org", tags=[tag]).email,
    }
    followed = {"section": section.pk, "tag": tag.pk}
    params = {key: followed[key] if value == "followed" else value for key, value in params.items()}
    response = changelist(signed_in(publisher), **params)
    assert response.status_code == 200
    shown = {s.email for s in response.context["cl"].result_list}
    assert shown == (emails if expected == "all" else expected)


def test_filters_offer_only_what_subscribers_follow(publisher):
    followed = SectionFactory(name="被关注的栏目")
    SectionFactory(name="没人关注的栏目")
    SubscriberFactory(sections=[followed])
    page = changelist(signed_in(publisher)).content.decode()
    assert "被关注的栏目" in page
    assert "没人关注的栏目" not in page


def test_staff_cannot_add_subscribers(publisher):
    client = signed_in(publisher)
    assert client.get(reverse("admin:newsletter_subscriber_add")).status_code == 403
    assert "addlink" not in changelist(client).content.decode()


def test_editors_see_no_subscribers(editor):
    SubscriberFactory(email="private@example.org")
    client = signed_in(editor)
    assert changelist(client).status_code == 403
    assert "private@example.org" not in client.get(reverse("admin:index")).content.decode()
    for name in ["mailing", "delivery"]:
        assert client.get(reverse(f"admin:newsletter_{name}_changelist")).status_code == 403


def export(client, subscribers):
    return client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "export_csv", "_selected_action": [s.pk for s in subscribers], "index": 0},
    )


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


def test_csv_export_in_chinese_with_a_byte_order_mark(publisher):
    section = SectionFactory(name="LLM推理")
    plain = SubscriberFactory(email="reader@example.org")
    picky = SubscriberFactory(email="picky@example.org", language="en", sections=[section])
    response = export(signed_in(publisher), [plain, picky])
    assert "attachment" in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[:5] == ["邮箱", "邮件语言", "状态", "暂停接收", "接收内容"]
    by_email = {row[0]: row for row in rows}
    assert by_email["reader@example.org"][1:5] == ["中文", "已确认", "否", "每一期"]
    assert by_email["picky@example.org"][1:5] == ["English", "已确认", "否", "栏目：LLM推理"]


def test_csv_cells_never_start_a_formula(publisher):
    hostile = [
        SubscriberFactory(email=f"{start}cmd|' /C calc'!A0@example.org")
        for start in ["=", "+", "-", "@"]
    ]
    tag = TagFactory(name='=HYPERLINK("http://evil.example")')
    hostile.append(SubscriberFactory(email="tags@example.org", tags=[tag]))
    _, *rows = read_csv(export(signed_in(publisher), hostile))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'=cmd|' /C calc'!A0@example.org" in cells
    assert "'-cmd|' /C calc'!A0@example.org" in cells
    # Inside a cell a formula sign is harmless text and stays as it is.
    assert '标签：=HYPERLINK("http://evil.example")' in cells


def test_the_changelist_query_count_does_not_grow_with_rows(
    publisher, django_assert_max_num_queries
):
    sections = [SectionFactory() for _ in range(3)]
    tags = [TagFactory() for _ in range(3)]
    client = signed_in(publisher)

    def add(count):
        for _ in range(count):
            SubscriberFactory(sections=sections, tags=tags)

    add(3)
    changelist(client)  # the session and permissions, read once
    with django_assert_max_num_queries(14):
        assert changelist(client).status_code == 200
    add(40)
    with django_assert_max_num_queries(14):
        response = changelist(client)
    assert len(response.context["cl"].result_list) == 43


def test_deleting_a_subscriber_deletes_their_deliveries(publisher, issue):
    reader = SubscriberFactory(email="leaving@example.org")
    Delivery.objects.create(issue=issue, subscriber=reader, status="sent")
    Delivery.objects.create(issue=IssueFactory(), subscriber=reader, status="failed")
    kept = Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status="sent")
    client = signed_in(publisher)
    delete_url = reverse("admin:newsletter_subscriber_delete", args=[reader.pk])
    confirmation = client.get(delete_url)
    assert ("投递", 2) in confirmation.context["model_count"]
    assert not confirmation.context["perms_lacking"]
    assert "leaving@example.org" in confirmation.content.decode()
    response = client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    assert not Subscriber.objects.filter(pk=reader.pk).exists()
    assert list(Delivery.objects.all()) == [kept]


def test_a_mailed_issue_can_still_be_deleted_by_a_publisher(publisher, issue):
    Mailing.objects.create(issue=issue, requested_at=timezone.now(), queued_at=timezone.now())
    Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status="sent")
    client = signed_in(publisher)
    delete_url = reverse("admin:papers_issue_delete", args=[issue.pk])
    assert not client.get(delete_url).context["perms_lacking"]
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Mailing.objects.exists() and not Delivery.objects.exists()


def test_mailings_and_deliveries_are_read_only(publisher, issue):
    mailing = Mailing.objects.create(issue=issue, requested_at=timezone.now())
    row = Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status="failed")
    client = signed_in(publisher)
    for name, obj in [("mailing", mailing), ("delivery", row)]:
        assert client.get(reverse(f"admin:newsletter_{name}_changelist")).status_code == 200
        change = client.get(reverse(f"admin:newsletter_{name}_change", args=[obj.pk]))
        assert change.status_code == 200
        assert 'name="_save"' not in change.content.decode()
        assert "deletelink" not in change.content.decode()
        assert client.get(reverse(f"admin:newsletter_{name}_add")).status_code == 403
        delete_url = reverse(f"admin:newsletter_{name}_delete", args=[obj.pk])
        assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Mailing.objects.exists() and Delivery.objects.exists()


def test_delivery_list_filters_by_issue_and_status(publisher, issue):
    other = IssueFactory()
    Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status="sent")
    wanted = Delivery.objects.create(issue=issue, subscriber=SubscriberFactory(), status="failed")
    Delivery.objects.create(issue=other, subscriber=SubscriberFactory(), status="failed")
    response = signed_in(publisher).get(
        reverse("admin:newsletter_delivery_changelist"),
        {"issue__id__exact": issue.pk, "status__exact": "failed"},
    )
    assert list(response.context["cl"].result_list) == [wanted]


# Hostile data --------------------------------------------------------------

odd_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=30,
)


@hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    emails=st.lists(
        st.tuples(st.sampled_from(["", "=", "+", "-", "@", "\t"]), odd_text).map("".join),
        min_size=1,
        max_size=4,
        unique_by=lambda text: text.lower(),
    ),
    names=st.lists(odd_text, min_size=1, max_size=3, unique_by=lambda text: text.lower()),
    query=st.text(max_size=20),
)
def test_odd_subscriber_data_never_breaks_the_list_or_the_export(publisher, emails, names, query):
    client = signed_in(publisher)
    section = SectionFactory(name=names[0][:100])
    tags = [TagFactory(name=name[:100]) for name in names]
    made = [
        SubscriberFactory(email=email, sections=[section] if i % 2 else None, tags=tags)
        for i, email in enumerate(emails)
    ]
    try:
        for params in [{}, {"q": query}, {"tag": tags[0].pk}, {"section": query}]:
            response = changelist(client, **params)
            assert response.status_code in (200, 302), params
        _, *rows = read_csv(export(client, made))
        assert sorted(row[0] for row in rows) == sorted(
            ("'" + e if e.startswith(("=", "+", "-", "@", "\t", "\r")) else e) for e in emails
        )
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    finally:
        Subscriber.objects.filter(pk__in=[s.pk for s in made]).delete()
        for tag in tags:
            tag.delete()
        section.delete()
