"""Fill an empty database with a large synthetic archive, for benchmarks.

``manage.py generate_archive`` makes, by default, 1,000 issues, 100,000 entries
and 5,000 tags in whichever database ``DATABASE_URL`` names, with a matching
search index (operations.synthetic_archive says what the archive looks like and
how it is made fast). The same seed gives the same archive, so figures taken on
two machines are about the same data.

It refuses a database that holds any issue: the archive is made in one
transaction and is not meant to be mixed with real roundups. Migrate a scratch
database first::

    DATABASE_URL=sqlite:////tmp/archive.sqlite3 manage.py migrate
    DATABASE_URL=sqlite:////tmp/archive.sqlite3 manage.py generate_archive

Progress is a bar per phase, redrawn in place on a terminal and written as a
line now and then (and when a phase ends) when the output goes to a file or a
log, where a redrawn bar would be noise.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from operations import synthetic_archive
from operations.errors import ArchiveNotEmpty

BAR_WIDTH = 20
REDRAW_EVERY = 0.1  # seconds between two redraws of the bar on a terminal
LOG_EVERY = 5.0  # seconds between two progress lines in a log


class Command(BaseCommand):
    help = (
        "Generate a large synthetic archive (issues, entries, tags and the search index) "
        "in an empty database, for benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--issues",
            type=int,
            default=synthetic_archive.ISSUES,
            help="number of issues (default %(default)s)",
        )
        parser.add_argument(
            "--entries",
            type=int,
            default=synthetic_archive.ENTRIES,
            help="number of entries, spread over the issues (default %(default)s)",
        )
        parser.add_argument(
            "--tags",
            type=int,
            default=synthetic_archive.TAGS,
            help="number of distinct tags (default %(default)s)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=synthetic_archive.SEED,
            help="random seed: the same seed makes the same archive (default %(default)s)",
        )

    def handle(self, *args, issues, entries, tags, seed, verbosity=1, **options):
        progress = ProgressBar(self.stdout) if verbosity else None
        try:
            generated = synthetic_archive.generate(
                issues=issues, entries=entries, tags=tags, seed=seed, progress=progress
            )
        except ArchiveNotEmpty as error:
            raise CommandError(
                f"Refusing to generate: the database already has issues "
                f"({error.rows['papers.issue']:,}). generate_archive only fills a database "
                "without issues; point DATABASE_URL at a scratch database and migrate it."
            ) from error
        except ValueError as error:
            raise CommandError(str(error)) from error
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Generated {generated.issues:,} issues, {generated.entries:,} entries, "
                    f"{generated.tags:,} tags ({generated.tag_links:,} tag links) and their "
                    f"search index in {generated.timings['total']:.1f} s."
                )
            )


class ProgressBar:
    """``entries      [##########..........]   50,000/100,000   12.3 s``, per phase.

    Called as ``bar(phase, done, total)``. On a terminal the line is redrawn in
    place with a carriage return; elsewhere a line is written every
    ``LOG_EVERY`` seconds and when the phase ends.
    """

    def __init__(self, stdout):
        self.stdout = stdout
        self.tty = stdout.isatty()
        self.phase = None

    def __call__(self, phase, done, total):
        now = time.perf_counter()
        starting = phase != self.phase
        if starting:
            self.phase, self.started, self.shown = phase, now, now
        finished = done >= total
        due = now - self.shown >= (REDRAW_EVERY if self.tty else LOG_EVERY)
        if finished or due or (starting and self.tty):
            self.shown = now
            self.show(progress_line(phase, done, total, now - self.started), finished)

    def show(self, line, finished):
        if self.tty:
            self.stdout.write("\r" + line + ("\n" if finished else ""), ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)


def progress_line(phase, done, total, elapsed):
    filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    return f"{phase:<13}[{bar}] {done:>9,}/{total:,}  {elapsed:6.1f} s"
