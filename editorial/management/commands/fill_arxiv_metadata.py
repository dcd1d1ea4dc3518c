"""Fill the missing titles and authors of saved entries from arXiv's API.

Entries loaded from the seed roundup, or typed in a hurry, often have an arXiv
id but no authors. This command asks arXiv, ``BATCH_SIZE`` ids per request and
no faster than arXiv asks of its clients, and fills only the fields that are
empty: an editor's text is replaced only with ``--overwrite``.

Each batch is written in its own transaction, re-reading its entries under a
row lock, so an editor who fills a field in the admin meanwhile keeps it. When
arXiv cannot be reached the command stops: batches already done stay saved,
the failed batch and later ones are left as they were.

Progress is one line per batch in Django's own output rather than a tqdm bar:
the work advances one request (several seconds) at a time, so a line per
request is all there is to show; lines read well in a cron log, where a redrawn
bar turns into noise; and a command's ``OutputWrapper`` ends every write with a
newline (and colours stderr as an error), which breaks a redrawn bar anyway.
"""

from collections import Counter, defaultdict

import reversion
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from editorial.arxiv_client import BATCH_SIZE, ArxivResponseError, ArxivUnavailable, fetch_metadata
from papers.models import Entry

PROGRESS_BAR_WIDTH = 20


class Command(BaseCommand):
    help = (
        "Fill missing titles and authors of entries from arXiv's API "
        "(only empty fields, unless --overwrite)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace titles and authors that are already filled with arXiv's.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Show what would change and save nothing.",
        )

    def handle(self, *args, overwrite=False, dry_run=False, verbosity=1, **options):
        self.overwrite = overwrite
        self.dry_run = dry_run
        self.verbosity = verbosity
        self.tally = Counter()

        entry_pks_by_arxiv_id = self._entries_to_look_at()
        arxiv_ids = list(entry_pks_by_arxiv_id)
        total = sum(len(pks) for pks in entry_pks_by_arxiv_id.values())
        for start in range(0, len(arxiv_ids), BATCH_SIZE):
            batch = arxiv_ids[start : start + BATCH_SIZE]
            entry_pks = [pk for arxiv_id in batch for pk in entry_pks_by_arxiv_id[arxiv_id]]
            try:
                papers = fetch_metadata(batch)
            except ArxivUnavailable as error:
                self._write_summary()
                raise CommandError(
                    f"{error} 已停止，本批及之后的条目未改动。"
                    "Stopped; entries of this batch and later ones were left as they were."
                ) from error
            except ArxivResponseError as error:
                self.stderr.write(f"Skipped {len(entry_pks)} entries: {error}")
                self.tally["failed"] += len(entry_pks)
            else:
                self._fill_batch(entry_pks, papers)
            self.tally["looked at"] += len(entry_pks)
            if verbosity:
                self.stdout.write(progress_line(self.tally["looked at"], total))
        self._write_summary()

    def _entries_to_look_at(self):
        """``{arxiv_id: [entry pk, ...]}``: one paper may be in several issues."""
        entries = Entry.objects.exclude(arxiv_id="")
        if not self.overwrite:
            entries = entries.filter(Q(title="") | Q(authors=""))
        entry_pks_by_arxiv_id = defaultdict(list)
        for pk, arxiv_id in entries.order_by("arxiv_id", "pk").values_list("pk", "arxiv_id"):
            entry_pks_by_arxiv_id[arxiv_id].append(pk)
        return entry_pks_by_arxiv_id

    def _fill_batch(self, entry_pks, papers):
        """One transaction and one revision in the entries' history per batch."""
        with transaction.atomic(), reversion.create_revision():
            reversion.set_comment("从 arXiv 补全元数据（fill_arxiv_metadata）")
            self._fill_entries(entry_pks, papers)

    def _fill_entries(self, entry_pks, papers):
        for entry in Entry.objects.select_for_update().filter(pk__in=entry_pks).order_by("pk"):
            paper = papers.get(entry.arxiv_id)
            if paper is None:
                self.tally["not found at arXiv"] += 1
                continue
            changes = self._changes(entry, paper)
            try:
                for name, value in changes.items():
                    Entry._meta.get_field(name).clean(value, entry)
            except ValidationError as error:
                self.tally["failed"] += 1
                self.stderr.write(f"{entry.arxiv_id} (entry {entry.pk}): {' '.join(error)}")
                continue
            if not changes:
                self.tally["unchanged"] += 1
                continue
            self.tally["filled"] += 1
            if self.dry_run or self.verbosity >= 2:
                self.stdout.write(f"{entry.arxiv_id} (entry {entry.pk}): {', '.join(changes)}")
            if not self.dry_run:
                for name, value in changes.items():
                    setattr(entry, name, value)
                entry.save(update_fields=[*changes, "updated_at"])

    def _changes(self, entry, paper):
        """``{field: arXiv's value}`` for the fields this run may and would change."""
        arxiv_values = {
            "title": paper.title,
            "authors": paper.authors_text(Entry._meta.get_field("authors").max_length),
        }
        return {
            name: value
            for name, value in arxiv_values.items()
            if value
            and value != getattr(entry, name)
            and (self.overwrite or not getattr(entry, name))
        }

    def _write_summary(self):
        counts = self.tally
        summary = (
            f"Looked at {counts['looked at']} entries: "
            f"{'would fill' if self.dry_run else 'filled'} {counts['filled']}, "
            f"unchanged {counts['unchanged']}, "
            f"not found at arXiv {counts['not found at arXiv']}, "
            f"failed {counts['failed']}."
        )
        if self.dry_run:
            summary = f"Dry run, nothing saved. {summary}"
        self.stdout.write(summary, self.style.SUCCESS)


def progress_line(done, total):
    """``arXiv [##########----------] 50/100 entries``"""
    filled = round(PROGRESS_BAR_WIDTH * done / total) if total else PROGRESS_BAR_WIDTH
    bar = "#" * filled + "-" * (PROGRESS_BAR_WIDTH - filled)
    return f"arXiv [{bar}] {done}/{total} entries"
