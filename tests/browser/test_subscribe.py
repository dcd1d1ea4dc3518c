"""A reader subscribes, confirms, changes the choice and leaves, in a real browser."""

import re
import shutil
from urllib.parse import urlsplit

import pytest

from newsletter.models import Subscriber
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def link_in(message, part):
    [url] = [url for url in re.findall(r"https?://\S+", message.body) if part in url]
    return urlsplit(url).path


def test_a_reader_subscribes_to_a_section_and_a_tag_and_later_leaves(
    live_server, page, screenshot, mailoutbox
):
    issue = IssueFactory()
    rag = SectionFactory(name="检索增强生成", slug="rag")
    safety = SectionFactory(name="LLM安全与对齐", slug="safety")
    EntryFactory(issue=issue, section=rag, tags=["幻觉", "长上下文"])
    EntryFactory(issue=issue, section=safety, tags=["对齐"])

    # From the issue's page to the form.
    page.goto(f"{live_server.url}{issue.get_absolute_url()}")
    page.locator(".subscribe-invitation").get_by_role("link", name="订阅邮件").click()
    page.wait_for_url("**/subscribe/")
    page.get_by_label("邮箱地址").fill("reader@example.org")
    page.get_by_label("只要下面选中的栏目和标签").check()
    page.get_by_label("检索增强生成").check()
    tags = page.get_by_label("标签", exact=True)
    # The site's tag autocomplete: after a separator, the suggestions complete the list.
    tags.press_sequentially("对齐、")
    options = page.locator("#tag-suggestions option").evaluate_all("os => os.map(o => o.value)")
    assert "对齐、幻觉" in options and "对齐、对齐" not in options
    # The robots' trap is out of sight and out of reach of the keyboard.
    trap = page.locator("#id_website")
    assert trap.bounding_box()["x"] + trap.bounding_box()["width"] < 0
    assert trap.get_attribute("tabindex") == "-1"
    shutil.copy(screenshot("subscribe"), "/tmp/subscribe.png")
    tags.fill("对齐")
    page.get_by_role("button", name="订阅").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "请查收邮件"

    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    [message] = mailoutbox
    page.goto(live_server.url + link_in(message, "/subscribe/confirm/"))
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING  # opening is not confirming
    page.get_by_role("button", name="确认订阅").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "订阅成功"
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert list(subscriber.sections.all()) == [rag]
    assert [tag.name for tag in subscriber.tags.all()] == ["对齐"]

    # The preferences: now the other section, and the mail in English.
    page.get_by_role("link", name="管理订阅").click()
    page.wait_for_url("**/subscribe/manage/**")
    assert page.get_by_label("检索增强生成").is_checked()
    page.get_by_label("检索增强生成").uncheck()
    page.get_by_label("LLM安全与对齐").check()
    page.get_by_label("English").check()
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert "已保存" in page.locator(".notice").inner_text()
    screenshot("subscribe-manage")
    subscriber.refresh_from_db()
    assert list(subscriber.sections.all()) == [safety] and subscriber.language == "en"

    # One click, as a mail client makes it: a POST with no cookie and no page.
    unsubscribe = page.url.replace("/manage/", "/unsubscribe/").split("#")[0]
    response = page.request.post(
        unsubscribe,
        form={"List-Unsubscribe": "One-Click"},
        headers={"Cookie": ""},
    )
    assert response.status == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED
