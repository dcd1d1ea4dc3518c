"""The judged query set (judgements.json) run through the site's search.

Each query names the entries that must come first (``first``, in any order
among themselves) and other relevant ones (``relevant``). For the ten
results a reader sees first:

- recall@10: the share of the query's judged entries among them;
- nDCG@10: discounted gain, an entry that must come first counting 2 and
  another relevant one 1, over the best order possible.

``tests/papers/test_search_quality.py`` guards the figures; ``make
search-quality`` writes them to docs/search-quality.md. The search is asked
as the results page asks it (the glossary, relaxation), through
``papers.search``'s two public calls, so that the same file measures an
older version of the code too (``ranked_ids`` falls back to its API).
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path

JUDGEMENTS = Path(__file__).with_name("judgements.json")
TOP = 10


def judgements():
    return json.loads(JUDGEMENTS.read_text(encoding="utf-8"))


def add_hand_written_issue(data):
    """The hand-written issue of the judged set, published, in the seed's sections."""
    from django.utils import timezone

    from papers.models import Entry, Issue, Section

    spec = data["hand_written_issue"]
    issue = Issue.objects.create(
        title=spec["title"],
        slug="judged-set",
        status=Issue.Status.PUBLISHED,
        published_at=timezone.now(),
        period_start=timezone.localdate(),
        period_end=timezone.localdate(),
    )
    for position, fields in enumerate(spec["entries"], start=1):
        entry = Entry.objects.create(
            issue=issue,
            section=Section.objects.get(name=fields["section"]),
            position=position,
            title=fields["title"],
            summary=fields["summary"],
            arxiv_id=fields["arxiv_id"],
        )
        entry.tags.add(*fields["tags"])
    return issue


def ranked_ids(query):
    """The arXiv ids of the first TOP results of ``query``, as the page finds them."""
    from papers import search
    from papers.models import Entry

    if hasattr(search, "glossary"):
        parsed = search.parse_query(query, search.glossary())
    else:  # the code before the glossary (for the "before" figures)
        parsed = search.parse_query(query)
    results = search.search(Entry.objects.published(), parsed)
    return list(results.values_list("arxiv_id", flat=True)[:TOP])


@dataclass
class Judged:
    query: str
    found: list
    recall: float
    ndcg: float
    first_on_top: bool


def judge(query):
    """``query`` (one item of judgements()["queries"]) run and scored."""
    found = ranked_ids(query["query"])
    gains = {arxiv_id: 2 for arxiv_id in query["first"]}
    gains.update({arxiv_id: 1 for arxiv_id in query["relevant"] if arxiv_id not in gains})
    recall = sum(1 for arxiv_id in found if arxiv_id in gains) / min(len(gains), TOP)
    dcg = sum(gains.get(arxiv_id, 0) / math.log2(rank + 2) for rank, arxiv_id in enumerate(found))
    best = sorted(gains.values(), reverse=True)[:TOP]
    ideal = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(best))
    first_on_top = set(found[: len(query["first"])]) == set(query["first"])
    return Judged(query["query"], found, recall, dcg / ideal, first_on_top)


def judge_all():
    return [judge(query) for query in judgements()["queries"]]


def summary(results):
    n = len(results)
    return {
        "queries": n,
        "recall_at_10": sum(r.recall for r in results) / n,
        "ndcg_at_10": sum(r.ndcg for r in results) / n,
        "first_on_top": sum(r.first_on_top for r in results),
    }


def markdown(results, before=None, header=""):
    """The report: the means (and those of ``before``), then each query."""
    now = summary(results)
    lines = [
        "# Search quality: the judged query set",
        "",
        "Written by `make search-quality` (tests/papers/test_search_quality.py, which also",
        "guards these figures). The queries and their judged entries are in",
        "bench/search_quality/judgements.json: the seed roundup plus a hand-written issue;",
        "recall@10 and nDCG@10 as bench/search_quality/judge.py defines them. *Before* is",
        "the code before issue 15 (bench/search_quality/before.json).",
        "",
        header,
        "",
        "| | queries | recall@10 | nDCG@10 | must-come-first on top |",
        "| --- | --- | --- | --- | --- |",
    ]
    rows = (
        [("before", before), ("now", {"summary": now})] if before else [("now", {"summary": now})]
    )
    for name, figures in rows:
        s = figures["summary"]
        lines.append(
            f"| {name} | {s['queries']} | {s['recall_at_10']:.3f} | {s['ndcg_at_10']:.3f} | "
            f"{s['first_on_top']} of {s['queries']} |"
        )
    lines += [
        "",
        "Each query; a **no** is a query whose must-come-first entries are not on top:",
        "",
        "| query | recall@10 | nDCG@10 | first on top | found (top 10) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        on_top = "yes" if r.first_on_top else "**no**"
        found = " ".join(r.found) or "(nothing)"
        lines.append(f"| `{r.query}` | {r.recall:.2f} | {r.ndcg:.2f} | {on_top} | {found} |")
    return "\n".join(lines) + "\n"
