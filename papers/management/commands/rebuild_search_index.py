"""Write every entry's search document again.

The index follows edits by itself (papers.signals); this is for after bulk
changes that skip signals, such as ``QuerySet.update()`` or raw SQL. Such
changes skip the page cache's invalidation too, so it starts a new content
generation as well (reading.page_cache).
"""

from django.core.management.base import BaseCommand

from papers import search, signals


class Command(BaseCommand):
    help = "Rebuild the full-text search index from the entries."

    def handle(self, *args, **options):
        count = search.rebuild_index()
        signals.archive_bulk_written(sender=__name__)
        self.stdout.write(f"Indexed {count} entries.")
