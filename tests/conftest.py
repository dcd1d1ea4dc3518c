"""Shared fixtures: no network, a clean cache and language, static files as
production builds them, fast password hashing, the seed roundup, staff users.
Test data comes from tests/factories.py."""

import os
import urllib.request

import pytest
from django.core.management import call_command
from django.test import override_settings

from papers.models import Issue
from tests.factories import StaffFactory


@pytest.fixture(autouse=True)
def no_network(monkeypatch, settings):
    """No test reaches the network: any attempt through urllib fails the test,
    and the arXiv client does not wait between (recorded) requests."""

    def refuse(request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        raise AssertionError(f"a test tried to reach the network: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    settings.ARXIV_API_MIN_INTERVAL = 0


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's default language. A request for an /en/
    page activates English in the thread, and Django never switches back: the
    next request activates its own, but code run outside a request would not."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache (presence, rate limits...)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session", autouse=True)
def collected_static(tmp_path_factory):
    """Pages print hashed static names (DEBUG is off in tests), which need the
    manifest that ``collectstatic`` writes: build it once, into a temp folder."""
    from django.conf import settings

    static_root = tmp_path_factory.mktemp("static")
    original = settings.STATIC_ROOT
    settings.STATIC_ROOT = static_root
    call_command("collectstatic", interactive=False, verbosity=0)
    yield static_root
    settings.STATIC_ROOT = original


@pytest.fixture(scope="session", autouse=True)
def fast_password_hasher():
    """Passwords hashed with MD5 in the test run: the project's hasher is slow on
    purpose (a fraction of a second a hash) and tests make hundreds of users.
    The project's hashers stay in the list, to check hashes made outside the
    run; the production settings are not touched."""
    from django.conf import settings

    project_hashers = list(settings.PASSWORD_HASHERS)
    with override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            *project_hashers,
        ]
    ):
        yield project_hashers


@pytest.fixture
def project_password_hasher(settings, fast_password_hasher):
    """Passwords hashed as the project hashes them, for a test whose users sign
    in to another process (a server run with the project's settings, which
    cannot check an MD5 hash)."""
    settings.PASSWORD_HASHERS = fast_password_hasher


@pytest.fixture
def seed(db):
    """The seed roundup, loaded from the project's fixture as `make run` does."""
    call_command("load_seed", verbosity=0)
    return Issue.objects.get(slug="2024-06-h2")


@pytest.fixture
def editor_user(db):
    return StaffFactory(username="editor", group="Editor")


@pytest.fixture
def publisher_user(db):
    return StaffFactory(username="publisher", group="Publisher")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under REQUIRE_NO_SKIPS=1 (CI's PostgreSQL + Redis step) a skipped test
    fails: the tests that wait for those services must have run there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("REQUIRE_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_NO_SKIPS=1: {report.longrepr}"
