"""Shared fixtures: no network, a clean cache and language, static files as
production builds them, fast password hashing, the seed roundup, staff users,
and the rows the migrations wrote put back after a test that flushes them.
Test data comes from tests/factories.py."""

import os
import urllib.request

import pytest
from django.core.management import call_command
from django.test import override_settings
from hypothesis import settings as hypothesis_settings

from papers.models import Issue
from tests.factories import StaffFactory

# No example has a deadline: speed is measured in bench/, not by a test's clock,
# and under pytest-xdist two workers share this machine's two cores.
hypothesis_settings.register_profile("digest", deadline=None)
hypothesis_settings.load_profile("digest")


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


MIGRATION_ROWS = pytest.StashKey()


def _flushes_the_database(item):
    """Whether pytest-django runs the test as a TransactionTestCase, which
    empties every table when it ends (the rule of its _django_db_helper)."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return not {"transactional_db", "live_server", "django_db_reset_sequences"}.isdisjoint(
        item.fixturenames
    )


@pytest.fixture(scope="session")
def migration_rows(django_db_setup, django_db_blocker):
    """The rows the migrations wrote (the Editor and Publisher groups with their
    permissions, the glossary...), as JSON with natural keys, taken before any
    test has flushed them. Content types and permissions are left out: the
    flush's post_migrate makes them again, under new ids."""
    from django.apps import apps
    from django.core import serializers
    from django.db import connection

    skipped = {"contenttypes.contenttype", "auth.permission"}
    with django_db_blocker.unblock():
        tables = set(connection.introspection.table_names())
        models = [
            model
            for model in apps.get_models()
            # Not SQLite's full-text table on PostgreSQL, which has none.
            if model._meta.managed and model._meta.db_table in tables
        ]
        rows = {
            model: serializers.serialize(
                "json", model._default_manager.all(), use_natural_foreign_keys=True
            )
            for model in models
            if model._meta.label_lower not in skipped and model._default_manager.exists()
        }
    return rows, django_db_blocker


@pytest.fixture(autouse=True)
def _keep_migration_rows(request):
    """Before a test that will flush the database, make sure the migrations'
    rows are on record, so that pytest_runtest_teardown can put them back: the
    tests after it, on this worker, see the database `migrate` leaves. Without
    it a test's result would depend on the tests run before it, which under
    pytest-xdist are not the same from one run to the next."""
    if _flushes_the_database(request.node):
        request.config.stash[MIGRATION_ROWS] = request.getfixturevalue("migration_rows")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After a test that flushed the database (and its fixtures' teardowns),
    write back the migrations' rows that the flush removed."""
    result = yield
    on_record = item.config.stash.get(MIGRATION_ROWS, None)
    if nextitem is not None and on_record is not None and _flushes_the_database(item):
        from django.contrib.contenttypes.models import ContentType
        from django.core import serializers

        rows, blocker = on_record
        with blocker.unblock():
            for model, data in rows.items():
                if not model._default_manager.exists():
                    for row in serializers.deserialize("json", data):
                        row.save()
            ContentType.objects.clear_cache()
    return result


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under REQUIRE_NO_SKIPS=1 (CI's PostgreSQL + Redis step) a skipped test
    fails: the tests that wait for those services must have run there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("REQUIRE_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_NO_SKIPS=1: {report.longrepr}"
