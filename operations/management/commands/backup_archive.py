"""Write the whole archive to one file: ``manage.py backup_archive [FILE]``.

Issues, sections, entries, tags, their history, users and groups: everything
``restore_archive`` needs to rebuild the site in an empty database
(operations.backup says what is in the file and why; docs/backup.md how to use it).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from operations import backup


class Command(BaseCommand):
    help = (
        "Back up the whole archive (content, tags, history, users, groups) "
        "into one gzip'd JSON Lines file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "output",
            nargs="?",
            type=Path,
            help="the file to write (default: paper-digest-<date>-<time>.jsonl.gz here); "
            "it is replaced only once the backup is complete",
        )

    def handle(self, *args, output=None, verbosity=1, **options):
        if output is None:
            output = Path(f"paper-digest-{timezone.now():%Y%m%d-%H%M%S}.jsonl.gz")
        try:
            header = backup.write_backup(output)
        except OSError as error:
            raise CommandError(f"Backup not written: {error}") from error
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Wrote {output} ({output.stat().st_size:,} bytes): "
                    f"{summary(header['counts'])}."
                )
            )


def summary(counts):
    """``3 issues, 60 entries, ...`` from a ``{model label: count}``."""
    names = {
        "papers.issue": "issues",
        "papers.section": "sections",
        "papers.entry": "entries",
        "papers.tag": "tags",
        "papers.taggedentry": "tag links",
        "reversion.revision": "revisions",
        "reversion.version": "versions",
        "auth.user": "users",
        "auth.group": "groups",
    }
    shown = [f"{counts.get(label, 0):,} {name}" for label, name in names.items()]
    others = sum(n for label, n in counts.items() if label not in names)
    return ", ".join(shown) + f" and {others:,} other rows"
