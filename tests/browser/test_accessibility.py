"""axe-core over the main pages, at desktop and phone widths.

Fails on any serious or critical violation. Screenshots of every page at both
widths land in tests/browser/artifacts/ for a person to look at.
"""

from pathlib import Path

import pytest
from django.conf import settings

from reading import pages

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
# Besides every public page in each language (reading/pages.py): search
# results, a filtered list and the page for something that is not there.
EXTRA_PAGES = {
    "search": "/entries/?q=%E5%B9%BB%E8%A7%89",
    "filtered": "/entries/?tag=%E9%95%BF%E4%B8%8A%E4%B8%8B%E6%96%87&section=progress-benchmarks",
    "not-found": "/papers/2499.99999/",
    "search-en": "/en/entries/?q=%E5%B9%BB%E8%A7%89",
}
WIDTHS = {"desktop": 1280, "phone": 360}


def pages_to_check():
    """{name: path}: each public page in Chinese as its URL name, in English
    as name-en (the names the screenshots get), then the extras."""
    urls = {}
    for language in pages.LANGUAGES:
        suffix = "" if language == settings.LANGUAGE_CODE else f"-{language}"
        urls |= {name + suffix: url for name, url in pages.example_urls(language).items()}
    return urls | EXTRA_PAGES


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.django_db(transaction=True)
def test_main_pages_have_no_serious_accessibility_violations(live_server, seed, browser, scheme):
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    problems = []
    checked = pages_to_check()
    for width_name, width in WIDTHS.items():
        # axe goes in as an inline script, which the site's CSP rightly refuses:
        # the context lets the test's own tool in (the pages are not changed).
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme=scheme,
            locale="zh-CN",
            bypass_csp=True,
        )
        page = context.new_page()
        for name, path in checked.items():
            page.goto(live_server.url + path)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            for violation in result["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    targets = [node["target"] for node in violation["nodes"][:3]]
                    problems.append(
                        f"{name} {width_name} {scheme}: {violation['id']} "
                        f"({violation['impact']}) {targets}"
                    )
            if scheme == "light" or name in ("home", "search"):
                page.screenshot(
                    path=str(artifacts / f"{name}-{width_name}-{scheme}.png"), full_page=False
                )
            overflow = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            if overflow:
                problems.append(f"{name} {width_name} {scheme}: scrolls sideways")
        context.close()
    assert problems == []


def test_the_axe_harness_reports_violations(page):
    """The check above can fail: axe flags an image without alternative text."""
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></html>'
    )
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert "image-alt" in {v["id"] for v in result["violations"]}
