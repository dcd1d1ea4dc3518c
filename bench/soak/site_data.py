"""The soak's look into the database, run as a child process with the site's settings.

bench/soak/run.py never imports Django itself: it starts and stops the database
under the site, and a process holding Django connections across those faults
would measure itself. So what needs the ORM runs here, once before the load
(``prepare``: editor and Publisher accounts, the URLs and the entries to
edit, chosen from the data, and the editing phase's draft issues) and once
after it (``texts``: what the edited rows hold now).
Both print one JSON document on stdout.

Public URLs are chosen through the ``published()`` querysets, the site's one
definition of public, so every URL the readers load is a page that answers 200.
"""

import argparse
import itertools
import json
import os
from urllib.parse import quote, urlencode

from bench.soak.clients import PUBLISHED_MARKER

EDITOR_PASSWORD = "soak-editor-password-not-secret"
# Searches readers type: Chinese two- and four-character words, English words, an id.
SEARCHES = [
    "幻觉",
    "推理",
    "对齐",
    "检索增强生成",
    "大模型",
    "微调",
    "基准",
    "hallucination",
    "RAG",
    "reasoning",
    "long context",
    "agent",
    "2406.15877",
]


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digestsite.settings")
    import django

    django.setup()


def create_account(username, group_name):
    """A staff account in one of the groups the site's migrations make."""
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username=username)
    user.is_staff = True
    user.set_password(EDITOR_PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=group_name))
    return user.username


def create_editors(count):
    """Staff accounts in the Editor group (writes, cannot publish), like real editors."""
    return [create_account(f"soak-editor-{number}", "Editor") for number in range(1, count + 1)]


def public_urls(limit):
    """A realistic spread of public addresses, Chinese and English, with their weights."""
    from django.db.models import Count

    from papers.models import Entry, Issue, Section, Tag
    from reading import pages as registry

    issues = list(Issue.objects.published().newest_first().values_list("slug", flat=True)[:limit])
    sections = list(Section.objects.published().values_list("slug", flat=True))
    tags = list(
        Tag.objects.published()
        .annotate(n=Count("tagged_entries"))
        .order_by("-n")
        .values_list("slug", flat=True)[:limit]
    )
    papers = list(
        Entry.objects.published()
        .exclude(arxiv_id="")
        .values_list("arxiv_id", flat=True)
        .distinct()[:limit]
    )
    pages = max(1, Issue.objects.published().count() // 20)

    def q(**params):
        return "?" + urlencode(params, doseq=True)

    # Every public page with its feeds and files, in each language
    # (reading/pages.py); the home page and the archive weigh more.
    weights = {
        ("home", "zh-hans"): 8,
        ("home", "en"): 2,
        ("issue_list", "zh-hans"): 3,
        ("issues_feed_atom", "zh-hans"): 2,
    }
    urls = [
        (name, url, weights.get((name, language), 1))
        for language in registry.LANGUAGES
        for name, url in registry.example_urls(language, feeds=True, downloads=True).items()
    ]
    urls += [
        ("archive", f"/issues/{q(page=min(2, pages))}", 1),
        ("api", "/api/issues", 1),
        ("api", f"/api/entries{q(tag=tags[0])}", 1) if tags else None,
        ("sitemap", "/sitemap.xml", 1),
    ]
    for number, slug in enumerate(issues):
        weight = 6 if number < 3 else 1
        urls += [("issue", f"/issues/{slug}/", weight), ("issue", f"/en/issues/{slug}/", 1)]
    for slug in tags:
        urls += [("tag", f"/tags/{quote(slug)}/", 1), ("entries", f"/entries/{q(tag=slug)}", 1)]
    for first, second in itertools.pairwise(tags):
        urls.append(("entries", f"/entries/{q(tag=[first, second])}", 1))
    for slug in sections:
        urls += [
            ("section", f"/sections/{slug}/", 1),
            ("entries", f"/entries/{q(section=slug)}", 1),
            ("feed", f"/sections/{slug}/feed.atom", 1),
        ]
    for word in SEARCHES:
        urls += [("search", f"/entries/{q(q=word)}", 2), ("search", f"/en/entries/{q(q=word)}", 1)]
    for arxiv_id in papers:
        urls += [("paper", f"/papers/{arxiv_id}/", 2), ("paper", f"/en/papers/{arxiv_id}/", 1)]
    return [
        {"kind": kind, "url": url, "weight": weight} for kind, url, weight in filter(None, urls)
    ]


def editor_targets(entry_count):
    """What the editors edit, all of it shown on public pages that readers load
    (and the cache keeps): entries of the newest public issue, and the
    introduction of the one before it, which no entry editor touches."""
    from papers.models import Entry, Issue

    newest = list(Issue.objects.published().newest_first()[:2])
    entries = (
        Entry.objects.filter(issue=newest[0])
        .in_issue_order()
        .values_list("pk", flat=True)[:entry_count]
    )
    targets = [{"model": "entry", "pk": pk, "issue": newest[0].slug} for pk in entries]
    targets.append({"model": "issue", "pk": newest[-1].pk, "issue": newest[-1].slug})
    return targets


def create_drafts(count, entries):
    """One draft issue per draft editor, with ``entries`` entries, after the
    newest issue, its entries tagged with the most used public tag: a public
    page of that tag showing one of them would be a draft leaking."""
    from datetime import timedelta

    from django.db.models import Count, Max

    from papers.models import Entry, Issue, Section, Tag

    newest_end = Issue.objects.aggregate(end=Max("period_end"))["end"]
    sections = list(Section.objects.order_by("position", "pk")[:3])
    tag = Tag.objects.published().annotate(n=Count("tagged_entries")).order_by("-n", "pk").first()
    drafts = []
    for number in range(1, count + 1):
        end = newest_end + timedelta(days=14 * number)
        issue = Issue.objects.create(
            title=f"草稿：第 {number} 份编辑中的一期",
            slug=f"soak-draft-{number}",
            period_start=end - timedelta(days=13),
            period_end=end,
            intro="编辑中的导言，尚未发布。",
            status=Issue.Status.DRAFT,
        )
        rows = []
        for position in range(entries):
            entry = Entry.objects.create(
                issue=issue,
                section=sections[position % len(sections)],
                position=position // len(sections) + 1,
                title=f"Draft paper {number}.{position + 1}",
                url=f"https://example.org/soak-draft/{number}/{position + 1}",
                summary="编辑中的摘要，尚未发布：检索增强生成与长上下文的对比。",
            )
            if tag:
                entry.tags.add(tag)
            rows.append(entry.pk)
        drafts.append({"issue": issue.pk, "slug": issue.slug, "entries": rows})
    return drafts


def publisher_target(excluded):
    """The published entry the Publisher changes: the last entry with an arXiv
    id in the newest public issue (so on the home page, the issue page, its
    section's, tags' and paper's pages), none of the fault editors' (``excluded``).
    Its summary gets the counter 0 (bench/soak/editing.py) through ``save()``,
    as any edit: from the first page on, every page that shows it says which
    version it shows."""
    from papers.models import Entry, Issue

    newest = Issue.objects.published().newest_first().first()
    entry = (
        Entry.objects.filter(issue=newest)
        .exclude(arxiv_id="")
        .exclude(pk__in=excluded)
        .in_issue_order()
        .last()
    )
    entry.summary = f"{PUBLISHED_MARKER.format(number=0)} {entry.summary}"
    entry.save()
    return {
        "entry": entry.pk,
        "issue": newest.slug,
        "arxiv_id": entry.arxiv_id,
        "section": entry.section.slug,
        "tags": list(entry.tags.values_list("slug", flat=True)),
    }


def publisher_urls(target):
    """The pages that show the Publisher's entry besides the home and issue
    pages (already weighted in): its paper, its section's and tags' pages,
    so that readers load them and each can be judged stale or fresh."""
    urls = [
        ("paper", f"/papers/{target['arxiv_id']}/", 2),
        ("paper", f"/en/papers/{target['arxiv_id']}/", 1),
        ("section", f"/sections/{target['section']}/", 1),
        ("entries", f"/entries/?{urlencode({'section': target['section']})}", 1),
    ]
    for slug in target["tags"][:3]:
        urls += [
            ("tag", f"/tags/{quote(slug)}/", 1),
            ("entries", f"/entries/?{urlencode({'tag': slug})}", 1),
        ]
    return [{"kind": kind, "url": url, "weight": weight} for kind, url, weight in urls]


def prepare(args):
    from papers.models import Entry, Issue

    targets = editor_targets((args.editors - 1) * args.entries_per_editor)
    urls = public_urls(args.sample)
    publisher = publisher_target([t["pk"] for t in targets if t["model"] == "entry"])
    listed = {u["url"] for u in urls}
    urls += [u for u in publisher_urls(publisher) if u["url"] not in listed]
    return {
        "editors": create_editors(args.editors),
        "publisher": {**publisher, "username": create_account("soak-publisher", "Publisher")},
        "drafts": create_drafts(args.editors, args.entries_per_draft),
        "password": EDITOR_PASSWORD,
        "urls": urls,
        "targets": targets,
        "counts": {
            "issues": Issue.objects.count(),
            "published_issues": Issue.objects.published().count(),
            "entries": Entry.objects.count(),
            "published_entries": Entry.objects.published().count(),
        },
    }


def texts(args):
    """The stored text of each edited row (entry summary, issue introduction) now."""
    from papers.models import Entry, Issue

    def pks(value):
        return [int(pk) for pk in value.split(",") if pk]

    return {
        "entry": {
            str(pk): text
            for pk, text in Entry.objects.filter(pk__in=pks(args.entries)).values_list(
                "pk", "summary"
            )
        },
        "issue": {
            str(pk): text
            for pk, text in Issue.objects.filter(pk__in=pks(args.issues)).values_list("pk", "intro")
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_parser = commands.add_parser("prepare")
    prepare_parser.add_argument(
        "--editors",
        type=int,
        default=4,
        help="accounts; the last one edits an issue, the others entries",
    )
    prepare_parser.add_argument("--entries-per-editor", type=int, default=2)
    prepare_parser.add_argument(
        "--entries-per-draft", type=int, default=6, help="entries of each draft issue (6)"
    )
    prepare_parser.add_argument("--sample", type=int, default=20)
    texts_parser = commands.add_parser("texts")
    texts_parser.add_argument("--entries", default="", help="comma-separated entry ids")
    texts_parser.add_argument("--issues", default="", help="comma-separated issue ids")
    args = parser.parse_args()
    setup_django()
    result = prepare(args) if args.command == "prepare" else texts(args)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
