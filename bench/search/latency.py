"""Search latency on a large generated archive, on SQLite or PostgreSQL.

Run from the project folder (docs/search-benchmark.md has the figures)::

    .venv/bin/python -m bench.search.latency --entries 100000 --database sqlite
    .venv/bin/python -m bench.search.latency --entries 100000 --database postgres
    .venv/bin/python -m bench.search.latency --fixture --database sqlite   # the seed's 20

The script uses its own databases only and makes them afresh: SQLite at
/tmp/bench-search.sqlite3, PostgreSQL ``bench_search`` on 127.0.0.1:5432
(dropped and created again). It migrates, generates an archive of synthetic
Chinese summaries with operations.synthetic_archive (what ``manage.py
generate_archive`` makes: bulk inserts, and the search index written with the
site's own tokeniser), then times each query of ``QUERIES`` three ways:

- ``count``: how many public entries match, as the paginator asks;
- ``page``: the first 20 best-ranked results as the entries page fetches them
  (``search.search(Entry.objects.published().for_listing(), ...)[:20]``);
- ``view``: the whole ``/entries/?q=`` page through Django's test client,
  DEBUG off (with its facet counts, highlighted snippets and template).

Each is run once to warm up and then ``--repeat`` times (the whole page
``--view-repeat`` times: at 100,000 entries one page of a common word takes
seconds); p50 and p95 in ms. The target is a search (count and first page)
under 50 ms at p95. ``--reuse`` times the archive an earlier run left without
making it again; ``--json`` writes every figure to a file. The archive has one
issue per 100 entries and, unless ``--tags`` says otherwise, 5,000 tags.
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import time
from pathlib import Path

from bench.common.scratch import ScratchDatabase

SCRATCH = ScratchDatabase("/tmp/bench-search.sqlite3", "bench_search")
STATIC_ROOT = Path("/tmp/bench-search-static")
TARGET_MS = 50

# What readers type: common and rare terms, short and long Chinese, English,
# an arXiv id, a quoted phrase, a mixed query.
QUERIES = [
    ("模型", "most common Chinese word"),
    ("推理", "common two-character Chinese"),
    ("对齐", "two-character Chinese"),
    ("幻觉", "two-character Chinese"),
    ("检索增强生成", "longer Chinese (a phrase of 5 bigrams)"),
    ("联邦学习", "less common Chinese"),
    ("甲骨文", "rare Chinese (three characters)"),
    ("hallucination", "English, prefix match"),
    ("rag", "English, short word"),
    ("2406.15877", "arXiv id"),
    ('"long context"', "quoted phrase"),
    ("长上下文 RAG", "mixed Chinese and English"),
    ("幻觉 hallucination benchmark", "mixed, three terms"),
    ("幻觉检测", "two words in one run: relaxed when the phrase finds few"),
    ("幻覺", "Traditional Chinese, folded"),
    ("-模型 幻觉", "with an excluded word"),
]
EXPLAIN_QUERY = "幻觉"


# -- Set-up -------------------------------------------------------------------


def configure(database):
    """Point Django at the benchmark's database, DEBUG off, before setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "digestsite.settings"
    os.environ["DATABASE_URL"] = SCRATCH.url(database)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_HTTPS"] = "0"  # the test client asks over plain HTTP
    # Every request computed: a page from the page cache would time the cache.
    os.environ["DIGEST_PAGE_CACHE"] = "0"
    os.environ["DJANGO_SECRET_KEY"] = "bench-search-latency-not-a-secret"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def prepare_static():
    """Production serves hashed static names from a manifest: collect them to /tmp
    (not the project's staticfiles/) so pages render with DEBUG off."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    override_settings(STATIC_ROOT=str(STATIC_ROOT)).enable()
    call_command("collectstatic", interactive=False, verbosity=0)


def progress(message, started=None):
    elapsed = f" [{time.perf_counter() - started:6.1f} s]" if started else ""
    print(f"  {message}{elapsed}", flush=True)


# -- The archive -----------------------------------------------------------------


def generate(args):
    """The synthetic archive (operations.synthetic_archive), a line per phase; its timings."""
    from operations import synthetic_archive

    started = time.perf_counter()

    def report(phase, done, total):
        if done == total:
            progress(f"{phase}: {total:,}", started)

    generated = synthetic_archive.generate(
        issues=args.issues or max(1, args.entries // 100),
        entries=args.entries,
        tags=args.tags,
        seed=args.seed,
        progress=report,
        fts_rebuild=args.sqlite_fts == "rebuild",
    )
    progress(f"generated in {generated.timings['total']:.1f} s ({generated.tag_links:,} tag links)")
    return generated.timings


def load_fixture():
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("load_seed", verbosity=0)  # signals index every entry
    return {"total": time.perf_counter() - started}


# -- Timing ------------------------------------------------------------------------


def percentile(samples, p):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(function, repeat):
    result = function()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return result, {
        "p50": statistics.median(samples),
        "p95": percentile(samples, 95),
        "min": min(samples),
        "max": max(samples),
    }


def measure(repeat, view_repeat):
    from django.test import Client

    from papers import search
    from papers.models import Entry

    client = Client()
    count_pattern = re.compile(r"共 (\d+) 篇论文")
    results = []
    glossary = search.glossary()  # as the page parses a query (its one look-up is in ``view``)
    for query, what in QUERIES:
        parsed = search.parse_query(query, glossary)

        def count(parsed=parsed):
            return search.search(Entry.objects.published(), parsed).count()

        def page(parsed=parsed):
            return list(search.search(Entry.objects.published().for_listing(), parsed)[:20])

        def view(query=query):
            response = client.get("/entries/", {"q": query})
            assert response.status_code == 200, response.status_code
            return response

        matches, count_ms = timed(count, repeat)
        first_page, page_ms = timed(page, repeat)
        response, view_ms = timed(view, view_repeat)
        shown = count_pattern.search(response.content.decode())
        assert shown and int(shown.group(1)) == matches, (query, matches, shown)
        assert len(first_page) == min(20, matches)
        row = {
            "query": query,
            "what": what,
            "matches": matches,
            "count": count_ms,
            "page": page_ms,
            "view": view_ms,
        }
        results.append(row)
        print(
            f"  {query:<30} {matches:>7} matches  count p50 {count_ms['p50']:7.1f} "
            f"p95 {count_ms['p95']:7.1f}  page p50 {page_ms['p50']:7.1f} "
            f"p95 {page_ms['p95']:7.1f}  view p50 {view_ms['p50']:7.1f} "
            f"p95 {view_ms['p95']:7.1f} ms",
            flush=True,
        )
    return results


def explain(query):
    """The plans of the first-page query and of the queries the count runs:
    on SQLite the paginator's count, on PostgreSQL those that find the window
    (the results know their count)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from papers import search
    from papers.models import Entry

    parsed = search.parse_query(query, search.glossary())
    postgres = connection.vendor == "postgresql"
    page = search.search(Entry.objects.published().for_listing(), parsed)[:20]
    plans = {"page": page.explain(**({"analyze": True, "buffers": True} if postgres else {}))}
    with CaptureQueriesContext(connection) as captured:
        search.search(Entry.objects.published(), parsed).count()
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    count_plans = []
    with connection.cursor() as cursor:
        for ran in captured.captured_queries:
            cursor.execute(prefix + ran["sql"])
            rows = cursor.fetchall()
            count_plans.append("\n".join(" ".join(str(value) for value in row) for row in rows))
    plans["count"] = "\n\n".join(count_plans)
    return plans


# -- Report --------------------------------------------------------------------------


def environment():
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        (db_version,) = cursor.fetchone()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "?",
    )
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": f"{connection.vendor} {db_version}",
        "load average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def markdown_table(results):
    """The figures as a Markdown table; the verdict adds the two search queries' p95."""
    lines = [
        "| query | matches | count p50 / p95 | first page p50 / p95 | whole page p50 / p95 "
        f"| search p95 < {TARGET_MS} ms? |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in results:

        def pair(key, row=row):
            return f"{row[key]['p50']:.1f} / {row[key]['p95']:.1f}"

        search_p95 = row["count"]["p95"] + row["page"]["p95"]
        verdict = (
            f"yes ({search_p95:.0f} ms)"
            if search_p95 < TARGET_MS
            else f"**no** ({search_p95:.0f} ms, +{search_p95 - TARGET_MS:.0f})"
        )
        query = row["query"].replace("|", "\\|")
        lines.append(
            f"| `{query}` | {row['matches']} | {pair('count')} | {pair('page')} "
            f"| {pair('view')} | {verdict} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(
        prog="python -m bench.search.latency", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument(
        "--issues", type=int, help="number of issues (default: one per 100 entries)"
    )
    parser.add_argument("--tags", type=int, default=5000, help="number of distinct tags")
    parser.add_argument(
        "--fixture",
        action="store_true",
        help="load the seed roundup (20 entries) instead of generating",
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="timed runs of the count and first-page queries"
    )
    parser.add_argument(
        "--view-repeat", type=int, default=10, help="timed runs of the whole /entries/?q= page"
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--sqlite-fts",
        choices=["triggers", "rebuild"],
        default="rebuild",
        help="fill SQLite's FTS5 index by its insert trigger, or rebuild it "
        "once after inserting the documents",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the archive an earlier run left, without making it again",
    )
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    if min(args.repeat, args.view_repeat) < 1:
        parser.error("--repeat and --view-repeat must be at least 1")

    if not args.reuse:
        SCRATCH.create(args.database)
    configure(args.database)
    from django.core.management import call_command

    env = environment()
    print(
        f"{env['database']} · Python {env['python']} · Django {env['django']} · "
        f"{env['nproc']} × {env['cpu']} · {env['memory']} · "
        f"load {env['load average']}",
        flush=True,
    )
    generation = None
    if not args.reuse:
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        progress("migrated", started)
        if args.fixture:
            generation = load_fixture()
            progress(f"seed roundup loaded (indexed by the signals) in {generation['total']:.1f} s")
        else:
            generation = generate(args)
    prepare_static()

    from papers.models import Entry

    size = Entry.objects.count()
    print(
        f"Timing {len(QUERIES)} queries on {size} entries "
        f"({Entry.objects.published().count()} public), {args.repeat} runs each "
        f"({args.view_repeat} of the whole page):",
        flush=True,
    )
    results = measure(args.repeat, args.view_repeat)
    plans = explain(EXPLAIN_QUERY)
    print(f"\nEXPLAIN, first page of {EXPLAIN_QUERY}:\n{plans['page']}")
    print(f"\nEXPLAIN, the queries of the count of {EXPLAIN_QUERY}:\n{plans['count']}")
    print("\n" + markdown_table(results))
    env["load average after"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nload average before {env['load average']}, after {env['load average after']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "environment": env,
                    "entries": size,
                    "arguments": {k: str(v) for k, v in vars(args).items()},
                    "generation_seconds": generation,
                    "results": results,
                    "explain": plans,
                },
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
