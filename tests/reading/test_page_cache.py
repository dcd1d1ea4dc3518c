"""The page cache is never stale (reading.page_cache).

Every test first reads the pages (so they are cached), then changes the
archive the way an editor does, through the admin, and reads the pages again:
each must show the change on the very next request.
"""

import datetime
import gzip
from urllib.parse import quote

import brotli
import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.common.admin_form import form_data
from papers.models import Entry, Issue, Section
from reading import page_cache, signals
from tests.factories import EntryFactory, IssueFactory

pytestmark = pytest.mark.django_db

ISSUE = "/issues/2024-06-h2/"
PAPER = "2406.15877"  # BigCodeBench, in the section progress-benchmarks


@pytest.fixture
def entry(seed):
    return seed.entries.get(arxiv_id=PAPER)


def pages_showing(entry):
    """Every public address that shows this entry, in both languages."""
    tag = entry.tags.order_by("name").first()
    paths = [
        "/",
        ISSUE,
        "/entries/",
        f"/entries/?section={entry.section.slug}",
        f"/tags/{quote(tag.slug)}/",
        f"/sections/{entry.section.slug}/",
        f"/papers/{entry.arxiv_id}/",
        "/feeds/issues.atom",
        "/entries/feed.atom",
        f"/tags/{quote(tag.slug)}/feed.atom",
        f"/sections/{entry.section.slug}/feed.rss",
    ]
    return paths + ["/en" + path for path in paths]


def read_all(client, paths):
    pages = {}
    for path in paths:
        response = client.get(path)
        pages[path] = (response.status_code, response.content.decode())
    return pages


def edit_entry(client, entry, **changes):
    url = reverse("admin:papers_entry_change", args=[entry.pk])
    data = form_data(client.get(url), "entry_form")
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


# ---------------------------------------------------------------- the cache works


def test_a_cached_page_costs_no_query_and_is_the_same_page(client, seed):
    first = client.get(ISSUE)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(ISSUE)
    assert len(queries) == 0
    assert second.content == first.content
    assert second["ETag"] == first["ETag"]


def test_each_language_and_query_is_cached_on_its_own(client, seed):
    assert "Issues" not in client.get(ISSUE).content.decode()
    assert "Issues" in client.get("/en" + ISSUE).content.decode()
    assert "往期" in client.get(ISSUE).content.decode()
    one = client.get("/entries/?q=幻觉").content.decode()
    other = client.get("/entries/?q=BigCodeBench").content.decode()
    assert one != other and "BigCodeBench" in other


def test_a_page_the_browser_has_is_answered_304(client, seed):
    response = client.get(ISSUE)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]  # browsers ask again every time
    etag = response["ETag"]
    again = client.get(ISSUE, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    Section.objects.filter(slug="rag").get().save()  # any save: a new generation
    changed_entry = seed.entries.get(arxiv_id=PAPER)
    changed_entry.summary = "改过的摘要，内容不同了。"
    changed_entry.save()
    after = client.get(ISSUE, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200
    assert after["ETag"] != etag
    assert "改过的摘要" in after.content.decode()


def test_the_cache_can_be_switched_off(client, seed, settings):
    settings.PAGE_CACHE = False
    client.get(ISSUE)
    with CaptureQueriesContext(connection) as queries:
        client.get(ISSUE)
    assert len(queries) > 0


def test_errors_are_not_cached(client, seed):
    assert client.get("/issues/not-yet/").status_code == 404
    IssueFactory(slug="not-yet", title="刚刚发布的一期")
    assert client.get("/issues/not-yet/").status_code == 200


# ---------------------------------------------------------------- every kind of edit


def test_an_edited_summary_shows_everywhere_next_time(admin_client, client, entry):
    paths = pages_showing(entry)
    before = read_all(client, paths)
    assert all(status == 200 for status, _ in before.values()), before.keys()
    edit_entry(admin_client, entry, summary="编辑刚刚改写了这段摘要：**全新的说法**。")
    after = read_all(client, paths)
    stale = [
        path
        for path, (_, html) in after.items()
        if "全新的说法" not in html and "feeds/issues" not in path
    ]  # titles only there
    assert stale == []
    found = client.get("/entries/?q=全新的说法").content.decode()
    assert "BigCodeBench" in found


def test_a_new_title_shows_everywhere_next_time(admin_client, client, entry):
    paths = pages_showing(entry)
    read_all(client, paths)
    edit_entry(admin_client, entry, title="BigCodeBench, Retitled")
    stale = [
        path
        for path, (_, html) in read_all(client, paths).items()
        if "BigCodeBench, Retitled" not in html
    ]
    assert stale == []


def test_re_tagging_moves_the_entry_between_tag_pages(admin_client, client, entry):
    old_tag = entry.tags.order_by("name").first()
    old_page = f"/tags/{quote(old_tag.slug)}/"
    read_all(client, [old_page, ISSUE, "/tags/", f"/papers/{PAPER}/"])
    assert "BigCodeBench" in client.get(old_page).content.decode()
    others = ", ".join(t.name for t in entry.tags.exclude(pk=old_tag.pk))
    edit_entry(admin_client, entry, tags=f"{others}，缓存测试标签")
    old = client.get(old_page)
    assert old.status_code == 404 or "BigCodeBench" not in old.content.decode()
    new_page = client.get(f"/tags/{quote('缓存测试标签')}/").content.decode()
    assert "BigCodeBench" in new_page
    assert "缓存测试标签" in client.get(ISSUE).content.decode()
    assert "缓存测试标签" in client.get("/tags/").content.decode()
    assert "缓存测试标签" in client.get(f"/papers/{PAPER}/").content.decode()


def test_re_ordering_shows_the_new_order_next_time(admin_client, client, seed):
    section = Section.objects.get(slug="rag")
    first, second = seed.entries.filter(section=section).order_by("position")[:2]

    def order():
        html = client.get(ISSUE).content.decode()
        return html.index(first.title) < html.index(second.title)

    assert order() is True
    url = reverse("admin:papers_issue_change", args=[seed.pk])
    data = form_data(admin_client.get(url), "issue_form")
    rows = {data[f"entries-{i}-id"]: i for i in range(int(data["entries-INITIAL_FORMS"]))}
    data[f"entries-{rows[str(first.pk)]}-position"] = str(second.position)
    data[f"entries-{rows[str(second.pk)]}-position"] = str(first.position)
    assert admin_client.post(url, data).status_code == 302
    assert order() is False


def test_a_deleted_entry_is_gone_everywhere_next_time(admin_client, client, entry):
    paths = [path for path in pages_showing(entry) if "/papers/" not in path]
    read_all(client, paths)
    url = reverse("admin:papers_entry_delete", args=[entry.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    still = [path for path, (_, html) in read_all(client, paths).items() if "BigCodeBench" in html]
    assert still == []
    assert client.get(f"/papers/{PAPER}/").status_code == 404


def test_a_renamed_section_shows_everywhere_next_time(admin_client, client, entry):
    paths = ["/", ISSUE, "/sections/", f"/sections/{entry.section.slug}/", "/entries/"]
    read_all(client, paths)
    url = reverse("admin:papers_section_change", args=[entry.section.pk])
    data = form_data(admin_client.get(url), "section_form")
    data["name"] = "进展、基准与缓存"
    assert admin_client.post(url, data).status_code == 302
    stale = [
        path
        for path, (_, html) in read_all(client, paths).items()
        if "进展、基准与缓存" not in html
    ]
    assert stale == []


def test_unpublishing_and_publishing_show_next_time(admin_client, client, entry):
    paths = pages_showing(entry)
    read_all(client, paths)
    admin_client.post(reverse("admin:papers_issue_unpublish", args=[entry.issue.pk]))
    after = read_all(client, paths)
    leaks = [
        path for path, (status, html) in after.items() if status == 200 and "BigCodeBench" in html
    ]
    assert leaks == []
    admin_client.post(reverse("admin:papers_issue_publish", args=[entry.issue.pk]))
    back = read_all(client, paths)
    missing = [path for path, (_, html) in back.items() if "BigCodeBench" not in html]
    assert missing == []


def test_a_scheduled_issue_appears_when_its_time_comes_without_any_save(client, seed, monkeypatch):
    due = timezone.now() + datetime.timedelta(hours=1)
    scheduled = IssueFactory(
        slug="2024-07-h1",
        title="定时发布的下一期",
        status=Issue.Status.SCHEDULED,
        published_at=due,
        period_start=datetime.date(2024, 7, 1),
        period_end=datetime.date(2024, 7, 15),
    )
    EntryFactory(
        issue=scheduled,
        section=seed.entries.first().section,
        title="Scheduled Paper",
        arxiv_id="2407.00001",
    )
    paths = ["/", "/issues/", "/entries/", "/feeds/issues.atom", "/en/"]
    before = read_all(client, paths)
    assert not any(
        "Scheduled Paper" in html or "定时发布的下一期" in html for _, html in before.values()
    )
    later = due + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    after = read_all(client, paths)
    missing = [
        path
        for path, (_, html) in after.items()
        if "定时发布的下一期" not in html and "Scheduled Paper" not in html
    ]
    assert missing == []


def test_a_fixture_load_shows_next_time(client, db):
    assert "第一期还在编辑中" in client.get("/").content.decode()
    from django.core.management import call_command

    call_command("load_seed", verbosity=0)
    assert "BigCodeBench" in client.get("/").content.decode()


# ---------------------------------------------------------------- never cached


def test_previews_and_admin_pages_are_never_cached(admin_client, entry):
    preview = reverse("admin:papers_issue_preview", args=[entry.issue.pk])
    change = reverse("admin:papers_entry_change", args=[entry.pk])
    for url in (preview, change):
        response = admin_client.get(url)
        assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]
    # A draft's preview: no public page shows the draft, before or after.
    draft = IssueFactory(status=Issue.Status.DRAFT, slug="draft-x", title="草稿不公开")
    EntryFactory(
        issue=draft, section=entry.section, title="Draft Only Paper", arxiv_id="2407.00002"
    )
    draft_preview = reverse("admin:papers_issue_preview", args=[draft.pk])
    assert "Draft Only Paper" in admin_client.get(draft_preview).content.decode()
    Entry.objects.filter(title="Draft Only Paper").get().save()
    edit_entry(
        admin_client,
        Entry.objects.get(title="Draft Only Paper"),
        summary="预览里马上能看到的新摘要。",
    )
    assert "马上能看到" in admin_client.get(draft_preview).content.decode()
    for path in ["/", "/entries/", "/issues/", "/issues/draft-x/", "/papers/2407.00002/"]:
        response = admin_client.get(path)
        assert "Draft Only Paper" not in response.content.decode(), path


def test_the_generation_is_renewed_after_it_is_forgotten(db):
    first = page_cache.current_generation()
    assert page_cache.current_generation() == first
    page_cache.forget_generation()
    assert page_cache.current_generation() != first


def test_pages_are_sent_compressed_to_browsers_that_accept_it(client, seed):
    plain = client.get(ISSUE)
    packed = client.get(ISSUE, HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert len(packed.content) < len(plain.content) / 3
    again = client.get(ISSUE, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=packed["ETag"])
    assert again.status_code == 304


def test_an_answer_made_for_one_reader_is_never_cached(db):
    """A CSRF token or a cookie belongs to one reader: such a page is not shared."""
    from django.http import HttpResponse
    from django.middleware.csrf import get_token
    from django.test import RequestFactory

    from reading.page_cache import cache_public_page

    def with_token(request):
        return HttpResponse(get_token(request))

    readers = iter(range(1, 100))

    def with_cookie(request):
        response = HttpResponse("hello")
        response.set_cookie("reader", str(next(readers)))
        return response

    for view in (cache_public_page(with_token), cache_public_page(with_cookie)):
        first = view(RequestFactory().get("/x/"))
        second = view(RequestFactory().get("/x/"))
        assert (first.content, first.cookies.output()) != (second.content, second.cookies.output())


# ---------------------------------------------------------------- the hit path


@pytest.mark.parametrize("encoding", ["", "gzip", "gzip, deflate, br"])
def test_a_hit_has_every_header_the_rendered_page_had(client, seed, encoding):
    made = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding)
    hit = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding)
    assert getattr(hit, "from_cache", False) and not getattr(made, "from_cache", False)
    expected = dict(made.headers)
    if "br" in encoding:  # the page made went through GZipMiddleware; the hit is Brotli
        assert expected.pop("Content-Encoding") == "gzip"
        expected.pop("Content-Length")
        assert hit["Content-Encoding"] == "br"
        assert brotli.decompress(hit.content) == gzip.decompress(made.content)
    elif "gzip" in encoding:  # the same text (GZipMiddleware salts its gzip header)
        assert gzip.decompress(hit.content) == gzip.decompress(made.content)
    else:
        assert hit.content == made.content
    got = {k: v for k, v in hit.headers.items() if k not in ("Content-Encoding", "Content-Length")}
    expected.pop("Content-Length", None)
    expected.pop("Content-Encoding", None)
    assert got == expected
    for header in (
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
        "X-Frame-Options",
        "Content-Language",
        "Vary",
    ):
        assert hit[header] == made[header], header


def test_a_hit_answers_304_head_and_each_encoding_of_the_same_page(client, seed):
    plain = client.get(ISSUE)
    client.get(ISSUE)  # cached
    for encoding in ("gzip", "br"):
        packed = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding)
        assert packed.from_cache and packed["Content-Encoding"] == encoding
        assert packed["ETag"] == "W/" + plain["ETag"]
        assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 3
        again = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding, HTTP_IF_NONE_MATCH=plain["ETag"])
        assert (again.status_code, again.content) == (304, b"")
        assert again["ETag"] == packed["ETag"] and "Content-Type" not in again
        assert again["Content-Security-Policy"] == plain["Content-Security-Policy"]
    head = client.head(ISSUE)
    assert head.from_cache and head.content == b""
    assert int(head["Content-Length"]) == len(plain.content)


def test_a_hit_runs_no_query_and_no_other_middleware(client, seed, monkeypatch):
    client.get(ISSUE)
    from django.contrib.sessions.middleware import SessionMiddleware

    def must_not_run(self, request):
        raise AssertionError("the session middleware ran for a hit")

    monkeypatch.setattr(SessionMiddleware, "process_request", must_not_run)
    with CaptureQueriesContext(connection) as queries:
        hit = client.get(ISSUE)
    assert hit.from_cache and len(queries) == 0


def test_a_reader_who_prefers_english_is_still_sent_to_english(client, seed):
    client.get(ISSUE)
    assert client.get(ISSUE).from_cache
    sent = client.get(ISSUE, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert (sent.status_code, sent["Location"]) == (302, "/en" + ISSUE)
    client.cookies["django_language"] = "en"
    assert client.get(ISSUE).status_code == 302


def test_signed_in_staff_get_pages_made_for_them(admin_client, client, seed):
    client.get(ISSUE)
    assert client.get(ISSUE).from_cache
    staff = admin_client.get(ISSUE)
    assert staff.status_code == 200 and not getattr(staff, "from_cache", False)


def test_a_page_made_while_its_keys_were_purged_is_not_kept(client, seed, monkeypatch):
    """An edit that commits while a page is being made: the page read the
    database before the commit, so it is answered but not kept (nor kept by a
    front cache: no Surrogate-Control)."""
    from reading import views

    entry = seed.entries.get(arxiv_id=PAPER)
    real = views.IssueDetailView.get_context_data

    def with_an_edit_meanwhile(self, **kwargs):
        context = real(self, **kwargs)
        place = signals.public_entry(entry.pk)  # another editor's commit: its text
        page_cache.purge_here(signals.entry_change_keys(place, place, ()))
        return context

    monkeypatch.setattr(views.IssueDetailView, "get_context_data", with_an_edit_meanwhile)
    client.get(ISSUE)
    monkeypatch.undo()
    assert not getattr(client.get(ISSUE), "from_cache", False)
    assert client.get(ISSUE).from_cache


class CountingCache:
    """The cache as the page cache calls it, with the bytes of each value it returned."""

    def __init__(self, real):
        self.real, self.values_read = real, []

    def get_many(self, keys):
        found = self.real.get_many(keys)
        self.values_read += list(found.items())
        return found

    def get(self, key, default=None):
        value = self.real.get(key, default)
        self.values_read.append((key, value))
        return value

    def __getattr__(self, name):
        return getattr(self.real, name)

    def bodies_read(self):
        return [key for key, value in self.values_read if key.startswith(page_cache.BODY)]


@pytest.mark.parametrize("encoding", ["br", "gzip", ""])
def test_a_hit_reads_the_body_from_the_process_not_the_cache(client, seed, monkeypatch, encoding):
    """With a shared cache (Redis) a hit moves the page's small head, not its
    60 KB: the body comes from this process's memory (reading.page_cache)."""
    made = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding)
    counting = CountingCache(page_cache.cache)
    monkeypatch.setattr(page_cache, "cache", counting)
    hit = client.get(ISSUE, HTTP_ACCEPT_ENCODING=encoding)
    assert hit.from_cache and page_bytes(hit) == page_bytes(made)
    assert counting.bodies_read() == []
    assert sum(len(repr(value)) for _, value in counting.values_read) < len(hit.content) / 4


def page_bytes(response):
    """The page as the browser shows it, whichever encoding it was sent in."""
    unpack = {"br": brotli.decompress, "gzip": gzip.decompress}
    return unpack.get(response.get("Content-Encoding"), bytes)(response.content)


def test_another_process_reads_the_body_once_then_keeps_it(client, seed, monkeypatch):
    made = client.get(ISSUE)
    page_cache.bodies.clear()  # as another worker process, which has never seen it
    counting = CountingCache(page_cache.cache)
    monkeypatch.setattr(page_cache, "cache", counting)
    first, second = client.get(ISSUE), client.get(ISSUE)
    assert first.from_cache and second.from_cache
    assert first.content == second.content == made.content
    assert len(counting.bodies_read()) == 1


def test_a_head_whose_body_the_cache_lost_is_made_again(client, seed):
    """Redis may evict a body and keep its head (volatile-lru): a miss, never
    a 500 or an empty page."""
    made = client.get(ISSUE)
    address = page_cache.address_of(RequestFactory().get(ISSUE))
    head = page_cache.cache.get(f"{page_cache.PAGE}{address}:identity")
    page_cache.bodies.clear()
    page_cache.cache.delete(page_cache.body_key(head.nonce, "identity"))
    again = client.get(ISSUE)
    assert again.status_code == 200 and not getattr(again, "from_cache", False)
    assert again.content == made.content
    assert client.get(ISSUE).from_cache
