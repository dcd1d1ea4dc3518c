"""Every tag name an editor can type gets a working, unique, stable URL, and
no tag (nor any other row) turns a public page into a 500.

A name with no letter or digit (🔥, ``>``, ``★``) used to get the slug "", and
every page linking the tag failed to reverse its URL. The properties here type
names from all of Unicode, through ``entry.tags.add`` and through the admin's
own entry form, and then read the public pages in both languages.
"""

import contextlib
import re
import unicodedata
from urllib.parse import unquote

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.common.admin_form import form_data
from papers.models import Entry, Issue, Section, Tag
from papers.slugs import tag_slug_base
from reading import pages
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

settings.register_profile(
    "tag-names",
    derandomize=True,  # the same examples on every run: failures reproduce
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Names that used to break pages, or could: no letter or digit, names that
# slugify alike, URL delimiters, width and case variants, right-to-left text,
# control and format characters, and names that NFKC makes longer than 100.
HARD_NAMES = [
    "🔥",
    ">",
    "★",
    "C++",
    "C",
    "C#",
    "c",
    "ＲＡＧ",
    "RAG",
    "rag",
    "a/b",
    "what?",
    "#1",
    "100%",
    "%2F",
    "..",
    ".",
    "-",
    "_",
    "مرحبا بالعالم",
    "שלום",
    "\u202etxet",
    "\x01",
    "\x7f",
    "\u200b",
    "\u200f",
    "👨‍👩‍👧",
    "❤️",
    "长" * 100,
    "ﷺ" * 100,
    "x" * 100,
    "Ⅻ",
    "㍻",
    "fire",
    "tag",
    "tag-1",
]
SEPARATORS = [",", "，", "、", "；", ";", ", ", " "]
# What a name may hold: anything Unicode has but NUL (no database stores it in
# text; the admin's form refuses it) and surrogates (not text).
ANY_CHAR = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
NAMES = st.one_of(st.sampled_from(HARD_NAMES), st.text(ANY_CHAR, min_size=1, max_size=100))
SLUG = re.compile(r"[-\w]+\Z")


def public_pages(issue, tags):
    """The pages that link an entry's tags: every public page with its feeds
    (reading/pages.py; the example issue is the newest, ``issue``) and the
    paper and tag pages of ``issue``, in both languages; the sitemap and the
    API; each tag's feed."""
    paths = [entry.get_paper_url() for entry in issue.entries.all() if entry.arxiv_id]
    paths += [f"/tags/{tag.slug}/" for tag in tags]
    urls = [prefix + path for path in paths for prefix in ("", "/en")]
    urls += [
        url
        for language in pages.LANGUAGES
        for url in pages.example_urls(language, feeds=True).values()
    ]
    urls += ["/sitemap.xml", "/api/tags", "/api/entries"]
    urls += [f"/tags/{tag.slug}/feed.atom" for tag in tags]
    return urls


def assert_public_pages_work(client, issue, tags):
    from django.core.cache import cache

    cache.clear()
    failures = {}
    for page in public_pages(issue, tags):
        response = client.get(page)
        if response.status_code != 200:
            failures[page] = response.status_code
    assert failures == {}


def assert_each_tag_has_its_page(client, tags):
    slugs = [tag.slug for tag in tags]
    assert len(set(slugs)) == len(slugs)
    for tag in tags:
        assert tag.slug and SLUG.match(tag.slug) and len(tag.slug) <= 100, tag.slug
        url = tag.get_absolute_url()
        assert unquote(url) == f"/tags/{tag.slug}/"
        response = client.get(url)
        assert response.status_code == 200, (tag.name, url)
        assert escape(tag.name) in response.content.decode(), tag.name


# ------------------------------------------------------------------ the scheme


@settings(settings.get_profile("tag-names"), max_examples=500)
@given(NAMES)
@example("🔥")
@example("")
def test_every_name_has_a_slug_that_makes_a_url(name):
    slug = tag_slug_base(name)
    assert slug and SLUG.match(slug) and len(slug) <= 100
    assert slug == tag_slug_base(name)  # the same name, the same slug
    url = reverse("reading:tag_detail", kwargs={"slug": slug})
    assert resolve(unquote(url)).kwargs == {"slug": slug}  # as a request arrives


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("幻觉检测", "幻觉检测"),
        ("Long Context", "long-context"),
        ("🔥", "fire"),
        (">", "greater-than-sign"),
        ("★", "black-star"),
        ("C++", "c"),
    ],
)
def test_slugs_stay_readable(name, slug):
    assert tag_slug_base(name) == slug


def test_a_name_with_nothing_readable_gets_a_stable_short_hash():
    slug = tag_slug_base("\x01")
    assert re.fullmatch(r"tag-[0-9a-f]{8}", slug)
    assert tag_slug_base("\x02") != slug


def test_names_that_slugify_alike_get_distinct_slugs_and_keep_them():
    tags = [Tag.objects.create(name=name) for name in ["C", "C++", "C#", "ＲＡＧ", "RAG"]]
    assert [tag.slug for tag in tags] == ["c", "c-2", "c-3", "rag", "rag-2"]
    plus = tags[1]
    plus.name = "C plus plus"
    plus.save()
    plus.refresh_from_db()
    assert plus.slug == "c-2"  # a renamed tag keeps its URL


def test_a_slug_taken_by_a_concurrent_save_is_retried(monkeypatch):
    """Two editors adding C++ and C# at once: the slower insert fails on the
    slug's unique index and takes the next free slug."""
    from papers import slugs

    Tag.objects.create(name="C")
    real = slugs.free_slug
    answers = iter(["c"])  # what a racing process saw: "c" still free
    monkeypatch.setattr(
        slugs, "free_slug", lambda rows, base: next(answers, None) or real(rows, base)
    )
    assert Tag.objects.create(name="C++").slug == "c-2"


def test_a_duplicate_name_is_still_refused():
    Tag.objects.create(name="RAG")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(name="rag")


def test_the_database_refuses_an_empty_slug():
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.bulk_create([Tag(name="空", slug="")])
    section = SectionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Section.objects.filter(pk=section.pk).update(slug="")


# ------------------------------------------------------ typed by an editor


@pytest.fixture
def published_entry(db):
    issue = IssueFactory(slug="tags-issue")
    return EntryFactory(issue=issue, section=SectionFactory(name="标签栏目", slug="tag-section"))


@settings(settings.get_profile("tag-names"), max_examples=40)
@given(names=st.lists(NAMES, min_size=1, max_size=6))
@example(names=["🔥", ">", "★"])
@example(names=["C++", "C", "C#", "c"])
def test_any_tags_added_in_code_leave_every_public_page_working(client, published_entry, names):
    with transaction.atomic():
        published_entry.tags.add(*names)
        tags = list(published_entry.tags.all())
        assert_each_tag_has_its_page(client, tags)
        assert_public_pages_work(client, published_entry.issue, tags)
        transaction.set_rollback(True)


TYPED = st.lists(NAMES, min_size=1, max_size=5).flatmap(
    lambda names: st.lists(
        st.sampled_from(SEPARATORS), min_size=len(names), max_size=len(names)
    ).map(lambda seps: "".join(name + sep for name, sep in zip(names, seps, strict=True)))
)


@settings(settings.get_profile("tag-names"), max_examples=25)
@given(typed=TYPED)
@example(typed="🔥，>、★")
@example(typed="ＲＡＧ, RAG, rag")
def test_any_tags_typed_in_the_admin_leave_every_public_page_working(
    client, editor_user, published_entry, typed
):
    client.force_login(editor_user)
    url = f"/admin/papers/entry/{published_entry.pk}/change/"
    with transaction.atomic():
        data = form_data(client.get(url), "entry_form")
        data["tags"] = typed
        response = client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        tags = list(Entry.objects.get(pk=published_entry.pk).tags.all())
        assert tags or not typed.strip(",，、；; ")
        assert_each_tag_has_its_page(client, tags)
        assert_public_pages_work(client, published_entry.issue, tags)
        transaction.set_rollback(True)


def test_an_imported_tags_line_of_symbols_makes_working_pages(client, seed):
    from editorial.roundup_markdown import import_roundup

    text = (
        "---\nslug: symbols\nperiod: 2024-07-01 – 2024-07-14\n---\n\n# 符号标签\n\n"
        "## RAG\n\n### 1. A Paper\n\nhttps://arxiv.org/abs/2407.00001\n标签：>, ★，🔥\n\n摘要。\n"
    )
    issue = import_roundup(text)
    issue.publish()
    tags = list(Tag.objects.filter(name__in=[">", "★", "🔥"]))
    assert len(tags) == 3
    assert_each_tag_has_its_page(client, tags)
    assert_public_pages_work(client, issue, tags)


# ------------------------------------------------------------ bad rows degrade


def test_a_control_character_only_name_is_not_a_tag_an_editor_can_type():
    from papers.tag_input import parse_tags

    assert parse_tags("\x01, 幻觉\x07") == ["幻觉"]
    assert unicodedata.category("\x07") == "Cc"


def write_bad_rows(issue):
    """Rows no form would accept, written as a script or a hand edit in SQL
    would: empty and unroutable slugs, past every check but the database's."""
    bad_tag = Tag.objects.create(name="坏标签")
    odd_tag = Tag.objects.create(name="怪标签")
    EntryFactory(
        issue=issue,
        section=Section.objects.get(slug="rag"),
        tags=[bad_tag, odd_tag],
        arxiv_id="2407.99999",
        position=99,
    )
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        table = Tag._meta.db_table
        # The empty slug is refused by a check constraint; one that no URL
        # can carry is the same failure, and gets past every constraint.
        cursor.execute(f"UPDATE {table} SET slug = %s WHERE id = %s", ["bad slug/x", bad_tag.pk])
        cursor.execute(f"UPDATE {table} SET slug = %s WHERE id = %s", ["odd?", odd_tag.pk])
        cursor.execute(
            f"UPDATE {Section._meta.db_table} SET slug = %s WHERE slug = %s", ["坏 栏目", "rag"]
        )


def test_rows_no_url_can_carry_show_degraded_and_never_break_a_page(client, seed):
    write_bad_rows(seed)
    visited, failures = crawl(
        client,
        [
            "/",
            "/en/",
            "/sitemap.xml",
            "/api/tags",
            "/api/entries",
            "/api/issues",
            "/feeds/issues.atom",
            "/trends/",
        ],
    )
    assert failures == {}
    page_names = pages.view_names() - pages.NOT_PAGES
    assert page_names - visited == set()
    # The degraded links lead somewhere that works: the tag and section indexes.
    html = client.get(f"/issues/{seed.slug}/").content.decode()
    assert 'href="/tags/"' in html or 'href="/sections/"' in html


def crawl(client, roots, limit=400):
    """Follow every link of the site's own pages from ``roots``; return the
    URL names reached and the pages that did not answer 200."""
    from django.core.cache import cache
    from django.urls import Resolver404

    cache.clear()
    seen, queue, names, failures = set(roots), list(roots), set(), {}
    href = re.compile(r'(?:href|src)="(/[^"#]*)"|<loc>https?://[^/]+(/[^<]*)</loc>')
    while queue and len(seen) < limit:
        path = queue.pop(0)
        response = client.get(path)
        if response.status_code != 200:
            failures[path] = response.status_code
            continue
        with (
            contextlib.suppress(Resolver404),
            translation.override("en" if path.startswith("/en/") else "zh-hans"),
        ):
            names.add(resolve(unquote(path.split("?")[0])).view_name)
        if not response["Content-Type"].startswith(("text/html", "application/xml")):
            continue
        for match in href.finditer(response.content.decode()):
            link = (match[1] or match[2]).replace("&amp;", "&")
            if link.startswith(("/static/", "/admin/", "/language/")) or link in seen:
                continue
            seen.add(link)
            queue.append(link)
    return names, failures


def test_the_migration_repairs_empty_and_unroutable_slugs(db):
    from importlib import import_module

    from django.apps import apps

    repair = import_module("papers.migrations.0005_nonempty_slugs")
    Tag.objects.bulk_create([Tag(name="🔥", slug="fire"), Tag(name="坏", slug="a b")])
    section = SectionFactory(name="节", slug="ok")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Section._meta.db_table} SET slug = %s WHERE id = %s", ["no/slug", section.pk]
        )
    repair.repair_slugs(apps, None)
    assert Tag.objects.get(name="🔥").slug == "fire"  # a good slug is never changed
    assert Tag.objects.get(name="坏").slug == "坏"
    section.refresh_from_db()
    assert section.slug == f"section-{section.pk}"
    assert Issue.objects.count() == 0
