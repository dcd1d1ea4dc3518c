"""Real-browser tests: Playwright driving Debian's chromium.

Playwright cannot download its own browsers here, so the tests launch
/usr/bin/chromium (installed by .ci/run, or by `sudo apt-get install
chromium`). Without it they are skipped, and say so; with REQUIRE_BROWSER=1
(set by .ci/run) a missing browser fails the run instead.
"""

import importlib
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support.browser import ARTIFACTS

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"chromium not found at {CHROMIUM}: browser tests skipped"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"{message}, but REQUIRE_BROWSER=1")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(autouse=True)
def editorial_groups(transactional_db):
    """The Editor and Publisher groups come from a data migration, which the
    flush after each transactional test removes: make them again."""
    from django.apps import apps

    groups = importlib.import_module("papers.migrations.0003_editor_and_publisher_groups")
    groups.create_groups(apps, schema_editor=None)


@pytest.fixture(autouse=True)
def plain_static_names(settings):
    """The live server serves static files from the apps' folders (finders),
    which know no hashed names: print the plain ones in browser tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # the tests make around it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    in_flight = track_requests(context)
    page = context.new_page()
    yield page
    leave_quietly(context, in_flight)


def track_requests(context):
    """The requests of ``context`` not answered yet (a set kept up to date)."""
    in_flight = set()
    context.on("request", lambda request: in_flight.add(request))
    context.on("requestfinished", lambda request: in_flight.discard(request))
    context.on("requestfailed", lambda request: in_flight.discard(request))
    return in_flight


def leave_quietly(context, in_flight):
    """Close ``context`` once its pages have left and every request they sent
    has been answered. The issue page tells the server its editor left (a
    beacon on ``pagehide``) and beats while open; answered after the test, such
    a request would meet the database being flushed for the next test
    ("database table is locked")."""
    for open_page in context.pages:
        open_page.goto("about:blank")
    # Usually a few milliseconds; on a loaded machine a request may take seconds,
    # and one still running when the database is flushed deadlocks the flush
    # (PostgreSQL) or finds a table locked (SQLite).
    deadline = time.monotonic() + 30
    while in_flight and context.pages and time.monotonic() < deadline:
        context.pages[0].wait_for_timeout(50)
    # The browser has its last answer before the server's thread has ended the
    # request (request_finished closes its connection): a moment for that too.
    # Without it, one CI run of 2026-12-06 found auth_group_permissions locked
    # (SQLite) at the flush after test_newsletter_admin's polling page.
    if context.pages:
        context.pages[0].wait_for_timeout(250)
    context.close()


@pytest.fixture
def screenshot(page):
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name, full_page=True):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
