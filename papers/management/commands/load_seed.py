"""Load the seed roundup, unless it is already there.

``make run`` calls this on every start: the first time it loads the fixture,
afterwards it leaves the issue alone so that local edits survive. The rows
are loaded with the derived data left alone, then the seed's entries are
indexed once and every related list is computed again (papers.related), with
the term counts of the whole archive rather than of the rows loaded so far. The fixture
uses natural keys, so ``loaddata`` itself never collides with rows an editor
created and loading it twice changes nothing.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from papers import search, signals
from papers.models import Entry, Issue

SEED_FIXTURE = settings.BASE_DIR / "fixtures" / "roundup-2024-06-h2.json"
SEED_ISSUE_SLUG = "2024-06-h2"


class Command(BaseCommand):
    help = "Load the seed roundup (second half of June 2024) if it is not loaded yet."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the fixture even if the issue exists (restores its seed content).",
        )

    def handle(self, *args, force=False, **options):
        if not force and Issue.objects.filter(slug=SEED_ISSUE_SLUG).exists():
            self.stdout.write(f"Seed issue {SEED_ISSUE_SLUG} is already loaded; left as it is.")
            return
        # Row by row, each of the fixture's 130-odd rows reindexed its entry
        # again (1.6 s a load, most of it for the search index): instead, the
        # seed's entries are indexed once after the load, and every related
        # list is computed with the whole archive's term counts (papers.related)
        # as after any bulk write, which also renews the page cache.
        with signals.suspended():
            call_command("loaddata", str(SEED_FIXTURE), verbosity=options["verbosity"])
        search.index_entries(
            Entry.objects.filter(issue__slug=SEED_ISSUE_SLUG).values_list("pk", flat=True)
        )
        signals.archive_bulk_written(sender=__name__)
