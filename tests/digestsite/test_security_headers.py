"""The production profile: `check --deploy` is clean, and every kind of response
carries the security headers and secure cookies a public site needs.

The production values are not restated here: the settings module is loaded in
a subprocess under a production environment, and the tests run with what it
computed, so a weakened default fails them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "production-test-key-" + "x7Qp2vLr9" * 6,
    "DJANGO_ALLOWED_HOSTS": "digest.example",
}
SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_REDIRECT_EXEMPT",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "LANGUAGE_COOKIE_SECURE",
    "LANGUAGE_COOKIE_HTTPONLY",
    "CONTENT_SECURITY_POLICY",
]


def run_with_production_env(*args, **extra_env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_"))
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT,
        env={**clean, **PRODUCTION_ENV, **extra_env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def production_settings():
    script = (
        "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'digestsite.settings';"
        "from django.conf import settings;"
        f"print(json.dumps({{name: getattr(settings, name) for name in {SECURITY_SETTINGS!r}}},"
        " default=str))"
    )
    result = run_with_production_env("-c", script)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def production(settings, production_settings):
    """This test's settings: the project's, with the production security values."""
    for name, value in production_settings.items():
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = ["digest.example", "testserver"]
    return production_settings


def test_check_deploy_reports_nothing_under_production_settings():
    result = run_with_production_env("manage.py", "check", "--deploy", "--fail-level", "DEBUG")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_would_notice_a_weakened_setting():
    result = run_with_production_env(
        "manage.py", "check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="0"
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS


def test_production_defaults_are_https_only(production_settings):
    assert production_settings["SECURE_SSL_REDIRECT"] is True
    assert production_settings["SECURE_HSTS_SECONDS"] >= 365 * 24 * 60 * 60
    for cookie in ("SESSION", "CSRF", "LANGUAGE"):
        assert production_settings[f"{cookie}_COOKIE_SECURE"] is True
        assert production_settings[f"{cookie}_COOKIE_HTTPONLY"] is True


def csp_directives(response):
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_security_headers(response, where):
    assert "unsafe-inline" not in response["Content-Security-Policy"], where
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"], where
    assert directives["script-src"] == ["'self'"], where
    assert directives["object-src"] == ["'none'"], where
    assert directives["base-uri"] == ["'none'"], where
    assert directives["frame-ancestors"] == ["'none'"], where
    assert directives["form-action"] == ["'self'"], where
    assert "upgrade-insecure-requests" in directives, where
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    ), where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where


def test_every_kind_of_response_carries_the_security_headers(production, seed, db):
    client = Client(raise_request_exception=False)
    entry = seed.entries.first()
    tag = entry.tags.first()
    addresses = {
        "home": reverse("reading:home"),
        "issue": seed.get_absolute_url(),
        "entries, searched": reverse("reading:entry_list") + "?q=幻觉",
        "tag": tag.get_absolute_url(),
        "paper": entry.get_absolute_url(),
        "English page": "/en/issues/",
        "Atom feed": reverse("reading:issues_feed_atom"),
        "BibTeX": reverse("reading:issue_bibtex", args=[seed.slug]),
        "API": "/api/issues",
        "OpenAPI schema": "/api/openapi.json",
        "sitemap": "/sitemap.xml",
        "robots.txt": "/robots.txt",
        "health": "/healthz",
        "admin sign-in": "/admin/login/",
        "404": "/issues/no-such-issue/",
        "400": reverse("reading:entry_list") + "?page=abc&tag=" + "x" * 3000,
    }
    for where, address in addresses.items():
        response = client.get(address, secure=True, HTTP_HOST="digest.example")
        assert response.status_code < 500, where
        assert_security_headers(response, where)
    assert client.get(addresses["404"], secure=True).status_code == 404
    # A page served from the page cache carries them too.
    cached = client.get(addresses["home"], secure=True, HTTP_HOST="digest.example")
    assert_security_headers(cached, "home, from the cache")


def test_plain_http_is_sent_to_https_but_health_checks_are_answered(production, seed):
    client = Client()
    response = client.get("/issues/", HTTP_HOST="digest.example")
    assert response.status_code == 301
    assert response["Location"] == "https://digest.example/issues/"
    assert client.get("/healthz", HTTP_HOST="digest.example").status_code == 200


def test_cookies_are_secure_http_only_and_same_site(production, seed):
    client = Client()
    login_page = client.get("/admin/login/", secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"

    User.objects.create_user("editor", password="a long editorial password", is_staff=True)
    signed_in = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": "editor",
            "password": "a long editorial password",
            "csrfmiddlewaretoken": csrf.value,
        },
        secure=True,
    )
    assert signed_in.status_code == 302
    session = signed_in.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"

    switched = client.get("/language/en/?next=/", secure=True)
    language = switched.cookies["django_language"]
    assert language["secure"] and language["httponly"] and language["samesite"] == "Lax"
