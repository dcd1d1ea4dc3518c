"""Citations: BibTeX, its downloads, related entries, JSON-LD and the share meta tags."""

import datetime
import json

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from papers.models import Entry, Issue
from reading.citations import bibtex_entry, bibtex_for_entries, escape_tex
from tests.factories import EntryFactory, IssueFactory, SectionFactory

HOSTILE = '</script><script>alert(1)</script>" onload="alert(2)'


def paper(**fields):
    """An unsaved entry: BibTeX reads only its fields."""
    fields.setdefault("title", "BigCodeBench: Benchmarking Code Generation")
    fields.setdefault("arxiv_id", "2406.15877")
    return Entry(**fields)


def soup(response):
    assert response.status_code == 200
    return BeautifulSoup(response.content.decode(), "html.parser")


def meta(page, prop):
    tag = page.find("meta", property=prop) or page.find("meta", attrs={"name": prop})
    assert tag is not None, prop
    return tag["content"]


def json_ld(page):
    scripts = page.find_all("script", type="application/ld+json")
    assert len(scripts) == 1
    return json.loads(scripts[0].string)


# BibTeX


def test_an_arxiv_paper_is_a_misc_record_keyed_by_its_id():
    entry = paper(authors="Terry Yue Zhuo, Minh Chien Vu,  , Jenny Chim")
    assert bibtex_entry(entry) == (
        "@misc{arxiv2406.15877,\n"
        "  title = {BigCodeBench: Benchmarking Code Generation},\n"
        "  author = {Terry Yue Zhuo and Minh Chien Vu and Jenny Chim},\n"
        "  year = {2024},\n"
        "  month = jun,\n"
        "  eprint = {2406.15877},\n"
        "  archivePrefix = {arXiv},\n"
        "  url = {https://arxiv.org/abs/2406.15877},\n"
        "}\n"
    )


@pytest.mark.parametrize("authors", ["", "   ", " , ,", "，"])
def test_without_authors_there_is_no_author_field(authors):
    assert "author" not in bibtex_entry(paper(authors=authors.replace("，", ",")))


@pytest.mark.django_db
@pytest.mark.parametrize("authors", ["", "  ", " , , "])
def test_an_entry_without_authors_shows_no_authors_anywhere(client, authors):
    """Nothing rather than an empty field or a stray comma: the issue page,
    the paper page, its BibTeX (still one valid entry) and JSON-LD."""
    issue = IssueFactory(slug="no-authors")
    EntryFactory(issue=issue, arxiv_id="2407.09999", authors=authors)
    for url in ["/issues/no-authors/", "/papers/2407.09999/"]:
        page = BeautifulSoup(client.get(url).content, "html.parser")
        assert page.find(class_="authors") is None, url
        for script in page.find_all("script", type="application/ld+json"):
            assert '"author"' not in script.string, url
    bib = client.get("/papers/2407.09999/cite.bib").content.decode()
    assert bib.count("@") == 1 and "author" not in bib and bib.rstrip().endswith("}")


@pytest.mark.parametrize(
    ("arxiv_id", "year", "month"),
    [
        ("cs/0112017", "2001", "dec"),
        ("hep-th/9711200", "1997", "nov"),
        ("math.GT/0309136", "2003", "sep"),
        ("0704.0001", "2007", "apr"),
    ],
)
def test_year_and_month_come_from_the_id_old_style_too(arxiv_id, year, month):
    bib = bibtex_entry(paper(arxiv_id=arxiv_id))
    assert bib.startswith(f"@misc{{arxiv{arxiv_id},\n")
    assert f"  year = {{{year}}},\n  month = {month},\n  eprint = {{{arxiv_id}}}," in bib


def test_an_id_with_an_impossible_month_has_no_date():
    bib = bibtex_entry(paper(arxiv_id="2413.00001"))
    assert "year" not in bib and "month" not in bib and "eprint = {2413.00001}" in bib


def test_tex_special_characters_are_escaped_and_braces_stay_balanced():
    title = r"50% of R&D_{x} costs $5 #1 ~ ^ \emph"
    assert escape_tex(title) == (
        r"50\% of R\&D\_\textbraceleft{}x\textbraceright{} costs \$5 \#1 "
        r"\textasciitilde{} \textasciicircum{} \textbackslash{}emph"
    )
    bib = bibtex_entry(paper(title=title + "}}", authors="A}, B{ C"))
    assert r"author = {A\textbraceright{} and B\textbraceleft{} C}," in bib
    depth = 0
    for char in bib:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def test_line_breaks_in_a_title_do_not_break_the_record():
    assert "title = {Two lines},\n" in bibtex_entry(paper(title="Two\n  lines"))


def test_a_paper_with_only_a_url_is_cited_by_that_url():
    url = "https://example.org/paper?id=1&x={y}"
    bib = bibtex_entry(Entry(title="A Blog Post", url=url))
    key = bib.splitlines()[0]
    assert key.startswith("@misc{url") and key.endswith(",")
    assert r"howpublished = {\url{https://example.org/paper?id=1&x=%7By%7D}}," in bib
    assert "url = {https://example.org/paper?id=1&x=%7By%7D},\n" in bib
    assert "eprint" not in bib and "year" not in bib
    assert bibtex_entry(Entry(title="Renamed", url=url)).splitlines()[0] == key


def test_a_url_that_is_not_a_web_address_is_not_cited():
    bib = bibtex_entry(Entry(title="Hostile", url="javascript:alert(1)"))
    assert "javascript" not in bib and "url" not in bib.split(",", 1)[1]


def test_a_bib_file_has_each_paper_once_in_order():
    first, second = paper(arxiv_id="2406.00001"), paper(arxiv_id="2406.00002")
    web = Entry(title="Web", url="https://example.org/")
    bib = bibtex_for_entries([first, second, paper(arxiv_id="2406.00001"), web, web])
    keys = [line for line in bib.splitlines() if line.startswith("@misc{")]
    assert keys[:2] == ["@misc{arxiv2406.00001,", "@misc{arxiv2406.00002,"]
    assert len(keys) == 3


# Downloads


@pytest.mark.django_db
def test_a_paper_citation_downloads_as_a_bib_file(client, seed):
    response = client.get("/papers/2406.15877/cite.bib")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="arxiv-2406.15877.bib"'
    assert response.content.decode().startswith("@misc{arxiv2406.15877,\n  title = {BigCodeBench")


@pytest.mark.django_db
def test_an_old_style_paper_downloads_too(client):
    EntryFactory(
        issue=IssueFactory(), section=SectionFactory(), arxiv_id="cs/0112017", title="Old Paper"
    )
    response = client.get("/papers/cs/0112017/cite.bib")
    assert response["Content-Disposition"] == 'attachment; filename="arxiv-cs-0112017.bib"'
    assert "eprint = {cs/0112017}" in response.content.decode()
    assert client.get("/papers/cs/0112017/").status_code == 200


@pytest.mark.django_db
def test_an_issue_downloads_all_its_papers_in_order(client, seed):
    response = client.get("/issues/2024-06-h2/papers.bib")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-bibtex; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="2024-06-h2.bib"'
    expected = [
        f"@misc{{arxiv{e.arxiv_id},"
        for e in seed.entries.order_by("section__position", "section__name", "position")
    ]
    keys = [line for line in response.content.decode().splitlines() if line.startswith("@")]
    assert keys == expected and len(keys) == 20


@pytest.mark.django_db
def test_drafts_and_unpublished_papers_have_no_bib(client):
    section = SectionFactory()
    draft = IssueFactory(status=Issue.Status.DRAFT, slug="draft")
    later = IssueFactory(
        status=Issue.Status.SCHEDULED,
        slug="later",
        published_at=timezone.now() + datetime.timedelta(days=1),
    )
    EntryFactory(issue=draft, section=section, arxiv_id="2407.00001")
    EntryFactory(issue=later, section=section, arxiv_id="2407.00002")
    for url in [
        "/issues/draft/papers.bib",
        "/issues/later/papers.bib",
        "/papers/2407.00001/cite.bib",
        "/papers/2407.00002/cite.bib",
        "/issues/nowhere/papers.bib",
        "/papers/2407.99999/cite.bib",
    ]:
        assert client.get(url).status_code == 404, url


@pytest.mark.django_db
def test_a_paper_also_in_a_draft_is_cited_from_the_published_issue(client):
    section = SectionFactory()
    EntryFactory(
        issue=IssueFactory(), section=section, arxiv_id="2407.00003", title="Published Title"
    )
    EntryFactory(
        issue=IssueFactory(status=Issue.Status.DRAFT),
        section=section,
        arxiv_id="2407.00003",
        title="Secret Draft Title",
    )
    for url in ["/papers/2407.00003/cite.bib", "/papers/2407.00003/"]:
        html = client.get(url).content.decode()
        assert "Published Title" in html and "Secret Draft Title" not in html


# The paper page


@pytest.mark.django_db
def test_the_paper_page_links_every_version_and_shows_its_citation(client, seed):
    page = soup(client.get("/papers/2406.15877/"))
    hrefs = {a["href"] for a in page.select(".paper-links a")}
    assert hrefs == {
        "https://arxiv.org/abs/2406.15877",
        "https://arxiv.org/pdf/2406.15877",
        "https://arxiv.org/html/2406.15877",
    }
    assert page.find("pre", id="bibtex").get_text().startswith("@misc{arxiv2406.15877,")
    button = page.find("button", attrs={"data-copy-target": "bibtex"})
    assert button.get_text() == "复制 BibTeX" and button.has_attr("hidden")
    assert page.find("a", href="/papers/2406.15877/cite.bib", download=True)
    assert page.find("script", src=lambda src: src and "js/copy" in src)


@pytest.mark.django_db
def test_a_paper_older_than_arxiv_html_gets_no_html_link(client):
    EntryFactory(issue=IssueFactory(), section=SectionFactory(), arxiv_id="2301.00001")
    page = soup(client.get("/papers/2301.00001/"))
    assert [a.get_text() for a in page.select(".paper-links a")] == ["arXiv 摘要页", "PDF"]


@pytest.mark.django_db
def test_the_issue_page_offers_its_bib_file(client, seed):
    page = soup(client.get("/issues/2024-06-h2/"))
    link = page.find("a", href="/issues/2024-06-h2/papers.bib")
    assert link.get_text() == "下载本期 BibTeX" and link.has_attr("download")


@pytest.mark.django_db
def test_related_entries_show_on_the_paper_page(client):
    section = SectionFactory()
    issue = IssueFactory()
    EntryFactory(issue=issue, section=section, tags=["长上下文"], arxiv_id="2406.00001")
    other = EntryFactory(issue=issue, section=section, tags=["长上下文"], title="Another Paper")
    page = soup(client.get("/papers/2406.00001/"))
    link = page.select_one(".related-list a")
    assert link.get_text() == "Another Paper" and link["href"] == other.get_paper_url()
    alone = soup(client.get(other.get_paper_url()))
    assert alone.select_one(".related-list a")["href"] == "/papers/2406.00001/"


# JSON-LD


@pytest.mark.django_db
def test_the_paper_page_describes_a_scholarly_article(client, seed):
    entry = seed.entries.get(arxiv_id="2406.15877")
    entry.authors = "Terry Yue Zhuo, Jenny Chim"
    entry.save()
    data = json_ld(soup(client.get("/papers/2406.15877/")))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "ScholarlyArticle"
    assert data["name"] == data["headline"] == entry.title
    assert data["identifier"] == {
        "@type": "PropertyValue",
        "propertyID": "arXiv",
        "value": "2406.15877",
    }
    assert data["url"] == "http://testserver/papers/2406.15877/"
    assert data["sameAs"] == "https://arxiv.org/abs/2406.15877"
    assert data["datePublished"] == "2024-06"
    assert data["inLanguage"] == "en"
    assert data["description"]["@language"] == "zh-Hans" and data["description"]["@value"]
    assert data["author"] == [
        {"@type": "Person", "name": "Terry Yue Zhuo"},
        {"@type": "Person", "name": "Jenny Chim"},
    ]
    assert sorted(data["keywords"]) == sorted(entry.tags.names())
    assert [issue["name"] for issue in data["subjectOf"]] == [seed.title]
    assert data["subjectOf"][0]["url"] == "http://testserver/issues/2024-06-h2/"


@pytest.mark.django_db
def test_the_issue_page_lists_its_papers_as_scholarly_articles(client, seed):
    data = json_ld(soup(client.get("/issues/2024-06-h2/")))
    assert data["@type"] == "ItemList" and data["name"] == seed.title
    assert data["numberOfItems"] == len(data["itemListElement"]) == 20
    first = seed.entries.order_by("section__position", "position").first()
    item = data["itemListElement"][0]
    assert item["position"] == 1
    assert item["item"]["@type"] == "ScholarlyArticle"
    assert item["item"]["name"] == first.title
    assert item["item"]["identifier"]["value"] == first.arxiv_id


@pytest.mark.django_db
def test_a_url_only_entry_is_an_article_at_its_url(client):
    issue = IssueFactory()
    EntryFactory(
        issue=issue, section=SectionFactory(), arxiv_id="", url="https://example.org/p", title="Web"
    )
    article = json_ld(soup(client.get(issue.get_absolute_url())))["itemListElement"][0]["item"]
    assert article["url"] == "https://example.org/p"
    assert "identifier" not in article and "datePublished" not in article


# Share meta tags on every page

SHARE_PAGES = {
    "home": "/",
    "issue": "/issues/2024-06-h2/",
    "entries": "/entries/",
    "tags": "/tags/",
    "tag": "/tags/%E5%9F%BA%E5%87%86%E6%B5%8B%E8%AF%95/",  # 基准测试
    "sections": "/sections/",
    "section": "/sections/rag/",
    "paper": "/papers/2406.15877/",
}


@pytest.mark.django_db
@pytest.mark.parametrize("url", SHARE_PAGES.values(), ids=SHARE_PAGES.keys())
def test_every_page_has_open_graph_twitter_and_canonical_tags(client, seed, url):
    page = soup(client.get(url))
    canonical = page.find("link", rel="canonical")["href"]
    assert canonical == meta(page, "og:url") == f"http://testserver{url}"
    assert meta(page, "og:site_name") == "大模型论文双周报"
    assert meta(page, "og:locale") == "zh_CN"
    # A large picture where the page has a card (reading.social_cards).
    has_card = url in (SHARE_PAGES["issue"], SHARE_PAGES["paper"])
    assert meta(page, "twitter:card") == ("summary_large_image" if has_card else "summary")
    assert (page.find("meta", property="og:image") is not None) == has_card
    assert meta(page, "og:type") in {"website", "article"}
    assert meta(page, "og:title") and meta(page, "og:description")


@pytest.mark.django_db
def test_pages_share_their_own_title_and_description(client, seed):
    paper_page = soup(client.get("/papers/2406.15877/"))
    assert meta(paper_page, "og:title").startswith("BigCodeBench")
    assert meta(paper_page, "og:type") == "article"
    assert "*" not in meta(paper_page, "og:description")  # text, not Markdown
    issue_page = soup(client.get("/issues/2024-06-h2/"))
    assert meta(issue_page, "og:title") == seed.title
    assert meta(soup(client.get(SHARE_PAGES["tag"])), "og:title") == "标签：基准测试"
    section = seed.entries.first().section
    assert meta(soup(client.get(section.get_absolute_url())), "og:title") == f"栏目：{section.name}"
    assert meta(soup(client.get("/")), "og:type") == "website"


@pytest.mark.django_db
def test_the_canonical_url_of_a_paper_or_issue_drops_the_query(client, seed):
    for url in ["/papers/2406.15877/", "/issues/2024-06-h2/"]:
        page = soup(client.get(f"{url}?utm_source=x"))
        assert page.find("link", rel="canonical")["href"] == f"http://testserver{url}"


@pytest.mark.django_db
def test_a_bad_host_header_is_still_a_400(client, seed):
    client.raise_request_exception = False
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


# Hostile text


@pytest.mark.django_db
def test_hostile_text_stays_inside_json_ld_and_meta_tags(client):
    issue = IssueFactory(title=HOSTILE)
    EntryFactory(
        issue=issue,
        section=SectionFactory(),
        arxiv_id="2406.00001",
        title=HOSTILE,
        authors=HOSTILE,
        tags=[HOSTILE[:50]],
    )
    for url in ["/papers/2406.00001/", issue.get_absolute_url()]:
        html = client.get(url).content.decode()
        assert "<script>alert" not in html
        page = soup(client.get(url))
        for script in page.find_all("script"):
            assert script.get("type") == "application/ld+json" or script.get("src"), script
        data = json_ld(page)
        article = data.get("itemListElement", [{"item": data}])[0]["item"]
        assert article["name"] == HOSTILE
        assert article["author"] == [{"@type": "Person", "name": HOSTILE}]
        assert meta(page, "og:title") == HOSTILE
