"""The sign-up page: /subscribe/ (and /en/subscribe/), its form, its answers
and its mails; then the confirmation link (/subscribe/confirm/<token>/)."""

import datetime
import re
import string
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter import tokens
from newsletter.models import Subscriber
from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

ADDRESS = "reader@example.org"


@pytest.fixture
def archive(db):
    """Two public sections and tags, and a section and tag only a draft uses."""
    issue = IssueFactory()
    rag = SectionFactory(name="检索增强生成", slug="rag")
    safety = SectionFactory(name="LLM安全与对齐", slug="safety")
    EntryFactory(issue=issue, section=rag, tags=["幻觉", "RAG"])
    EntryFactory(issue=issue, section=safety, tags=["对齐"])
    draft = IssueFactory(status=Issue.Status.DRAFT)
    draft_section = SectionFactory(name="草稿栏目", slug="draft-only")
    EntryFactory(issue=draft, section=draft_section, tags=["草稿标签"])
    return {"rag": rag, "safety": safety}


def post(client, url="/subscribe/", **fields):
    data = {"email": ADDRESS, "language": "zh-hans", "scope": "all", **fields}
    return client.post(url, data)


def links_in(message):
    return re.findall(r"https?://\S+", message.body)


def path_of(url):
    return urlsplit(url).path


# ------------------------------------------------------------------ the page


def test_the_page_offers_public_sections_and_the_tag_suggestions_of_the_site(client, archive):
    response = client.get("/subscribe/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="rag"' in html and 'value="safety"' in html
    assert "draft-only" not in html and "草稿" not in html
    # The tag input reuses the admin's autocomplete: a <datalist> and js/tag-input.js.
    assert 'list="tag-suggestions"' in html and 'class="tag-input"' in html
    assert '<option value="幻觉">' in html and "tag-input" in html
    assert re.search(r'<script src="[^"]*js/tag-input[^"]*\.js"', html)
    # The page's language is the mail's default.
    assert re.search(r'value="zh-hans"[^>]*checked', html)
    en = client.get("/en/subscribe/").content.decode()
    assert re.search(r'value="en"[^>]*checked', en)
    assert "Subscribe by email" in en


def test_the_page_is_the_same_for_everyone_cacheable_without_csrf(client, archive):
    response = client.get("/en/subscribe/")
    assert "csrfmiddlewaretoken" not in response.content.decode()
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["Cache-Control"] == client.get("/en/").get("Cache-Control")
    assert response.has_header("ETag")
    # The Chinese address varies as every Chinese page does (the language
    # negotiation of reading.languages), and sets no cookie either.
    zh = client.get("/subscribe/")
    assert not zh.cookies
    assert zh["Vary"] == client.get("/").get("Vary")
    # The page cache serves it: a second request makes no query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/en/subscribe/").content == response.content
    assert len(queries) == 0


def test_the_page_is_linked_from_the_home_page_each_issue_and_the_footer(client, archive):
    issue = Issue.objects.published().first()
    for url in ("/", issue.get_absolute_url(), "/tags/", "/en/"):
        html = client.get(url).content.decode()
        prefix = "/en" if url.startswith("/en/") else ""
        assert f'href="{prefix}/subscribe/"' in html, url
    assert html.count('href="/en/subscribe/"') >= 2  # the invitation and the footer


# ------------------------------------------------------------------ signing up


def test_a_new_address_is_pending_and_gets_a_confirmation_mail(client, archive, mailoutbox):
    response = post(client, scope="chosen", sections=["rag"], tags="幻觉、RAG")
    assert response.status_code == 200
    assert "请查收邮件" in response.content.decode()
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert not subscriber.every_issue
    assert [s.slug for s in subscriber.sections.all()] == ["rag"]
    assert sorted(t.name for t in subscriber.tags.all()) == ["RAG", "幻觉"]
    assert subscriber.confirmation_sent_at is not None
    [message] = mailoutbox
    assert message.to == [ADDRESS]
    assert message.from_email == "大模型论文双周报 <digest@localhost>"
    assert "请确认订阅" in message.subject
    assert "检索增强生成" in message.body and "#幻觉" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "确认订阅" in html


def test_the_link_in_the_mail_confirms_only_when_the_button_is_pressed(client, archive, mailoutbox):
    post(client)
    [link] = [url for url in links_in(mailoutbox[0]) if "/confirm/" in url]
    assert link.startswith("http://127.0.0.1:8000/subscribe/confirm/")
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "确认订阅" in page.content.decode() and "no-store" in page["Cache-Control"]
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING  # a GET confirms nothing
    done = client.post(path_of(link))
    assert done.status_code == 200 and "订阅成功" in done.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    confirmed_at = subscriber.confirmed_at
    # Twice is fine, and changes nothing.
    assert client.post(path_of(link)).status_code == 200
    assert Subscriber.objects.get().confirmed_at == confirmed_at
    # The page links the preferences.
    manage = reverse("newsletter:manage", args=[tokens.manage_token(subscriber)])
    assert f'href="{manage}"' in done.content.decode()


def test_the_confirmation_mail_is_in_the_chosen_language_and_links_that_language(
    client, archive, mailoutbox
):
    post(client, "/subscribe/", language="en", scope="chosen", sections=["safety"])
    [message] = mailoutbox
    assert message.subject.startswith("Confirm your subscription")
    assert "LLM安全与对齐" in message.body
    assert "请" not in message.body.replace("LLM安全与对齐", "")
    [link] = [url for url in links_in(message) if "/confirm/" in url]
    assert "/en/subscribe/confirm/" in link
    page = client.get(path_of(link))
    assert page["Content-Language"] == "en"
    assert "Confirm subscription" in page.content.decode()
    html, _ = message.alternatives[0]
    assert 'lang="en"' in html


def test_chinese_mail_from_the_english_page_when_the_reader_chooses_it(client, archive, mailoutbox):
    post(client, "/en/subscribe/", language="zh-hans")
    assert "请确认订阅" in mailoutbox[0].subject
    assert Subscriber.objects.get().language == "zh-hans"


def answer(client, **fields):
    """The page answering a sign-up, with the CSRF-free client's noise removed."""
    response = post(client, **fields)
    return response.status_code, response.content


def test_the_answer_never_tells_whether_the_address_was_subscribed(client, archive, mailoutbox):
    new = answer(client)
    assert new[0] == 200
    pending = answer(client)  # pending now, within the hour: no second mail
    Subscriber.objects.update(status=Subscriber.Status.CONFIRMED)
    confirmed = answer(client)
    Subscriber.objects.update(status=Subscriber.Status.UNSUBSCRIBED)
    unsubscribed = answer(client)
    Subscriber.objects.update(status=Subscriber.Status.BOUNCED)
    bounced = answer(client)
    assert new == pending == confirmed == unsubscribed == bounced
    # The same after the hour, when mails do go out.
    Subscriber.objects.all().delete()
    cache.clear()
    fresh = answer(client)
    SubscriberFactory(email="other@example.org")
    other = post(client, email="other@example.org")
    assert (other.status_code, other.content.replace(b"other@", b"reader@")) == fresh


def test_a_confirmed_subscriber_keeps_its_choice_and_gets_a_notice_with_its_link(
    client, archive, mailoutbox
):
    subscriber = SubscriberFactory(email=ADDRESS, sections=[archive["rag"]], language="en")
    post(client, email="READER@example.org", scope="all")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert not subscriber.every_issue and list(subscriber.sections.all()) == [archive["rag"]]
    assert Subscriber.objects.count() == 1  # the address in another case is the same one
    [message] = mailoutbox
    assert message.to == [ADDRESS]
    assert message.subject.startswith("You are already subscribed")  # its own language
    manage = f"/en/subscribe/manage/{tokens.manage_token(subscriber)}/"
    assert f"http://127.0.0.1:8000{manage}" in message.body
    assert f"http://127.0.0.1:8000{manage}#unsubscribe" in message.body
    assert "confirm" not in message.body
    assert client.get(manage).status_code == 200


def test_at_most_one_mail_an_hour_per_address(client, archive, mailoutbox):
    post(client)
    post(client, scope="chosen", sections=["safety"])
    assert len(mailoutbox) == 1
    subscriber = Subscriber.objects.get()
    # The pending choice follows the latest form even without a mail.
    assert [s.slug for s in subscriber.sections.all()] == ["safety"]
    subscriber.confirmation_sent_at -= datetime.timedelta(minutes=59)
    subscriber.save()
    post(client)
    assert len(mailoutbox) == 1
    subscriber.confirmation_sent_at -= datetime.timedelta(minutes=2)
    subscriber.save()
    post(client)
    assert len(mailoutbox) == 2
    # The same for the notice to a confirmed subscriber.
    cache.clear()  # the limit of five sign-ups an hour per address
    subscriber.refresh_from_db()
    subscriber.confirm()
    post(client)
    assert len(mailoutbox) == 2
    an_hour_ago = subscriber.confirmation_sent_at - datetime.timedelta(hours=1, seconds=1)
    Subscriber.objects.update(confirmation_sent_at=an_hour_ago)
    post(client)
    assert len(mailoutbox) == 3 and "已经订阅" in mailoutbox[2].subject


@pytest.mark.parametrize("status", [Subscriber.Status.UNSUBSCRIBED, Subscriber.Status.BOUNCED])
def test_a_former_subscriber_is_pending_again_with_the_new_choice(
    client, archive, mailoutbox, status
):
    SubscriberFactory(email=ADDRESS, status=status, paused=True)
    post(client, scope="chosen", tags="对齐", language="en")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING and not subscriber.paused
    assert [t.name for t in subscriber.tags.all()] == ["对齐"] and subscriber.language == "en"
    assert "Confirm" in mailoutbox[0].subject


def test_a_mail_that_cannot_be_sent_says_so_and_leaves_the_row_consistent(
    client, archive, mailoutbox, monkeypatch
):
    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    response = post(client)
    html = response.content.decode()
    assert response.status_code == 503
    assert "发不出去" in html and f'value="{ADDRESS}"' in html
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.confirmation_sent_at is None
    monkeypatch.undo()
    assert post(client).status_code == 200  # the next try sends at once
    assert len(mailoutbox) == 1


def test_a_real_smtp_server_receives_the_confirmation(client, archive, smtp):
    post(client, email="reader@例子.中国")
    [message] = smtp.messages
    assert message["To"] == "reader@xn--fsqu00a.xn--fiqs8s"
    assert "subscribe/confirm/" in message.get_body(("plain",)).get_content()


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not an address"}, "email", "请填写有效的邮箱地址"),
        ({"email": ""}, "email", "请填写邮箱地址"),
        ({"email": "a@b"}, "email", "请填写有效的邮箱地址"),
        ({"email": "reader@example.org\r\nBcc: victim@example.org"}, "email", "换行"),
        ({"email": "reader@example.org\n"}, "email", "换行"),
        ({"email": "x" * 10_000 + "@example.org"}, "email", "太长了"),
        ({"email": "用户@例子.中国"}, "email", "SMTPUTF8"),
        ({"tags": "幻觉\r\nX-Header: 1"}, "tags", "换行"),
        ({"tags": "标" * 10_000}, "tags", "太长了"),
        ({"scope": "chosen", "tags": "没有的标签、幻觉"}, "tags", "没有这些标签：没有的标签"),
        ({"scope": "chosen", "tags": "草稿标签"}, "tags", "没有这些标签：草稿标签"),
        ({"scope": "chosen", "sections": ["no-such"]}, "sections", "没有这个栏目：no-such"),
        ({"scope": "chosen", "sections": ["draft-only"]}, "sections", "没有这个栏目"),
        ({"scope": "chosen", "sections": ["rag\nx"]}, "sections", "换行"),
        ({"scope": "chosen"}, "scope", "请至少选择一个栏目或一个标签"),
        ({"scope": "some\r\n"}, "scope", "请选择接收的内容"),
        ({"language": "fr"}, "language", "请选择邮件语言"),
    ],
)
def test_a_bad_form_comes_back_with_what_was_typed_and_a_clear_error(
    client, archive, mailoutbox, fields, field, message
):
    response = post(client, **fields)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    # The error is linked to its field and listed at the top.
    assert f'id="id_{field}-error"' in html
    assert re.search(rf'aria-describedby="[^"]*id_{field}-error', html)
    assert f'href="#field-{field}"' in html
    if field in ("email", "tags") and "\n" not in fields[field] and len(fields[field]) < 2000:
        assert f'value="{fields[field]}"' in html
    assert not Subscriber.objects.exists() and not mailoutbox
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "email",
    ['"><script>alert(1)</script>@example.org', "o'<b>x</b>@example.org", "a&b@example.org"],
)
def test_what_was_typed_comes_back_escaped(client, archive, email):
    for response in (post(client, email=email), post(client, email=email, website="x")):
        html = response.content.decode()
        assert "<script>alert" not in html and "<b>x</b>" not in html
        assert "&amp;b@" in html or "&lt;" in html or "&#x27;" in html


def test_errors_are_in_english_on_the_english_page(client, archive):
    response = post(client, "/en/subscribe/", email="用户@例子.中国")
    html = response.content.decode()
    assert response.status_code == 400
    assert "SMTPUTF8" in html and "用户@例子.中国" in html
    assert "暂不支持" not in html and "not supported" in html.lower()


def test_a_chinese_domain_is_accepted_and_one_subscriber_whatever_its_spelling(
    client, archive, mailoutbox
):
    assert post(client, email="Reader@例子.中国").status_code == 200
    assert post(client, email="reader@XN--FSQU00A.XN--FIQS8S").status_code == 200
    [subscriber] = Subscriber.objects.all()
    assert subscriber.email == "Reader@例子.中国"
    assert len(mailoutbox) == 1


def test_every_issue_ignores_sections_ticked_by_the_way(client, archive):
    post(client, scope="all", sections=["rag"], tags="幻觉")
    subscriber = Subscriber.objects.get()
    assert subscriber.every_issue
    assert not subscriber.sections.exists() and not subscriber.tags.exists()


def test_a_tag_typed_in_another_case_is_the_tag(client, archive):
    post(client, scope="chosen", tags="rag")
    assert [t.name for t in Subscriber.objects.get().tags.all()] == ["RAG"]


def test_the_hidden_trap_answers_like_a_success_and_does_nothing(client, archive, mailoutbox):
    trapped = post(client, website="http://spam.example")
    assert not Subscriber.objects.exists() and not mailoutbox
    cache.clear()
    real = post(client)
    assert (trapped.status_code, trapped.content) == (real.status_code, real.content)
    html = client.get("/subscribe/").content.decode()
    trap = re.search(r'<div class="trap" aria-hidden="true">.*?</div>', html, re.S)[0]
    assert 'name="website"' in trap and 'tabindex="-1"' in trap and 'autocomplete="off"' in trap


def test_too_many_sign_ups_from_one_client_are_refused_with_429(client, archive, mailoutbox):
    for n in range(20):
        assert post(client, email=f"r{n}@example.org").status_code == 200
    response = post(client, email="r20@example.org")
    assert response.status_code == 429
    assert "太频繁" in response.content.decode() and response["Retry-After"] == "3600"
    assert 'value="r20@example.org"' in response.content.decode()
    assert not Subscriber.objects.filter(email="r20@example.org").exists()
    other_client = Client(REMOTE_ADDR="192.0.2.7")
    assert post(other_client, email="r20@example.org").status_code == 200


def test_behind_our_proxy_each_client_is_counted_by_the_address_the_proxy_saw(archive):
    def through_proxy(client_ip, claimed=""):
        forwarded = f"{claimed}, {client_ip}" if claimed else client_ip
        return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    for n in range(20):
        assert post(through_proxy("198.51.100.1"), email=f"r{n}@example.org").status_code == 200
    # What the client itself put in the header does not make it someone else.
    assert (
        post(through_proxy("198.51.100.1", "203.0.113.9"), email="x@example.org").status_code == 429
    )
    assert post(through_proxy("198.51.100.2"), email="y@example.org").status_code == 200
    # Straight from the internet, the header is not believed at all.
    for n in range(20):
        direct = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        assert post(direct, email=f"d{n}@example.org").status_code == 200
    assert post(direct, email="d20@example.org").status_code == 429
    # One IPv6 machine's /64 is one client.
    for n in range(20):
        v6 = Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        assert post(v6, email=f"v{n}@example.org").status_code == 200
    assert post(Client(REMOTE_ADDR="2001:db8:1:2::ff"), email="v@example.org").status_code == 429


def test_too_many_sign_ups_of_one_address_are_refused_with_429(client, archive):
    for n in range(5):
        client = Client(REMOTE_ADDR=f"192.0.2.{n + 1}")
        assert post(client, email="Target@example.org").status_code == 200
    response = post(Client(REMOTE_ADDR="192.0.2.99"), email="target@EXAMPLE.org")
    assert response.status_code == 429


def test_other_methods_are_refused(client, archive):
    assert client.put("/subscribe/").status_code == 405
    assert client.head("/subscribe/").status_code == 200


# ------------------------------------------------------------------ any input at all

FIELD_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet="\r\n\x00\x07\x1b\u2028\u0085 :@.<>\"'", max_size=40),
    st.text(alphabet=string.ascii_letters + "@.\r\n", max_size=80),
    st.sampled_from(["😀@example.org", "a@😀.org", "rag", "幻觉", "all", "chosen", "en"]),
    st.integers(min_value=1, max_value=12_000).map(lambda n: "字" * n),
)
VALID_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    email=FIELD_TEXT,
    language=FIELD_TEXT,
    scope=FIELD_TEXT,
    sections=st.lists(FIELD_TEXT, max_size=3),
    tags=FIELD_TEXT,
    website=st.one_of(st.just(""), FIELD_TEXT),
    prefix=st.sampled_from(["", "/en"]),
)
def test_any_text_in_any_field_never_breaks_the_page(
    archive, mailoutbox, email, language, scope, sections, tags, website, prefix
):
    cache.clear()  # no rate limit across examples
    before = set(Subscriber.objects.values_list("pk", flat=True))
    data = {"email": email, "language": language, "scope": scope, "tags": tags}
    if sections:
        data["sections"] = sections
    if website:
        data["website"] = website
    response = Client().post(f"{prefix}/subscribe/", data)
    assert response.status_code in (200, 400), response.status_code
    # No header carries what was typed (bar words every answer's headers hold anyway).
    usual = " ".join(Client().post(f"{prefix}/subscribe/", {}).headers.values())
    for name, value in response.items():
        for text in (email, tags, website, scope, language, *sections):
            if len(text) >= 4 and text.strip() and text not in usual:
                assert text not in value, (name, value)
    created = Subscriber.objects.exclude(pk__in=before)
    if response.status_code == 400 or website:
        assert not created.exists()
    if created.exists():
        # Only a well-formed address, a real language and a real choice make a row.
        [subscriber] = created
        assert "\n" not in subscriber.email and "\r" not in subscriber.email
        assert subscriber.language in ("zh-hans", "en") and scope in ("all", "chosen")
        assert "@" in subscriber.email and subscriber.email.split("@")[0].isascii()
        created.delete()


# ------------------------------------------------------------------ the confirmation link


def test_an_expired_or_altered_confirmation_link_offers_to_subscribe_again(client, archive):
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    token = tokens.confirmation_token(subscriber)
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (altered, "nonsense", token + "x"):
        response = client.get(f"/subscribe/confirm/{bad}/")
        assert response.status_code == 404
        assert 'href="/subscribe/"' in response.content.decode()
        assert client.post(f"/subscribe/confirm/{bad}/").status_code == 404
    # Eight days old: expired (tokens.CONFIRMATION_MAX_AGE is seven).
    old = signing.TimestampSigner(salt="newsletter.confirm")
    old.timestamp = lambda: signing.b62_encode(
        int((datetime.datetime.now() - datetime.timedelta(days=8)).timestamp())
    )
    expired = old.sign(subscriber.key)
    response = client.get(f"/en/subscribe/confirm/{expired}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "expired" in html and 'href="/en/subscribe/"' in html
    assert client.post(f"/subscribe/confirm/{expired}/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    # Six days old still works.
    old.timestamp = lambda: signing.b62_encode(
        int((datetime.datetime.now() - datetime.timedelta(days=6)).timestamp())
    )
    assert client.post(f"/subscribe/confirm/{old.sign(subscriber.key)}/").status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


def test_a_manage_link_does_not_confirm_nor_a_confirmation_link_manage(client, archive):
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    manage, confirmation = tokens.manage_token(subscriber), tokens.confirmation_token(subscriber)
    assert client.post(f"/subscribe/confirm/{manage}/").status_code == 404
    assert client.get(f"/subscribe/manage/{confirmation}/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING


def test_the_confirmation_button_is_protected_by_csrf(archive):
    subscriber = SubscriberFactory(status=Subscriber.Status.PENDING)
    url = f"/subscribe/confirm/{tokens.confirmation_token(subscriber)}/"
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url).status_code == 403
    page = strict.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    assert strict.post(url, {"csrfmiddlewaretoken": token}).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


def test_the_sign_up_post_needs_no_csrf_cookie(archive, mailoutbox):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict).status_code == 200
    assert len(mailoutbox) == 1


def test_the_database_keeps_one_row_per_address_whatever_its_case():
    """Even a writer that skips the sign-up (a bulk load, a race) cannot make two."""
    SubscriberFactory(email="reader@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.bulk_create([Subscriber(email="Reader@Example.org")])
