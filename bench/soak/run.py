"""Soak: the site under load while editors work, its database restarts and its cache goes away.

Run from the project folder (``make soak`` runs it at the defaults)::

    .venv/bin/python -m bench.soak.run                  # 90 s editing, then 60 s with faults
    .venv/bin/python -m bench.soak.run --duration 40    # shorter (CI): 15 s editing, 40 s faults

What it does, and why this way:

- It makes its OWN PostgreSQL cluster and redis-server (bench/soak/services.py)
  on free ports, because it stops and restarts them: the machine's shared
  PostgreSQL (5432) and Redis (6379) serve other people's tests and CI.
- It migrates, loads a generated archive (``generate_archive``, a few thousand
  entries) and the seed roundup, creates editor and Publisher accounts and a
  draft issue per editor, collects static files.
- It starts several gunicorn masters (``--servers``, each with ``--workers``
  sync workers, DJANGO_DEBUG=0: bench/common/site_server.py) on different
  ports, all on the same database and Redis, as several application servers
  behind a load balancer would be.
- 64 readers (``--readers``) load a realistic mix of public URLs, spread over
  the servers; a prober per server asks for a never-cached search every second.
- First the editing phase (``--editing`` seconds, no fault): the editors save
  their drafts every 2 s and a Publisher changes a published entry every 30 s
  (bench/soak/editing.py), while the readers, pausing between pages as people
  do, note on each page which version of the Publisher's entry it shows. It
  measures what editing costs readers and whether a published change reaches
  every reader once its save has returned (no stale page).
- Then the faults, for ``--duration`` seconds, with the editors saving
  published entries and an issue with unique markers (bench/soak/clients.py)
  and the readers loading pages one after another: at 25% of it PostgreSQL is
  stopped (fast shutdown) for ``--pg-down`` seconds and started again; from
  half-way Redis is stopped (SIGTERM, so it saves its snapshot) for
  ``--redis-down`` seconds and started again with that snapshot, as a restarted
  production Redis would be (the editors are held around it: see Faults).
- After the load, what the editors saw is compared with what the database
  holds, and every edited page is read from every server, which must show the
  latest stored text (no page cached before an edit served after it).

The rules (bench/soak/report.py), any broken one makes the exit status 1:
every reader answer is a 200, except the site's clean 503 page while
PostgreSQL is down and for ``--recovery-limit`` seconds after it is back; each
server answers the prober with a 200 within that limit; every save the client
saw stored is in the database, none is unclear, none lost; no stale page in
the editing phase nor at the end; no draft on a public page. A save refused
but stored all the same is counted and reported. The editing phase's latency
goal is reported as met or not and does not fail the run: it depends on the
machine as much as on the site (docs/soak.md).

The figures go to docs/soak.md and docs/soak.json. Everything the script
started (gunicorn, both servers, their temporary folder) is removed however
the run ends, Ctrl-C included.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from bench.common import site_server
from bench.common.site_server import BASE_DIR, HOST, SiteServer
from bench.soak import clients, editing, editing_report
from bench.soak import report as soak_report
from bench.soak.services import PrivatePostgres, PrivateRedis, make_root

DATABASE = "soak"
# How long to wait for an editor's last request after the deadline.
REQUEST_JOIN = clients.REQUEST_TIMEOUT + 5
# The editing phase: long enough for three of the Publisher's saves 30 s apart;
# in the short form (CI), one, so that the run takes about as long as before.
EDITING_SECONDS, SHORT_EDITING_SECONDS = 90, 15
# The Publisher's first save this long into the editing phase (readers have
# cached the pages by then), and none later than this long before its end
# (readers then load the pages after each).
PUBLISH_FIRST_AFTER = 3.0
PUBLISH_SETTLE = 10.0


def progress(message):
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def fail(message):
    sys.exit(f"soak: {message}")


# -- The site's environment and set-up ----------------------------------------------------


def site_env(postgres, redis):
    """Production settings (digestsite/settings.py) on the private services."""
    return site_server.site_env(postgres.url(DATABASE), redis_url=redis.url(0))


def manage(env, *arguments):
    return site_server.manage(env, *arguments, timeout=600)


def site_data(env, *arguments):
    """bench/soak/site_data.py in a child process: its JSON answer."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.soak.site_data", *arguments],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        fail(f"bench.soak.site_data {arguments[0]} failed:\n{result.stdout}{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def set_up_site(env, args):
    """Schema, a generated archive, then the seed roundup (generate_archive
    refuses a database that already has issues), editors, static files."""
    started = time.monotonic()
    manage(env, "migrate", "--noinput")
    progress(f"generate_archive --entries {args.entries} --issues {args.issues}")
    manage(
        env,
        "generate_archive",
        "--entries",
        str(args.entries),
        "--issues",
        str(args.issues),
        "--tags",
        str(max(20, args.entries // 20)),
        "--verbosity",
        "0",
    )
    manage(env, "load_seed")
    manage(env, "collectstatic", "--noinput")
    plan = site_data(
        env,
        "prepare",
        "--editors",
        str(args.editors),
        "--entries-per-draft",
        str(args.draft_entries),
    )
    plan["setup_seconds"] = round(time.monotonic() - started, 1)
    return plan


# -- Gunicorn ------------------------------------------------------------------------------


def server_options(args):
    """Gunicorn's options besides the port; ``--without-lost-write-recovery``
    serves bench/soak/wsgi_without_recovery.py instead of the site's WSGI app."""
    app = (
        "bench.soak.wsgi_without_recovery:application"
        if args.without_lost_write_recovery
        else site_server.SITE_APP
    )
    return {"workers": args.workers, "threads": args.threads, "app": app, "timeout": 30}


class Servers:
    """Several gunicorn masters (bench/common/site_server.py), logs in the temp folder."""

    def __init__(self, env, args, root):
        self.env, self.args, self.root = env, args, root
        self.servers = []

    @property
    def ports(self):
        return [server.port for server in self.servers]

    @property
    def logs(self):
        return [server.log for server in self.servers]

    def start(self):
        port = self.args.port
        for number in range(self.args.servers):
            port = site_server.free_port(port)
            self.servers.append(
                SiteServer(
                    port,
                    self.env,
                    self.root / f"gunicorn-{number}.log",
                    **server_options(self.args),
                ).start()
            )
            port += 1
        for server in self.servers:
            server.wait_until_serving()

    def stop(self):
        site_server.stop_all(self.servers)

    def log_summary(self):
        """What the servers logged, by kind (bench/soak/report.py's log_kinds)."""
        summary = []
        for number, path in enumerate(self.logs):
            text = path.read_text(errors="replace") if path.exists() else ""
            summary.append(
                {
                    "server": number,
                    "lines": len(text.splitlines()),
                    "tracebacks": text.count("Traceback"),
                    "kinds": soak_report.log_kinds(text),
                }
            )
        return summary


def check_urls(ports, urls, concurrency):
    """Every URL must answer 200 before the run: a 404 in the mix would be
    counted as an error or, worse, as a fast page. Each through one server, in
    turn (they run the same code on the same data), ``concurrency`` at a time
    (as many as the servers have workers), to keep set-up short. It also fills
    the page cache, as readers would have before the run."""

    async def check_all():
        limit = asyncio.Semaphore(concurrency)

        async def check(number, target):
            port = ports[number % len(ports)]
            async with limit:
                status, _, _ = await clients.fetch(port, target["url"])
            return None if status == 200 else f"{target['url']} -> {status} (port {port})"

        answers = await asyncio.gather(*(check(n, t) for n, t in enumerate(urls)))
        return [bad for bad in answers if bad]

    bad = asyncio.run(check_all())
    if bad:
        fail("some URLs do not answer 200 before any fault:\n  " + "\n  ".join(bad[:20]))


def healthz_available(port):
    with contextlib.suppress(Exception):
        status, _, _ = asyncio.run(clients.fetch(port, "/healthz", 10))
        return status in (200, 503)
    return False


# -- The faults ----------------------------------------------------------------------------


def machine_sample():
    """The load average and the CPU time counters (all processes, other people's
    included) now: two samples give how busy the machine was in between."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        # user nice system idle iowait irq softirq steal (guest time is in user already)
        ticks = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
        idle = ticks[3] + ticks[4]
        return {
            "loadavg": [round(x, 2) for x in os.getloadavg()],
            "busy": sum(ticks) - idle,
            "total": sum(ticks),
        }
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "busy": None, "total": None}


class Faults(threading.Thread):
    """The timeline: the editing phase first (bench/soak/editing.py), its start
    and end sampled for the machine's load, then the faults. Stops and starts
    the private services at their times; records when.

    Around the Redis outage it also holds the editors (clients.Gate): held
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
        self.machine = {}
        self.error = None

    def at(self, seconds):
        time.sleep(max(0.0, self.t0 + seconds - time.monotonic()))

    def mark(self, name):
        self.events[name] = round(time.monotonic() - self.t0, 3)
        progress(f"  t={self.events[name]:5.1f} s  {name.replace('_', ' ')}")

    def run(self):
        try:
            self.at(0)
            self.machine["editing_start"] = machine_sample()
            # The faults' timeline, as before the editing phase: from its end.
            start, duration = self.args.editing, self.args.duration
            self.at(start)
            self.machine["editing_end"] = machine_sample()
            self.mark("editing_end")
            self.at(start + duration * 0.25)
            self.mark("pg_stop")
            self.postgres.stop()
            self.mark("pg_stopped")
            self.at(self.events["pg_stop"] + min(self.args.pg_down, duration * 0.15))
            self.mark("pg_start")
            self.postgres.start()
            self.mark("pg_ready")
            # Holding the editors and reading the pages takes a few seconds under load.
            self.at(
                max(start + duration * 0.5, self.events["pg_ready"] + self.args.recovery_limit + 1)
            )
            self.hold_editors("editors_held")
            self.read_edited_pages()
            self.mark("redis_stop")
            self.redis.stop()
            self.mark("redis_stopped")
            self.gate.open.set()
            self.mark("editors_resumed")
            # Back before the end, with time left (15%) to see the site use it again.
            down = max(
                2.0,
                min(self.args.redis_down, start + duration * 0.85 - self.events["redis_stop"]),
            )
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
            reads = [clients.fetch(port, page) for port in self.ports for page in self.pages]
            return await asyncio.gather(*reads, return_exceptions=True)

        for _ in range(2):
            asyncio.run(read_all())


# -- The run -------------------------------------------------------------------------------


def editing_clients(plan, sessions, window, run_id, args):
    """The editing phase's draft editors (the editors' own sessions: the same
    people, before the faults) and its Publisher (bench/soak/editing.py)."""
    drafts = [
        editing.DraftEditor(
            number,
            session,
            draft,
            window,
            run_id,
            args.draft_interval,
            # Spread over the interval, as people who do not save in step.
            offset=args.draft_interval * number / len(plan["drafts"]),
            seed=args.seed + 100 + number,
        )
        for number, (session, draft) in enumerate(zip(sessions, plan["drafts"], strict=False))
    ]
    publisher = editing.Publisher(
        sessions[-1],
        plan["publisher"]["entry"],
        window,
        args.publish_interval,
        first_after=min(PUBLISH_FIRST_AFTER, args.editing / 5),
        settle=min(PUBLISH_SETTLE, args.editing / 3),
        seed=args.seed + 200,
    )
    return drafts, publisher


def run_load(plan, servers, postgres, redis, args):
    """Readers (child process), editors, the Publisher (threads) and faults, from one zero:
    the editing phase from it, the faults' timeline after it (Faults)."""
    run_id = clients.new_run_id()
    ports = servers.ports
    sessions = [
        clients.AdminSession(name, plan["password"], ports)
        for name in [*plan["editors"], plan["publisher"]["username"]]
    ]
    progress(f"signing in {len(sessions)} admin sessions")
    clients.sign_in_all(sessions)
    t0 = time.monotonic() + 1.0
    editing_end = t0 + args.editing
    deadline = editing_end + args.duration
    urls = plan["urls"]
    config = {
        "urls": urls,
        "weights": [u["weight"] for u in urls],
        "ports": ports,
        "t0": t0,
        "deadline": deadline,
        "editing_until": editing_end,
        "reader_pause": args.reader_pause,
        "readers": args.readers,
        "seed": args.seed,
        "run_id": run_id,
        "healthz": healthz_available(ports[0]),
    }
    queue = multiprocessing.get_context("fork").Queue()
    readers = multiprocessing.get_context("fork").Process(
        target=clients.run_readers, args=(config, queue), daemon=True
    )
    readers.start()  # before any thread of ours exists: fork with threads is unsafe
    drafts, publisher = editing_clients(plan, sessions, (t0, editing_end), run_id, args)
    entry_targets = [t for t in plan["targets"] if t["model"] == "entry"]
    issue_target = [t for t in plan["targets"] if t["model"] == "issue"]
    gate = clients.Gate()
    pages = sorted({f"/issues/{t['issue']}/" for t in plan["targets"]})
    faults = Faults(postgres, redis, t0, args, gate, ports, pages)
    editors = []
    for number, session in enumerate(sessions[: len(plan["editors"])]):
        last = number == len(plan["editors"]) - 1
        mine = (
            issue_target
            if last and issue_target
            else entry_targets[number :: max(1, len(plan["editors"]) - 1)] or entry_targets
        )
        editors.append(
            clients.Editor(
                number,
                session,
                mine,
                (editing_end, deadline),
                run_id,
                args.seed + number,
                gate,
            )
        )
    for client in [*drafts, publisher, *editors]:
        client.start()
    faults.start()
    progress(
        f"load: {args.readers} readers; editing phase {args.editing} s ({len(drafts)} draft "
        f"editors every {args.draft_interval} s, a Publisher every {args.publish_interval} s, "
        f"readers pausing {args.reader_pause} s on average), then {len(editors)} editors "
        f"and the faults for {args.duration} s; {len(ports)} servers (run {run_id})"
    )
    readings = queue.get(timeout=args.editing + args.duration + 120)
    readers.join(timeout=30)
    faults.join(timeout=60)
    for client in [*drafts, publisher, *editors]:
        client.join(timeout=REQUEST_JOIN)
    return {
        "t0": t0,
        "run_id": run_id,
        "records": readings["records"],
        "sightings": readings["sightings"],
        "events": faults.events,
        "machine": faults.machine,
        "fault_error": faults.error,
        "healthz": config["healthz"],
        "editors": [
            {
                "name": e.username,
                "attempts": e.attempts,
                "form_failures": e.form_failures,
                "error": e.error,
                "alive": e.is_alive(),
            }
            for e in editors
        ],
        "draft_editors": [d.summary() for d in drafts],
        "publisher": publisher.summary(),
    }


def edited_rows(plan):
    """``{"entry": "1,2", "issue": "3"}``: every row an editor or the Publisher edits."""
    rows = {"entry": {t["pk"] for t in plan["targets"] if t["model"] == "entry"}}
    rows["issue"] = {t["pk"] for t in plan["targets"] if t["model"] == "issue"}
    rows["entry"].add(plan["publisher"]["entry"])
    for draft in plan["drafts"]:
        rows["issue"].add(draft["issue"])
        rows["entry"].update(draft["entries"])
    return {model: ",".join(str(pk) for pk in sorted(pks)) for model, pks in rows.items()}


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
            status, headers, body = asyncio.run(clients.fetch(port, f"/issues/{target['issue']}/"))
            page = clients.decoded(headers, body).decode("utf-8", "replace")
            checks.append(
                {
                    "target": f"{target['model']}:{target['pk']}",
                    "server": number,
                    "status": status,
                    "marker": latest,
                    "fresh": latest in page,
                }
            )
    return checks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=60,
        help="seconds of load with the faults, after the editing phase (default 60)",
    )
    parser.add_argument("--readers", type=int, default=64, help="concurrent readers (64)")
    parser.add_argument(
        "--editors",
        type=int,
        default=4,
        help="editor sessions; the last edits an issue, the others entries (4)",
    )
    parser.add_argument(
        "--editing",
        type=int,
        help="seconds of the editing phase before the faults (default 90; 15 with a "
        "--duration under 60, the short form CI runs)",
    )
    parser.add_argument(
        "--reader-pause",
        type=float,
        default=0.5,
        help="mean seconds a reader pauses between pages in the editing phase (0.5)",
    )
    parser.add_argument(
        "--draft-interval",
        type=float,
        default=2.0,
        help="seconds between two saves of each draft editor (2)",
    )
    parser.add_argument(
        "--draft-entries", type=int, default=6, help="entries of each draft issue (6)"
    )
    parser.add_argument(
        "--publish-interval",
        type=float,
        default=30.0,
        help="seconds between two changes of the Publisher's published entry (30)",
    )
    parser.add_argument("--servers", type=int, default=2, help="gunicorn masters (2)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per master (2)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (1: sync workers; more: gthread, as deploy/gunicorn.conf.py)",
    )
    parser.add_argument("--entries", type=int, default=3000, help="generated entries (3000)")
    parser.add_argument("--issues", type=int, default=100, help="generated issues (100)")
    parser.add_argument(
        "--pg-down",
        type=float,
        default=5.0,
        help="seconds from stopping PostgreSQL to starting it again (5)",
    )
    parser.add_argument(
        "--redis-down", type=float, default=12.0, help="seconds Redis stays stopped (12)"
    )
    parser.add_argument(
        "--recovery-limit",
        type=float,
        default=5.0,
        help="seconds after PostgreSQL is back within which 503s are allowed",
    )
    parser.add_argument("--port", type=int, default=8791, help="first gunicorn port (8791)")
    parser.add_argument("--pg-port", type=int, default=54329)
    parser.add_argument("--redis-port", type=int, default=63799)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--markdown",
        type=Path,
        help="report (default docs/soak.md; /tmp/soak-check.md for a check)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="figures (default docs/soak.json; /tmp/soak-check.json for a check)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=BASE_DIR / "docs" / "soak-baseline.json",
        help="the editing phase's figures to compare with (docs/soak-baseline.json), if there",
    )
    parser.add_argument(
        "--write-baseline",
        metavar="NOTE",
        help="write this run's editing phase to --baseline, with NOTE saying what the "
        "code did then (for the runs after a change to compare with)",
    )
    parser.add_argument(
        "--without-lost-write-recovery",
        action="store_true",
        help="serve bench/soak/wsgi_without_recovery.py, which switches off "
        "the renewal of the page cache after lost writes: the run must "
        "then fail",
    )
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="copy the servers' logs to /tmp/soak-logs before clean-up",
    )
    args = parser.parse_args(argv)
    if args.duration < 40:
        parser.error(
            "--duration must be at least 40 s to fit both faults and the recovery after each"
        )
    if args.editing is None:
        args.editing = EDITING_SECONDS if args.duration >= 60 else SHORT_EDITING_SECONDS
    if args.editing < 10:
        parser.error("--editing must be at least 10 s: a Publisher's save and the reads after it")
    # A run that breaks the site on purpose does not overwrite the published figures.
    folder, name = (
        (Path("/tmp"), "soak-check")
        if args.without_lost_write_recovery
        else (BASE_DIR / "docs", "soak")
    )
    args.markdown = args.markdown or folder / f"{name}.md"
    args.json = args.json or folder / f"{name}.json"
    return args


def main(argv=None):
    args = parse_args(argv)
    site_server.exit_on_signals("soak")
    os.chdir(BASE_DIR)
    started = time.monotonic()
    load_before = os.getloadavg()
    root = make_root()
    postgres = PrivatePostgres(site_server.free_port(args.pg_port), root)
    redis = PrivateRedis(site_server.free_port(args.redis_port), root)
    servers = None
    try:
        progress(
            f"private PostgreSQL on {HOST}:{postgres.port}, Redis on {HOST}:{redis.port} "
            f"(in {root})"
        )
        postgres.create()
        postgres.createdb(DATABASE)
        redis.start()
        env = site_env(postgres, redis)
        plan = set_up_site(env, args)
        progress(
            f"site ready in {plan['setup_seconds']} s: {plan['counts']}, {len(plan['urls'])} URLs"
        )
        servers = Servers(env, args, root)
        servers.start()
        check_urls(servers.ports, plan["urls"], args.servers * args.workers)
        run = run_load(plan, servers, postgres, redis, args)
        progress("load done; reading what the database holds")
        if not redis.ready():
            redis.start()
        ids = edited_rows(plan)
        texts = site_data(env, "texts", "--entries", ids["entry"], "--issues", ids["issue"])
        run["freshness"] = freshness(plan, servers, texts)
        run["texts"] = texts
        run["server_logs"] = servers.log_summary()
        run["versions"] = {"postgresql": postgres.version(), "redis": redis.version()}
        if args.keep_logs:
            keep = Path("/tmp/soak-logs")
            keep.mkdir(exist_ok=True)
            for path in servers.logs:
                shutil.copy(path, keep / path.name)
    except site_server.ServerError as error:
        fail(str(error))
    finally:
        if servers:
            servers.stop()
        redis.destroy()
        postgres.destroy()
        shutil.rmtree(root, ignore_errors=True)
    report = soak_report.build(
        args,
        sys.argv,
        plan,
        run,
        {
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "seconds": round(time.monotonic() - started, 1),
            "gunicorn": soak_report.relative_command(
                site_server.gunicorn_command(args.port, **server_options(args))
            ),
            "baseline": (
                json.loads(args.baseline.read_text())
                if args.baseline.exists() and not args.write_baseline
                else None
            ),
        },
    )
    if args.write_baseline:
        baseline = editing_report.baseline_of(report, args.write_baseline)
        args.baseline.write_text(json.dumps(baseline, ensure_ascii=False, indent=1) + "\n")
        report["baseline"] = baseline
        progress(f"wrote the editing phase's baseline to {args.baseline}")
    print(soak_report.console(report))
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    args.markdown.write_text(soak_report.markdown(report))
    progress(f"wrote {args.markdown} and {args.json}")
    if report["failures"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
