"""A publisher sends an issue from its admin page in a real browser: a test
mail first, then to every subscriber after the confirmation, and watches the
numbers move while the mail goes out."""

import importlib

import pytest
from django.apps import apps

from newsletter import delivery
from newsletter.models import Delivery
from tests.factories import EntryFactory, IssueFactory, StaffFactory, SubscriberFactory
from tests.support.browser import RECORD_VIOLATIONS, sign_in
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield sink


@pytest.fixture
def publishers_may_send(editorial_groups):
    """The flush after each transactional test takes the group's newsletter
    permissions with it: grant them again as the migration does."""
    migration = "newsletter.migrations.0002_publishers_send_and_see_subscribers"
    importlib.import_module(migration).grant(apps, schema_editor=None)


def count(page, status):
    return page.locator(f'#newsletter-progress [data-delivery-status="{status}"]')


def test_send_a_test_then_everyone_and_watch_the_numbers(
    live_server, page, screenshot, smtp, publishers_may_send
):
    base = live_server.url
    StaffFactory(username="publisher", email="publisher@example.org", group="Publisher")
    issue = IssueFactory(title="第12期 智能体")
    EntryFactory(issue=issue, title="Agents that plan")
    readers = [SubscriberFactory() for _ in range(3)]
    page.add_init_script(RECORD_VIOLATIONS)

    sign_in(page, base, "publisher")
    # The live server shares this test's in-memory SQLite connection, and the
    # test writes to it too (the worker's part). The page's polls for progress
    # wait here until the test next talks to the browser, so the two never use
    # the connection at once (a sync route handler runs only then).
    page.route("**/progress/", lambda route: route.continue_())
    page.goto(f"{base}/admin/papers/issue/{issue.pk}/change/")
    panel = page.locator(".newsletter-panel")
    assert "尚未发送给订阅者" in panel.inner_text()

    # A test mail to the publisher, in English.
    page.select_option("#newsletter-test-language", "en")
    page.click("#newsletter-send-test")
    page.wait_for_selector(".messagelist .success")
    assert "publisher@example.org" in page.locator(".messagelist").inner_text()
    [test_mail] = smtp.messages
    assert test_mail["To"] == "publisher@example.org"
    assert "Agents that plan" in test_mail.get_body(("html",)).get_content()

    # Everyone, after the page that says how many.
    page.click("#newsletter-send-all")
    assert page.locator("#newsletter-receiving").inner_text() == "3"
    screenshot("newsletter-send-confirm", full_page=False)
    page.click("#newsletter-confirm-send")
    page.wait_for_selector(".messagelist .success")
    assert "给 3 位订阅者" in page.locator(".messagelist").inner_text()
    assert "等待发送进程" in panel.inner_text()
    assert count(page, "queued").inner_text() == "0"

    # A worker queues the rows: the page shows them without a reload.
    assert delivery.queue_mailing(issue.pk) == 3
    page.wait_for_function(
        """() => document.querySelector('[data-delivery-status="queued"]').textContent === "3" """
    )
    assert "还有 3 封未完成" in panel.inner_text()
    assert "排队，共 3 封" in panel.inner_text()
    assert page.locator("#newsletter-cancel").is_hidden()

    # It sends them: the numbers move on, and the page stops asking.
    delivery.deliver(issue.pk)
    page.wait_for_function(
        """() => document.querySelector('[data-delivery-status="sent"]').textContent === "3" """
    )
    assert count(page, "queued").inner_text() == "0"
    assert "发送完毕：共 3 封，已发送 3 封" in panel.inner_text()
    page.wait_for_function(
        """() => document.getElementById("newsletter-progress").dataset.active === "false" """
    )
    assert sorted(m["To"] for m in smtp.messages[1:]) == sorted(r.email for r in readers)
    assert Delivery.objects.filter(status="sent").count() == 3

    panel.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/send-panel.png", full_page=False)
    assert page.evaluate("window.__cspViolations") == []
