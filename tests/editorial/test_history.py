"""Revision history: every admin save is kept; compare and restore."""

import itertools
import os
import re

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reversion.models import Version

from bench.common.admin_form import form_data
from papers.models import Issue, TaggedEntry
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def test_every_save_is_kept_with_who_and_when(client, edited_issue):
    versions = Version.objects.get_for_object(edited_issue)
    assert versions.count() == 2
    assert {v.revision.user.username for v in versions} == {"publisher"}
    history = client.get(reverse("admin:papers_issue_history", args=[edited_issue.pk]))
    assert history.status_code == 200
    assert history.content.decode().count("publisher") >= 2


def test_the_compare_view_shows_what_changed(client, edited_issue):
    newer, older = Version.objects.get_for_object(edited_issue)
    url = reverse("admin:papers_issue_compare", args=[edited_issue.pk])
    response = client.get(url, {"version_id1": older.pk, "version_id2": newer.pk})
    assert response.status_code == 200
    text = BeautifulSoup(response.content, "html.parser").get_text()
    assert "第一版标题" in text and "第二版标题" in text


def test_restoring_an_old_version_brings_back_entries_and_tags(client, edited_issue):
    older = Version.objects.get_for_object(edited_issue).last()
    url = reverse("admin:papers_issue_revision", args=[edited_issue.pk, older.pk])
    form = client.get(url)
    assert form.status_code == 200
    data = form_data(form, "issue_form")
    assert data["title"] == "第一版标题" and data["entries-0-summary"] == "第一版摘要"
    assert client.post(url, data).status_code == 302
    edited_issue.refresh_from_db()
    entry = edited_issue.entries.get()
    assert edited_issue.title == "第一版标题"
    assert entry.summary == "第一版摘要" and entry.summary_html == "<p>第一版摘要</p>"
    assert sorted(entry.tags.names()) == ["安全", "对齐"]
    assert Version.objects.get_for_object(edited_issue).count() == 3


@pytest.mark.parametrize("entries", [1, 6])
def test_a_version_of_an_issue_costs_no_query_per_tag_link(client, publisher_user, entries):
    """A version records each tag link by name ("<entry> tagged with <tag>"):
    with the links' tags and entries loaded with them, saving an issue costs
    the same queries per entry whatever its tags (it cost two more per link)."""
    issue = IssueFactory(status=Issue.Status.DRAFT)
    for _ in range(entries):
        EntryFactory(issue=issue, tags=["对齐", "安全", "RAG", "推理"])
    client.force_login(publisher_user)
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, {**data, "intro": "新的导言"}).status_code == 302
    one_by_one = [q["sql"] for q in queries if ONE_TAG_OR_ENTRY.search(q["sql"])]
    assert len(one_by_one) <= entries + 2, one_by_one[:6]
    assert len(Version.objects.get_for_model(TaggedEntry)) >= 4 * entries


ONE_TAG_OR_ENTRY = re.compile(r'FROM "papers_(tag|entry)" WHERE "papers_\1"\."id" = ')


def test_a_restore_does_not_let_an_old_form_overwrite_it(client, edited_issue):
    """After a restore the token is new, so a form opened before still conflicts."""
    url = reverse("admin:papers_issue_change", args=[edited_issue.pk])
    stale = form_data(client.get(url), "issue_form")
    older = Version.objects.get_for_object(edited_issue).last()
    revision_url = reverse("admin:papers_issue_revision", args=[edited_issue.pk, older.pk])
    client.post(revision_url, form_data(client.get(revision_url), "issue_form"))
    stale["title"] = "过时的表单"
    response = client.post(url, stale)
    assert response.status_code == 200 and "保存未成功" in response.content.decode()


def test_an_imported_roundup_starts_its_history(seed, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    source = tmp_path / "roundup.md"
    text = StringIO()
    call_command("export_roundup", seed.slug, stdout=text)
    source.write_text(
        text.getvalue().replace("slug: 2024-06-h2", "slug: imported"), encoding="utf-8"
    )
    call_command("import_roundup", str(source), stdout=StringIO())
    imported = Issue.objects.get(slug="imported")
    (version,) = Version.objects.get_for_object(imported)
    assert version.revision.comment == "从 Markdown 导入（roundup.md）"


# Restore brings back content, never publication -----------------------------


def versions_of(obj):
    """The object's versions, newest first."""
    return list(Version.objects.get_for_object(obj))


def publication(issue):
    issue.refresh_from_db()
    return issue.status, issue.published_at


def restore(client, issue, version, **overrides):
    """Open the restore page of ``version`` and save it as a browser would."""
    url = reverse("admin:papers_issue_revision", args=[issue.pk, version.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = form_data(page, "issue_form")
    data.update(overrides)
    return client.post(url, data)


@pytest.fixture
def published_then_unpublished(client, edited_issue):
    """The edited issue, published and taken offline again by its publisher:
    its history now holds a version saved while it was public."""
    for action in ("publish", "unpublish"):
        url = reverse(f"admin:papers_issue_{action}", args=[edited_issue.pk])
        assert client.post(url).status_code == 302
    edited_issue.refresh_from_db()
    assert edited_issue.status == Issue.Status.DRAFT
    client.logout()
    return edited_issue


def public_version(issue):
    return next(v for v in versions_of(issue) if v.field_dict["status"] == "published")


@pytest.mark.parametrize("role", ["editor_user", "publisher_user"])
def test_restoring_a_published_version_of_a_draft_keeps_it_a_draft(
    client, published_then_unpublished, role, request
):
    issue = published_then_unpublished
    client.force_login(request.getfixturevalue(role))
    before = publication(issue)
    response = restore(client, issue, public_version(issue))
    assert response.status_code == 302
    assert publication(issue) == before
    assert not Issue.objects.published().filter(pk=issue.pk).exists()


@pytest.mark.parametrize("role", ["editor_user", "publisher_user"])
def test_restoring_a_draft_version_of_a_published_issue_keeps_it_public(
    client, edited_issue, role, request
):
    publish = reverse("admin:papers_issue_publish", args=[edited_issue.pk])
    assert client.post(publish).status_code == 302  # by the publisher
    draft_version = versions_of(edited_issue)[-1]
    assert draft_version.field_dict["status"] == "draft"
    client.force_login(request.getfixturevalue(role))
    before = publication(edited_issue)
    response = restore(client, edited_issue, draft_version)
    assert response.status_code == 302
    assert publication(edited_issue) == before
    assert Issue.objects.published().filter(pk=edited_issue.pk).exists()
    assert edited_issue.title == "第一版标题"  # the content did come back


@pytest.mark.parametrize("role", ["editor_user", "publisher_user"])
def test_a_crafted_restore_post_cannot_publish(client, edited_issue, role, request):
    """Status fields typed into the POST by hand are ignored on a restore."""
    client.force_login(request.getfixturevalue(role))
    response = restore(
        client,
        edited_issue,
        versions_of(edited_issue)[-1],
        status="published",
        published_at_0="2024-07-16",
        published_at_1="08:00:00",
    )
    assert response.status_code in (302, 403)
    assert publication(edited_issue) == (Issue.Status.DRAFT, None)


def test_the_restore_page_offers_no_status_fields_and_says_so(
    client, published_then_unpublished, publisher_user
):
    client.force_login(publisher_user)
    issue = published_then_unpublished
    url = reverse("admin:papers_issue_revision", args=[issue.pk, public_version(issue).pk])
    page = client.get(url)
    data = form_data(page, "issue_form")
    assert "status" not in data and "published_at_0" not in data
    text = BeautifulSoup(page.content, "html.parser").get_text()
    assert "发布状态不变" in text


def test_restoring_an_entry_changes_that_entry_only(
    client, published_then_unpublished, editor_user
):
    issue = published_then_unpublished
    client.force_login(editor_user)
    entry = issue.entries.get()
    before = publication(issue)
    issue.title = "后来改的标题"
    issue.save()
    old = versions_of(entry)[-1]  # saved with the issue while it was a draft
    url = reverse("admin:papers_entry_revision", args=[entry.pk, old.pk])
    data = form_data(client.get(url), "entry_form")
    assert client.post(url, data).status_code == 302
    entry.refresh_from_db()
    assert entry.summary == "第一版摘要" and sorted(entry.tags.names()) == ["安全", "对齐"]
    assert publication(issue) == before
    assert issue.title == "后来改的标题"


def test_restoring_an_entry_from_a_public_version_leaves_the_issue_a_draft(
    client, published_then_unpublished, editor_user
):
    issue = published_then_unpublished
    entry = issue.entries.get()
    saved_while_public = next(
        v
        for v in versions_of(entry)
        if any(
            o.field_dict.get("status") == "published"
            for o in v.revision.version_set.all()
            if o.object_id == str(issue.pk) and o.content_type.model == "issue"
        )
    )
    before = publication(issue)
    client.force_login(editor_user)
    url = reverse("admin:papers_entry_revision", args=[entry.pk, saved_while_public.pk])
    assert client.post(url, form_data(client.get(url), "entry_form")).status_code == 302
    assert publication(issue) == before
    assert not Issue.objects.published().exists()


@pytest.mark.parametrize("role", ["editor_user", "publisher_user"])
def test_a_recovered_issue_comes_back_as_a_draft(client, edited_issue, role, request):
    publish = reverse("admin:papers_issue_publish", args=[edited_issue.pk])
    assert client.post(publish).status_code == 302
    pk = edited_issue.pk
    edited_issue.delete()
    client.force_login(request.getfixturevalue(role))
    listing = client.get(reverse("admin:papers_issue_recoverlist"))
    assert listing.status_code == 200
    deleted = Version.objects.get_deleted(Issue).get()
    assert deleted.field_dict["status"] == "published"
    url = reverse("admin:papers_issue_recover", args=[deleted.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = form_data(page, "issue_form")
    data.update(status="published", published_at_0="2024-07-16", published_at_1="08:00:00")
    assert client.post(url, data).status_code == 302
    recovered = Issue.objects.get(pk=pk)
    assert (recovered.status, recovered.published_at) == (Issue.Status.DRAFT, None)
    assert recovered.entries.count() == 1
    assert not Issue.objects.published().exists()


def test_a_recovered_entry_leaves_its_issue_as_it_is(
    client, published_then_unpublished, editor_user
):
    issue = published_then_unpublished
    entry = issue.entries.get()
    before = publication(issue)
    entry.delete()
    client.force_login(editor_user)
    deleted = Version.objects.get_deleted(entry.__class__).get()
    url = reverse("admin:papers_entry_recover", args=[deleted.pk])
    assert client.post(url, form_data(client.get(url), "entry_form")).status_code == 302
    assert issue.entries.count() == 1
    assert publication(issue) == before


# Any history, any version: a restore is content only ---------------------------

RESTORE_EXAMPLES = int(os.environ.get("RESTORE_EXAMPLES", "6"))
_slugs = itertools.count(1)

SAVE = st.fixed_dictionaries(
    {
        "title": st.sampled_from(["第一版", "第二版", "Third version", "第四版 v4"]),
        "intro": st.sampled_from(["", "导言一", "Intro **two**"]),
        "summary": st.sampled_from(["摘要甲", "摘要乙，改过", "A summary in English"]),
        "tags": st.sampled_from(["", "对齐", "对齐、安全", "幻觉，RAG"]),
        "add_entry": st.booleans(),
        "swap": st.booleans(),
    }
)
ACTION = st.one_of(
    st.tuples(st.just("save"), SAVE),
    st.tuples(st.just("publish"), st.none()),
    st.tuples(st.just("unpublish"), st.none()),
)


def content_of(issue):
    """What a restore must bring back: the issue's content and its entries'."""
    issue.refresh_from_db()
    entries = sorted(
        (e.pk, e.title, e.summary, e.section_id, e.position, tuple(sorted(e.tags.names())))
        for e in issue.entries.all()
    )
    return (issue.title, issue.slug, issue.intro, issue.source_url, entries)


def save_in_admin(client, issue, change):
    url = reverse("admin:papers_issue_change", args=[issue.pk])
    data = form_data(client.get(url), "issue_form")
    data.update(title=change["title"], intro=change["intro"])
    data.update({"entries-0-summary": change["summary"], "entries-0-tags": change["tags"]})
    existing = int(data["entries-INITIAL_FORMS"])
    if change["swap"] and existing >= 2:
        first, second = data["entries-0-position"], data["entries-1-position"]
        data["entries-0-position"], data["entries-1-position"] = second, first
    if change["add_entry"]:
        n = next(_slugs)
        data.update(
            {
                f"entries-{existing}-section": data["entries-0-section"],
                f"entries-{existing}-position": str(100 + n),
                f"entries-{existing}-title": f"Added paper {n}",
                f"entries-{existing}-arxiv_id": f"2407.{20000 + n}",
                f"entries-{existing}-summary": f"新加的第 {n} 条",
            }
        )
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


@settings(
    max_examples=RESTORE_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    actions=st.lists(ACTION, min_size=1, max_size=5),
    pick=st.integers(min_value=0),
    role=st.sampled_from(["editor", "publisher"]),
)
def test_any_restore_keeps_publication_and_brings_back_that_versions_content(
    client, editor_user, publisher_user, actions, pick, role
):
    section = SectionFactory()
    client.force_login(publisher_user)
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    slug = f"any-{next(_slugs)}"
    data.update(
        title="初稿",
        slug=slug,
        period_start="2024-07-01",
        period_end="2024-07-15",
        intro="",
        status="draft",
    )
    data.update(
        {
            "entries-0-section": str(section.pk),
            "entries-0-position": "1",
            "entries-0-title": "First",
            "entries-0-arxiv_id": "2407.00001",
            "entries-0-summary": "摘要",
        }
    )
    assert client.post("/admin/papers/issue/add/", data).status_code == 302
    issue = Issue.objects.get(slug=slug)
    contents = [content_of(issue)]  # one per version, oldest first
    for action, change in actions:
        if action == "save":
            save_in_admin(client, issue, change)
        else:
            url = reverse(f"admin:papers_issue_{action}", args=[issue.pk])
            assert client.post(url).status_code == 302
        contents.append(content_of(issue))
    versions = versions_of(issue)[::-1]
    assert len(versions) == len(contents)
    chosen = pick % len(versions)

    client.force_login(editor_user if role == "editor" else publisher_user)
    before = publication(issue)
    assert restore(client, issue, versions[chosen]).status_code == 302
    assert publication(issue) == before
    assert content_of(issue) == contents[chosen]
    public = Issue.objects.published().filter(pk=issue.pk).exists()
    assert public == (before[0] != Issue.Status.DRAFT)


def test_opening_the_restore_page_leaves_the_public_pages_cached(client, edited_issue):
    """Showing the restore form restores in a transaction that is rolled back:
    nothing public changed, so no page may be thrown away."""
    from reading import page_cache

    older = Version.objects.get_for_object(edited_issue).last()
    state = page_cache.read_state()[0]
    url = reverse("admin:papers_issue_revision", args=[edited_issue.pk, older.pk])
    assert client.get(url).status_code == 200
    after = page_cache.read_state()[0]
    assert (after.token, after.purges_done) == (state.token, state.purges_done)
