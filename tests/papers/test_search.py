"""Search in Chinese and English, from the index, always up to date."""

import datetime
import re
from urllib.parse import quote

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers import search
from papers.models import Entry, Issue, SearchDocument, SearchWord, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def found(client, query, **extra):
    params = "&".join([f"q={quote(query)}", *(f"{k}={quote(str(v))}" for k, v in extra.items())])
    response = client.get(f"/entries/?{params}")
    assert response.status_code == 200, query
    return response, [e.arxiv_id or e.url for e in response.context["entries"]]


# Tokens and queries ------------------------------------------------------------


def test_chinese_runs_become_bigrams_and_english_lower_case_words():
    assert search.tokens("检索增强生成 RAG") == ["检索", "索增", "增强", "强生", "生成", "rag"]
    assert search.tokens("图") == ["图"]
    assert search.tokens("LongRAG，长上下文!") == ["longrag", "长上", "上下", "下文"]
    assert search.tokens("see arXiv:2406.15877v2.") == ["arxiv240615877", "see", "arxiv"]


def test_queries_keep_phrases_and_recognise_arxiv_ids():
    parsed = search.parse_query('"long context" 幻觉 hallucination rag')
    assert [t.tokens for t in parsed.terms] == [
        ("long", "context"),
        ("幻觉",),
        ("hallucination",),
        ("rag",),
    ]
    assert [t.prefix for t in parsed.terms] == [False, False, True, False]
    assert search.parse_query("https://arxiv.org/abs/2406.15877v2").terms[0].tokens == (
        "arxiv240615877",
    )
    assert not search.parse_query("？！。,,, ...")
    assert len(search.parse_query(" ".join(["词语"] * 100)).terms) == search.MAX_QUERY_TERMS


# What readers find ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected", "unexpected"),
    [
        ("幻觉", {"2406.15927"}, set()),
        ("对齐", {"2406.15279", "2406.19227"}, {"2406.15877"}),
        ("推理", {"2406.17294"}, set()),
        ("检索增强生成", {"2406.15319", "2406.14938"}, {"2406.15877"}),
        ("hallucination", {"2406.15927"}, set()),
        ("HALLUCINATION", {"2406.15927"}, set()),
        ("rag", {"2406.15319", "2406.14972"}, {"2406.15877"}),
        ("2406.15877", {"2406.15877"}, {"2406.15319"}),
        ("arXiv:2406.15877v2", {"2406.15877"}, {"2406.15319"}),
        ("BigCodeBench 1,140", {"2406.15877"}, set()),
        # LongIns (2406.17588) is a long-context benchmark: 基准测试 is
        # benchmarking, and 长上下文 long context, by the glossary.
        ("长上下文 benchmarking", {"2406.17419", "2406.17588"}, {"2406.15319"}),
    ],
)
def test_queries_find_what_a_person_expects(client, seed, query, expected, unexpected):
    _, ids = found(client, query)
    assert expected <= set(ids), (query, ids)
    assert not unexpected & set(ids), (query, ids)


def test_a_quoted_phrase_matches_as_a_phrase(client, seed):
    _, phrase = found(client, '"long context"', exact="true")
    _, reversed_phrase = found(client, '"context long"', exact="true")
    _, words = found(client, "context long", exact="true")
    assert phrase and not reversed_phrase
    assert set(phrase) <= set(words)


def test_title_matches_rank_above_summary_matches(client, db):
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(
        issue=issue,
        section=section,
        title="Something else",
        arxiv_id="2407.00001",
        summary="这篇论文顺带提到了蒸馏。",
    )
    EntryFactory(
        issue=issue,
        section=section,
        title="Distillation for small models",
        arxiv_id="2407.00002",
        summary="关于小模型。",
    )
    _, ids = found(client, "distillation")
    assert ids == ["2407.00002"]
    EntryFactory(
        issue=issue,
        section=section,
        title="知识蒸馏的新方法",
        arxiv_id="2407.00003",
        summary="一篇关于压缩的论文。",
    )
    _, ids = found(client, "蒸馏")
    assert ids == ["2407.00003", "2407.00001"]


def test_results_are_highlighted_and_escaped(client, db):
    EntryFactory(
        issue=IssueFactory(),
        section=SectionFactory(),
        title="Hallucination <b>bold</b> probes",
        summary="<script>alert(1)</script>语义熵探针可以低成本发现**幻觉**。",
    )
    response, _ = found(client, "幻觉 hallucination")
    html = response.content.decode()
    assert "<mark>Hallucination</mark> &lt;b&gt;bold&lt;/b&gt; probes" in html
    assert "<mark>幻觉</mark>" in html
    assert "<script>alert(1)" not in html


def test_search_combines_with_filters_and_shows_facets(client, seed):
    response, ids = found(client, "对齐", section="safety-alignment")
    assert ids and all(
        Entry.objects.get(arxiv_id=i).section.slug == "safety-alignment" for i in ids
    )
    response, ids = found(client, "对齐")
    sections = {name: n for name, n, _ in response.context["section_facets"]}
    assert sum(sections.values()) == len(ids) and set(sections) == {
        Entry.objects.get(arxiv_id=i).section.name for i in ids
    }
    assert dict((y, n) for y, n, _ in response.context["year_facets"]) == {2024: len(ids)}
    tag_counts = {tag.name: tag.entry_count for tag, _ in response.context["narrowing_tags"]}
    assert tag_counts["对齐"] == Entry.objects.filter(arxiv_id__in=ids, tags__name="对齐").count()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "图",
        "长" * 1_000,
        "？！。、……",
        "'\"*:()^-+",
        "a" * 199,
        '" unbalanced',
        "AND OR NOT NEAR",
        "*",
        "幻觉*",
    ],
)
def test_odd_queries_get_a_sensible_answer(client, seed, query):
    response = client.get(f"/entries/?q={quote(query)}")
    assert response.status_code == 200


def test_punctuation_only_says_why_nothing_is_found(client, seed):
    response, ids = found(client, "？！。")
    assert ids == [] and "没有可以检索的文字" in response.content.decode()


# Always up to date ----------------------------------------------------------------


def test_edits_deletions_and_retagging_reach_the_index(client, db):
    issue, section = IssueFactory(), SectionFactory(name="旧栏目名")
    entry = EntryFactory(
        issue=issue,
        section=section,
        title="Original title",
        arxiv_id="2407.10001",
        summary="最初的摘要",
        tags=["最初标签"],
    )
    assert found(client, "original")[1] == ["2407.10001"]
    entry.title = "Rewritten title"
    entry.save()
    assert found(client, "original")[1] == [] and found(client, "rewritten")[1] == ["2407.10001"]
    entry.tags.set(["改过的标签"])
    assert found(client, "最初标签", exact="true")[1] == []
    assert found(client, "改过的标签", exact="true")[1] == ["2407.10001"]
    Tag.objects.filter(name="改过的标签").update(name="x")  # update() skips signals...
    tag = Tag.objects.get(name="x")
    tag.name = "重命名标签"
    tag.save()  # ...save() reindexes
    assert found(client, "重命名标签")[1] == ["2407.10001"]
    section.name = "新栏目名"
    section.save()
    assert found(client, "新栏目名")[1] == ["2407.10001"]
    tag.delete()
    assert found(client, "重命名标签")[1] == []
    entry.delete()
    assert found(client, "rewritten")[1] == []


def test_only_published_entries_are_found_and_publishing_is_followed(
    client, db, monkeypatch, settings
):
    settings.PAGE_CACHE = False  # the search itself (the cache: tests/reading/test_page_cache.py)
    draft = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(
        issue=draft, section=SectionFactory(), title="Secret draft paper", arxiv_id="2407.20001"
    )
    assert found(client, "secret")[1] == []
    draft.publish()
    assert found(client, "secret")[1] == ["2407.20001"]
    draft.unpublish()
    assert found(client, "secret")[1] == []
    draft.publish(when=timezone.now() + datetime.timedelta(hours=1))
    assert found(client, "secret")[1] == []
    later = timezone.now() + datetime.timedelta(hours=2)  # the scheduled time comes
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert found(client, "secret")[1] == ["2407.20001"]


def test_the_fixture_is_searchable_right_after_loading(seed):
    assert SearchDocument.objects.count() == Entry.objects.count() == 20
    doc = SearchDocument.objects.get(entry__arxiv_id="2406.15927")
    assert "幻觉" in doc.keywords.split() and "semantic" in doc.title.split()


def test_search_reads_the_index_not_the_table(seed):
    with CaptureQueriesContext(connection) as window_queries:
        entries = search.search(Entry.objects.published(), search.parse_query("幻觉"))
    sql, params = entries.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # With four rows the planner may start from the issues; what must
            # hold is that nothing scans a table (the results, and the
            # queries that found the window) and that the text match can be
            # answered from the GIN index.
            cursor.execute("SET LOCAL enable_seqscan = off")
            found_window = [query["sql"] for query in window_queries.captured_queries]
            assert found_window
            for query in [*found_window, cursor.mogrify(sql, params)]:
                cursor.execute(f"EXPLAIN {query}")
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert "Seq Scan" not in plan, plan
            matching = SearchDocument.objects.filter(
                vector=SearchQuery("幻觉", config="simple", search_type="raw")
            ).values("pk")
            match_sql, match_params = matching.query.sql_with_params()
            cursor.execute(f"EXPLAIN {match_sql}", match_params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "papers_searchdocument_vector_gin" in plan, plan
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan, plan
            assert "SCAN papers_entry" not in plan, plan


def test_rebuild_command_catches_up_after_bulk_updates(client, db):
    from io import StringIO

    from django.core.management import call_command

    EntryFactory(
        issue=IssueFactory(), section=SectionFactory(), title="Before", arxiv_id="2407.30001"
    )
    Entry.objects.update(title="Bulk renamed")  # update() sends no signals
    assert found(client, "renamed")[1] == []
    out = StringIO()
    call_command("rebuild_search_index", stdout=out)
    assert out.getvalue().strip() == "Indexed 1 entries."
    assert found(client, "renamed")[1] == ["2407.30001"]


def test_the_index_follows_edits_after_a_rebuild(client, db):
    """A rebuild replaces every document in bulk (on SQLite with the FTS5
    triggers dropped meanwhile): afterwards the index agrees with the documents
    and new entries and deletions reach it again."""
    section = SectionFactory()
    old = EntryFactory(
        issue=IssueFactory(), section=section, title="Kept before", arxiv_id="2407.30011"
    )
    assert search.rebuild_index() == 1
    new = EntryFactory(
        issue=IssueFactory(), section=section, title="Added after", arxiv_id="2407.30012"
    )
    old.delete()
    assert found(client, "added")[1] == ["2407.30012"] and found(client, "kept")[1] == []
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # raises if the index holds the deleted entry
            cursor.execute(
                "INSERT INTO papers_searchdocument_fts(papers_searchdocument_fts, "
                "rank) VALUES ('integrity-check', 1)"
            )
    else:
        assert list(
            SearchDocument.objects.filter(vector=SearchQuery("added", config="simple")).values_list(
                "entry_id", flat=True
            )
        ) == [new.pk]


# The ranking window --------------------------------------------------------------


def test_a_query_with_many_matches_ranks_the_newest_window_of_them(client, db, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_WINDOW", 3)
    issue, section = IssueFactory(), SectionFactory()
    # Added oldest first, as an archive grows.
    added = [
        EntryFactory(
            issue=issue,
            section=section,
            position=n,
            arxiv_id=f"2407.{40000 + n}",
            title=f"Paper {n}",
            summary="关于对齐的研究。",
        )
        for n in range(1, 6)
    ]
    response, ids = found(client, "对齐")
    assert sorted(ids) == sorted(e.arxiv_id for e in added[-3:])
    assert response.context["paginator"].count == 3
    assert response.context["search_window_full"] is True
    assert "这里按相关度列出最新的 3 篇" in response.content.decode()
    # Within the window, relevance orders: a title match first.
    added[3].title = "对齐 matters"
    added[3].save()
    assert found(client, "对齐")[1][0] == added[3].arxiv_id


def test_the_window_is_taken_after_the_other_filters(client, db, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_WINDOW", 2)
    issue, section = IssueFactory(), SectionFactory()
    tagged = EntryFactory(
        issue=issue,
        section=section,
        position=1,
        arxiv_id="2407.50001",
        summary="对齐的老论文。",
        tags=["安全"],
    )
    for n in range(2, 6):
        EntryFactory(
            issue=issue,
            section=section,
            position=n,
            arxiv_id=f"2407.5000{n}",
            summary="对齐的新论文。",
        )
    response, ids = found(client, "对齐", tag="安全")
    assert ids == [tagged.arxiv_id]
    assert response.context["search_window_full"] is False
    assert "这里按相关度列出最新的" not in response.content.decode()


def test_drafts_do_not_take_places_in_the_window(client, db, monkeypatch):
    monkeypatch.setattr(search, "SEARCH_WINDOW", 2)
    section = SectionFactory()
    public = IssueFactory()
    older = [
        EntryFactory(
            issue=public,
            section=section,
            position=n,
            arxiv_id=f"2407.6000{n}",
            summary="幻觉检测。",
        )
        for n in (1, 2)
    ]
    draft = IssueFactory(status=Issue.Status.DRAFT)
    for n in (3, 4, 5):
        EntryFactory(
            issue=draft, section=section, position=n, arxiv_id=f"2407.6000{n}", summary="幻觉检测。"
        )
    assert sorted(found(client, "幻觉")[1]) == sorted(e.arxiv_id for e in older)


# PostgreSQL: the window found range by range -------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the window by id ranges is PostgreSQL's"
)


@postgres_only
def test_postgres_asks_the_index_for_a_range_through_its_id_blocks(
    db, monkeypatch, django_assert_num_queries
):
    """The first range (two ids here) finds one match; the next is sized to
    hold the two still missing, and the GIN index is asked for the matches
    in the id blocks (of three ids here) that range covers. A range longer
    than BLOCKED_SPAN_MAX (one only a rare query reaches, the whole archive
    at the longest) is asked without them: the index would test every
    document of its blocks. The results know their count."""
    monkeypatch.setattr(search, "SEARCH_WINDOW", 3)
    monkeypatch.setattr(search, "FIRST_SPAN", 2)
    monkeypatch.setattr(search, "ID_BLOCK", 3)
    issue, section = IssueFactory(), SectionFactory()
    added = [
        EntryFactory(
            issue=issue,
            section=section,
            position=n,
            summary="关于对齐的研究。" if n % 3 == 0 else "别的研究。",
        )
        for n in range(1, 13)
    ]
    newest = added[-1].pk
    with connection.cursor() as cursor:  # each vector holds its block
        cursor.execute(
            "SELECT vector @@ %s::tsquery FROM papers_searchdocument WHERE entry_id = %s",
            [f"'~{newest // 3}'", newest],
        )
        assert cursor.fetchone() == (True,)
    with CaptureQueriesContext(connection) as queries:
        results = search.search(Entry.objects.published(), search.parse_query("对齐"))
    ranges = [q["sql"] for q in queries.captured_queries if "@@" in q["sql"]]
    second = added[5].pk, added[10].pk  # the ids of n = 6 to 10
    assert len(ranges) == 2 and search._blocks(*second).replace("'", "''") in ranges[1], ranges
    with django_assert_num_queries(0):
        assert results.count() == 3
    assert sorted(e.pk for e in results) == [added[n - 1].pk for n in (6, 9, 12)]

    monkeypatch.setattr(search, "BLOCKED_SPAN_MAX", 4)  # the second range has 5 ids
    with CaptureQueriesContext(connection) as queries:
        results = search.search(Entry.objects.published(), search.parse_query("对齐"))
    ranges = [q["sql"] for q in queries.captured_queries if "@@" in q["sql"]]
    assert len(ranges) == 2 and "~" in ranges[0] and "~" not in ranges[1], ranges
    assert sorted(e.pk for e in results) == [added[n - 1].pk for n in (6, 9, 12)]

    monkeypatch.setattr(search, "FIRST_SPAN", 10**6)
    with CaptureQueriesContext(connection) as queries:
        search.search(Entry.objects.published(), search.parse_query("对齐"))
    (everything,) = [q["sql"] for q in queries.captured_queries if "@@" in q["sql"]]
    assert "~" not in everything, everything


@postgres_only
@pytest.mark.parametrize(
    ("query", "matches", "relax"),
    [
        ("幻觉", lambda summary: "幻觉" in summary, False),
        ("幻觉检测", lambda summary: "幻觉检测" in summary, False),
        ("幻觉检测", lambda summary: "幻觉" in summary and "检测" in summary, True),
        ("hallu", lambda summary: re.search(r"\bhallu", summary), False),
        ("幻觉 -检测", lambda summary: "幻觉" in summary and "检测" not in summary, False),
        ('幻觉 -"觉检"', lambda summary: "幻觉" in summary and "觉检" not in summary, False),
    ],
    ids=["a word", "a phrase", "words apart", "a prefix", "a word excluded", "a phrase excluded"],
)
@pytest.mark.parametrize("id_block", [1, 4, 1000])
def test_postgres_window_is_the_newest_matches_however_the_ranges_fall(
    db, monkeypatch, query, matches, relax, id_block
):
    """Whatever the window's size, the first range, the blocks of ids (and
    whether a range is asked through them) and the way a prefix is asked
    for, the window holds the newest public
    matches: drafts take no place, a run without matches is crossed, a
    document holding a phrase's bigrams apart does not match the phrase, and
    a prefix finds every word it begins."""
    monkeypatch.setattr(search, "ID_BLOCK", id_block)  # before the vectors are written
    section = SectionFactory()
    public, draft = IssueFactory(), IssueFactory(status=Issue.Status.DRAFT)
    summaries = [
        "幻觉检测 hallucination。",
        "对齐方法 alignment。",
        "检测幻觉，觉检 hallucinations。",
        "别的 other。",
        "幻觉与对齐 hallu。",
        "别的 shallow。",
    ]
    expected = []
    for n in range(1, 46):
        summary = summaries[n % len(summaries)] if n < 30 or n > 40 else "别的。"
        entry = EntryFactory(
            issue=draft if n % 7 == 0 else public, section=section, position=n, summary=summary
        )
        if matches(summary) and n % 7:
            expected.append(entry.pk)
    expected.reverse()  # newest first
    parsed = search.parse_query(query, relax=relax)  # relaxed: its phrase finds too few
    for window in (1, 3, 10, 50):
        for first_span in (1, 2, 5, 1500):
            for prefix_words_max, blocked_span_max in ((64, 10**9), (1, 6)):
                monkeypatch.setattr(search, "SEARCH_WINDOW", window)
                monkeypatch.setattr(search, "FIRST_SPAN", first_span)
                monkeypatch.setattr(search, "PREFIX_WORDS_MAX", prefix_words_max)
                monkeypatch.setattr(search, "BLOCKED_SPAN_MAX", blocked_span_max)
                results = search.search(Entry.objects.published(), parsed)
                assert sorted((e.pk for e in results), reverse=True) == expected[:window], (
                    window,
                    first_span,
                    prefix_words_max,
                    blocked_span_max,
                )
                assert results.count() == len(expected[:window])


def test_the_index_is_handed_the_words_a_prefix_begins(db, monkeypatch):
    """The words of the documents are collected as they are written
    (inserted or updated), and the full-text index is asked for those a
    prefix begins (the GIN index; FTS5, where a glossary form's phrase ends
    in them too); past PREFIX_WORDS_MAX of them, for the prefix."""
    issue, section = IssueFactory(), SectionFactory()
    first = EntryFactory(issue=issue, section=section, title="Hallucinations of LLMs")
    second = EntryFactory(issue=issue, section=section, title="Not yet")
    second.title = "A hallucination benchmark"
    second.save()
    EntryFactory(issue=issue, section=section, title="Something else")
    words = set(SearchWord.objects.values_list("word", flat=True))
    assert {"hallucinations", "hallucination", "benchmark", "llms"} <= words
    assert not {"of", "not", "yet", "幻觉"} & words  # short words, Chinese bigrams
    assert not any(word.startswith("~") for word in words)  # nor the id blocks

    postgres = connection.vendor == "postgresql"

    def index_query(query, glossary=None, found=(first, second)):
        with CaptureQueriesContext(connection) as queries:
            parsed = search.parse_query(query, glossary)
            results = list(search.search(Entry.objects.published(), parsed))
        assert {e.pk for e in results} == {e.pk for e in found}
        mark = "@@" if postgres else " MATCH "
        sql = "\n".join(q["sql"] for q in queries.captured_queries if mark in q["sql"])
        return sql.replace("''", "'")

    sql = index_query("hallucination")
    if postgres:
        assert "'hallucinations'" in sql and ":*" not in sql, sql
    else:
        assert '"hallucinations"' in sql and "*" not in sql, sql
    # A glossary form's phrase ends in the words too (FTS5 reads a phrase's
    # prefix across the whole index).
    sql = index_query("幻觉", {"幻觉": ["幻觉", "a hallucination"]}, found=[second])
    if postgres:  # the GIN index is asked for its tokens (it keeps no positions)
        assert re.search(r"'a' & \('hallucinations?' \| 'hallucinations?'\)", sql), sql
    else:
        assert re.search(r'\("a hallucinations?" OR "a hallucinations?"\)', sql), sql
    monkeypatch.setattr(search, "PREFIX_WORDS_MAX", 1)
    sql = index_query("hallucination")
    assert ("'hallucination':*" if postgres else '"hallucination"*') in sql, sql


@postgres_only
def test_postgres_keeps_each_vector_in_its_row_and_the_texts_out_of_it(db):
    """Testing a vector in the row costs a third of reading it back from
    TOAST; search's small queries start no parallel workers
    (papers/migrations/0008_search_vector_inline.py)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstorage FROM pg_attribute "
            "WHERE attrelid = 'papers_searchdocument'::regclass "
            "AND attname IN ('title', 'keywords', 'body', 'vector')"
        )
        external, main = "e", "m"
        assert dict(cursor.fetchall()) == {
            "title": external,
            "keywords": external,
            "body": external,
            "vector": main,
        }
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'papers_searchdocument'::regclass"
        )
        assert {"toast_tuple_target=128", "parallel_workers=0"} <= set(cursor.fetchone()[0])
