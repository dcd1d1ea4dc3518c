"""One reader's pages, reached by signed links out of a mail: the preferences
page (/subscribe/manage/<token>/) and the one-click unsubscribe
(/subscribe/unsubscribe/<token>/)."""

import json
import re

import pytest
from django.test import Client

from newsletter import tokens
from newsletter.mail import manage_url, unsubscribe_url
from newsletter.models import Delivery, Subscriber
from papers.models import Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(db):
    issue = IssueFactory(slug="2024-06-h2")
    rag = SectionFactory(name="检索增强生成", slug="rag")
    safety = SectionFactory(name="LLM安全与对齐", slug="safety")
    EntryFactory(issue=issue, section=rag, tags=["幻觉"])
    EntryFactory(issue=issue, section=safety, tags=["对齐"])
    return {"issue": issue, "rag": rag, "safety": safety}


@pytest.fixture
def subscriber(archive):
    return SubscriberFactory(email="reader@example.org")


def manage_path(subscriber, prefix=""):
    return f"{prefix}/subscribe/manage/{tokens.manage_token(subscriber)}/"


def csrf_client(path):
    """A client that checks CSRF as a browser meets it, and the token of the page at ``path``."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(path).content.decode()
    return client, re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]


def act(client, path, action, **fields):
    return client.post(path, {"action": action, **fields})


def test_the_page_shows_the_current_choice_and_is_never_cached(client, archive):
    subscriber = SubscriberFactory(
        sections=[archive["safety"]], tags=[Tag.objects.get(name="幻觉")], language="en"
    )
    response = client.get(manage_path(subscriber, "/en"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert 'name="robots" content="noindex"' in html
    assert re.search(r'value="safety"[^>]*checked', html)
    assert not re.search(r'value="rag"[^>]*checked', html)
    assert re.search(r'value="chosen"[^>]*checked', html)
    assert re.search(r'value="en"[^>]*checked', html)
    assert 'value="幻觉"' in html  # the tag input, and the site's tag suggestions
    assert 'id="unsubscribe"' in html and "csrfmiddlewaretoken" in html
    assert subscriber.email in html


def test_the_mail_links_lead_to_the_page_and_its_unsubscribe_section(client, subscriber):
    url = manage_url(subscriber)
    assert url.startswith("http://127.0.0.1:8000/subscribe/manage/")
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and 'id="unsubscribe"' in response.content.decode()


def test_changing_the_choice_and_the_language(subscriber, archive):
    path = manage_path(subscriber)
    client, token = csrf_client(path)
    assert act(client, path, "save", language="en", scope="chosen").status_code == 403
    response = act(
        client,
        path,
        "save",
        csrfmiddlewaretoken=token,
        language="en",
        scope="chosen",
        sections=["rag"],
        tags="对齐",
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.language == "en" and not subscriber.every_issue
    assert list(subscriber.sections.all()) == [archive["rag"]]
    assert [t.name for t in subscriber.tags.all()] == ["对齐"]
    assert "已保存" in response.content.decode()
    act(client, path, "save", csrfmiddlewaretoken=token, language="zh-hans", scope="all")
    subscriber.refresh_from_db()
    assert subscriber.every_issue and not subscriber.sections.exists()


def test_a_bad_choice_comes_back_with_an_error_and_changes_nothing(client, subscriber):
    response = act(
        client, manage_path(subscriber), "save", language="zh-hans", scope="chosen", tags="没有"
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "没有这些标签：没有" in html and 'value="没有"' in html
    assert 'aria-describedby="tags-help id_tags-error"' in html
    subscriber.refresh_from_db()
    assert subscriber.every_issue and not subscriber.tags.exists()
    assert act(client, manage_path(subscriber), "explode").status_code == 400


def test_pause_and_resume(client, subscriber):
    path = manage_path(subscriber)
    act(client, path, "pause")
    subscriber.refresh_from_db()
    assert subscriber.paused
    assert not Subscriber.objects.confirmed().exists()  # no mail while paused
    assert "恢复接收" in client.get(path).content.decode()
    act(client, path, "resume")
    subscriber.refresh_from_db()
    assert not subscriber.paused and Subscriber.objects.confirmed().exists()


def test_unsubscribe_then_subscribe_again_from_the_page(client, subscriber):
    path = manage_path(subscriber)
    html = act(client, path, "unsubscribe").content.decode()
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED and subscriber.unsubscribed_at
    assert 'value="resubscribe"' in html
    act(client, path, "resubscribe")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED and subscriber.unsubscribed_at is None


def test_the_download_holds_everything_we_keep(client, archive):
    subscriber = SubscriberFactory(sections=[archive["rag"]], tags=[Tag.objects.get(name="幻觉")])
    Delivery.objects.create(
        issue=archive["issue"], subscriber=subscriber, status=Delivery.Status.SENT
    )
    response = client.get(manage_path(subscriber) + "?download=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="subscription.json"'
    assert "no-store" in response["Cache-Control"]
    data = json.loads(response.content)
    assert data["email"] == subscriber.email and data["language"] == "zh-hans"
    assert data["sections"] == ["rag"] and data["tags"] == ["幻觉"]
    assert data["status"] == "confirmed" and data["every_issue"] is False
    assert data["created_at"] and data["confirmed_at"]
    assert data["deliveries"] == [{"issue": "2024-06-h2", "status": "sent", "sent_at": None}]


def test_deleting_asks_first_then_removes_the_subscriber_and_its_deliveries(client, archive):
    subscriber = SubscriberFactory()
    Delivery.objects.create(issue=archive["issue"], subscriber=subscriber)
    path = manage_path(subscriber)
    ask = act(client, path, "delete")
    assert ask.status_code == 200 and 'value="erase"' in ask.content.decode()
    assert Subscriber.objects.exists()
    done = act(client, path, "erase")
    assert done.status_code == 200
    assert not Subscriber.objects.exists() and not Delivery.objects.exists()
    assert client.get(path).status_code == 404  # the link died with it


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_a_bad_link_is_a_clear_404(client, subscriber, prefix):
    token = tokens.manage_token(subscriber)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", "a:b"):
        for kind in ("manage", "unsubscribe"):
            response = client.get(f"{prefix}/subscribe/{kind}/{bad}/")
            assert response.status_code == 404
            assert "/subscribe/" in response.content.decode()
        assert client.post(f"{prefix}/subscribe/unsubscribe/{bad}/").status_code == 404
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED


# ------------------------------------------------------------------ one-click unsubscribe


def test_one_click_unsubscribe_needs_no_csrf_cookie_and_no_page(subscriber):
    path = unsubscribe_url(subscriber).removeprefix("http://127.0.0.1:8000")
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
    # Again: still fine, nothing changes.
    unsubscribed_at = subscriber.unsubscribed_at
    assert strict.post(path).status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == unsubscribed_at


def test_opening_the_unsubscribe_address_shows_a_button_and_unsubscribes_nothing(subscriber):
    path = unsubscribe_url(subscriber).removeprefix("http://127.0.0.1:8000")
    client = Client(enforce_csrf_checks=True)
    response = client.get(path)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<form method="post">\s*<button type="submit">', html)
    assert "csrfmiddlewaretoken" not in html
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    done = client.post(path)
    assert done.status_code == 200 and "已退订" in done.content.decode()
    assert manage_path(subscriber) in done.content.decode()
