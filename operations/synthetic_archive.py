"""A large synthetic archive of roundups, generated straight into the database.

Why it exists: the seed roundup has twenty entries, and how search, facets and
pages behave at 100,000 entries can only be seen on an archive of that size.
The search benchmark (bench/search/latency.py), ``manage.py generate_archive``
and the tests of the index at scale all make it here, one way, so that the
figures they report are about the same archive.

What it makes, deterministically from a seed: biweekly issues going back in
time from mid-2025 (the newest scheduled far in the future and about one in a
hundred a draft, so ``published()`` has something to exclude); about the same
number of entries in each issue, spread over the seed's five sections; Chinese
summaries of 150-600 characters (mean about 300) from template sentences whose
slots are filled with a Zipf-like skew, as real vocabulary is; tags used with
the same kind of skew; one known paper (``KNOWN_ARXIV_ID``) covered in several
issues.

How it stays fast: rows go in with ``bulk_create``, which sends no signals, so
the search documents are made here too, from the entries in memory, by
``papers.search.documents`` itself, and written by the site's one bulk writer,
``papers.search.rebuild_index``, in large batches (on SQLite the FTS5 index is
rebuilt once rather than by a trigger per row; on PostgreSQL the tsvectors are
computed by ``UPDATE``). Everything happens in one transaction: a failure
leaves no half archive. For the same
reason the page cache is told that the archive changed (reading.page_cache).
"""

import bisect
import html
import itertools
import math
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import connection, reset_queries, transaction

from operations.errors import ArchiveNotEmpty
from papers import search, signals, slugs
from papers.markdown import render_markdown
from papers.models import Entry, Issue, Section, Tag, TaggedEntry

ISSUES = 1_000
ENTRIES = 100_000
TAGS = 5_000
SEED = 2024
BATCH = 5_000
MAX_ENTRIES_PER_ISSUE = 10_000  # positions are small integers
PROGRESS_EVERY = 1_000  # entries composed or tokenised between two progress reports

NEWEST_PERIOD_END = date(2025, 6, 30)
SCHEDULED_AT = datetime(2099, 1, 1, tzinfo=UTC)
KNOWN_ARXIV_ID = "2406.15877"  # in the seed roundup; the archive covers it in several issues
KNOWN_ARXIV_ISSUES = 3
SUMMARY_MIN, SUMMARY_MAX = 150, 600
TAGS_PER_ENTRY = (2, 5)
INTRO = "本期汇总值得关注的大语言模型论文。"

# -- Vocabulary, most frequent first (drawn with a Zipf-like skew) -------------

CHINESE_TERMS = [
    "模型",
    "数据",
    "训练",
    "推理",
    "生成",
    "大模型",
    "基准",
    "评测",
    "微调",
    "注意力",
    "对齐",
    "检索",
    "指令",
    "幻觉",
    "增强",
    "长上下文",
    "安全",
    "多模态",
    "智能体",
    "偏好",
    "奖励模型",
    "强化学习",
    "蒸馏",
    "专家",
    "思维链",
    "代码",
    "数学",
    "知识",
    "解码",
    "检索增强生成",
    "压缩",
    "量化",
    "稀疏",
    "越狱",
    "红队",
    "评委",
    "视觉",
    "语音",
    "工具调用",
    "规划",
    "记忆",
    "提示",
    "鲁棒性",
    "可解释性",
    "偏见",
    "隐私",
    "水印",
    "剪枝",
    "合成数据",
    "课程学习",
    "持续学习",
    "具身智能",
    "蛋白质",
    "分子",
    "医疗",
    "法律",
    "金融",
    "教育",
    "低资源语言",
    "机器翻译",
    "表格",
    "图神经网络",
    "知识图谱",
    "因果推断",
    "不确定性",
    "校准",
    "遗忘",
    "版权",
    "能耗",
    "联邦学习",
]
ENGLISH_TERMS = [
    "LLM",
    "RAG",
    "benchmark",
    "MoE",
    "hallucination",
    "Transformer",
    "RLHF",
    "DPO",
    "LoRA",
    "chain-of-thought",
    "long context",
    "GPT-4",
    "Llama",
    "agent",
    "KV cache",
    "tokenizer",
    "in-context learning",
    "scaling law",
    "red teaming",
    "hallucinations",
    "reward model",
    "speculative decoding",
    "multimodal",
    "jailbreak",
    "watermark",
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
    "Mitigating",
    "Scaling",
    "Rethinking",
    "Benchmarking",
    "Understanding",
    "Improving",
    "Evaluating",
    "Towards",
    "Efficient",
    "Aligning",
    "Probing",
    "Revisiting",
    "Learning",
]
TITLE_TOPICS = [
    "Hallucination",
    "Long Context",
    "RAG",
    "Reasoning",
    "Alignment",
    "Jailbreak Defense",
    "Mixture-of-Experts",
    "Instruction Tuning",
    "Preference Optimization",
    "Distillation",
    "KV Cache Compression",
    "Tool Use",
    "Multimodal Models",
    "LLM Agents",
    "Code Generation",
    "Math Reasoning",
    "Reward Models",
    "Speculative Decoding",
    "Red Teaming",
    "Retrieval",
]
TITLE_TAILS = [
    "in Large Language Models",
    "with Retrieval-Augmented Generation",
    "at Scale",
    "via Self-Reflection",
    "for Long Context Understanding",
    "under Distribution Shift",
    ": A Benchmark",
    ": An Empirical Study",
    "without Human Labels",
    "with Sparse Attention",
]
SURNAMES = [
    "Zhang",
    "Wang",
    "Li",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Smith",
    "Kim",
    "Nguyen",
    "Müller",
    "Garcia",
    "Sato",
    "Patel",
    "Brown",
]
GIVEN = [
    "Wei",
    "Yu",
    "Jun",
    "Xin",
    "Hao",
    "Lei",
    "Ming",
    "Yan",
    "Anna",
    "David",
    "Sara",
    "Tom",
    "Ravi",
    "Yuki",
    "Lukas",
    "Maria",
    "Ji-woo",
    "Omar",
]
# Rare words: one summary in a thousand gets one of them.
RARE_SENTENCES = [
    "该方法也被用于甲骨文识别。",
    "作者还在量子纠错任务上做了验证。",
    "附录给出了古籍修复的案例。",
]
# The seed's sections (name, slug), and the share of an issue's entries in each.
SECTIONS = [
    ("LLM进展与基准", "progress-benchmarks"),
    ("RAG", "rag"),
    ("LLM微调", "fine-tuning"),
    ("LLM推理", "reasoning"),
    ("LLM安全与对齐", "safety-alignment"),
]
SECTION_WEIGHTS = [0.3, 0.2, 0.15, 0.2, 0.15]
TAG_SUFFIXES = [
    "",
    "评测",
    "方法",
    "数据集",
    "检测",
    "优化",
    "攻击",
    "防御",
    "理论",
    "应用",
    "效率",
    "分析",
    "框架",
    "综述",
    "基准",
]
ENGLISH_TAG_SUFFIXES = ["", " eval", " method", " dataset", " theory", " efficiency"]
TOP_TAGS = 60  # the most used tags are the plain terms; the combinations' ranks are shuffled


def zipf_sampler(items, rng, s=1.0):
    """A function drawing one item, the item of rank r with weight 1 / r**s."""
    cumulative = list(itertools.accumulate(1 / (r + 1) ** s for r in range(len(items))))
    total = cumulative[-1]
    return lambda: items[bisect.bisect(cumulative, rng.random() * total)]


# -- Text ------------------------------------------------------------------------


def tag_name_candidates():
    """Every tag name the archive can use, plain terms first (duplicates possible)."""
    return itertools.chain(
        CHINESE_TERMS,
        ENGLISH_TERMS,
        (t + s for s in TAG_SUFFIXES for t in CHINESE_TERMS),
        (t + s for s in ENGLISH_TAG_SUFFIXES for t in ENGLISH_TERMS),
        (a + b for a in CHINESE_TERMS for b in CHINESE_TERMS if a != b),
        (
            a + b + s
            for s in TAG_SUFFIXES[1:]
            for a in CHINESE_TERMS
            for b in CHINESE_TERMS
            if a != b
        ),
    )


class Archive:
    """Deterministic synthetic text (same seed, same archive)."""

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

    def summary_length(self):
        """A target length: skewed like real summaries, mostly 200-400, mean about 300."""
        drawn = self.rng.lognormvariate(math.log(265), 0.35)
        return round(min(max(drawn, SUMMARY_MIN), SUMMARY_MAX - 70))  # room for the last sentence

    def sentence(self):
        rng = self.rng
        return rng.choice(SENTENCES).format(
            a=self.chinese(),
            b=self.chinese(),
            c=self.chinese(),
            e=self.english(),
            f=self.english(),
            n=rng.randint(2, 60),
            x=rng.choice(self.arxiv_ids) if self.arxiv_ids else KNOWN_ARXIV_ID,
        )

    def summary(self):
        """Whole sentences until the target length is reached (so it ends on 。)."""
        target, parts, length = self.summary_length(), [], 0
        while length < target:
            sentence = self.sentence()
            parts.append(sentence)
            length += len(sentence)
        if self.rng.random() < 0.001:
            parts.insert(self.rng.randrange(len(parts)), self.rng.choice(RARE_SENTENCES))
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
        """``count`` distinct tag names (ignoring case, as Tag does), most used first."""
        names, seen = [], set()
        for name in tag_name_candidates():
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append(name)
            if len(names) == count:
                break
        else:
            raise ValueError(f"at most {len(names):,} distinct tag names can be made")
        head, tail = names[:TOP_TAGS], names[TOP_TAGS:]
        self.rng.shuffle(tail)
        return head + tail


def plain_paragraph_html(text):
    """What render_markdown makes of one plain paragraph, without Markdown's cost
    (a minute at 100,000 summaries); ``check_rendering`` keeps it honest."""
    return f"<p>{html.escape(text, quote=False)}</p>"


def check_rendering(texts):
    for text in texts:
        if plain_paragraph_html(text) != render_markdown(text):
            raise RuntimeError(f"render_markdown does not make a plain paragraph of {text!r}")


# -- Shape of the archive ----------------------------------------------------------


def entries_per_issue(entries, issues, rng):
    """``entries`` split over ``issues``: each gets the mean give or take half."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(issues)]
    scale = entries / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(issues), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: entries - sum(counts)]:
        counts[i] += 1
    return counts


def draft_indexes(issues):
    """About one issue in a hundred is a draft (at least one, given three issues)."""
    if issues < 3:
        return set()
    drafts = max(1, issues // 100)
    return {int((k + 0.5) * issues / drafts) for k in range(drafts)}


def known_paper_slots(counts):
    """``{issue index: entry index in it}`` of the entries that cover KNOWN_ARXIV_ID."""
    preferred = [i for i in (3, 40, 400) if i < len(counts)]
    others = [i for i in range(1, len(counts)) if i not in preferred]
    chosen = [i for i in [*preferred, *others] if counts[i]][:KNOWN_ARXIV_ISSUES]
    return {i: min(7, counts[i] - 1) for i in chosen}


def make_issue(index, drafts):
    end = NEWEST_PERIOD_END - timedelta(days=14 * index)
    status = Issue.Status.PUBLISHED
    published_at = datetime(end.year, end.month, end.day, 9, tzinfo=UTC) + timedelta(days=1)
    if index == 0:
        status, published_at = Issue.Status.SCHEDULED, SCHEDULED_AT
    elif index in drafts:
        status, published_at = Issue.Status.DRAFT, None
    return Issue(
        title=f"{end.year}年{end.month}月第{index + 1}期重要的大语言模型论文总结",
        slug=f"synthetic-{index + 1:05d}",
        period_start=end - timedelta(days=13),
        period_end=end,
        intro=INTRO,
        intro_html=plain_paragraph_html(INTRO),
        status=status,
        published_at=published_at,
    )


def check_sizes(issues, entries, tags):
    if issues < 1 or entries < 0 or tags < 1:
        raise ValueError("issues and tags must be at least 1, entries at least 0")
    if entries > issues * MAX_ENTRIES_PER_ISSUE:
        raise ValueError(f"at most {MAX_ENTRIES_PER_ISSUE:,} entries per issue")


# -- Generation ----------------------------------------------------------------------


@dataclass
class Generated:
    issues: int
    entries: int
    tags: int
    tag_links: int
    timings: dict = field(default_factory=dict)  # seconds per phase, and "total"


class _Phase:
    """Reports one phase's progress: ``step`` while it runs, the total once at the end."""

    def __init__(self, report, name, total):
        self.report, self.name, self.total = report, name, total

    def step(self, done):
        if done < self.total:
            self.report(self.name, done, self.total)


class Generator:
    """One run of the generation; each method is one phase, in order."""

    def __init__(self, issues, entries, tags, seed, progress=None, fts_rebuild=True):
        check_sizes(issues, entries, tags)
        self.sizes = (issues, entries, tags)
        self.archive = Archive(seed)
        self.rng = random.Random(seed + 1)  # the archive's shape, apart from its text
        self.report = progress or (lambda phase, done, total: None)
        self.fts_rebuild = fts_rebuild
        self.timings = {}

    @contextmanager
    def phase(self, name, total):
        started = time.perf_counter()
        if total:
            self.report(name, 0, total)
        yield _Phase(self.report, name, total)
        self.report(name, total, total)
        self.timings[name] = time.perf_counter() - started

    def run(self):
        started = time.perf_counter()
        issues, entries, tags = self.sizes
        with transaction.atomic():
            if existing := Issue.objects.count():
                raise ArchiveNotEmpty({"papers.issue": existing})
            issue_rows = self.save_issues(issues)
            sections = self.save_sections()
            tag_rows = self.save_tags(tags)
            counts = entries_per_issue(entries, issues, self.rng)
            entry_rows, entry_tags = self.compose_entries(issue_rows, counts, sections, tag_rows)
            self.bulk_insert("save entries", Entry, entry_rows)
            links = [
                TaggedEntry(content_object_id=entry.pk, tag_id=tag.pk)
                for entry, chosen in zip(entry_rows, entry_tags, strict=True)
                for tag in chosen
            ]
            self.bulk_insert("tag links", TaggedEntry, links)
            self.save_search_documents(self.tokenise(entry_rows, entry_tags))
            signals.archive_bulk_written(sender=__name__)  # bulk_create sends no signals
        self.analyze()
        self.timings["total"] = time.perf_counter() - started
        return Generated(issues, entries, len(tag_rows), len(links), self.timings)

    def bulk_insert(self, name, model, rows):
        with self.phase(name, len(rows)) as phase:
            for start in range(0, len(rows), BATCH):
                model.objects.bulk_create(rows[start : start + BATCH])
                reset_queries()  # with DEBUG on, the logged batches would fill the memory
                phase.step(start + BATCH)

    def save_issues(self, count):
        drafts = draft_indexes(count)
        rows = [make_issue(index, drafts) for index in range(count)]
        # Oldest first, as a real archive grows: newer issues, and their entries
        # (compose_entries), get the higher ids, which search relies on.
        self.bulk_insert("issues", Issue, rows[::-1])
        return rows

    def save_sections(self):
        """The seed's five sections, reusing any that are already there."""
        existing = Section.objects.in_bulk([slug for _, slug in SECTIONS], field_name="slug")
        missing = [
            Section(name=name, slug=slug, position=10 * (i + 1))
            for i, (name, slug) in enumerate(SECTIONS)
            if slug not in existing
        ]
        Section.objects.bulk_create(missing)
        existing.update((section.slug, section) for section in missing)
        return [existing[slug] for _, slug in SECTIONS]

    def save_tags(self, count):
        """``count`` tags, most used first, reusing any already there (by name, any case)."""
        names = self.archive.tag_names(count)
        existing = {tag.name.lower(): tag for tag in Tag.objects.all()}
        slugs = {tag.slug for tag in existing.values()}
        missing = [
            Tag(name=name, slug=unique_slug(name, slugs))
            for name in names
            if name.lower() not in existing
        ]
        self.bulk_insert("tags", Tag, missing)
        existing.update((tag.name.lower(), tag) for tag in missing)
        return [existing[name.lower()] for name in names]

    def compose_entries(self, issues, counts, sections, tags):
        """The entries in memory, issue by issue, section by section, with their tags."""
        draw_tag = zipf_sampler(tags, self.rng, s=1.0)
        known = known_paper_slots(counts)
        entries, entry_tags = [], []
        with self.phase("entries", sum(counts)) as phase:
            for index in reversed(range(len(issues))):  # oldest first
                issue, count = issues[index], counts[index]
                for n, (section, position) in enumerate(self.positions(count, sections)):
                    entry = self.compose_entry(issue, section, position)
                    if known.get(index) == n:
                        entry.arxiv_id = KNOWN_ARXIV_ID
                    entries.append(entry)
                    entry_tags.append(self.draw_tags(draw_tag))
                    if len(entries) % PROGRESS_EVERY == 0:
                        phase.step(len(entries))
        check_rendering(entry.summary for entry in entries[:200])
        return entries, entry_tags

    def positions(self, count, sections):
        """(section, position) of an issue's ``count`` entries, in reading order."""
        per_section = Counter(self.rng.choices(range(len(sections)), SECTION_WEIGHTS, k=count))
        return [
            (section, position + 1)
            for i, section in enumerate(sections)
            for position in range(per_section[i])
        ]

    def compose_entry(self, issue, section, position):
        archive = self.archive
        summary = archive.summary()
        return Entry(
            issue=issue,
            section=section,
            position=position,
            title=archive.title(),
            arxiv_id=archive.arxiv_id(),
            authors=archive.authors(),
            summary=summary,
            summary_html=plain_paragraph_html(summary),
        )

    def draw_tags(self, draw_tag):
        chosen = {}
        for _ in range(self.rng.randint(*TAGS_PER_ENTRY)):
            tag = draw_tag()
            chosen[tag.pk] = tag
        return sorted(chosen.values(), key=lambda tag: tag.name)

    def tokenise(self, entries, entry_tags):
        """The search documents, made by the function the site indexes with."""
        pairs = (
            (entry, [tag.name for tag in chosen])
            for entry, chosen in zip(entries, entry_tags, strict=True)
        )
        made = []
        with self.phase("tokenise", len(entries)) as phase:
            for document in search.documents(pairs):
                made.append(document)
                if len(made) % PROGRESS_EVERY == 0:
                    phase.step(len(made))
        return made

    def save_search_documents(self, documents):
        search.rebuild_index(
            documents, batch_size=BATCH, fts_rebuild=self.fts_rebuild, phase=self.phase
        )

    def analyze(self):
        """Fresh planner statistics, as autovacuum would give in time. VACUUM cannot run
        inside a transaction (the tests run in one), so there it is a plain ANALYZE."""
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        with self.phase("analyze", 1), connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")


def unique_slug(name, taken):
    """A new tag's slug as ``Tag.save()`` would give it (bulk inserts skip it)."""
    slug = slugs.first_free(slugs.tag_slug_base(name), taken)
    taken.add(slug)
    return slug


def generate(issues=ISSUES, entries=ENTRIES, tags=TAGS, seed=SEED, progress=None, fts_rebuild=True):
    """Make the archive in the default database, which must hold no issue.

    ``progress(phase, done, total)`` is called as each phase advances, ``done ==
    total`` exactly once per phase. Raises ``ArchiveNotEmpty`` or ``ValueError``
    (impossible sizes) before writing anything. Returns a ``Generated``.
    """
    return Generator(issues, entries, tags, seed, progress, fts_rebuild).run()
