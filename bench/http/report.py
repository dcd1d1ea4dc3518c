"""The report of bench/http/load.py: versions, targets, console and Markdown.

Kept apart from the measuring so that each module reads in one sitting, and so
that the JSON (docs/benchmarks.json) is the one source: the Markdown and the
verdicts are made from it, and a later run can be compared with it. The
Markdown's prose is the template bench/http/report.md; the figures and tables
that fill it are made here.
"""

import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from string import Template
from urllib.parse import unquote

from bench.common.provenance import code_version, machine, relative_command, run_command

TEMPLATE = Path(__file__).resolve().with_name("report.md")
SCHEMA = 1
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
MODE_NAMES = {
    "redis": "page cache hit (Redis)",
    "memory": "page cache hit (each process's local memory)",
    "none": "cold: page cache off, every request computed",
    "varnish": "through Varnish: front cache hit",
}
# The modes side by side, page by page, and their short names in that table.
SIDE_BY_SIDE = {"memory": "memory hit", "redis": "hit", "none": "cold", "varnish": "Varnish hit"}
# The targets of the issue "Fast at archive scale".
CACHED_PAGES = ("home", "issue", "tags", "paper", "feed")
CACHED_RATIO = 0.8
UNCACHED_PAGES = ("issue", "tags")
UNCACHED_RATIO = 0.3
SEARCH_P95_MS = 50
SEARCH_SCALE = 100_000
ISSUE_TRANSFER_BYTES = 60_000


# -- Versions ---------------------------------------------------------------------


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


def start_report(args, argv, gunicorn_command, modes, services):
    return {
        "schema": SCHEMA,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": run_command("bench.http.load", argv),
        "gunicorn": relative_command(gunicorn_command),
        "wrk": (
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency "
            "--timeout 30s -s bench/http/wrk_report.lua http://127.0.0.1:{port}{url}".replace(
                "{port}", str(args.port)
            )
        ),
        "settings": {
            "entries": None if args.fixture else args.entries,
            "fixture": args.fixture,
            "reuse": args.reuse,
            "modes": modes,
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "port": args.port,
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
    return {
        "target": target,
        "database": database,
        "value": value,
        "limit": limit,
        "met": met,
        "note": note,
    }


def ratio_targets(database, run, mode, pages, limit, name):
    if mode not in run["modes"]:
        return [verdict(name, database, None, limit, None, f"not measured ({mode} not run)")]
    results = run["modes"][mode]["pages"]
    return [
        verdict(name, database, results[key]["ratio"], limit, results[key]["ratio"] >= limit, key)
        for key in pages
    ]


def search_target(database, run):
    """Judged on one connection alone, page cache off when measured: under 16
    connections the p95 is mostly the queue, and a cached answer is no search."""
    mode = "none" if "none" in run["modes"] else next(iter(run["modes"]))
    single = run["modes"][mode]["pages"]["search"]["single"]
    entries = run["data"]["counts"]["entries"]
    note = f"{MODE_NAMES[mode]}, 1 connection, {entries:,} entries"
    if entries < SEARCH_SCALE:
        note += f" (the target is set at {SEARCH_SCALE:,})"
    return verdict(
        f"search p95 < {SEARCH_P95_MS} ms at {SEARCH_SCALE:,} entries",
        database,
        single["p95_ms"],
        SEARCH_P95_MS,
        single["p95_ms"] < SEARCH_P95_MS,
        note,
    )


def transfer_target(database, run):
    transfer = next(iter(run["modes"].values()))["issue_transfer"]
    note = f"Content-Encoding: {transfer['content_encoding']}"
    return verdict(
        f"issue page < {ISSUE_TRANSFER_BYTES:,} bytes sent (Accept-Encoding: gzip, br)",
        database,
        transfer["bytes"],
        ISSUE_TRANSFER_BYTES,
        transfer["bytes"] < ISSUE_TRANSFER_BYTES,
        note,
    )


def evaluate(report):
    verdicts = []
    for database, run in report["runs"].items():
        for mode in ("memory", "redis"):
            if mode in run["modes"] or mode == "redis":
                verdicts += ratio_targets(
                    database,
                    run,
                    mode,
                    CACHED_PAGES,
                    CACHED_RATIO,
                    f"hit ({mode}): cached public pages >= {CACHED_RATIO} of the ceiling",
                )
        verdicts += ratio_targets(
            database,
            run,
            "none",
            UNCACHED_PAGES,
            UNCACHED_RATIO,
            f"cold: uncached issue page and tag list >= {UNCACHED_RATIO}",
        )
        verdicts.append(search_target(database, run))
        verdicts.append(transfer_target(database, run))
    return verdicts


def met_text(met):
    return {True: "met", False: "**not met**", None: "not measured"}[met]


# -- Console ------------------------------------------------------------------------


def error_count(result):
    return sum(result["errors"].values())


def console_line(database, mode, key, result):
    line = (
        f"{database:8} {mode:5} {key:10} {result['rps']:8.1f} req/s  "
        f"p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms"
    )
    if "single" in result:
        line += f"  (1 connection: p95 {result['single']['p95_ms']:.1f} ms)"
    if error_count(result):
        line += f"  ERRORS {result['errors']}"
    return line


def ratios_line(database, mode, ceiling, results):
    ratios = ", ".join(
        f"{key} {r['ratio']:.2f}" for key, r in results.items() if not key.startswith("static")
    )
    return f"{database:8} {mode:5} ceiling {ceiling:.1f} req/s; ratios: {ratios}"


def console_summary(report):
    lines = ["", "Targets:"]
    for v in report["targets"]:
        value = "-" if v["value"] is None else v["value"]
        lines.append(
            f"  {v['database']:8} {v['target']}: {value} "
            f"(limit {v['limit']}) {met_text(v['met']).strip('*')}  {v['note']}"
        )
    lines.append(f"Run took {report['duration_s']} s.")
    return "\n".join(lines)


def comparison(previous, report):
    """Requests/s and ratio to the ceiling of this run against an earlier one,
    page by page: the ratio is the fairer of the two when the machine differs."""
    lines = ["", f"Compared with the run of {previous.get('started', '?')}:"]
    for database, run in report["runs"].items():
        for mode, measured in run["modes"].items():
            old_pages = (
                previous.get("runs", {})
                .get(database, {})
                .get("modes", {})
                .get(mode, {})
                .get("pages", {})
            )
            for key, result in measured["pages"].items():
                if key in old_pages:
                    lines.append(
                        f"  {database:8} {mode:5} {key:10} " + compared(old_pages[key], result)
                    )
    return "\n".join(lines)


def compared(old, new):
    change = (new["rps"] / old["rps"] - 1) * 100 if old["rps"] else float("nan")
    return (
        f"{old['rps']:8.1f} -> {new['rps']:8.1f} req/s ({change:+4.0f}%), "
        f"ratio {old.get('ratio', float('nan')):.2f} -> {new['ratio']:.2f}"
    )


# -- Markdown -----------------------------------------------------------------------


def markdown(report):
    """docs/benchmarks.md: the template filled with this report's figures."""
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(markdown_figures(report))


def markdown_figures(report):
    """What the template shows, each figure formatted as it is printed."""
    settings, code = report["settings"], report["code"]
    warnings = [code_warning(report), load_warning(report)]
    return {
        "date": report["started"][:10],
        "data": "the seed fixture" if settings["fixture"] else f"{settings['entries']:,} entries",
        "databases": " and ".join(DATABASE_NAMES[d] for d in report["runs"]),
        "minutes": f"{report['duration_s'] / 60:.1f}",
        "commit": code["commit"][:12],
        "dirty": (
            f" with {code['changed_files']} changed or new files of the site not yet "
            f"committed (fingerprint `{code['fingerprint']}`)"
            if code["changed_files"]
            else ""
        ),
        "warnings": "".join(f"\n\n{warning}" for warning in warnings if warning),
        **{
            key: settings[key]
            for key in ("workers", "port", "threads", "connections", "warmup_s", "duration_s")
        },
        "cores": report["machine"]["cores"],
        "machine_table": machine_table(report),
        "versions_table": versions_table(report),
        "command": report["command"],
        "gunicorn": report["gunicorn"],
        "wrk": report["wrk"],
        "data_table": data_table(report),
        "side_by_side": side_by_side(report),
        "figures": figures(report),
        "targets_table": targets_table(report),
        "size_table": size_table(report),
    }


def table(rows, head):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def code_warning(report):
    """The site's code seen before each database's run, if it was not the same."""
    seen = {run["code"]["fingerprint"] for run in report["runs"].values()}
    if len(seen) < 2:
        return ""
    return (
        "**The code changed during the run** (someone edited the site): the databases "
        "did not run the same code; see `code` under each run in the JSON."
    )


def load_warning(report):
    loads = [
        load
        for run in report["runs"].values()
        for m in run["modes"].values()
        for load in m["loadavg"]
    ]
    cores = report["machine"]["cores"] or 1
    if not loads or max(loads) <= cores + 1:
        return ""
    return (
        f"**The machine was busy**: the load average went from {min(loads)} to "
        f"{max(loads)} on {cores} cores (this benchmark alone makes about {cores + 1}), "
        "so other work competed for the CPU and the figures are noisy; compare the two "
        "ceilings of each table to see how much."
    )


def machine_table(report):
    m = report["machine"]
    rows = [
        ("CPU", m["cpu"]),
        ("cores", m["cores"]),
        ("memory", f"{m['memory_gib']} GiB"),
        ("OS", f"{m['os']}, kernel {m['kernel']}"),
    ]
    return table(rows, ["", ""])


def versions_table(report):
    names = {
        "python": "Python",
        "django": "Django",
        "gunicorn": "gunicorn",
        "whitenoise": "WhiteNoise",
        "psycopg": "psycopg",
        "sqlite": "SQLite",
        "postgresql": "PostgreSQL",
        "redis": "Redis",
        "wrk": "wrk",
    }
    rows = [(names[k], v) for k, v in report["versions"].items()]
    return table(rows, ["", ""])


def data_table(report):
    rows = []
    for database, run in report["runs"].items():
        d, c = run["data"], run["data"]["counts"]
        rows.append(
            (
                DATABASE_NAMES[database],
                f"{c['published_entries']:,} of {c['entries']:,}",
                f"{c['published_issues']:,} of {c['issues']:,}",
                f"{c['tags']:,}",
                f"`{d['issue_slug']}`",
                f"`{'`, `'.join(d['tags'])}` ({d['tag_pair_entries']:,})",
                f"`{d['arxiv_id']}` ({d['paper_entries']})",
                f"{run['build_seconds']} s",
            )
        )
    head = [
        "database",
        "public entries",
        "public issues",
        "tags",
        "issue page",
        "two tags (entries with both)",
        "paper (entries)",
        "set-up",
    ]
    return table(rows, head)


def side_by_side(report):
    """Per database, each page cold and hit (and through Varnish when measured),
    each with its ratio to the static file of the issue page's size served by
    the same gunicorn in the same mode: the site's own cost without the cache,
    and with it."""
    out = []
    for database, run in report["runs"].items():
        modes = [mode for mode in SIDE_BY_SIDE if mode in run["modes"]]
        head = ["page"]
        for mode in modes:
            name = SIDE_BY_SIDE[mode]
            head += [f"{name} req/s", f"{name} p50 ms", f"{name} p99 ms", f"{name} ÷ static"]
        both = "redis" in run["modes"] and "none" in run["modes"]
        if both:
            head.append("hit ÷ cold")
        rows = [
            ["static file (the ceiling: mean of first and last)"]
            + [
                cell
                for mode in modes
                for cell in (f"{run['modes'][mode]['ceiling_rps']:,.1f}", "", "", "1.00")
            ]
            + ([""] if both else [])
        ]
        keys = [
            key
            for key in next(iter(run["modes"].values()))["pages"]
            if not key.startswith("static")
        ]
        for key in keys:
            pages = {mode: run["modes"][mode]["pages"][key] for mode in modes}
            row = [next(iter(pages.values()))["what"]]
            for mode in modes:
                page = pages[mode]
                row += [
                    f"{page['rps']:,.1f}",
                    f"{page['p50_ms']:.1f}",
                    f"{page['p99_ms']:.1f}",
                    f"{page['ratio']:.2f}",
                ]
            if both:
                cold = pages["none"]["rps"]
                row.append(f"{pages['redis']['rps'] / cold:,.0f}×" if cold else "-")
            rows.append(row)
        out.append(f"### {DATABASE_NAMES[database]}\n\n" + table(rows, head))
    return "\n\n".join(out)


def figures(report):
    out = []
    for database, run in report["runs"].items():
        for mode, measured in run["modes"].items():
            load = measured["loadavg"]
            out.append(
                f"### {DATABASE_NAMES[database]}, {MODE_NAMES[mode]}\n\n"
                f"Load average {load[0]} at the start, {load[1]} at the end.\n\n"
                + figures_table(measured["pages"])
            )
    return "\n\n".join(out)


def figures_table(pages):
    rows = []
    for result in pages.values():
        rows.append(
            (
                result["what"],
                f"`{unquote(result['url'])}`",
                f"{result['rps']:,.1f}",
                f"{result['p50_ms']:.1f}",
                f"{result['p99_ms']:.1f}",
                f"{result['ratio']:.2f}",
                f"{result['bytes_per_response']:,}",
                f"{result['requests']:,}",
                error_count(result),
            )
        )
        if "single" in result:
            single = result["single"]
            rows.append(
                (
                    "… the same, 1 connection",
                    "",
                    f"{single['rps']:,.1f}",
                    f"{single['p50_ms']:.1f} (p95 {single['p95_ms']:.1f})",
                    f"{single['p99_ms']:.1f}",
                    "",
                    "",
                    f"{single['requests']:,}",
                    error_count(single),
                )
            )
    head = [
        "page",
        "URL (unencoded here)",
        "req/s",
        "p50 ms",
        "p99 ms",
        "ratio to static",
        "bytes/response (with headers)",
        "requests",
        "errors",
    ]
    return table(rows, head)


def targets_table(report):
    rows = []
    for v in report["targets"]:
        value = "-" if v["value"] is None else f"{v['value']:,}"
        rows.append(
            (
                v["target"],
                DATABASE_NAMES[v["database"]],
                v["note"],
                value,
                v["limit"],
                met_text(v["met"]),
            )
        )
    return table(rows, ["target", "database", "page / how", "measured", "limit", "verdict"])


def size_table(report):
    rows = []
    for database, run in report["runs"].items():
        d = run["data"]
        transfer = next(iter(run["modes"].values()))["issue_transfer"]
        rows.append(
            (
                DATABASE_NAMES[database],
                f"{d['issue_page_bytes']:,}",
                f"{transfer['bytes']:,} ({transfer['content_encoding']})",
                f"{d['issue_page_gzip6_bytes']:,}",
                f"{d['issue_page_brotli5_bytes']:,}",
            )
        )
    head = [
        "database",
        "issue page, bytes",
        "sent for `Accept-Encoding: gzip, br`",
        "gzip -6 would be",
        "Brotli q5 would be",
    ]
    return table(rows, head)
