"""Search that finds what a reader means (issue 15): Traditional Chinese
folded to Simplified, phrases relaxed to words near each other and then
anywhere, the glossary both ways, ``-word``, sorting by date."""

from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papers import search
from papers.models import GlossaryTerm, Issue
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db


def results(client, query, **extra):
    params = "&".join([f"q={quote(query)}", *(f"{k}={quote(str(v))}" for k, v in extra.items())])
    response = client.get(f"/entries/?{params}")
    assert response.status_code == 200, query
    soup = BeautifulSoup(response.content, "html.parser")
    notes = soup.select_one(".search-notes")
    said = " ".join(notes.get_text().split()) if notes else ""
    return [e.arxiv_id for e in response.context["entries"]], said


@pytest.fixture
def papers(db):
    """Entries whose words come as a phrase, near each other, and far apart."""
    issue, section = IssueFactory(status=Issue.Status.PUBLISHED), SectionFactory()
    made = {
        "phrase": ("Probing for errors", "提出一种幻觉检测方法，读取注意力图。"),
        "near": ("Lookback Lens", "模型的幻觉可以用注意力比例来检测，方法简单。"),
        "apart": (
            "Something else",
            "本文讨论幻觉。" + "后面是很长的一段与主题无关的文字，" * 6 + "最后提到检测。",
        ),
        "traditional": ("Traditional text", "這篇論文研究長上下文的評測。"),
        "english": ("Detecting Hallucinations in Large Language Models", "一种新的方法。"),
    }
    ids = {}
    for n, (name, (title, summary)) in enumerate(made.items()):
        ids[name] = f"2407.{20001 + n}"
        EntryFactory(
            issue=issue,
            section=section,
            position=n + 1,
            title=title,
            summary=summary,
            arxiv_id=ids[name],
            tags=[],
        )
    return ids


def test_traditional_and_simplified_find_the_same(client, papers):
    assert results(client, "幻覺檢測") == results(client, "幻觉检测")
    assert results(client, "长上下文", exact="true")[0] == [papers["traditional"]]
    assert results(client, "評測")[0] == [papers["traditional"]]


def test_a_phrase_ranks_above_words_near_each_other_above_words_apart(client, papers):
    ids, notes = results(client, "幻觉检测", exact="true")
    assert ids == [papers["phrase"]] and "没有找到完整" not in notes
    ids, _ = results(client, "幻觉检测")
    assert ids[:3] == [papers["phrase"], papers["near"], papers["apart"]]


def test_when_the_phrase_finds_nothing_the_page_says_what_it_relaxed(client, papers):
    ids, notes = results(client, "幻觉比例")  # no entry has the four characters in a row
    assert ids == [papers["near"]]
    assert "没有找到完整的“幻觉比例”" in notes and "彼此靠近" in notes
    ids, notes = results(client, "幻觉方法")
    assert papers["apart"] not in ids and "没有找到完整" in notes
    ids, notes = results(client, "检测讨论")
    assert ids == [papers["apart"]] and "分开出现" in notes
    ids, notes = results(client, "检测讨论", exact="true")
    assert ids == [] and "只搜索了你输入的词" in notes


def test_the_glossary_expands_both_ways_and_says_so(client, papers):
    ids, notes = results(client, "hallucination")
    assert papers["english"] in ids and papers["phrase"] in ids
    assert "也搜索了：幻觉" in notes
    ids, notes = results(client, "hallucination", exact="true")
    assert ids == [papers["english"]] and "也搜索了" not in notes
    ids, _ = results(client, "幻觉", exact="true")
    assert papers["english"] not in ids
    ids, notes = results(client, "幻觉")
    assert papers["english"] in ids and "hallucination" in notes


def test_an_edited_glossary_term_is_searched_at_once(client, papers):
    assert results(client, "lookback")[0] == [papers["near"]]
    assert papers["near"] not in results(client, "回看")[0]
    GlossaryTerm.objects.create(chinese="回看", english="lookback")
    assert papers["near"] in results(client, "回看")[0]


def test_minus_excludes(client, papers):
    everything = results(client, "幻觉")[0]
    assert papers["near"] in everything
    assert set(results(client, "幻觉 -比例")[0]) == set(everything) - {papers["near"]}
    assert papers["english"] not in results(client, 'hallucination -"large language"')[0]
    assert results(client, "-幻觉")[0] == []


def test_sorted_by_relevance_or_newest(client, papers):
    older = IssueFactory(
        status=Issue.Status.PUBLISHED,
        published_at=Issue.objects.get().published_at.replace(year=2020),
    )
    EntryFactory(
        issue=older,
        section=SectionFactory(),
        position=1,
        title="幻觉检测 in the title",
        arxiv_id="2001.00001",
        summary="x",
        tags=[],
    )
    by_relevance = results(client, "幻觉检测")[0]
    newest = results(client, "幻觉检测", sort="newest")[0]
    assert by_relevance[0] == "2001.00001"  # a title match weighs most
    assert newest[-1] == "2001.00001" and sorted(newest) == sorted(by_relevance)
    response = client.get("/entries/?q=x&sort=oldest")
    assert response.status_code == 200 and not response.context["entries"]


QUERY_TEXT = st.text(
    st.sampled_from(list('幻觉檢測长上下文模型-"  abcRAG评测的是，。'))
    | st.characters(blacklist_categories=("Cs",)),
    max_size=30,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=QUERY_TEXT, exact=st.booleans(), sort=st.sampled_from(["", "newest", "relevance"]))
def test_any_query_answers_and_shows_only_public_entries(client, papers, query, exact, sort):
    draft = Issue.objects.filter(status=Issue.Status.DRAFT).first() or IssueFactory(
        status=Issue.Status.DRAFT
    )
    if not draft.entries.exists():
        EntryFactory(
            issue=draft,
            section=SectionFactory(),
            position=1,
            title="幻觉检测 draft",
            summary="幻觉检测 长上下文 RAG 模型",
            arxiv_id="2407.29999",
            tags=[],
        )
    extra = {"exact": "true"} if exact else {}
    if sort:
        extra["sort"] = sort
    params = "&".join([f"q={quote(query)}", *(f"{k}={v}" for k, v in extra.items())])
    response = client.get(f"/entries/?{params}")
    assert response.status_code == 200
    assert all(
        entry.issue.status == Issue.Status.PUBLISHED for entry in response.context["entries"]
    )
    parsed = search.parse_query(query, search.glossary())
    assert len(parsed.clauses) <= search.MAX_QUERY_TERMS


@pytest.mark.parametrize("page", ["tag", "section", "issue"])
def test_the_search_box_of_a_tag_section_or_issue_searches_within_it(client, seed, page):
    """The box on a tag's, a section's or an issue's page sends its filter
    along: only that tag's (section's, issue's) matches come back."""
    from papers.models import Section, Tag

    other = IssueFactory(status=Issue.Status.PUBLISHED, slug="other-issue")
    EntryFactory(
        issue=other,
        section=Section.objects.get(name="LLM微调"),
        position=1,
        title="RAG elsewhere",
        summary="检索增强生成。",
        arxiv_id="2407.30001",
        tags=["对齐"],
    )
    url = {
        "tag": lambda: Tag.objects.get(name="检索增强生成").get_absolute_url(),
        "section": lambda: Section.objects.get(name="RAG").get_absolute_url(),
        "issue": lambda: Issue.objects.exclude(pk=other.pk).get().get_absolute_url(),
    }[page]()
    soup = BeautifulSoup(client.get(url).content, "html.parser")
    form = soup.select_one("form.search-within")
    assert form is not None and form["action"] == "/entries/"
    params = {field["name"]: field.get("value", "") for field in form.select("input[type=hidden]")}
    params["q"] = "RAG"
    response = client.get(form["action"], params)
    found = list(response.context["entries"])
    assert found, page
    assert "2407.30001" not in [entry.arxiv_id for entry in found]  # RAG, but not within
    within = {
        "tag": lambda entry: "检索增强生成" in entry.tags.names(),
        "section": lambda entry: entry.section.name == "RAG",
        "issue": lambda entry: entry.issue_id != other.pk,
    }[page]
    assert all(within(entry) for entry in found), page


def test_a_query_is_bounded_whatever_is_typed():
    parsed = search.parse_query(" ".join(f"-词{n} 幻觉检测{n}" for n in range(100)))
    assert len(parsed.clauses) == search.MAX_QUERY_TERMS
    assert len(parsed.excluded) == search.MAX_QUERY_TERMS


def test_typed_words_naming_a_glossary_form_are_a_phrase_first_then_apart(client, db):
    """ "long context" (unquoted) names a glossary form: the phrase and 长上下文
    rank first, and the two words apart still come, after them."""
    issue, section = IssueFactory(status=Issue.Status.PUBLISHED), SectionFactory()
    for n, summary in enumerate(["A long context model.", "长上下文。", "Context that is long."]):
        EntryFactory(
            issue=issue,
            section=section,
            position=n + 1,
            title=f"Paper {n}",
            summary=summary,
            arxiv_id=f"2407.4000{n}",
            tags=[],
        )
    ids, notes = results(client, "long context")
    assert set(ids[:2]) == {"2407.40000", "2407.40001"} and ids[2:] == ["2407.40002"]
    assert "也搜索了：长上下文" in notes and "没有找到完整" not in notes
    ids, notes = results(client, "context model")  # no glossary form: words anywhere, as ever
    assert ids == ["2407.40000"]


def test_a_hyphenated_glossary_form_is_found_as_typed(client, db):
    """The glossary writes in-context learning with its hyphen; the query's
    words (in, context, learning) name it all the same."""
    issue, section = IssueFactory(status=Issue.Status.PUBLISHED), SectionFactory()
    EntryFactory(
        issue=issue,
        section=section,
        position=1,
        title="x",
        summary="一种上下文学习方法。",
        arxiv_id="2407.50001",
        tags=[],
    )
    ids, notes = results(client, "in-context learning")
    assert ids == ["2407.50001"] and "也搜索了：上下文学习" in notes
