"""What the admin says and shows: an issue is 期 (never 期刊), every name and
message in Chinese, our app first, and no way to delete a section from an
entry's row."""

import importlib
import re

import pytest
from bs4 import BeautifulSoup
from django.apps import apps
from django.contrib.auth.models import Permission, User

from bench.common.admin_form import form_data
from papers.models import Issue, Section, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client):
    user = User.objects.create_superuser("boss", "boss@example.org", "x")
    client.force_login(user)
    return user


@pytest.fixture
def editor(client, editor_user):
    client.force_login(editor_user)
    return editor_user


def admin_pages(issue, entry):
    return [
        "/admin/",
        "/admin/papers/",
        "/admin/papers/issue/",
        "/admin/papers/issue/add/",
        f"/admin/papers/issue/{issue.pk}/change/",
        f"/admin/papers/issue/{issue.pk}/history/",
        "/admin/papers/entry/",
        f"/admin/papers/entry/{entry.pk}/change/",
        "/admin/auth/group/add/",
        "/admin/axes/accessattempt/",
    ]


def test_an_issue_is_called_qi_everywhere_in_the_admin(client, superuser, seed):
    entry = seed.entries.first()
    for url in admin_pages(seed, entry):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "期刊" not in response.content.decode(), url
    assert not Permission.objects.filter(name__contains="期刊").exists()
    assert Issue._meta.verbose_name == "期"


def test_existing_databases_get_the_new_permission_names():
    """Permission rows are made once, after the first migration; renaming the
    model does not rename them, so the migration does."""
    migration = importlib.import_module("papers.migrations.0006_wording")
    for codename, (old, _new) in migration.PERMISSION_NAMES.items():
        Permission.objects.filter(codename=codename, content_type__app_label="papers").update(
            name=old
        )
    assert Permission.objects.filter(name__contains="期刊").count() == 5

    migration.rename_permissions(apps, schema_editor=None)
    assert not Permission.objects.filter(name__contains="期刊").exists()
    assert Permission.objects.get(codename="publish_issue").name == "可以发布、定时发布和撤回一期"

    migration.restore_permission_names(apps, schema_editor=None)
    assert Permission.objects.get(codename="add_issue").name == "Can add 期刊"


def test_the_admin_index_is_all_chinese_with_our_app_first(client, superuser):
    html = client.get("/admin/").content.decode()
    soup = BeautifulSoup(html, "html.parser")
    apps_listed = [caption.get_text(strip=True) for caption in soup.select("#content-main caption")]
    assert apps_listed[0] == "论文双周报", apps_listed
    models_listed = [a.get_text(strip=True) for a in soup.select("#content-main th a")]
    for name in models_listed + apps_listed:
        assert not re.search(r"[A-Za-z]", name), name
    assert "登录日志" in models_listed


def test_entry_rows_have_no_add_change_or_delete_section_links(client, editor, seed):
    entry = seed.entries.first()
    for url in (
        f"/admin/papers/issue/{seed.pk}/change/",
        "/admin/papers/issue/add/",
        f"/admin/papers/entry/{entry.pk}/change/",
        "/admin/papers/entry/add/",
    ):
        soup = BeautifulSoup(client.get(url).content, "html.parser")
        links = soup.select(".field-section .related-widget-wrapper-link")
        assert not links, (url, links)
        assert soup.select(".field-section select"), url


# Field names (and the words Django puts into its messages for them) an
# editor must never read in a message.
FIELD_NAMES = re.compile(
    r"\b(title|slug|period_start|period_end|intro|status|published_at|source_url|section|"
    r"position|arxiv_id|url|authors|summary|tags|name|description|issue|__all__)\b"
)


def error_texts(response):
    """Every error message the page shows."""
    soup = BeautifulSoup(response.content, "html.parser")
    texts = [node.get_text(" ", strip=True) for node in soup.select(".errorlist li, .errornote")]
    assert texts, "the form was accepted"
    return texts


def assert_chinese_messages(response):
    assert response.status_code == 200
    for text in error_texts(response):
        assert not FIELD_NAMES.search(text), text
        assert "“字段”" not in text, text  # Django's Chinese for "slug" says "field"


def test_issue_form_messages_name_fields_in_chinese(client, publisher_user):
    client.force_login(publisher_user)
    IssueFactory(slug="taken")
    data = form_data(client.get("/admin/papers/issue/add/"), "issue_form")
    data.update(
        title="",
        slug="taken",
        period_start="2024-07-15",
        period_end="2024-07-01",
        status="scheduled",
        published_at_0="",
        published_at_1="",
        source_url="not a url",
    )
    assert_chinese_messages(client.post("/admin/papers/issue/add/", data))
    data.update(
        title="一期",
        slug="has space",
        period_start="2024-07-01",
        period_end="2024-06-01",
        status="published",
    )
    assert_chinese_messages(client.post("/admin/papers/issue/add/", data))


def test_entry_form_messages_name_fields_in_chinese(client, publisher_user):
    client.force_login(publisher_user)
    issue, section = IssueFactory(), SectionFactory()
    EntryFactory(issue=issue, section=section, position=1, arxiv_id="2406.15877")
    data = form_data(client.get("/admin/papers/entry/add/"), "entry_form")
    data.update(
        issue=str(issue.pk),
        section=str(section.pk),
        position="1",
        title="",
        arxiv_id="",
        url="",
        summary="",
    )
    assert_chinese_messages(client.post("/admin/papers/entry/add/", data))
    data.update(title="x", arxiv_id="not an id", url="ftp://x", summary="x", position="-1")
    assert_chinese_messages(client.post("/admin/papers/entry/add/", data))


def test_section_and_tag_form_messages_name_fields_in_chinese(client, publisher_user):
    client.force_login(publisher_user)
    Section.objects.create(name="RAG", slug="rag")
    Tag.objects.create(name="RAG", slug="rag")
    data = {"name": "RAG", "slug": "rag", "description": "", "position": "x"}
    assert_chinese_messages(client.post("/admin/papers/section/add/", data))
    assert_chinese_messages(client.post("/admin/papers/section/add/", {"name": "", "slug": ""}))
    assert_chinese_messages(client.post("/admin/papers/tag/add/", {"name": "rag", "slug": "x"}))
    assert_chinese_messages(client.post("/admin/papers/tag/add/", {"name": "RAG", "slug": "rag"}))
    assert_chinese_messages(client.post("/admin/papers/tag/add/", {"name": "", "slug": ""}))
