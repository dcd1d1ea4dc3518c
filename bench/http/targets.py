"""Choose the URLs that bench/http/load.py loads, from the database it measures.

bench/http/load.py drives two databases from one process, and Django can be set
up only once per process, so it runs this module (``python -m
bench.http.targets``) in a child process with the same environment gunicorn
gets (DATABASE_URL, DJANGO_DEBUG=0, ...). The choice
has to come from the data: the generated archive's slugs, tags and arXiv ids
are not known in advance, and the seed fixture has other ones.

Writes JSON to ``--out``::

    {"issue_slug": ..., "tags": [slug, slug], "tag_pair_entries": n,
     "arxiv_id": ..., "paper_entries": n, "issue_page_bytes": n,
     "issue_page_gzip6_bytes": n, "issue_page_brotli5_bytes": n, "counts": {...}}

and saves the issue page's HTML, as the site renders it, to ``--page-copy``:
that file, served by WhiteNoise from STATIC_ROOT, is the static ceiling, the
same bytes as the page it is compared with.
"""

import argparse
import json
import os
import sys
from pathlib import Path

# How many of the most used tags to pair up when looking for two that co-occur:
# the pair count is one GROUP BY over their links, cheap at any archive size.
TOP_TAGS = 30


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digestsite.settings")
    import django

    django.setup()


def pick_issue():
    """An issue that is not the newest, when there is one: the newest is also
    the home page, and the issue page should be measured as a page of its own."""
    from papers.models import Issue

    newest = Issue.objects.published().newest_first()
    issues = list(newest.values_list("slug", flat=True)[:2])
    if not issues:
        sys.exit("http_targets: no published issue in the database")
    return issues[-1]


def pick_tag_pair():
    """The two most used tags that most often mark the same public entry."""
    from django.db.models import Count, F

    from papers.models import Entry, TaggedEntry

    public_links = TaggedEntry.objects.filter(content_object__in=Entry.objects.published())
    top = list(
        public_links.values_list("tag", flat=True)
        .annotate(n=Count("pk"))
        .order_by("-n", "tag")[:TOP_TAGS]
    )
    # One filter() call, so that all three conditions are on the same second
    # join of the entry's links (a second filter() on a multi-valued relation
    # would join it again).
    pairs = (
        public_links.filter(
            tag__in=top,
            content_object__tagged_items__tag__in=top,
            tag__lt=F("content_object__tagged_items__tag"),
        )
        .values("tag__slug", "content_object__tagged_items__tag__slug")
        .annotate(n=Count("pk"))
        .order_by("-n", "tag__slug")
    )
    best = pairs.first()
    if best is None:
        sys.exit("http_targets: no two tags mark the same public entry")
    return [best["tag__slug"], best["content_object__tagged_items__tag__slug"]], best["n"]


def pick_paper():
    """The paper covered by the most public entries: its page lists them all."""
    from django.db.models import Count

    from papers.models import Entry

    best = (
        Entry.objects.published()
        .exclude(arxiv_id="")
        .values("arxiv_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "arxiv_id")
        .first()
    )
    if best is None:
        sys.exit("http_targets: no public entry has an arXiv id")
    return best["arxiv_id"], best["n"]


def render_issue_page(slug, page_copy):
    """The issue page's bytes as gunicorn will send them (DEBUG off, no
    Accept-Language, so the Chinese page), saved as the ceiling's static file.

    Also its size compressed as a compressing server would send it: gzip at
    level 6 (Django's GZipMiddleware, nginx's usual setting) and Brotli at
    quality 5 (a usual on-the-fly setting), to compare with what is sent."""
    import gzip

    import brotli
    from django.test import Client

    response = Client(HTTP_HOST="127.0.0.1").get(f"/issues/{slug}/")
    if response.status_code != 200:
        sys.exit(f"http_targets: /issues/{slug}/ answered {response.status_code}")
    page_copy.parent.mkdir(parents=True, exist_ok=True)
    page_copy.write_bytes(response.content)
    return {
        "issue_page_bytes": len(response.content),
        "issue_page_gzip6_bytes": len(gzip.compress(response.content, compresslevel=6)),
        "issue_page_brotli5_bytes": len(brotli.compress(response.content, quality=5)),
    }


def archive_counts():
    from papers.models import Entry, Issue, Tag

    return {
        "issues": Issue.objects.count(),
        "published_issues": Issue.objects.published().count(),
        "entries": Entry.objects.count(),
        "published_entries": Entry.objects.published().count(),
        "tags": Tag.objects.count(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--page-copy", type=Path, required=True)
    args = parser.parse_args()
    setup_django()
    slug = pick_issue()
    tags, pair_entries = pick_tag_pair()
    arxiv_id, paper_entries = pick_paper()
    targets = {
        "issue_slug": slug,
        "tags": tags,
        "tag_pair_entries": pair_entries,
        "arxiv_id": arxiv_id,
        "paper_entries": paper_entries,
        **render_issue_page(slug, args.page_copy),
        "counts": archive_counts(),
    }
    args.out.write_text(json.dumps(targets, ensure_ascii=False))


if __name__ == "__main__":
    main()
