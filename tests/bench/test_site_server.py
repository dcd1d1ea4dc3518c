"""bench.common.site_server: the environment of a server process and its ports."""

import socket

from bench.common import site_server


def test_a_server_gets_production_settings_and_none_of_the_callers_services(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db/theirs")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("DJANGO_DEBUG", "1")
    monkeypatch.setenv("DIGEST_PAGE_CACHE", "0")
    env = site_server.site_env("sqlite:////tmp/scratch.sqlite3")
    assert env["DATABASE_URL"] == "sqlite:////tmp/scratch.sqlite3"
    assert env["DJANGO_DEBUG"] == "0" and env["DJANGO_HTTPS"] == "0"
    assert env["DJANGO_SECRET_KEY"]
    assert not {"REDIS_URL", "CACHE_URL", "DIGEST_PAGE_CACHE"} & set(env)

    shared = site_server.site_env("sqlite:///x", redis_url="redis://127.0.0.1:1/2", debug=True)
    assert shared["REDIS_URL"] == "redis://127.0.0.1:1/2" and shared["DJANGO_DEBUG"] == "1"
    assert site_server.site_env("sqlite:///x", page_cache=False)["DIGEST_PAGE_CACHE"] == "0"


def test_a_free_port_is_one_nothing_listens_on():
    with socket.socket() as listener:
        listener.bind((site_server.HOST, 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert site_server.port_in_use(taken)
        assert site_server.free_port(taken) != taken
        assert not site_server.port_in_use(site_server.free_port())


def test_the_command_line_is_gunicorn_from_this_environment():
    command = site_server.gunicorn_command(8765, 5, timeout=30)
    assert command == [
        str(site_server.GUNICORN),
        "digestsite.wsgi:application",
        "--bind",
        "127.0.0.1:8765",
        "--workers",
        "5",
        "--timeout",
        "30",
        "--log-level",
        "warning",
    ]


def test_more_than_one_thread_makes_gthread_workers():
    command = site_server.gunicorn_command(8765, 2, threads=4)
    assert command[command.index("--threads") + 1] == "4"
    assert "--threads" not in site_server.gunicorn_command(8765, 2, threads=1)
