"""Real ``manage.py delivery_worker`` processes send a mailing of 300 to a real
SMTP server: one worker is killed mid-send, or the relay goes away and comes
back. Nobody who should receive the issue is left out, everyone gets their
own selection, and a subscriber gets it twice only through a kill (the one
moment between the server taking a message and the row being marked sent).

The workers are other processes, so they cannot see pytest-django's test
database (in memory on SQLite): each test makes a scratch database of its
own — a SQLite file under ``tmp_path``, or, when this run's ``DATABASE_URL``
is PostgreSQL, a new database on that server, dropped afterwards — migrates
it and sets the mailing up in subprocesses (tests/support/mailing_scenario.py).
The SMTP server runs here (tests/support/smtp.py) and takes 15 ms a message,
so that a kill lands while a worker holds a leased batch.
"""

import email.policy
import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
from django.conf import settings

from bench.common.delivery_worker import start_delivery_worker
from bench.common.scratch import ScratchDatabase
from tests.support import mailing_scenario
from tests.support.smtp import SmtpSink

SUBSCRIBERS = 300
LEASE_SECONDS = 3
# The SMTP server's time per message: long enough that both workers are
# sending when the kill comes (a worker takes a second or two to start).
SMTP_DELAY = 0.015
FINAL = {"sent", "failed", "bounced"}
# Rows each worker's batch (newsletter.delivery.BATCH_SIZE: 50) must still hold when the
# victim is killed. Under half a batch, so both workers are above it at once whatever
# their phase: each is for 35 of its 50 rows.
UNSENT_AT_KILL = 15
# What in the caller's environment would point the subprocesses elsewhere.
NOT_PASSED_ON = {
    "REDIS_URL",
    "CACHE_URL",
    "DATABASE_REPLICA_URLS",
    "DJANGO_HTTPS",
    "DIGEST_TASK_BACKEND",
    "EMAIL_BACKEND",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS",
    "EMAIL_USE_SSL",
}


class Mailing:
    """The scratch database with a requested mailing in it, and the
    environment the subprocesses run in."""

    def __init__(self, database_url, log_dir):
        self.url = database_url
        self.log_dir = log_dir
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in NOT_PASSED_ON and not k.startswith("NEWSLETTER_")
        }
        self.env.update(
            DATABASE_URL=database_url,
            DJANGO_SETTINGS_MODULE="digestsite.settings",
            DJANGO_DEBUG="1",
            PYTHONUNBUFFERED="1",
        )
        self.workers = []

    def run(self, *command, timeout=120):
        done = subprocess.run(
            [sys.executable, *command],
            cwd=settings.BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def scenario(self, *arguments):
        output = self.run("-m", "tests.support.mailing_scenario", *arguments)
        return json.loads(output.splitlines()[-1])

    def progress(self):
        return mailing_scenario.progress(self.url)

    # -- The workers ------------------------------------------------------------------

    def start_worker(self, smtp_port, **environment):
        env = {
            **self.env,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_TIMEOUT": "5",
            "NEWSLETTER_LEASE_SECONDS": str(LEASE_SECONDS),
            **environment,
        }
        worker = start_delivery_worker(env, self.log_dir / f"worker-{len(self.workers)}.log")
        self.workers.append(worker)
        return worker

    def stop_workers(self):
        for worker in self.workers:
            if worker.poll() is None:
                worker.kill()
        for worker in self.workers:
            worker.wait(timeout=10)

    def worker_logs(self):
        return "\n".join(
            f"--- {path.name}:\n{path.read_text()[-3000:]}"
            for path in sorted(self.log_dir.glob("worker-*.log"))
        )

    def wait_for(self, condition, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        pytest.fail(f"waited {timeout} s for {what}; rows: {self.progress()}\n{self.worker_logs()}")

    def finished(self):
        rows = self.progress()
        return rows and not set(rows) - FINAL


@pytest.fixture
def mailing(tmp_path):
    """A migrated scratch database holding an issue, 303 subscribers and a
    requested mailing; dropped (PostgreSQL) or left in tmp_path (SQLite)."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's chatter
    run_url = os.environ.get("DATABASE_URL", "")
    on_postgres = run_url.startswith(("postgres://", "postgresql://"))
    scratch = ScratchDatabase(
        tmp_path / "workers.sqlite3",
        f"digest_workers_{os.getpid()}_{uuid.uuid4().hex[:6]}",
        *([run_url] if on_postgres else []),
    )
    database = "postgres" if on_postgres else "sqlite"
    scratch.create(database)
    (tmp_path / "logs").mkdir()
    mailing = Mailing(scratch.url(database), tmp_path / "logs")
    try:
        mailing.run("manage.py", "migrate", "--noinput", "-v0")
        mailing.setup = mailing.scenario("setup", "--subscribers", str(SUBSCRIBERS))
        yield mailing
    finally:
        mailing.stop_workers()
        scratch.drop(database)


# -- What arrived ------------------------------------------------------------------------


def check_deliveries(report, messages):
    """Every receiving subscriber has a sent row and got the issue, with the
    entries of their selection in their language; nobody else got anything.
    Returns {address: copies} of those who got it more than once."""
    entries = report["entries"]
    issue_sections = {e["section"] for e in entries}
    issue_tags = {t for e in entries for t in e["tags"]}

    def selection(subscriber):
        if subscriber["every_issue"]:
            return {e["title"] for e in entries}
        return {
            e["title"]
            for e in entries
            if e["section"] in subscriber["sections"] or set(e["tags"]) & set(subscriber["tags"])
        }

    receiving = {
        s["email"]: s
        for s in report["subscribers"]
        if s["status"] == "confirmed"
        and not s["paused"]
        and (s["every_issue"] or set(s["sections"]) & issue_sections or set(s["tags"]) & issue_tags)
    }
    assert len(receiving) == SUBSCRIBERS * 19 // 20  # the 'elsewhere' ones and 3 others get none
    assert set(report["deliveries"]) == set(receiving)
    assert {row["status"] for row in report["deliveries"].values()} == {"sent"}

    copies = Counter(m["To"] for m in messages)
    assert set(copies) == set(receiving), "someone was left out, or someone else got mail"
    all_titles = {e["title"] for e in entries}
    for message in messages:
        subscriber = receiving[message["To"]]
        text = message.get_body(preferencelist=("plain",)).get_content()
        wanted = selection(subscriber)
        assert wanted, subscriber
        assert {t for t in all_titles if t in text} == wanted, (subscriber, text)
        english = subscriber["language"] == "en"
        assert ("You receive this mail" in text) == english, text
        assert ("你收到这封邮件" in text) != english, text
        assert message.as_bytes(policy=email.policy.SMTP)  # a whole, well-formed message
    return {address: n for address, n in copies.items() if n > 1}


# -- The tests ------------------------------------------------------------------------------


def test_a_worker_killed_mid_send_leaves_no_one_out(mailing):
    receiving = mailing.setup["receiving"]
    with SmtpSink(delay=SMTP_DELAY) as sink:
        victim = mailing.start_worker(sink.port)
        mailing.start_worker(sink.port)
        # Killed mid-send: a third of the mail out, and both workers holding a batch
        # with rows left to send. UNSENT_AT_KILL of them take the victim a while to send
        # (the sink's delay each): a batch held by one row could be finished between the
        # look and the kill, on a busy machine, and the kill would then test nothing.
        mailing.wait_for(
            lambda: (
                len(sink.messages) >= receiving // 3
                and mailing_scenario.batches_held(mailing.url, unsent=UNSENT_AT_KILL) == 2
            ),
            30,
            "a third of the mail, both workers holding a batch",
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        arrived_at_kill = len(sink.messages)
        held = mailing.progress().get("sending", 0)
        mailing.start_worker(sink.port)
        mailing.wait_for(mailing.finished, 45, "every row sent after the kill")
        messages = sink.messages
    report = mailing.scenario("report")

    duplicates = check_deliveries(report, messages)
    taken_up = [a for a, row in report["deliveries"].items() if row["attempts"] > 1]
    print(
        f"\nkill test: {len(messages)} messages to {receiving} subscribers; "
        f"{arrived_at_kill} had arrived at the kill, {held} rows were held under a lease, "
        f"{len(taken_up)} rows sent after their lease ran out; "
        f"duplicates: {len(duplicates)} {sorted(duplicates)[:3]}"
    )
    # The killed worker held rows, and other workers sent them once its lease ran out.
    assert taken_up
    # One kill, one message that can have gone out without its row being marked.
    assert len(duplicates) <= 1 and set(duplicates.values()) <= {2}
    assert len(messages) == receiving + len(duplicates)


def test_a_relay_that_goes_away_and_comes_back_gets_each_message_once(mailing):
    receiving = mailing.setup["receiving"]
    sink = SmtpSink(delay=SMTP_DELAY).start()
    try:
        for _ in range(2):
            mailing.start_worker(sink.port, NEWSLETTER_FIRST_RETRY_SECONDS="1")
        mailing.wait_for(lambda: len(sink.messages) >= receiving // 3, 30, "a third of the mail")
        sink.stop()
        arrived_before = len(sink.messages)
        mailing.wait_for(lambda: mailing.progress().get("retrying"), 20, "rows waiting to retry")
        time.sleep(2.5)  # retries due meanwhile meet the relay still down
        rows = mailing.progress()
        assert rows.get("failed", 0) == rows.get("bounced", 0) == 0, rows
        assert len(sink.messages) == arrived_before
        sink.start()  # the same port
        mailing.wait_for(mailing.finished, 45, "every row sent once the relay is back")
        messages = sink.messages
    finally:
        sink.stop()
    report = mailing.scenario("report")

    duplicates = check_deliveries(report, messages)
    retried = [a for a, row in report["deliveries"].items() if row["attempts"] > 1]
    print(
        f"\nrelay test: {arrived_before} of {receiving} arrived before the relay went away, "
        f"{len(messages)} in all, {len(retried)} rows took more than one attempt"
    )
    assert duplicates == {}
    assert len(messages) == receiving
    assert retried
