"""How long a public page takes to render when the page cache does not have it.

Run from the project folder (``make bench-render`` runs both databases)::

    .venv/bin/python -m bench.render.run --database sqlite
    .venv/bin/python -m bench.render.run --database both --runs 200

For each database and each of two archives, in a process of its own (Django
is set up once per process, on that archive's scratch database: SQLite files
/tmp/bench-render-<archive>.sqlite3, PostgreSQL databases bench_render_<archive>
on 127.0.0.1:5432, made afresh and dropped at the end unless ``--keep``):

- ``seed``: the seed roundup (``manage.py load_seed``: one issue of 20
  entries in 5 sections);
- ``archive``: a synthetic archive (operations.synthetic_archive, as
  ``manage.py generate_archive`` makes it) of 20 issues and 2,000 entries whose
  newest public issue has 100 entries (the page timed as "issue").

It asks for each page through Django's test client, DEBUG off, the page cache
off (``DIGEST_PAGE_CACHE=0``), in Chinese and in English: the newest issue,
the home page, ``/entries/``, the most used tag, the largest section and the
paper covered most. Each page is timed in three ways:

- ``kept``: as the site runs, entries printed from the memory of entries
  already rendered (reading.fragments, warm after the first request);
- ``first render``: that memory emptied before each request, as after a
  restart or when every entry on the page has just changed;
- ``memory off``: ``ENTRY_FRAGMENTS_KEPT=0``, every entry rendered each
  time, the baseline of the same run.

A fourth figure, ``frame``, is the floor of any page: base.html with no
content, rendered through Django's template engine for the same request.
Medians and 90th percentiles of wall-clock time (ms), and the median CPU
time of this process. The ways take turns in blocks of ten requests. The
figures go to a section per database of
docs/render-benchmark.md (``--no-markdown`` to leave it alone).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.common.provenance import BASE_DIR, code_version, machine, run_command
from bench.common.scratch import ScratchDatabase

MARKDOWN = BASE_DIR / "docs" / "render-benchmark.md"
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
ARCHIVES = ("seed", "archive")
STATIC_ROOT = Path("/tmp/bench-render-static")
# The synthetic archive: this seed gives its newest public issue 100 entries.
ARCHIVE_SIZE = {"issues": 20, "entries": 2000, "tags": 300, "seed": 2046}
ISSUE_ENTRIES = 100
# Requests of one way in a row before the next way: the ways take turns, so
# that a change in the machine's load falls on all of them, in blocks, so that
# a first render does not empty the processor's caches before every kept one.
BLOCK = 10
GOALS_MS = {("seed", "issue"): 6, ("archive", "issue"): 25}


def scratch(archive):
    return ScratchDatabase(f"/tmp/bench-render-{archive}.sqlite3", f"bench_render_{archive}")


def load_average():
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def progress(message):
    print(f"  {message}", flush=True)


# -- One archive on one database, in a process of its own ------------------------------


def configure(database_url):
    """Django on the scratch database, DEBUG off, no page cache, before setup()."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "digestsite.settings",
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",  # the test client asks over plain HTTP
            "DIGEST_PAGE_CACHE": "0",  # a page from the page cache would time the cache
            "DJANGO_SECRET_KEY": "bench-render-not-a-secret",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DJANGO_LOG_LEVEL": "ERROR",
        }
    )
    for name in ("REDIS_URL", "CACHE_URL", "DATABASE_REPLICA_URLS"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import override_settings

    # Pages print hashed static names (DEBUG off), read from the manifest.
    override_settings(STATIC_ROOT=str(STATIC_ROOT)).enable()
    call_command("collectstatic", interactive=False, verbosity=0)


def fill(archive):
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    if archive == "seed":
        call_command("load_seed", verbosity=0)
    else:
        from operations import synthetic_archive

        synthetic_archive.generate(**ARCHIVE_SIZE)
    progress(f"{archive}: migrated and filled in {time.perf_counter() - started:.1f} s")


def pages_to_time(archive):
    """{page: path} in the default language: the pages the goals name and the
    other lists of entries, each with the most to print."""
    from django.db.models import Count

    from papers.models import Entry, Issue, Section, Tag

    public = Issue.objects.published().with_entry_counts()
    if archive == "seed":
        issue = public.newest_first().first()
    else:
        issue = min(public.newest_first(), key=lambda i: abs(i.entry_count - ISSUE_ENTRIES))
    tag = Tag.objects.public_counts().most_used_first().first()
    section = Section.objects.public_counts().order_by("-entry_count", "pk").first()
    paper = (
        Entry.objects.published()
        .exclude(arxiv_id="")
        .values("arxiv_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "arxiv_id")
        .first()
    )
    from django.urls import reverse

    return {
        f"issue ({issue.entry_count} entries)": issue.get_absolute_url(),
        "home": reverse("reading:home"),
        "/entries/": reverse("reading:entry_list"),
        f"tag ({tag.entry_count} entries)": tag.get_absolute_url(),
        f"section ({section.entry_count} entries)": section.get_absolute_url(),
        "paper": reverse("reading:paper_detail", kwargs={"arxiv_id": paper["arxiv_id"]}),
    }


def frame_renderer(path):
    """base.html alone for a request of ``path``: the floor of every page."""
    from django.conf import settings
    from django.template.loader import get_template
    from django.test import RequestFactory
    from django.urls import resolve
    from django.utils import translation

    request = RequestFactory().get(path)
    language = translation.get_language_from_path(path) or settings.LANGUAGE_CODE
    with translation.override(language):
        request.resolver_match = resolve(request.path_info)
    template = get_template("base.html")

    def render():
        with translation.override(language):
            return template.render({}, request)

    return render


def time_page(client, path, runs):
    """{variant: [(wall ms, cpu ms), ...]}, the variants interleaved."""
    from django.conf import settings

    try:
        from reading import fragments
    except ImportError:  # code from before the memory of entries: one way only
        fragments = None
    kept = getattr(settings, "ENTRY_FRAGMENTS_KEPT", 0)

    def first_render():
        fragments.memory.clear()
        return client.get(path)

    def memory_off():
        settings.ENTRY_FRAGMENTS_KEPT = 0
        try:
            return client.get(path)
        finally:
            settings.ENTRY_FRAGMENTS_KEPT = kept

    frame = frame_renderer(path)
    ask = {
        "kept": lambda: client.get(path),
        "first render": first_render,
        "memory off": memory_off,
        "frame": frame,
    }
    if fragments is None:
        del ask["first render"], ask["memory off"]
    for request in ask.values():  # warm-up: connections, templates, the memory
        response = request()
        assert getattr(response, "status_code", 200) == 200, (path, response)
    samples = {name: [] for name in ask}
    while len(samples["kept"]) < runs:
        for name, request in ask.items():
            for _ in range(min(BLOCK, runs - len(samples[name]))):
                wall, cpu = time.perf_counter(), time.process_time()
                request()
                samples[name].append(
                    ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
                )
    return samples


def summary(samples):
    walls = sorted(wall for wall, _ in samples)
    return {
        "median": statistics.median(walls),
        "p90": walls[min(len(walls) - 1, int(0.9 * len(walls)))],
        "cpu": statistics.median(cpu for _, cpu in samples),
    }


def measure(archive, database, runs):
    """This process's run: fill the scratch database, time every page."""
    from django.db import connection
    from django.test import Client

    fill(archive)
    client = Client()
    results = []
    for page, path in pages_to_time(archive).items():
        for language, prefix in (("zh-hans", ""), ("en", "/en")):
            samples = time_page(client, prefix + path, runs)
            row = {"page": page, "language": language, "path": prefix + path}
            row |= {name: summary(values) for name, values in samples.items()}
            results.append(row)
            progress(
                f"{archive} {page} {language}: "
                + " · ".join(f"{name} {row[name]['median']:.1f}" for name in samples)
                + " ms"
            )
    connection.close()
    return {"versions": versions(), "results": results}


def versions():
    """Python, Django, the template engine's neighbours and the database server."""
    import platform

    from django.db import connection

    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version" if postgres else "SELECT sqlite_version()")
        (server,) = cursor.fetchone()
    return {
        "Python": platform.python_version(),
        "Django": version("django"),
        "django-taggit": version("django-taggit"),
        DATABASE_NAMES["postgres" if postgres else "sqlite"]: server,
    }


def child(args):
    database_url = scratch(args.child).url(args.database)
    configure(database_url)
    figures = measure(args.child, args.database, args.runs)
    args.json.write_text(json.dumps(figures, ensure_ascii=False))


# -- The whole run ---------------------------------------------------------------------


def run_archive(archive, database, args):
    database_scratch = scratch(archive)
    database_scratch.create(database)
    try:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.render.run",
                    "--child",
                    archive,
                    "--database",
                    database,
                    "--runs",
                    str(args.runs),
                    "--json",
                    out.name,
                ],
                cwd=BASE_DIR,
                check=True,
            )
            return json.loads(Path(out.name).read_text())
    finally:
        if not args.keep:
            database_scratch.drop(database)


def goal(archive, page, median):
    for (goal_archive, goal_page), limit in GOALS_MS.items():
        if archive == goal_archive and page.startswith(goal_page):
            verdict = "yes" if median <= limit else "**no**"
            return f" (goal ≤ {limit} ms: {verdict})"
    return ""


def section(database, runs, figures):
    """The Markdown of one database's run."""
    first = figures["archives"][ARCHIVES[0]]
    lines = [
        f"Run {figures['date']}: `{figures['command']}`, {runs} requests per page and way.",
        "",
        f"Machine: {figures['machine']['cpu']}, {figures['machine']['cores']} cores, "
        f"{figures['machine']['memory_gib']} GiB, {figures['machine']['os']}. "
        f"Code: {figures['code']['commit'][:12]} ({figures['code']['changed_files']} files "
        f"changed, fingerprint {figures['code']['fingerprint']}). "
        + ", ".join(f"{name} {value}" for name, value in first["versions"].items())
        + f". Load average (`uptime`) before {figures['load before']}, "
        f"after {figures['load after']}.",
        "",
        "Wall-clock ms, median / 90th percentile, and the median CPU time of the process "
        "(ms). *kept*: entries printed from memory; *first render*: that memory empty; "
        "*memory off*: every entry rendered each time (the same run's baseline); "
        "*frame*: base.html alone.",
    ]
    for archive in ARCHIVES:
        lines += [
            "",
            f"**{archive}**",
            "",
            "| page | language | kept | first render | memory off | frame | off ÷ kept |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in figures["archives"][archive]["results"]:

            def cell(name, row=row):
                value = row.get(name)
                if value is None:
                    return "–"
                return f"{value['median']:.1f} / {value['p90']:.1f} (cpu {value['cpu']:.1f})"

            kept = row["kept"]["median"]
            ratio = f"{row['memory off']['median'] / kept:.1f}" if "memory off" in row else "–"
            lines.append(
                f"| {row['page']}{goal(archive, row['page'], kept)} "
                f"| {row['language']} | {cell('kept')} | {cell('first render')} "
                f"| {cell('memory off')} | {cell('frame')} | {ratio} |"
            )
    return "\n".join(lines)


def write_section(path, database, text):
    """Put ``text`` between this database's markers, leaving the rest of the page."""
    start, end = f"<!-- run:{database} -->", f"<!-- /run:{database} -->"
    before, found, rest = path.read_text().partition(start)
    _, found_end, after = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"{path} has no {start} ... {end} markers")
    path.write_text(f"{before}{start}\n{text}\n{end}{after}")


def run(database, args):
    command = run_command("bench.render.run", [sys.argv[0], "--database", database])
    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command + (f" --runs {args.runs}" if args.runs != 100 else ""),
        "machine": machine(),
        "code": code_version(),
        "load before": load_average(),
        "archives": {},
    }
    print(f"== {DATABASE_NAMES[database]} · load {figures['load before']}", flush=True)
    for archive in ARCHIVES:
        figures["archives"][archive] = run_archive(archive, database, args)
    figures["load after"] = load_average()
    text = section(database, args.runs, figures)
    print("\n" + text + "\n")
    if args.markdown:
        write_section(args.markdown, database, text)
        print(f"written to {args.markdown}")


def main():
    parser = argparse.ArgumentParser(
        prog="python -m bench.render.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--runs", type=int, default=100, help="timed requests per page and way")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--no-markdown", dest="markdown", action="store_const", const=None)
    parser.add_argument("--keep", action="store_true", help="leave the scratch databases")
    parser.add_argument("--child", choices=ARCHIVES, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.child:
        return child(args)
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        run(database, args)


if __name__ == "__main__":
    main()
