"""The benchmarks' Markdown reports, rendered from their templates
(bench/http/report.md, bench/soak/report.md) with fixed figures.

The reports in docs/ are read next to earlier ones: the same figures must give
the same lines, whichever way the template is filled.
"""

import copy

import pytest

from bench.http import report as http_report
from bench.soak import editing_report
from bench.soak import report as soak_report
from tests.support.soak_editing import T0, editing_args, editing_plan, editing_run


def assert_headings_stand_apart(lines):
    """Markdown needs a blank line around each heading, or it runs into the text."""
    for number, line in enumerate(lines):
        if line.startswith("#") and number:
            assert lines[number - 1] == "" and lines[number + 1] == "", line


def page(what, url, rps, ratio, single=False):
    result = {
        "what": what,
        "url": url,
        "rps": rps,
        "requests": int(rps * 10),
        "seconds": 10.0,
        "p50_ms": 3.14,
        "p90_ms": 4.0,
        "p95_ms": 4.5,
        "p99_ms": 6.25,
        "max_ms": 9.0,
        "bytes_per_response": 278349,
        "errors": {"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        "threads": 2,
        "connections": 16,
        "ratio": ratio,
    }
    if single:
        result["single"] = {**result, "rps": 40.0, "requests": 400, "p95_ms": 31.5}
    return result


def http_run(loadavg):
    pages = {
        "static": page(
            "static file, issue-page size (ceiling)",
            "/static/bench-http/issue-page.html",
            4840.7,
            1.05,
        ),
        "home": page("home page", "/", 4100.0, 0.89),
        "issue": page("issue page", "/issues/2024-06-h2/", 3900.0, 0.85),
        "tags": page(
            "entries with two tags", "/entries/?tag=rag&tag=%E5%B9%BB%E8%A7%89", 3800.0, 0.82
        ),
        "search": page("search 幻觉", "/entries/?q=%E5%B9%BB%E8%A7%89", 3700.0, 0.8, single=True),
        "paper": page("paper page", "/papers/2406.15877/", 4000.0, 0.87),
        "feed": page("Atom feed of issues", "/feeds/issues.atom", 4200.0, 0.91),
        "static_end": page(
            "the same static file, again", "/static/bench-http/issue-page.html", 4386.4, 0.95
        ),
    }
    return {
        "code": {"commit": "d0f6c0e5632b0000", "changed_files": 0, "fingerprint": "f00"},
        "build_seconds": 212.5,
        "data": {
            "issue_slug": "2024-06-h2",
            "tags": ["rag", "幻觉"],
            "tag_pair_entries": 1234,
            "arxiv_id": "2406.15877",
            "paper_entries": 3,
            "issue_page_bytes": 278000,
            "issue_page_gzip6_bytes": 41000,
            "issue_page_brotli5_bytes": 35000,
            "counts": {
                "issues": 1001,
                "published_issues": 990,
                "entries": 100020,
                "published_entries": 99000,
                "tags": 5000,
            },
        },
        "modes": {
            "redis": {
                "pages": pages,
                "ceiling_rps": 4613.6,
                "issue_transfer": {"status": 200, "content_encoding": "br", "bytes": 36000},
                "loadavg": loadavg,
            }
        },
    }


@pytest.fixture
def http_figures():
    report = {
        "schema": 1,
        "started": "2026-11-25T08:00:00+00:00",
        "finished": "2026-11-25T08:09:30",
        "duration_s": 570,
        "command": ".venv/bin/python -m bench.http.load --database sqlite",
        "gunicorn": (
            ".venv/bin/gunicorn digestsite.wsgi:application --bind 127.0.0.1:8765 "
            "--workers 5 --log-level warning"
        ),
        "wrk": (
            "wrk -t2 -c16 -d10s --latency --timeout 30s -s bench/http/wrk_report.lua "
            "http://127.0.0.1:8765{url}"
        ),
        "settings": {
            "entries": 100000,
            "fixture": False,
            "reuse": False,
            "modes": ["redis"],
            "workers": 5,
            "threads": 2,
            "connections": 16,
            "duration_s": 10,
            "warmup_s": 3,
            "port": 8765,
        },
        "code": {"commit": "d0f6c0e5632b0000", "changed_files": 0, "fingerprint": "f00"},
        "machine": {
            "cpu": "A test CPU",
            "cores": 2,
            "memory_gib": 23.5,
            "os": "Debian GNU/Linux 12 (bookworm)",
            "kernel": "6.1.0-test",
        },
        "versions": {
            "python": "3.11.7",
            "django": "5.2.19",
            "gunicorn": "23.0.0",
            "whitenoise": "6.9.0",
            "psycopg": "3.2.3",
            "sqlite": "3.40.1",
            "postgresql": "15.20",
            "redis": "7.0.15",
            "wrk": "4.1.0",
        },
        "runs": {"sqlite": http_run([0.5, 0.7])},
    }
    report["targets"] = http_report.evaluate(report)
    return report


def test_the_http_report_says_what_was_run_and_on_what(http_figures):
    text = http_report.markdown(http_figures)
    lines = text.splitlines()
    assert lines[0] == "# HTTP benchmark: requests per second and latency"
    assert lines[2] == (
        "Written by `bench/http/load.py` (`make bench`) on 2026-11-25: 100,000 entries, on"
    )
    assert lines[3] == "SQLite; the whole run took 9.5 minutes. Code: commit"
    assert lines[4] == ("`d0f6c0e5632b`. The raw figures are in `docs/benchmarks.json`;")
    assert lines[5] == (
        "`--compare docs/benchmarks.json` on a later run prints the change page by page."
    )
    assert lines[6:8] == ["", "## What is measured"]
    assert "The site runs as production runs it: gunicorn with 5 sync workers" in lines
    assert "127.0.0.1:8765. wrk loads one URL at a time with 2 threads and" in lines
    assert "16 connections: 3 s of warm-up, then 10 s" in lines
    assert "**Shared cores.** This machine has 2 cores, and wrk, the gunicorn workers, the" in lines
    assert "| memory | 23.5 GiB |" in lines
    assert "| wrk | 4.1.0 |" in lines
    assert ".venv/bin/python -m bench.http.load --database sqlite    # this run" in lines
    assert http_figures["wrk"] in lines
    assert "wrk, per URL, after the same command with `-d3s` as warm-up" in lines
    assert (
        "| SQLite | 99,000 of 100,020 | 990 of 1,001 | 5,000 | `2024-06-h2` | "
        "`rag`, `幻觉` (1,234) | `2406.15877` (3) | 212.5 s |"
    ) in lines
    assert "### SQLite, page cache hit (Redis)" in lines
    assert "Load average 0.5 at the start, 0.7 at the end." in lines
    assert (
        "| entries with two tags | `/entries/?tag=rag&tag=幻觉` | 3,800.0 | 3.1 | 6.2 | "
        "0.82 | 278,349 | 38,000 | 0 |"
    ) in lines
    assert "| … the same, 1 connection |  | 40.0 | 3.1 (p95 31.5) | 6.2 |  |  | 400 | 0 |" in lines
    assert ("| SQLite | 278,000 | 36,000 (br) | 41,000 | 35,000 |") in lines
    assert lines[-1] == "  a search matches."
    assert text.endswith("a search matches.\n") and "${" not in text
    # The sections in their order, one blank line between each.
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [
        "## What is measured",
        "## Machine",
        "## Versions",
        "## Commands",
        "## Data",
        "## Cold and hit, side by side",
        "## Figures",
        "## Targets",
        "## Issue page size",
        "## Weak points of this benchmark",
    ]
    assert "\n\n\n" not in text
    assert_headings_stand_apart(lines)


def test_the_http_report_sets_each_page_cold_and_hit_side_by_side(http_figures):
    figures = copy.deepcopy(http_figures)
    run = figures["runs"]["sqlite"]
    cold = copy.deepcopy(run["modes"]["redis"])
    for key, page in cold["pages"].items():
        if not key.startswith("static"):
            page.update(rps=page["rps"] / 100, ratio=page["ratio"] / 100, p50_ms=250.0)
    cold["ceiling_rps"] = 4500.0
    run["modes"]["none"] = cold
    lines = http_report.markdown(figures).splitlines()
    head = (
        "| page | hit req/s | hit p50 ms | hit p99 ms | hit ÷ static | cold req/s | cold p50 ms "
        "| cold p99 ms | cold ÷ static | hit ÷ cold |"
    )
    at = lines.index(head)
    assert lines[at - 2] == "### SQLite"
    assert lines[at + 2] == (
        "| static file (the ceiling: mean of first and last) | 4,613.6 |  |  | 1.00 "
        "| 4,500.0 |  |  | 1.00 |  |"
    )
    assert lines[at + 4] == (
        "| issue page | 3,900.0 | 3.1 | 6.2 | 0.85 | 39.0 | 250.0 | 6.2 | 0.01 | 100× |"
    )
    assert "### SQLite, cold: page cache off, every request computed" in lines
    varnish = copy.deepcopy(run["modes"]["redis"])
    varnish["ceiling_rps"] = 4400.0
    varnish["pages"]["issue"].update(rps=13200.0, ratio=3.0, p50_ms=0.8, p99_ms=4.0)
    run["modes"]["varnish"] = varnish
    lines = http_report.markdown(figures).splitlines()
    assert (
        "| issue page | 3,900.0 | 3.1 | 6.2 | 0.85 | 39.0 | 250.0 | 6.2 | 0.01 | 13,200.0 | 0.8 "
        "| 4.0 | 3.00 | 100× |"
    ) in lines
    assert "### SQLite, through Varnish: front cache hit" in lines


def test_the_http_report_warns_of_a_busy_machine_and_changed_code(http_figures):
    busy = copy.deepcopy(http_figures)
    busy["runs"]["postgres"] = http_run([2.4, 4.96])
    busy["runs"]["postgres"]["code"]["fingerprint"] = "bad"
    text = http_report.markdown(busy)
    assert (
        "`--compare docs/benchmarks.json` on a later run prints the change page by page."
        "\n\n**The code changed during the run** (someone edited the site)"
    ) in text
    assert (
        "see `code` under each run in the JSON.\n\n**The machine was busy**: the load "
        "average went from 0.5 to 4.96 on 2 cores"
    ) in text
    assert "ceilings of each table to see how much.\n\n## What is measured\n" in text
    assert "SQLite and PostgreSQL; the whole run took" in text


@pytest.fixture
def soak_figures():
    phases = ["editing", "normal", "pg_down", "pg_recovery", "steady", "redis_down", "redis_back"]
    bounds = [0.0, 90.0, 105.0, 110.5, 115.5, 121.0, 133.0, None]
    editing = editing_report.summary(editing_run(), editing_plan(), editing_args(), T0)
    return {
        "schema": 1,
        "started": "2026-11-25T09:00:00+00:00",
        "command": ".venv/bin/python -m bench.soak.run --duration 60",
        "gunicorn": (
            ".venv/bin/gunicorn digestsite.wsgi:application --bind 127.0.0.1:8791 "
            "--workers 2 --timeout 30 --log-level warning"
        ),
        "machine": {
            "cpu": "A test CPU",
            "cores": 2,
            "memory_gib": 23.5,
            "os": "Debian GNU/Linux 12 (bookworm)",
            "kernel": "6.1.0-test",
        },
        "versions": {
            "python": "3.11.7",
            "django": "5.2.19",
            "gunicorn": "23.0.0",
            "psycopg": "3.2.3",
            "redis-py": "8.1.0",
            "postgresql": "15.20",
            "redis": "7.0.15",
        },
        "code": {"commit": "eb486146958c0000", "changed_files": 0, "fingerprint": "f00"},
        "loadavg": [1.0, 1.1, 1.2, 2.0, 2.1, 2.2],
        "seconds": 96.0,
        "setup_seconds": 18.1,
        "data": {"issues": 101, "published_issues": 99, "entries": 3020, "published_entries": 2990},
        "settings": {
            "editing": 90,
            "reader_pause": 0.5,
            "draft_interval": 2.0,
            "publish_interval": 30.0,
            "duration": 60,
            "readers": 64,
            "editors": 4,
            "servers": 2,
            "workers": 2,
            "entries": 3000,
            "issues": 100,
            "pg_down": 5.0,
            "redis_down": 12.0,
            "recovery_limit": 5.0,
        },
        "urls": 150,
        "healthz": True,
        "events": {
            "editing_end": 90.0,
            "pg_stop": 105.0,
            "pg_ready": 110.5,
            "redis_stop": 121.0,
            "redis_ready": 133.0,
        },
        "phase_bounds": [[key, bounds[n], bounds[n + 1]] for n, key in enumerate(phases)],
        "phases": {
            key: {
                "requests": 100,
                "labels": {"ok": 100},
                "errors": 0,
                "seconds": 5.0,
                "rps": 20.0,
                "p50_ms": 50.0,
                "p99_ms": 300.0,
                "max_ms": 500.0,
            }
            for key in phases
        },
        "timeline": [
            {"at": at * 2.0, "ok": 10, "clean-503": 0, "other": 0, "rps": 5.0, "p50_ms": 40.0}
            for at in range(77)
        ],
        "load_seconds": 150,
        "first_errors": [],
        "servers": [
            {
                "server": 0,
                "phases": {"pg_down": {"probe": {"clean-503": 5}, "healthz": {"clean-503": 3}}},
                "probe_errors": 0,
                "recovery_s": 0.8,
                "recovery_request_latency_s": 0.3,
                "recovery_sent_s": 0.5,
                "last_reader_503_after_pg_back_s": 1.2,
            }
        ],
        "editors": {
            "totals": {"stored": 40, "refused-503": 3},
            "phases": {"normal": {"stored": 40}, "pg_down": {"refused-503": 3}},
            "form_not_opened": {"pg_down": 2},
            "refusal_messages": [],
            "anomalies": [],
            "attempts": [],
        },
        "editing": editing,
        "baseline": None,
        "freshness": [{"fresh": True}, {"fresh": True}, {"fresh": False}],
        "server_logs": [
            {
                "server": 0,
                "lines": 12,
                "tracebacks": 0,
                "kinds": {"ERROR Service Unavailable: /…": 12},
            }
        ],
        "failures": [],
        "notes": [],
    }


def test_the_soak_report_names_gthread_workers_when_they_ran(soak_figures):
    soak_figures["settings"]["threads"] = 4
    lines = soak_report.markdown(soak_figures).splitlines()
    assert any(
        line.startswith("- 2 gunicorn masters × 2 gthread workers of 4 threads") for line in lines
    )


def test_the_soak_report_says_what_was_run_and_what_held(soak_figures):
    text = soak_report.markdown(soak_figures)
    lines = text.splitlines()
    assert lines[:7] == [
        "# Soak: editors at work, then load with PostgreSQL restarted and Redis stopped",
        "",
        "Written by `bench/soak/run.py` (`make soak`) on 2026-11-25; the whole run took",
        "1.6 minutes (set-up 18.1 s). Code: commit",
        "`eb486146958c`. Raw figures: `docs/soak.json`.",
        "",
        "**All rules held.**",
    ]
    assert "**The machine**: load average 1.0 / 1.1 / 1.2 (1/5/15 min) before" in lines
    assert lines[
        lines.index("**The machine**: load average 1.0 / 1.1 / 1.2 (1/5/15 min) before") + 1
    ].startswith("the run and 2.0 / 2.1 / 2.2 after, on 2 cores; the readers")
    assert "- A private PostgreSQL 15.20 cluster and a private Redis 7.0.15 (the soak's" in lines
    assert "- The site: `migrate`, `generate_archive` (3,020 entries in" in lines
    assert "  101 issues, seed roundup included), editor accounts in the Editor" in lines
    assert "- 2 gunicorn masters × 2 sync workers on different ports, all on that" in lines
    assert f"  {soak_figures['gunicorn']}" in lines
    assert "- 64 concurrent readers for 150 s over 150 public URLs" in lines
    assert "  first 90 s of the editing phase (below), each reader pausing" in lines
    assert "  0.5 s on average between two pages, then 60 s with the faults," in lines
    assert "  the database), every other second `/healthz`." in lines
    assert "- Then, with the faults, the 4 editors: 3 save" in lines
    assert "Command: `.venv/bin/python -m bench.soak.run --duration 60`" in lines
    assert "| PostgreSQL stopping (fast shutdown: connections cut) | 105.0 |" in lines
    assert "| editing phase over; the faults' timeline starts | 90.0 |" in lines
    assert "| Redis answering | 133.0 |\n| end of load | 150 |" in text
    assert "5.0 s after it accepts connections again; anything else that is not a 200" in lines
    for table in (
        soak_report.phase_table,
        soak_report.timeline_table,
        soak_report.server_table,
        soak_report.editor_table,
    ):
        assert f"\n\n{table(soak_figures)}\n\n" in text
    editing = soak_figures["editing"]
    for table in (
        editing_report.goal_table,
        editing_report.readers_table,
        editing_report.kinds_table,
        editing_report.publisher_table,
        editing_report.drafts_table,
    ):
        assert f"\n\n{table(editing)}\n\n" in text
    assert "| editing: drafts and a Publisher | 0.0-90.0 | 100 |" in text
    assert "| 32 | 5.0 | 10 | 0 | 0 | 40.0 | publisher save 2 returned |" in lines
    assert "| 90 | 5.0 | 10 | 0 | 0 | 40.0 | editing end |" in lines
    assert "reading do, so the 64 of them ask for 128.0 pages a second at most: a" in lines
    assert "| readers p99 < 250 ms | 300.0 ms | **not met** |" in lines
    assert "| no stale page | 0 of 2 | met |" in lines
    assert "No baseline (docs/soak-baseline.json) to compare with." in lines
    assert (
        "Load average 1.0 / 0.9 / 0.8 (1/5/15 min) at the phase's start and 1.5 / 1.0 / 0.9 "
        "at its end; the CPUs were 75.0% busy over the phase (every process on the machine, "
        "the readers' and other people's included)."
    ) in lines
    assert "| `SOAKPUB-0002` | 33.0 | 33.5 | 500.0 | stored | 1 | 0 | - |" in lines
    assert "| soak-editor-1 | 2 | stored 2 | 0 | 2.0 | 80.0 | 120.0 |" in lines
    assert (
        "What the admin answered to the draft saves it did not store:\n\n- (none)\n\n"
        "Public pages that showed a draft's marker: 0."
    ) in text
    assert (
        "2 requested after a save had returned (judged; by the `Accept-Encoding`\n"
        "asked for, since a page may be kept once per encoding: `gzip` 2),"
    ) in text
    assert "Refusal messages shown in the form:\n\n- (none)\n\nAnomalies:\n\n- (none)\n" in text
    assert (
        "After the run every edited issue page was read through every server: 2 of 3 "
        "showed the latest stored marker."
    ) in lines
    assert "| 0 | 12 | `ERROR Service Unavailable: /…` |" in lines
    assert "| OS | Debian GNU/Linux 12 (bookworm), kernel 6.1.0-test |" in lines
    assert "| gunicorn | 23.0.0 |" in lines and "| redis-py | 8.1.0 |" in lines
    assert text.endswith("| Redis | 7.0.15 |\n") and "${" not in text
    assert "\n\n\n" not in text
    assert_headings_stand_apart(lines)


def test_the_soak_report_sets_the_editing_phase_beside_its_baseline(soak_figures):
    figures = copy.deepcopy(soak_figures)
    figures["baseline"] = {
        **editing_report.baseline_of(figures, "every save threw away every cached page"),
        "started": "2026-11-20T09:00:00+00:00",
        "date": "2026-11-20",
        "commit": "2a73831a925f",
    }
    figures["baseline"]["readers"]["p50_ms"] = 1554.7
    figures["baseline"]["stale"], figures["baseline"]["judged"] = 0, 75
    lines = soak_report.markdown(figures).splitlines()
    assert (
        "The baseline is the phase as measured on 2026-11-20 at commit `2a73831a925f`, load "
        "average 1.0 at its start (docs/soak-baseline.json). Then every save threw away "
        "every cached page."
    ) in lines
    assert "| readers in the phase | this run | baseline (2026-11-20, `2a73831a925f`) |" in lines
    assert "| p50 ms | 8.0 | 1554.7 |" in lines
    assert "| stale pages (of those judged) | 0 of 2 | 0 of 75 |" in lines


def test_the_soak_report_lists_broken_rules_notes_and_anomalies(soak_figures):
    figures = copy.deepcopy(soak_figures)
    figures["failures"] = ["editors: 1 save(s) LOST"]
    figures["notes"] = ["no save was attempted while PostgreSQL was down or recovering"]
    figures["healthz"] = False
    figures["code"]["changed_files"] = 2
    figures["editors"]["refusal_messages"] = ["请更正下面的错误。"]
    figures["editors"]["anomalies"] = [
        {
            "editor": "soak-editor-1",
            "marker": "SOAK-abcdef-1-0007",
            "ended": 17.25,
            "phase": "pg_down",
            "status": 302,
            "verdict": "LOST",
            "message": "/admin/papers/",
        }
    ]
    figures["server_logs"] = [{"server": 0, "lines": 0, "tracebacks": 0, "kinds": {}}]
    text = soak_report.markdown(figures)
    assert (
        "`eb486146958c` with 2 uncommitted file(s) in the site's code "
        "(fingerprint `f00`). Raw figures"
    ) in text
    assert (
        "\n\n**Rules broken:**\n\n- editors: 1 save(s) LOST\n\nNot exercised in this run:"
        "\n\n- no save was attempted while PostgreSQL was down or recovering\n\n"
        "**The machine**"
    ) in text
    assert "  the database).\n" in text
    assert "Refusal messages shown in the form:\n\n- 请更正下面的错误。\n" in text
    assert (
        "- soak-editor-1 SOAK-abcdef-1-0007 at 17.25 s (pg_down): HTTP 302, LOST: /admin/papers/\n"
    ) in text
    assert "| --- | ---: | --- |\n| - | - | - |\n\n## Machine and versions" in text
