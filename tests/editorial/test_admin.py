"""The editors' admin, driven through its own add and change forms."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth.models import Permission, User

from bench.common.admin_form import form_data
from papers.models import Entry, Issue, Tag
from tests.factories import EntryFactory, IssueFactory, SectionFactory
from tests.support.admin import fill_entry

pytestmark = pytest.mark.django_db

ADD_ISSUE = "/admin/papers/issue/add/"


@pytest.fixture
def editor(client):
    user = User.objects.create_user("editor", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="papers"))
    client.force_login(user)
    return user


def test_an_editor_writes_an_issue_with_entries_and_tags_then_readers_see_it(client, editor):
    rag = SectionFactory(name="RAG", slug="rag", position=1)
    safety = SectionFactory(name="LLM安全与对齐", slug="safety", position=2)
    Tag.objects.create(name="RAG", slug="rag")

    data = form_data(client.get(ADD_ISSUE), "issue_form")
    assert data["entries-TOTAL_FORMS"] == "1"
    data.update(
        title="2024年7月上半月论文",
        slug="2024-07-h1",
        period_start="2024-07-01",
        period_end="2024-07-15",
        intro="本期**重点**是检索增强。",
        status="published",
        source_url="",
        published_at_0="",
        published_at_1="",
    )
    data["entries-TOTAL_FORMS"] = "2"
    fill_entry(
        data,
        0,
        section=str(rag.pk),
        position="1",
        title="LongRAG",
        arxiv_id="https://arxiv.org/abs/2406.15319v2",
        url="",
        authors="Ziyan Jiang",
        summary="长检索单元，*读取器*也更长。",
        tags="rag，长上下文、检索增强生成",
    )
    fill_entry(
        data,
        1,
        section=str(safety.pk),
        position="1",
        title="WildTeaming",
        arxiv_id="arXiv:2406.18510",
        url="",
        authors="",
        summary="从真实对话中挖掘越狱手法。",
        tags="红队测试；越狱攻击",
    )
    response = client.post(ADD_ISSUE, data)
    assert response.status_code == 302, BeautifulSoup(response.content, "html.parser").find(
        class_="errornote"
    )

    issue = Issue.objects.get(slug="2024-07-h1")
    assert Issue.objects.published().filter(pk=issue.pk).exists()
    assert issue.intro_html == "<p>本期<strong>重点</strong>是检索增强。</p>"
    longrag, wild = issue.entries.order_by("section__position")
    assert longrag.arxiv_id == "2406.15319" and wild.arxiv_id == "2406.18510"
    assert sorted(longrag.tags.names()) == ["RAG", "检索增强生成", "长上下文"]
    assert sorted(wild.tags.names()) == ["红队测试", "越狱攻击"]
    assert Tag.objects.filter(name__iexact="rag").count() == 1

    client.logout()
    page = client.get("/issues/2024-07-h1/").content.decode()
    assert "LongRAG" in page and "WildTeaming" in page and "<em>读取器</em>" in page
    assert "2024-07-h1" in client.get("/issues/").content.decode()
    tag_page = client.get("/tags/长上下文/")
    assert [e.title for e in tag_page.context["entries"]] == ["LongRAG"]


def test_the_tag_inputs_suggest_existing_tags_most_used_first(client, editor, seed):
    soup = BeautifulSoup(client.get(ADD_ISSUE).content, "html.parser")
    assert soup.find("input", id="id_entries-0-tags")["list"] == "tag-suggestions"
    names = [option["value"] for option in soup.find("datalist", id="tag-suggestions")("option")]
    assert names[0] == "基准测试" and set(names) == set(Tag.objects.values_list("name", flat=True))
    assert soup.find("script", src=lambda src: src and "tag-input" in src)


def test_a_bad_arxiv_id_is_reported_and_what_the_editor_typed_stays(client, editor):
    section = SectionFactory()
    data = form_data(client.get(ADD_ISSUE), "issue_form")
    data.update(
        title="有错的一期",
        slug="bad",
        period_start="2024-07-01",
        period_end="2024-07-15",
        status="draft",
    )
    fill_entry(
        data,
        0,
        section=str(section.pk),
        position="1",
        title="Some paper",
        arxiv_id="arxiv.org/list/whatever",
        summary="我写了很长的摘要，不想丢。",
        tags="幻觉、对齐",
    )
    response = client.post(ADD_ISSUE, data)
    assert response.status_code == 200
    assert not Issue.objects.filter(slug="bad").exists()
    html = response.content.decode()
    assert "不是 arXiv 编号" in html
    again = form_data(response, "issue_form")
    assert again["entries-0-arxiv_id"] == "arxiv.org/list/whatever"
    assert again["entries-0-summary"] == "我写了很长的摘要，不想丢。"
    assert again["title"] == "有错的一期"


def test_an_entry_needs_an_arxiv_id_or_a_url_in_the_form(client, editor):
    section = SectionFactory()
    data = form_data(client.get(ADD_ISSUE), "issue_form")
    data.update(
        title="t", slug="t", period_start="2024-07-01", period_end="2024-07-15", status="draft"
    )
    fill_entry(
        data,
        0,
        section=str(section.pk),
        position="1",
        title="No link",
        arxiv_id="",
        url="",
        summary="s",
    )
    response = client.post(ADD_ISSUE, data)
    assert response.status_code == 200
    assert "请填写 arXiv 编号或链接" in response.content.decode()


def test_an_editor_reorders_entries_by_swapping_positions(client, editor):
    issue, section = IssueFactory(slug="swap"), SectionFactory()
    first = EntryFactory(issue=issue, section=section, position=1, title="First")
    second = EntryFactory(issue=issue, section=section, position=2, title="Second")
    url = f"/admin/papers/issue/{issue.pk}/change/"
    data = form_data(client.get(url), "issue_form")
    rows = {data[f"entries-{i}-id"]: i for i in range(int(data["entries-INITIAL_FORMS"]))}
    data[f"entries-{rows[str(first.pk)]}-position"] = "2"
    data[f"entries-{rows[str(second.pk)]}-position"] = "1"
    response = client.post(url, data)
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.position, second.position) == (2, 1)
    page = client.get("/issues/swap/").content.decode()
    assert page.index("Second") < page.index("First")


def test_two_entries_at_one_position_are_refused_before_saving(client, editor):
    issue, section = IssueFactory(slug="dup"), SectionFactory()
    first = EntryFactory(issue=issue, section=section, position=1, title="First")
    EntryFactory(issue=issue, section=section, position=2, title="Second")
    url = f"/admin/papers/issue/{issue.pk}/change/"
    data = form_data(client.get(url), "issue_form")
    for i in range(2):
        data[f"entries-{i}-position"] = "1"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert sorted(Entry.objects.filter(issue=issue).values_list("position", flat=True)) == [1, 2]
    first.refresh_from_db()
    assert first.position == 1


def test_an_entry_edited_on_its_own(client, editor):
    issue, section = IssueFactory(), SectionFactory()
    entry = EntryFactory(issue=issue, section=section, tags=["幻觉"])
    url = f"/admin/papers/entry/{entry.pk}/change/"
    data = form_data(client.get(url), "entry_form")
    data.update(arxiv_id="https://arxiv.org/pdf/2406.15927v1", tags="幻觉，不确定性估计")
    assert client.post(url, data).status_code == 302
    entry.refresh_from_db()
    assert entry.arxiv_id == "2406.15927"
    assert sorted(entry.tags.names()) == ["不确定性估计", "幻觉"]


@pytest.mark.parametrize(
    "url",
    [
        "/admin/papers/issue/",
        "/admin/papers/issue/?status__exact=published&q=论文",
        "/admin/papers/entry/",
        "/admin/papers/entry/?q=BigCodeBench&section__id__exact=1",
        "/admin/papers/section/",
        "/admin/papers/tag/?q=长",
    ],
)
def test_admin_lists_with_filters_and_search(client, editor, seed, url):
    assert client.get(url).status_code == 200


def test_the_issue_list_shows_status_period_and_entry_count(client, editor, seed):
    response = client.get("/admin/papers/issue/")
    html = response.content.decode()
    assert "2024-06-16 – 2024-06-30" in html
    assert "已发布" in html
    assert response.context["cl"].result_list[0].entry_count == 20


def test_view_on_site_reaches_the_public_page(client, editor, seed):
    html = client.get(f"/admin/papers/issue/{seed.pk}/change/").content.decode()
    link = BeautifulSoup(html, "html.parser").find("a", class_="viewsitelink")["href"]
    assert link == "/issues/2024-06-h2/"  # drafts open the preview (test_view_on_site.py)
    assert client.get(link).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "reader"])
def test_only_staff_reach_the_admin(client, db, who):
    if who == "reader":
        client.force_login(User.objects.create_user("reader", password="x"))
    response = client.get(ADD_ISSUE)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(ADD_ISSUE, {"title": "x"}).status_code == 302
    assert not Issue.objects.exists()
