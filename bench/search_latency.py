"""Search latency on a large generated archive, on SQLite or PostgreSQL.

Run from the project folder (docs/search-benchmark.md has the figures)::

    .venv/bin/python bench/search_latency.py --entries 100000 --database sqlite
    .venv/bin/python bench/search_latency.py --entries 100000 --database postgres
    .venv/bin/python bench/search_latency.py --fixture --database sqlite   # the seed's 20

The script uses its own databases only and makes them afresh: SQLite at
/tmp/bench-search.sqlite3, PostgreSQL ``bench_search`` on 127.0.0.1:5432
(dropped and created again). It migrates, generates an archive of synthetic
Chinese summaries with bulk inserts (signals do not fire on ``bulk_create``,
so the search documents are written in bulk too, with the same tokeniser the
site uses), then times each query of ``QUERIES`` three ways:

- ``count``: how many public entries match, as the paginator asks;
- ``page``: the first 20 best-ranked results as the entries page fetches them
  (``search.search(Entry.objects.published().for_listing(), ...)[:20]``);
- ``view``: the whole ``/entries/?q=`` page through Django's test client,
  DEBUG off (with its facet counts, highlighted snippets and template).

Each is run once to warm up and then ``--repeat`` times (the whole page
``--view-repeat`` times: at 100,000 entries one page of a common word takes
seconds); p50 and p95 in ms. The target is a search (count and first page)
under 50 ms at p95. ``--reuse`` times the archive an earlier run left without
making it again; ``--json`` writes every figure to a file.
"""

import argparse
import bisect
import html
import itertools
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SQLITE_PATH = Path("/tmp/bench-search.sqlite3")
POSTGRES_DB = "bench_search"
POSTGRES_URL = f"postgres://postgres@127.0.0.1:5432/{POSTGRES_DB}"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STATIC_ROOT = Path("/tmp/bench-search-static")
BATCH = 5000
TARGET_MS = 50

# What readers type: common and rare terms, short and long Chinese, English,
# an arXiv id, a quoted phrase, a mixed query.
QUERIES = [
    ("模型", "most common Chinese word"),
    ("推理", "common two-character Chinese"),
    ("对齐", "two-character Chinese"),
    ("幻觉", "two-character Chinese"),
    ("检索增强生成", "longer Chinese (a phrase of 5 bigrams)"),
    ("联邦学习", "less common Chinese"),
    ("甲骨文", "rare Chinese (three characters)"),
    ("hallucination", "English, prefix match"),
    ("rag", "English, short word"),
    ("2406.15877", "arXiv id"),
    ('"long context"', "quoted phrase"),
    ("长上下文 RAG", "mixed Chinese and English"),
    ("幻觉 hallucination benchmark", "mixed, three terms"),
]
EXPLAIN_QUERY = "幻觉"
# A paper the generated archive covers in several issues (as the seed does once).
KNOWN_ARXIV_ID = "2406.15877"

# -- Vocabulary, most frequent first (drawn with a Zipf-like skew) -------------

CHINESE_TERMS = [
    "模型", "数据", "训练", "推理", "生成", "大模型", "基准", "评测", "微调", "注意力",
    "对齐", "检索", "指令", "幻觉", "增强", "长上下文", "安全", "多模态", "智能体", "偏好",
    "奖励模型", "强化学习", "蒸馏", "专家", "思维链", "代码", "数学", "知识", "解码",
    "检索增强生成", "压缩", "量化", "稀疏", "越狱", "红队", "评委", "视觉", "语音",
    "工具调用", "规划", "记忆", "提示", "鲁棒性", "可解释性", "偏见", "隐私", "水印",
    "剪枝", "合成数据", "课程学习", "持续学习", "具身智能", "蛋白质", "分子", "医疗",
    "法律", "金融", "教育", "低资源语言", "机器翻译", "表格", "图神经网络", "知识图谱",
    "因果推断", "不确定性", "校准", "遗忘", "版权", "能耗", "联邦学习",
]
ENGLISH_TERMS = [
    "LLM", "RAG", "benchmark", "MoE", "hallucination", "Transformer", "RLHF", "DPO",
    "LoRA", "chain-of-thought", "long context", "GPT-4", "Llama", "agent", "KV cache",
    "tokenizer", "in-context learning", "scaling law", "red teaming", "hallucinations",
    "reward model", "speculative decoding", "multimodal", "jailbreak", "watermark",
]
SENTENCES = [
    "本文提出一种面向{a}的{b}框架，在{c}上显著优于现有方法。",
    "作者发现{a}与{b}之间存在明显关联，在 {e} 场景下尤为突出。",
    "实验覆盖 {n} 个{a}基准，结果表明{b}能够有效缓解{c}问题。",
    "研究团队构建了新的{a}数据集，用于评估 {e} 的{b}能力。",
    "通过引入{a}机制，模型在{b}任务上的准确率提升了 {n}%。",
    "该方法无需额外的{a}，即可在{b}阶段降低{c}的开销。",
    "论文还讨论了{a}带来的{b}风险，并给出关于{c}的建议。",
    "在 {e} 与 {f} 的对比中，{a}表现出更强的{b}。",
    "与 arXiv:{x} 相比，该工作在{a}和{b}方面更进一步。",
    "消融实验显示，{a}对{b}的贡献最大，而{c}的作用有限。",
    "代码与 {e} 权重均已开源，便于复现{a}实验。",
]
TITLE_VERBS = [
    "Mitigating", "Scaling", "Rethinking", "Benchmarking", "Understanding", "Improving",
    "Evaluating", "Towards", "Efficient", "Aligning", "Probing", "Revisiting", "Learning",
]
TITLE_TOPICS = [
    "Hallucination", "Long Context", "RAG", "Reasoning", "Alignment", "Jailbreak Defense",
    "Mixture-of-Experts", "Instruction Tuning", "Preference Optimization", "Distillation",
    "KV Cache Compression", "Tool Use", "Multimodal Models", "LLM Agents", "Code Generation",
    "Math Reasoning", "Reward Models", "Speculative Decoding", "Red Teaming", "Retrieval",
]
TITLE_TAILS = [
    "in Large Language Models", "with Retrieval-Augmented Generation", "at Scale",
    "via Self-Reflection", "for Long Context Understanding", "under Distribution Shift",
    ": A Benchmark", ": An Empirical Study", "without Human Labels", "with Sparse Attention",
]
SURNAMES = ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
            "Smith", "Kim", "Nguyen", "Müller", "Garcia", "Sato", "Patel", "Brown"]
GIVEN = ["Wei", "Yu", "Jun", "Xin", "Hao", "Lei", "Ming", "Yan", "Anna", "David", "Sara",
         "Tom", "Ravi", "Yuki", "Lukas", "Maria", "Ji-woo", "Omar"]
# Rare words: one summary in a thousand gets one of them.
RARE_SENTENCES = ["该方法也被用于甲骨文识别。", "作者还在量子纠错任务上做了验证。",
                  "附录给出了古籍修复的案例。"]
SECTIONS = [
    ("LLM进展与基准", "progress-benchmarks"),
    ("RAG", "rag"),
    ("LLM微调", "fine-tuning"),
    ("LLM推理", "reasoning"),
    ("LLM安全与对齐", "safety-alignment"),
]
TAG_SUFFIXES = ["", "评测", "方法", "数据集", "检测", "优化", "攻击", "防御", "理论", "应用",
                "效率", "分析", "框架", "综述", "基准"]
ENGLISH_TAG_SUFFIXES = ["", " eval", " method", " dataset", " theory", " efficiency"]


def zipf_sampler(items, rng, s=1.0):
    """A function drawing one item, the item of rank r with weight 1 / r**s."""
    cumulative = list(itertools.accumulate(1 / (r + 1) ** s for r in range(len(items))))
    total = cumulative[-1]
    return lambda: items[bisect.bisect(cumulative, rng.random() * total)]


# -- Set-up -------------------------------------------------------------------


def configure(database):
    """Point Django at the benchmark's database, DEBUG off, before setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "digestsite.settings"
    os.environ["DATABASE_URL"] = (
        f"sqlite:///{SQLITE_PATH}" if database == "sqlite" else POSTGRES_URL
    )
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SECRET_KEY"] = "bench-search-latency-not-a-secret"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def fresh_database(database):
    if database == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {POSTGRES_DB}")


def prepare_static():
    """Production serves hashed static names from a manifest: collect them to /tmp
    (not the project's staticfiles/) so pages render with DEBUG off."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    override_settings(STATIC_ROOT=str(STATIC_ROOT)).enable()
    call_command("collectstatic", interactive=False, verbosity=0)


def progress(message, started=None):
    elapsed = f" [{time.perf_counter() - started:6.1f} s]" if started else ""
    print(f"  {message}{elapsed}", flush=True)


# -- The archive -----------------------------------------------------------------


class Archive:
    """Deterministic synthetic content (same seed, same archive)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.chinese = zipf_sampler(CHINESE_TERMS, self.rng, s=1.2)
        self.english = zipf_sampler(ENGLISH_TERMS, self.rng, s=1.0)
        self.arxiv_ids = []

    def arxiv_id(self):
        rng = self.rng
        if self.arxiv_ids and rng.random() < 0.02:  # a paper covered again
            return rng.choice(self.arxiv_ids)
        year, month = rng.randint(23, 25), rng.randint(1, 12)
        new = f"{year:02d}{month:02d}.{rng.randint(1, 19999):05d}"
        self.arxiv_ids.append(new)
        return new

    def summary(self, target=300):
        rng, parts, length = self.rng, [], 0
        while length < target:
            sentence = rng.choice(SENTENCES).format(
                a=self.chinese(), b=self.chinese(), c=self.chinese(),
                e=self.english(), f=self.english(), n=rng.randint(2, 60),
                x=rng.choice(self.arxiv_ids) if self.arxiv_ids else KNOWN_ARXIV_ID,
            )
            parts.append(sentence)
            length += len(sentence)
        if rng.random() < 0.001:
            parts.insert(rng.randrange(len(parts)), rng.choice(RARE_SENTENCES))
        return "".join(parts)

    def title(self):
        rng = self.rng
        tail = rng.choice(TITLE_TAILS)
        joiner = "" if tail.startswith(":") else " "
        return f"{rng.choice(TITLE_VERBS)} {rng.choice(TITLE_TOPICS)}{joiner}{tail}"

    def authors(self):
        names = [
            f"{self.rng.choice(GIVEN)} {self.rng.choice(SURNAMES)}"
            for _ in range(self.rng.randint(2, 5))
        ]
        return ", ".join(names)

    def tag_names(self, count):
        """``count`` distinct tag names (ignoring case), most used first."""
        names, seen = [], set()
        candidates = itertools.chain(
            CHINESE_TERMS, ENGLISH_TERMS,
            (t + s for s in TAG_SUFFIXES for t in CHINESE_TERMS),
            (t + s for s in ENGLISH_TAG_SUFFIXES for t in ENGLISH_TERMS),
            (a + b for a in CHINESE_TERMS for b in CHINESE_TERMS if a != b),
        )
        for name in candidates:
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
            if len(names) == count:
                break
        head, tail = names[:60], names[60:]
        self.rng.shuffle(tail)  # the combinations' ranks at random
        return head + tail


def generate(entries_wanted, seed, sqlite_fts):
    from django.db import connection, transaction
    from django.utils.text import slugify

    from papers import search
    from papers.markdown import render_markdown
    from papers.models import Entry, Issue, SearchDocument, Section, Tag, TaggedEntry

    archive, rng = Archive(seed), random.Random(seed + 1)
    started = time.perf_counter()
    timings = {}
    step = time.perf_counter()

    # Issues: one per 100 entries, biweekly, newest ending 2025-06-30. Every
    # 100th is a draft and the newest is scheduled for the future, so the
    # published() filter has something to exclude.
    n_issues = max(1, entries_wanted // 100)
    issues = []
    newest_end = date(2025, 6, 30)
    for i in range(n_issues):
        end = newest_end - timedelta(days=14 * i)
        start = end - timedelta(days=13)
        status, published_at = Issue.Status.PUBLISHED, datetime(
            end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1, hours=9)
        if i == 0:
            status, published_at = Issue.Status.SCHEDULED, datetime(2099, 1, 1, tzinfo=UTC)
        elif i % 100 == 50:
            status, published_at = Issue.Status.DRAFT, None
        issues.append(Issue(
            title=f"{end.year}年{end.month}月第{i}期重要的大语言模型论文总结",
            slug=f"bench-{i:06d}", period_start=start, period_end=end,
            intro="本期汇总值得关注的大语言模型论文。",
            intro_html="<p>本期汇总值得关注的大语言模型论文。</p>",
            status=status, published_at=published_at,
        ))
    with transaction.atomic():
        Issue.objects.bulk_create(issues, batch_size=BATCH)
        sections = Section.objects.bulk_create(
            Section(name=name, slug=slug, position=10 * (i + 1))
            for i, (name, slug) in enumerate(SECTIONS)
        )
    issues = list(Issue.objects.order_by("pk"))
    progress(f"{len(issues)} issues, {len(sections)} sections", started)

    tag_names = archive.tag_names(2000)
    slugs = set()
    tags = []
    for name in tag_names:
        slug = slugify(name, allow_unicode=True) or "tag"
        while slug in slugs:
            slug += "-x"
        slugs.add(slug)
        tags.append(Tag(name=name, slug=slug))
    Tag.objects.bulk_create(tags, batch_size=BATCH)
    tags = {t.name: t for t in Tag.objects.all()}
    tags = [tags[name] for name in tag_names]
    draw_tag = zipf_sampler(tags, rng, s=1.0)
    progress(f"{len(tags)} tags", started)
    timings["issues, sections, tags"] = time.perf_counter() - step

    # Entries, built in memory then inserted in batches.
    step = time.perf_counter()
    entries, entry_tags = [], []
    known_left = 3  # KNOWN_ARXIV_ID appears in three issues
    for i in range(entries_wanted):
        issue = issues[i // 100 % len(issues)]
        section = sections[(i % 100) * len(sections) // 100]
        position = (i % 100) % (100 // len(sections)) + 1
        arxiv_id = archive.arxiv_id()
        if known_left and i % 100 == 7 and i // 100 in (3, 40, 400):
            arxiv_id, known_left = KNOWN_ARXIV_ID, known_left - 1
        summary = archive.summary()
        entries.append(Entry(
            issue=issue, section=section, position=position, title=archive.title(),
            arxiv_id=arxiv_id, authors=archive.authors(), summary=summary,
            # What render_markdown makes of one plain paragraph (checked below):
            # rendering 100,000 summaries through Markdown would take a minute.
            summary_html=f"<p>{html.escape(summary, quote=False)}</p>",
        ))
        chosen = {}
        for _ in range(rng.randint(2, 5)):
            tag = draw_tag()
            chosen[tag.pk] = tag
        entry_tags.append(sorted(chosen.values(), key=lambda t: t.name))
    for entry in entries[:200]:
        assert entry.summary_html == render_markdown(entry.summary), entry.summary
    progress(f"{len(entries)} entries made in memory", started)
    timings["entry text"] = time.perf_counter() - step

    step = time.perf_counter()
    with transaction.atomic():
        for start in range(0, len(entries), BATCH):
            Entry.objects.bulk_create(entries[start:start + BATCH], batch_size=BATCH)
        progress(f"{len(entries)} entries inserted", started)
    timings["insert entries"] = time.perf_counter() - step

    step = time.perf_counter()
    links = [
        TaggedEntry(content_object_id=entry.pk, tag_id=tag.pk)
        for entry, chosen in zip(entries, entry_tags, strict=True) for tag in chosen
    ]
    with transaction.atomic():
        for start in range(0, len(links), BATCH):
            TaggedEntry.objects.bulk_create(links[start:start + BATCH], batch_size=BATCH)
    progress(f"{len(links)} tag links inserted", started)
    timings["insert tag links"] = time.perf_counter() - step

    # Search documents: what papers.search.document_for writes, from memory.
    step = time.perf_counter()
    documents = [
        SearchDocument(
            entry_id=entry.pk,
            title=search.document_text(entry.title),
            keywords=search.document_text(" ".join(
                [*(t.name for t in chosen), entry.section.name, entry.authors, entry.arxiv_id]
            )),
            body=search.document_text(entry.summary),
        )
        for entry, chosen in zip(entries, entry_tags, strict=True)
    ]
    progress(f"{len(documents)} search documents tokenised", started)
    timings["tokenise documents"] = time.perf_counter() - step

    step = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        trigger_sql = None
        if connection.vendor == "sqlite" and sqlite_fts == "rebuild":
            cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name = 'papers_searchdocument_ai'"
            )
            (trigger_sql,) = cursor.fetchone()
            cursor.execute("DROP TRIGGER papers_searchdocument_ai")
        for start in range(0, len(documents), BATCH):
            SearchDocument.objects.bulk_create(documents[start:start + BATCH], batch_size=BATCH)
        progress(f"{len(documents)} search documents inserted", started)
        timings["insert search documents"] = time.perf_counter() - step
        step = time.perf_counter()
        if trigger_sql:
            cursor.execute(
                "INSERT INTO papers_searchdocument_fts(papers_searchdocument_fts) "
                "VALUES ('rebuild')"
            )
            cursor.execute(trigger_sql)
            progress("FTS5 index rebuilt", started)
            timings["FTS5 rebuild"] = time.perf_counter() - step
        if connection.vendor == "postgresql":
            SearchDocument.objects.update(vector=search.postgres_vector())
            progress("tsvectors computed", started)
            timings["tsvector update"] = time.perf_counter() - step

    step = time.perf_counter()
    with connection.cursor() as cursor:  # fresh statistics, as autovacuum would give
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    timings["analyze"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    progress(f"generated in {timings['total']:.1f} s", started)

    sample = [entry.pk for entry in entries[:50]]
    for entry in Entry.objects.select_related("section").filter(pk__in=sample):
        stored = SearchDocument.objects.get(entry=entry)
        expected = search.document_for(entry)
        assert (stored.title, stored.body) == (expected["title"], expected["body"]), entry.pk
        assert sorted(stored.keywords.split()) == sorted(expected["keywords"].split()), entry.pk
    return timings


def load_fixture():
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("load_seed", verbosity=0)  # signals index every entry
    return {"total": time.perf_counter() - started}


# -- Timing ------------------------------------------------------------------------


def percentile(samples, p):
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(function, repeat):
    result = function()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        samples.append((time.perf_counter() - started) * 1000)
    return result, {
        "p50": statistics.median(samples), "p95": percentile(samples, 95),
        "min": min(samples), "max": max(samples),
    }


def measure(repeat, view_repeat):
    from django.test import Client

    from papers import search
    from papers.models import Entry

    client = Client()
    count_pattern = re.compile(r"共 (\d+) 篇论文")
    results = []
    for query, what in QUERIES:
        parsed = search.parse_query(query)

        def count(parsed=parsed):
            return search.search(Entry.objects.published(), parsed).count()

        def page(parsed=parsed):
            return list(search.search(Entry.objects.published().for_listing(), parsed)[:20])

        def view(query=query):
            response = client.get("/entries/", {"q": query})
            assert response.status_code == 200, response.status_code
            return response

        matches, count_ms = timed(count, repeat)
        first_page, page_ms = timed(page, repeat)
        response, view_ms = timed(view, view_repeat)
        shown = count_pattern.search(response.content.decode())
        assert shown and int(shown.group(1)) == matches, (query, matches, shown)
        assert len(first_page) == min(20, matches)
        row = {
            "query": query, "what": what, "matches": matches,
            "count": count_ms, "page": page_ms, "view": view_ms,
        }
        results.append(row)
        print(
            f"  {query:<30} {matches:>7} matches  count p50 {count_ms['p50']:7.1f} "
            f"p95 {count_ms['p95']:7.1f}  page p50 {page_ms['p50']:7.1f} "
            f"p95 {page_ms['p95']:7.1f}  view p50 {view_ms['p50']:7.1f} "
            f"p95 {view_ms['p95']:7.1f} ms",
            flush=True,
        )
    return results


def explain(query):
    """The plans of the first-page query and of the paginator's count query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from papers import search
    from papers.models import Entry

    parsed = search.parse_query(query)
    postgres = connection.vendor == "postgresql"
    page = search.search(Entry.objects.published().for_listing(), parsed)[:20]
    plans = {"page": page.explain(**({"analyze": True, "buffers": True} if postgres else {}))}
    with CaptureQueriesContext(connection) as captured:
        search.search(Entry.objects.published(), parsed).count()
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + captured.captured_queries[-1]["sql"])
        rows = cursor.fetchall()
    plans["count"] = "\n".join(" ".join(str(value) for value in row) for row in rows)
    return plans


# -- Report --------------------------------------------------------------------------


def environment():
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        (db_version,) = cursor.fetchone()
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )
    memory = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
         if line.startswith("MemTotal")), "?",
    )
    return {
        "cpu": cpu, "nproc": os.cpu_count(), "memory": memory,
        "python": platform.python_version(), "django": django.get_version(),
        "database": f"{connection.vendor} {db_version}",
        "load average": " ".join(f"{load:.2f}" for load in os.getloadavg()),
    }


def markdown_table(results):
    """The figures as a Markdown table; the verdict adds the two search queries' p95."""
    lines = [
        "| query | matches | count p50 / p95 | first page p50 / p95 | whole page p50 / p95 "
        f"| search p95 < {TARGET_MS} ms? |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in results:
        def pair(key, row=row):
            return f"{row[key]['p50']:.1f} / {row[key]['p95']:.1f}"

        search_p95 = row["count"]["p95"] + row["page"]["p95"]
        verdict = (
            f"yes ({search_p95:.0f} ms)" if search_p95 < TARGET_MS
            else f"**no** ({search_p95:.0f} ms, +{search_p95 - TARGET_MS:.0f})"
        )
        query = row["query"].replace("|", "\\|")
        lines.append(
            f"| `{query}` | {row['matches']} | {pair('count')} | {pair('page')} "
            f"| {pair('view')} | {verdict} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--fixture", action="store_true",
                        help="load the seed roundup (20 entries) instead of generating")
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed runs of the count and first-page queries")
    parser.add_argument("--view-repeat", type=int, default=10,
                        help="timed runs of the whole /entries/?q= page")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--sqlite-fts", choices=["triggers", "rebuild"], default="rebuild",
                        help="fill SQLite's FTS5 index by its insert trigger, or rebuild it "
                             "once after inserting the documents")
    parser.add_argument("--reuse", action="store_true",
                        help="time the archive an earlier run left, without making it again")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    if min(args.repeat, args.view_repeat) < 1:
        parser.error("--repeat and --view-repeat must be at least 1")

    if not args.reuse:
        fresh_database(args.database)
    configure(args.database)
    from django.core.management import call_command

    env = environment()
    print(f"{env['database']} · Python {env['python']} · Django {env['django']} · "
          f"{env['nproc']} × {env['cpu']} · {env['memory']} · "
          f"load {env['load average']}", flush=True)
    generation = None
    if not args.reuse:
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        progress("migrated", started)
        if args.fixture:
            generation = load_fixture()
            progress(f"seed roundup loaded (indexed by the signals) in {generation['total']:.1f} s")
        else:
            generation = generate(args.entries, args.seed, args.sqlite_fts)
    prepare_static()

    from papers.models import Entry

    size = Entry.objects.count()
    print(f"Timing {len(QUERIES)} queries on {size} entries "
          f"({Entry.objects.published().count()} public), {args.repeat} runs each "
          f"({args.view_repeat} of the whole page):", flush=True)
    results = measure(args.repeat, args.view_repeat)
    plans = explain(EXPLAIN_QUERY)
    print(f"\nEXPLAIN, first page of {EXPLAIN_QUERY}:\n{plans['page']}")
    print(f"\nEXPLAIN, count of {EXPLAIN_QUERY}:\n{plans['count']}")
    print("\n" + markdown_table(results))
    env["load average after"] = " ".join(f"{load:.2f}" for load in os.getloadavg())
    print(f"\nload average before {env['load average']}, after {env['load average after']}")
    if args.json:
        args.json.write_text(json.dumps({
            "environment": env, "entries": size,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "generation_seconds": generation, "results": results, "explain": plans,
        }, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
