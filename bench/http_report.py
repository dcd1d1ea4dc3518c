"""The report of bench/http_load.py: machine, versions, targets, console and Markdown.

Kept apart from the measuring so that each module reads in one sitting, and so
that the JSON (docs/benchmarks.json) is the one source: the Markdown and the
verdicts are made from it, and a later run can be compared with it.
"""

import contextlib
import hashlib
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote

BASE_DIR = Path(__file__).resolve().parent.parent
SCHEMA = 1
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
MODE_NAMES = {"redis": "page cache on (Redis)", "none": "page cache off"}
# The targets of the issue "Fast at archive scale".
CACHED_PAGES = ("home", "issue", "tags", "paper", "feed")
CACHED_RATIO = 0.8
UNCACHED_PAGES = ("issue", "tags")
UNCACHED_RATIO = 0.3
SEARCH_P95_MS = 50
SEARCH_SCALE = 100_000
ISSUE_TRANSFER_BYTES = 60_000


# -- Machine and versions ---------------------------------------------------------


def first_line_with(path, prefix):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def machine():
    mem_kb = first_line_with("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": first_line_with("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
        "os": first_line_with("/etc/os-release", "PRETTY_NAME"),
        "kernel": platform.release(),
    }


def wrk_version():
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (result.stdout + result.stderr).split()
    return words[1] if len(words) > 1 else "unknown"


def versions(services):
    """The software that serves and measures; ``services`` are the servers'
    own versions (PostgreSQL, Redis), which the caller asks them for."""
    return {
        "python": platform.python_version(),
        "django": version("django"),
        "gunicorn": version("gunicorn"),
        "whitenoise": version("whitenoise"),
        "psycopg": version("psycopg"),
        "sqlite": sqlite3.sqlite_version,
        **services,
        "wrk": wrk_version(),
    }


# -- The report -------------------------------------------------------------------


def relative_command(command):
    """A command line as typed from the project folder (no absolute venv path)."""
    # A path inside the folder, not one that only starts with the same letters
    # (/tmp/ci-soak.md beside a clone in /tmp/ci).
    parts = [str(Path(p).relative_to(BASE_DIR)) if Path(p).is_relative_to(BASE_DIR) else p
             for p in command]
    return shlex.join(parts)


# The site's code, for the fingerprint: not the benchmarks, their reports or the tests.
SITE_PATHSPEC = [".", ":!bench", ":!docs", ":!tests"]


def git(*arguments):
    result = subprocess.run(["git", *arguments], cwd=BASE_DIR, capture_output=True)
    return result.stdout if result.returncode == 0 else b""


def code_version():
    """Which code was measured: the commit, the files that differ from it, and
    a fingerprint of those differences. Other engineers edit the site while a
    run goes on; taken before each database's run, the fingerprint shows when
    the two databases did not run the same code."""
    changed = git("status", "--porcelain", "--", *SITE_PATHSPEC).decode().splitlines()
    digest = hashlib.sha256(git("diff", "HEAD", "--binary", "--", *SITE_PATHSPEC))
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", "--", *SITE_PATHSPEC)
    for name in sorted(filter(None, untracked.split(b"\0"))):
        digest.update(name)
        with contextlib.suppress(OSError):
            digest.update((BASE_DIR / name.decode()).read_bytes())
    return {"commit": git("rev-parse", "HEAD").decode().strip() or "unknown",
            "changed_files": len(changed), "fingerprint": digest.hexdigest()[:12]}


def start_report(args, argv, gunicorn_command, modes, services):
    python = relative_command([sys.executable])
    return {
        "schema": SCHEMA,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": f"{python} {relative_command(argv)}",
        "gunicorn": relative_command(gunicorn_command),
        "wrk": (f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency "
                "--timeout 30s -s bench/wrk_report.lua http://127.0.0.1:{port}{url}"
                .replace("{port}", str(args.port))),
        "settings": {
            "entries": None if args.fixture else args.entries,
            "fixture": args.fixture, "reuse": args.reuse, "modes": modes,
            "workers": args.workers, "threads": args.threads, "connections": args.connections,
            "duration_s": args.duration, "warmup_s": args.warmup, "port": args.port,
        },
        "code": code_version(),
        "machine": machine(),
        "versions": versions(services),
        "runs": {},
    }


def finish_report(report):
    finished = datetime.now(UTC)
    report["finished"] = finished.isoformat(timespec="seconds")
    started = datetime.fromisoformat(report["started"])
    report["duration_s"] = round((finished - started).total_seconds())
    report["targets"] = evaluate(report)


# -- Targets ------------------------------------------------------------------------


def verdict(target, database, value, limit, met, note=""):
    return {"target": target, "database": database, "value": value, "limit": limit,
            "met": met, "note": note}


def ratio_targets(database, run, mode, pages, limit, name):
    if mode not in run["modes"]:
        return [verdict(name, database, None, limit, None, f"not measured ({mode} not run)")]
    results = run["modes"][mode]["pages"]
    return [verdict(name, database, results[key]["ratio"], limit,
                    results[key]["ratio"] >= limit, key) for key in pages]


def search_target(database, run):
    """Judged on one connection alone, page cache off when measured: under 16
    connections the p95 is mostly the queue, and a cached answer is no search."""
    mode = "none" if "none" in run["modes"] else next(iter(run["modes"]))
    single = run["modes"][mode]["pages"]["search"]["single"]
    entries = run["data"]["counts"]["entries"]
    note = f"{MODE_NAMES[mode]}, 1 connection, {entries:,} entries"
    if entries < SEARCH_SCALE:
        note += f" (the target is set at {SEARCH_SCALE:,})"
    return verdict(f"search p95 < {SEARCH_P95_MS} ms at {SEARCH_SCALE:,} entries", database,
                   single["p95_ms"], SEARCH_P95_MS, single["p95_ms"] < SEARCH_P95_MS, note)


def transfer_target(database, run):
    transfer = next(iter(run["modes"].values()))["issue_transfer"]
    note = f"Content-Encoding: {transfer['content_encoding']}"
    return verdict(f"issue page < {ISSUE_TRANSFER_BYTES:,} bytes sent (Accept-Encoding: gzip, br)",
                   database, transfer["bytes"], ISSUE_TRANSFER_BYTES,
                   transfer["bytes"] < ISSUE_TRANSFER_BYTES, note)


def evaluate(report):
    verdicts = []
    for database, run in report["runs"].items():
        verdicts += ratio_targets(database, run, "redis", CACHED_PAGES, CACHED_RATIO,
                                  f"cached public pages >= {CACHED_RATIO} of the ceiling")
        verdicts += ratio_targets(database, run, "none", UNCACHED_PAGES, UNCACHED_RATIO,
                                  f"uncached issue page and tag list >= {UNCACHED_RATIO}")
        verdicts.append(search_target(database, run))
        verdicts.append(transfer_target(database, run))
    return verdicts


def met_text(met):
    return {True: "met", False: "**not met**", None: "not measured"}[met]


# -- Console ------------------------------------------------------------------------


def error_count(result):
    return sum(result["errors"].values())


def console_line(database, mode, key, result):
    line = (f"{database:8} {mode:5} {key:10} {result['rps']:8.1f} req/s  "
            f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms")
    if "single" in result:
        line += f"  (1 connection: p95 {result['single']['p95_ms']:.1f} ms)"
    if error_count(result):
        line += f"  ERRORS {result['errors']}"
    return line


def ratios_line(database, mode, ceiling, results):
    ratios = ", ".join(f"{key} {r['ratio']:.2f}" for key, r in results.items()
                       if not key.startswith("static"))
    return f"{database:8} {mode:5} ceiling {ceiling:.1f} req/s; ratios: {ratios}"


def console_summary(report):
    lines = ["", "Targets:"]
    for v in report["targets"]:
        value = "-" if v["value"] is None else v["value"]
        lines.append(f"  {v['database']:8} {v['target']}: {value} "
                     f"(limit {v['limit']}) {met_text(v['met']).strip('*')}  {v['note']}")
    lines.append(f"Run took {report['duration_s']} s.")
    return "\n".join(lines)


def comparison(previous, report):
    """Requests/s and ratio to the ceiling of this run against an earlier one,
    page by page: the ratio is the fairer of the two when the machine differs."""
    lines = ["", f"Compared with the run of {previous.get('started', '?')}:"]
    for database, run in report["runs"].items():
        for mode, measured in run["modes"].items():
            old_pages = (previous.get("runs", {}).get(database, {})
                         .get("modes", {}).get(mode, {}).get("pages", {}))
            for key, result in measured["pages"].items():
                if key in old_pages:
                    lines.append(f"  {database:8} {mode:5} {key:10} "
                                 + compared(old_pages[key], result))
    return "\n".join(lines)


def compared(old, new):
    change = (new["rps"] / old["rps"] - 1) * 100 if old["rps"] else float("nan")
    return (f"{old['rps']:8.1f} -> {new['rps']:8.1f} req/s ({change:+4.0f}%), "
            f"ratio {old.get('ratio', float('nan')):.2f} -> {new['ratio']:.2f}")


# -- Markdown -----------------------------------------------------------------------


def markdown(report):
    parts = [
        header(report), method(report), machine_table(report), versions_table(report),
        commands(report), data_section(report), figures(report), targets_table(report),
        size_section(report), NOTES,
    ]
    return "\n\n".join(part.strip("\n") for part in parts) + "\n"


def table(rows, head):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def header(report):
    settings = report["settings"]
    data = "the seed fixture" if settings["fixture"] else f"{settings['entries']:,} entries"
    databases = " and ".join(DATABASE_NAMES[d] for d in report["runs"])
    code = report["code"]
    dirty = (f" with {code['changed_files']} changed or new files of the site not yet committed "
             f"(fingerprint `{code['fingerprint']}`)" if code["changed_files"] else "")
    return f"""
# HTTP benchmark: requests per second and latency

Written by `bench/http_load.py` (`make bench`) on {report['started'][:10]}: {data}, on
{databases}; the whole run took {report['duration_s'] / 60:.1f} minutes. Code: commit
`{report['code']['commit'][:12]}`{dirty}. The raw figures are in `docs/benchmarks.json`;
`--compare docs/benchmarks.json` on a later run prints the change page by page.
{code_warning(report)}{load_warning(report)}"""


def code_warning(report):
    """The site's code seen before each database's run, if it was not the same."""
    seen = {run["code"]["fingerprint"] for run in report["runs"].values()}
    if len(seen) < 2:
        return ""
    return ("\n**The code changed during the run** (someone edited the site): the databases "
            "did not run the same code; see `code` under each run in the JSON.\n")


def load_warning(report):
    loads = [load for run in report["runs"].values() for m in run["modes"].values()
             for load in m["loadavg"]]
    cores = report["machine"]["cores"] or 1
    if not loads or max(loads) <= cores + 1:
        return ""
    return (f"\n**The machine was busy**: the load average went from {min(loads)} to "
            f"{max(loads)} on {cores} cores (this benchmark alone makes about {cores + 1}), "
            "so other work competed for the CPU and the figures are noisy; compare the two "
            "ceilings of each table to see how much.\n")


def method(report):
    s = report["settings"]
    cores = report["machine"]["cores"]
    return f"""
## What is measured

The site runs as production runs it: gunicorn with {s['workers']} sync workers
(2 x cores + 1), `DJANGO_DEBUG=0`, static files collected and served by WhiteNoise, on
127.0.0.1:{s['port']}. wrk loads one URL at a time with {s['threads']} threads and
{s['connections']} connections: {s['warmup_s']} s of warm-up, then {s['duration_s']} s
measured. Latency is per request, from wrk's histogram (p50, p95, p99); a wrk timeout of
30 s keeps slow requests in the figures.

**The ceiling.** The issue page's own HTML, copied into `STATIC_ROOT/bench-http/issue-page.html`
and served by the same gunicorn through WhiteNoise (settings.py fixes `STATIC_ROOT` to the
project's `staticfiles/`; the copy is removed after the run). It costs the same server, the
same loopback and the same wrk as a page, without the site, so **ratio = page req/s ÷ static
req/s** is the site's own cost, and it can be compared across machines better than req/s.
It is measured first and again last in each cache mode, and the ratio is to the mean of the
two, because the machine's load drifts during a run. wrk sends no `Accept-Encoding`, so
both are sent uncompressed. A page much smaller than the issue page (the paper page, a
search) can score above 1: the ceiling is the issue page's size, not the page's.

**Cache modes.** `page cache on`: `REDIS_URL=redis://127.0.0.1:6379/15` (flushed before each
database's run; the warm-up fills it). `page cache off`: `DIGEST_PAGE_CACHE=0` and no
`REDIS_URL`, every request computed.

**Shared cores.** This machine has {cores} cores, and wrk, the gunicorn workers, the
database and Redis all share them: wrk's own CPU time is taken from the server, so req/s are
lower than on a server loaded from another machine, and the ceiling suffers the same way.
Read the ratios more than the absolute figures. Other engineers' jobs may run at the same
time; the load average at the start and end of each run is in the tables.
"""


def machine_table(report):
    m = report["machine"]
    rows = [("CPU", m["cpu"]), ("cores", m["cores"]), ("memory", f"{m['memory_gib']} GiB"),
            ("OS", f"{m['os']}, kernel {m['kernel']}")]
    return "## Machine\n\n" + table(rows, ["", ""])


def versions_table(report):
    names = {"python": "Python", "django": "Django", "gunicorn": "gunicorn",
             "whitenoise": "WhiteNoise", "psycopg": "psycopg", "sqlite": "SQLite",
             "postgresql": "PostgreSQL", "redis": "Redis", "wrk": "wrk"}
    rows = [(names[k], v) for k, v in report["versions"].items()]
    return "## Versions\n\n" + table(rows, ["", ""])


def commands(report):
    return f"""
## Commands

```sh
make bench    # = .venv/bin/python bench/http_load.py --database both (100,000 entries)
{report['command']}    # this run
```

gunicorn, with `DJANGO_DEBUG=0 DJANGO_SECRET_KEY=… DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
DATABASE_URL=…` and the cache variables above:

```sh
{report['gunicorn']}
```

wrk, per URL, after the same command with `-d{report['settings']['warmup_s']}s` as warm-up
(the search also once more with `-t1 -c1`, one reader alone):

```sh
{report['wrk']}
```
"""


def data_section(report):
    rows = []
    for database, run in report["runs"].items():
        d, c = run["data"], run["data"]["counts"]
        rows.append((
            DATABASE_NAMES[database], f"{c['published_entries']:,} of {c['entries']:,}",
            f"{c['published_issues']:,} of {c['issues']:,}", f"{c['tags']:,}",
            f"`{d['issue_slug']}`", f"`{'`, `'.join(d['tags'])}` ({d['tag_pair_entries']:,})",
            f"`{d['arxiv_id']}` ({d['paper_entries']})", f"{run['build_seconds']} s",
        ))
    head = ["database", "public entries", "public issues", "tags", "issue page",
            "two tags (entries with both)", "paper (entries)", "set-up"]
    return ("## Data\n\nThe URLs are chosen from the data (`bench/http_targets.py`): the "
            "second-newest public issue (the newest is the home page), the two of the 30 "
            "most used tags that most often mark the same entry, the paper covered most "
            "often.\n\n" + table(rows, head))


def figures(report):
    out = ["## Figures"]
    for database, run in report["runs"].items():
        for mode, measured in run["modes"].items():
            load = measured["loadavg"]
            out.append(f"### {DATABASE_NAMES[database]}, {MODE_NAMES[mode]}\n\n"
                       f"Load average {load[0]} at the start, {load[1]} at the end.\n\n"
                       + figures_table(measured["pages"]))
    return "\n\n".join(out)


def figures_table(pages):
    rows = []
    for result in pages.values():
        rows.append((result["what"], f"`{unquote(result['url'])}`", f"{result['rps']:,.1f}",
                     f"{result['p50_ms']:.1f}", f"{result['p99_ms']:.1f}",
                     f"{result['ratio']:.2f}", f"{result['bytes_per_response']:,}",
                     f"{result['requests']:,}", error_count(result)))
        if "single" in result:
            single = result["single"]
            rows.append(("… the same, 1 connection", "", f"{single['rps']:,.1f}",
                         f"{single['p50_ms']:.1f} (p95 {single['p95_ms']:.1f})",
                         f"{single['p99_ms']:.1f}", "", "", f"{single['requests']:,}",
                         error_count(single)))
    head = ["page", "URL (unencoded here)", "req/s", "p50 ms", "p99 ms", "ratio to static",
            "bytes/response (with headers)", "requests", "errors"]
    return table(rows, head)


def targets_table(report):
    rows = []
    for v in report["targets"]:
        value = "-" if v["value"] is None else f"{v['value']:,}"
        rows.append((v["target"], DATABASE_NAMES[v["database"]], v["note"], value,
                     v["limit"], met_text(v["met"])))
    return "## Targets\n\n" + table(rows, ["target", "database", "page / how", "measured",
                                           "limit", "verdict"])


def size_section(report):
    rows = []
    for database, run in report["runs"].items():
        d = run["data"]
        transfer = next(iter(run["modes"].values()))["issue_transfer"]
        rows.append((DATABASE_NAMES[database], f"{d['issue_page_bytes']:,}",
                     f"{transfer['bytes']:,} ({transfer['content_encoding']})",
                     f"{d['issue_page_gzip6_bytes']:,}", f"{d['issue_page_brotli5_bytes']:,}"))
    head = ["database", "issue page, bytes", "sent for `Accept-Encoding: gzip, br`",
            "gzip -6 would be", "Brotli q5 would be"]
    return ("## Issue page size\n\nThe body gunicorn sends when asked with "
            "`Accept-Encoding: gzip, br` (compressed only if the site compresses), and what "
            "gzip or Brotli would make of it.\n\n" + table(rows, head))


NOTES = """
## Weak points of this benchmark

- wrk and the server share the machine's cores (see above); a load generator on another
  machine would give higher req/s for everything, the ceiling included.
- gunicorn's sync workers close the connection after each response, so every request pays a
  TCP connect on loopback; the ceiling pays it too.
- One URL per page kind: the figures are for those pages (chosen as described under Data),
  not an average over the archive. With the page cache on, the warm-up fills the cache, so
  the cached figures are hit rates of 100%; the first visit of each page costs what the
  uncached figures say.
- A slow page completes few requests in 10 s (the `requests` column): its p99 is then
  close to the slowest of a few dozen, not a stable percentile.
- The search target is judged on one connection (p95 of a reader alone, page cache off);
  the loaded p50/p99 are in the tables.
- The generated archive's text is synthetic; its word frequencies decide how many entries
  a search matches.
"""
