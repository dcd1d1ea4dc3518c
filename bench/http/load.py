"""Requests per second and latency of the public pages, served as in production.

Run from the project folder (``make bench`` runs both databases at the defaults)::

    .venv/bin/python -m bench.http.load --database both --entries 100000
    .venv/bin/python -m bench.http.load --database sqlite --fixture   # the seed roundup

Why this and not the test client: a page's cost in production is Django plus
gunicorn plus the database plus the cache, with several worker processes
competing for the cores. So the site runs under gunicorn with DJANGO_DEBUG=0
(2 x cores + 1 sync workers unless ``--workers``) on 127.0.0.1
(bench/common/site_server.py), and wrk, a real
load generator, loads one URL at a time: a warm-up run, then a measured run
with ``--latency``. Each figure is also given as a ratio to a static file of
the issue page's size that the same gunicorn serves through WhiteNoise
(measured first and last; the ratio is to the mean of the two): that
ceiling is what the server, the loopback and wrk cost without the site, so the
ratio says how much the site itself costs, whatever the machine.

For each database (SQLite file /tmp/bench-http.sqlite3; PostgreSQL database
``bench_http`` on 127.0.0.1:5432, user postgres) the script makes a fresh
database, migrates, fills it (``manage.py generate_archive``, or the seed
fixture with ``--fixture``), collects static files, picks the URLs from the
data (bench/http/targets.py), then measures each cache mode:

- ``redis``: the page cache on, REDIS_URL=redis://127.0.0.1:6379/15, flushed
  first; the warm-up fills it, so every measured request is a **hit**;
- ``none``: DIGEST_PAGE_CACHE=0 and no REDIS_URL, every request computed: the
  page cache misses every time, a **cold** page;
- ``varnish``: as ``redis``, with varnishd (deploy/varnish/default.vcl,
  started by bench/common/varnish.py) in front of the gunicorn, which is told
  of it (DIGEST_FRONT_CACHES); the pages loaded through it are hits of the
  front cache (checked by its X-Cache header before measuring).

In every mode the static file, the ceiling, is loaded from the gunicorn
itself, so each page's ratio (hit, cold, through Varnish) is to the same
ceiling; the report sets them side by side, page by page.

``--cache auto`` (the default) runs ``redis`` and ``none`` when Redis answers
(and ``varnish`` too when it can run), ``none`` alone when it does not. The
results go to docs/benchmarks.md and docs/benchmarks.json (``--markdown``/
``--json``); ``--compare OLD.json`` prints the change from an earlier run.
Gunicorn is stopped and the scratch database dropped however the run ends
(``--keep`` keeps the database for a later ``--reuse``, which keeps it too).
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from bench.common import site_server
from bench.common.scratch import POSTGRES_ADMIN_URL, ScratchDatabase
from bench.common.site_server import BASE_DIR, HOST
from bench.http import report as http_report

SCRATCH = ScratchDatabase("/tmp/bench-http.sqlite3", "bench_http")
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
# settings.py fixes STATIC_ROOT to the project's staticfiles/ (git-ignored) and
# no variable overrides it, so the bench collects there; its own file, the
# ceiling, lives in a sub-folder that it removes at the end.
STATIC_ROOT = BASE_DIR / "staticfiles"
CEILING_DIR = STATIC_ROOT / "bench-http"
CEILING_FILE = CEILING_DIR / "issue-page.html"
CEILING_URL = "/static/bench-http/issue-page.html"
GENERATE_COMMAND = BASE_DIR / "operations" / "management" / "commands" / "generate_archive.py"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"
SEARCH_QUERY = "幻觉"
# The issue page's transferred size is measured with what browsers send.
ACCEPT_ENCODING = "gzip, br"


def progress(message):
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def fail(message):
    sys.exit(f"http_load: {message}")


# -- Tools and services ---------------------------------------------------------


def ensure_wrk():
    """wrk comes from Debian; install it when missing (as root, or with sudo
    if that works without a password), else stop with what to run."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        prefix = []
    elif (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    ):
        prefix = ["sudo", "-n"]
    else:
        fail(
            "wrk is not installed and this user cannot install it; "
            "run `sudo apt-get install -y wrk` and try again"
        )
    progress("installing wrk (apt-get install -y wrk)")
    install = [*prefix, "apt-get", "install", "-y", "wrk"]
    if subprocess.run(install).returncode != 0:
        subprocess.run([*prefix, "apt-get", "update"], check=False)
        if subprocess.run(install).returncode != 0:
            fail("`apt-get install -y wrk` failed; install wrk by hand and try again")
    if not shutil.which("wrk"):
        fail("wrk is still not on PATH after apt-get install")


def redis_client():
    import redis  # redis-py, the client the site's cache backend uses

    return redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def redis_reachable():
    import redis

    try:
        return redis_client().ping()
    except redis.RedisError:
        return False


def flush_redis():
    """Each database's run starts from an empty cache: pages cached from the
    other database (same URLs, other content) must not be served."""
    redis_client().flushdb()


def redis_version():
    import redis

    try:
        return redis_client().info("server").get("redis_version", "unknown")
    except redis.RedisError:
        return "unavailable"


def postgres_version():
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as connection:
            return connection.execute("SHOW server_version").fetchone()[0]
    except Exception as error:  # a version is not worth failing the run for
        return f"unavailable ({type(error).__name__})"


def varnish_available():
    """varnishd and its xkey module installed (Debian's varnish, varnish-modules)."""
    from bench.common.varnish import has_xkey

    return has_xkey()


def cache_modes(choice):
    if choice == "both":
        return ["redis", "none"]
    if choice in ("redis", "varnish") and not redis_reachable():
        fail(f"--cache {choice}, but Redis does not answer at {REDIS_HOST}:{REDIS_PORT}")
    if choice == "varnish" and not varnish_available():
        fail("--cache varnish needs varnishd and its xkey module (apt-get install varnish-modules)")
    if choice != "auto":
        return [choice]
    if redis_reachable():
        return ["memory", "redis", "none", *(["varnish"] if varnish_available() else [])]
    progress(f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT}: measuring cold pages only")
    return ["none"]


# -- The scratch database and its data --------------------------------------------


def django_env(database):
    """The production settings of digestsite/settings.py, pointed at the scratch database."""
    return site_server.site_env(SCRATCH.url(database))


def generate_arguments(args):
    """What the archive is made with: ``generate_archive`` at ``--entries``, one
    issue per 100 entries, as a biweekly roundup of ~100 papers would have."""
    if args.fixture:
        return ["load_seed"]
    if not GENERATE_COMMAND.exists():
        fail(
            "manage.py generate_archive does not exist yet "
            f"({GENERATE_COMMAND.relative_to(BASE_DIR)}); run with --fixture for the seed roundup"
        )
    # generate_archive's own proportion: 5,000 tags at 100,000 entries.
    tags = args.tags or max(20, args.entries // 20)
    return [
        "generate_archive",
        "--entries",
        str(args.entries),
        "--issues",
        str(max(1, args.entries // 100)),
        "--tags",
        str(tags),
    ]


def build_archive(database, env, args):
    """A fresh database with the archive, unless ``--reuse``; migrate either way
    (a no-op on an up-to-date schema) so a reused database fits the code."""
    started = time.perf_counter()
    if args.reuse and not SCRATCH.exists(database):
        fail(f"--reuse, but there is no {database} database to reuse: run once with --keep")
    if not args.reuse:
        SCRATCH.create(database)
    site_server.manage(env, "migrate", "--noinput")
    if not args.reuse:
        arguments = generate_arguments(args)
        progress(f"{database}: manage.py {' '.join(arguments)}")
        site_server.manage(env, *arguments)
    return round(time.perf_counter() - started, 1)


def collect_static(env):
    """DEBUG off needs the manifest of hashed names, and WhiteNoise serves what is collected."""
    site_server.manage(env, "collectstatic", "--noinput")


def probe_targets(env):
    """The URLs to load, chosen from this database's data (bench/http/targets.py)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            sys.executable,
            "-m",
            "bench.http.targets",
            "--out",
            out.name,
            "--page-copy",
            str(CEILING_FILE),
        ]
        result = subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            fail(f"choosing the URLs failed:\n{result.stdout}{result.stderr}")
        return json.loads(Path(out.name).read_text())


def page_urls(targets):
    """(key, what, URL) of every measured URL, the static ceiling first (and
    again last, see measure_mode)."""
    tags = urlencode([("tag", slug) for slug in targets["tags"]])
    return [
        ("static", "static file, issue-page size (ceiling)", CEILING_URL),
        ("home", "home page", "/"),
        ("issue", "issue page", f"/issues/{quote(targets['issue_slug'])}/"),
        ("tags", "entries with two tags", f"/entries/?{tags}"),
        ("search", f"search {SEARCH_QUERY}", f"/entries/?{urlencode({'q': SEARCH_QUERY})}"),
        ("paper", "paper page", f"/papers/{targets['arxiv_id']}/"),
        ("feed", "Atom feed of issues", "/feeds/issues.atom"),
    ]


# -- Gunicorn -----------------------------------------------------------------------


def server_env(database, mode, front_cache=None):
    """The page cache on Redis (``redis``, and behind Varnish, which the site is
    told of so that its pages carry their keys and lifetime for it), or off,
    every request computed (``none``)."""
    if mode == "none":
        return site_server.site_env(SCRATCH.url(database), page_cache=False)
    if mode == "memory":
        return site_server.site_env(SCRATCH.url(database))
    env = site_server.site_env(SCRATCH.url(database), redis_url=REDIS_URL)
    if front_cache:
        env["DIGEST_FRONT_CACHES"] = front_cache
    return env


@contextlib.contextmanager
def serving(database, mode, args):
    """The gunicorn of ``mode``, and in ``varnish`` mode varnishd in front of
    it (bench/common/varnish.py, deploy/varnish/default.vcl): yields the port
    wrk loads the pages from. The static file is always loaded from gunicorn."""
    if mode != "varnish":
        with gunicorn(database, mode, args):
            yield args.port
        return
    from bench.common.varnish import Varnish

    with Varnish(args.port) as varnish, gunicorn(database, mode, args, varnish.address):
        yield varnish.port


@contextlib.contextmanager
def gunicorn(database, mode, args, front_cache=None):
    """Gunicorn serving the scratch database, stopped however the block ends.
    Up when the ceiling's static file answers: Django is loaded by then."""
    if site_server.port_in_use(args.port):
        fail(f"port {args.port} is already in use: something else would be measured")
    log_path = Path(tempfile.gettempdir()) / f"bench-http-gunicorn-{args.port}.log"
    server = site_server.SiteServer(
        args.port, server_env(database, mode, front_cache), log_path, workers=args.workers
    )
    try:
        with site_server.serving([server], CEILING_URL):
            yield server
    except (Exception, SystemExit):  # fail() exits: say what gunicorn said first
        print(f"gunicorn's log (last lines):\n{server.log_tail()}", file=sys.stderr)
        raise
    finally:
        log_path.unlink(missing_ok=True)


# -- Measuring ----------------------------------------------------------------------


def check_urls(port, pages, mode):
    """Every URL must answer 200 itself: a redirect or an error page would be
    measured instead of the page and look fast. Through Varnish each page must
    then be a hit (its X-Cache header), or the pages measured would be the
    gunicorn's behind it."""
    for _, _, url in pages:
        status, _, _ = site_server.get(port, url)
        if status != 200:
            fail(f"{url} answered {status}, not 200 (port {port})")
        if mode == "varnish" and url != CEILING_URL:
            _, headers, _ = site_server.get(port, url)
            cache = {k.lower(): v for k, v in headers.items()}.get("x-cache")
            if cache != "HIT":
                fail(f"{url} through Varnish: X-Cache {cache}, not a hit after a first request")


def transfer_size(port, url):
    """What the issue page costs on the wire for a browser that accepts gzip
    and Brotli: the body as sent (compressed only if the server compresses)."""
    status, headers, body = site_server.get(port, url, {"Accept-Encoding": ACCEPT_ENCODING})
    encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "identity")
    return {"status": status, "content_encoding": encoding, "bytes": len(body)}


def wrk(port, url, args, threads=None, connections=None, duration=None):
    """One wrk run; the figures from bench/http/wrk_report.lua's JSON line.

    ``--timeout 30s`` because wrk drops requests slower than its default 2 s
    from the latency figures: a slow page would look faster than it is."""
    threads = threads or args.threads
    connections = connections or args.connections
    duration = duration or args.duration
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "30s",
        "-s",
        str(WRK_SCRIPT),
        f"http://{HOST}:{port}{url}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        fail(f"wrk failed on {url}:\n{result.stdout}{result.stderr}")
    return summarise_wrk(json.loads(line.removeprefix("BENCH_JSON ")), threads, connections)


def summarise_wrk(raw, threads, connections):
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    return {
        "rps": round(raw["requests"] / seconds, 1),
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p95_ms": round(latency["p95"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "bytes_per_response": round(raw["bytes"] / max(1, raw["requests"])),
        "errors": raw["errors"],
        "threads": threads,
        "connections": connections,
    }


def measure_page(port, key, url, args):
    """Warm up (fills caches, starts persistent connections), then measure."""
    wrk(port, url, args, duration=args.warmup)
    result = wrk(port, url, args)
    if key == "search":
        # Latency of one reader alone, without the queue that 16 connections
        # on a few workers build: what the search target is about.
        result["single"] = wrk(port, url, args, threads=1, connections=1)
    return result


def measure_mode(database, mode, pages, args):
    """Every URL under one cache mode, the ceiling once more at the end: on a
    shared machine the load drifts during a run, and the mean of the two
    ceilings is fairer to the pages measured in between than either. The
    ceiling always from the gunicorn itself, the pages from the mode's front."""
    if mode in ("redis", "varnish"):
        flush_redis()
    with serving(database, mode, args) as port:
        check_urls(port, pages, mode)
        load_before = os.getloadavg()[0]
        results = {}
        for key, what, url in [*pages, ("static_end", "the same static file, again", CEILING_URL)]:
            at = args.port if url == CEILING_URL else port
            results[key] = {"what": what, "url": url, **measure_page(at, key, url, args)}
            progress(http_report.console_line(database, mode, key, results[key]))
        transfer = transfer_size(args.port, pages[2][2])
    ceiling = (results["static"]["rps"] + results["static_end"]["rps"]) / 2
    for result in results.values():
        result["ratio"] = round(result["rps"] / ceiling, 3)
    progress(http_report.ratios_line(database, mode, ceiling, results))
    return {
        "pages": results,
        "ceiling_rps": round(ceiling, 1),
        "issue_transfer": transfer,
        "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def run_database(database, modes, args):
    code = http_report.code_version()
    env = django_env(database)
    build_seconds = build_archive(database, env, args)
    collect_static(env)
    targets = probe_targets(env)
    progress(
        f"{database}: {targets['counts']['published_entries']} public entries; "
        f"issue page {targets['issue_page_bytes']} bytes"
    )
    pages = page_urls(targets)
    return {
        "code": code,
        "build_seconds": build_seconds,
        "data": targets,
        "modes": {mode: measure_mode(database, mode, pages, args) for mode in modes},
    }


# -- The run ------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.http.load",
        description="Requests/s and latency of the public pages under gunicorn, measured by wrk.",
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--entries",
        type=int,
        default=100_000,
        help="entries generate_archive makes (default 100000)",
    )
    parser.add_argument(
        "--tags", type=int, default=0, help="tags generate_archive makes (default entries / 20)"
    )
    parser.add_argument(
        "--fixture",
        action="store_true",
        help="load the seed roundup instead of generating an archive",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a --keep run left, without regenerating it",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch database(s) for a later --reuse"
    )
    parser.add_argument(
        "--cache",
        choices=["auto", "memory", "redis", "none", "both", "varnish"],
        default="auto",
        help="page cache modes: memory (hits from each process's memory), redis (hits), "
        "none (cold), both (redis and none), varnish (hits through Varnish); auto: all that "
        "can run",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1) + 1,
        help="gunicorn workers (default 2 x cores + 1)",
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per URL")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--markdown", type=Path, default=BASE_DIR / "docs" / "benchmarks.md")
    parser.add_argument("--json", type=Path, default=BASE_DIR / "docs" / "benchmarks.json")
    parser.add_argument("--compare", type=Path, help="an earlier run's JSON to compare with")
    args = parser.parse_args(argv)
    if args.fixture and args.reuse:
        parser.error("--fixture and --reuse do not go together")
    return args


def cleanup(databases, args):
    """Leave nothing behind: the ceiling's file, the cached pages, the databases."""
    shutil.rmtree(CEILING_DIR, ignore_errors=True)
    with contextlib.suppress(OSError, RuntimeError):
        flush_redis()
    if args.keep or args.reuse:
        return
    for database in databases:
        with contextlib.suppress(Exception):
            SCRATCH.drop(database)


def main(argv=None):
    args = parse_args(argv)
    site_server.exit_on_signals("http_load")
    os.chdir(BASE_DIR)
    ensure_wrk()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    modes = cache_modes(args.cache)
    previous = json.loads(args.compare.read_text()) if args.compare else None
    services = {"postgresql": postgres_version(), "redis": redis_version()}
    gunicorn_command = site_server.gunicorn_command(args.port, args.workers)
    report = http_report.start_report(args, sys.argv, gunicorn_command, modes, services)
    try:
        for database in databases:
            report["runs"][database] = run_database(database, modes, args)
    except site_server.ServerError as error:
        fail(str(error))
    finally:
        cleanup(databases, args)
    http_report.finish_report(report)
    print(http_report.console_summary(report))
    if previous:
        print(http_report.comparison(previous, report))
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    args.markdown.write_text(http_report.markdown(report))
    progress(f"wrote {args.markdown} and {args.json}")


if __name__ == "__main__":
    main()
