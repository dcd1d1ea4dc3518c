"""A whole roundup as one Markdown file: export an issue, import a file as a draft.

Editors write a roundup the way the original article reads: a title, an
introduction, a heading per section, a numbered heading per paper, its link and
its summary. A short front matter block holds what has no place in prose::

    ---
    slug: 2024-06-h2
    period: 2024-06-16 – 2024-06-30
    source: https://blog.csdn.net/m0_46510245/article/details/140226616
    ---

    # 2024年6月后2周重要的大语言模型论文总结：LLM进展、微调、推理和对齐

    本期汇总……（导言，Markdown）

    ## LLM进展与基准 {#progress-benchmarks position=10}

    ### 1. BigCodeBench: Benchmarking Code Generation with Diverse Function Calls ...

    https://arxiv.org/abs/2406.15877
    作者：Terry Yue Zhuo, Minh Chien Vu
    标签：代码生成, 基准测试

    多数代码评测只考……（摘要，Markdown：段落、列表、强调、代码块……）

docs/roundup-markdown.md describes the format for editors. The decisions behind it:

- **Structure comes from markdown-it-py** (CommonMark), not from a line-based
  scan. Only headings of levels 1–3 at the top level of the document are
  structure; a ``## x`` inside a fenced code block, a block quote or a list
  item is summary text. Getting that right line by line would mean
  re-implementing fences (backticks or tildes, any length), indented code, HTML
  blocks, containers and setext headings. markdown-it gives the block tokens
  with their source lines (``token.map``); the texts themselves are cut from the
  source lines, so summaries keep every character the editor wrote.
- **Levels 1–3 belong to the file**: ``#`` title, ``##`` section, ``###``
  paper. Introductions and summaries use ``####`` and deeper (the issue page
  already puts them under the section and paper headings).
- **Papers are numbered 1..n within each section, in order**, and the number
  is the entry's position. A gap or a repeat is an error rather than silently
  renumbered: the numbers are what the editor sees, and a wrong one is usually
  a paper pasted twice or lost. Export writes each section's papers as 1..n in
  stored order (positions 10, 20 come back as 1, 2).
- **Texts are stored as the admin stores them**: line endings as ``\\n``,
  surrounding white space stripped. That is the only change a text sees, so
  export → import → export gives the same bytes.
- **Import checks in two stages.** A file that does not parse is reported
  whole (every problem, with its line) before the database is touched; a file
  that parses is then checked against the database (sections, slug, the
  models' ``full_clean()``) while it is written, inside one transaction that a
  single problem rolls back entirely.
- **Sections travel with their slug and position**: export writes
  ``## 名称 {#slug position=10}`` (Pandoc's attribute form), so that a file
  imported into a site that lacks the sections creates them with the same
  URL and order. Names alone are not enough: LLM微调, LLM推理 and
  LLM安全与对齐 all slugify to ``llm``. A section created from a heading
  without a slug gets ``slugify(name)``, made unique with ``-2``, ``-3``...
  (papers.slugs); a section the site already has keeps its own slug and
  position.
- **Export checks itself**: it parses what it wrote and refuses
  (``RoundupExportError``) when the file would not import back to the same
  issue, e.g. a summary holding a ``##`` heading, rather than hand out a file
  that silently changes on the way back.
"""

import datetime
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Max
from markdown_it import MarkdownIt
from taggit.utils import edit_string_for_tags

from papers import arxiv, slugs
from papers.models import Entry, Issue, Section, Tag
from papers.tag_input import parse_tags


@dataclass(frozen=True, order=True)
class RoundupProblem:
    """One problem in a roundup file, at a line (1-based) of that file."""

    line: int
    message: str

    def __str__(self):
        return f"第 {self.line} 行：{self.message}"


class RoundupImportError(Exception):
    """The file was not imported; ``errors`` lists every problem, by line."""

    def __init__(self, errors):
        self.errors = sorted(errors)
        super().__init__("\n".join(map(str, self.errors)))


class RoundupExportError(Exception):
    """The issue holds text that would not import back unchanged."""

    def __init__(self, issue, problems):
        self.issue = issue
        self.problems = problems
        super().__init__(f"“{issue}”无法导出为 Markdown：" + "；".join(problems))


def _tag_names(entry):
    return sorted(tag.name for tag in entry.tags.all())


def _tag_text(names):
    return edit_string_for_tags([Tag(name=name) for name in names])


@dataclass(frozen=True)
class DetailLine:
    """A ``键：值`` line under a paper's heading and the Entry field it carries.

    The line may start with any of ``keys`` (in any case); export writes the
    first, and leaves the line out when the value is empty. ``from_entry`` reads
    the value from an entry, ``write`` turns it into the line's text and
    ``read`` the (stripped) text back into the value: export → import → export
    gives the same bytes only if ``read(write(value)) == value``.
    """

    name: str
    keys: tuple[str, ...]
    from_entry: Callable | None = None  # None: the entry's attribute ``name``
    write: Callable = str
    read: Callable = str

    def value_from(self, entry):
        return self.from_entry(entry) if self.from_entry else getattr(entry, self.name)


# Every Entry field a roundup file carries besides those with a place of their
# own (the title in the heading, the link line, the summary below): export,
# parse and import all go by this table, so a field added here travels.
ENTRY_DETAIL_LINES = (
    DetailLine("authors", ("作者", "authors")),
    DetailLine("tags", ("标签", "tags"), from_entry=_tag_names, write=_tag_text, read=parse_tags),
)


def _no_details():
    return {line.name: line.read("") for line in ENTRY_DETAIL_LINES}


@dataclass
class ParsedPaper:
    """One paper of a roundup file. ``details`` holds the values of the
    ENTRY_DETAIL_LINES by field name; ``lines`` maps Entry field names to lines."""

    number: int
    title: str
    arxiv_id: str = ""
    url: str = ""
    details: dict = field(default_factory=_no_details)
    summary: str = ""
    line: int = field(default=0, compare=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False)


@dataclass
class ParsedSection:
    """A section heading; ``slug`` and ``position`` are set only by a
    ``{#slug position=N}`` suffix."""

    name: str
    slug: str = ""
    position: int | None = None
    papers: list[ParsedPaper] = field(default_factory=list)
    line: int = field(default=0, compare=False)


@dataclass
class ParsedRoundup:
    """A whole roundup file. ``lines`` maps Issue field names to lines."""

    slug: str = ""
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    source_url: str = ""
    title: str = ""
    intro: str = ""
    sections: list[ParsedSection] = field(default_factory=list)
    errors: list[RoundupProblem] = field(default_factory=list, compare=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False)


# ---------------------------------------------------------------- export


def export_roundup(issue):
    """Return ``issue`` as a roundup file (str; write it as UTF-8).

    Raises ``RoundupExportError`` when the issue holds text the format cannot
    carry unchanged; the message names the texts.
    """
    roundup = _roundup_from_issue(issue)
    text = _render(roundup)
    reparsed = parse_roundup(text)
    if reparsed.errors or reparsed != roundup:
        raise RoundupExportError(issue, _export_problems(roundup, reparsed, text))
    return text


def _roundup_from_issue(issue):
    sections = [
        ParsedSection(
            name=section.name,
            slug=section.slug,
            position=section.position,
            papers=[
                ParsedPaper(
                    number=number,
                    title=entry.title,
                    arxiv_id=entry.arxiv_id,
                    url=entry.url,
                    details={line.name: line.value_from(entry) for line in ENTRY_DETAIL_LINES},
                    summary=_stored_text(entry.summary),
                )
                for number, entry in enumerate(section_entries, start=1)
            ],
        )
        for section, section_entries in issue.entries_by_section()
    ]
    return ParsedRoundup(
        slug=issue.slug,
        period_start=issue.period_start,
        period_end=issue.period_end,
        source_url=issue.source_url,
        title=issue.title,
        intro=_stored_text(issue.intro),
        sections=sections,
    )


def _render(roundup):
    front_matter = [
        "---",
        f"slug: {roundup.slug}",
        f"period: {roundup.period_start:%Y-%m-%d} – {roundup.period_end:%Y-%m-%d}",
        f"source: {roundup.source_url}" if roundup.source_url else "",
        "---",
    ]
    blocks = ["\n".join(line for line in front_matter if line), f"# {roundup.title}", roundup.intro]
    for section in roundup.sections:
        blocks.append(f"## {section.name} {_attributes(section)}")
        for paper in section.papers:
            blocks += [f"### {paper.number}. {paper.title}", _details(paper), paper.summary]
    return "\n\n".join(block for block in blocks if block) + "\n"


def _attributes(section):
    """``{#slug position=N}``: what a site that lacks the section needs to
    create it with the same URL and order."""
    return f"{{#{section.slug} position={section.position}}}"


def _details(paper):
    lines = [
        arxiv.abstract_url(paper.arxiv_id) if paper.arxiv_id else "",
        paper.url,
        *(
            f"{line.keys[0]}：{line.write(paper.details[line.name])}"
            for line in ENTRY_DETAIL_LINES
            if paper.details[line.name]
        ),
    ]
    return "\n".join(line for line in lines if line)


def _export_problems(roundup, reparsed, text):
    """Say which texts break the file: the lines it trips on, or the papers
    that come back changed."""
    lines = text.split("\n")
    problems = [f"“{lines[error.line - 1].strip()}”：{error.message}" for error in reparsed.errors]
    if (roundup.title, roundup.intro) != (reparsed.title, reparsed.intro):
        problems.append("标题或导言导入后会改变")
    papers = zip(_all_papers(roundup), _all_papers(reparsed), strict=False)
    problems += [f"《{paper.title}》导入后会改变" for paper, back in papers if paper != back]
    return problems or ["导入后栏目结构会改变"]


def _all_papers(roundup):
    return [paper for section in roundup.sections for paper in section.papers]


def _stored_text(text):
    """A text as the admin's forms store it: ``\\n`` line endings, stripped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


# ----------------------------------------------------------------- parse

_COMMONMARK = MarkdownIt("commonmark")
_STRUCTURE_LEVELS = {"h1": 1, "h2": 2, "h3": 3}
_FRONT_MATTER_LINE = re.compile(r"^(?P<key>[A-Za-z_]+)\s*[:：]\s*(?P<value>.*)$")
_FRONT_MATTER_KEYS = ("slug", "period", "source")
_PERIOD = re.compile(
    r"^(?P<start>\d{4}-\d{2}-\d{2})\s*(?:–|—|~|至|\s-\s)\s*(?P<end>\d{4}-\d{2}-\d{2})$"
)
_SECTION_HEADING = re.compile(
    r"^(?P<name>.*?)\s*\{#(?P<slug>[^}\s]+)(?:\s+position=(?P<position>\d{1,9}))?\}$"
)
_SECTION_ATTRIBUTES = re.compile(r"\{#[^}]*\}$")
_PAPER_HEADING = re.compile(r"^(?P<number>\d+)\s*[.、]\s*(?P<title>.*)$")
_LINK = re.compile(r"^(?:https?://|arxiv:)\S+$", re.IGNORECASE)
_DETAIL_LINES_BY_KEY = {key.lower(): line for line in ENTRY_DETAIL_LINES for key in line.keys}
_DETAIL = re.compile(
    rf"^(?P<key>{'|'.join(map(re.escape, _DETAIL_LINES_BY_KEY))})\s*[:：]\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_SUMMARY_NEEDS_BLANK_LINE = (
    "、".join(["链接", *(line.keys[0] for line in ENTRY_DETAIL_LINES)]) + "之后应空一行再写摘要"
)
# Python-Markdown (which renders the site) takes "###2. x" as a heading, CommonMark does not.
_HEADING_WITHOUT_SPACE = re.compile(r"^ {0,3}#{1,3}[^#\s]")


@dataclass
class _Heading:
    level: int
    text: str
    start: int  # index of the heading's first line in the file's lines
    end: int  # index of the line after it


def parse_roundup(text):
    """Read a roundup file into a ``ParsedRoundup``; never raises.

    Every problem found is in ``.errors`` (sorted by line); the database is not
    consulted (``import_roundup`` does that).
    """
    roundup = ParsedRoundup()
    errors = roundup.errors
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    body_start = _parse_front_matter(lines, roundup, errors)
    headings = _structure(lines, body_start, errors)
    section = None
    for heading, following in itertools.pairwise([*headings, None]):
        end = following.start if following else len(lines)
        if heading.level == 1:
            _read_title(heading, lines, end, roundup, errors)
        elif heading.level == 2:
            section = _read_section(heading, roundup, errors)
            _reject_text(lines, heading.end, end, "栏目标题与第一篇论文之间的文字不会导入", errors)
        elif section is None:
            errors.append(RoundupProblem(heading.start + 1, "论文出现在任何栏目（## 栏目名）之前"))
        else:
            _read_paper(heading, lines, end, section, errors)
    if roundup.title:
        _reject_text(lines, body_start, headings[0].start, "标题之前的文字不会导入", errors)
    else:
        first_line = _first_text_line(lines, body_start, len(lines)) or body_start + 1
        errors.append(RoundupProblem(first_line, "缺少标题行：“# 本期标题”"))
    _reject_duplicate_papers(roundup, errors)
    errors.sort()
    return roundup


def _parse_front_matter(lines, roundup, errors):
    """Read the ``---`` block into ``roundup``; return the index of the body."""
    if lines[0].strip() != "---":
        errors.append(RoundupProblem(1, "文件应以 --- 信息块开头（slug、period，可选 source）"))
        return 0
    seen = {}
    for index in range(1, len(lines)):
        line = lines[index].strip()
        if line == "---":
            body_start = index + 1
            break
        if not line:
            continue
        match = _FRONT_MATTER_LINE.match(line)
        if match is None:
            errors.append(RoundupProblem(index + 1, "信息块未以 --- 结束（或此行不是“键: 值”）"))
            body_start = index
            break
        key = match["key"].lower()
        if key in seen:
            errors.append(RoundupProblem(index + 1, f"{key} 重复（已在第 {seen[key]} 行）"))
        elif key not in _FRONT_MATTER_KEYS:
            errors.append(
                RoundupProblem(
                    index + 1, f"未知的信息项“{key}”（可用：{'、'.join(_FRONT_MATTER_KEYS)}）"
                )
            )
        else:
            seen[key] = index + 1
            _read_front_matter_value(key, match["value"].strip(), index + 1, roundup, errors)
    else:
        errors.append(RoundupProblem(1, "信息块未以 --- 结束"))
        body_start = len(lines)
    errors.extend(
        RoundupProblem(1, f"信息块缺少 {key}") for key in ("slug", "period") if key not in seen
    )
    return body_start


def _read_front_matter_value(key, value, line, roundup, errors):
    if key == "slug":
        roundup.slug = value
        roundup.lines["slug"] = line
    elif key == "source":
        roundup.source_url = value
        roundup.lines["source_url"] = line
    else:
        try:
            roundup.period_start, roundup.period_end = _parse_period(value)
        except ValueError:
            errors.append(
                RoundupProblem(line, f"period 应写作“2024-06-16 – 2024-06-30”，而不是“{value}”")
            )
        # The issue's own constraints compare the period's dates.
        for name in ("period_start", "period_end", NON_FIELD_ERRORS):
            roundup.lines[name] = line


def _parse_period(value):
    match = _PERIOD.match(value)
    if match is None:
        raise ValueError(value)
    return (datetime.date.fromisoformat(match["start"]), datetime.date.fromisoformat(match["end"]))


def _structure(lines, start, errors):
    """The file's structural headings (levels 1–3 at the top level), in order.

    Also reports the Markdown that would break the structure: a code fence that
    is never closed (it swallows the rest of the file), a setext heading, and a
    heading without the space after its #s.
    """
    tokens = _COMMONMARK.parse("\n".join(lines[start:]))
    headings = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        first, end = start + token.map[0], start + token.map[1]
        if token.type == "heading_open" and token.tag in _STRUCTURE_LEVELS:
            if token.markup in ("=", "-"):
                errors.append(
                    RoundupProblem(
                        first + 1,
                        "下一行的 === 或 --- 把这一行变成了标题：标题请用 #，分隔线前请空一行",
                    )
                )
            else:
                level = _STRUCTURE_LEVELS[token.tag]
                headings.append(_Heading(level, tokens[index + 1].content, first, end))
        elif token.type == "fence" and not _fence_is_closed(token.markup, lines[first:end]):
            errors.append(RoundupProblem(first + 1, f"代码块（{token.markup}）没有闭合"))
        elif token.type == "paragraph_open":
            errors.extend(
                RoundupProblem(number + 1, "# 号后缺空格：标题写作“### 1. 标题”，正文的 # 写成 \\#")
                for number in range(first, end)
                if _HEADING_WITHOUT_SPACE.match(lines[number])
            )
    return headings


def _fence_is_closed(markup, fence_lines):
    closing = fence_lines[-1].strip()
    return len(fence_lines) > 1 and closing.startswith(markup) and set(closing) == {markup[0]}


def _first_text_line(lines, start, end):
    """The number (1-based) of the first non-blank line in ``lines[start:end]``."""
    return next((index + 1 for index in range(start, end) if lines[index].strip()), None)


def _reject_text(lines, start, end, message, errors):
    """Report text the file has no place for, which would otherwise be lost."""
    line = _first_text_line(lines, start, end)
    if line:
        errors.append(RoundupProblem(line, message))


def _read_title(heading, lines, end, roundup, errors):
    if roundup.title:
        errors.append(
            RoundupProblem(
                heading.start + 1, f"标题只能有一个（已在第 {roundup.lines['title']} 行）"
            )
        )
        return
    if roundup.sections:
        errors.append(RoundupProblem(heading.start + 1, "标题（# ）应在所有栏目之前"))
    roundup.title = heading.text
    roundup.intro = _stored_text("\n".join(lines[heading.end : end]))
    roundup.lines["title"] = heading.start + 1
    roundup.lines["intro"] = _first_text_line(lines, heading.end, end) or heading.start + 1


def _read_section(heading, roundup, errors):
    match = _SECTION_HEADING.match(heading.text)
    section = ParsedSection(
        name=match["name"] if match else heading.text,
        slug=match["slug"] if match else "",
        position=int(match["position"]) if match and match["position"] else None,
        line=heading.start + 1,
    )
    if match is None and _SECTION_ATTRIBUTES.search(heading.text):
        errors.append(
            RoundupProblem(section.line, "栏目标题末尾应写作“{#网址名}”或“{#网址名 position=顺序}”")
        )
    if not section.name:
        errors.append(RoundupProblem(section.line, "栏目标题为空"))
    for earlier in roundup.sections:
        if earlier.name == section.name or (section.slug and earlier.slug == section.slug):
            errors.append(
                RoundupProblem(
                    section.line,
                    f"栏目“{section.name}”已在第 {earlier.line} 行出现：同一栏目的论文请写在一起",
                )
            )
    roundup.sections.append(section)
    return section


def _read_paper(heading, lines, end, section, errors):
    line = heading.start + 1
    match = _PAPER_HEADING.match(heading.text)
    if match is None:
        errors.append(RoundupProblem(line, "论文标题应以序号开头，如“### 1. 论文标题”"))
        return
    paper = ParsedPaper(number=int(match["number"]), title=match["title"], line=line)
    # Against the previous heading, so that one slip is reported once.
    expected = section.papers[-1].number + 1 if section.papers else 1
    if paper.number != expected:
        errors.append(
            RoundupProblem(
                line, f"序号应为 {expected}，不是 {paper.number}（每个栏目从 1 起连续编号）"
            )
        )
    if not paper.title:
        errors.append(RoundupProblem(line, "论文标题为空"))
    summary_start = _read_details(paper, lines, heading.end, end, errors)
    if not (paper.arxiv_id or paper.url or "arxiv_id" in paper.lines):
        errors.append(
            RoundupProblem(
                line,
                "缺少 arXiv 链接：标题下写 https://arxiv.org/abs/编号（不在 arXiv 上的写其链接）",
            )
        )
    paper.summary = _stored_text("\n".join(lines[summary_start:end]))
    paper.lines["summary"] = _first_text_line(lines, summary_start, end) or line
    section.papers.append(paper)


def _read_details(paper, lines, start, end, errors):
    """Read the link and detail lines (ENTRY_DETAIL_LINES) under a paper heading.

    They run from the first non-blank line to the next blank line. The summary
    starts at the first line that is none of them (without details when that is
    the first line); returns its index.
    """
    index = start
    while index < end and not lines[index].strip():
        index += 1
    first = index
    while index < end and lines[index].strip():
        text = lines[index].strip()
        if _LINK.match(text):
            _read_link(paper, text, index + 1, errors)
        elif detail := _DETAIL.match(text):
            _read_detail(paper, detail, index + 1, errors)
        else:
            if index > first:
                errors.append(RoundupProblem(index + 1, _SUMMARY_NEEDS_BLANK_LINE))
            return index
        index += 1
    return index


def _read_link(paper, text, line, errors):
    try:
        name, value = "arxiv_id", arxiv.normalize_arxiv_id(text)
    except ValidationError as invalid:
        if "arxiv" in text.lower():
            errors.append(RoundupProblem(line, invalid.messages[0]))
            paper.lines.setdefault("arxiv_id", line)
            return
        name, value = "url", text
    if name in paper.lines:
        label = "arXiv 链接" if name == "arxiv_id" else "链接"
        errors.append(RoundupProblem(line, f"{label}重复（已在第 {paper.lines[name]} 行）"))
        return
    setattr(paper, name, value)
    paper.lines[name] = line


def _read_detail(paper, detail, line, errors):
    key = detail["key"]
    detail_line = _DETAIL_LINES_BY_KEY[key.lower()]
    name = detail_line.name
    if name in paper.lines:
        errors.append(RoundupProblem(line, f"“{key}”重复（已在第 {paper.lines[name]} 行）"))
        return
    paper.details[name] = detail_line.read(detail["value"].strip())
    paper.lines[name] = line


def _reject_duplicate_papers(roundup, errors):
    """One paper once per issue: the same arXiv id (or link) twice is an error."""
    first_lines = {}
    for paper in _all_papers(roundup):
        key = f"arXiv {paper.arxiv_id}" if paper.arxiv_id else paper.url
        if not key:
            continue
        if key in first_lines:
            errors.append(
                RoundupProblem(paper.line, f"与第 {first_lines[key]} 行的论文重复（{key}）")
            )
        else:
            first_lines[key] = paper.line


# ---------------------------------------------------------------- import


def import_roundup(text, *, create_sections=False, status=Issue.Status.DRAFT):
    """Create an issue (a draft by default) from a roundup file; return it.

    Sections are matched by name or slug; unknown ones are created only with
    ``create_sections``. Raises ``RoundupImportError`` listing every problem by
    line, and then nothing of the file stays in the database.
    """
    parsed = parse_roundup(text)
    if parsed.errors:
        raise RoundupImportError(parsed.errors)
    errors = []
    with transaction.atomic():
        sections = _sections(parsed.sections, create_sections, errors)
        issue = Issue(
            title=parsed.title,
            slug=parsed.slug,
            period_start=parsed.period_start,
            period_end=parsed.period_end,
            intro=parsed.intro,
            source_url=parsed.source_url,
            status=status,
        )
        _save_if_valid(issue, parsed.lines, 1, errors)
        for parsed_section, section in zip(parsed.sections, sections, strict=True):
            for paper in parsed_section.papers:
                _save_entry(issue, section, paper, errors)
        if errors:
            raise RoundupImportError(errors)  # inside atomic(): everything is rolled back
    return issue


def _sections(parsed_sections, create_sections, errors):
    """The Section of each heading, created when allowed; None where unknown.

    A created section takes the heading's slug and position; without them,
    a free slug made from its name and a place after every other section.
    """
    next_position = (Section.objects.aggregate(Max("position"))["position__max"] or 0) + 10
    sections = []
    for heading in parsed_sections:
        section = (
            Section.objects.filter(name=heading.name).first()
            or Section.objects.filter(slug=heading.slug or heading.name).first()
        )
        if section is None and not create_sections:
            errors.append(
                RoundupProblem(
                    heading.line, f"未知栏目“{heading.name}”：请先在后台新建，或导入时允许新建栏目"
                )
            )
        elif section is None:
            slug = heading.slug or slugs.section_slug_base(heading.name)
            section = Section(
                name=heading.name,
                slug=slug if heading.slug or not slug else slugs.free_slug(Section.objects, slug),
                position=next_position if heading.position is None else heading.position,
            )
            next_position = max(next_position, section.position) + 10
            if section.slug:
                _save_if_valid(section, {}, heading.line, errors)
            else:
                errors.append(
                    RoundupProblem(
                        heading.line,
                        (
                            f"新栏目“{heading.name}”需要英文网址名："
                            f"写作“## {heading.name} {{#slug}}”"
                        ),
                    )
                )
        sections.append(section)
    return sections


def _save_entry(issue, section, paper, errors):
    """The paper as an entry; detail fields that are relations (tags) are
    set once the entry is saved."""
    related = {name for name in paper.details if Entry._meta.get_field(name).many_to_many}
    entry = Entry(
        issue=issue,
        section=section,
        position=paper.number,
        title=paper.title,
        arxiv_id=paper.arxiv_id,
        url=paper.url,
        summary=paper.summary,
        **{name: value for name, value in paper.details.items() if name not in related},
    )
    if _save_if_valid(entry, paper.lines, paper.line, errors):
        for name in related:
            getattr(entry, name).set(paper.details[name])


def _save_if_valid(instance, field_lines, default_line, errors):
    """``full_clean()`` then save ``instance``; report its problems at the lines
    its fields came from. Returns whether it was saved.

    Relations to rows that could not be saved (an unknown section, an invalid
    issue) are left out of the check, so their other problems still show.
    """
    unsaved = [
        relation.name
        for relation in instance._meta.concrete_fields
        if relation.many_to_one and getattr(instance, relation.attname) is None
    ]
    try:
        instance.full_clean(exclude=unsaved)
    except ValidationError as invalid:
        for name, messages in invalid.message_dict.items():
            line = field_lines.get(name, default_line)
            label = (
                ""
                if name == NON_FIELD_ERRORS
                else f"{instance._meta.get_field(name).verbose_name}："
            )
            errors.extend(RoundupProblem(line, f"{label}{message}") for message in messages)
        return False
    if unsaved:
        return False
    instance.save()
    return True
