"""How fast an issue goes out to 100,000 subscribers: queueing the mailing,
then delivery by real worker processes to a local SMTP server.

Run from the project folder (``make bench-delivery`` runs both databases)::

    .venv/bin/python -m bench.delivery.run --database both
    .venv/bin/python -m bench.delivery.run --database postgres --deliveries 0   # all of them

For each database (SQLite file /tmp/bench-delivery.sqlite3; PostgreSQL
database ``bench_delivery`` on 127.0.0.1:5432, user postgres) the script makes
a fresh database, migrates, loads the seed roundup (20 entries in 5 sections,
29 tags), bulk-creates the subscribers (bench/common/subscribers.py: half take
every issue, the others follow a section or a tag, one in 20 something the
issue lacks; a third read English) and asks for the mailing as a publisher.
Then it measures, DJANGO_DEBUG=0:

1. **queue**: ``newsletter.delivery.queue_mailing``, the one transaction that
   makes a delivery row per receiving subscriber (goal: under 10 s);
2. **ceiling**: what one process gets through the same SMTP server with the
   messages built beforehand, as bytes over smtplib (the server and loopback
   alone) and as Django ``EmailMessage`` objects through Django's SMTP backend
   (MIME serialisation added), each over one connection;
3. **delivery**: ``--workers`` ``manage.py delivery_worker`` processes send
   the mailing (goal: at least 300 messages a second). The rate is counted
   from the rows marked sent, polled each second, from the first sent row
   until ``--deliveries`` are sent (0: all); the workers are then stopped and
   the rest left unsent.

The SMTP server (bench/delivery/sink.py) runs in a process of its own and
only counts. ``--profile N`` then runs N batches of one worker's turn in this
process under cProfile and prints where the time goes. The figures go to a
section per database of docs/newsletter-benchmark.md (``--markdown``;
the rest of the page is left as it is). The scratch database is dropped at
the end unless ``--keep``.
"""

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import signal
import smtplib
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.common.delivery_worker import start_delivery_worker
from bench.common.provenance import BASE_DIR, code_version, machine, run_command
from bench.common.scratch import ScratchDatabase
from bench.common.site_server import free_port

SCRATCH = ScratchDatabase("/tmp/bench-delivery.sqlite3", "bench_delivery")
MARKDOWN = BASE_DIR / "docs" / "newsletter-benchmark.md"
TEMPLATE = Path(__file__).resolve().with_name("report.md")
DATABASE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
QUEUE_GOAL_SECONDS = 10
RATE_GOAL = 300
SECRET = "bench-delivery-not-a-secret"


def progress(message):
    print(f"  {message}", flush=True)


def environment(database, smtp_port):
    """The settings of the driver and of the workers: the scratch database,
    DEBUG off, mail to the sink."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "CACHE_URL", "DATABASE_REPLICA_URLS", "EMAIL_BACKEND"}
        and not k.startswith(("NEWSLETTER_", "EMAIL_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="digestsite.settings",
        DATABASE_URL=SCRATCH.url(database),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="localhost",
        DJANGO_LOG_LEVEL="WARNING",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        PYTHONUNBUFFERED="1",
    )
    return env


# -- Processes ---------------------------------------------------------------------------


class Processes:
    """The sink and the workers, stopped however the run ends."""

    def __init__(self, env, log_dir):
        self.env, self.log_dir = env, log_dir
        self.sink = None
        self.workers = []

    def start_sink(self, port):
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "bench.delivery.sink", "--port", str(port)],
            cwd=BASE_DIR,
            env=self.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.sink.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")

    def stop_sink(self):
        """Stop the sink; how many messages it took."""
        self.sink.send_signal(signal.SIGTERM)
        out, _ = self.sink.communicate(timeout=20)
        self.sink = None
        return int(out.split()[-1])

    def start_workers(self, count):
        for n in range(count):
            log_path = self.log_dir / f"bench-delivery-worker-{n}.log"
            self.workers.append(start_delivery_worker(self.env, log_path))

    def stop_workers(self):
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
        for worker in self.workers:
            worker.wait(timeout=20)
        self.workers = []

    def stop(self):
        self.stop_workers()
        if self.sink is not None:
            self.sink.kill()
            self.sink.wait(timeout=20)
            self.sink = None


# -- Set-up --------------------------------------------------------------------------------


def set_up(subscribers):
    """The seed issue, the subscribers and a requested mailing; the timings."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from bench.common.subscribers import add_subscribers
    from newsletter import delivery
    from papers.models import Issue

    timings = {}
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    call_command("load_seed", verbosity=0)
    timings["migrate and seed"] = time.perf_counter() - started
    progress(f"migrated, seed loaded [{timings['migrate and seed']:.1f} s]")
    issue = Issue.objects.get(slug="2024-06-h2")
    started = time.perf_counter()
    receiving = add_subscribers(issue, subscribers)
    timings["subscribers"] = time.perf_counter() - started
    progress(f"{subscribers:,} subscribers made [{timings['subscribers']:.1f} s]")
    publisher = User.objects.create_user("publisher", "publisher@example.org", is_staff=True)
    publisher.groups.add(Group.objects.get(name="Publisher"))
    delivery.request_mailing(issue, publisher)  # the delivery tasks wait for the workers
    return issue, receiving, timings


def use_wal():
    """WAL journal mode, which the file keeps for every later connection: a
    commit writes the log only, and readers no longer block the writer."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        (mode,) = cursor.fetchone()
    assert mode == "wal", mode


def time_queue(issue):
    from newsletter import delivery

    started = time.perf_counter()
    rows = delivery.queue_mailing(issue.pk)
    return rows, time.perf_counter() - started


# -- The ceiling: one process, messages built beforehand ------------------------------------


def ceiling(issue, port, count):
    """Messages a second through the sink from one process: pre-serialised
    bytes over smtplib, and built EmailMessages through Django's backend."""
    from django.conf import settings
    from django.core.mail import get_connection

    from newsletter.mail import MailRenderer
    from newsletter.models import Delivery

    renderer = MailRenderer(issue)
    rows = (
        Delivery.objects.filter(issue=issue)
        .select_related("subscriber")
        .prefetch_related("subscriber__sections", "subscriber__tags")
        .order_by("-pk")[:count]
    )
    messages = [renderer.message_for(row.subscriber) for row in rows]
    serialised = [(m.to, m.message().as_bytes(linesep="\r\n")) for m in messages]

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for to, data in serialised:
            smtp.sendmail(settings.DEFAULT_FROM_EMAIL, to, data)
    raw = len(serialised) / (time.perf_counter() - started)

    connection = get_connection(fail_silently=False)
    started = time.perf_counter()
    connection.open()
    for message in messages:
        connection.send_messages([message])
    connection.close()
    django_backend = len(messages) / (time.perf_counter() - started)
    return {"smtplib, bytes": raw, "Django backend, EmailMessage": django_backend}


# -- Delivery ------------------------------------------------------------------------------


def sent_count(issue):
    from django.db import connection

    from newsletter.models import Delivery

    count = Delivery.objects.filter(issue=issue, status=Delivery.Status.SENT).count()
    connection.close()  # a fresh read each poll, no transaction held open
    return count


def measure_delivery(issue, processes, workers, target, timeout):
    """Start the workers; poll the sent rows each second until ``target``."""
    samples = []
    started = time.monotonic()
    processes.start_workers(workers)
    while True:
        time.sleep(1)
        now, sent = time.monotonic(), sent_count(issue)
        samples.append((now - started, sent))
        if sent >= target or now - started > timeout:
            break
        if len(samples) % 10 == 0:
            progress(f"{sent:,} sent after {now - started:.0f} s")
    processes.stop_workers()
    first = next((s for s in samples if s[1] > 0), samples[-1])
    last = samples[-1]
    steady = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] else 0.0
    return {
        "sent": last[1],
        "seconds": last[0],
        "first sent after": first[0],
        "rate": steady,
        "rate with start-up": last[1] / last[0],
        "timed out": last[1] < target,
    }


def profile(issue, batches):
    """One worker's turn of ``batches`` batches, in this process, under cProfile."""
    from newsletter import delivery

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    outcome = delivery.deliver(issue.pk, max_batches=batches)
    profiler.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(35)
    out.write("\n--- by own time\n")
    stats.sort_stats("tottime").print_stats(20)
    return outcome.sent, elapsed, out.getvalue()


# -- Report ----------------------------------------------------------------------------------


def versions():
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        (database_version,) = cursor.fetchone()
    vendor = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    return {
        "Python": platform.python_version(),
        "Django": version("django"),
        "database": f"{vendor} {database_version.split()[0]}",
        "django-tasks": version("django-tasks"),
        "django-tasks-db": version("django-tasks-db"),
        "aiosmtpd": version("aiosmtpd"),
        "css-inline": version("css-inline"),
    }


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def section(database, args, figures):
    """The Markdown section of one database's run."""
    box = figures["machine"]
    queue_verdict = "yes" if figures["queue seconds"] < QUEUE_GOAL_SECONDS else "**no**"
    rate = figures["delivery"]["rate"]
    rate_verdict = "yes" if rate >= RATE_GOAL else "**no**"
    code = figures["code"]
    lines = [
        f"Run {figures['date']} · `{figures['command']}`",
        "",
        f"- **Machine:** {box['cores']} × {box['cpu']}, {box['memory_gib']} GiB, {box['os']}",
        "- **Versions:** " + ", ".join(f"{k} {v}" for k, v in figures["versions"].items()),
        f"- **Code:** {code['commit'][:12]}"
        + (
            f" with {code['changed_files']} changed file(s) (fingerprint {code['fingerprint']})"
            if code["changed_files"]
            else ""
        ),
        f"- **Load average** (1, 5, 15 min): {figures['load before']} before, "
        f"{figures['load after']} after",
        f"- **Data:** {args.subscribers:,} confirmed subscribers "
        f"(made in {figures['timings']['subscribers']:.1f} s), the seed issue "
        f"(20 entries); {figures['rows']:,} receive it. "
        f"{args.workers} worker processes, one SMTP sink process.",
        "",
        "| measure | result | goal | met? |",
        "| --- | ---: | ---: | --- |",
        f"| queue the mailing (`queue_mailing`, {figures['rows']:,} rows) "
        f"| {figures['queue seconds']:.1f} s | < {QUEUE_GOAL_SECONDS} s | {queue_verdict} |",
        f"| delivery, {args.workers} workers, first {figures['delivery']['sent']:,} messages "
        f"| **{rate:.0f} msg/s** | ≥ {RATE_GOAL} msg/s | {rate_verdict} |",
        f"| delivery, counted from the workers' start "
        f"| {figures['delivery']['rate with start-up']:.0f} msg/s | | |",
    ]
    for name, value in figures["ceiling"].items():
        lines.append(f"| ceiling: one process, built messages, {name} | {value:.0f} msg/s | | |")
    lines += [
        "",
        f"The sink took {figures['sink accepted']:,} messages in all "
        f"({figures['ceiling messages']:,} × 2 of them the ceiling's).",
    ]
    if figures.get("profile"):
        sent, elapsed, _ = figures["profile"]
        lines += [
            "",
            f"Profiled in-process: one worker's turn sent {sent} messages in {elapsed:.2f} s "
            f"({sent / elapsed:.0f} msg/s under cProfile).",
        ]
    return "\n".join(lines)


def write_section(path, database, text):
    """Put ``text`` between this database's markers, leaving the rest of the page."""
    start, end = f"<!-- run:{database} -->", f"<!-- /run:{database} -->"
    page = path.read_text() if path.exists() else TEMPLATE.read_text()
    before, found, rest = page.partition(start)
    if not found:
        raise ValueError(f"{path} has no {start} marker")
    _, found, after = rest.partition(end)
    if not found:
        raise ValueError(f"{path} has no {end} marker")
    path.write_text(f"{before}{start}\n{text}\n{end}{after}")


# -- Main -------------------------------------------------------------------------------------


def run(database, args):
    """One database's run, in this process (Django is set up once per process)."""
    port = free_port()
    env = environment(database, port)
    os.environ.update(env)
    SCRATCH.create(database)
    import django

    django.setup()
    figures = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": run_command("bench.delivery.run", [sys.argv[0], "--database", database])
        + "".join(
            f" --{k} {v}"
            for k, v in (("subscribers", args.subscribers), ("deliveries", args.deliveries))
        )
        + (" --sqlite-wal" if args.sqlite_wal else ""),
        "machine": machine(),
        "code": code_version(),
        "versions": versions(),
        "load before": load_average(),
    }
    print(f"== {DATABASE_NAMES[database]} · load {figures['load before']}", flush=True)
    processes = Processes(env, Path("/tmp"))
    try:
        issue, receiving, figures["timings"] = set_up(args.subscribers)
        if database == "sqlite" and args.sqlite_wal:
            use_wal()
        rows, figures["queue seconds"] = time_queue(issue)
        assert rows == receiving, (rows, receiving)
        figures["rows"] = rows
        progress(f"queue_mailing: {rows:,} rows in {figures['queue seconds']:.2f} s")

        processes.start_sink(port)
        figures["ceiling messages"] = min(args.ceiling, rows)
        figures["ceiling"] = ceiling(issue, port, figures["ceiling messages"])
        for name, value in figures["ceiling"].items():
            progress(f"ceiling, {name}: {value:.0f} msg/s")

        target = rows if args.deliveries == 0 else min(args.deliveries, rows)
        figures["delivery"] = measure_delivery(issue, processes, args.workers, target, args.timeout)
        progress(
            f"delivery: {figures['delivery']['sent']:,} sent, "
            f"{figures['delivery']['rate']:.0f} msg/s "
            f"({figures['delivery']['rate with start-up']:.0f} with start-up)"
        )
        if args.profile:
            figures["profile"] = profile(issue, args.profile)
            print(figures["profile"][2])
        figures["sink accepted"] = processes.stop_sink()
        figures["load after"] = load_average()
    finally:
        processes.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            SCRATCH.drop(database)
    text = section(database, args, figures)
    print("\n" + text + "\n")
    if args.markdown:
        write_section(args.markdown, f"{database}-wal" if args.sqlite_wal else database, text)
        print(f"written to {args.markdown}")
    if figures["delivery"]["timed out"]:
        sys.exit("delivery did not reach its target within --timeout")


def main():
    parser = argparse.ArgumentParser(
        prog="python -m bench.delivery.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument(
        "--deliveries",
        type=int,
        default=20_000,
        help="measure the rate over the first N messages, then stop (0: all)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--ceiling", type=int, default=2000, help="messages sent for each ceiling figure"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="BATCHES", help="profile a worker's turn"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds of delivery at most")
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    parser.add_argument("--no-markdown", dest="markdown", action="store_const", const=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="put the SQLite file in WAL mode before the workers start (its own section)",
    )
    args = parser.parse_args()

    if args.database != "both":
        run(args.database, args)
        return
    # One process per database: Django's settings are read once per process.
    for database in ("sqlite", "postgres"):
        argv = [a for a in sys.argv[1:] if a not in {"--database", "both"}]
        with contextlib.suppress(ValueError):
            del argv[argv.index("--database=both")]
        done = subprocess.run(
            [sys.executable, "-m", "bench.delivery.run", "--database", database, *argv],
            cwd=BASE_DIR,
        )
        if done.returncode:
            sys.exit(done.returncode)


if __name__ == "__main__":
    main()
