"""The soak's own PostgreSQL and Redis, which it may stop and restart at will.

The machine's PostgreSQL (127.0.0.1:5432) and Redis (6379) serve other
engineers' tests and CI: a fault injected there would break their runs. So the
soak makes a private PostgreSQL cluster (``initdb`` into a temporary folder, run
as the ``postgres`` OS user, as the server refuses to run as root) and a private
redis-server, each on a port of its own, and removes both at the end.

Redis is configured like Debian's packaged one (RDB snapshots, saved on
shutdown), because that is what makes a restart interesting: it comes back
with the keys it had when it stopped, including a content generation that
edits made during the outage could not forget.
"""

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common.site_server import HOST, port_in_use

PG_BIN_ROOT = Path("/usr/lib/postgresql")
PG_USER = "postgres"
# Debian's /etc/redis/redis.conf snapshot points: saved at shutdown too.
REDIS_SAVE = "3600 1 300 100 60 10000"


class ServiceError(RuntimeError):
    pass


def wait_for(check, limit, what):
    """Poll ``check`` every 0.1 s until it is true, for at most ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} not ready within {limit} s")


def pg_bindir():
    versions = sorted(
        (p for p in PG_BIN_ROOT.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ServiceError(
            f"no PostgreSQL server binaries under {PG_BIN_ROOT} (apt-get install postgresql)"
        )
    return versions[-1]


class PrivatePostgres:
    """A throw-away cluster: trust authentication on 127.0.0.1 only."""

    def __init__(self, port, root):
        self.port = port
        self.bindir = pg_bindir()
        self.dir = Path(root) / "postgres"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"

    def url(self, database):
        return f"postgres://{PG_USER}@{HOST}:{self.port}/{database}"

    def _as_postgres(self, *command, check=True, timeout=60):
        """Run a server binary as the postgres OS user when we are root (the
        server refuses root), as ourselves otherwise."""
        prefix = ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, str(self.bindir / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise ServiceError(f"{command[0]} failed: {result.stdout}{result.stderr}")
        return result

    def create(self):
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            uid = pwd.getpwnam(PG_USER).pw_uid
            os.chown(self.dir, uid, -1)
            os.chown(self.dir.parent, uid, -1)
        self._as_postgres(
            "initdb",
            "-D",
            str(self.data),
            "--auth=trust",
            "-U",
            PG_USER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '{HOST}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\nmax_connections = 100\n"
                "log_min_messages = warning\n"
            )
        self.start()

    def start(self):
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start"
        )

    def stop(self, check=True):
        """A fast shutdown, as ``systemctl stop``/``restart`` does: open
        connections are cut, transactions in flight are rolled back."""
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop", check=check
        )

    def ready(self):
        return (
            port_in_use(self.port)
            and self._as_postgres(
                "pg_isready", "-h", HOST, "-p", str(self.port), "-t", "1", check=False
            ).returncode
            == 0
        )

    def version(self):
        result = self._as_postgres("postgres", "--version", check=False)
        return result.stdout.strip().removeprefix("postgres (PostgreSQL) ")

    def createdb(self, name):
        self._as_postgres("createdb", "-h", HOST, "-p", str(self.port), "-U", PG_USER, name)

    def destroy(self):
        with contextlib.suppress(Exception):
            if (self.data / "postmaster.pid").exists():
                self.stop(check=False)
        # An immediate stop if a fast one did not end it (a hung backend, say).
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            with contextlib.suppress(Exception):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)


class PrivateRedis:
    """A redis-server process of our own, snapshotting into the temp folder."""

    def __init__(self, port, root):
        self.port = port
        self.dir = Path(root) / "redis"
        self.process = None
        self.executable = shutil.which("redis-server")
        if not self.executable:
            raise ServiceError("redis-server is not installed (apt-get install redis-server)")

    def url(self, db=0):
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        log = open(self.dir / "server.log", "a")  # noqa: SIM115 - kept by the process
        self.process = subprocess.Popen(
            [
                self.executable,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--save",
                REDIS_SAVE,
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(self.ready, 15, f"redis-server on port {self.port}")

    def ready(self):
        import redis

        try:
            return redis.Redis(
                host=HOST, port=self.port, socket_timeout=1, socket_connect_timeout=1
            ).ping()
        except redis.RedisError:
            return False

    def stop(self):
        """SIGTERM, as ``systemctl stop`` sends: Redis saves its snapshot and exits."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def version(self):
        result = subprocess.run([self.executable, "--version"], capture_output=True, text=True)
        for word in result.stdout.split():
            if word.startswith("v="):
                return word[2:]
        return "unknown"

    def destroy(self):
        with contextlib.suppress(Exception):
            self.stop()


def make_root():
    """The temporary folder that holds both servers' data, readable by ``postgres``."""
    root = Path(tempfile.mkdtemp(prefix="soak-"))
    root.chmod(0o755)
    return root
