"""The interface in Chinese and English (reading.languages, locale/en).

Chinese pages live at the plain URLs, English ones under /en/. A browser that
prefers English and has made no choice is sent on to the English page; the
switch on every page stores the reader's choice, which then wins.
"""

import datetime
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup, Comment
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from papers.models import Issue
from reading import pages
from reading.templatetags.digest import period

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ENGLISH_BROWSER = {"HTTP_ACCEPT": HTML, "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
CHINESE_BROWSER = {"HTTP_ACCEPT": HTML, "HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.8"}
HAN = re.compile(r"[\u3400-\u9fff]")
LONG_CONTEXT = quote("长上下文")
HALLUCINATION = quote("幻觉")

# Besides every public page (reading/pages.py), in English: searches, filters
# and pages that are not there, whose messages come from code.
ENGLISH_EXTRAS = [
    "/en/entries/?q=幻觉",
    "/en/entries/?q=hallucination&section=rag",
    f"/en/entries/?tag={HALLUCINATION}&tag={quote('不确定性估计')}",
    "/en/entries/?section=no-such-section",
    "/en/entries/?q=！！！",
    "/en/issues/2/",
]


def soup_of(response):
    return BeautifulSoup(response.content.decode(), "html.parser")


def untagged_chinese(soup):
    """Text with Chinese characters that no element marks as Chinese (lang="zh-…").

    The <head> is left out (a <title> cannot mark part of itself), and so are
    scripts and the SVG charts, whose title and description screen readers
    read as one image label.
    """
    found = []
    for text in soup.body.find_all(string=HAN):
        if isinstance(text, Comment) or text.find_parent(["script", "style", "svg"]):
            continue
        marked = next((el["lang"] for el in text.parents if el.has_attr("lang")), "")
        if not marked.lower().startswith("zh"):
            found.append(text.strip())
    return found


# ---------------------------------------------------------------- choosing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_ACCEPT": HTML},
        {"HTTP_ACCEPT": HTML, "HTTP_ACCEPT_LANGUAGE": "fr-FR,de;q=0.8"},
        CHINESE_BROWSER,
    ],
    ids=["no-headers", "no-language", "neither-language", "chinese"],
)
def test_a_browser_that_asks_for_neither_language_or_for_chinese_gets_chinese(
    client, seed, headers
):
    response = client.get("/", **headers)
    assert response.status_code == 200
    assert soup_of(response).html["lang"] == "zh-Hans"
    assert response["Content-Language"] == "zh-hans"
    assert '<a href="/issues/">往期</a>' in response.content.decode()
    # The same address answers differently by language preference: shared caches must know.
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, target",
    [
        ("/", "/en/"),
        ("/issues/2024-06-h2/", "/en/issues/2024-06-h2/"),
        (f"/tags/{LONG_CONTEXT}/", f"/en/tags/{LONG_CONTEXT}/"),
        (
            "/entries/?section=rag&q=%E5%B9%BB%E8%A7%89&page=1",
            "/en/entries/?section=rag&q=%E5%B9%BB%E8%A7%89&page=1",
        ),
        ("/papers/2406.15877/", "/en/papers/2406.15877/"),
    ],
)
def test_a_browser_that_prefers_english_is_sent_to_the_english_page(client, seed, path, target):
    response = client.get(path, **ENGLISH_BROWSER)
    assert response.status_code == 302
    assert response["Location"] == target
    assert "Accept-Language" in response["Vary"] and "Cookie" in response["Vary"]
    english = client.get(target, **ENGLISH_BROWSER)
    assert english.status_code == 200
    assert soup_of(english).html["lang"] == "en"
    assert english["Content-Language"] == "en"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, accept",
    [
        ("/api/issues", "application/json"),
        ("/sitemap.xml", "application/xml"),
        ("/robots.txt", "text/plain"),
        ("/admin/login/", HTML),
        ("/no-such-page/", HTML),
    ],
)
def test_api_admin_and_unknown_addresses_are_never_redirected(client, seed, path, accept):
    response = client.get(path, HTTP_ACCEPT=accept, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 404)
    assert not response.has_header("Location")


@pytest.mark.django_db
def test_a_feed_reader_that_prefers_english_gets_the_english_feed(client, seed):
    response = client.get(
        "/feeds/issues.atom", HTTP_ACCEPT="application/atom+xml", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Location"] == "/en/feeds/issues.atom"
    assert client.get("/feeds/issues.atom", HTTP_ACCEPT="application/atom+xml").status_code == 200


@pytest.mark.django_db
def test_english_pages_are_never_redirected_whatever_the_browser_asks(client, seed):
    response = client.get("/en/issues/", **CHINESE_BROWSER)
    assert response.status_code == 200
    assert soup_of(response).html["lang"] == "en"


@pytest.mark.django_db
def test_a_post_is_never_redirected(client, seed):
    response = client.post("/entries/", **ENGLISH_BROWSER)
    assert response.status_code != 302


# ---------------------------------------------------------------- the switch


@pytest.mark.django_db
def test_every_page_has_a_switch_to_the_same_page_in_the_other_language(client, seed):
    for path in [*pages.example_urls().values(), "/entries/?q=rag&section=rag"]:
        response = client.get(path)
        switch = soup_of(response).find("nav", class_="language-switch")
        assert switch is not None, path
        link = switch.find("a", hreflang="en")
        assert link.get_text() == "English"
        assert [a.get_text() for a in switch.find_all("a")] == ["English"]
        following = client.get(link["href"])
        assert following.status_code == 302
        assert following["Location"] == "/en" + path, path
        client.cookies.clear()  # the switch remembered English; start again as a new reader


@pytest.mark.django_db
def test_error_pages_have_the_switch_too(client, seed):
    for path in ["/no-such-page/", "/en/no-such-page/"]:
        response = client.get(path)
        assert response.status_code == 404
        assert soup_of(response).find("nav", class_="language-switch").find("a") is not None


@pytest.mark.django_db
def test_the_switch_to_chinese_keeps_the_page_and_its_query(client, seed):
    response = client.get("/en/entries/?q=rag&section=rag")
    link = soup_of(response).find("nav", class_="language-switch").find("a", hreflang="zh-Hans")
    assert link.get_text() == "简体中文"
    answer = client.get(link["href"])
    assert answer["Location"] == "/entries/?q=rag&section=rag"


@pytest.mark.django_db
def test_the_choice_is_remembered_and_wins_over_the_browser(client, seed):
    answer = client.get("/language/zh-hans/", {"next": "/en/issues/"})
    assert answer.status_code == 302
    assert answer["Location"] == "/issues/"
    cookie = answer.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "zh-hans"
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.LANGUAGE_COOKIE_AGE
    assert "no-cache" in answer["Cache-Control"]
    # The browser still prefers English, but the reader chose Chinese.
    chinese = client.get("/issues/", **ENGLISH_BROWSER)
    assert chinese.status_code == 200
    assert soup_of(chinese).html["lang"] == "zh-Hans"
    # And the other way round: chose English, the browser asks for Chinese.
    client.get("/language/en/", {"next": "/"})
    assert client.get("/issues/", **CHINESE_BROWSER)["Location"] == "/en/issues/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url, target",
    [
        ("https://evil.example/phish", "/en/"),
        ("//evil.example/", "/en/"),
        ("", "/en/"),
        ("javascript:alert(1)", "/en/"),
        ("/admin/", "/admin/"),
        ("/no-such-page/", "/no-such-page/"),
    ],
)
def test_the_switch_only_returns_to_pages_of_this_site(client, db, next_url, target):
    answer = client.get("/language/en/", {"next": next_url})
    assert answer.status_code == 302
    assert answer["Location"] == target


@pytest.mark.django_db
def test_the_switch_refuses_unknown_languages_and_writes(client, db):
    assert client.get("/language/fr/", {"next": "/"}).status_code == 404
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies
    assert client.post("/language/en/", {"next": "/"}).status_code == 405


# ---------------------------------------------------------------- English pages


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", [*(page.name for page in pages.PAGES if "en" in page.languages), *ENGLISH_EXTRAS]
)
def test_english_pages_mark_every_chinese_text_as_chinese(client, seed, page):
    """Untranslated interface text would show up here as unmarked Chinese."""
    path = english_path(page)
    response = client.get(path)
    assert response.status_code in (200, 404), path
    soup = soup_of(response)
    assert soup.html["lang"] == "en"
    assert untagged_chinese(soup) == []


def english_path(page):
    """The English address of a registry page, or an extra address as it is."""
    return pages.BY_NAME[page].example_url("en") if page in pages.BY_NAME else page


ONE_WITH_A_PLURAL = re.compile(r"\b(?:last |of )?1 (?:issues|papers|tags|entries|sections)\b")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", [*(page.name for page in pages.PAGES if "en" in page.languages), *ENGLISH_EXTRAS]
)
def test_english_pages_say_1_issue_not_1_issues(client, seed, page):
    """The seed archive has one issue: "the last 1 issues" was on the trends
    and tag pages (and in their charts' titles)."""
    path = english_path(page)
    text = client.get(path).content.decode()
    assert ONE_WITH_A_PLURAL.findall(text) == [], path


@pytest.mark.django_db
def test_the_check_for_unmarked_chinese_can_fail(client, seed):
    soup = BeautifulSoup("<html><body><p>Issues <span>往期</span></p></body></html>", "html.parser")
    assert untagged_chinese(soup) == ["往期"]


@pytest.mark.django_db
def test_english_pages_read_in_english(client, seed):
    page = client.get("/en/issues/2024-06-h2/").content.decode()
    assert "Skip to content" in page
    assert '<a href="/en/issues/" aria-current="page">Issues</a>' in page
    assert "LLM Papers Fortnightly" in page
    assert "In this issue" in page
    archive = client.get("/en/issues/").content.decode()
    assert "1 issue, newest first." in archive
    assert "20 papers" in archive
    paper = client.get("/en/papers/2406.15877/").content.decode()
    assert "Covered in 1 issue" in paper
    assert "Copy BibTeX" in paper


@pytest.mark.django_db
def test_dates_are_written_as_each_language_writes_them(client, seed):
    chinese = client.get("/issues/2024-06-h2/").content.decode()
    english = client.get("/en/issues/2024-06-h2/").content.decode()
    assert "2024年6月16日–30日" in chinese
    assert ">2024年7月1日</time>" in chinese
    assert "June 16–30, 2024" in english
    assert ">July 1, 2024</time>" in english


@pytest.mark.parametrize(
    "start, end, chinese, english",
    [
        ((2024, 6, 16), (2024, 6, 30), "2024年6月16日–30日", "June 16–30, 2024"),
        ((2024, 6, 24), (2024, 7, 7), "2024年6月24日–7月7日", "June 24 – July 7, 2024"),
        (
            (2024, 12, 23),
            (2025, 1, 5),
            "2024年12月23日–2025年1月5日",
            "December 23, 2024 – January 5, 2025",
        ),
    ],
)
def test_an_issue_period_in_each_language(start, end, chinese, english):
    issue = Issue(period_start=datetime.date(*start), period_end=datetime.date(*end))
    with translation.override("zh-hans"):
        assert period(issue) == chinese
    with translation.override("en"):
        assert period(issue) == english


@pytest.mark.django_db
def test_messages_from_code_are_translated(client, seed):
    errors = client.get("/en/entries/", {"section": "no-such-section"}).content.decode()
    assert "There is no such section." in errors
    nothing = client.get("/en/entries/", {"q": "！！！"}).content.decode()
    assert "There is nothing to search for in this query" in nothing
    active = soup_of(client.get("/en/entries/", {"tag": "幻觉", "year": "2024"}))
    labels = [li.get_text(" ", strip=True) for li in active.select(".active-filters li")]
    assert labels[0].startswith("Tags: 幻觉") and labels[1].startswith("Year: 2024")


@pytest.mark.django_db
def test_the_english_feed_is_titled_in_english(client, seed):
    feed = client.get("/en/feeds/issues.atom").content.decode()
    assert "<title>LLM Papers Fortnightly</title>" in feed
    tag_feed = client.get(f"/en/tags/{LONG_CONTEXT}/feed.atom").content.decode()
    assert "Tag: 长上下文" in tag_feed


@pytest.mark.django_db
def test_each_page_names_its_translations_for_search_engines(client, seed):
    soup = soup_of(client.get("/en/sections/rag/"))
    alternates = {
        link["hreflang"]: link["href"]
        for link in soup.find_all("link", rel="alternate", hreflang=True)
    }
    assert alternates == {
        "zh-Hans": "http://testserver/sections/rag/",
        "en": "http://testserver/en/sections/rag/",
        "x-default": "http://testserver/sections/rag/",
    }
    assert soup.find("meta", property="og:locale")["content"] == "en_US"


@pytest.mark.django_db
def test_the_sitemap_lists_both_languages_with_alternates(client, seed):
    sitemap = client.get("/sitemap.xml").content.decode()
    assert "<loc>http://testserver/issues/2024-06-h2/</loc>" in sitemap
    assert "<loc>http://testserver/en/issues/2024-06-h2/</loc>" in sitemap
    assert (
        '<xhtml:link rel="alternate" hreflang="en" href="http://testserver/en/issues/2024-06-h2/"/>'
    ) in sitemap


@pytest.mark.django_db
def test_preview_has_no_language_switch(admin_client, seed):
    issue = Issue.objects.get()
    page = admin_client.get(f"/admin/papers/issue/{issue.pk}/preview/")
    assert page.status_code == 200
    assert soup_of(page).find("nav", class_="language-switch") is None


def test_template_marks_content_in_the_other_language():
    template = Template("{% load digest %}<p{% lang_attr text %}>{{ text }}</p>")
    with translation.override("en"):
        chinese = template.render(Context({"text": "检索增强生成"}))
        assert chinese == '<p lang="zh-Hans">检索增强生成</p>'
        assert template.render(Context({"text": "RAG"})) == "<p>RAG</p>"
    with translation.override("zh-hans"):
        assert template.render(Context({"text": "Self-RAG"})) == '<p lang="en">Self-RAG</p>'
        assert template.render(Context({"text": "幻觉"})) == "<p>幻觉</p>"


# ---------------------------------------------------------------- the catalogue


def english_catalogue():
    path = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as po:
        return read_po(po, locale="en")


def test_the_english_catalogue_translates_everything_and_keeps_every_placeholder():
    catalogue = english_catalogue()
    messages = [message for message in catalogue if message.id]
    assert len(messages) > 100
    for message in messages:
        assert not message.fuzzy, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        assert not any(HAN.search(s) for s in strings if "幻觉" not in s), message.id
    assert [(m.id, errors) for m, errors in catalogue.check() if errors] == []


def test_the_compiled_catalogue_is_the_one_in_use():
    with translation.override("en"):
        assert translation.gettext("往期") == "Issues"
