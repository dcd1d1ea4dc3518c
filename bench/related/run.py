"""Related entries at 100,000 entries: one save's recomputation, the full
rebuild, and the paper page's queries, on SQLite or PostgreSQL.

Run from the project folder (docs/related-benchmark.md has the figures)::

    .venv/bin/python -m bench.related.run --entries 100000 --database sqlite
    .venv/bin/python -m bench.related.run --entries 100000 --database postgres

The script uses its own databases only and makes them afresh: SQLite at
/tmp/bench-related.sqlite3, PostgreSQL ``bench_related`` on 127.0.0.1:5432.
It migrates and generates the synthetic archive (operations.synthetic_archive)
with the per-save receivers quiet, then times:

- ``rebuild``: ``papers.related.rebuild()``, every entry's terms and list,
  as ``rebuild_related`` and a bulk write run it;
- ``update``: ``papers.related.update_entry()`` for SAVES entries across the
  archive, each after its summary was changed: what one save adds (its own
  list, its place in the lists of others, the term counts), with its queries;
- ``save``: ``Entry.save()`` of SAVES other entries, every receiver included
  (search document, related entries, page-cache purges);
- ``hubs``: ``update_entry()`` for the HUBS entries that the most lists
  hold, the worst case of a save: each of them rescores its row in up to
  LISTED_BY_MAX of those lists;
- ``page``: the paper page of an entry with a full list, its queries and time.

``--json`` writes every figure, with the machine, versions and load average.
``--reuse`` times the saves, the hubs and the page on the archive and lists an
earlier run left (no generation, no rebuild).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

from bench.common import provenance
from bench.common.scratch import ScratchDatabase

SCRATCH = ScratchDatabase("/tmp/bench-related.sqlite3", "bench_related")
STATIC_ROOT = Path("/tmp/bench-related-static")
SAVES = 10
HUBS = 5
TARGET_MS = 1000


def configure(database):
    os.environ["DJANGO_SETTINGS_MODULE"] = "digestsite.settings"
    os.environ["DATABASE_URL"] = SCRATCH.url(database)
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_HTTPS"] = "0"
    os.environ["DIGEST_PAGE_CACHE"] = "0"  # every page computed
    os.environ["DJANGO_SECRET_KEY"] = "bench-related-not-a-secret"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seconds(started):
    return round(time.perf_counter() - started, 3)


def make_archive(entries):
    from django.core.management import call_command

    from operations import synthetic_archive
    from papers import signals

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with signals.suspended():  # the rebuild is timed on its own below
        synthetic_archive.generate(issues=max(1, entries // 100), entries=entries)
    return seconds(started)


def spread(count):
    """``count`` public entries spread over the archive, newest first."""
    from papers.models import Entry

    ids = list(Entry.objects.published().order_by("-pk").values_list("pk", flat=True))
    step = max(1, len(ids) // count)
    return ids[::step][:count]


def time_updates(entry_ids):
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from papers import related
    from papers.models import Entry

    samples, queries, listed = [], [], []
    for n, pk in enumerate(entry_ids):
        Entry.objects.filter(pk=pk).update(summary=f"第{n}次修改：幻觉检测与长上下文评测。")
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            changed = related.update_entry(pk)
            samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured.captured_queries))
        listed.append(len(changed))
    return samples, queries, listed


def hubs(count):
    """The ``count`` entries that the most related lists hold."""
    from django.db.models import Count

    from papers.models import RelatedEntry

    rows = (
        RelatedEntry.objects.values("related_id")
        .annotate(lists=Count("entry_id"))
        .order_by("-lists", "related_id")[:count]
    )
    return [(row["related_id"], row["lists"]) for row in rows]


def time_saves(entry_ids):
    from django.db import transaction

    from papers.models import Entry

    samples = []
    for n, entry in enumerate(Entry.objects.filter(pk__in=entry_ids)):
        entry.summary += f" 再次修改 {n}：量化与稀疏注意力。"
        started = time.perf_counter()
        with transaction.atomic():
            entry.save()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def prepare_static():
    """Hashed static names from a manifest, collected to /tmp, so that pages
    render with DEBUG off."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    override_settings(STATIC_ROOT=str(STATIC_ROOT)).enable()
    call_command("collectstatic", interactive=False, verbosity=0)


def time_page():
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from papers.models import Entry, RelatedEntry

    listed = RelatedEntry.objects.filter(entry__in=Entry.objects.published().exclude(arxiv_id=""))
    entry = listed.order_by("-entry_id").first().entry
    client = Client()
    path = f"/papers/{entry.arxiv_id}/"
    assert client.get(path).status_code == 200
    samples = []
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
    shown = response.content.decode().count('class="related-reason"')
    return {"path": path, "queries": len(captured.captured_queries), "shown": shown, "ms": samples}


def summary(samples):
    return {
        "p50": round(statistics.median(samples), 1),
        "max": round(max(samples), 1),
        "min": round(min(samples), 1),
    }


def environment():
    """The machine (bench.common.provenance), the versions and the load average now."""
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        cursor.execute("SHOW server_version" if postgres else "SELECT sqlite_version()")
        (db_version,) = cursor.fetchone()
    return {
        "machine": provenance.machine(),
        "code": provenance.code_version(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": f"{connection.vendor} {db_version}",
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reuse", action="store_true", help="time the archive an earlier run left")
    args = parser.parse_args()
    if not args.reuse:
        SCRATCH.create(args.database)
    configure(args.database)
    from papers import related
    from papers.models import RelatedEntry, TermPosting

    figures = {"entries": args.entries, "environment_before": environment()}
    print(f"{args.database}, {args.entries:,} entries", flush=True)
    if args.reuse:
        from django.core.management import call_command

        from papers.models import Entry

        call_command("migrate", verbosity=0)
        figures["entries"] = Entry.objects.count()
        print(f"  reusing the archive there: {figures['entries']:,} entries", flush=True)
    else:
        figures["generate_s"] = make_archive(args.entries)
        print(f"  archive generated in {figures['generate_s']} s", flush=True)
        started = time.perf_counter()
        related.rebuild()
        figures["rebuild_s"] = seconds(started)
        figures["rebuild_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
        figures["stored_rows"] = RelatedEntry.objects.count()
        figures["postings"] = TermPosting.objects.count()
        print(
            f"  rebuild {figures['rebuild_s']} s, {figures['stored_rows']:,} related rows, "
            f"{figures['postings']:,} postings, peak RSS {figures['rebuild_peak_rss_mb']} MB",
            flush=True,
        )
    hub_entries = hubs(HUBS)
    samples, queries, listed = time_updates([pk for pk, _ in hub_entries])
    figures["hubs"] = {
        "held_by_lists": [lists for _, lists in hub_entries],
        "update_ms": summary(samples),
        "lists_changed": {"min": min(listed), "max": max(listed)},
    }
    print(f"  update_entry of the {HUBS} entries most lists hold: {figures['hubs']}", flush=True)
    entry_ids = spread(2 * SAVES)
    samples, queries, listed = time_updates(entry_ids[:SAVES])
    figures["update_ms"] = summary(samples)
    figures["update_queries"] = {"min": min(queries), "max": max(queries)}
    figures["update_lists_changed"] = {"min": min(listed), "max": max(listed)}
    print(f"  update_entry: {figures['update_ms']} ms, queries {figures['update_queries']}")
    figures["save_ms"] = summary(time_saves(entry_ids[SAVES:]))
    print(f"  Entry.save() with every receiver: {figures['save_ms']} ms")
    prepare_static()
    page = time_page()
    figures["page"] = {**page, "ms": summary(page["ms"])}
    print(f"  paper page {page['path']}: {page['queries']} queries, {figures['page']['ms']} ms")
    figures["environment_after"] = environment()
    figures["under_target"] = (
        max(figures["update_ms"]["max"], figures["hubs"]["update_ms"]["max"]) < TARGET_MS
    )
    print(json.dumps(figures["environment_after"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
