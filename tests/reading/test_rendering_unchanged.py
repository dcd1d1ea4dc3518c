"""Every public page, byte for byte, as readers got it before the fast render
path (docs/render-benchmark.md): each page is compared with a golden file
recorded from the code as it was before that work, in both languages.

Two archives: the seed roundup, and a small one made here with odd content
(emoji and HTML-like tags, HTML in titles, authors and section names, entries
without tags or without an arXiv id, a hostile link, several sections, two
sections at one position, periods across months and years, a paper covered
twice, enough entries to paginate). Pages: every page of the registry
(reading/pages.py) with its feeds and files, and every issue, section, tag
and paper page of the archive, a few filtered lists, and the editors'
preview of each issue (it prints entries the same way). Each page is
rendered with entries kept in memory once rendered (reading.fragments; the
page is asked for twice, so that the second one prints them from memory) and
with that memory off.

The golden files are never rewritten by a test run. To record the pages of a
new case, or again after a deliberate change to what pages print, delete the
files concerned and run this module with ``DIGEST_RECORD_RENDERING=1``: it
writes the missing files only; review their diff before committing.

What is normalised before comparing: the hash in static file names (set by
the stylesheet's content, not by the page) and nothing else. Primary keys
(in entry anchors) are made stable by resetting the database's sequences.
"""

import datetime
import difflib
import os
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from papers.models import Entry, Issue, Section, Tag
from reading import pages
from tests.factories import EntryFactory, IssueFactory, SectionFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

GOLDEN = Path(__file__).parent / "golden"
RECORD = os.environ.get("DIGEST_RECORD_RENDERING") == "1"
STATIC_HASH = re.compile(r"(/static/[^\"'\s?#]+?)\.[0-9a-f]{12}(\.[A-Za-z0-9]+)")
UTC = datetime.UTC


@pytest.fixture(autouse=True, params=["entries kept", "entries rendered each time"])
def rendered_pages(request, settings):
    """Pages as rendered, not as cached: the page cache off. Entries printed
    from memory once rendered (reading.fragments), each page asked for twice
    so that the second is printed from memory; and with that memory off."""
    settings.PAGE_CACHE = False
    if request.param == "entries rendered each time":
        settings.ENTRY_FRAGMENTS_KEPT = 0
    return 2 if settings.ENTRY_FRAGMENTS_KEPT else 1


def when(year, month, day, hour=9):
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def make_odd_archive():
    """A small archive of everything that makes printing an entry tricky.

    Every value is given here (no factory sequence, no "now"), so the pages are
    the same whichever tests ran before.
    """
    sections = [
        SectionFactory(name="LLM推理", slug="reasoning", position=10),
        SectionFactory(name="<b>粗体</b> & “引号”", slug="html-name", position=20),
        SectionFactory(name="Agents & Tools", slug="agents", position=20),
        SectionFactory(name="空栏目", slug="unused", position=30),
    ]
    newest = IssueFactory(
        title="跨年的一期 <i>斜体</i> & 符号",
        slug="across-years",
        period_start=datetime.date(2024, 12, 23),
        period_end=datetime.date(2025, 1, 5),
        intro="本期**导言**，<!-- 编辑的注释 -->有 [链接](https://example.org/?a=1&b=2)。\n\n"
        "<script>alert(1)</script>第二段。",
        source_url="https://mp.weixin.qq.com/s/example",
        published_at=when(2025, 1, 6),
    )
    older = IssueFactory(
        title="Across months",
        slug="across-months",
        period_start=datetime.date(2024, 11, 25),
        period_end=datetime.date(2024, 12, 8),
        intro="",
        source_url="javascript:alert(1)",
        published_at=when(2024, 12, 9),
    )
    draft = IssueFactory(
        title="草稿",
        slug="draft",
        period_start=datetime.date(2025, 1, 6),
        period_end=datetime.date(2025, 1, 19),
        status=Issue.Status.DRAFT,
        published_at=None,
    )
    # In this order, so that the slugs chosen for tags without letters are the same every run.
    names = [
        "🔥",
        ">",
        "★",
        "C++",
        "C",
        "RAG",
        "检索增强生成",
        "<script>x</script>",
        "a&b",
        "长上下文",
    ]
    tags = {name: Tag.objects.create(name=name) for name in names}

    def entry(issue, section, position, tag_names=(), **fields):
        made = EntryFactory(
            issue=issue,
            section=section,
            position=position,
            title=fields.pop("title", f"Paper {issue.slug} {section.slug} {position}"),
            arxiv_id=fields.pop("arxiv_id", f"2412.{10000 + position + 100 * section.position}"),
            summary=fields.pop("summary", f"第{position}篇论文的摘要，讨论**长上下文**。"),
            **fields,
        )
        made.tags.add(*(tags[name] for name in tag_names))
        return made

    entry(
        newest,
        sections[0],
        1,
        ["🔥", ">", "长上下文"],
        title="<i>Chain</i> & “thought” <script>alert(1)</script>",
        authors="Ann <b>Bold</b> & O'Brien",
        arxiv_id="2406.15877",
        summary="摘要里有 <script>alert(1)</script> 和 <b>粗体</b>、`code` 与 [链接](https://arxiv.org)。\n\n"
        "<!-- 给编辑看的 -->第二段 & 符号 “引号”。",
    )
    entry(newest, sections[0], 2, [], title="中文标题的论文", summary="An English summary only.")
    entry(
        newest,
        sections[1],
        1,
        ["★", "C++", "C"],
        arxiv_id="",
        url="https://example.org/paper?x=1&y=2",
        authors="张三、李四",
    )
    entry(
        newest,
        sections[1],
        2,
        ["<script>x</script>", "a&b"],
        arxiv_id="",
        url="javascript:alert(1)",
    )
    entry(newest, sections[2], 1, ["RAG", "检索增强生成"], arxiv_id="hep-th/9901001")
    for position in range(3, 31):  # enough for a second page of entries and of a tag
        entry(newest, sections[position % 3], position, [] if position % 5 == 0 else ["RAG"])
    entry(older, sections[0], 1, ["RAG", "🔥"], arxiv_id="2406.15877", title="The same paper again")
    entry(older, sections[2], 1, [], summary="")
    entry(draft, sections[3], 1, ["长上下文"], title="A draft paper")
    # Feeds print when a row last changed: a fixed time rather than the test's.
    Issue.objects.update(updated_at=when(2025, 1, 7))
    Entry.objects.update(updated_at=when(2025, 1, 7))
    return {"sections": sections, "issues": [newest, older, draft]}


def public_addresses(language, archive_pages):
    """{name: URL} of the pages to compare, in ``language``."""
    urls = {
        f"registry {name}": url
        for name, url in pages.example_urls(language, feeds=True, downloads=True).items()
    }
    with translation.override(language):
        for issue in Issue.objects.published():
            urls[f"issue {issue.slug}"] = issue.get_absolute_url()
        for section in Section.objects.published():
            urls[f"section {section.slug}"] = section.get_absolute_url()
        if archive_pages == "all":
            for tag in Tag.objects.published():
                urls[f"tag {tag.slug}"] = tag.get_absolute_url()
                urls[f"entries tagged {tag.slug}"] = (
                    f"{reverse('reading:entry_list')}?tag={quote(tag.slug)}"
                )
            for arxiv_id in set(
                Entry.objects.published().exclude(arxiv_id="").values_list("arxiv_id", flat=True)
            ):
                urls[f"paper {arxiv_id}"] = reverse(
                    "reading:paper_detail", kwargs={"arxiv_id": arxiv_id}
                )
            entries = reverse("reading:entry_list")
            urls |= {
                "entries page 2": f"{entries}?page=2",
                "entries of a section": f"{entries}?section=reasoning",
                "entries of an issue": f"{entries}?issue=across-years",
                "entries of a year": f"{entries}?year=2024",
                "entries, search": f"{entries}?q=thought",  # one match: ranking differs by database
                "tag page 2": f"{Tag.objects.get(name='RAG').get_absolute_url()}?page=2",
            }
    unique = {}
    for name, url in urls.items():  # each address once (the registry's examples are among them)
        unique.setdefault(url, name)
    return {name: url for url, name in unique.items()}


def normalised(content):
    return STATIC_HASH.sub(r"\1\2", content.decode())


def golden_path(archive, language, name):
    return GOLDEN / archive / language / (quote(name, safe="") + ".html")


def compare(archive, language, name, url, content):
    """None when the page is as recorded, else what differs (a short diff)."""
    path = golden_path(archive, language, name)
    actual = f"<!-- {url} -->\n" + normalised(content)
    if not path.exists():
        if RECORD:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return None
        return f"{name}: no golden file {path.relative_to(GOLDEN.parent)} (see the docstring)"
    expected = path.read_text(encoding="utf-8")
    if actual == expected:
        return None
    diff = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "recorded", "rendered now", lineterm="", n=1
    )
    return f"{name} ({url}):\n" + "\n".join(list(diff)[:40])


def check_pages(client, archive, archive_pages, previews=(), times=1):
    problems, seen = [], 0
    for language in pages.LANGUAGES:
        for name, url in public_addresses(language, archive_pages).items():
            for _ in range(times):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
                seen += 1
                problems.append(compare(archive, language, name, url, response.content))
    if previews:
        client.force_login(UserFactory(username="previewer", is_staff=True, is_superuser=True))
        for issue in previews:
            url = reverse("admin:papers_issue_preview", args=[issue.pk])
            for _ in range(times):
                response = client.get(url)
                assert response.status_code == 200, url
                seen += 1
                problems.append(
                    compare(archive, "zh-hans", f"preview {issue.slug}", url, response.content)
                )
    problems = [problem for problem in problems if problem]
    assert not problems, f"{len(problems)} of {seen} pages differ:\n\n" + "\n\n".join(problems)
    return seen


def test_seed_pages_are_as_recorded(client, rendered_pages):
    call_command("load_seed", verbosity=0)
    assert check_pages(client, "seed", "registry", Issue.objects.all(), rendered_pages) > 40


def test_odd_archive_pages_are_as_recorded(client, rendered_pages):
    archive = make_odd_archive()
    assert check_pages(client, "odd", "all", archive["issues"], rendered_pages) > 100
