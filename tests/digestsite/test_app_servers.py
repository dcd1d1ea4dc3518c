"""Two application servers share one database and one Redis: an edit through
one is on the other's pages at the next request.

Every public page is cached whole (reading.page_cache) under a content generation
that any edit forgets. With several application processes that only works if
they share the cache: a page cached by server B must be dropped when an editor
saves through server A. Test-client tests run one process and cannot see
this, so here two real gunicorn servers run on two loopback ports against the
test database (committed data: ``transactional_db``) and the Redis of
``REDIS_URL``, and an editor saves through the admin of one of them, signed in
through the login form like a browser.

The check is shown to be able to fail: with each server on a local-memory
cache of its own, the same edit is not seen through the other server
(``test_without_a_shared_cache_the_other_server_serves_a_stale_page``).

Needs PostgreSQL (``DATABASE_URL``; SQLite would not let two processes write
it under load the way production does, and is not what production runs) and
Redis (``REDIS_URL``). Without them, the tests are skipped and say why.
"""

import contextlib
import http.client
import os
import uuid
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

import pytest
from bs4 import BeautifulSoup
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from bench.common import site_server
from bench.common.admin_form import form_fields
from bench.common.site_server import GUNICORN, HOST
from papers.models import Entry

ISSUE_SLUG = "2024-06-h2"  # the seed roundup
PASSWORD = "two-servers-editor-password"
REDIS_URL = os.environ.get("REDIS_URL") or os.environ.get("CACHE_URL")

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not REDIS_URL,
        reason="needs PostgreSQL and Redis shared by two servers: set DATABASE_URL "
        "(postgres://...) and REDIS_URL (e.g. redis://127.0.0.1:6379/14)",
    ),
    pytest.mark.skipif(not GUNICORN.exists(), reason=f"gunicorn is not installed ({GUNICORN})"),
]


# -- A browser, small: cookies, forms, no redirects followed ----------------------------------


class Browser:
    """One person's cookies, sent to every server (same host, other port, as
    two servers behind one load balancer would look to a browser)."""

    def __init__(self):
        self.cookies = {}

    def request(self, port, path, form=None):
        body = urlencode(form).encode() if form is not None else None
        headers = {"Host": f"{HOST}:{port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request("POST" if body is not None else "GET", path, body, headers)
            response = conn.getresponse()
            content = response.read().decode("utf-8", "replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, response.headers, content
        finally:
            conn.close()

    def sign_in(self, port, username):
        status, _, _ = self.request(port, "/admin/login/")
        assert status == 200
        status, headers, content = self.request(
            port,
            "/admin/login/",
            {
                "csrfmiddlewaretoken": self.cookies["csrftoken"],
                "username": username,
                "password": PASSWORD,
                "next": "/admin/",
            },
        )
        assert status == 302, content[:2000]
        assert headers["Location"] == "/admin/"

    def save_entry_summary(self, port, entry, marker):
        """Open the entry's change form, append ``marker`` to the summary, save."""
        path = f"/admin/papers/entry/{entry.pk}/change/"
        status, _, page = self.request(port, path)
        assert status == 200, page[:2000]
        form = [
            (n, f"{v.rstrip()}\n\n{marker}" if n == "summary" else v)
            for n, v in form_fields(page, "entry_form")
        ]
        status, headers, content = self.request(port, path, [*form, ("_save", "保存")])
        assert status == 302, BeautifulSoup(content, "html.parser").select(".errornote")
        assert headers["Location"].startswith("/admin/papers/entry/")


# -- The servers (bench/common/site_server.py) ------------------------------------------------


def test_database_url():
    """The database this test runs on (pytest-django's test_<name>), for the servers."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or HOST}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def server_env(shared_cache):
    """The site's settings for a server process. DEBUG on, because DEBUG off
    needs collected static files in the project's STATIC_ROOT, which the
    settings do not let a test move; caching, the database and sessions are
    the same either way."""
    return site_server.site_env(
        test_database_url(), redis_url=REDIS_URL if shared_cache else None, debug=True
    )


@contextlib.contextmanager
def two_servers(tmp_path, shared_cache):
    """Servers A and B (ports), one gunicorn master with one worker each."""
    env = server_env(shared_cache)
    servers = [
        site_server.SiteServer(site_server.free_port(), env, tmp_path / f"server-{name}.log")
        for name in ("a", "b")
    ]
    try:
        with site_server.serving(servers):
            yield [server.port for server in servers]
    except site_server.ServerError as error:
        logs = "\n".join(f"{server.log}:\n{server.log_tail()}" for server in servers)
        pytest.fail(f"{error}\n{logs}")


@pytest.fixture
def archive(transactional_db, project_password_hasher):
    """The seed roundup and an admin account, committed, so the servers see them.

    A superuser, not a member of the Editor group: transactional tests empty
    the tables after each test, and the groups made by a data migration go
    with them (permissions are made again, groups are not). Its password is
    hashed as the servers check it, not with the test run's fast hasher."""
    call_command("load_seed", verbosity=0)
    editor = User.objects.create_superuser("two-servers-editor", password=PASSWORD)
    entry = Entry.objects.filter(issue__slug=ISSUE_SLUG).order_by("pk").first()
    return {"editor": editor.username, "entry": entry}


def public_page(port):
    status, _, content = Browser().request(port, f"/issues/{ISSUE_SLUG}/")
    assert status == 200
    return content


def edit_and_read_back(writer, reader, archive, browser):
    """Cache the issue page on ``reader``; prove it is served from the cache;
    save the entry through ``writer``'s admin; return the marker and the
    reader's page at the next request."""
    entry = archive["entry"]
    marker = f"two-servers-{uuid.uuid4().hex[:8]}"
    canary = f"canary-{uuid.uuid4().hex[:8]}"
    public_page(reader)
    # A change that skips the signals (as the README's "Caching" warns) is not seen:
    # the reader serves the page from its cache, so what follows tests the
    # cache's invalidation and not a page rendered anew anyway.
    Entry.objects.filter(pk=entry.pk).update(summary_html=f"<p>{canary}</p>")
    assert canary not in public_page(reader), "the page is not cached: nothing is tested"
    browser.save_entry_summary(writer, entry, marker)
    page = public_page(reader)
    return marker, page


def test_an_edit_through_one_server_is_seen_through_the_other(archive, tmp_path):
    browser = Browser()
    with two_servers(tmp_path, shared_cache=True) as (server_a, server_b):
        browser.sign_in(server_a, archive["editor"])

        marker, page = edit_and_read_back(server_a, server_b, archive, browser)
        assert marker in page
        entry = Entry.objects.get(pk=archive["entry"].pk)
        assert marker in entry.summary and marker in entry.summary_html

        # And the other way: saved through B (the same session: sessions are in
        # the shared database), read through A.
        marker, page = edit_and_read_back(server_b, server_a, archive, browser)
        assert marker in page


def test_without_a_shared_cache_the_other_server_serves_a_stale_page(archive, tmp_path):
    """The same steps with each server on its own local-memory cache: the edit
    is stored, yet B keeps serving its cached page. This is the failure the
    test above would catch."""
    browser = Browser()
    with two_servers(tmp_path, shared_cache=False) as (server_a, server_b):
        browser.sign_in(server_a, archive["editor"])
        marker, page = edit_and_read_back(server_a, server_b, archive, browser)
        assert marker in Entry.objects.get(pk=archive["entry"].pk).summary
        assert marker not in page
