"""Settings come from the environment; production refuses to start without a secret."""

import os
import subprocess
import sys
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import translation

PROJECT = Path(__file__).resolve().parents[2]


def load_settings(**env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'digestsite.settings';"
            "from django.conf import settings;"
            "print(settings.DEBUG, settings.DATABASES['default']['ENGINE'], "
            "settings.ALLOWED_HOSTS)",
        ],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_nothing_set_the_site_runs_for_development_on_sqlite():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True django.db.backends.sqlite3")


def test_outside_debug_a_missing_secret_key_stops_start_up():
    result = load_settings(DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_come_from_the_environment():
    result = load_settings(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="s" * 50,
        DJANGO_ALLOWED_HOSTS="digest.example",
        DATABASE_URL="postgres://u@db.example:5432/digest",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False django.db.backends.postgresql ['digest.example']"


def test_the_server_error_page_stands_alone():
    """Rendered with no request and no context, in the language of the request
    that failed (Django's handler runs in that request's thread)."""
    with translation.override("zh-hans"):
        html = render_to_string("500.html")
    assert "服务器出错了" in html and "{%" not in html and 'lang="zh-Hans"' in html
    with translation.override("en"):
        html = render_to_string("500.html")
    assert "Server error" in html and 'href="/en/"' in html
