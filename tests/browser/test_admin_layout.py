"""The writing pages look right in a real browser: the live preview draws a
summary as the public page does, title inputs hold a whole Chinese title, and
an arXiv look-up that fails leaves the form's layout alone."""

import socket
import urllib.request
from urllib.error import URLError

import pytest

from papers.models import Entry
from tests.factories import StaffFactory
from tests.support.browser import ARTIFACTS, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

LISTS = "先看要点：\n\n- 第一点\n- 第二点\n\n再看步骤：\n\n1. 步骤一\n2. 步骤二\n"
LONG_TITLE = "大语言模型在长上下文检索增强生成中的幻觉问题与对齐方法研究：来自二十项基准的系统证据"

# The typography of a rendered summary, measured from its container's content box.
MEASURE = """(box) => {
  const style = getComputedStyle(box);
  const left = box.getBoundingClientRect().left
    + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
  const item = (selector) => box.querySelector(selector);
  const css = (selector) => getComputedStyle(item(selector));
  return {
    bullet: css("ul > li").listStyleType,
    number: css("ol > li").listStyleType,
    list_offset: item("ul > li").getBoundingClientRect().left - left,
    numbered_offset: item("ol > li").getBoundingClientRect().left - left,
    paragraph_offset: item("p").getBoundingClientRect().left - left,
    item_size: parseFloat(css("ul > li").fontSize),
    text_size: parseFloat(css("p").fontSize),
    line_height: parseFloat(css("p").lineHeight) / parseFloat(css("p").fontSize),
  };
}"""


def test_the_live_preview_draws_a_summary_as_the_public_page_does(live_server, seed, page):
    entry = seed.entries.order_by("section__position", "position").first()
    entry.summary = LISTS
    entry.save()

    page.goto(f"{live_server.url}{seed.get_absolute_url()}")
    public_box = page.locator(f"#entry-{entry.pk} .prose")
    public = public_box.evaluate(MEASURE)
    ARTIFACTS.mkdir(exist_ok=True)
    public_box.screenshot(path=str(ARTIFACTS / "public-summary-lists.png"))

    StaffFactory(username="editor", group="Editor")
    sign_in(page, live_server.url, "editor")
    page.goto(f"{live_server.url}/admin/papers/issue/{seed.pk}/change/")
    row_id = page.locator(f"input[name^='entries-'][name$='-id'][value='{entry.pk}']")
    prefix = row_id.get_attribute("name").removesuffix("-id")
    preview = page.locator(f"#id_{prefix}-summary + .markdown-preview")
    preview.locator("ol > li").first.wait_for()
    admin = preview.evaluate(MEASURE)
    preview.screenshot(path=str(ARTIFACTS / "admin-preview-lists.png"))

    assert (admin["bullet"], admin["number"]) == ("disc", "decimal")
    assert (public["bullet"], public["number"]) == ("disc", "decimal")
    for key in ("list_offset", "numbered_offset", "paragraph_offset"):
        assert abs(admin[key] - public[key]) <= 2, (key, admin, public)
    for key in ("item_size", "text_size"):
        assert abs(admin[key] - public[key]) <= 0.5, (key, admin, public)
    assert abs(admin["line_height"] - public["line_height"]) <= 0.05, (admin, public)


def test_title_inputs_show_a_whole_chinese_title(live_server, seed, page):
    entry = Entry.objects.filter(issue=seed).first()
    StaffFactory(username="editor", group="Editor")
    sign_in(page, live_server.url, "editor")
    for url, selector in [
        (f"/admin/papers/issue/{seed.pk}/change/", "#id_title"),
        (f"/admin/papers/issue/{seed.pk}/change/", "#id_entries-0-title"),
        (f"/admin/papers/entry/{entry.pk}/change/", "#id_title"),
    ]:
        page.goto(live_server.url + url)
        page.fill(selector, LONG_TITLE[:40])
        fits = page.locator(selector).evaluate("(input) => input.scrollWidth <= input.clientWidth")
        assert fits, f"{selector} on {url} cuts a 40-character title"


def place(locator):
    """Left, top (in the document), width and height of an element."""
    return locator.evaluate(
        "(e) => { const r = e.getBoundingClientRect();"
        " return [r.left, r.top + window.scrollY, r.width, r.height]; }"
    )


def test_an_unreachable_arxiv_says_one_sentence_and_keeps_the_layout(
    live_server, seed, page, monkeypatch, screenshot
):
    def no_such_host(request, timeout):
        raise URLError(socket.gaierror(-2, "Name or service not known"))

    # The live server runs in this process: its look-ups meet a machine without DNS.
    monkeypatch.setattr(urllib.request, "urlopen", no_such_host)
    StaffFactory(username="editor", group="Editor")
    sign_in(page, live_server.url, "editor")
    page.goto(f"{live_server.url}/admin/papers/issue/add/")
    arxiv_id, url = page.locator("#id_entries-0-arxiv_id"), page.locator("#id_entries-0-url")
    before = place(arxiv_id), place(url)

    page.fill("#id_entries-0-arxiv_id", "2406.15877")
    page.press("#id_entries-0-arxiv_id", "Tab")
    message = page.locator(".arxiv-lookup-error")
    message.wait_for()
    screenshot("admin-arxiv-unreachable", full_page=False)

    assert message.inner_text() == "无法连接 arXiv，请稍后再试，或手动填写标题和作者。"
    assert (place(arxiv_id), place(url)) == before
    _, top, _, height = before[0]
    assert place(message)[1] >= top + height, "the message sits beside the input, not below"


def test_the_entry_list_shows_titles_and_issues_legibly(live_server, seed, page):
    StaffFactory(username="editor", group="Editor")
    sign_in(page, live_server.url, "editor")
    page.goto(f"{live_server.url}/admin/papers/entry/")
    sizes = page.locator("#result_list tbody tr").first.evaluate("""(row) => {
      const size = (name) => {
        const cell = row.querySelector(".field-" + name);
        const text = document.createRange();
        text.selectNodeContents(cell);
        return {width: cell.getBoundingClientRect().width,
                lines: text.getBoundingClientRect().height
                  / parseFloat(getComputedStyle(cell).lineHeight)};
      };
      return {title: size("title"), issue: size("issue_period"), section: size("section"),
              page: document.documentElement.scrollWidth - innerWidth};
    }""")
    assert sizes["title"]["width"] >= 200, sizes
    assert sizes["issue"]["lines"] < 1.5 and sizes["section"]["lines"] < 1.5, sizes
    assert sizes["page"] <= 0, "the list is wider than the window"
