"""The issue as a WeChat 公众号 article: HTML that keeps its looks in inline
styles only, every link a numbered reference, hostile text still text, and the
page for staff only."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from editorial import wechat
from papers.models import Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory, StaffFactory, UserFactory
from tests.support.admin import signed_in

pytestmark = pytest.mark.django_db

HOSTILE_TITLE = "<script>alert('t')</script> \"Quoted\" & <b>bold</b> 🚀 论文"
HOSTILE_SUMMARY = (
    '看[这里](javascript:alert(1)) 和 [arXiv](https://arxiv.org/abs/2406.00001 "t") '
    '<a href="javascript:alert(2)">raw</a> <img src=x onerror=alert(3)> '
    '<script>alert(4)</script> "引号" 😀'
)


def wechat_url(issue):
    return reverse("admin:papers_issue_wechat", args=[issue.pk])


class Article(HTMLParser):
    """What the invariants look at: every tag and attribute, the text, and the
    reference list (the paragraphs after the "参考链接" heading)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.text = [], [], []
        self._in_references = False
        self.reference_lines = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)

    def handle_data(self, data):
        self.text.append(data)
        if data.strip() == "参考链接":
            self._in_references = True
        elif self._in_references and data.strip():
            self.reference_lines.append(data.strip())

    @property
    def body_text(self):
        """The text before the reference list."""
        text = "".join(self.text)
        return text.split("参考链接", 1)[0]

    @property
    def references(self):
        """{number: "title: url"} from the list at the end."""
        parsed = {}
        for line in self.reference_lines:
            number, rest = re.fullmatch(r"\[(\d+)\] (.*)", line, re.DOTALL).groups()
            assert number not in parsed, f"reference [{number}] listed twice"
            parsed[int(number)] = rest
        return parsed


def assert_fit_for_wechat(html):
    """The invariants of every article: nothing WeChat drops or refuses."""
    article = Article(html)
    assert set(article.tags) <= wechat.ARTICLE_TAGS, set(article.tags) - wechat.ARTICLE_TAGS
    assert not {"style", "script", "a", "img", "iframe"} & set(article.tags)
    assert set(article.attributes) <= {"style"}, set(article.attributes)
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", article.body_text)}
    assert marks == set(article.references), (marks, article.references)
    assert sorted(article.references) == list(range(1, len(article.references) + 1))
    for line in article.references.values():
        assert re.search(r"(^|: )https?://\S+$", line), line
    return article


def test_an_issue_becomes_a_styled_article_with_references(seed):
    html = wechat.article_html(seed)
    article = assert_fit_for_wechat(html)
    assert html.startswith("<section style=") and "max-width: 677px" in html
    assert "line-height: 1.75" in html
    entries = list(seed.entries.all())
    urls = [line.rsplit(": ", 1)[-1] for line in article.references.values()]
    for entry in entries:
        assert f"https://arxiv.org/abs/{entry.arxiv_id}" in urls
        assert f"arXiv:{entry.arxiv_id}" in article.body_text
    text = "".join(article.text)
    assert seed.title in text and "参考链接" in text
    positions = [text.index(entry.title) for entry in seed.entries.in_issue_order()]
    assert positions == sorted(positions), "entries out of issue order"


def test_tags_are_plain_text_and_sections_are_headings():
    issue = IssueFactory(intro="")
    section = SectionFactory(name="LLM推理")
    EntryFactory(issue=issue, section=section, tags=["RAG", "幻觉"])
    article = Article(wechat.article_html(issue))
    assert "标签：RAG · 幻觉" in "".join(article.text)
    assert article.tags.count("h2") == 2  # the issue's title and its one section
    assert article.tags.count("h3") == 2  # the entry and the reference list


def test_the_same_address_keeps_its_number_and_each_reference_its_title():
    issue = IssueFactory(
        intro="见[BigCodeBench](https://arxiv.org/abs/2406.15877)与<https://example.org/x>。"
    )
    EntryFactory(issue=issue, title="BigCodeBench paper", arxiv_id="2406.15877")
    article = assert_fit_for_wechat(wechat.article_html(issue))
    assert article.references == {
        1: "BigCodeBench: https://arxiv.org/abs/2406.15877",
        2: "https://example.org/x",
    }
    assert article.body_text.count("[1]") == 2


def test_hostile_text_stays_text_and_never_becomes_a_link():
    issue = IssueFactory(title=HOSTILE_TITLE, intro=HOSTILE_SUMMARY)
    entry = EntryFactory(
        issue=issue,
        title=HOSTILE_TITLE,
        summary=HOSTILE_SUMMARY,
        authors='A "B" <i>C</i>',
        tags=["<script>", "🔥"],
    )
    html = wechat.article_html(issue)
    article = assert_fit_for_wechat(html)
    text = "".join(article.text)
    assert "<script>alert('t')</script>" in text  # shown as the editor typed it
    assert "&lt;script&gt;alert(" in html and "<script" not in html
    assert "javascript" not in html.lower() and "onerror" not in html
    assert "🚀" in text and "😀" in text and '"引号"' in text and "标签：<script> · 🔥" in text
    # The safe link became a reference; the javascript: ones kept only their text.
    assert set(article.references.values()) == {
        "arXiv: https://arxiv.org/abs/2406.00001",
        f"{HOSTILE_TITLE}: https://arxiv.org/abs/{entry.arxiv_id}",
    }
    assert "看这里 和" in text and " raw " in text  # their text, unlinked


def test_links_the_renderer_would_refuse_never_become_references():
    """``*_html`` written past the renderer (an update in SQL) still gives no
    link and no javascript: address, even as text."""
    issue = IssueFactory()
    entry = EntryFactory(issue=issue)
    type(entry).objects.filter(pk=entry.pk).update(
        summary_html='<p><a href="javascript:alert(1)" class="x" id="y" onclick="z()">go</a>'
        "<script>alert(2)</script><style>p{}</style></p>"
    )
    html = wechat.article_html(issue)
    assert_fit_for_wechat(html)
    assert "javascript" not in html and "alert" not in html and "go" in html


MARKDOWN_PIECES = st.one_of(
    st.text(max_size=30),
    st.builds(
        "[{}]({})".format,
        st.text(max_size=15),
        st.sampled_from(
            [
                "https://arxiv.org/abs/2406.15877",
                "http://example.org/a?b=1&c=<2>",
                "javascript:alert(1)",
                "JaVaScRiPt:alert(1)",
                "data:text/html,<script>alert(1)</script>",
                "mailto:a@example.org",
                "/relative",
                "https://例子.测试/路径",
            ]
        ),
    ),
    st.sampled_from(
        ["<a href='https://x.org'>x</a>", "<script>alert(1)</script>", "**粗**", "\n\n"]
    ),
)
MARKDOWN = st.lists(MARKDOWN_PIECES, max_size=6).map("".join)
TITLES = st.text(min_size=1, max_size=60).filter(str.strip)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(title=TITLES, summaries=st.lists(MARKDOWN, min_size=1, max_size=3), intro=MARKDOWN)
@example(title=HOSTILE_TITLE, summaries=[HOSTILE_SUMMARY], intro="[a](https://a.org)")
def test_any_titles_and_summaries_give_an_article_fit_for_wechat(db, title, summaries, intro):
    with transaction.atomic():
        issue = IssueFactory(title=title[:200], intro=intro)
        section = SectionFactory()
        entries = [
            EntryFactory(issue=issue, section=section, title=title, summary=summary or "-")
            for summary in summaries
        ]
        article = assert_fit_for_wechat(wechat.article_html(issue))
        urls = {line.rsplit(": ", 1)[-1] for line in article.references.values()}
        assert {f"https://arxiv.org/abs/{entry.arxiv_id}" for entry in entries} <= urls
        assert not any(url.lower().startswith(("javascript", "data")) for url in urls)
        transaction.set_rollback(True)


# The page -----------------------------------------------------------------


def test_the_page_shows_the_article_and_the_copy_button(editor_user):
    issue = IssueFactory(status=Issue.Status.DRAFT, title="还没发布的一期")
    EntryFactory(issue=issue, title="Draft paper")
    response = signed_in(editor_user).get(wechat_url(issue))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Draft paper" in page and "复制到公众号" in page
    assert 'data-copy-html="wechat-article"' in page and "js/wechat-copy" in page
    assert "no-cache" in response["Cache-Control"]
    policy = response["Content-Security-Policy"]
    assert "style-src-attr 'unsafe-inline'" in policy
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src-attr")[0]
    )


def test_the_issue_page_links_to_it(editor_user):
    issue = IssueFactory()
    page = signed_in(editor_user).get(reverse("admin:papers_issue_change", args=[issue.pk]))
    assert wechat_url(issue) in page.content.decode()


def test_anonymous_users_are_sent_to_sign_in():
    response = Client().get(wechat_url(IssueFactory()))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_users_who_are_not_staff_are_refused():
    issue = IssueFactory(title="只给编辑看的一期")
    response = signed_in(UserFactory()).get(wechat_url(issue))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "只给编辑看的一期" not in response.content.decode()


def test_staff_without_permission_to_view_issues_are_refused():
    user = StaffFactory()
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="view_section"))
    response = signed_in(user).get(wechat_url(IssueFactory()))
    assert response.status_code == 403


def test_an_unknown_issue_is_not_found(editor_user):
    assert signed_in(editor_user).get("/admin/papers/issue/999999/wechat/").status_code == 404


@pytest.mark.parametrize("count", [1, 30])
def test_queries_do_not_grow_with_the_entries(editor_user, count, django_assert_max_num_queries):
    """The session, the user and their permissions, the issue, its entries
    (with their sections) and their tags: seven, for one entry or thirty."""
    issue = IssueFactory()
    sections = [SectionFactory(), SectionFactory()]
    for number in range(count):
        EntryFactory(issue=issue, section=sections[number % 2], tags=["RAG", f"标签{number}"])
    client = signed_in(editor_user)
    with django_assert_max_num_queries(7):
        assert client.get(wechat_url(issue)).status_code == 200


def test_the_page_says_whether_readers_see_the_issue(admin_client):
    """A scheduled issue whose time has come is public, whatever its status says."""
    due = IssueFactory(status=Issue.Status.SCHEDULED, published_at=timezone.now())
    draft = IssueFactory(status=Issue.Status.DRAFT)
    for issue in (due, draft):
        EntryFactory(issue=issue)
    notice = "这一期还没有发布"

    def page(issue):
        return admin_client.get(reverse("admin:papers_issue_wechat", args=[issue.pk]))

    assert notice not in page(due).content.decode()
    assert notice in page(draft).content.decode()
