"""Shared fixtures: static files as production builds them, and small factories."""

import datetime
import itertools
import os
import urllib.request

import pytest
from django.core.management import call_command
from django.db.models import Max
from django.utils import timezone

from papers.models import Entry, Issue, Section

_counter = itertools.count(1)


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


def make_section(**fields):
    n = next(_counter)
    fields.setdefault("name", f"栏目{n}")
    fields.setdefault("slug", f"section-{n}")
    fields.setdefault("position", n)
    return Section.objects.create(**fields)


def make_issue(status=Issue.Status.PUBLISHED, **fields):
    n = next(_counter)
    start = datetime.date(2024, 1, 1) + datetime.timedelta(days=14 * n)
    fields.setdefault("title", f"第{n}期 大模型论文")
    fields.setdefault("slug", f"issue-{n}")
    fields.setdefault("period_start", start)
    fields.setdefault("period_end", start + datetime.timedelta(days=13))
    fields.setdefault("intro", "本期**导言**。")
    if status != Issue.Status.DRAFT:
        fields.setdefault("published_at", timezone.now() - datetime.timedelta(hours=n))
    return Issue.objects.create(status=status, **fields)


def make_entry(issue, section, tags=(), **fields):
    n = next(_counter)
    fields.setdefault("title", f"Paper number {n}")
    fields.setdefault("arxiv_id", f"2406.{10000 + n}")
    fields.setdefault("summary", f"第{n}篇论文的摘要，讨论长上下文。")
    if "position" not in fields:
        # The next free position of its section, as the admin numbers it (a
        # global counter would pass the limit of positions in a long run).
        taken = Entry.objects.filter(issue=issue, section=section).aggregate(Max("position"))
        fields["position"] = (taken["position__max"] or 0) + 1
    entry = Entry.objects.create(issue=issue, section=section, **fields)
    if tags:
        entry.tags.add(*tags)
    return entry


@pytest.fixture
def seed(db):
    """The seed roundup, loaded from the project's fixture as `make run` does."""
    call_command("load_seed", verbosity=0)
    return Issue.objects.get(slug="2024-06-h2")


def make_staff(username, group):
    """A staff user in one of the editorial groups made by the data migration."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username, password="x", is_staff=True,
                                    first_name=username.capitalize())
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def editor_user(db):
    return make_staff("editor", "Editor")


@pytest.fixture
def publisher_user(db):
    return make_staff("publisher", "Publisher")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under REQUIRE_NO_SKIPS=1 (CI's PostgreSQL + Redis step) a skipped test
    fails: the tests that wait for those services must have run there."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("REQUIRE_NO_SKIPS") == "1":
        report.outcome = "failed"
        report.longrepr = f"skipped, but REQUIRE_NO_SKIPS=1: {report.longrepr}"
