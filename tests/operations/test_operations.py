"""What operators rely on: the health check, a clean 503 while the database is
away, a site that keeps serving when Redis is down, structured log lines, and
read replicas for public pages only."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import Client, RequestFactory

from operations import fail_soft_cache as fail_soft
from operations.db_routers import PrimaryReplicaRouter, ReplicaReadsMiddleware
from operations.logs import OutageTracebacks
from papers.models import Entry
from reading import page_cache, views

PROJECT = Path(__file__).resolve().parents[2]
# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """The production cache backend, pointed at a Redis that is not there."""
    settings.CACHES = {
        "default": {
            "BACKEND": "operations.fail_soft_cache.FailSoftRedisCache",
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    fail_soft.consume_lost_writes()
    yield
    fail_soft.consume_lost_writes()


# The health check


def test_health_is_ok_when_database_and_cache_answer(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_health_is_503_without_the_database(client, db, monkeypatch):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", refused)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["database"] == "unavailable"


def test_health_is_degraded_but_200_without_redis(client, db, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "unavailable"},
    }


# The database away: a 503 page, not a 500


def test_a_lost_database_gives_a_clean_503_page(seed, monkeypatch):
    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views.IssueListView, "get", database_gone)
    response = Client(raise_request_exception=False).get("/issues/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "网站暂时无法访问" in page and "Traceback" not in page
    english = Client(raise_request_exception=False).get("/en/issues/")
    assert english.status_code == 503
    assert "The site is briefly unavailable" in english.content.decode()


def test_other_errors_still_give_the_500_page(seed, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(views.IssueListView, "get", broken)
    response = Client(raise_request_exception=False).get("/issues/")
    assert response.status_code == 500
    assert "服务器出错了" in response.content.decode()


# Redis down: served from the database


def test_without_redis_pages_are_served_from_the_database(seed, redis_down):
    client = Client()
    for address in ["/", seed.get_absolute_url(), "/entries/?q=幻觉", "/feeds/issues.atom"]:
        assert client.get(address).status_code == 200, address
    entry = seed.entries.first()
    entry.title = "Retitled while Redis is down"
    entry.save()
    assert "Retitled while Redis is down" in client.get(seed.get_absolute_url()).content.decode()


def test_the_fail_soft_cache_answers_misses_and_remembers_lost_writes(redis_down):
    from django.core.cache import cache

    assert cache.get("anything", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("a") is False
    assert fail_soft.consume_lost_writes() is False
    cache.set("a", 1)
    assert fail_soft.consume_lost_writes() is True
    assert fail_soft.consume_lost_writes() is False
    cache.delete("a")
    assert fail_soft.consume_lost_writes() is True


def test_a_lost_invalidation_starts_a_new_generation_once_redis_answers(db, monkeypatch):
    """An edit whose invalidation was lost to an outage must not leave stale
    pages behind when Redis comes back with the old generation."""
    before = page_cache.current_generation()
    assert page_cache.current_generation() == before
    fail_soft._lost_writes.set()  # what a write during an outage leaves behind
    assert page_cache.current_generation() != before


def test_a_redis_error_that_is_not_an_outage_still_raises(redis_down, monkeypatch):
    from django.core.cache import cache
    from django.core.cache.backends.redis import RedisCache

    def corrupt(*args, **kwargs):
        raise TypeError("a bug, not an outage")

    monkeypatch.setattr(RedisCache, "get", corrupt)
    with pytest.raises(TypeError):
        cache.get("a")


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI's Redis step)")
def test_the_fail_soft_cache_is_a_real_cache_when_redis_answers(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "operations.fail_soft_cache.FailSoftRedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "operations-test",
        }
    }
    from django.core.cache import cache

    cache.set("a", {"value": 1})
    assert cache.get("a") == {"value": 1}
    assert fail_soft.consume_lost_writes() is False


def test_the_redis_cache_makes_one_client_per_pool_not_one_per_call(monkeypatch):
    """Django builds a redis.Redis (and its table of response callbacks) for
    every call; a page cache hit is one call, and that was a third of it."""
    made = []
    real = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    backend = fail_soft.FailSoftRedisCache("redis://127.0.0.1:6379/15", {})
    for _ in range(5):
        client = backend._cache.get_client("page", write=False)
        assert client is backend._cache.get_client("page", write=True)
    assert len(made) == 1


# Structured logs


def test_errors_are_logged_as_json_lines(collected_static):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    # The 404 page links hashed static names: it needs collected files, as in production.
    script = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'digestsite.settings';"
        f"from django.conf import settings; settings.STATIC_ROOT = {str(collected_static)!r};"
        "import django; django.setup();"
        "from django.test import Client;"
        "Client().get('/no-such-page/?q=<script>', secure=True, HTTP_HOST='digest.example')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={
            **clean,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "digest.example",
        },
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    not_found = [line for line in lines if line["logger"] == "django.request"]
    assert not_found, result.stderr
    record = not_found[0]
    assert record["level"] == "WARNING"
    assert record["status_code"] == 404
    assert record["method"] == "GET"
    assert record["path"] == "/no-such-page/?q=%3Cscript%3E"
    assert record["message"].startswith("Not Found")
    assert record["time"].endswith("+00:00")  # ISO 8601, UTC


def outage_record(n):
    try:
        raise OperationalError("the database is away")
    except OperationalError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            n,
            "Service Unavailable: /",
            (),
            sys.exc_info(),
        )
    record.status_code = 503
    return record


def test_an_outage_logs_one_traceback_per_interval_not_one_per_request():
    outage = OutageTracebacks()
    first, second = outage_record(1), outage_record(2)
    assert outage.filter(first) and outage.filter(second)
    assert first.exc_info and first.levelname == "ERROR"
    assert second.exc_info is None and second.levelname == "WARNING"
    outage.last_traceback -= OutageTracebacks.interval
    third = outage_record(3)
    outage.filter(third)
    assert third.exc_info and third.levelname == "ERROR"
    other_error = outage_record(4)
    other_error.status_code = 500
    outage.filter(other_error)
    assert other_error.exc_info and other_error.levelname == "ERROR"


def postgres_options(url):
    script = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'digestsite.settings';"
        "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**clean, "DATABASE_URL": url},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_database_that_does_not_answer_is_given_up_on_within_seconds():
    assert "'connect_timeout': 3" in postgres_options("postgres://u@db.example/digest")
    assert "'keepalives_idle': 10" in postgres_options("postgres://u@db.example/digest")
    assert "'connect_timeout': 7," in postgres_options(
        "postgres://u@db.example/digest?connect_timeout=7"
    )


# Read replicas


@pytest.fixture
def one_replica(monkeypatch):
    """A replica alias as settings make one from DATABASE_REPLICA_URLS (no
    query is sent to it here: the tests look at where reads would go)."""
    from operations import db_routers

    monkeypatch.setattr(db_routers, "replica_aliases", lambda: ["replica1"])
    monkeypatch.setattr(page_cache, "replica_aliases", lambda: ["replica1"])


def alias_read_during(request):
    chosen = {}

    def view(request):
        chosen["alias"] = PrimaryReplicaRouter().db_for_read(Entry)
        return HttpResponse()

    ReplicaReadsMiddleware(view)(request)
    return chosen["alias"]


def test_public_pages_read_from_a_replica_and_everything_else_from_the_primary(one_replica):
    factory = RequestFactory()
    assert alias_read_during(factory.get("/issues/")) == "replica1"
    assert alias_read_during(factory.head("/en/entries/")) == "replica1"
    assert alias_read_during(factory.get("/admin/papers/issue/")) == "default"
    assert alias_read_during(factory.post("/issues/")) == "default"
    assert PrimaryReplicaRouter().db_for_read(Entry) == "default"  # outside a request
    assert PrimaryReplicaRouter().db_for_write(Entry) == "default"
    assert not PrimaryReplicaRouter().allow_migrate("replica1", "papers")


def test_without_replicas_everything_reads_from_the_primary():
    assert alias_read_during(RequestFactory().get("/issues/")) == "default"


def test_pages_are_not_cached_while_a_replica_may_lag(one_replica, settings, db):
    from django.utils import timezone

    settings.DATABASE_REPLICA_LAG_SECONDS = 5
    fresh = page_cache.State("t", timezone.now(), None, 0, 0)
    older = fresh._replace(started=timezone.now() - timezone.timedelta(seconds=6))
    assert page_cache.replicas_may_lag(fresh)
    assert not page_cache.replicas_may_lag(older)
