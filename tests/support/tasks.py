"""Running the task queue inside a test."""

from unittest import mock

from django.core.management import call_command


def run_worker():
    """``manage.py delivery_worker`` in batch mode, in this process: it wakes
    unfinished mailings, runs every task that is due, and returns.

    The worker's check for stale connections between tasks closes any
    connection not in autocommit mode, which inside a test's transaction is
    the test's own on PostgreSQL: that check is left out here."""
    with mock.patch(
        "django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None
    ):
        call_command("delivery_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
