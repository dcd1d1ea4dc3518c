"""Roundups as Markdown: the round trip on the seed issue, the format as an
editor writes it, and bad files reported line by line with nothing left behind."""

import textwrap
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from editorial.roundup_markdown import (
    RoundupExportError,
    RoundupImportError,
    export_roundup,
    import_roundup,
    parse_roundup,
)
from papers.models import Entry, Issue, Section, Tag, TaggedEntry
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

HANDWRITTEN = Path(__file__).parent / "data" / "roundups" / "handwritten.md"
FRONT_MATTER = "slug: 2024-07-h2\nperiod: 2024-07-15 – 2024-07-28"
VALID_BODY = """
    # 2024年7月后2周的论文

    导言。

    ## RAG

    ### 1. First Paper

    https://arxiv.org/abs/2407.00001

    第一篇的摘要。

    ### 2. Second Paper

    https://arxiv.org/abs/2407.00002

    第二篇的摘要。
"""


def roundup(body=VALID_BODY, front_matter=FRONT_MATTER):
    """A roundup file: the front matter block, then ``body`` (dedented)."""
    return f"---\n{front_matter}\n---\n\n" + textwrap.dedent(body).lstrip("\n")


def line_of(text, fragment, occurrence=1):
    """The number (1-based) of the line holding ``fragment``, its n-th time."""
    numbers = [n for n, line in enumerate(text.split("\n"), start=1) if fragment in line]
    return numbers[occurrence - 1]


def assert_reported(errors, expected):
    """``errors`` are exactly ``expected``: (line, words the message holds), in order."""
    assert [error.line for error in errors] == [line for line, _ in expected], errors
    for error, (_, words) in zip(errors, expected, strict=True):
        assert words in error.message, error


def import_errors(text, **options):
    with pytest.raises(RoundupImportError) as failed:
        import_roundup(text, **options)
    return failed.value.errors


def row_counts():
    return {
        model.__name__: model.objects.count() for model in (Issue, Section, Entry, Tag, TaggedEntry)
    }


def stored(issue):
    """What a roundup file carries, as the database holds it: the content
    fields of the issue, and of each entry with its place and its tags."""
    entries = issue.entries.select_related("section").prefetch_related("tags")
    return {
        "issue": tuple(getattr(issue, name) for name in Issue.content_fields),
        "entries": [
            (
                entry.section.slug,
                entry.position,
                *(getattr(entry, name) for name in Entry.content_fields),
                sorted(tag.name for tag in entry.tags.all()),
            )
            for entry in entries.order_by("section__position", "position")
        ],
    }


# ---------------------------------------------------------------- round trip


def test_export_import_export_gives_the_same_bytes_and_the_same_rows(seed):
    exported = export_roundup(seed)
    before = stored(seed)
    seed.delete()

    imported = import_roundup(exported)

    assert imported.status == Issue.Status.DRAFT
    assert len(before["entries"]) == 20
    assert stored(imported) == before
    assert export_roundup(imported).encode("utf-8") == exported.encode("utf-8")


def test_the_export_reads_like_the_article(seed):
    text = export_roundup(seed)
    first = seed.entries.get(section__slug="progress-benchmarks", position=1)
    tags = ", ".join(sorted(first.tags.names()))

    assert text.startswith(
        "---\nslug: 2024-06-h2\nperiod: 2024-06-16 – 2024-06-30\n"
        f"source: {seed.source_url}\n---\n\n# {seed.title}\n\n{seed.intro}\n\n"
    )
    assert (
        f"## LLM进展与基准 {{#progress-benchmarks position=10}}\n\n### 1. {first.title}\n\n"
        f"https://arxiv.org/abs/2406.15877\n标签：{tags}\n\n{first.summary}\n\n### 2. "
    ) in text
    sections = [line[3:] for line in text.split("\n") if line.startswith("## ")]
    assert sections == [
        f"{name} {{#{slug} position={position}}}"
        for name, slug, position in Section.objects.order_by("position").values_list(
            "name", "slug", "position"
        )
    ]
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_the_export_numbers_papers_in_stored_order_with_sorted_tags():
    section = SectionFactory(name="RAG", slug="rag")
    issue = IssueFactory(slug="gaps")
    EntryFactory(issue=issue, section=section, position=20, title="Later", tags=["b", "a"])
    EntryFactory(
        issue=issue,
        section=section,
        position=10,
        title="Earlier",
        tags=["幻觉", "RAG", "agents"],
        authors="Ada, Grace",
        arxiv_id="",
        url="https://example.org/p.pdf",
    )

    text = export_roundup(issue)

    assert text.index(
        "### 1. Earlier\n\nhttps://example.org/p.pdf\n作者：Ada, Grace\n标签：RAG, agents, 幻觉\n"
    ) < text.index("### 2. Later")
    assert "标签：a, b\n" in text


def test_windows_line_endings_in_a_summary_export_as_plain_newlines():
    issue = IssueFactory(intro="第一段\r\n\r\n第二段")
    EntryFactory(issue=issue, section=SectionFactory(), summary="一\r\n\r\n- 二\r\n- 三")
    text = export_roundup(issue)
    assert "\r" not in text
    assert "第一段\n\n第二段" in text and "一\n\n- 二\n- 三\n" in text


def test_export_refuses_text_that_would_not_come_back():
    issue = IssueFactory()
    EntryFactory(
        issue=issue, section=SectionFactory(), title="Paper", summary="前言\n\n## 方法\n\n正文"
    )
    with pytest.raises(RoundupExportError) as refused:
        export_roundup(issue)
    assert "《Paper》" in str(refused.value)


# -------------------------------------------------------- what editors write


def test_a_handwritten_roundup_imports_as_a_draft(seed):
    issue = import_roundup(HANDWRITTEN.read_text(encoding="utf-8"), create_sections=True)
    benchmark, outside, multimodal = issue.entries.order_by("section__position")

    assert (issue.slug, issue.status) == ("2024-07-h1", Issue.Status.DRAFT)
    assert str(issue.period_start) == "2024-07-01" and str(issue.period_end) == "2024-07-14"
    assert issue.intro == "本期只选三篇：一个新基准、一篇 RAG 研究和一篇多模态工作。"
    assert (benchmark.section.name, benchmark.position, benchmark.title) == (
        "LLM进展与基准",
        1,
        "LongBench Pro: A Benchmark With a Versioned Link",
    )
    assert (benchmark.arxiv_id, benchmark.authors) == ("2407.01234", "张三, Li Si")
    assert sorted(benchmark.tags.names()) == ["代码生成", "基准测试", "长上下文"]
    # A "#" in a code block or a block quote is summary text, not a section or a paper.
    assert "```markdown\n## 这不是栏目\n### 2. 也不是论文\n```" in benchmark.summary
    assert "<h3>引用里的标题也只是摘要的一部分</h3>" in benchmark.summary_html
    assert benchmark.summary.startswith("摘要第一段") and benchmark.summary.endswith("- 列表项二")
    assert (outside.section.slug, outside.arxiv_id, outside.url) == (
        "rag",
        "",
        "https://example.org/papers/retrieval.pdf",
    )
    assert list(outside.tags.names()) == ["RAG"]
    assert (multimodal.section.name, multimodal.section.slug) == ("多模态", "multimodal")
    assert multimodal.arxiv_id == "2407.05678"


def test_unknown_sections_are_created_only_when_asked(seed):
    text = HANDWRITTEN.read_text(encoding="utf-8")
    counts = row_counts()

    assert_reported(import_errors(text), [(line_of(text, "## 多模态"), "未知栏目“多模态”")])
    assert row_counts() == counts

    import_roundup(text, create_sections=True)
    new, known = Section.objects.get(slug="multimodal"), Section.objects.get(slug="rag")
    assert new.position > known.position


def test_a_new_chinese_section_needs_an_ascii_slug(seed):
    text = roundup(VALID_BODY.replace("## RAG", "## 智能体"))
    assert_reported(
        import_errors(text, create_sections=True), [(line_of(text, "## 智能体"), "{#slug}")]
    )
    assert not Section.objects.filter(name="智能体").exists()


def test_hostile_markdown_is_stored_as_written_and_rendered_safe(seed):
    hostile = (
        '<script>alert("x")</script>\n\n[点我](javascript:alert(1)) <img src=x onerror="alert(1)">'
    )
    text = roundup(VALID_BODY.replace("第一篇的摘要。", hostile.replace("\n", "\n    ")))

    issue = import_roundup(text)

    entry = issue.entries.get(position=1)
    assert entry.summary == hostile
    for unsafe in ("<script", "javascript:", "onerror", "<img"):
        assert unsafe not in entry.summary_html
    assert hostile in export_roundup(issue)


# ------------------------------------------------------------ bad input

BAD_FILES = {
    "no arXiv link": (
        roundup(VALID_BODY.replace("https://arxiv.org/abs/2407.00002\n", "")),
        [("### 2. Second Paper", "缺少 arXiv 链接")],
    ),
    "invalid arXiv id": (
        roundup(VALID_BODY.replace("abs/2407.00002", "abs/2407.2")),
        [("abs/2407.2", "不是 arXiv 编号")],
    ),
    "paper heading before any section": (
        roundup(VALID_BODY.replace("## RAG\n", "").replace("### 2.", "## RAG\n\n    ### 1.")),
        [("### 1. First Paper", "论文出现在任何栏目")],
    ),
    "missing title": (
        roundup(VALID_BODY.replace("# 2024年7月后2周的论文\n", "")),
        [("导言。", "缺少标题行")],
    ),
    "no headings at all": (
        roundup("\n    只有一段文字。\n"),
        [("只有一段文字。", "缺少标题行")],
    ),
    "text before the title": (
        roundup("\n    随手写的一句\n" + VALID_BODY),
        [("随手写的一句", "标题之前的文字不会导入")],
    ),
    "text between a section and its first paper": (
        roundup(VALID_BODY.replace("## RAG\n", "## RAG\n\n    栏目说明\n")),
        [("栏目说明", "栏目标题与第一篇论文之间")],
    ),
    "front matter never closed": (
        "---\n" + FRONT_MATTER + "\n\n" + textwrap.dedent(VALID_BODY).lstrip("\n"),
        [("# 2024年7月后2周的论文", "信息块未以 --- 结束")],
    ),
    "front matter missing": (
        textwrap.dedent(VALID_BODY).lstrip("\n"),
        [("# 2024年7月后2周的论文", "文件应以 --- 信息块开头")],
    ),
    "front matter with a bad period and an unknown key": (
        roundup(front_matter="slug: x\nperiod: 2024/07/15 - 2024/07/28\nauthor: 编辑部"),
        [("period:", "period 应写作"), ("author:", "未知的信息项“author”")],
    ),
    "numbering gap": (
        roundup(VALID_BODY.replace("### 2.", "### 3.")),
        [("### 3. Second Paper", "序号应为 2，不是 3")],
    ),
    "paper heading without a number": (
        roundup(VALID_BODY.replace("### 2. ", "### ")),
        [("### Second Paper", "应以序号开头")],
    ),
    "unclosed code fence": (
        roundup(VALID_BODY.replace("第一篇的摘要。", "```python\n    print(1)")),
        [("```python", "代码块（```）没有闭合")],
    ),
    "heading marks without a space": (
        roundup(VALID_BODY.replace("### 2. ", "###2. ")),
        [("###2. Second Paper", "# 号后缺空格")],
    ),
    "a line under a paragraph that makes it a heading": (
        roundup(VALID_BODY.replace("第一篇的摘要。", "小结\n    ---")),
        [("小结", "=== 或 ---")],
    ),
    "section attributes written wrong": (
        roundup(VALID_BODY.replace("## RAG", "## RAG {#rag position=first}")),
        [("## RAG", "{#网址名 position=顺序}")],
    ),
    "details without a blank line before the summary": (
        roundup(VALID_BODY.replace("abs/2407.00002\n", "abs/2407.00002\n    紧接着的摘要")),
        [("紧接着的摘要", "应空一行再写摘要")],
    ),
}


@pytest.mark.parametrize("text, expected", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_files_are_reported_at_their_lines(text, expected):
    errors = parse_roundup(text).errors
    assert_reported(errors, [(line_of(text, fragment), words) for fragment, words in expected])


def test_a_duplicate_paper_is_reported_with_both_lines():
    text = roundup(VALID_BODY.replace("abs/2407.00002", "abs/2407.00001v3"))
    first, second = line_of(text, "### 1. First Paper"), line_of(text, "### 2. Second Paper")
    assert_reported(
        parse_roundup(text).errors, [(second, f"与第 {first} 行的论文重复（arXiv 2407.00001）")]
    )


def test_a_section_written_twice_is_reported_with_its_first_line():
    text = roundup(VALID_BODY.replace("### 2.", "## RAG\n\n    ### 1."))
    first, second = line_of(text, "## RAG"), line_of(text, "## RAG", occurrence=2)
    assert_reported(parse_roundup(text).errors, [(second, f"已在第 {first} 行出现")])


def test_every_problem_is_reported_at_once_in_line_order():
    text = roundup(
        VALID_BODY.replace("### 2.", "### 3.").replace("abs/2407.00001", "abs/nonsense"),
        front_matter="slug: x\nperiod: soon",
    )
    assert_reported(
        parse_roundup(text).errors,
        [
            (line_of(text, "period: soon"), "period 应写作"),
            (line_of(text, "abs/nonsense"), "不是 arXiv 编号"),
            (line_of(text, "### 3."), "序号应为 2"),
        ],
    )


def test_a_file_that_does_not_parse_touches_nothing(seed):
    counts = row_counts()
    text = roundup(VALID_BODY.replace("https://arxiv.org/abs/2407.00002\n", ""))
    assert_reported(import_errors(text), [(line_of(text, "### 2."), "缺少 arXiv 链接")])
    assert row_counts() == counts


def test_a_slug_already_in_use_is_reported_at_its_line(seed):
    text = roundup(front_matter="slug: 2024-06-h2\nperiod: 2024-07-15 – 2024-07-28")
    assert_reported(import_errors(text), [(line_of(text, "slug:"), "网址名")])


def test_a_period_ending_before_it_starts_is_reported_at_its_line(seed):
    text = roundup(front_matter="slug: backwards\nperiod: 2024-07-28 – 2024-07-15")
    assert_reported(import_errors(text), [(line_of(text, "period:"), "截止日期不能早于起始日期")])


def test_a_failure_on_the_last_entry_rolls_back_everything_written_before_it(seed):
    """The issue, a new section, entries and new tags are written before the
    last entry fails its model validation; none of them stays."""
    long_title = "T" * 301
    text = roundup(
        VALID_BODY.replace("## RAG", "## 新栏目 {#brand-new}")
        .replace("2407.00001\n", "2407.00001\n    标签：全新标签，另一个新标签\n")
        .replace("Second Paper", long_title)
    )
    counts = row_counts()

    with CaptureQueriesContext(connection) as queries:
        errors = import_errors(text, create_sections=True)

    assert_reported(errors, [(line_of(text, long_title), "论文标题")])
    inserts = " ".join(q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT"))
    for table in (
        "papers_issue",
        "papers_section",
        "papers_entry",
        "papers_tag",
        "papers_taggedentry",
    ):
        assert f'INSERT INTO "{table}"' in inserts
    assert row_counts() == counts
