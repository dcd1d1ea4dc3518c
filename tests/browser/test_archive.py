"""A reader and an editor in a real browser."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reader_goes_from_the_latest_issue_to_a_tag_and_narrows_it(live_server, seed, page):
    page.goto(live_server.url)
    assert "2024年6月后2周" in page.locator("h1").inner_text()
    page.locator(
        "article#entry-{} .tags a".format(seed.entries.get(arxiv_id="2406.15319").pk),
        has_text="长上下文",
    ).click()
    page.wait_for_url("**/tags/**")
    assert page.locator("h1").inner_text() == "长上下文"
    page.get_by_role("link", name="与其他条件组合筛选").click()
    page.locator(".tag-cloud a", has_text="基准测试").click()
    chips = page.locator(".active-filters li").all_inner_texts()
    assert any("长上下文" in chip for chip in chips) and any("基准测试" in chip for chip in chips)
    count = page.locator(".result-count").inner_text()
    expected = seed.entries.filter(tags__name="长上下文").filter(tags__name="基准测试").count()
    assert f"共 {expected} 篇论文" in count
    page.get_by_role("link", name="移除筛选 标签 基准测试").click()
    assert "基准测试" not in " ".join(page.locator(".active-filters li").all_inner_texts())

    # On to a paper, its citation, then a search in Chinese from the header.
    page.locator(".entry-title a", has_text="LongRAG").click()
    page.wait_for_url("**/papers/2406.15319/")
    assert "@misc{" in page.locator("pre").first.inner_text()
    page.goto(live_server.url + "/issues/")
    page.fill("#site-search", "幻觉")
    page.press("#site-search", "Enter")
    page.wait_for_url("**/entries/?q=*")
    # What was typed is marked, and the glossary's forms of it too (Hallucination in a
    # title), when the glossary the migration seeded is there: a transactional test
    # before this one empties every table.
    marks = page.locator(".search-result mark").all_inner_texts()
    assert "幻觉" in marks, marks
    assert all(mark == "幻觉" or mark.lower().startswith("hallucination") for mark in marks)
    first_title = page.locator(".search-result .entry-title").first.inner_text()
    assert "Semantic Entropy Probes" in first_title

    # Then the same results with the interface in English, and back.
    page.locator(".language-switch").get_by_role("link", name="English").click()
    page.wait_for_url("**/en/entries/?q=*")
    assert page.locator("html").get_attribute("lang") == "en"
    main_navigation = page.get_by_role("navigation", name="Main")
    assert main_navigation.get_by_role("link", name="Issues").is_visible()
    # What was typed is marked, and the glossary's forms of it too (Hallucination in a
    # title), when the glossary the migration seeded is there: a transactional test
    # before this one empties every table.
    marks = page.locator(".search-result mark").all_inner_texts()
    assert "幻觉" in marks, marks
    assert all(mark == "幻觉" or mark.lower().startswith("hallucination") for mark in marks)
    assert page.locator(".search-result .entry-title").first.inner_text() == first_title
    page.locator(".language-switch").get_by_role("link", name="简体中文").click()
    page.wait_for_url("**/entries/?q=*")
    assert "/en/" not in page.url
    assert page.locator("html").get_attribute("lang") == "zh-Hans"


def test_an_english_browser_reads_in_english_until_the_reader_chooses_chinese(
    live_server, seed, browser
):
    context = browser.new_context(viewport={"width": 360, "height": 800}, locale="en-US")
    page = context.new_page()
    page.goto(live_server.url + "/issues/2024-06-h2/")
    assert page.url == live_server.url + "/en/issues/2024-06-h2/"
    assert page.locator(".issue-header .kicker").inner_text() == "June 16–30, 2024"
    assert page.locator(".issue-header time").inner_text() == "July 1, 2024"
    page.screenshot(path=str(Path(__file__).parent / "artifacts" / "issue-en-phone.png"))
    page.locator(".language-switch").get_by_role("link", name="简体中文").click()
    page.wait_for_url(live_server.url + "/issues/2024-06-h2/")
    page.goto(live_server.url + "/tags/")
    assert page.url == live_server.url + "/tags/"  # the choice wins over the browser
    assert page.locator("h1").inner_text() == "标签"
    context.close()


def test_an_editor_gets_existing_tags_suggested_after_a_chinese_separator(
    live_server, seed, page, screenshot
):
    User.objects.create_superuser("editor", "editor@example.com", "correct horse battery")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/papers/issue/add/")
    tags = page.locator("#id_entries-0-tags")
    tags.click()
    tags.press_sequentially("长上下文，检")
    options = page.eval_on_selector_all("#tag-suggestions option", "os => os.map(o => o.value)")
    assert "长上下文，检索增强生成" in options
    assert not any(value.endswith("，长上下文") for value in options)  # already typed
    screenshot("admin-issue-add", full_page=False)


@pytest.mark.parametrize("width", [320, 390])
def test_on_a_phone_the_search_box_and_results_come_before_the_facets(
    live_server, seed, browser, width
):
    """And the search button stays beside the box, never wrapped under it."""
    context = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server.url + "/entries/?q=幻觉")
    box = page.locator("form.filters input[type=search]").bounding_box()
    button = page.locator("form.filters button").bounding_box()
    first_result = page.locator(".search-result").first.bounding_box()
    facets = page.locator("aside.facets").bounding_box()
    assert abs(button["y"] - box["y"]) < box["height"], (box, button)
    assert button["x"] + button["width"] <= width
    assert box["y"] < first_result["y"] < facets["y"]
    page.screenshot(path=str(Path(__file__).parent / "artifacts" / f"entries-phone-{width}.png"))
    context.close()


def test_on_a_desktop_the_facets_stand_beside_the_results(live_server, seed, page):
    page.goto(live_server.url + "/entries/?q=幻觉")
    results = page.locator(".main-column").bounding_box()
    facets = page.locator("aside.facets").bounding_box()
    assert facets["x"] >= results["x"] + results["width"]
    assert abs(facets["y"] - results["y"]) < 50
