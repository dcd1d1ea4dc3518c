import csv
from pathlib import Path

import pytest
from django.core.management import call_command

from papers.models import Entry, Issue, Section, Tag, TaggedEntry

pytestmark = pytest.mark.django_db

# The seed article's table of papers (section, position, arXiv id, title).
SEED_TABLE = Path(__file__).parent / "data" / "roundup-2024-06-h2.tsv"
SECTIONS = ["LLM进展与基准", "RAG", "LLM微调", "LLM推理", "LLM安全与对齐"]


def seed_rows():
    with SEED_TABLE.open(encoding="utf-8") as table:
        return list(csv.DictReader(table, delimiter="\t"))


def ordered_entries(issue):
    return list(issue.entries.order_by("section__position", "position"))


def test_the_seed_issue_is_published_and_covers_the_second_half_of_june(seed):
    assert Issue.objects.published().filter(pk=seed.pk).exists()
    assert str(seed.period_start) == "2024-06-16" and str(seed.period_end) == "2024-06-30"
    assert seed.title.startswith("2024年6月后2周重要的大语言模型论文总结")
    assert seed.source_url.startswith("https://")
    assert seed.intro_html.startswith("<p>")


def test_five_sections_in_the_article_order_with_ascii_slugs(seed):
    sections = list(Section.objects.order_by("position"))
    assert [s.name for s in sections] == SECTIONS
    assert all(s.slug.isascii() and s.slug for s in sections)


def test_twenty_entries_in_the_article_order(seed):
    entries = ordered_entries(seed)
    assert len(entries) == 20
    assert [e.arxiv_id for e in entries] == [row["arxiv_id"] for row in seed_rows()]
    assert all(e.summary_html.startswith("<p>") for e in entries)
    # The Markdown survived: the summaries that list findings render real lists.
    assert sum("<ul>" in e.summary_html for e in entries) >= 3


def test_titles_and_sections_match_the_seed_table(seed):
    rows = seed_rows()
    entries = ordered_entries(seed)
    assert [(r["section"], int(r["position"]), r["arxiv_id"], r["title"]) for r in rows] == [
        (e.section.name, e.position, e.arxiv_id, e.title) for e in entries
    ]


def test_every_entry_has_two_to_five_tags_from_a_shared_vocabulary(seed):
    for entry in seed.entries.all():
        assert 2 <= entry.tags.count() <= 5, entry.title
    spanning = [
        tag
        for tag in Tag.objects.all()
        if Section.objects.filter(entries__tags=tag).distinct().count() >= 2
    ]
    assert len(spanning) >= 6


def test_bigcodebench_keeps_the_paper_figures(seed):
    summary = Entry.objects.get(arxiv_id="2406.15877").summary
    for figure in ("1,140", "139", "7", "60%", "97%"):
        assert figure in summary


def test_loading_again_changes_nothing(seed):
    def snapshot():
        return (
            list(Issue.objects.values()),
            list(Section.objects.values()),
            list(Entry.objects.order_by("pk").values()),
            list(Tag.objects.values()),
            list(TaggedEntry.objects.order_by("pk").values()),
        )

    before = snapshot()
    call_command("loaddata", "fixtures/roundup-2024-06-h2.json", verbosity=0)
    call_command("load_seed", verbosity=0)
    assert snapshot() == before


def test_load_seed_leaves_an_edited_issue_alone(seed):
    seed.title = "编辑改过的标题"
    seed.save()
    call_command("load_seed", verbosity=0)
    seed.refresh_from_db()
    assert seed.title == "编辑改过的标题"
