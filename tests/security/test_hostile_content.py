"""Hostile content renders harmless on every surface that shows it.

An editor (careless, compromised, or an import) can put anything in the fields
they write: issue titles, introductions and source URLs; section names and
descriptions; entry titles, authors, URLs and summaries; tag names. The
corpus in ``xss_vectors.py`` goes into all of them at once, mostly through
the ORM (which skips form validation, as imports and scripts do) and once
through the real admin form. Then every surface is read back and parsed:
public pages in both languages, feeds, the JSON API, the sitemap, BibTeX,
the Markdown export, the staff preview, the WeChat article, the live
Markdown preview and the admin (lists, forms, history, compare, delete pages).

The check is structural, not a grep for "<script": each HTML document or
fragment is parsed with BeautifulSoup, and ``script_hazards`` lists every
element or attribute that could run script (the site's own static scripts
and its JSON-LD excepted). A grep would pass escaped text that a parser
still reads as markup, and fail on harmless escaped text. Each page must also
show the hostile text it was given, as text: an empty page proves nothing.

The corpus is packed so that a page carries many vectors at once: section
and tag names hold as many whole vectors as fit in 100 characters, issue
titles in 200, and each vector is an entry linked by its URL (a third of
them once more as an entry linked by arXiv id, for the paper pages). Detail
pages alternate between Chinese and English so that each language's templates
see half of them without doubling the requests; list pages are read in both,
feeds in one language per format. tests/browser/test_hostile_content.py
then proves the same in a real browser, where a parser differs from
BeautifulSoup's.
"""

import datetime
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from unittest import mock

import defusedxml.ElementTree as SafeXML
import feedparser
import pytest
import reversion
from bs4 import BeautifulSoup
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import transaction
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone, translation
from reversion.models import Version

from bench.common.admin_form import form_data
from papers import search
from papers.markdown import render_markdown
from papers.models import Entry, Issue, Section, Tag
from reading import feeds, pages
from tests.security.xss_vectors import (
    CSS,
    EMBEDS,
    EVENT_HANDLERS,
    FOREIGN_CONTENT,
    PAPER_IDS,
    SCRIPT_TAGS,
    URLS,
    VECTORS,
    joined,
    pack,
)

# ----------------------------------------------------------------- the detector

SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "mocha:")
# A data: URL is harmless only as a raster image; as a document, script or SVG it runs.
HARMLESS_DATA = re.compile(r"data:image/(png|gif|jpe?g|webp)[;,]")
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "data",
    "poster",
    "background",
    "dynsrc",
    "lowsrc",
    "code",
    "codebase",
    "archive",
    "cite",
    "longdesc",
    "usemap",
    "ping",
    "manifest",
    "icon",
    "srcset",
    "to",
    "from",
    "values",
    "by",
}
EMBEDDING_ELEMENTS = {
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "bgsound",
    "layer",
    "ilayer",
    "portal",
    "fencedframe",
}
# What the site's own pages may carry as data, not code, in a <script>.
DATA_SCRIPT_TYPES = {"application/ld+json", "application/json"}
CSS_HAZARDS = (
    "expression(",
    "javascript:",
    "vbscript:",
    "behavior:",
    "-moz-binding",
    "@import",
    "url(data:text",
    "url(data:image/svg",
)


def normalised_url(value):
    """A URL as a browser reads its scheme: entities are already decoded by
    the parser; browsers drop leading controls and spaces and ignore tabs and
    newlines anywhere. Dropping every control and space is stricter still."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value).lower()


def url_hazard(value):
    url = normalised_url(value)
    if url.startswith(SCRIPT_SCHEMES):
        return "script URL"
    if url.startswith("data:") and not HARMLESS_DATA.match(url):
        return "data URL"
    return None


def css_hazard(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\\([0-9a-fA-F]{1,6})\s?", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"[\s\\]+", "", text).lower()
    return next((hazard for hazard in CSS_HAZARDS if hazard in text), None)


def static_prefix():
    """Where the site's own static files are served from: /static/."""
    return "/" + settings.STATIC_URL.lstrip("/")


def own_script(attrs, text):
    """One of the site's own <script>s: a static file (or the admin's
    translation catalogue), or JSON data whose text cannot end the element
    (no ``</script``, no ``<!--``)."""
    src = attrs.get("src")
    if src is not None:
        own = src.startswith(static_prefix()) or src == reverse("admin:jsi18n")
        return own and not text.strip()
    if (attrs.get("type") or "").strip().lower() not in DATA_SCRIPT_TYPES:
        return False
    if "</script" in text.lower() or "<!--" in text:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class HazardScanner(HTMLParser):
    """One pass over a document with the standard library's HTML tokenizer
    (the one BeautifulSoup's "html.parser" builds its trees from; building
    the tree would cost seconds on a large admin page): it records every
    element or attribute that could run script, and the text a reader sees.

    It reads raw-text elements as a browser does: the content of <noscript>,
    <iframe>, <noembed>, <noframes>, <xmp>, <title> and <textarea> is text up
    to the matching end tag, whatever it looks like, so that markup hidden in
    an attribute inside them (mutation XSS) is seen where it really starts.
    <style> content is checked as CSS and also as markup: inside <svg> or
    <math> a browser parses it as markup, and an <img> there breaks out.
    """

    CDATA_CONTENT_ELEMENTS = (
        "script",
        "style",
        "noscript",
        "iframe",
        "noembed",
        "noframes",
        "xmp",
        "title",
        "textarea",
    )
    ESCAPABLE_RAW_TEXT = ("title", "textarea")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hazards, self.text = [], []
        self.raw_element, self.raw_attrs, self.raw_text = None, {}, []

    def handle_starttag(self, tag, attrs):
        self.check_element(tag, attrs)
        if tag in self.CDATA_CONTENT_ELEMENTS:
            self.raw_element, self.raw_attrs, self.raw_text = tag, dict(attrs), []

    def handle_startendtag(self, tag, attrs):
        self.check_element(tag, attrs)

    def handle_endtag(self, tag):
        if tag != self.raw_element:
            return
        text = "".join(self.raw_text)
        where = f"<{tag} {self.raw_attrs}>{text[:80]}"
        if tag == "script" and not own_script(self.raw_attrs, text):
            self.hazards.append(f"script element: {where}")
        elif tag == "style":
            if css_hazard(text):
                self.hazards.append(f"style element: {where}")
            self.hazards += [f"inside <style>: {h}" for h in script_hazards(text)]
        elif tag in self.ESCAPABLE_RAW_TEXT:
            self.text.append(html.unescape(text))
        self.raw_element = None

    def handle_data(self, data):
        if self.raw_element:
            self.raw_text.append(data)
        else:
            self.text.append(data)

    def check_element(self, tag, attrs):
        attributes = {name.lower(): value or "" for name, value in attrs}
        where = f"<{tag} {attributes}>"[:160]
        if tag in EMBEDDING_ELEMENTS:
            self.hazards.append(f"{tag} element: {where}")
        if tag == "meta" and "http-equiv" in attributes:
            self.hazards.append(f"meta http-equiv: {where}")
        if tag == "link" and "import" in attributes.get("rel", "").lower().split():
            self.hazards.append(f"HTML import: {where}")
        for name, value in attributes.items():
            if name.startswith("on"):
                self.hazards.append(f"event handler {name}: {where}")
            elif name == "srcdoc":
                self.hazards.append(f"srcdoc: {where}")
            elif name == "style" and css_hazard(value):
                self.hazards.append(f"style attribute: {where}")
            elif name in URL_ATTRIBUTES:
                hazard = url_hazard(value)
                if hazard is None and name in ("values", "to", "from", "by"):
                    hazard = "script URL" if "javascript:" in normalised_url(value) else None
                if hazard:
                    self.hazards.append(f"{hazard} in {name}: {where}")


def scan(markup):
    scanner = HazardScanner()
    scanner.feed(markup)
    scanner.close()
    if scanner.raw_element:  # left open: browsers close it at the end (and run a script)
        scanner.raw_text.append(scanner.rawdata)  # what the tokenizer still holds
        scanner.handle_endtag(scanner.raw_element)
    return scanner


def script_hazards(markup):
    """Every element or attribute in ``markup`` (a page or a fragment) that
    could run script, as short descriptions; [] when there is none."""
    return scan(markup).hazards


def page_text(markup):
    """The text a reader sees (comments are not text), white space collapsed."""
    return collapse("".join(scan(markup).text))


def collapse(text):
    return " ".join(text.split())


# ------------------------------------------------------------ placing the corpus


@dataclass
class HostileArchive:
    """What ``build_hostile_archive`` made, for the tests to walk."""

    issues: list = field(default_factory=list)
    sections: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    entries: list = field(default_factory=list)
    draft: Issue | None = None

    def language_of(self, n):
        """Alternate detail pages between the two languages."""
        return "/en" if n % 2 else ""


def build_hostile_archive(now=None):
    """The corpus in every editor-written field, written through the ORM.

    Each issue is saved twice in revisions (a harmless first version, then the
    hostile one with its entries and tags), so history and compare pages have
    something to show. The search index is written once at the end rather
    than at each of the ~1,200 saves and tag links (same documents, a tenth of
    the time). Returns a ``HostileArchive``.
    """
    touched = set()
    with mock.patch.object(search, "index_entries", touched.update):
        archive = _build(now or timezone.now())
    search.index_entries(touched)
    return archive


def _build(now):
    archive = HostileArchive()
    count = len(VECTORS)
    section_of, tag_of = {}, {}
    for k, group in enumerate(pack(range(count), 100)):
        name = joined(group)
        archive.sections.append(
            Section.objects.create(
                name=name, slug=f"hostile-{k}", description=name, position=100 + k
            )
        )
        section_of |= dict.fromkeys(group, archive.sections[-1])
    # Tags pack the corpus from the other end, so their neighbours differ.
    for k, group in enumerate(pack(reversed(range(count)), 100)):
        archive.tags.append(Tag.objects.create(name=joined(group), slug=f"hostile-tag-{k}"))
        tag_of |= dict.fromkeys(group, archive.tags[-1])

    for j, group in enumerate(pack(range(count), 200)):
        start = datetime.date(2020, 1, 6) + datetime.timedelta(days=14 * j)
        with reversion.create_revision():
            issue = Issue.objects.create(
                title=f"第{j}期",
                slug=f"hostile-{j}",
                period_start=start,
                period_end=start + datetime.timedelta(days=13),
                intro="导言。",
                status=Issue.Status.PUBLISHED,
                published_at=now - datetime.timedelta(hours=j + 1),
                source_url="https://example.com/",
            )
        with reversion.create_revision():
            issue.title = joined(group)
            issue.intro = "\n\n".join(VECTORS[i] for i in group)
            # A URL field's scheme is its first characters: start each with a URL vector.
            issue.source_url = " ".join([URLS[j % len(URLS)], joined(group)])[:500]
            issue.save()
            for i in group:
                vector = VECTORS[i]
                common = {
                    "issue": issue,
                    "title": vector,
                    "authors": vector,
                    "url": vector,
                    "summary": vector,
                }
                by_url = Entry.objects.create(
                    section=section_of[i], position=2 * i + 1, arxiv_id="", **common
                )
                by_url.tags.add(tag_of[i])
                archive.entries.append(by_url)
                if i % 3:
                    continue
                # A third of the vectors again, by arXiv id: the paper pages.
                by_id = Entry.objects.create(
                    section=section_of[(i + 1) % count],
                    position=2 * i + 2,
                    arxiv_id=PAPER_IDS[i // 3 % len(PAPER_IDS)],
                    **common,
                )
                by_id.tags.add(tag_of[i], tag_of[(i + 7) % count])
                archive.entries.append(by_id)
        archive.issues.append(issue)

    # A draft with the whole corpus in its introduction: for the staff preview.
    draft = archive.draft = Issue.objects.create(
        title=joined(pack(range(count), 200)[0]),
        slug="hostile-draft",
        period_start=datetime.date(2030, 1, 1),
        period_end=datetime.date(2030, 1, 14),
        intro="\n\n".join(VECTORS),
        source_url=" ".join(URLS)[:500],
    )
    for i in (0, 43, 66):
        Entry.objects.create(
            issue=draft,
            section=section_of[i],
            position=1,
            title=VECTORS[i],
            authors=VECTORS[i],
            url=VECTORS[i],
            summary=VECTORS[i],
        )
    return archive


@pytest.fixture(scope="module")
def hostile(django_db_setup, django_db_blocker):
    """The hostile archive, built once for the module inside a transaction
    that is rolled back at the end (each test's own changes roll back to a
    savepoint within it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        archive = build_hostile_archive()
        yield archive
        transaction.set_rollback(True)


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("hostile-admin", "admin@example.com", "x")
    client.force_login(user)
    return client


# --------------------------------------------------------------- reading pages


class Walk:
    """Reads pages and collects every problem, so that one run reports them all."""

    def __init__(self, client):
        self.client = client
        self.problems = []
        self.pages = 0

    def check_html(self, url, markup, shows=(), shows_any=()):
        for hazard in script_hazards(markup):
            self.problems.append(f"{url}: {hazard}")
        if shows or shows_any:
            text = page_text(markup)
            for expected in shows:
                if collapse(expected) not in text:
                    self.problems.append(f"{url}: does not show {expected[:80]!r} as text")
            if shows_any and not any(collapse(e) in text for e in shows_any):
                self.problems.append(f"{url}: shows none of {shows_any[0][:60]!r}...")

    def page(self, url, shows=(), shows_any=(), **extra):
        response = self.client.get(url, **extra)
        self.pages += 1
        if response.status_code != 200:
            self.problems.append(f"{url}: status {response.status_code}")
            return None
        if "text/html" not in response["Content-Type"]:
            self.problems.append(f"{url}: served as {response['Content-Type']}")
        markup = response.content.decode()
        self.check_html(url, markup, shows, shows_any)
        return markup

    def assert_clean(self, at_least):
        assert self.pages >= at_least, f"only {self.pages} pages read"
        report = "\n".join(self.problems[:40])
        assert not self.problems, f"{len(self.problems)} problems, the first:\n{report}"


def address(obj):
    """``obj``'s page in the default language, to put a language prefix on: a
    request for an /en/ page leaves English active in the test's thread."""
    with translation.override(settings.LANGUAGE_CODE):
        return obj.get_absolute_url()


def entries_page(page, per_page=20, **filters):
    """The titles the entries list shows on ``page``, by the site's own order."""
    entries = Entry.objects.published().filter(**filters).newest_first()
    return [e.title for e in entries[(page - 1) * per_page : page * per_page]]


# ------------------------------------------------------------------ the corpus


def test_the_corpus_is_large_and_fits_every_field():
    assert len(VECTORS) >= 100
    assert len({vector.casefold() for vector in VECTORS}) == len(VECTORS)
    assert all(len(vector) <= 100 for vector in VECTORS)  # tag and section names
    assert not any("\x00" in vector for vector in VECTORS)  # PostgreSQL text


# These are inert when printed raw into a page body: a conditional comment, a
# PHP/ASP tag read as a bogus comment, text that is dangerous only inside a
# JavaScript string or template. Everything else in the markup families must
# be caught by the detector when printed without escaping.
INERT_IN_BODY = {
    "<scr<script>ipt>alert(9)</scr</script>ipt>",  # dangerous only once a filter strips
    "<scr<!-- -->ipt>alert(10)</script>",  # ... the inner tag or comment
    "<img src=`x`onerror=alert(81)>",  # old IE read backticks as quotes
    '<br size="&{alert(136)}">',  # Netscape 4's JavaScript entities
    "<%<!--'%><script>alert(14);</script -->",
    "<? echo('<script>alert(15)</script>'); ?>",
    "<!--[if gte IE 4]><script>alert(16)</script><![endif]-->",
}


def test_the_detector_catches_the_vectors_printed_raw():
    """The detector can fail: the markup vectors themselves, unescaped in a
    page body, are caught (except the few that browsers also read as inert),
    and so are the script URLs, unescaped in a link."""
    markup = [
        v
        for v in [*SCRIPT_TAGS, *EVENT_HANDLERS, *FOREIGN_CONTENT, *EMBEDS, *CSS]
        if v not in INERT_IN_BODY
    ]
    missed = [
        v
        for v in markup
        if not script_hazards(
            f"<!doctype html><html><head><title>t</title></head><body><p>{v}</p></body></html>"
        )
    ]
    urls = [
        v
        for v in URLS
        if normalised_url(html.unescape(v)).startswith(("javascript:", "vbscript:", "data:"))
    ]
    missed += [v for v in urls if not script_hazards(f'<a href="{v}">x</a>')]
    assert len(markup) + len(urls) > 100
    assert missed == []


def test_the_detector_accepts_the_sites_own_scripts_and_escaped_text():
    page = (
        f'<script src="{static("js/copy.js")}" defer></script>'
        '<script type="application/ld+json">{"name": "\\u003C/script\\u003E"}</script>'
        f"<p>{html.escape(''.join(VECTORS))}</p>"
        f'<a href="https://arxiv.org/" title="{html.escape(VECTORS[0])}">x</a>'
    )
    assert script_hazards(page) == []
    assert script_hazards('<script type="application/ld+json">{"a": "</script>"}</script>')
    assert script_hazards('<script src="//evil.example/x.js"></script>')


# ------------------------------------------------------------- public pages

LANGUAGES = ["", "/en"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_public_lists_are_harmless(hostile, db, client, language):
    """Every public page (reading/pages.py), with its example arguments: the
    lists, the archive and the entries page by page. The tests below walk the
    page of every hostile issue, section, tag and paper."""
    walk = Walk(client)
    newest = hostile.issues[0]
    shows = {
        "home": [newest.title, *(e.title for e in newest.entries.all())],
        "tag_list": [t.name for t in hostile.tags],
        "section_list": [s.name for s in hostile.sections],
    }
    issue_pages = (len(hostile.issues) - 1) // 20 + 1
    entry_pages = (Entry.objects.published().count() - 1) // 20 + 1
    urls = pages.example_urls("en" if language else settings.LANGUAGE_CODE)
    for name, url in urls.items():
        if name == "issue_list":
            for page in range(1, issue_pages + 1):
                shown = hostile.issues[(page - 1) * 20 : page * 20]
                walk.page(f"{url}?page={page}", shows=[i.title for i in shown])
        elif name == "entry_list":
            for page in range(1, entry_pages + 1):
                walk.page(f"{url}?page={page}", shows=entries_page(page))
        else:
            walk.page(url, shows=shows.get(name, ()))
    walk.assert_clean(at_least=entry_pages + 6)


def test_issue_pages_are_harmless(hostile, db, client):
    walk = Walk(client)
    for n, issue in enumerate(hostile.issues):
        entries = list(issue.entries.all())
        walk.page(
            f"{hostile.language_of(n)}{address(issue)}",
            shows=[issue.title, *(e.title for e in entries), *(e.authors for e in entries)],
        )
    walk.assert_clean(at_least=len(hostile.issues))


def test_section_and_tag_pages_are_harmless(hostile, db, client):
    walk = Walk(client)
    for n, section in enumerate(hostile.sections):
        walk.page(
            f"{hostile.language_of(n)}{address(section)}", shows=[section.name, section.description]
        )
    for n, tag in enumerate(hostile.tags):
        walk.page(f"{hostile.language_of(n)}{address(tag)}", shows=[tag.name])
    walk.assert_clean(at_least=len(hostile.sections) + len(hostile.tags))


def test_filtered_and_searched_entries_are_harmless(hostile, db, client):
    """The filter chips print tag, section and issue names (as text and in an
    aria-label); search results print highlighted titles and extracts through
    their own code. Each request names a section, an issue and two tags, so
    that every name is a chip somewhere (the results are mostly empty)."""
    walk = Walk(client)
    tags, issues = hostile.tags, hostile.issues
    for n, section in enumerate(hostile.sections):
        chosen = [tags[(2 * n) % len(tags)], tags[(2 * n + 1) % len(tags)]]
        issue = issues[n % len(issues)]
        query = "&".join(f"tag={tag.slug}" for tag in chosen)
        walk.page(
            f"{hostile.language_of(n)}/entries/?section={section.slug}&issue={issue.slug}&{query}",
            shows=[section.name, issue.title, *(t.name for t in chosen)],
        )
    matches = Entry.objects.published().filter(title__contains="alert").count()
    for page in range(1, (matches - 1) // 20 + 2):
        walk.page(f"{hostile.language_of(page)}/entries/?q=alert&page={page}")
    for query in ["script", "onerror", "javascript", "svg onload", "&lt;"]:
        walk.page(f"/entries/?q={query}")
    # A search extract shows the summary's text as the entry's page does:
    # escaped once, not twice (no "&lt;" for "<").
    entity = "&lt;script&gt;alert(143)&lt;/script&gt;"
    walk.page("/entries/?q=143", shows=[html.unescape(entity)])
    walk.assert_clean(at_least=len(hostile.sections) + 5)


def test_paper_pages_and_their_json_ld_are_harmless(hostile, db, client):
    walk = Walk(client)
    for language in LANGUAGES:
        for arxiv_id in PAPER_IDS:
            entries = Entry.objects.published().filter(arxiv_id=arxiv_id)
            markup = walk.page(
                f"{language}/papers/{arxiv_id}/", shows=[e.issue.title for e in entries]
            )
            scripts = BeautifulSoup(markup or "", "html.parser").find_all(
                "script", type="application/ld+json"
            )
            assert scripts, "the paper page has no JSON-LD"
            data = json.loads(scripts[0].string)
            # The structured data carries the text as it was written, as data.
            assert data["name"] == entries.order_by("-issue__published_at", "pk")[0].title
    walk.assert_clean(at_least=2 * len(PAPER_IDS))


def test_issue_json_ld_keeps_the_hostile_text_as_data(hostile, db, client):
    issue = hostile.issues[1]
    soup = BeautifulSoup(client.get(address(issue)).content, "html.parser")
    (script,) = soup.find_all("script", type="application/ld+json")
    data = json.loads(script.string)
    assert data["name"] == issue.title
    titles = [item["item"]["name"] for item in data["itemListElement"]]
    assert set(titles) == {e.title for e in issue.entries.all()}


# -------------------------------------------------------------------- feeds


def feed_problems(url, body, content_type):
    """Well-formed XML whose HTML parts (Atom type="html", RSS descriptions)
    and whatever a feed reader (feedparser) takes for HTML carry no script."""
    problems = []
    try:
        root = SafeXML.fromstring(body)
    except Exception as error:
        return [f"{url}: not well-formed XML ({error})"]
    for element in root.iter():
        tag = element.tag.rpartition("}")[2]
        kind = element.get("type", "text")
        is_html = kind == "html" or (root.tag == "rss" and tag == "description")
        if kind == "xhtml" or (list(element) and tag in ("content", "summary", "title")):
            problems.append(f"{url}: live markup inside <{tag}>")
        if is_html and element.text:
            problems += [f"{url} <{tag}>: {h}" for h in script_hazards(element.text)]
    parsed = feedparser.parse(body, response_headers={"content-type": content_type})
    for item in [parsed.feed, *parsed.entries]:
        for key, value in item.items():
            detail = item.get(f"{key}_detail") or {}
            if isinstance(value, str) and detail.get("type") == "text/html":
                problems += [f"{url} feedparser {key}: {h}" for h in script_hazards(value)]
        for content in item.get("content", []):
            problems += [f"{url} feedparser content: {h}" for h in script_hazards(content["value"])]
        for link in item.get("links", []):
            if url_hazard(link.get("href", "")):
                problems.append(f"{url}: link {link['href']!r}")
    return problems


def read_feeds(client, urls):
    problems, titles = [], set()
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            problems.append(f"{url}: status {response.status_code}")
            continue
        problems += feed_problems(url, response.content, response["Content-Type"])
        parsed = feedparser.parse(response.content)
        titles |= {collapse(entry.title) for entry in parsed.entries}
    return problems, titles


def test_feeds_are_well_formed_and_carry_no_script(hostile, db, client, monkeypatch):
    """Every issue and entry in one feed of each format (the limits raised
    for the test), then the feeds of every tag and section (their names are
    the feed's title) and of some filtered lists."""
    monkeypatch.setattr(feeds, "ISSUES_IN_FEED", 1000)
    monkeypatch.setattr(feeds, "ENTRIES_IN_FEED", 1000)
    urls = [
        "/feeds/issues.atom",
        "/en/feeds/issues.rss",
        "/entries/feed.rss",
        "/en/entries/feed.atom",
    ]
    for n, tag in enumerate(hostile.tags):
        urls.append(f"{hostile.language_of(n)}/tags/{tag.slug}/feed.{('atom', 'rss')[n % 2]}")
    for n, section in enumerate(hostile.sections):
        fmt = ("rss", "atom")[n % 2]
        urls.append(f"{hostile.language_of(n)}/sections/{section.slug}/feed.{fmt}")
    for n, (tag, section) in enumerate(zip(hostile.tags[::7], hostile.sections, strict=False)):
        urls.append(f"/entries/feed.{('atom', 'rss')[n % 2]}?tag={tag.slug}&section={section.slug}")
    problems, titles = read_feeds(client, urls)
    assert not problems, "\n".join(problems[:40])
    # The hostile titles arrived, as text.
    expected = {collapse(i.title) for i in hostile.issues}
    expected |= {collapse(e.title) for e in hostile.entries}
    missing = expected - titles
    assert not missing, f"{len(missing)} titles missing from the feeds, e.g. {sorted(missing)[:3]}"


# ------------------------------------------------------- API, sitemap, BibTeX


def json_problems(url, response):
    problems = []
    if response.status_code != 200:
        return [f"{url}: status {response.status_code}"]
    if not response["Content-Type"].startswith("application/json"):
        problems.append(f"{url}: served as {response['Content-Type']}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{url}: no X-Content-Type-Options: nosniff")

    def visit(value, key=""):
        if isinstance(value, dict):
            for name, item in value.items():
                visit(item, name)
        elif isinstance(value, list):
            for item in value:
                visit(item, key)
        elif isinstance(value, str):
            if key.endswith("_html"):
                problems.extend(f"{url} {key}: {h}" for h in script_hazards(value))
            elif (
                key in ("url", "abstract", "pdf", "permalink")
                and value
                and not value.startswith(("http://", "https://"))
            ):
                problems.append(f"{url} {key}: not a web link: {value[:80]!r}")

    visit(json.loads(response.content))
    return problems


def test_the_api_serves_json_whose_html_is_clean_and_links_are_web_links(hostile, db, client):
    problems, titles = [], set()
    urls = ["/api/issues?page_size=100", "/api/tags?page_size=100"]
    urls += [f"/api/issues/{issue.slug}" for issue in hostile.issues]
    pages = (Entry.objects.published().count() - 1) // 100 + 1
    urls += [f"/api/entries?page_size=100&page={page}" for page in range(1, pages + 1)]
    urls += [f"/api/entries/{entry.pk}" for entry in hostile.entries[::17]]
    for url in urls:
        response = client.get(url)
        problems += json_problems(url, response)
        if url.startswith("/api/entries?"):
            titles |= {item["title"] for item in response.json()["items"]}
    assert not problems, "\n".join(problems[:40])
    # Text comes back as it was written: data, not markup.
    assert titles == {entry.title for entry in hostile.entries}


def test_the_sitemap_is_well_formed_and_lists_only_web_links(hostile, db, client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = SafeXML.fromstring(response.content)
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locations = [loc.text for loc in root.iter(f"{namespace}loc")]
    alternates = [link.get("href") for link in root.iter("{http://www.w3.org/1999/xhtml}link")]
    assert locations and alternates
    assert all(url.startswith("http://testserver/") for url in [*locations, *alternates])
    for section in hostile.sections:
        assert f"http://testserver{address(section)}" in locations


TEX_COMMANDS = {
    "\\textbackslash",
    "\\textbraceleft",
    "\\textbraceright",
    "\\textasciitilde",
    "\\textasciicircum",
    "\\url",
}


def bibtex_problems(url, response):
    if response.status_code != 200:
        return [f"{url}: status {response.status_code}"]
    problems = []
    if not response["Content-Type"].startswith("application/x-bibtex"):
        problems.append(f"{url}: served as {response['Content-Type']}")
    if not response["Content-Disposition"].startswith("attachment"):
        problems.append(f"{url}: not an attachment")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{url}: no nosniff")
    text = response.content.decode()
    for record in re.split(r"\n(?=@)", text.strip()):
        depth = 0
        for char in re.sub(r"\\[{}&%$#_]", "", record):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                break
        if depth != 0:
            problems.append(f"{url}: unbalanced braces in {record[:80]!r}")
        fields = re.findall(r"^  (\w+) = ", record, flags=re.M)
        if len(fields) != len(set(fields)) or "note" in fields:
            problems.append(f"{url}: a title or author made a field: {fields}")
    # Any TeX command other than the escapes the site writes would run in LaTeX.
    for command in set(re.findall(r"\\[A-Za-z]+", text)) - TEX_COMMANDS:
        problems.append(f"{url}: TeX command {command} in the file")
    return problems


def test_bibtex_files_are_attachments_that_no_title_can_break(hostile, db, client):
    problems = []
    urls = [f"/papers/{arxiv_id}/cite.bib" for arxiv_id in PAPER_IDS]
    urls += [f"/issues/{issue.slug}/papers.bib" for issue in hostile.issues]
    for url in urls:
        problems += bibtex_problems(url, client.get(url))
    assert not problems, "\n".join(problems[:40])


# ---------------------------------------------------- exports and previews


def markdown_export_problems(url, response):
    problems = []
    if not response["Content-Type"].startswith("text/markdown"):
        problems.append(f"{url}: served as {response['Content-Type']}")
    if not response["Content-Disposition"].startswith("attachment"):
        problems.append(f"{url}: not an attachment")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{url}: no nosniff")
    # Whatever renders the file with the site's renderer gets clean HTML.
    problems += [
        f"{url} rendered: {h}" for h in script_hazards(render_markdown(response.content.decode()))
    ]
    return problems


# Hostile, but on one line and without Markdown structure of their own, so
# that the roundup format carries them and the export succeeds.
EXPORTABLE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(67)>",
    "<svg/onload=alert(85)>",
    "</script><script>alert(17)</script>",
    "javascript:alert(44)",
    "[x](javascript:alert(149))",
    "<iframe src=data:text/html,<script>alert(118)</script>>",
    "]]><script>alert(26)</script>",
]


def test_the_markdown_export_is_a_plain_download_or_a_harmless_refusal(
    hostile, staff_client, tmp_path
):
    """The exported file holds the editors' source text (that is its job), so
    it must never be read as a page: a text/markdown attachment, from the
    button, the list action and ``manage.py export_roundup`` alike. An issue
    the format cannot carry is refused with a message naming its texts, which
    the admin must print escaped."""
    assert set(EXPORTABLE) <= set(VECTORS)
    issue = Issue.objects.create(
        title=" ".join(EXPORTABLE[:3]),
        slug="hostile-export",
        intro="\n\n".join(EXPORTABLE),
        period_start=datetime.date(2032, 1, 1),
        period_end=datetime.date(2032, 1, 14),
        source_url='https://example.com/"><script>alert(1)</script>',
    )
    section = Section.objects.create(name=" ".join(EXPORTABLE[3:5]), slug="hostile-export")
    for n, vector in enumerate(EXPORTABLE, 1):
        entry = Entry.objects.create(
            issue=issue,
            section=section,
            position=n,
            title=vector,
            authors=vector,
            arxiv_id=f"2401.{n:05d}",
            summary=vector,
        )
        entry.tags.add(Tag.objects.create(name=f"{vector} #{n}", slug=f"hostile-export-{n}"))

    walk = Walk(staff_client)
    url = reverse("admin:papers_issue_markdown", args=[issue.pk])
    response = staff_client.get(url)
    assert response.status_code == 200, [str(m) for m in response.wsgi_request._messages]
    walk.problems += markdown_export_problems(url, response)
    out = tmp_path / "export.md"
    call_command("export_roundup", issue.slug, output=out, verbosity=0)
    assert out.read_text(encoding="utf-8") == response.content.decode()
    changelist = reverse("admin:papers_issue_changelist")
    response = staff_client.post(
        changelist, {"action": "download_markdown", "_selected_action": [issue.pk]}
    )
    walk.problems += markdown_export_problems(changelist, response)

    # The archive's issues carry multi-line and structural text: each is
    # exported or refused; the refusals queue messages naming the texts, and
    # the next admin page prints them all.
    refused = []
    for issue in [*hostile.issues, hostile.draft]:
        url = reverse("admin:papers_issue_markdown", args=[issue.pk])
        response = staff_client.get(url)
        if response.status_code == 200:
            walk.problems += markdown_export_problems(url, response)
        else:
            assert response.status_code == 302, f"{url}: status {response.status_code}"
            refused.append(issue)
            with pytest.raises(CommandError):
                call_command("export_roundup", issue.slug, output=out, verbosity=0)
    assert refused, "no refusal to check"
    walk.page(reverse("admin:papers_issue_changelist"), shows=[i.title for i in refused])
    walk.assert_clean(at_least=1)


def test_the_staff_previews_and_the_wechat_article_are_harmless(hostile, db, staff_client):
    walk = Walk(staff_client)
    for issue in [hostile.draft, *hostile.issues]:
        for view in ("admin:papers_issue_preview", "admin:papers_issue_wechat"):
            walk.page(
                reverse(view, args=[issue.pk]),
                shows=[issue.title, *(e.title for e in issue.entries.all())],
            )
    url = reverse("admin:papers_markdown_preview")
    for text in [*VECTORS, "\n\n".join(VECTORS)]:
        response = staff_client.post(url, {"text": text})
        assert response.status_code == 200
        walk.problems += [
            f"preview of {text[:60]!r}: {h}" for h in script_hazards(response.json()["html"])
        ]
    walk.assert_clean(at_least=2 * (len(hostile.issues) + 1))


# -------------------------------------------------------------------- admin


def test_admin_lists_forms_and_delete_pages_are_harmless(hostile, db, staff_client):
    """Every list (with its filter sidebar: all section, issue and tag names),
    a sample of the change forms (Django's widgets print every value the same
    way; an issue's page with its inline entries is heavy), delete pages that
    list related objects by name."""
    walk = Walk(staff_client)
    for model, names in [
        ("issue", [i.title for i in hostile.issues[:100]]),
        ("section", [s.name for s in hostile.sections[:100]]),
        ("tag", [t.name for t in hostile.tags[:100]]),
    ]:
        walk.page(f"/admin/papers/{model}/", shows=names)
        walk.page(f"/admin/papers/{model}/?q=alert")
    pages = (Entry.objects.count() - 1) // 100 + 1
    for page in range(1, pages + 1):
        walk.page(f"/admin/papers/entry/?p={page}")
    walk.page(f"/admin/papers/entry/?tags__id__exact={hostile.tags[0].pk}&q=script")
    for issue in [hostile.draft, *hostile.issues[::12]]:
        walk.page(reverse("admin:papers_issue_change", args=[issue.pk]), shows=[issue.title])
    for entry in hostile.entries[::23]:
        walk.page(reverse("admin:papers_entry_change", args=[entry.pk]))
    for section in hostile.sections[::7]:
        walk.page(reverse("admin:papers_section_change", args=[section.pk]))
    for tag in hostile.tags[::7]:
        walk.page(reverse("admin:papers_tag_change", args=[tag.pk]))
    walk.page(
        reverse("admin:papers_issue_delete", args=[hostile.issues[0].pk]),
        shows=[hostile.issues[0].title],
    )
    walk.page(
        reverse("admin:papers_section_delete", args=[hostile.sections[0].pk]),
        shows=[hostile.sections[0].name],
    )
    walk.page(reverse("admin:papers_tag_delete", args=[hostile.tags[0].pk]))
    walk.assert_clean(at_least=20)


def test_admin_history_and_compare_views_are_harmless(hostile, db, staff_client):
    """django-reversion-compare prints diffs of the hostile text against the
    harmless first version: its own escaping, not Django's templates."""
    walk = Walk(staff_client)
    for n, issue in enumerate(hostile.issues):
        newer, older = Version.objects.get_for_object(issue)[:2]
        # A diff interleaves what was deleted: some vector is whole, not all.
        walk.page(
            reverse("admin:papers_issue_compare", args=[issue.pk])
            + f"?version_id1={older.pk}&version_id2={newer.pk}",
            shows_any=[e.title for e in issue.entries.all()],
        )
        if n % 6 == 0:
            walk.page(reverse("admin:papers_issue_history", args=[issue.pk]))
    older = Version.objects.get_for_object(hostile.issues[0]).last()
    walk.page(reverse("admin:papers_issue_revision", args=[hostile.issues[0].pk, older.pk]))
    for entry in Entry.objects.filter(pk__in=[e.pk for e in hostile.entries[::29]]):
        with reversion.create_revision():
            entry.title, entry.summary = "harmless", "harmless"
            entry.save()
        entry.refresh_from_db()
        walk.page(reverse("admin:papers_entry_history", args=[entry.pk]))
        newer, older = Version.objects.get_for_object(entry)[:2]
        walk.page(
            reverse("admin:papers_entry_compare", args=[entry.pk])
            + f"?version_id1={older.pk}&version_id2={newer.pk}"
        )
    walk.assert_clean(at_least=len(hostile.issues))


# ------------------------------------------------- the real admin form path

FORM_ISSUE = {
    "title": VECTORS[0] + " " + VECTORS[17],
    "intro": "\n\n".join(VECTORS[:40]),
    # URLField accepts quotes and angle brackets in the path: valid, still hostile.
    "source_url": 'https://example.com/"><script>alert(1)</script>',
}
FORM_ENTRIES = [
    {
        "title": "<img src=x onerror=alert(1)>",
        "authors": '"><svg onload=alert(2)>',
        "arxiv_id": "2407.00001",
        "url": "",
        "summary": "\n\n".join(VECTORS[100:]),
        "tags": "＜script＞alert(3)＜/script＞，<img src=x onerror=alert(4)>、normal",
    },
    {
        "title": "</script><script>alert(5)</script>",
        "authors": "</title><b>x",
        "arxiv_id": "",
        "url": "https://example.org/?a=<svg/onload=alert(6)>",
        "summary": '[x](javascript:alert(7)) ![y](x" onerror="alert(8))',
        "tags": '" onmouseover="alert(9)；]]><script>alert(10)</script>',
    },
]


def test_hostile_text_through_the_real_admin_form(hostile, db, staff_client, client):
    """The admin form accepts what it should (text is text) and refuses a
    javascript: URL; what it saved is harmless wherever it appears."""
    add = "/admin/papers/issue/add/"
    data = form_data(staff_client.get(add), "issue_form")
    section = hostile.sections[0]
    data.update(
        FORM_ISSUE,
        slug="hostile-form",
        period_start="2031-01-01",
        period_end="2031-01-14",
        status="published",
        published_at_0="2024-01-01",
        published_at_1="00:00:00",
    )
    for index, entry in enumerate(FORM_ENTRIES):
        data.update({f"entries-{index}-{name}": value for name, value in entry.items()})
        data.update(
            {
                f"entries-{index}-section": str(section.pk),
                f"entries-{index}-position": str(index + 1),
            }
        )
    data["entries-TOTAL_FORMS"] = str(len(FORM_ENTRIES))

    refused = staff_client.post(add, {**data, "entries-1-url": "javascript:alert(11)"})
    assert refused.status_code == 200, "a javascript: URL was accepted"
    assert not Issue.objects.filter(slug="hostile-form").exists()
    assert not script_hazards(refused.content.decode())

    response = staff_client.post(add, data)
    assert response.status_code == 302, BeautifulSoup(response.content, "html.parser").select(
        ".errorlist"
    )
    issue = Issue.objects.get(slug="hostile-form")
    assert issue.title == FORM_ISSUE["title"]
    names = set(
        Tag.objects.filter(tagged_entries__content_object__issue=issue).values_list(
            "name", flat=True
        )
    )
    assert "<script>alert(3)</script>" in names  # full-width brackets, normalised

    walk = Walk(client)
    for language in LANGUAGES:
        walk.page(
            f"{language}{address(issue)}", shows=[issue.title, *(e["title"] for e in FORM_ENTRIES)]
        )
        walk.page(f"{language}/papers/2407.00001/", shows=[FORM_ENTRIES[0]["title"]])
        for tag in Tag.objects.filter(name__in=names):
            walk.page(f"{language}{address(tag)}", shows=[tag.name])
    problems, _ = read_feeds(
        client, ["/feeds/issues.rss", "/entries/feed.atom", f"/entries/feed.rss?issue={issue.slug}"]
    )
    walk.problems += problems
    staff = Walk(staff_client)
    staff.page("/admin/", shows=[issue.title])  # recent actions
    staff.page(reverse("admin:papers_issue_change", args=[issue.pk]))
    staff.page(reverse("admin:papers_issue_history", args=[issue.pk]))
    staff.page(reverse("admin:papers_issue_preview", args=[issue.pk]), shows=[issue.title])
    walk.problems += staff.problems
    walk.assert_clean(at_least=6)
