"""An editor copies an issue for WeChat in a real browser: the article looks
right under the site's Content-Security-Policy, and the button puts rich HTML
on the clipboard, or selects the article where the clipboard is refused."""

import pytest
from django.urls import reverse

from papers.models import Issue
from tests.factories import StaffFactory
from tests.support.browser import ARTIFACTS, RECORD_VIOLATIONS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def open_article(browser, base, issue, **context_options):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", **context_options
    )
    page = context.new_page()
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page, base, "editor")
    page.goto(base + reverse("admin:papers_issue_wechat", args=[issue.pk]))
    return context, page


def test_copy_the_article_as_rich_html(live_server, seed, browser):
    StaffFactory(username="editor", group="Editor")
    seed.unpublish()  # editors prepare the article before publication
    assert Issue.objects.get(pk=seed.pk).status == Issue.Status.DRAFT
    context, page = open_article(
        browser, live_server.url, seed, permissions=["clipboard-read", "clipboard-write"]
    )
    try:
        article = page.locator("#wechat-article")
        # Inline styles apply (the page allows style attributes, and only them).
        heading = article.locator("h2").first
        assert heading.evaluate("h => getComputedStyle(h).fontSize") == "22px"
        width = article.locator("section").first.evaluate("s => s.getBoundingClientRect().width")
        assert width <= 677
        assert article.locator("[class], [id], a, script, style").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wechat-article.png"))
        page.screenshot(path=str(ARTIFACTS / "wechat-article-full.png"), full_page=True)
        article.get_by_text("参考链接").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "wechat-references.png"))

        page.get_by_role("button", name="复制到公众号").click()
        page.wait_for_selector(".wechat-status:has-text('已复制')")
        copied = page.evaluate("""async () => {
            const [item] = await navigator.clipboard.read();
            const html = await (await item.getType("text/html")).text();
            const text = await (await item.getType("text/plain")).text();
            return {html, text, types: item.types};
        }""")
        assert "text/html" in copied["types"]
        assert 'style="' in copied["html"] and "<h2" in copied["html"]
        assert "参考链接" in copied["text"] and "https://arxiv.org/abs/2406.15877" in copied["text"]
        assert seed.title in copied["text"]
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()


def test_without_the_clipboard_the_article_is_selected(live_server, seed, browser):
    StaffFactory(username="editor", group="Editor")
    context, page = open_article(browser, live_server.url, seed)
    try:
        # No clipboard permission: write() is refused, the page falls back to
        # selecting the article (and execCommand, which headless may refuse).
        page.evaluate("() => { navigator.clipboard.write = () => Promise.reject(new Error()); }")
        page.get_by_role("button", name="复制到公众号").click()
        page.wait_for_function("document.querySelector('.wechat-status').textContent !== ''")
        status = page.locator(".wechat-status").inner_text()
        selected = page.evaluate("String(window.getSelection())")
        if "已复制" in status:
            assert selected == ""  # copied by execCommand, selection cleared
        else:
            assert "Ctrl+C" in status
            assert seed.title in selected and "参考链接" in selected
        assert page.evaluate("window.__cspViolations") == []
    finally:
        context.close()
