"""The deployment files and docs stay true to the code: every setting read from
the environment is documented, gunicorn's configuration loads the site, and
the systemd units run what the repository has."""

import configparser
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
DEPLOY = PROJECT / "deploy"
READ_FROM_ENV = re.compile(r'(?:environ\.get|env_bool|env_list)\(\s*"([A-Z][A-Z0-9_]+)"')


def production_env(**extra):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CACHE_"))
    }
    example = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            example[name] = value
    return {**clean, **example, **extra}


def test_every_environment_variable_the_settings_read_is_documented():
    read = set(READ_FROM_ENV.findall((PROJECT / "digestsite" / "settings.py").read_text()))
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "DJANGO_HTTPS"} <= read  # the pattern works
    documented = (PROJECT / "docs" / "deployment.md").read_text()
    missing = sorted(name for name in read if f"`{name}`" not in documented)
    assert missing == [], f"add these to docs/deployment.md: {missing}"


def check_deploy(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=production_env(**env),
        capture_output=True,
        text=True,
    )


def test_the_example_environment_passes_check_deploy_once_given_a_real_secret():
    result = check_deploy(DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 0, result.stdout + result.stderr
    # The example's placeholder key is refused, so the service will not start with it.
    assert "security.W009" in check_deploy().stderr


def test_gunicorn_configuration_loads_the_site():
    result = subprocess.run(
        [
            str(PROJECT / ".venv" / "bin" / "gunicorn"),
            "--check-config",
            "-c",
            "deploy/gunicorn.conf.py",
            "digestsite.wsgi",
        ],
        cwd=PROJECT,
        env=production_env(DJANGO_SECRET_KEY="g" * 50),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def read_unit(name):
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string((DEPLOY / "systemd" / name).read_text())
    return unit


def test_the_systemd_units_run_what_the_repository_has():
    service = read_unit("paper-digest.service")["Service"]
    start = shlex.split(service["ExecStart"])
    assert start[0] == "/srv/paper-digest/.venv/bin/gunicorn"
    assert (PROJECT / start[start.index("-c") + 1]).is_file()
    assert start[-1] == "digestsite.wsgi"
    assert service["Type"] == "notify"  # gunicorn tells systemd when it is ready
    assert service["EnvironmentFile"] == "/etc/paper-digest/env"
    check = shlex.split(service["ExecStartPre"])
    assert check[1:] == ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]

    backup = read_unit("paper-digest-backup.service")["Service"]
    assert "manage.py backup_archive" in backup["ExecStart"]
    assert (PROJECT / "operations" / "management" / "commands" / "backup_archive.py").is_file()
    assert read_unit("paper-digest-backup.timer")["Timer"]["OnCalendar"]
