"""The import_roundup and export_roundup management commands."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from editorial.roundup_markdown import export_roundup
from papers.models import Entry, Issue, Section, Tag

pytestmark = pytest.mark.django_db

HANDWRITTEN = Path(__file__).parent / "data" / "roundups" / "handwritten.md"


def run(*args):
    """Run a command; return what it printed on stdout and stderr."""
    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def test_export_prints_the_issue_on_stdout(seed):
    printed, _ = run("export_roundup", "2024-06-h2")
    assert printed == export_roundup(seed)


def test_an_exported_file_imports_back_and_exports_to_the_same_bytes(seed, tmp_path):
    path = tmp_path / "roundup.md"
    run("export_roundup", "2024-06-h2", "--output", str(path))
    exported = path.read_bytes()
    seed.delete()

    printed, _ = run("import_roundup", str(path))

    issue = Issue.objects.get(slug="2024-06-h2")
    assert issue.status == Issue.Status.DRAFT
    assert "已导入草稿 2024-06-h2：5 个栏目，20 篇论文。" in printed
    assert f"/admin/papers/issue/{issue.pk}/change/" in printed
    run("export_roundup", "2024-06-h2", "-o", str(path))
    assert path.read_bytes() == exported
    assert exported.decode("utf-8").startswith("---\nslug: 2024-06-h2\n")


def test_exporting_an_unknown_issue_fails(db):
    with pytest.raises(CommandError, match="no-such-issue"):
        run("export_roundup", "no-such-issue")


def test_a_bad_file_is_reported_line_by_line_on_stderr_and_nothing_is_written(seed, tmp_path):
    path = tmp_path / "bad.md"
    path.write_text(
        "---\nslug: 2024-07-h1\nperiod: 2024-07-01 – 2024-07-14\n---\n\n# 标题\n\n"
        "## RAG\n\n### 2. Misnumbered\n\nhttps://arxiv.org/abs/2407.00001\n\n摘要。\n\n"
        "### 3. No Link\n\n摘要。\n",
        encoding="utf-8",
    )
    entries = Entry.objects.count()
    stderr = StringIO()

    with pytest.raises(CommandError, match="2 个问题") as failed:
        call_command("import_roundup", str(path), stdout=StringIO(), stderr=stderr)

    assert failed.value.returncode == 1  # manage.py exits with it
    report = stderr.getvalue().splitlines()
    assert [line.split("：")[0] for line in report] == ["第 10 行", "第 16 行"]
    assert "序号应为 1，不是 2" in report[0] and "缺少 arXiv 链接" in report[1]
    assert not Issue.objects.filter(slug="2024-07-h1").exists()
    assert Entry.objects.count() == entries


def test_sections_are_created_only_with_the_flag(seed):
    with pytest.raises(CommandError):
        run("import_roundup", str(HANDWRITTEN))
    assert not Section.objects.filter(slug="multimodal").exists()

    printed, _ = run("import_roundup", str(HANDWRITTEN), "--create-sections")

    assert "3 个栏目，3 篇论文" in printed
    assert Section.objects.get(slug="multimodal").name == "多模态"
    assert Tag.objects.filter(name="多模态").exists()


def test_a_missing_file_fails(db, tmp_path):
    with pytest.raises(CommandError, match="无法读取"):
        run("import_roundup", str(tmp_path / "missing.md"))


def empty_the_archive():
    """Nothing of the archive left, as in a freshly migrated database."""
    Entry.objects.all().delete()
    Issue.objects.all().delete()
    Section.objects.all().delete()
    Tag.objects.all().delete()


def test_an_issue_moves_to_an_empty_site_and_exports_to_the_same_bytes(seed, tmp_path):
    """LLM微调, LLM推理 and LLM安全与对齐 all slugify to ``llm``: the file
    carries each section's slug and position, and the new site keeps them."""
    sections = list(Section.objects.values_list("name", "slug", "position"))
    path = tmp_path / "roundup.md"
    run("export_roundup", "2024-06-h2", "-o", str(path))
    exported = path.read_bytes()
    empty_the_archive()

    printed, _ = run("import_roundup", str(path), "--create-sections")

    assert "5 个栏目，20 篇论文" in printed
    assert sorted(Section.objects.values_list("name", "slug", "position")) == sorted(sections)
    run("export_roundup", "2024-06-h2", "-o", str(path))
    assert path.read_bytes() == exported


def test_created_sections_keep_the_files_order_and_never_share_a_slug(db, tmp_path):
    path = tmp_path / "roundup.md"
    path.write_text(
        "---\nslug: 2024-07-h1\nperiod: 2024-07-01 – 2024-07-14\n---\n\n# 标题\n\n"
        "## LLM微调 {#fine-tuning position=7}\n\n### 1. A\n\nhttps://arxiv.org/abs/2407.00001\n\n摘要。\n\n"
        "## LLM推理\n\n### 1. B\n\nhttps://arxiv.org/abs/2407.00002\n\n摘要。\n\n"
        "## LLM安全与对齐\n\n### 1. C\n\nhttps://arxiv.org/abs/2407.00003\n\n摘要。\n\n"
        "## LLM评测 {#eval position=3}\n\n### 1. D\n\nhttps://arxiv.org/abs/2407.00004\n\n摘要。\n",
        encoding="utf-8",
    )
    run("import_roundup", str(path), "--create-sections")
    assert dict(Section.objects.values_list("name", "slug")) == {
        "LLM微调": "fine-tuning",
        "LLM推理": "llm",
        "LLM安全与对齐": "llm-2",
        "LLM评测": "eval",
    }
    assert Section.objects.get(slug="fine-tuning").position == 7
    assert Section.objects.get(slug="eval").position == 3
