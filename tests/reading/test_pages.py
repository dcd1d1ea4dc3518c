"""The registry of public pages (reading/pages.py) and what reads it.

The navigation, the sitemap and every test or benchmark that walks "all the
pages" take their pages from the registry, so a route of reading/urls.py
missing from it would be left out of all of them, silently; a name in it
without a route would break them all. These tests hold the two together, in
both languages, and check that each page's example arguments work.
"""

from urllib.parse import unquote

import pytest
from bs4 import BeautifulSoup
from django.urls import URLResolver, get_resolver, resolve
from django.utils import translation

from reading import pages

pytestmark = pytest.mark.django_db

SITE = "http://testserver"


def registry_routes():
    """{namespaced URL name: route} of every pattern in the namespaces the
    registry accounts for (the public site's and the newsletter's), as the
    resolver has them in the active language (English ones start with en/).
    An unnamed pattern is listed by its route: no page can name it."""
    routes = {}

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif namespace in pages.NAMESPACES:
                name = f"{namespace}:{pattern.name}" if pattern.name else f"(unnamed) {route}"
                routes[name] = route

    walk(get_resolver().url_patterns, "", None)
    return routes


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_every_public_route_is_in_the_registry_and_every_name_there_is_a_route(language):
    with translation.override(language):
        routes = registry_routes()
    assert {name.partition(":")[0] for name in routes} == set(pages.NAMESPACES)
    prefix = "" if language == "zh-hans" else f"{language}/"
    assert all(route.startswith(prefix) for route in routes.values()), routes
    assert set(routes) - pages.view_names() == set(), "routes missing from reading/pages.py"
    assert pages.view_names() - set(routes) == set(), "names in reading/pages.py with no route"
    assert not pages.NOT_PAGES & {page.view_name for page in pages.PAGES}


def test_each_url_name_is_in_the_registry_once():
    names = [name for page in pages.PAGES for name in page.url_names]
    assert sorted(names) == sorted(set(names))
    for page in pages.PAGES:
        assert set(page.languages) <= set(pages.LANGUAGES), page.name
        if page.nav_parent:
            assert pages.BY_NAME[page.nav_parent].nav_label, page.name


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_every_page_answers_in_its_languages_with_its_example_arguments(client, seed, language):
    urls = pages.example_urls(language, feeds=True, downloads=True)
    assert set(urls) == {n for p in pages.PAGES if language in p.languages for n in p.url_names}
    view_names = {n: v for p in pages.PAGES for n, v in zip(p.url_names, p.view_names, strict=True)}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Language"] == language, url
        with translation.override(language):
            # As a request arrives: percent-decoded (a Chinese tag slug).
            assert resolve(unquote(url)).view_name == view_names[name], url


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_no_form_has_an_empty_action(client, seed, language):
    """HTML says a form's action, when present, is a non-empty URL (the Nu
    checker flags action=""); without one, a form submits to its page."""
    for url in pages.example_urls(language).values():
        page = BeautifulSoup(client.get(url).content, "html.parser")
        empty = [f for f in page.find_all("form") if f.has_attr("action") and not f["action"]]
        assert empty == [], url


def nav_links(response):
    nav = BeautifulSoup(response.content, "html.parser").find("nav", class_="site-nav")
    return [(a["href"], a.get_text(), a.get("aria-current")) for a in nav.find_all("a")]


@pytest.mark.parametrize("language", pages.LANGUAGES)
def test_the_navigation_shows_the_registry_pages_and_marks_the_current_one(client, seed, language):
    in_nav = [page for page in pages.PAGES if page.nav_label]
    with translation.override(language):
        expected = [(page.example_url(language), str(page.nav_label)) for page in in_nav]
    for name, url in pages.example_urls(language).items():
        page = pages.BY_NAME[name]
        current = page.nav_parent or (name if page.nav_label else None)
        links = nav_links(client.get(url))
        assert [(href, text) for href, text, _ in links] == expected, url
        assert [href for href, _, mark in links if mark == "page"] == (
            [pages.BY_NAME[current].example_url(language)] if current else []
        ), url


def test_the_sitemap_lists_the_pages_the_registry_puts_there_and_no_other(client, seed):
    sitemap = client.get("/sitemap.xml").content.decode()
    for language in pages.LANGUAGES:
        for name, url in pages.example_urls(language).items():
            listed = f"<loc>{SITE}{url}</loc>" in sitemap
            assert listed == pages.BY_NAME[name].in_sitemap, (language, name)


def test_an_empty_archive_has_no_example_for_pages_that_need_one(db):
    with pytest.raises(LookupError, match="issue_detail"):
        pages.example_urls()
