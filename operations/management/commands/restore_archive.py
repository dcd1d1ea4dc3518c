"""Load a file from ``backup_archive`` into an empty, migrated database.

``manage.py restore_archive FILE [--force]``. All or nothing: one transaction,
so a bad or truncated file, or an interruption, leaves the database as it was.
A database that already holds an archive (issues, users, history...) is
refused unless ``--force``, which deletes that archive in the same
transaction. docs/backup.md has the whole procedure.
"""

import gzip
import zlib
from pathlib import Path

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError

from operations import backup
from operations.errors import ArchiveNotEmpty
from operations.management.commands.backup_archive import summary

UNREADABLE = (
    OSError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    UnicodeDecodeError,
    ValueError,
    DeserializationError,
    ObjectDoesNotExist,
    DatabaseError,
)


class Command(BaseCommand):
    help = "Restore a backup_archive file into an empty, migrated database, in one transaction."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="a file written by backup_archive")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Restore into a database that already holds an archive: its issues, "
            "entries, tags, history, users, groups and sessions are deleted first "
            "(in the same transaction), and replaced by the backup's.",
        )

    def handle(self, *args, file, force=False, verbosity=1, **options):
        try:
            header, counts = backup.restore(file, replace=force)
        except ArchiveNotEmpty as error:
            present = ", ".join(f"{n:,} {label}" for label, n in error.rows.items())
            raise CommandError(
                f"Refusing to restore: this database already holds an archive ({present}). "
                "restore_archive fills an empty, migrated database; to replace what is "
                "here with the backup, deleting it, run again with --force."
            ) from error
        except (backup.ArchiveError, *UNREADABLE) as error:
            raise CommandError(
                f"Not restored, the database is unchanged: {file}: "
                f"{error.__class__.__name__}: {error}"
            ) from error
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Restored {file} (made {header['created_at']} on {header['database']}): "
                    f"{summary(counts)}; search index rebuilt."
                )
            )
