"""The history an editor reads in a real browser: the version list, the
compare view and the restore page of the seed issue after two edits. No
page breaks the Content-Security-Policy, and a restore leaves the issue
published."""

import os
import shutil

import pytest
from django.contrib.auth.models import Group, User

from papers.models import Issue
from tests.support.browser import ARTIFACTS, RECORD_VIOLATIONS

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a long editorial password"
# Where copies of the screenshots go for a person to look at, if set.
SHOTS = os.environ.get("HISTORY_SHOTS_DIR")


def test_history_list_compare_and_restore(live_server, seed, page, screenshot):
    base = live_server.url
    page.add_init_script(RECORD_VIOLATIONS)
    editor = User.objects.create_user(
        "editor", password=PASSWORD, is_staff=True, first_name="王编辑"
    )
    editor.groups.add(Group.objects.get(name="Editor"))
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    change = f"{base}/admin/papers/issue/{seed.pk}/change/"

    # Two saves: the first starts the history, the second changes things.
    page.goto(change)
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    page.fill("#id_title", seed.title + "（修订版）")
    intro = page.locator("#id_intro")
    intro.fill(intro.input_value().replace("。", "！", 1))
    summary = page.locator("#id_entries-0-summary")
    summary.fill(summary.input_value()[:40] + "这是编辑改写的一句话。" + summary.input_value()[60:])
    title = page.locator("#id_entries-1-title")
    title.fill(title.input_value().replace("Large", "Huge", 1) + " (revised)")
    page.fill("#id_entries-2-tags", "对齐、新标签")
    page.check("#id_entries-3-DELETE")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")

    page.goto(f"{base}/admin/papers/issue/{seed.pk}/history/")
    rows = page.locator("#change-history tbody tr")
    assert rows.count() == 2
    newest = rows.nth(0).inner_text()
    assert "王编辑" in newest and "改了标题、导言" in newest and "删除 1 条" in newest
    shots = [screenshot("history-list")]
    assert page.evaluate("window.__cspViolations") == []

    page.click("text=比较所选的两个版本")
    page.wait_for_selector(".history-entry")
    text = page.locator("#content-main").inner_text()
    assert "（修订版）" in text and "新标签" in text and "删除" in text
    assert "edit_token" not in text and "summary_html" not in text
    shots.append(screenshot("history-compare"))
    assert page.evaluate("window.__cspViolations") == []

    page.click("text=恢复较早的版本")
    page.wait_for_selector(".restore-notice")
    assert "发布状态不变" in page.locator(".restore-notice").inner_text()
    shots.append(screenshot("history-restore", full_page=False))
    assert page.evaluate("window.__cspViolations") == []
    page.click("input[value=恢复这个版本]")
    page.wait_for_selector(".messagelist .success")
    restored = Issue.objects.get(pk=seed.pk)
    assert restored.title == seed.title and restored.entries.count() == seed.entries.count()
    assert restored.status == seed.status and restored.published_at == seed.published_at

    assert page.evaluate("window.__cspViolations") == []
    if SHOTS:
        for shot in shots:
            shutil.copy(shot, os.path.join(SHOTS, shot.name))
    assert ARTIFACTS.exists()
