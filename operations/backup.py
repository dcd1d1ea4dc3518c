"""The whole archive in one file, and back: ``backup_archive`` and ``restore_archive``.

The file is gzip'd JSON Lines (docs/backup.md). Its first line is a header
(format version, Django version, the migrations applied to the database it
came from, a count per model, when it was made); every other line is one row
exactly as Django's ``jsonl`` serializer writes it, so Django's own
deserializer reads it back. Two differences from a plain ``dumpdata``:
datetimes keep their microseconds (Django's JSON encoder cuts them to
milliseconds, and a restore should give back what was there), and each model
uses natural keys only where database ids cannot be kept (below).

What is in it, and why (``EXCLUDED`` says what is not):

- the archive itself: issues, sections, entries, tags and tag links, with
  their primary keys: django-reversion's versions name their objects by
  primary key, and entry anchors (``#entry-<pk>``) are in readers' links;
- the history: django-reversion's revisions and versions, and the admin's
  log of who changed what;
- users (with their password hashes), groups and their permissions;
- content types and permissions, by natural key: every migrated database
  makes its own with ids of its own, so rows that point at them (a group's
  permissions, a version's content type) name them by ``(app, model,
  codename)``, and restoring matches them to the target's rows.

The Editor and Publisher groups are made by a data migration
(papers/0003), so an empty, migrated database already has them. A restore
deletes those first and loads the archive's groups in their place, with the
ids and permissions they had when the backup was made: the restored database
then holds exactly the archive's groups, even ones that were renamed or
changed since. The search glossary (papers/0010 seeds it) is replaced the
same way: the restored database holds the glossary as the editors left it.

A restore is one transaction. Derived data is made again from what was
loaded: the Markdown HTML by the ``pre_save`` handler (a raw save still sends
it, as for ``loaddata``), the search index by ``papers.search.rebuild_index``,
PostgreSQL's id sequences are moved past the loaded ids, and the page cache
starts a new generation.
"""

import datetime
import gzip
import json
import os
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import django
from django.apps import apps
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from operations.errors import ArchiveNotEmpty
from papers import search, signals

FORMAT = "paper-digest-archive"
FORMAT_VERSION = 1

# Made by every migrated database itself, with ids of its own: written
# without ids and matched by natural key on restore.
BY_NATURAL_KEY = {"contenttypes.contenttype", "auth.permission"}

# Not backed up, and why. Every other model of the installed apps is, so a
# model added later is in the backup unless someone decides otherwise here.
EXCLUDED = {
    "sessions.session": "sign-ins, not the archive; signed with the old server's secret key, "
    "and reviving them on a new server would be a risk: users sign in again",
    "axes.accessattempt": "sign-in failures and lock-outs: short-lived security state",
    "axes.accessattemptexpiration": "when a django-axes lock-out ends: short-lived state",
    "axes.accessfailurelog": "django-axes' log of failed sign-ins (addresses): an operations "
    "log, kept by pg_dump if at all",
    "axes.accesslog": "django-axes' log of sign-ins (addresses): an operations log",
    "papers.searchdocument": "derived from the entries: rebuilt on restore",
    "papers.sqlitesearchindex": "SQLite's FTS5 table over the search documents: derived",
    "papers.searchword": "the words of PostgreSQL's search vectors: derived, collected again "
    "as the restore rebuilds the search index",
    **dict.fromkeys(
        ("papers.termcount", "papers.entryterms", "papers.termposting", "papers.relatedentry"),
        "related entries (papers.related): derived from the entries, rebuilt after the restore "
        "(archive_rewritten)",
    ),
}

# Rows a migrated database already has, replaced by the archive's (see above):
# the groups, and the search glossary the migrations seed (papers/0010).
REPLACED_ON_RESTORE = {"auth.group", "papers.glossaryterm"}


class ArchiveError(Exception):
    """A backup that cannot be restored here (a database it must not go into
    raises ``operations.errors.ArchiveNotEmpty``)."""


# The models -------------------------------------------------------------------


def archived_models():
    """Every backed-up model, in an order in which rows can be loaded: a row's
    natural-key references come before it (Django's ``dumpdata`` order)."""
    app_list = [
        (config, [m for m in config.get_models() if _is_archived(m)])
        for config in apps.get_app_configs()
    ]
    return serializers.sort_dependencies(app_list, allow_cycles=True)


def _is_archived(model):
    meta = model._meta
    return meta.managed and not meta.proxy and meta.label_lower not in EXCLUDED


def _natural_foreign_keys(model):
    """Whether ``model`` names related rows by natural key: only when some of
    them are rows whose ids are not kept (content types, permissions). Other
    references stay ids, which are kept and cost no look-up on restore."""
    return any(
        field.related_model is not None and field.related_model._meta.label_lower in BY_NATURAL_KEY
        for field in model._meta.get_fields()
        if field.concrete and (field.many_to_one or field.many_to_many)
    )


# Backing up -------------------------------------------------------------------


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder, except that datetimes and times keep their microseconds."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


def write_backup(path):
    """Write the archive to ``path`` (gzip'd JSON Lines); returns the header.

    One read-only snapshot of the database, so rows that change meanwhile
    cannot leave the file inconsistent (PostgreSQL: REPEATABLE READ; SQLite
    holds one snapshot for a read transaction anyway). The file is written
    beside ``path`` and renamed at the end: a failed backup never replaces a
    good one.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        # Inside a caller's transaction, that one's snapshot is the one we read.
        snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic():
            if snapshot:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            models = archived_models()
            header = _header(models)
            with _open_for_writing(partial) as out:
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                for model in models:
                    _write_rows(model, out)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return header


@contextmanager
def _open_for_writing(path):
    with open(path, "wb") as raw, gzip.open(raw, "wt", encoding="utf-8", newline="\n") as out:
        yield out
        out.flush()
        raw.flush()
        os.fsync(raw.fileno())


def _header(models):
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "django": django.get_version(),
        "database": connection.vendor,
        "migrations": applied_migrations(),
        "counts": {m._meta.label_lower: m._base_manager.count() for m in models},
    }


def applied_migrations():
    """``{app: [migration names]}`` of this database, sorted."""
    applied = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _write_rows(model, out):
    label = model._meta.label_lower
    order = ["pk"]
    if label == "contenttypes.contenttype":
        order = ["app_label", "model"]
    elif label == "auth.permission":
        order = ["content_type__app_label", "content_type__model", "codename"]
    rows = model._base_manager.order_by(*order).iterator(chunk_size=2000)
    serializers.serialize(
        "jsonl",
        rows,
        stream=out,
        cls=ExactJSONEncoder,
        use_natural_foreign_keys=_natural_foreign_keys(model),
        use_natural_primary_keys=label in BY_NATURAL_KEY,
    )


# Restoring -------------------------------------------------------------------


@contextmanager
def open_backup(path):
    """The backup's lines, after its header has been read and checked."""
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        yield read_header(lines), lines


def read_header(lines):
    try:
        header = json.loads(lines.readline())
    except ValueError as error:
        raise ArchiveError(f"not a backup of this site (no header: {error})") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ArchiveError("not a backup of this site (its header names another format)")
    if header.get("version") != FORMAT_VERSION:
        raise ArchiveError(
            f"backup format version {header.get('version')}; this code reads {FORMAT_VERSION}"
        )
    return header


def check_migrations(header):
    """The database must be migrated exactly as the one the backup came from:
    rows of another schema would load wrong or not at all."""
    ours, theirs = applied_migrations(), header["migrations"]
    if ours == theirs:
        return
    missing = sorted(
        f"{app}.{name}"
        for app, names in theirs.items()
        for name in names
        if name not in ours.get(app, [])
    )
    extra = sorted(
        f"{app}.{name}"
        for app, names in ours.items()
        for name in names
        if name not in theirs.get(app, [])
    )
    raise ArchiveError(
        "this database is not migrated as the backup's was. "
        + (f"Not applied here: {', '.join(missing)}. " if missing else "")
        + (f"Applied here but not there: {', '.join(extra)}. " if extra else "")
        + "Run the code version the backup was made with, migrate an empty database, "
        "restore, then upgrade and migrate as usual."
    )


def rows_in_the_way(models=None):
    """``{model label: rows}`` of what a restore would write into (content
    types and permissions excepted, and the groups the migrations make)."""
    models = models or archived_models()
    found = {}
    for model in models:
        label = model._meta.label_lower
        if label in BY_NATURAL_KEY or label in REPLACED_ON_RESTORE:
            continue
        if count := model._base_manager.count():
            found[label] = count
    return found


def restore(path, *, replace=False):
    """Load the backup at ``path`` into this database, in one transaction.

    Refuses (ArchiveNotEmpty) a database that holds any row of the archive,
    unless ``replace``: then those rows, and every session, are deleted first,
    in the same transaction. Returns ``(header, counts loaded per model)``.
    Any failure, a truncated or corrupt file included, raises and leaves
    the database as it was.
    """
    with open_backup(path) as (header, lines):
        check_migrations(header)
        models = archived_models()
        with transaction.atomic():
            if in_the_way := rows_in_the_way(models):
                if not replace:
                    raise ArchiveNotEmpty(in_the_way)
                _delete_archive(models)
            for model in models:
                if model._meta.label_lower in REPLACED_ON_RESTORE:
                    model._base_manager.all().delete()
            with signals.suspended():
                counts = _load(lines, models)
            _check_counts(header["counts"], counts)
            connection.check_constraints(table_names=[m._meta.db_table for m in models])
            _reset_sequences(models)
            search.rebuild_index()
            signals.archive_bulk_written(sender=__name__)
    return header, counts


def _delete_archive(models):
    from django.contrib.sessions.models import Session

    Session.objects.all().delete()
    for model in reversed(models):
        if model._meta.label_lower not in BY_NATURAL_KEY:
            model._base_manager.all().delete()


def _load(lines, models):
    """Save every row; returns how many of each model."""
    allowed = {m._meta.label_lower for m in models}
    counts, deferred = Counter(), []
    where = {"line": 1}  # the header's

    def numbered(lines):
        for where["line"], line in enumerate(lines, start=2):
            yield line

    try:
        rows = serializers.deserialize("jsonl", numbered(lines), handle_forward_references=True)
        for row in rows:
            label = row.object._meta.label_lower
            if label not in allowed:
                raise ArchiveError(f"rows of {label}, which restores do not write")
            # Natural-key rows may exist already (an UPDATE); all others are new.
            row.save(force_insert=label not in BY_NATURAL_KEY)
            counts[label] += 1
            if row.deferred_fields:
                deferred.append(row)
        for row in deferred:
            row.save_deferred_fields()
    except Exception as error:
        # Said with where it happened; the caller's transaction rolls back.
        cause = str(error) or str(error.__cause__ or "")
        raise ArchiveError(f"line {where['line']}: {error.__class__.__name__}: {cause}") from error
    return dict(counts)


def _check_counts(expected, loaded):
    """A file cut off cleanly at a line end reads without error: its header's
    counts say what is missing."""
    wrong = {
        label: (count, loaded.get(label, 0))
        for label, count in expected.items()
        if loaded.get(label, 0) != count
    }
    wrong.update({label: (0, count) for label, count in loaded.items() if label not in expected})
    if wrong:
        details = ", ".join(f"{label} {got} of {want}" for label, (want, got) in wrong.items())
        raise ArchiveError(f"the backup is incomplete or altered: rows read: {details}")


def _reset_sequences(models):
    """PostgreSQL hands out ids from sequences that loading explicit ids does
    not move; without this the next new issue would collide with a restored
    one. (SQLite takes the next id from the table itself.)"""
    statements = connection.ops.sequence_reset_sql(no_style(), models)
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
