"""Two editors in two browsers change one issue: the second sees the merge
screen, picks a side for the one field both changed, and saves once."""

import pytest
import reversion
from reversion.models import Version

from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory, StaffFactory
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_second_editor_merges_in_the_browser(live_server, browser, screenshot, page):
    base = live_server.url
    StaffFactory(username="editor", group="Editor")
    StaffFactory(username="publisher", group="Publisher")
    with reversion.create_revision():
        issue = IssueFactory(
            status=Issue.Status.DRAFT, title="2024年7月上半月大模型论文", intro="本期关注智能体。"
        )
        entry = EntryFactory(
            issue=issue,
            section=SectionFactory(name="LLM智能体"),
            position=1,
            title="Agent Paper",
            summary="原来的摘要。",
        )
    url = f"{base}/admin/papers/issue/{issue.pk}/change/"

    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    first = other.new_page()
    sign_in(first, base, "editor")
    first.goto(url)
    sign_in(page, base, "publisher")
    page.goto(url)

    first.fill("#id_title", "2024年7月上半月：智能体与长上下文")
    first.fill("#id_entries-0-summary", "编辑改写的摘要。")
    first.click("input[name=_continue]")
    first.wait_for_selector(".messagelist")
    other.close()

    page.fill("#id_title", "2024年7月上半月：智能体专题")
    page.fill("#id_intro", "本期关注智能体，以及它们怎样规划。")
    page.click("input[name=_continue]")
    panel = page.locator(".merge-panel")
    panel.wait_for()
    assert "2024年7月上半月：智能体与长上下文" in panel.inner_text()
    assert "2024年7月上半月：智能体专题" in panel.inner_text()
    # Asked only about the title; the entry's summary (only Editor changed it) merges.
    assert panel.locator("legend").all_inner_texts() == ["标题"]
    assert "条目《Agent Paper》的 摘要" in panel.locator(".merge-automatic").inner_text()
    screenshot("merge-screen", full_page=False)

    panel.locator("input[value=theirs]").check()
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    assert "合并了 Editor" in page.locator(".messagelist").inner_text()
    issue.refresh_from_db()
    entry.refresh_from_db()
    assert issue.title == "2024年7月上半月：智能体与长上下文"
    assert issue.intro == "本期关注智能体，以及它们怎样规划。"
    assert entry.summary == "编辑改写的摘要。"
    comment = Version.objects.get_for_object(issue).first().revision.comment
    assert "Publisher" in comment and "Editor" in comment
