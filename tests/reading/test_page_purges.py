"""Each kind of change purges exactly the cached pages that show it (reading.signals).

Every test caches a set of public pages, makes one change as an editor does
(through the admin where it has a page for it), then reads every page again:

- **never stale**: each page served equals the page rendered afresh with the
  cache off, byte for byte;
- **purged**: the pages that show the change were made again;
- **kept**: the pages that do not show it are still hits (no query at all).
"""

import datetime
import re
from urllib.parse import quote

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from bench.common.admin_form import form_data
from papers.models import Entry, Issue, Section, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import edit_entry, signed_in

pytestmark = pytest.mark.django_db

ISSUE = "/issues/2024-06-h2/"
PAPER = "2406.15877"  # BigCodeBench, in the section progress-benchmarks
OTHER_ISSUE = "/issues/2024-07-h1/"
OTHER_PAPER = "2407.10001"


@pytest.fixture
def archive(seed):
    """The seed issue, a later issue of its own section and tag, and a draft."""
    other_section = SectionFactory(slug="other-section", name="另一个栏目")
    other = IssueFactory(
        slug="2024-07-h1",
        title="七月上半月",
        published_at=timezone.now() - datetime.timedelta(days=1),
        period_start=datetime.date(2024, 7, 1),
        period_end=datetime.date(2024, 7, 15),
    )
    EntryFactory(
        issue=other,
        section=other_section,
        title="Other Paper",
        arxiv_id=OTHER_PAPER,
        tags=["另一个标签"],
    )
    draft = IssueFactory(status=Issue.Status.DRAFT, slug="draft-x", title="草稿")
    EntryFactory(issue=draft, section=other_section, title="Draft Paper", arxiv_id="2407.10002")
    return seed


@pytest.fixture
def entry(archive):
    return archive.entries.get(arxiv_id=PAPER)


def tag_page(name):
    return f"/tags/{quote(Tag.objects.get(name=name).slug)}/"


def pages(entry):
    """The cached pages: every kind of public page, some showing the entry, some not."""
    tag = entry.tags.order_by("name").first()
    return {
        "home": "/",
        "issue": ISSUE,
        "other issue": OTHER_ISSUE,
        "issues": "/issues/",
        "entries": "/entries/",
        "search": "/entries/?q=BigCodeBench",
        "tags": "/tags/",
        "tag": f"/tags/{quote(tag.slug)}/",
        "other tag": tag_page("另一个标签"),
        "sections": "/sections/",
        "section": f"/sections/{entry.section.slug}/",
        "other section": "/sections/other-section/",
        "paper": f"/papers/{PAPER}/",
        "other paper": f"/papers/{OTHER_PAPER}/",
        "issues feed": "/feeds/issues.atom",
        "tag feed": f"/tags/{quote(tag.slug)}/feed.atom",
        "other section feed": "/sections/other-section/feed.rss",
        "trends": "/trends/",
        "english issue": "/en" + ISSUE,
        "english other issue": "/en" + OTHER_ISSUE,
        "subscribe": "/subscribe/",
    }


def read(client, path):
    """(status, body, whether the page was made again rather than answered from the cache)."""
    response = client.get(path)
    return response.status_code, response.content, not getattr(response, "from_cache", False)


def cache_all(client, paths):
    for path in paths.values():
        read(client, path)
    for name, path in paths.items():  # each now a hit
        assert not read(client, path)[2], name


def after_change(client, paths):
    """{name: made again?}, checking that each page served is the page made afresh."""
    served = {name: read(client, path) for name, path in paths.items()}
    with override_settings(PAGE_CACHE=False):
        fresh = {name: read(client, path)[:2] for name, path in paths.items()}
    stale = [name for name in paths if served[name][:2] != fresh[name]]
    assert stale == [], f"stale pages: {stale}"
    return {name: made for name, (_, _, made) in served.items()}


def check(client, paths, change, purged, kept):
    cache_all(client, paths)
    change()
    made_again = after_change(client, paths)
    assert sorted(name for name in purged if not made_again[name]) == [], "should be purged"
    assert sorted(name for name in kept if made_again[name]) == [], "should stay cached"


def test_an_entry_text_edit(client, admin_client, entry):
    paths = pages(entry)
    check(
        client,
        paths,
        lambda: edit_entry(admin_client, entry, summary="一段新的摘要：缓存按键清除。"),
        purged=["issue", "search", "section", "paper", "tag", "tag feed", "english issue"],
        kept=[
            "home",  # the newest issue, the other one
            "other issue",
            "issues",
            "tags",
            "other tag",
            "sections",
            "other section",
            "other paper",
            "other section feed",
            "trends",
            "english other issue",
            "subscribe",
        ],
    )


def test_tags_added_and_removed(client, admin_client, entry):
    paths = pages(entry)
    old = entry.tags.order_by("name").first()
    keep = ", ".join(t.name for t in entry.tags.exclude(pk=old.pk))
    check(
        client,
        paths,
        lambda: edit_entry(admin_client, entry, tags=f"{keep}，新加的标签"),
        purged=["issue", "tag", "tag feed", "tags", "paper", "entries", "trends", "english issue"],
        # Not "other paper": tags are content, and the entry may join or leave
        # its related list (papers.related); never stale either way.
        kept=["other issue", "other tag", "issues", "sections", "other section"],
    )
    assert "新加的标签" in client.get(ISSUE).content.decode()


def test_an_entry_moved_to_another_section(client, admin_client, entry):
    paths = pages(entry)
    rag = Section.objects.get(slug="rag")
    paths["new section"] = "/sections/rag/"
    position = max(rag.entries.filter(issue=entry.issue).values_list("position", flat=True)) + 1
    check(
        client,
        paths,
        lambda: edit_entry(admin_client, entry, section=str(rag.pk), position=str(position)),
        # The archive's list shows each issue's count, purged with its entries' list.
        purged=["issue", "section", "new section", "sections", "entries", "paper", "issues"],
        kept=["home", "other issue", "other tag", "other section", "tags", "other paper"],
    )


def test_a_section_renamed(client, admin_client, entry):
    paths = pages(entry)
    url = reverse("admin:papers_section_change", args=[entry.section.pk])

    def rename():
        data = form_data(admin_client.get(url), "section_form")
        data["name"] = "进展与基准（改名）"
        assert admin_client.post(url, data).status_code == 302

    check(
        client,
        paths,
        rename,
        purged=["issue", "section", "sections", "paper", "tag"],
        kept=["home", "other issue", "other section", "other tag", "other paper", "issues", "tags"],
    )


def test_a_tag_renamed(client, admin_client, entry):
    paths = pages(entry)
    tag = entry.tags.order_by("name").first()
    url = reverse("admin:papers_tag_change", args=[tag.pk])

    def rename():
        data = form_data(admin_client.get(url), "tag_form")
        data["name"] = f"{tag.name}（改名）"
        assert admin_client.post(url, data).status_code == 302

    check(
        client,
        paths,
        rename,
        purged=["issue", "tags", "paper", "tag feed", "subscribe"],
        kept=["home", "other issue", "other tag", "other section", "other paper", "issues"],
    )


def test_a_tag_merged_into_another(client, publisher_user, entry):
    paths = pages(entry)
    merged = entry.tags.order_by("name").first()
    kept = Tag.objects.get(name="另一个标签")

    def merge():
        signed_in(publisher_user).post(
            reverse("admin:papers_tag_changelist"),
            {
                "action": "merge_tags",
                "_selected_action": [merged.pk, kept.pk],
                "target": kept.pk,
                "post": "yes",
            },
        )

    check(
        client,
        paths,
        merge,
        purged=["tag", "tag feed", "other tag", "tags", "issue", "paper", "other paper"],
        kept=["home", "issues", "sections", "other section", "other section feed"],
    )
    assert not Tag.objects.filter(pk=merged.pk).exists()


def test_an_issue_published(client, admin_client, entry):
    paths = pages(entry)
    draft = Issue.objects.get(slug="draft-x")
    check(
        client,
        paths,
        lambda: admin_client.post(reverse("admin:papers_issue_publish", args=[draft.pk])),
        # The other paper's related list held the draft's entry, alike in
        # content: it shows now (papers.related filters lists as they are read).
        purged=[
            *["home", "issues", "entries", "other section", "sections", "issues feed", "tag"],
            "other paper",
        ],
        kept=["issue", "tag feed", "paper", "english issue"],
    )
    assert b"Draft Paper" in client.get("/papers/2407.10002/").content
    assert b"Draft Paper" in client.get(f"/papers/{OTHER_PAPER}/").content


def test_an_issue_unpublished(client, admin_client, entry):
    paths = pages(entry)
    other = Issue.objects.get(slug="2024-07-h1")

    def unpublish():
        url = reverse("admin:papers_issue_changelist")
        data = {"action": "unpublish", "_selected_action": [other.pk]}
        assert admin_client.post(url, data).status_code == 302

    check(
        client,
        paths,
        unpublish,
        # The seed issue's page linked to it as the next issue.
        purged=[
            *["home", "issues", "entries", "other issue", "other tag", "other paper", "tags"],
            *["issue", "english issue"],
        ],
        kept=["tag feed", "paper", "section"],
    )
    assert client.get(OTHER_ISSUE).status_code == 404
    assert b"2024-07-h1" not in client.get(ISSUE).content


def test_a_scheduled_issue_saved_before_its_time_then_its_time_passing(
    client, admin_client, entry, monkeypatch
):
    paths = pages(entry)
    draft = Issue.objects.get(slug="draft-x")
    due = timezone.now() + datetime.timedelta(hours=1)
    check(
        client,
        paths,
        lambda: draft.publish(when=due),
        purged=[],
        kept=list(paths),  # not public yet: nothing changed for readers
    )
    later = due + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    made_again = after_change(client, paths)
    assert made_again["home"] and made_again["issues"]
    assert "草稿" in client.get("/issues/").content.decode()


def test_an_entry_deleted(client, admin_client, entry):
    paths = pages(entry)
    url = reverse("admin:papers_entry_delete", args=[entry.pk])
    check(
        client,
        paths,
        lambda: admin_client.post(url, {"post": "yes"}),
        purged=["issue", "section", "tag", "tags", "sections", "entries", "paper"],
        kept=["home", "other issue", "other tag", "other section", "english other issue"],
    )
    assert not Entry.objects.filter(pk=entry.pk).exists()


def test_a_draft_saved_purges_nothing(client, admin_client, entry):
    paths = pages(entry)
    draft_entry = Entry.objects.get(title="Draft Paper")
    issue_url = reverse("admin:papers_issue_change", args=[draft_entry.issue_id])

    def save_draft_twice():
        edit_entry(admin_client, draft_entry, summary="草稿里的新摘要。")
        data = form_data(admin_client.get(issue_url), "issue_form")
        data["title"] = "草稿（改过标题）"
        assert admin_client.post(issue_url, data).status_code == 302

    check(client, paths, save_draft_twice, purged=[], kept=list(paths))


def test_big_pages_carry_their_lists_not_every_row(db):
    """An issue of 120 entries and 400 tags: its pages carry the lists that
    every change of those rows purges (reading.page_keys.compacted), not one
    key per row; thousands of keys would not fit in a front cache's header."""
    section = SectionFactory()
    issue = IssueFactory(slug="big")
    tags = [f"标签{n}" for n in range(400)]
    for n in range(120):
        EntryFactory(issue=issue, section=section, tags=tags[n * 3 : n * 3 + 5])
    client = Client()
    for path in ["/issues/big/", "/", "/feeds/issues.atom", "/tags/", "/issues/big/papers.bib"]:
        keys = client.get(path).page_render.keys
        rows = [key for key in keys if ROW_KEY.fullmatch(key)]
        assert rows == [], (path, sorted(rows)[:5])
        assert len(" ".join(keys)) < 2000, (path, len(keys))
    # What those lists stand for is still purged: a tag renamed, an entry edited.
    paths = ["/issues/big/", "/", "/tags/"]
    for change in [rename_a_tag, edit_an_entry]:
        change(issue)
        for path in paths:
            served = client.get(path)
            with override_settings(PAGE_CACHE=False):
                assert served.content == client.get(path).content, (change.__name__, path)


def rename_a_tag(issue):
    tag = Tag.objects.get(name="标签7")
    tag.name = "改名的标签"
    tag.save()


def edit_an_entry(issue):
    entry = issue.entries.last()
    entry.summary = "改过的摘要"
    entry.save()


ROW_KEY = re.compile(r"(entry|tag)-\d+")  # an issue's and a section's are few
