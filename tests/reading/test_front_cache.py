"""Varnish in front (deploy/varnish/default.vcl, reading.front_cache), with a real varnishd.

A varnishd with the project's VCL runs in front of the test's live server;
editors change the archive through the admin (the test client, in this
process), which sends its purges to that varnishd after each commit. Without
Debian's varnish and varnish-modules the module is skipped, and fails under
REQUIRE_VARNISH=1 (CI).
"""

import http.client
import os

import pytest
from django.urls import reverse

from bench.common.site_server import free_port
from bench.common.varnish import Varnish, has_xkey
from papers.models import Entry, Issue
from tests.factories import EntryFactory, IssueFactory
from tests.support.admin import edit_entry

if not has_xkey():
    if os.environ.get("REQUIRE_VARNISH") == "1":
        raise pytest.UsageError("varnishd with xkey is not installed, but REQUIRE_VARNISH=1")
    pytest.skip(
        "varnishd with xkey is not installed (make system-packages)", allow_module_level=True
    )

pytestmark = pytest.mark.django_db(transaction=True)

ISSUE = "/issues/2024-06-h2/"
PAPER = "2406.15877"


@pytest.fixture(scope="module")
def varnishd(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    with Varnish(port) as varnish:
        yield varnish


@pytest.fixture
def front(varnishd, settings):
    """Varnish, emptied, and the app told to purge it."""
    settings.FRONT_CACHES = [varnishd.address]
    assert purge(varnishd, "all").status == 200
    return varnishd


def purge(varnish, keys):
    connection = http.client.HTTPConnection("127.0.0.1", varnish.port, timeout=10)
    try:
        connection.request("PURGE", "/", headers={"xkey-purge": keys})
        response = connection.getresponse()
        response.read()
        response.close()
        return response
    finally:
        connection.close()


def fetch(varnish, path, method="GET", headers=None, body=None):
    """(status, headers with lower-case names, body) of a request through Varnish."""
    connection = http.client.HTTPConnection("127.0.0.1", varnish.port, timeout=30)
    try:
        connection.request(
            method, path, body=body, headers={"Host": "localhost", **(headers or {})}
        )
        response = connection.getresponse()
        content = response.read()
        response.close()
    finally:
        connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, content


def cached_twice(varnish, path, headers=None):
    """Fetch ``path`` twice; the second answer's headers and body."""
    fetch(varnish, path, headers=headers)
    return fetch(varnish, path, headers=headers)


def test_a_public_page_is_a_hit_the_second_time(front, seed):
    status, first, body = fetch(front, ISSUE)
    assert (status, first["x-cache"]) == (200, "MISS")
    status, second, again = fetch(front, ISSUE)
    assert (status, second["x-cache"]) == (200, "HIT")
    assert again == body
    assert "BigCodeBench" in body.decode()
    # Its keys and lifetime are for Varnish, never sent on.
    assert "xkey" not in second and "surrogate-control" not in second
    assert "no-cache" in second["cache-control"]  # browsers still revalidate


def test_an_edit_through_the_admin_shows_on_the_next_request(front, seed, admin_client):
    entry = seed.entries.get(arxiv_id=PAPER)
    pages = [ISSUE, f"/papers/{PAPER}/", "/en" + ISSUE, "/entries/"]
    for path in pages:
        assert cached_twice(front, path)[1]["x-cache"] == "HIT"
    edit_entry(admin_client, entry, summary="经过缓存的新摘要：前端缓存立即看到。")
    for path in pages:
        status, headers, body = fetch(front, path)
        assert status == 200
        assert "前端缓存立即看到" in body.decode(), path
        assert headers["x-cache"] == "MISS", path


def test_a_draft_save_leaves_every_page_a_hit(front, seed, admin_client):
    draft = IssueFactory(status=Issue.Status.DRAFT, slug="draft-next", title="下一期草稿")
    draft_entry = EntryFactory(
        issue=draft,
        section=seed.entries.first().section,
        title="Draft Paper",
        arxiv_id="2407.00003",
    )
    pages = ["/", ISSUE, "/entries/", "/tags/", "/sections/", "/feeds/issues.atom"]
    for path in pages:
        cached_twice(front, path)
    edit_entry(admin_client, draft_entry, summary="草稿里改了又改的摘要。")
    url = reverse("admin:papers_issue_change", args=[draft.pk])
    assert admin_client.get(url).status_code == 200
    for path in pages:
        status, headers, body = fetch(front, path)
        assert (status, headers["x-cache"]) == (200, "HIT"), path
        assert "Draft Paper" not in body.decode()


def test_admin_previews_and_signed_in_staff_are_never_cached(front, seed, admin_client):
    session = admin_client.cookies["sessionid"].value
    as_staff = {"Cookie": f"sessionid={session}"}
    preview = reverse("admin:papers_issue_preview", args=[seed.pk])
    for path in (preview, reverse("admin:index"), "/admin/login/"):
        for _ in range(2):
            status, headers, _ = fetch(front, path, headers=as_staff)
            assert headers["x-cache"] == "PASS", path
    for _ in range(2):
        status, headers, _ = fetch(front, "/admin/login/")
        assert headers["x-cache"] == "PASS"
    # A public page asked for by signed-in staff is rendered for them, not shared.
    cached_twice(front, ISSUE)
    status, headers, _ = fetch(front, ISSUE, headers=as_staff)
    assert (status, headers["x-cache"]) == (200, "PASS")


def test_posts_and_cookies_go_to_the_app(front, seed):
    cached_twice(front, "/subscribe/")
    status, headers, _ = fetch(
        front,
        "/subscribe/",
        method="POST",
        body="email=not-an-address",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, headers["x-cache"]) == (400, "PASS")
    # The language switch sets a cookie: never stored, each reader gets their own.
    for _ in range(2):
        status, headers, _ = fetch(front, "/language/en/?next=/issues/")
        assert status == 302 and "set-cookie" in headers
        assert headers["x-cache"] == "PASS"


@pytest.mark.parametrize(
    ("headers", "english"),
    [
        ({}, False),
        ({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, False),
        ({"Accept-Language": "fr-FR"}, False),
        ({"Accept-Language": "en-US,en;q=0.9"}, True),
        ({"Accept-Language": "de, en;q=0.5"}, True),
        ({"Cookie": "django_language=en"}, True),
        ({"Cookie": "django_language=en", "Accept-Language": "zh-CN"}, True),
        ({"Cookie": "django_language=zh-hans", "Accept-Language": "en"}, False),
        ({"Cookie": "csrftoken=abc; django_language=zh-hans"}, False),
    ],
)
def test_languages_a_cached_chinese_page_never_keeps_a_reader_from_english(
    front, seed, headers, english
):
    cached_twice(front, ISSUE)  # the Chinese page is in Varnish
    status, answer, body = fetch(front, ISSUE, headers=headers)
    if english:
        assert (status, answer["location"]) == (302, "/en" + ISSUE)
    else:
        assert (status, answer["x-cache"]) == (200, "HIT")
        assert 'lang="zh-Hans"' in body.decode()
    status, answer, body = cached_twice(front, "/en" + ISSUE, headers=headers)
    assert (status, answer["x-cache"]) == (200, "HIT")
    assert '<html lang="en"' in body.decode()


def test_gzip_and_304_through_varnish(front, seed):
    cached_twice(front, ISSUE)
    status, headers, packed = fetch(front, ISSUE, headers={"Accept-Encoding": "gzip"})
    assert (status, headers["content-encoding"], headers["x-cache"]) == (200, "gzip", "HIT")
    status, headers, plain = fetch(front, ISSUE)
    assert "content-encoding" not in headers and len(plain) > 3 * len(packed)
    status, _, body = fetch(front, ISSUE, headers={"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")


def test_unpublishing_takes_the_issue_off_every_cached_page(front, seed, admin_client):
    pages = [ISSUE, "/", "/entries/", f"/papers/{PAPER}/", "/feeds/issues.atom", "/issues/"]
    for path in pages:
        cached_twice(front, path)
    assert (
        admin_client.post(reverse("admin:papers_issue_unpublish", args=[seed.pk])).status_code
        == 302
    )
    for path in pages:
        status, _, body = fetch(front, path)
        assert status == 404 or "BigCodeBench" not in body.decode(), path


def test_an_unreachable_front_cache_never_fails_a_save(seed, admin_client, settings, caplog):
    from django_tasks_db.models import DBTaskResult

    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings.FRONT_CACHES = [address]
    entry = seed.entries.get(arxiv_id=PAPER)
    edit_entry(admin_client, entry, summary="缓存不在时也能保存。")
    assert Entry.objects.get(pk=entry.pk).summary == "缓存不在时也能保存。"
    assert "front cache purge failed" in caplog.text
    retries = DBTaskResult.objects.filter(task_path="reading.tasks.purge_front_cache")
    assert retries.count() == 1
    assert retries.get().args_kwargs["args"][0] == address


def test_a_page_with_too_many_keys_is_served_not_refused(front, seed, monkeypatch):
    """Keys longer than a response header may be (Varnish: 8 KB) would make
    Varnish answer 503: such a page is served by the app, uncached there."""
    from reading import page_keys

    def every_key_kept(keys):
        return frozenset(keys) | {f"entry-{n}" for n in range(1_000_000, 1_001_000)}

    monkeypatch.setattr(page_keys, "compacted", every_key_kept)
    for _ in range(2):
        status, headers, body = fetch(front, "/issues/")
        assert status == 200 and headers["x-cache"] != "HIT"
        assert seed.title in body.decode()
