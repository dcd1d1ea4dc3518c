"""Soak: the site under load while its database restarts and its cache goes away.

Run from the project folder (``make soak`` runs it at the defaults)::

    .venv/bin/python bench/soak.py                  # 60 s of load, the faults on a timeline
    .venv/bin/python bench/soak.py --duration 40    # shorter, the timeline scaled to fit

What it does, and why this way:

- It makes its OWN PostgreSQL cluster and redis-server (bench/soak_services.py)
  on free ports, because it stops and restarts them: the machine's shared
  PostgreSQL (5432) and Redis (6379) serve other people's tests and CI.
- It migrates, loads a generated archive (``generate_archive``, a few thousand
  entries) and the seed roundup, creates editor accounts, collects static files.
- It starts several gunicorn masters (``--servers``, each with ``--workers``
  sync workers, DJANGO_DEBUG=0) on different ports, all on the same database
  and Redis, as several application servers behind a load balancer would be.
- 64 readers (``--readers``) load a realistic mix of public URLs, spread over
  the servers, for ``--duration`` seconds; a prober per server asks for a
  never-cached search every second; editors (``--editors``) sign in to the admin
  and save entries and an issue with unique markers (bench/soak_load.py).
- Faults, on a timeline: at 25% of the run PostgreSQL is stopped (fast
  shutdown) for ``--pg-down`` seconds and started again; from half-way Redis is
  stopped (SIGTERM, so it saves its snapshot) for ``--redis-down`` seconds and
  started again with that snapshot, as a restarted production Redis would be
  (the editors are held around it: see Faults).
- After the load, what the editors saw is compared with what the database
  holds, and every edited page is read from every server, which must show the
  latest stored text (no page cached before an edit served after it).

The rules (bench/soak_report.py), any broken one makes the exit status 1:
every reader answer is a 200, except the site's clean 503 page while
PostgreSQL is down and for ``--recovery-limit`` seconds after it is back; each
server answers the prober with a 200 within that limit; every save the client
saw stored is in the database, none is unclear, none lost; no stale page at
the end. A save refused but stored all the same is counted and reported.

The figures go to docs/soak.md and docs/soak.json. Everything the script
started (gunicorn, both servers, their temporary folder) is removed however
the run ends, Ctrl-C included.
"""

import argparse
import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import soak_load
import soak_report
from soak_services import PrivatePostgres, PrivateRedis, ServiceError, free_port, make_root

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DATABASE = "soak"
# How long to wait for an editor's last request after the deadline.
REQUEST_JOIN = soak_load.REQUEST_TIMEOUT + 5
# Variables of the caller's environment that would point the site elsewhere.
SCRUBBED_ENV = ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DIGEST_PAGE_CACHE", "DJANGO_DEBUG",
                "DJANGO_SETTINGS_MODULE", "DJANGO_HTTPS", "DJANGO_ALLOWED_HOSTS")


def progress(message):
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def fail(message):
    sys.exit(f"soak: {message}")


def stop_on_signals():
    """SIGTERM and SIGHUP end the run like Ctrl-C, through the clean-up below."""

    def raise_exit(signum, frame):
        raise SystemExit(f"soak: stopped by signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_exit)


# -- The site's environment and set-up ----------------------------------------------------


def site_env(postgres, redis):
    """Production settings (digestsite/settings.py) on the private services.
    DJANGO_HTTPS=0: plain HTTP on loopback, as the settings allow for this."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_HTTPS="0",
        DJANGO_SECRET_KEY="soak-run-not-a-secret",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=postgres.url(DATABASE),
        REDIS_URL=redis.url(0),
        DJANGO_LOG_LEVEL=env.get("DJANGO_LOG_LEVEL", "WARNING"),
    )
    return env


def manage(env, *arguments, timeout=600):
    result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        fail(f"`manage.py {' '.join(arguments)}` failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def soak_django(env, *arguments):
    result = subprocess.run([sys.executable, str(BENCH_DIR / "soak_django.py"), *arguments],
                            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        fail(f"soak_django.py {arguments[0]} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def set_up_site(env, args):
    """Schema, a generated archive, then the seed roundup (generate_archive
    refuses a database that already has issues), editors, static files."""
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    progress(f"generate_archive --entries {args.entries} --issues {args.issues}")
    manage(env, "generate_archive", "--entries", str(args.entries), "--issues", str(args.issues),
           "--tags", str(max(20, args.entries // 20)), "--verbosity", "0")
    manage(env, "load_seed")
    manage(env, "collectstatic", "--noinput")
    plan = soak_django(env, "prepare", "--editors", str(args.editors))
    plan["setup_seconds"] = round(time.monotonic() - started, 1)
    return plan


# -- Gunicorn ------------------------------------------------------------------------------


def gunicorn_command(port, args):
    app = ["digestsite.wsgi:application"]
    if args.without_lost_write_recovery:
        app = ["soak_wsgi:application", "--pythonpath", "bench"]
    return [str(VENV_BIN / "gunicorn"), *app, "--bind", f"{HOST}:{port}",
            "--workers", str(args.workers), "--timeout", "30", "--log-level", "warning"]


class Servers:
    """Several gunicorn masters, each in its own process group, logs in the temp folder."""

    def __init__(self, env, args, root):
        self.env, self.args, self.root = env, args, root
        self.ports, self.processes, self.logs = [], [], []

    def start(self):
        port = self.args.port
        for number in range(self.args.servers):
            port = free_port(port)
            log_path = self.root / f"gunicorn-{number}.log"
            with open(log_path, "w") as log:
                self.processes.append(subprocess.Popen(
                    gunicorn_command(port, self.args), cwd=BASE_DIR, env=self.env,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            self.ports.append(port)
            self.logs.append(log_path)
            port += 1
        for process, port in zip(self.processes, self.ports, strict=True):
            self.wait_until_serving(process, port)

    @staticmethod
    def wait_until_serving(process, port, limit=60):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServiceError(f"gunicorn on port {port} exited with {process.returncode}")
            with contextlib.suppress(OSError, ConnectionError, TimeoutError):
                status, _, _ = soak_load.asyncio.run(soak_load.fetch(port, "/robots.txt", 5))
                if status == 200:
                    return
            time.sleep(0.3)
        raise ServiceError(f"gunicorn on port {port} did not answer within {limit} s")

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log_summary(self):
        """What the servers logged, by kind (bench/soak_report.py's log_kinds)."""
        summary = []
        for number, path in enumerate(self.logs):
            text = path.read_text(errors="replace") if path.exists() else ""
            summary.append({"server": number, "lines": len(text.splitlines()),
                            "tracebacks": text.count("Traceback"),
                            "kinds": soak_report.log_kinds(text)})
        return summary


def check_urls(ports, urls):
    """Every URL must answer 200 before the run: a 404 in the mix would be
    counted as an error or, worse, as a fast page. Each through one server,
    in turn (they run the same code on the same data), to keep set-up short."""

    async def check_all():
        bad = []
        for number, target in enumerate(urls):
            port = ports[number % len(ports)]
            status, _, _ = await soak_load.fetch(port, target["url"])
            if status != 200:
                bad.append(f"{target['url']} -> {status} (port {port})")
        return bad

    bad = soak_load.asyncio.run(check_all())
    if bad:
        fail("some URLs do not answer 200 before any fault:\n  " + "\n  ".join(bad[:20]))


def healthz_available(port):
    with contextlib.suppress(Exception):
        status, _, _ = soak_load.asyncio.run(soak_load.fetch(port, "/healthz", 10))
        return status in (200, 503)
    return False


# -- The faults ----------------------------------------------------------------------------


class Faults(threading.Thread):
    """Stops and starts the private services at their times; records when.

    Around the Redis outage it also holds the editors (soak_load.Gate): held
    and the edited pages read (so cached) just before Redis stops, editing
    while it is down, held again before it starts, and held to the end. So
    Redis saves a snapshot with those pages in it, the last saves are made
    while it cannot be told of them, and pages served after its restart show
    whether the site forgot the pages it cached before (see freshness())."""

    def __init__(self, postgres, redis, t0, args, gate, ports, pages):
        super().__init__(name="faults", daemon=True)
        self.postgres, self.redis, self.t0, self.args = postgres, redis, t0, args
        self.gate, self.ports, self.pages = gate, ports, pages
        self.events = {}
        self.error = None

    def at(self, seconds):
        time.sleep(max(0.0, self.t0 + seconds - time.monotonic()))

    def mark(self, name):
        self.events[name] = round(time.monotonic() - self.t0, 3)
        progress(f"  t={self.events[name]:5.1f} s  {name.replace('_', ' ')}")

    def run(self):
        try:
            duration = self.args.duration
            self.at(duration * 0.25)
            self.mark("pg_stop")
            self.postgres.stop()
            self.mark("pg_stopped")
            self.at(self.events["pg_stop"] + min(self.args.pg_down, duration * 0.15))
            self.mark("pg_start")
            self.postgres.start()
            self.mark("pg_ready")
            # Holding the editors and reading the pages takes a few seconds under load.
            self.at(max(duration * 0.5, self.events["pg_ready"] + self.args.recovery_limit + 1))
            self.hold_editors("editors_held")
            self.read_edited_pages()
            self.mark("redis_stop")
            self.redis.stop()
            self.mark("redis_stopped")
            self.gate.open.set()
            self.mark("editors_resumed")
            # Back before the end, with time left (15%) to see the site use it again.
            down = max(2.0, min(self.args.redis_down,
                                duration * 0.85 - self.events["redis_stop"]))
            self.at(self.events["redis_stop"] + down * 0.6)
            self.hold_editors("editors_held_again")
            self.at(self.events["redis_stop"] + down)
            self.mark("redis_start")
            self.redis.start()
            self.mark("redis_ready")
        except Exception as error:  # reported; the run fails on it
            self.error = f"{type(error).__name__}: {error}"
            progress(f"fault injection failed: {self.error}")
            self.gate.open.clear()

    def hold_editors(self, event):
        self.mark(event)
        if not self.gate.close_and_wait(limit=REQUEST_JOIN):
            self.mark(f"{event}_not_all_idle")

    def read_edited_pages(self):
        """Each edited page through each server, all at once, twice: the first
        read may render and cache it, the second is then a hit."""

        async def read_all():
            reads = [soak_load.fetch(port, page) for port in self.ports for page in self.pages]
            return await soak_load.asyncio.gather(*reads, return_exceptions=True)

        for _ in range(2):
            soak_load.asyncio.run(read_all())


# -- The run -------------------------------------------------------------------------------


def run_load(plan, servers, postgres, redis, args):
    """Readers (child process), editors (threads) and faults, from one zero."""
    run_id = soak_load.new_run_id()
    t0 = time.monotonic() + 1.0
    deadline = t0 + args.duration
    urls = plan["urls"]
    config = {"urls": urls, "weights": [u["weight"] for u in urls], "ports": servers.ports,
              "t0": t0, "deadline": deadline, "readers": args.readers, "seed": args.seed,
              "run_id": run_id, "healthz": healthz_available(servers.ports[0])}
    queue = multiprocessing.get_context("fork").Queue()
    readers = multiprocessing.get_context("fork").Process(
        target=soak_load.run_readers, args=(config, queue), daemon=True)
    readers.start()  # before any thread of ours exists: fork with threads is unsafe
    entry_targets = [t for t in plan["targets"] if t["model"] == "entry"]
    issue_target = [t for t in plan["targets"] if t["model"] == "issue"]
    gate = soak_load.Gate()
    pages = sorted({f"/issues/{t['issue']}/" for t in plan["targets"]})
    faults = Faults(postgres, redis, t0, args, gate, servers.ports, pages)
    editors = []
    for number, username in enumerate(plan["editors"]):
        last = number == len(plan["editors"]) - 1
        mine = issue_target if last and issue_target else entry_targets[number::max(
            1, len(plan["editors"]) - 1)] or entry_targets
        editors.append(soak_load.Editor(number, username, plan["password"], servers.ports,
                                        mine, (t0, deadline), run_id, args.seed + number, gate))
    for editor in editors:
        editor.start()
    faults.start()
    progress(f"load: {args.readers} readers, {len(editors)} editors, {len(servers.ports)} "
             f"servers, {args.duration} s (run {run_id})")
    records = queue.get(timeout=args.duration + 120)
    readers.join(timeout=30)
    faults.join(timeout=60)
    for editor in editors:
        editor.join(timeout=REQUEST_JOIN)
    return {"t0": t0, "run_id": run_id, "records": records, "events": faults.events,
            "fault_error": faults.error, "healthz": config["healthz"],
            "editors": [{"name": e.username, "attempts": e.attempts,
                         "form_failures": e.form_failures, "error": e.error,
                         "alive": e.is_alive()} for e in editors]}


def freshness(plan, servers, texts):
    """Each edited page, through each server: the latest stored marker must be on it."""
    checks = []
    for target in plan["targets"]:
        text = texts[target["model"]].get(str(target["pk"]), "")
        markers = soak_report.markers_in(text)
        if not markers:
            continue
        latest = markers[-1]
        for number, port in enumerate(servers.ports):
            status, headers, body = soak_load.asyncio.run(
                soak_load.fetch(port, f"/issues/{target['issue']}/"))
            page = soak_load.decoded(headers, body).decode("utf-8", "replace")
            checks.append({"target": f"{target['model']}:{target['pk']}", "server": number,
                           "status": status, "marker": latest, "fresh": latest in page})
    return checks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--readers", type=int, default=64, help="concurrent readers (64)")
    parser.add_argument("--editors", type=int, default=4,
                        help="editor sessions; the last edits an issue, the others entries (4)")
    parser.add_argument("--servers", type=int, default=2, help="gunicorn masters (2)")
    parser.add_argument("--workers", type=int, default=2, help="sync workers per master (2)")
    parser.add_argument("--entries", type=int, default=3000, help="generated entries (3000)")
    parser.add_argument("--issues", type=int, default=100, help="generated issues (100)")
    parser.add_argument("--pg-down", type=float, default=5.0,
                        help="seconds from stopping PostgreSQL to starting it again (5)")
    parser.add_argument("--redis-down", type=float, default=12.0,
                        help="seconds Redis stays stopped (12)")
    parser.add_argument("--recovery-limit", type=float, default=5.0,
                        help="seconds after PostgreSQL is back within which 503s are allowed")
    parser.add_argument("--port", type=int, default=8791, help="first gunicorn port (8791)")
    parser.add_argument("--pg-port", type=int, default=54329)
    parser.add_argument("--redis-port", type=int, default=63799)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", type=Path,
                        help="report (default docs/soak.md; /tmp/soak-check.md for a check)")
    parser.add_argument("--json", type=Path,
                        help="figures (default docs/soak.json; /tmp/soak-check.json for a check)")
    parser.add_argument("--without-lost-write-recovery", action="store_true",
                        help="serve bench/soak_wsgi.py, which switches off the renewal of "
                             "the page cache after lost writes: the run must then fail")
    parser.add_argument("--keep-logs", action="store_true",
                        help="copy the servers' logs to /tmp/soak-logs before clean-up")
    args = parser.parse_args(argv)
    if args.duration < 40:
        parser.error("--duration must be at least 40 s to fit both faults and the "
                     "recovery after each")
    # A run that breaks the site on purpose does not overwrite the published figures.
    folder, name = ((Path("/tmp"), "soak-check") if args.without_lost_write_recovery
                    else (BASE_DIR / "docs", "soak"))
    args.markdown = args.markdown or folder / f"{name}.md"
    args.json = args.json or folder / f"{name}.json"
    return args


def main(argv=None):
    args = parse_args(argv)
    stop_on_signals()
    os.chdir(BASE_DIR)
    started = time.monotonic()
    load_before = os.getloadavg()
    root = make_root()
    postgres = PrivatePostgres(free_port(args.pg_port), root)
    redis = PrivateRedis(free_port(args.redis_port), root)
    servers = None
    try:
        progress(f"private PostgreSQL on {HOST}:{postgres.port}, Redis on {HOST}:{redis.port} "
                 f"(in {root})")
        postgres.create()
        postgres.createdb(DATABASE)
        redis.start()
        env = site_env(postgres, redis)
        plan = set_up_site(env, args)
        progress(f"site ready in {plan['setup_seconds']} s: {plan['counts']}, "
                 f"{len(plan['urls'])} URLs")
        servers = Servers(env, args, root)
        servers.start()
        check_urls(servers.ports, plan["urls"])
        run = run_load(plan, servers, postgres, redis, args)
        progress("load done; reading what the database holds")
        if not redis.ready():
            redis.start()
        ids = {model: ",".join(str(t["pk"]) for t in plan["targets"] if t["model"] == model)
               for model in ("entry", "issue")}
        texts = soak_django(env, "texts", "--entries", ids["entry"], "--issues", ids["issue"])
        run["freshness"] = freshness(plan, servers, texts)
        run["texts"] = texts
        run["server_logs"] = servers.log_summary()
        run["versions"] = {"postgresql": postgres.version(), "redis": redis.version()}
        if args.keep_logs:
            keep = Path("/tmp/soak-logs")
            keep.mkdir(exist_ok=True)
            for path in servers.logs:
                shutil.copy(path, keep / path.name)
    finally:
        if servers:
            servers.stop()
        redis.destroy()
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)
    report = soak_report.build(args, sys.argv, plan, run, {
        "load_before": load_before, "load_after": os.getloadavg(),
        "seconds": round(time.monotonic() - started, 1),
        "gunicorn": soak_report.relative_command(gunicorn_command(args.port, args)),
    })
    print(soak_report.console(report))
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    args.markdown.write_text(soak_report.markdown(report))
    progress(f"wrote {args.markdown} and {args.json}")
    if report["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
