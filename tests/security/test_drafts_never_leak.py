"""Drafts never leak: no public surface shows a draft or a scheduled issue before its time.

A draft issue and a scheduled one (its time still to come) sit next to a
published issue. Each hidden issue carries greppable markers in every field a
reader could see: its title, slug and introduction, its entries' titles,
summaries (Chinese and English words, so that search would find them) and
authors, tags that only it uses, a section that only it uses and an arXiv id
that only it covers; it also shares tags, a section and arXiv ids with the
published issue, so that counts, related entries and paper pages would betray
it too, and its entries fall in a year no public entry covers.

Every public surface is then read in both languages: pages, filters, facet
counts, the tag index and its counts, search, feeds, the sitemap (walked
link by link), the API, paper pages and their related entries, trends,
BibTeX, JSON-LD and the language switch. None may show a hidden marker, and
the counts must be those of the public entries alone. Then the draft is
published (``Issue.publish()``) and the scheduled issue's time passes (the
clock moves, nothing is written): every marker must show up where it belongs,
which proves the probes look where a leak would be. The same pages are read in
each phase, with the page cache on, so that a page cached while an issue was
hidden must not outlive its publication.

The probes are listed by URL name, and the test fails when a public URL name
is registered that no probe reads and reveals through: every page of the
registry of public pages (reading/pages.py) is read, and a new public surface
needs probes here that show it would betray a hidden issue.
"""

import datetime
import html
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone, translation

from newsletter import tokens
from newsletter.models import Subscriber
from papers.models import Entry, Issue, Section
from reading import pages, social_cards

pytestmark = pytest.mark.django_db

LANGUAGES = ("", "/en")  # Chinese at /, English under /en/

SHARED_TAG_ZH = "共享标签"
SHARED_TAG_EN = "Shared Tag"
SHARED_SECTION = "pub-section"
SHARED_ARXIV = ("2406.80001", "2406.80002")  # covered by the public issue's two entries


# ------------------------------------------------------------------ the archive


@dataclass
class HiddenIssue:
    """A draft or scheduled issue and the markers that betray it.

    ``markers`` maps a label (what the text is) to the strings that must never
    show while the issue is hidden; a probe names the labels that must show
    once the issue is public.
    """

    key: str
    issue: Issue
    markers: dict[str, tuple[str, ...]]
    section_slug: str
    only_tag_slugs: tuple[str, ...]  # tags no public entry carries
    only_arxiv: str  # a paper no public entry covers
    search_words: tuple[str, ...]  # each found in entry 1 only
    entry_ids: tuple[int, ...]
    entry_tags: dict[str, tuple[str, ...]]  # "entry1" -> its tag slugs
    year: int = 0  # the year its period starts in (reading.filters.ISSUE_YEAR_FROM)

    @property
    def slug(self):
        return self.issue.slug

    def entries_tagged(self, slug):
        return {label for label, slugs in self.entry_tags.items() if slug in slugs}


@dataclass
class Archive:
    public_issue: Issue
    hidden: dict[str, HiddenIssue] = field(default_factory=dict)
    # (issue key, section slug, tag slugs) of every entry made: expected
    # counts are worked out from this, never from the app's own queries.
    made: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    tag_slugs: dict[str, str] = field(default_factory=dict)  # name -> slug

    def count(self, visible, *, tag=None, section=None):
        return sum(
            1
            for issue_key, section_slug, tags in self.made
            if issue_key in visible
            and (tag is None or tag in tags)
            and (section is None or section == section_slug)
        )


def local(*args):
    return timezone.make_aware(datetime.datetime(*args))


def make_entry(archive, issue_key, issue, section, position, tags, **fields):
    entry = Entry.objects.create(issue=issue, section=section, position=position, **fields)
    entry.tags.add(*tags)
    slugs = tuple(tag.slug for tag in entry.tags.all())
    archive.tag_slugs.update({tag.name: tag.slug for tag in entry.tags.all()})
    archive.made.append((issue_key, section.slug, slugs))
    return entry, slugs


# How the hidden issues overlap the public one. Entry 1 of each carries tags
# only it uses and shared ones, in a section only its issue uses, on a paper
# no public entry covers; entry 2 sits in the public section and re-covers a
# paper of the public issue, so paper pages, BibTeX and related entries would
# show it.
SHAPES = {
    "draft": {
        "code": "Xq",
        "zh": ("琥珀特刊", "鹦鹉螺导言", "琥珀栏目", "珊瑚海马", "琥珀标签"),
        "first_shared_tags": (SHARED_TAG_ZH, SHARED_TAG_EN),
        "second_tags": (SHARED_TAG_ZH, SHARED_TAG_EN, "Xq Onlytag"),
        "second_arxiv": SHARED_ARXIV[0],
        "position": 2,
    },
    "scheduled": {
        "code": "Yq",
        "zh": ("翡翠特刊", "麒麟导言", "翡翠栏目", "玳瑁海龟", "翡翠标签"),
        "first_shared_tags": (SHARED_TAG_ZH,),
        "second_tags": (SHARED_TAG_EN,),
        "second_arxiv": SHARED_ARXIV[1],
        "position": 3,
    },
}


def make_hidden(archive, key, status, published_at, period_start, shared_section):
    """A hidden issue whose every readable text carries a marker: ASCII ones
    from the shape's ``code`` (Xq...), Chinese ones from its ``zh`` words."""
    shape = SHAPES[key]
    code, position = shape["code"], shape["position"]
    zh_issue, zh_intro, zh_section, zh_word, zh_tag = shape["zh"]
    issue = Issue.objects.create(
        title=f"{zh_issue} {code}IssueTitle",
        slug=f"{code.lower()}-hidden-issue",
        period_start=period_start,
        period_end=period_start + datetime.timedelta(days=13),
        intro=f"{zh_intro}：{code}IntroText，本期导言。",
        status=status,
        published_at=published_at,
    )
    section = Section.objects.create(
        name=f"{zh_section} {code}SectionName",
        slug=f"{code.lower()}-section",
        position=position,
    )
    only_tags = (zh_tag, f"{code} Onlytag")  # the second's slug differs from its name
    only_arxiv = f"2406.9000{position}"
    first, first_tags = make_entry(
        archive,
        key,
        issue,
        section,
        1,
        (*only_tags, *shape["first_shared_tags"]),
        title=f"{code}EntryOne: a hidden paper",
        arxiv_id=only_arxiv,
        authors=f"{code}author Hidden, Li Si",
        summary=f"本文关于{zh_word}的研究，{code.lower()}summaryword 出现在这里。",
    )
    second, second_tags = make_entry(
        archive,
        key,
        issue,
        shared_section,
        1,
        shape["second_tags"],
        title=f"{code}EntryTwo: a paper the public issue covered too",
        arxiv_id=shape["second_arxiv"],
        authors=f"{code}secondauthor",
        summary=f"复现 {code}SecondSummary 的结果。",
    )
    tag_slugs = tuple(archive.tag_slugs[name] for name in only_tags)
    markers = {
        "issue": (zh_issue, f"{code}IssueTitle"),
        "slug": (issue.slug,),
        "intro": (zh_intro, f"{code}IntroText"),
        "section": (zh_section, f"{code}SectionName"),
        "section_slug": (section.slug,),
        "entry1": (f"{code}EntryOne",),
        "entry2": (f"{code}EntryTwo",),
        "summary1": (zh_word, f"{code.lower()}summaryword"),
        "summary2": (f"{code}SecondSummary",),
        "authors1": (f"{code}author Hidden",),
        "authors2": (f"{code}secondauthor",),
        "tag": only_tags,
        "tag_slug": tag_slugs,
        "paper": (only_arxiv,),
    }
    return HiddenIssue(
        key=key,
        issue=issue,
        markers=markers,
        section_slug=section.slug,
        only_tag_slugs=tag_slugs,
        only_arxiv=only_arxiv,
        search_words=(
            zh_word,
            f"{code.lower()}summaryword",
            f"{code}author",
            only_arxiv,
            f"{code}SectionName",
            zh_tag,
        ),
        entry_ids=(first.pk, second.pk),
        entry_tags={"entry1": first_tags, "entry2": second_tags},
    )


DRAFT_PUBLISHED_AT = (2019, 6, 15, 12)  # a year no other issue has


@pytest.fixture
def archive(settings):
    """One published issue (2021), one draft, one scheduled an hour from now."""
    settings.PAGE_CACHE = True  # pages read while hidden are cached: they must not outlive it
    public = Issue.objects.create(
        title="公开特刊 PublicIssue",
        slug="pub-issue",
        period_start=datetime.date(2021, 6, 1),
        period_end=datetime.date(2021, 6, 14),
        intro="公开的导言。",
        status=Issue.Status.PUBLISHED,
        published_at=local(2021, 6, 20, 12),
    )
    shared = Section.objects.create(name="公开栏目", slug=SHARED_SECTION, position=1)
    archive = Archive(public_issue=public)
    for position, arxiv_id in enumerate(SHARED_ARXIV, 1):
        make_entry(
            archive,
            "public",
            public,
            shared,
            position,
            (SHARED_TAG_ZH, SHARED_TAG_EN),
            title=f"Public paper {position}",
            arxiv_id=arxiv_id,
            authors="Alice Public",
            summary=f"公开论文{position}的摘要。",
        )
    now = timezone.now()
    draft = make_hidden(
        archive, "draft", Issue.Status.DRAFT, None, datetime.date(2019, 6, 1), shared
    )
    draft.year = draft.issue.period_start.year
    scheduled = make_hidden(
        archive,
        "scheduled",
        Issue.Status.SCHEDULED,
        now + datetime.timedelta(hours=1),
        timezone.localdate(now) - datetime.timedelta(days=13),
        shared,
    )
    scheduled.year = scheduled.issue.period_start.year
    assert scheduled.year not in (2021, draft.year)
    archive.hidden = {"draft": draft, "scheduled": scheduled}
    return archive


# ------------------------------------------------------------------ the probes


@dataclass
class Probe:
    """One address to read, and what it must answer.

    ``owner``: the hidden issue whose publication makes the address exist (it
    answers ``hidden_status`` before, ``public_status`` after); None for an
    address that exists all along. ``reveals``: per hidden issue, the marker
    labels the answer must show once that issue is public. ``follow``: read
    where a redirect leads (with a fresh client: the language switch sets a
    cookie).
    """

    path: str
    owner: str | None = None
    hidden_status: int = 200
    public_status: int = 200
    reveals: dict[str, frozenset] = field(default_factory=dict)
    follow: bool = False


ISSUE_PAGE = frozenset(
    {
        "issue",
        "slug",
        "intro",
        "section",
        "section_slug",
        "entry1",
        "entry2",
        "summary1",
        "summary2",
        "authors1",
        "authors2",
        "tag",
        "tag_slug",
        "paper",
    }
)
ENTRY_LIST = frozenset(
    {
        "slug",
        "section",
        "entry1",
        "entry2",
        "summary1",
        "summary2",
        "authors1",
        "authors2",
        "tag",
        "paper",
    }
)
ENTRY_FEED = frozenset({"entry1", "entry2", "summary1", "summary2", "tag", "paper"})
# Addresses that print no content at all: still read, for status and markers.
CONTENT_FREE = {
    "django.views.generic.base.TemplateView",  # robots.txt
    "health",
    "reading.views.site_icon",  # /favicon.ico: a redirect to a static file
    "api:openapi-json",
    "api:root",
    "api:unknown",
    "newsletter:confirm",  # a button
    "newsletter:unsubscribe",  # a button
    # PNGs: their text is pixels, so the probes read their status (404 while
    # hidden); tests/reading/test_social_cards.py checks what they draw.
    "reading:issue_card",
    "reading:paper_card",
}


def build_probes(archive):
    """Every public surface, from the URLconf: each URL name with the
    arguments that would show the hidden issues (their own objects, and the
    shared ones whose lists and counts they would swell)."""
    probes = []
    hidden = archive.hidden

    def add(path, reveals=None, *, languages=LANGUAGES, **kwargs):
        reveals = {key: frozenset(labels) for key, labels in (reveals or {}).items()}
        probes.extend(Probe(prefix + path, reveals=reveals, **kwargs) for prefix in languages)

    def each(labels):
        return {key: labels for key in hidden}

    def tagged(slug, *extra):
        return {key: {*h.entries_tagged(slug), *extra} for key, h in hidden.items()}

    shared_tags = [archive.tag_slugs[SHARED_TAG_ZH], archive.tag_slugs[SHARED_TAG_EN]]

    # papers:home — the newest public issue in full, older ones by title.
    add("/", {"draft": {"issue", "slug"}, "scheduled": ISSUE_PAGE})
    # papers:issue_list, papers:issue_detail, papers:issue_bibtex
    add("/issues/", each({"issue", "slug"}))
    # papers:entry_list, unfiltered and with every filter
    add("/entries/", each(ENTRY_LIST))
    add("/entries/feed.atom", each(ENTRY_FEED))
    add("/entries/feed.rss", each(ENTRY_FEED))
    for tag in shared_tags:
        add(f"/entries/?tag={tag}", tagged(tag))
        add(f"/tags/{tag}/", tagged(tag, "slug"))
        add(f"/tags/{tag}/feed.atom", tagged(tag))
        add(f"/tags/{tag}/feed.rss", tagged(tag))
    add(
        f"/entries/?tag={shared_tags[0]}&tag={shared_tags[1]}&section={SHARED_SECTION}",
        {
            key: h.entries_tagged(shared_tags[0]) & h.entries_tagged(shared_tags[1]) & {"entry2"}
            for key, h in hidden.items()
        },
    )
    add(f"/entries/?section={SHARED_SECTION}", each({"entry2"}))
    add(f"/sections/{SHARED_SECTION}/", each({"entry2", "summary2"}))
    add(f"/sections/{SHARED_SECTION}/feed.atom", each({"entry2", "summary2"}))
    add(f"/sections/{SHARED_SECTION}/feed.rss", each({"entry2", "summary2"}))
    # papers:tag_list, papers:section_list, papers:trends
    add("/tags/", each({"tag", "tag_slug"}))
    add("/sections/", each({"section", "section_slug"}))
    add("/trends/", each({"tag", "tag_slug", "slug"}))
    # newsletter:subscribe: the sections to tick and the tags suggested; the
    # same choice on one reader's preferences page (newsletter:manage). The
    # reader's other links show no content of the archive.
    add("/subscribe/", each({"section", "section_slug", "tag"}))
    reader, _ = Subscriber.objects.get_or_create(email="probe@example.org")
    add(
        f"/subscribe/manage/{tokens.manage_token(reader)}/",
        each({"section", "section_slug", "tag"}),
    )
    add(f"/subscribe/confirm/{tokens.confirmation_token(reader)}/")
    add(f"/subscribe/unsubscribe/{tokens.manage_token(reader)}/")
    # papers:issues_feed_atom / _rss
    for feed in ("/feeds/issues.atom", "/feeds/issues.rss"):
        add(feed, each({"issue", "slug", "intro", "entry1", "entry2"}))
    # The public issue's papers, which the hidden issues cover again or relate to.
    add(
        f"/papers/{SHARED_ARXIV[0]}/",
        {
            "draft": {"issue", "summary2", "entry1"},  # its coverage, and a related entry
            "scheduled": {"entry1"},  # a related entry
        },
    )
    add(
        f"/papers/{SHARED_ARXIV[1]}/",
        {
            "draft": {"entry1"},
            "scheduled": {"issue", "entry2", "summary2", "authors2", "entry1"},  # now the newest
        },
    )
    add(f"/papers/{SHARED_ARXIV[0]}/cite.bib")  # the public entry stays the newest
    add(f"/papers/{SHARED_ARXIV[1]}/cite.bib", {"scheduled": {"entry2", "authors2"}})

    # Social cards: their addresses carry a hash of what they draw, in each language.
    def cards(issue, entry, **kwargs):
        for language in pages.LANGUAGES:
            with translation.override(language):
                paths = (social_cards.issue_card_path(issue), social_cards.paper_card_path(entry))
            add(paths[0], languages=("",), **kwargs)
            add(paths[1], languages=("",), **kwargs)

    # The public issue's, and the card of a paper it covers that the draft covers again.
    cards(archive.public_issue, archive.public_issue.entries.get(arxiv_id=SHARED_ARXIV[0]))

    for key, h in hidden.items():

        def mine(labels, key=key):
            return {key: labels}

        cards(h.issue, h.issue.entries.get(arxiv_id=h.only_arxiv), owner=key, hidden_status=404)

        # Their own pages: 404 while hidden, like any unknown address.
        own = {"owner": key, "hidden_status": 404}
        add(f"/issues/{h.slug}/", mine(ISSUE_PAGE), **own)
        add(
            f"/issues/{h.slug}/papers.bib",
            mine({"entry1", "entry2", "authors1", "authors2", "paper"}),
            **own,
        )
        for tag in h.only_tag_slugs:
            add(f"/tags/{tag}/", mine({*h.entries_tagged(tag), "tag", "issue", "slug"}), **own)
            add(f"/tags/{tag}/feed.atom", mine({*h.entries_tagged(tag), "tag"}), **own)
            add(f"/tags/{tag}/feed.rss", mine({*h.entries_tagged(tag), "tag"}), **own)
        add(f"/sections/{h.section_slug}/", mine({"entry1", "section", "summary1"}), **own)
        add(f"/sections/{h.section_slug}/feed.atom", mine({"entry1", "section"}), **own)
        add(f"/sections/{h.section_slug}/feed.rss", mine({"entry1", "section"}), **own)
        add(
            f"/papers/{h.only_arxiv}/",
            mine({"entry1", "summary1", "authors1", "issue", "paper"}),
            **own,
        )
        add(f"/papers/{h.only_arxiv}/cite.bib", mine({"entry1", "authors1", "paper"}), **own)
        # The entries page and its feed, filtered and searched for them.
        for n, word in enumerate(h.search_words):  # one in English is enough
            add(
                f"/entries/?q={word}",
                mine({"entry1", "summary1"}),
                languages=LANGUAGES if n == 0 else ("",),
            )
        add(f"/entries/feed.atom?q={h.search_words[0]}", mine({"entry1", "summary1"}))
        for tag in h.only_tag_slugs:
            add(f"/entries/?tag={tag}", mine({*h.entries_tagged(tag), "tag"}))
            add(f"/entries/feed.rss?tag={tag}", mine({*h.entries_tagged(tag), "tag"}))
        add(f"/entries/?section={h.section_slug}", mine({"entry1", "section"}))
        add(f"/entries/feed.atom?section={h.section_slug}", mine({"entry1", "section"}))
        add(f"/entries/?issue={h.slug}", mine({"entry1", "entry2", "issue"}))
        add(f"/entries/feed.rss?issue={h.slug}", mine({"entry1", "entry2", "issue"}))
        add(f"/entries/?year={h.year}", mine({"entry1", "entry2"}))
        # The language switch leads to their page in the other language.
        add(
            f"/language/en/?next=/issues/{h.slug}/",
            mine({"issue", "intro"}),
            languages=("",),
            follow=True,
            **own,
        )
        add(
            f"/language/zh-hans/?next=/en/issues/{h.slug}/",
            mine({"issue", "intro"}),
            languages=("",),
            follow=True,
            **own,
        )

        # The API: their objects are 404s, their filter values as unknown as
        # any other (400), until they are public.
        api = {"languages": ("",)}
        add(
            f"/api/issues/{h.slug}",
            mine(ISSUE_PAGE - {"tag_slug", "section_slug"}),
            owner=key,
            hidden_status=404,
            **api,
        )
        for label, entry_id in zip(("entry1", "entry2"), h.entry_ids, strict=True):
            add(f"/api/entries/{entry_id}", mine({label}), owner=key, hidden_status=404, **api)
            add(f"/api/entries/{entry_id}/related", owner=key, hidden_status=404, **api)
        unknown = {"owner": key, "hidden_status": 400, **api}
        for tag in h.only_tag_slugs:
            add(f"/api/entries?tag={tag}", mine(h.entries_tagged(tag)), **unknown)
        add(f"/api/entries?section={h.section_slug}", mine({"entry1", "section"}), **unknown)
        add(f"/api/entries?issue={h.slug}", mine({"entry1", "entry2", "issue"}), **unknown)
        add(f"/api/entries?year={h.year}", mine({"entry1", "entry2"}), **api)
        for word in h.search_words:
            add(f"/api/entries?q={word}", mine({"entry1", "summary1"}), **api)

    api = {"languages": ("",)}
    add("/api/issues", each({"issue", "slug", "intro"}), **api)
    add("/api/issues?page_size=100", each({"issue", "slug", "intro"}), **api)
    add("/api/entries", each(ENTRY_LIST - {"slug"}), **api)
    add(f"/api/entries?tag={shared_tags[0]}", tagged(shared_tags[0]), **api)
    add(f"/api/entries?section={SHARED_SECTION}", each({"entry2"}), **api)
    # The related entries of the public paper the hidden issues cover again: as on its page.
    shared_paper = archive.public_issue.entries.get(arxiv_id=SHARED_ARXIV[0])
    add(f"/api/entries/{shared_paper.pk}/related", each({"entry1"}), **api)
    add("/api/tags", each({"tag", "tag_slug"}), **api)
    add("/api/tags?page_size=100", each({"tag", "tag_slug"}), **api)
    add("/api/openapi.json", **api)
    add("/api/", hidden_status=404, public_status=404, **api)
    add("/api/issues/pub-issue/entries", hidden_status=404, public_status=404, **api)
    # For crawlers: the sitemap is walked link by link in check_sitemap too.
    add("/sitemap.xml", each({"slug", "section_slug", "tag_slug", "paper"}), languages=("",))
    add("/robots.txt", languages=("",))
    add("/healthz", languages=("",))
    add("/favicon.ico", languages=("",), hidden_status=302, public_status=302)
    add("/apple-touch-icon.png", languages=("",), hidden_status=302, public_status=302)

    # Every public page with its feeds and files, with the registry's example
    # arguments (reading/pages.py): the public issue's, which can never show
    # the hidden ones (controls). A page added there is read from then on, and
    # the test below wants a probe that shows it reveals something.
    probed = {probe.path for probe in probes}
    for language in pages.LANGUAGES:
        urls = pages.example_urls(language, feeds=True, downloads=True).values()
        probes.extend(Probe(path) for path in map(unquote, urls) if path not in probed)
    return probes


# ------------------------------------------------------------------ reading answers


def readable(response):
    """The answer as a reader or a program could read it: raw, with URLs
    decoded (a Chinese tag slug in a sitemap), with entities decoded and tags
    stripped (a marker split by <mark>, HTML escaped inside a feed), and JSON
    (the API, JSON-LD) without \\u escapes."""
    if response.get("Content-Type", "").startswith("image/"):
        return []  # a social card: its text is pixels (see CONTENT_FREE)
    raw = response.content.decode()
    unescaped = html.unescape(raw)
    texts = [raw, unquote(raw), unescaped, html.unescape(re.sub(r"<[^>]*>", "", unescaped))]
    if response.get("Content-Type", "").startswith("application/json"):
        texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    for script in re.findall(r'<script type="application/ld\+json">(.*?)</script>', raw, re.S):
        texts.append(json.dumps(json.loads(script), ensure_ascii=False))
    return texts


def fetch(client, probe):
    if not probe.follow:
        return client.get(probe.path)
    response = Client().get(probe.path, follow=True)
    assert response.redirect_chain, f"{probe.path} should redirect"
    return response


def check_probe(response, probe, archive, visible):
    """The answer's status, no marker of a hidden issue, every marker it must
    reveal of a public one. A marker the address itself carries (a search
    word, a slug) proves nothing either way and is left out."""
    problems = []
    public = probe.owner is None or probe.owner in visible
    expected = probe.public_status if public else probe.hidden_status
    if response.status_code != expected:
        problems.append(f"status {response.status_code}, expected {expected}")
    texts = readable(response)
    echoed = unquote(probe.path)
    for key, h in archive.hidden.items():
        if key in visible:
            shown = [
                m
                for label in probe.reveals.get(key, ())
                for m in h.markers[label]
                if m not in echoed
            ]
            assert shown or not probe.reveals.get(key), f"test bug: {probe.path} only echoes"
            for label in probe.reveals.get(key, ()):
                for marker in (m for m in h.markers[label] if m not in echoed):
                    if not any(marker in text for text in texts):
                        problems.append(f"{key} {label} {marker!r} missing once public")
        else:
            for label, markers in h.markers.items():
                for marker in markers:
                    if marker not in echoed and any(marker in text for text in texts):
                        problems.append(f"{key} {label} {marker!r} LEAKED")
    return [f"{probe.path}: {problem}" for problem in problems]


def visit(client, probes, archive, visible):
    problems = []
    for probe in probes:
        problems += check_probe(fetch(client, probe), probe, archive, visible)
    return problems


def check_sitemap(client, archive, visible):
    """Every address the sitemap lists (each language's, and their hreflang
    alternates) answers 200 and shows nothing of a hidden issue."""
    problems = []
    xml = client.get("/sitemap.xml").content.decode()
    urls = set(re.findall(r"<loc>(.*?)</loc>", xml)) | set(re.findall(r'href="(.*?)"', xml))
    paths = {urlsplit(html.unescape(url)).path for url in urls}
    assert {"/", "/en/", "/issues/pub-issue/", f"/papers/{SHARED_ARXIV[0]}/"} <= paths
    for path in sorted(paths):
        probe = Probe(unquote(path))
        problems += check_probe(client.get(path), probe, archive, visible)
    # A section's, tag's or paper's last change is its newest public entry's
    # publication: a hidden issue's time (a scheduled one's is ahead) must not
    # show through, though no marker would.
    issues = {"public": archive.public_issue} | {k: h.issue for k, h in archive.hidden.items()}
    newest = max(timezone.localdate(issues[key].published_at) for key in visible)
    for loc, lastmod in re.findall(r"<loc>(.*?)</loc>\s*<lastmod>(.*?)</lastmod>", xml):
        entries_of = re.match(r"/(en/)?(sections|tags|papers)/", urlsplit(loc).path)
        if entries_of and datetime.date.fromisoformat(lastmod) > newest:
            problems.append(f"sitemap: {loc} last modified {lastmod}, after {newest}")
    for key, h in archive.hidden.items():
        listed = f"/issues/{h.slug}/" in paths
        if listed != (key in visible):
            problems.append(f"sitemap lists {h.slug}: {listed}, public: {key in visible}")
    return problems


# ------------------------------------------------------------------ counts


def first_number(text):
    return int(re.search(r"\d+", text).group())


def query_value(href, name):
    return parse_qs(urlsplit(html.unescape(href)).query).get(name, [None])[0]


def soup(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return BeautifulSoup(response.content, "html.parser")


def expected_counts(archive, visible):
    tags = {slug: archive.count(visible, tag=slug) for slug in archive.tag_slugs.values()}
    sections = {
        slug: archive.count(visible, section=slug)
        for slug in {section for _, section, _ in archive.made}
    }
    years = {2021: archive.count(visible & {"public"})}
    years.update({h.year: archive.count(visible & {key}) for key, h in archive.hidden.items()})
    return tuple({k: n for k, n in counts.items() if n} for counts in (tags, sections, years))


def check_counts(client, archive, visible):
    """Counts are numbers, not markers: parse them, and compare with the
    public entries alone (a shared tag's count must not include a draft's)."""
    tags, sections, years = expected_counts(archive, visible)
    slug_of = {name: slug for name, slug in archive.tag_slugs.items()}
    problems = []

    def compare(where, found, expected):
        if found != expected:
            problems.append(f"{where}: counts {found}, expected {expected}")

    for prefix in LANGUAGES:
        page = soup(client, f"{prefix}/tags/")
        compare(
            f"{prefix}/tags/",
            {
                unquote(a["href"]).rstrip("/").rsplit("/", 1)[1]: first_number(
                    a.select_one(".count").get_text()
                )
                for a in page.select("ul.tag-index a")
            },
            tags,
        )

        page = soup(client, f"{prefix}/sections/")
        compare(
            f"{prefix}/sections/",
            {
                a["href"].rstrip("/").rsplit("/", 1)[1]: first_number(
                    a.find_parent("h2").select_one(".count").get_text()
                )
                for a in page.select("ul.section-index h2 a")
            },
            sections,
        )

        page = soup(client, f"{prefix}/entries/")
        facets = page.select_one("aside.facets")
        compare(
            f"{prefix}/entries/ tag facets",
            {
                query_value(a["href"], "tag"): first_number(a.select_one(".count").get_text())
                for a in facets.select("ul.tag-cloud a")
            },
            tags,
        )
        found_sections, found_years = {}, {}
        for li in facets.select("ul.facet-list li"):
            a, n = li.find("a"), first_number(li.select_one(".count").get_text())
            if query_value(a["href"], "section"):
                found_sections[query_value(a["href"], "section")] = n
            else:
                found_years[int(query_value(a["href"], "year"))] = n
        compare(f"{prefix}/entries/ section facets", found_sections, sections)
        compare(f"{prefix}/entries/ year facets", found_years, years)
        total = first_number(page.select_one(".result-count").get_text())
        compare(f"{prefix}/entries/ total", total, archive.count(visible))

        page = soup(client, f"{prefix}/trends/")
        table = page.select_one("table.trend-table")
        names = [th.get_text(strip=True) for th in table.select("thead th")[1:]]
        totals = [int(td.get_text()) for td in table.select("tfoot td")]
        compare(
            f"{prefix}/trends/ totals",
            {slug_of[name]: n for name, n in zip(names, totals, strict=True)},
            tags,
        )
        compare(f"{prefix}/trends/ issues", len(table.select("tbody tr")), len(visible))

        for tag in (archive.tag_slugs[SHARED_TAG_ZH], archive.tag_slugs[SHARED_TAG_EN]):
            page = soup(client, f"{prefix}/tags/{tag}/")
            compare(f"{prefix}/tags/{tag}/ entries", len(page.select("article.entry")), tags[tag])
        page = soup(client, f"{prefix}/sections/{SHARED_SECTION}/")
        compare(
            f"{prefix}/sections/{SHARED_SECTION}/ entries",
            len(page.select("article.entry")),
            sections[SHARED_SECTION],
        )
        page = soup(client, f"{prefix}/issues/")
        compare(f"{prefix}/issues/ issues", len(page.select("ol.archive > li")), len(visible))

    api_tags = client.get("/api/tags?page_size=100").json()
    compare("/api/tags", {tag["slug"]: tag["entry_count"] for tag in api_tags["items"]}, tags)
    api_entries = client.get("/api/entries?page_size=100").json()
    compare("/api/entries count", api_entries["count"], archive.count(visible))
    api_issues = client.get("/api/issues?page_size=100").json()
    compare(
        "/api/issues",
        {issue["slug"]: issue["entry_count"] for issue in api_issues["items"]},
        {
            ("pub-issue" if key == "public" else archive.hidden[key].slug): archive.count({key})
            for key in visible
        },
    )
    for key, h in archive.hidden.items():
        for word in h.search_words:
            expected = 1 if key in visible else 0
            found = client.get("/api/entries", {"q": word}).json()["count"]
            compare(f"/api/entries?q={word}", found, expected)
            page = soup(client, f"/entries/?q={word}")
            compare(f"/entries/?q={word}", len(page.select("article.entry")), expected)
    return problems


# ------------------------------------------------------------------ the URLconf


def public_url_names():
    """Every URL name a reader can reach: all of the URLconf but the admin.

    Unnamed patterns go by their view's dotted path (as Django's resolver
    names them); a pattern behind an earlier one with the same route is
    never reached and is left out.
    """
    names, routes = set(), set()

    def walk(patterns, namespace, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace == "admin":
                    continue  # staff only, behind a sign-in
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                walk(pattern.url_patterns, inner, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route in routes:
                    continue
                routes.add(route)
                name = pattern.name or pattern.lookup_str
                names.add(f"{namespace}:{name}" if namespace and pattern.name else name)

    walk(get_resolver().url_patterns, "", "")
    return names


def view_name(path):
    language = "en" if path.startswith("/en/") else "zh-hans"
    with translation.override(language):
        return resolve(urlsplit(path).path).view_name


# ------------------------------------------------------------------ the tests


def test_every_public_url_name_is_probed_in_both_languages(archive):
    """A new public URL that no probe reads fails here: add it to build_probes.
    Each probed name also reveals something in some probe (a surface that could
    never show a marker proves nothing), bar the ones that print no content."""
    probes = build_probes(archive)
    by_name = {}
    for probe in probes:
        by_name.setdefault(view_name(probe.path), []).append(probe)
    assert set(by_name) == public_url_names()
    for name, name_probes in by_name.items():
        if name in CONTENT_FREE:
            continue
        assert any(probe.reveals for probe in name_probes), f"{name} never reveals anything"
        if name.startswith("reading:"):
            assert any(probe.path.startswith("/en/") for probe in name_probes), name


def test_hidden_issues_show_nowhere_until_they_are_public(client, archive, monkeypatch):
    """Read everything while both issues are hidden; publish the draft; let
    the scheduled issue's time pass. In each phase nothing shows of what is
    still hidden, everything shows of what is public, and counts are exact."""
    probes = build_probes(archive)
    draft, scheduled = archive.hidden["draft"], archive.hidden["scheduled"]

    visible = {"public"}
    problems = visit(client, probes, archive, visible)
    problems += check_sitemap(client, archive, visible)
    problems += check_counts(client, archive, visible)
    assert not problems, "\n".join(problems)

    draft.issue.publish(when=local(*DRAFT_PUBLISHED_AT))
    visible = {"public", "draft"}
    problems = visit(client, probes, archive, visible)
    problems += check_sitemap(client, archive, visible)
    problems += check_counts(client, archive, visible)
    assert not problems, "\n".join(problems)

    # Time passes: the scheduled issue goes live by itself, nothing written.
    later = scheduled.issue.published_at + datetime.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    visible = {"public", "draft", "scheduled"}
    with CaptureQueriesContext(connection) as queries:
        problems = visit(client, probes, archive, visible)
        problems += check_sitemap(client, archive, visible)
        problems += check_counts(client, archive, visible)
    assert not problems, "\n".join(problems)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)
    ]
    assert not writes, writes
    scheduled.issue.refresh_from_db()
    assert scheduled.issue.status == Issue.Status.SCHEDULED
