"""A worker for delivery: django-tasks-db's ``db_worker`` that first wakes
every unfinished mailing.

The task library marks a task as running when a worker takes it, and a
worker killed mid-task leaves it so for ever; the delivery rows, not the
task rows, say what is left to send. A worker starting up therefore enqueues
a turn for each mailing that still has rows waiting or held under a lease
(``newsletter.delivery.resume_unfinished``), and the rows a dead worker held
are sent once their lease runs out. Any number of these run on any number of
machines that reach the database.
"""

from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from newsletter.delivery import resume_unfinished


class Command(DatabaseWorkerCommand):
    help = "Run a worker for the task queue, first resuming unfinished mailings."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(queue_name="default,newsletter", reload=False)

    def handle(self, *args, **options):
        woken = resume_unfinished()
        if options["verbosity"]:
            self.stdout.write(f"Resumed {woken} unfinished mailing(s).")
        return super().handle(*args, **options)
