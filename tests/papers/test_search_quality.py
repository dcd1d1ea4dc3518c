"""The judged query set (bench/search_quality): search finds what readers mean.

Guards recall@10 and nDCG@10 over the 50 judged queries (Chinese, English,
mixed, Traditional, arXiv ids) on the seed plus a hand-written issue, and
that every entry that must come first does. ``make search-quality`` runs
this module with DIGEST_SEARCH_QUALITY_REPORT set to write the figures.
"""

import json
import os
import platform
from pathlib import Path

import pytest
from django.db import connection

from bench.search_quality import judge

pytestmark = pytest.mark.django_db

# The figures of 2026-12-06 (docs/search-quality.md), a little under them.
MIN_RECALL_AT_10 = 0.95
MIN_NDCG_AT_10 = 0.95
# Queries whose must-come-first entries are not on top, known and said in
# docs/search-quality.md. None since migration 0013 put 最佳实践 in the
# glossary ("RAG 最佳实践": the paper says "Best Practices" in its title only).
KNOWN_MISSES = set()


@pytest.fixture
def judged_archive(seed):
    judge.add_hand_written_issue(judge.judgements())


def test_the_judged_queries_find_what_readers_mean(judged_archive):
    results = judge.judge_all()
    figures = judge.summary(results)
    report = os.environ.get("DIGEST_SEARCH_QUALITY_REPORT")
    if report:
        before = os.environ.get("DIGEST_SEARCH_QUALITY_BEFORE")
        header = (
            f"Judged on {os.environ.get('DIGEST_SEARCH_QUALITY_WHEN', '?')}, on "
            f"{connection.vendor}, Python {platform.python_version()}, host {platform.node()}."
        )
        Path(report).write_text(
            judge.markdown(
                results, json.loads(Path(before).read_text()) if before else None, header
            ),
            encoding="utf-8",
        )
        Path(report).with_suffix(".json").write_text(
            json.dumps(
                {"summary": figures, "queries": [r.__dict__ for r in results]},
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    misses = {r.query: r.found for r in results if not r.first_on_top}
    assert figures["queries"] >= 40
    assert set(misses) <= KNOWN_MISSES, misses
    assert figures["recall_at_10"] >= MIN_RECALL_AT_10, figures
    assert figures["ndcg_at_10"] >= MIN_NDCG_AT_10, figures
