"""The site served as in production, by gunicorn on a loopback port.

The HTTP benchmark, the soak and the two-server tests all run the real thing
rather than the test client, because what they measure or check (several
worker processes, a shared cache, a database that goes away) only exists
there. They need the same four things, and each had its own copy:

- the environment of a server process: the settings of digestsite/settings.py
  from variables, the caller's own database and cache variables removed so that
  the server cannot reach the developer's database or Redis by accident;
- gunicorn's command line, from the same virtual environment as the caller;
- starting it in a process group of its own, waiting until it answers, and
  stopping it (SIGTERM for a clean stop, then SIGKILL to the whole group, so
  no worker outlives the run however the caller ends);
- a free port.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
HOST = "127.0.0.1"
SITE_APP = "digestsite.wsgi:application"
# Variables of the caller's environment that would point the site elsewhere.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "CACHE_URL",
    "DIGEST_PAGE_CACHE",
    "DJANGO_DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_HTTPS",
    "DJANGO_ALLOWED_HOSTS",
    "DIGEST_FRONT_CACHES",
)
START_LIMIT = 60  # seconds for a server to answer
STOP_LIMIT = 20  # seconds for gunicorn's master to stop its workers


class ServerError(RuntimeError):
    """A server that did not start, did not answer, or a command that failed."""


def site_env(database_url, redis_url=None, page_cache=True, debug=False):
    """The settings of a server process (or a ``manage.py`` run for it).

    DEBUG off, as in production, unless ``debug``: DEBUG off needs static files
    collected into the project's STATIC_ROOT. DJANGO_HTTPS=0 because the server
    speaks plain HTTP on loopback (docs/deployment.md). Without ``redis_url``
    the page cache is each process's own memory; ``page_cache=False`` turns it
    off, so that every request is computed."""
    env = {name: value for name, value in os.environ.items() if name not in SCRUBBED_ENV}
    env.update(
        DJANGO_DEBUG="1" if debug else "0",
        DJANGO_HTTPS="0",
        DJANGO_SECRET_KEY="bench-site-server-not-a-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        DJANGO_LOG_LEVEL=env.get("DJANGO_LOG_LEVEL", "WARNING"),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    if not page_cache:
        env["DIGEST_PAGE_CACHE"] = "0"
    return env


def manage(env, *arguments, timeout=None):
    """``manage.py`` in a child process with ``env``: the caller may set up
    several databases in one run, and Django is set up once per process."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise ServerError(
            f"`manage.py {' '.join(arguments)}` failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def gunicorn_command(port, workers, app=SITE_APP, timeout=None, threads=1):
    """``workers`` processes of ``threads`` threads each (more than one thread
    makes them gthread workers, as deploy/gunicorn.conf.py runs them; one, sync
    workers); warnings and errors only in the log."""
    command = [str(GUNICORN), app, "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    if threads > 1:
        command += ["--threads", str(threads)]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    return [*command, "--log-level", "warning"]


# -- Ports ---------------------------------------------------------------------------------


def port_in_use(port):
    """Something listens there (a benchmark on a fixed port would measure it)."""
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def free_port(preferred=None):
    """A port nothing listens on: ``preferred`` or the next free one up to 100
    above it (the reports name the ports), or, without a preference, one the
    system picks."""
    if preferred is None:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            return sock.getsockname()[1]
    for port in range(preferred, preferred + 100):
        if not port_in_use(port):
            return port
    raise ServerError(f"no free port in {preferred}-{preferred + 99}")


# -- One server ----------------------------------------------------------------------------


def get(port, path, headers=None, timeout=60):
    """One GET without following redirects: ``(status, headers, raw body)``."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


class SiteServer:
    """One gunicorn master in a process group of its own, its output in ``log``."""

    def __init__(self, port, env, log, workers=1, app=SITE_APP, timeout=None, threads=1):
        self.port, self.env, self.log = port, env, Path(log)
        self.command = gunicorn_command(port, workers, app, timeout, threads)
        self.process = None

    def start(self):
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_until_serving(self, path="/robots.txt", limit=START_LIMIT):
        """Up when ``path`` answers 200: a worker has loaded Django by then."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"gunicorn on port {self.port} exited with {self.process.returncode}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(self.port, path, timeout=5)[0] == 200:
                    return
            time.sleep(0.2)
        raise ServerError(f"gunicorn on port {self.port} did not answer within {limit} s")

    def terminate(self):
        """SIGTERM: gunicorn's master stops its workers and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()

    def stop(self):
        """Terminate, wait, then kill whatever is left of the process group."""
        if self.process is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_LIMIT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def log_tail(self, lines=30):
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def stop_all(servers):
    """Every server told to stop first, then each waited for: they stop together."""
    for server in servers:
        server.terminate()
    for server in servers:
        server.stop()


@contextlib.contextmanager
def serving(servers, path="/robots.txt"):
    """Start ``servers``, wait until each answers ``path``, stop them all at the end."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_until_serving(path)
        yield servers
    finally:
        stop_all(servers)


def exit_on_signals(name):
    """SIGTERM and SIGHUP end a run like Ctrl-C does, through the ``finally``
    blocks that stop the servers and drop the scratch databases."""

    def raise_exit(signum, frame):
        raise SystemExit(f"{name}: stopped by signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_exit)
