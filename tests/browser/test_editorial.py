"""An editor writes and previews an issue, a publisher publishes it, a reader
finds it: the editorial path end to end in a real browser."""

import re

import pytest

from papers.models import Issue
from tests.factories import SectionFactory, StaffFactory
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def fill_entry(page, index, section, title, arxiv_id, summary, tags):
    prefix = f"#id_entries-{index}-"
    page.select_option(prefix + "section", label=section)
    page.fill(prefix + "title", title)
    page.fill(prefix + "arxiv_id", arxiv_id)
    page.fill(prefix + "summary", summary)
    page.fill(prefix + "tags", tags)


def test_write_preview_reorder_publish_and_read(live_server, seed, browser, screenshot, page):
    base = live_server.url
    StaffFactory(username="editor", group="Editor")
    StaffFactory(username="publisher", group="Publisher")
    SectionFactory(name="LLM智能体", slug="agents", position=60)

    # An editor writes an issue with two entries, tags typed with Chinese separators.
    sign_in(page, base, "editor")
    page.goto(f"{base}/admin/papers/issue/add/")
    page.fill("#id_title", "2024年7月上半月大模型论文")
    page.fill("#id_slug", "2024-07-h1")
    page.fill("#id_period_start", "2024-07-01")
    page.fill("#id_period_end", "2024-07-15")
    page.fill("#id_intro", "本期关注**智能体**与长上下文。")
    fill_entry(
        page,
        0,
        "LLM智能体",
        "Agent Paper One",
        "https://arxiv.org/abs/2407.00001v2",
        "第一篇：*智能体*规划。",
        "长上下文，智能体",
    )
    preview = page.locator("#id_entries-0-summary").locator("xpath=following-sibling::div")
    preview.locator("em").wait_for()
    assert preview.inner_html().strip() == "<p>第一篇：<em>智能体</em>规划。</p>"
    page.get_by_text("添加另一个 条目").click()
    fill_entry(
        page,
        1,
        "LLM智能体",
        "Agent Paper Two",
        "arXiv:2407.00002",
        "第二篇：工具调用。",
        "对齐、安全；智能体",
    )
    page.fill("#id_entries-1-position", "2")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    issue = Issue.objects.get(slug="2024-07-h1")
    assert issue.status == Issue.Status.DRAFT
    assert sorted(issue.entries.get(position=2).tags.names()) == ["安全", "对齐", "智能体"]

    # Reorder with the keyboard-operable buttons: the second entry moves up.
    page.locator("#entries-1 .entry-move", has_text="上移").click()
    assert page.input_value("#id_entries-1-position") == "1"
    assert page.input_value("#id_entries-0-position") == "2"
    screenshot("admin-issue-editor", full_page=True)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert issue.entries.get(title="Agent Paper Two").position == 1

    # The preview shows the draft as readers will see it, marked, in the new order.
    page.goto(f"{base}/admin/papers/issue/{issue.pk}/preview/")
    assert "预览" in page.locator(".preview-banner").inner_text()
    titles = page.locator(".entry-title").all_inner_texts()
    assert titles == ["Agent Paper Two", "Agent Paper One"]
    screenshot("issue-preview")
    assert page.request.get(f"{base}/issues/2024-07-h1/").status == 404

    # The editor has no publish button; the publisher has.
    page.goto(f"{base}/admin/papers/issue/{issue.pk}/change/")
    assert page.get_by_role("button", name="立即发布").count() == 0
    page.context.clear_cookies()
    sign_in(page, base, "publisher")
    page.goto(f"{base}/admin/papers/issue/{issue.pk}/change/")
    page.get_by_role("button", name="立即发布").click()
    page.wait_for_selector(".messagelist .success")

    # A reader finds it: the home page's latest issue, then one of its tags.
    reader = browser.new_page(locale="zh-CN")  # a Chinese reader's browser
    reader.goto(base)
    assert reader.locator("h1").inner_text() == "2024年7月上半月大模型论文"
    reader.locator(".tags a", has_text="智能体").first.click()
    reader.wait_for_url(re.compile(r".*/tags/.*"))
    titles = reader.locator(".entry-title").all_inner_texts()
    assert titles == ["Agent Paper Two", "Agent Paper One"]
    reader.close()


def test_typing_an_arxiv_id_offers_its_title_and_authors(live_server, seed, page, monkeypatch):
    from editorial import arxiv_client

    paper = arxiv_client.PaperMetadata(
        arxiv_id="2406.15877",
        title="BigCodeBench: Benchmarking Code Generation",
        authors=("Terry Yue Zhuo", "Leandro von Werra"),
        abstract_url="https://arxiv.org/abs/2406.15877",
    )
    # The live server runs in this process: its look-ups get the recorded paper.
    monkeypatch.setattr(arxiv_client, "fetch_one", lambda arxiv_id: paper)
    StaffFactory(username="editor", group="Editor")
    sign_in(page, live_server.url, "editor")
    page.goto(f"{live_server.url}/admin/papers/issue/add/")
    page.fill("#id_entries-0-arxiv_id", "https://arxiv.org/abs/2406.15877v1")
    page.press("#id_entries-0-arxiv_id", "Tab")
    lookup = page.locator(".arxiv-lookup")
    lookup.get_by_role("button", name="填入标题和作者").click()
    assert page.input_value("#id_entries-0-title") == paper.title
    assert page.input_value("#id_entries-0-authors") == "Terry Yue Zhuo, Leandro von Werra"
    assert "之前已收录于" in lookup.inner_text() and seed.title in lookup.inner_text()

    def unreachable(arxiv_id):
        raise arxiv_client.ArxivUnavailable("无法连接 arXiv（timed out）")

    monkeypatch.setattr(arxiv_client, "fetch_one", unreachable)
    page.fill("#id_entries-0-arxiv_id", "2406.15319")
    page.press("#id_entries-0-arxiv_id", "Tab")
    page.locator(".arxiv-lookup-error").wait_for()
    assert "无法连接 arXiv" in page.locator(".arxiv-lookup-error").inner_text()


def test_three_new_entries_in_one_section_save_at_once_in_order(
    live_server, db, screenshot, page, monkeypatch
):
    """The natural order of a hurried editor: for each new row, the section
    first, then the title; no 序号 touched; tags typed with 、; one save."""
    from editorial import arxiv_client

    def unreachable(arxiv_id):
        raise arxiv_client.ArxivUnavailable("offline")

    monkeypatch.setattr(arxiv_client, "fetch_one", unreachable)  # no network in tests
    base = live_server.url
    StaffFactory(username="editor", group="Editor")
    SectionFactory(name="LLM推理", slug="reasoning", position=40)
    sign_in(page, base, "editor")
    page.goto(f"{base}/admin/papers/issue/add/")
    page.fill("#id_title", "2024年7月下半月大模型论文")
    page.fill("#id_slug", "2024-07-h2")
    page.fill("#id_period_start", "2024-07-16")
    page.fill("#id_period_end", "2024-07-31")
    titles = ["Reasoning Paper A", "Reasoning Paper B", "Reasoning Paper C"]
    for index, title in enumerate(titles):
        if index:
            page.get_by_text("添加另一个 条目").click()
        # fill_entry chooses the section first, then types the title.
        fill_entry(
            page,
            index,
            "LLM推理",
            title,
            f"2407.1000{index}",
            f"第{index + 1}篇的摘要。",
            "推理、数学；思维链",
        )
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    screenshot("admin-three-new-entries", full_page=True)

    issue = Issue.objects.get(slug="2024-07-h2")
    entries = list(issue.entries.order_by("position"))
    assert [entry.title for entry in entries] == titles
    assert [entry.position for entry in entries] == [1, 2, 3]
    assert all(sorted(entry.tags.names()) == ["思维链", "推理", "数学"] for entry in entries)
    shown = [page.input_value(f"#id_entries-{i}-title") for i in range(3)]
    assert shown == titles
