"""The social cards as a browser gets them: the issue's and a paper's card,
named by their page's head, open as 1200 x 630 images; screenshots in
tests/browser/artifacts/ for a person to look at (Chinese drawn, text inside)."""

import pytest

from tests.support.browser import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


def open_card(page, url, screenshot):
    page.goto(url)
    card = page.locator('meta[property="og:image"]').get_attribute("content")
    assert card == page.locator('meta[name="twitter:image"]').get_attribute("content")
    response = page.goto(card)
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert "immutable" in response.headers["cache-control"]
    size = page.evaluate("[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    assert size == [1200, 630]
    page.set_viewport_size({"width": 1200, "height": 630})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("img").screenshot(path=ARTIFACTS / screenshot)


def test_the_issue_and_paper_cards_open_as_images(live_server, seed, page):
    open_card(page, f"{live_server.url}{seed.get_absolute_url()}", "social-card-issue.png")
    open_card(page, f"{live_server.url}/en{seed.get_absolute_url()}", "social-card-issue-en.png")
    paper = seed.entries.get(arxiv_id="2406.15877")
    open_card(page, f"{live_server.url}{paper.get_paper_url()}", "social-card-paper.png")


def test_the_browser_finds_the_icons(live_server, seed, page):
    page.goto(live_server.url)
    for selector in ('link[rel="icon"]', 'link[rel="apple-touch-icon"]'):
        for href in page.locator(selector).evaluate_all("links => links.map(l => l.href)"):
            response = page.request.get(href)
            assert response.status == 200, href
            assert response.headers["content-type"].startswith("image/"), href
