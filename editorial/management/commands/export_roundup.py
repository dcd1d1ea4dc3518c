"""Write an issue as a roundup Markdown file (docs/roundup-markdown.md).

The file imports back (``import_roundup``) to the same issue, and exporting
that gives the same bytes.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from editorial.roundup_markdown import RoundupExportError, export_roundup
from papers.models import Issue


class Command(BaseCommand):
    help = "Write an issue as a roundup Markdown file (UTF-8), to stdout or a file."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the issue's slug, e.g. 2024-06-h2")
        parser.add_argument("-o", "--output", type=Path, help="write here instead of stdout")

    def handle(self, *args, slug, output=None, **options):
        try:
            text = export_roundup(Issue.objects.get(slug=slug))
        except Issue.DoesNotExist as missing:
            raise CommandError(f"没有网址名为 {slug} 的一期。") from missing
        except RoundupExportError as error:
            raise CommandError(str(error)) from error
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8", newline="\n")
