"""Compute every entry's related entries again (papers.related).

Saves keep the lists up to date entry by entry; this is for after bulk
changes that skip signals (``QuerySet.update()``, raw SQL), a renamed tag or
section, or to refresh every entry's weights with today's term counts. The
pages that show the lists are purged too (a new page-cache generation).
"""

from django.core.management.base import BaseCommand

from papers import signals


class Command(BaseCommand):
    help = "Rebuild every entry's related entries (by content) from scratch."

    def handle(self, *args, **options):
        # archive_rewritten rebuilds the lists (papers.signals) and purges the pages.
        signals.archive_bulk_written(sender=__name__)
        self.stdout.write("Rebuilt the related entries of every entry.")
