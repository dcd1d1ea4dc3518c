"""Import a roundup written as Markdown (docs/roundup-markdown.md) as a draft issue.

All or nothing: on any problem the report goes to stderr, one line per problem
in file order, the command exits non-zero and the database is unchanged.
"""

from pathlib import Path

import reversion
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from editorial.roundup_markdown import RoundupImportError, import_roundup
from papers.models import Section


class Command(BaseCommand):
    help = "Create a draft issue from a roundup Markdown file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the roundup, a UTF-8 Markdown file")
        parser.add_argument(
            "--create-sections",
            action="store_true",
            help="Create the sections the file names that do not exist yet.",
        )

    def handle(self, *args, file, create_sections=False, **options):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"无法读取 {file}：{error}") from error
        try:
            with reversion.create_revision():  # the issue's first version in its history
                reversion.set_comment(f"从 Markdown 导入（{file.name}）")
                issue = import_roundup(text, create_sections=create_sections)
        except RoundupImportError as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"{file} 未导入：{len(failed.errors)} 个问题，数据库未作改动。"
            ) from failed
        sections = Section.objects.filter(entries__issue=issue).distinct().count()
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入草稿 {issue.slug}：{sections} 个栏目，{issue.entries.count()} 篇论文。"
            )
        )
        self.stdout.write(f"编辑：{reverse('admin:papers_issue_change', args=[issue.pk])}")
