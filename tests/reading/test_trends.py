"""Topic trends: the numbers, the SVG drawn from them, and the pages showing them."""

import datetime
import itertools
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from defusedxml import ElementTree
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from papers.models import Issue, Tag
from reading import trends
from tests.factories import EntryFactory, IssueFactory, SectionFactory

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & co'


@pytest.fixture
def section(db):
    return SectionFactory()


def issue_with(section, *tag_lists, **fields):
    """A published issue with one entry per list of tags."""
    issue = IssueFactory(**fields)
    for tags in tag_lists:
        EntryFactory(issue=issue, section=section, tags=tags)
    return issue


def parse_svg(svg):
    root = ElementTree.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


# ---------------------------------------------------------------- the numbers


def test_counts_entries_per_issue_and_tag_oldest_issue_first(section):
    newer = issue_with(section, ["RAG", "幻觉"], ["RAG"], ["幻觉"], ["RAG"])
    older = issue_with(
        section,
        ["RAG"],
        ["推理"],
        period_start=datetime.date(2023, 1, 2),
        period_end=datetime.date(2023, 1, 15),
    )
    data = trends.topic_trends()
    assert data.issues == [older, newer]
    assert [(item.tag.name, item.counts) for item in data.tags] == [
        ("RAG", (1, 3)),
        ("幻觉", (0, 2)),
        ("推理", (1, 0)),
    ]
    assert data.labels == ["1/2", f"{newer.period_start.month}/{newer.period_start.day}"]
    assert data.rows() == [(older, [1, 0, 1]), (newer, [3, 2, 0])]


def test_only_the_top_tags_of_the_last_issues(section):
    for _ in range(4):
        issue_with(section, ["a", "b"], ["a"], ["c"])
    latest = issue_with(section, ["new"], ["new"], ["new"], ["new"])
    data = trends.topic_trends(top=2, limit=2)
    assert len(data.issues) == 2 and data.issues[-1] == latest
    assert [(item.tag.name, item.total) for item in data.tags] == [("new", 4), ("a", 2)]


def test_a_drafts_tags_are_never_counted_or_named(section):
    issue_with(section, ["公开标签"])
    draft = IssueFactory(status=Issue.Status.DRAFT)
    EntryFactory(issue=draft, section=section, tags=["草稿专用标签", "公开标签"])
    data = trends.topic_trends()
    assert data.issues != [] and draft not in data.issues
    assert [(item.tag.name, item.counts) for item in data.tags] == [("公开标签", (1,))]
    assert trends.tag_series(Tag.objects.get(name="公开标签"))[1] == [1]


def test_a_scheduled_issue_counts_once_its_time_comes(section, monkeypatch):
    issue_with(section, ["RAG"])
    soon = timezone.now() + datetime.timedelta(hours=1)
    issue_with(section, ["RAG"], ["定时"], status=Issue.Status.SCHEDULED, published_at=soon)
    assert [item.tag.name for item in trends.topic_trends().tags] == ["RAG"]
    later = soon + datetime.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    data = trends.topic_trends()
    assert [(item.tag.name, item.counts) for item in data.tags] == [
        ("RAG", (1, 1)),
        ("定时", (0, 1)),
    ]


def test_tag_series_has_a_zero_for_issues_without_the_tag(section):
    first = issue_with(section, ["RAG", "x"], ["RAG"])
    second = issue_with(section, ["x"])
    third = issue_with(section, ["RAG"])
    issues, counts = trends.tag_series(Tag.objects.get(name="RAG"))
    assert issues == sorted([first, second, third], key=lambda issue: issue.period_end)
    assert counts == [2, 0, 1]


def test_an_empty_archive_has_no_issues_and_no_tags(db):
    data = trends.topic_trends()
    assert data.issues == [] and data.tags == []


# ---------------------------------------------------------------- the SVG


def test_line_chart_is_an_accessible_well_formed_svg():
    svg = trends.line_chart_svg(
        [("RAG", [1, 0, 2]), ("推理", [0, 3, 1])],
        ["6/16", "7/1", "7/16"],
        title="标题",
        desc="说明",
        svg_id="c",
    )
    root = parse_svg(svg)
    assert root.get("role") == "img" and root.get("viewBox").startswith("0 0 720 ")
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "标题" and root.find(f"{SVG}desc").text == "说明"
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert {"6/16", "7/1", "7/16", "RAG", "推理", "0", "3"} <= set(texts)
    assert 'fill="#' not in svg and 'stroke="#' not in svg  # colours come from the CSS


def test_hostile_names_and_labels_are_escaped():
    svg = trends.line_chart_svg([(HOSTILE, [1])], ["<b>&"], title=HOSTILE, desc="a & b")
    assert "<script" not in svg
    root = parse_svg(svg)
    assert root.find(f"{SVG}title").text == HOSTILE
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert "<b>&" in texts
    assert any(text.startswith("<script>") for text in texts)  # the legend, maybe cut short
    spark = trends.sparkline_svg([1, 2], title=HOSTILE, desc=HOSTILE)
    assert "<script" not in spark and parse_svg(spark).find(f"{SVG}desc").text == HOSTILE


def test_every_line_differs_in_more_than_colour():
    series = [(f"t{n}", [n, 1]) for n in range(8)]
    root = parse_svg(trends.line_chart_svg(series, ["1/1", "1/15"], title="t", desc="d"))
    groups = [g for g in root.iter(f"{SVG}g") if "chart-series" in g.get("class", "")]
    looks = set()
    for g in groups:
        line, marker = g.findall(f"{SVG}path")[:2]
        shape = re.sub(r"^M[-\d.]+,[-\d.]+", "", marker.get("d"))
        looks.add((line.get("stroke-dasharray"), shape, marker.get("fill")))
    assert len(groups) == 8 and len(looks) == 8


@pytest.mark.parametrize(
    "series, labels",
    [
        ([], []),
        ([("RAG", [])], []),
        ([("RAG", [3])], ["6/16"]),
        ([("RAG", [0, 0]), ("x", [0, 0])], ["6/16", "7/1"]),
    ],
)
def test_degenerate_charts_still_draw(series, labels):
    parse_svg(trends.line_chart_svg(series, labels, title="t", desc="d"))


def test_x_labels_are_thinned_so_they_never_overlap_and_the_latest_is_kept():
    labels = [f"{month}/{day}" for month in range(1, 13) for day in (1, 16)]
    root = parse_svg(
        trends.line_chart_svg(
            [("a", [1] * 24)], labels, title="t", desc="d", width=360, font_size=12
        )
    )
    ticks = [
        t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle" and t.text in labels
    ]
    xs = [float(t.get("x")) for t in ticks]
    assert ticks[-1].text == "12/16" and 2 < len(ticks) < 24
    widest = max(trends.text_width(label, 12) for label in labels)
    assert min(b - a for a, b in itertools.pairwise(xs)) > widest


@pytest.mark.parametrize("values", [[], [0], [4], [0, 0, 0], [1, 0, 2]])
def test_sparklines_of_any_length(values):
    root = parse_svg(trends.sparkline_svg(values))
    assert root.get("role") == "img" and root.find(f"{SVG}title").text
    if values:
        assert root.find(f"{SVG}desc").text.endswith(", ".join(map(str, values)))


def test_chart_colours_have_aa_contrast_in_both_schemes():
    css = (Path(settings.BASE_DIR) / "static/css/site.css").read_text()
    backgrounds = re.findall(r"--bg: (#[0-9a-f]{6})", css)
    colours = re.findall(r"--chart-\d: (#[0-9a-f]{6})", css)
    assert len(backgrounds) == 2 and len(colours) == 16
    for background, scheme in zip(backgrounds, (colours[:8], colours[8:]), strict=True):
        for colour in scheme:
            assert contrast(colour, background) >= 4.5, (colour, background)


def contrast(first, second):
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(colour):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted([luminance(first), luminance(second)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


# ---------------------------------------------------------------- the pages


def test_trends_page_has_the_chart_and_a_table_of_the_same_numbers(client, section):
    issue_with(section, ["RAG", "幻觉"], ["RAG"])
    issue_with(section, ["幻觉"], [HOSTILE])
    response = client.get("/trends/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script>alert("x")' not in html
    page = BeautifulSoup(html, "html.parser")
    charts = page.select("figure.trend-chart svg")
    assert len({svg["aria-labelledby"] for svg in charts}) == 2  # ids unique in the page
    for svg in charts:
        parse_svg(svg)
    table = page.select_one("table.trend-table")
    assert table.caption.get_text(strip=True)
    headers = [th.get_text() for th in table.thead.find_all("th", scope="col")]
    data = response.context["trends"]
    assert headers == ["期（起始日期）", *[item.tag.name for item in data.tags]]
    body = [[int(td.get_text()) for td in tr.find_all("td")] for tr in table.tbody.find_all("tr")]
    assert body == [counts for _, counts in data.rows()] == [[2, 1, 0], [0, 1, 1]]
    assert all(tr.th["scope"] == "row" for tr in table.tbody.find_all("tr"))
    links = {a["href"] for a in page.select(".tag-index a")}
    assert links == {item.tag.get_absolute_url() for item in data.tags}
    assert page.select_one('nav a[aria-current="page"]').get_text() == "趋势"


def test_trends_page_of_an_empty_archive(client, db):
    response = client.get("/trends/")
    assert response.status_code == 200
    assert "<svg" not in response.content.decode()
    assert "还没有发布任何一期" in response.content.decode()


def test_trends_page_of_issues_without_tags(client, section):
    issue_with(section, [])
    response = client.get("/trends/")
    assert response.status_code == 200 and "还没有标签" in response.content.decode()


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_trends_page_queries_do_not_grow_with_the_issues(client, section, settings):
    settings.PAGE_CACHE = False  # what rendering costs (a cached page costs none)
    for n in range(3):
        issue_with(section, ["common", f"t{n}"], ["common"])
    with_3 = count_queries(client, "/trends/")
    for n in range(9):
        issue_with(section, ["common", f"u{n}"], [f"t{n % 3}"])
    assert count_queries(client, "/trends/") == with_3 <= 8


def test_tag_page_has_a_sparkline_and_its_numbers(client, section):
    issue_with(section, ["RAG"], ["RAG"])
    issue_with(section, ["other"])
    response = client.get(Tag.objects.get(name="RAG").get_absolute_url())
    assert response.status_code == 200
    page = BeautifulSoup(response.content.decode(), "html.parser")
    svg = page.select_one(".tag-trend svg")
    assert "最近 2 期中出现：2, 0" in parse_svg(svg).find(f"{SVG}desc").text
    cells = [td.get_text() for td in page.select(".tag-trend table td")]
    assert cells == ["2", "0"]


def test_tag_page_of_a_tag_in_one_issue_of_one(client, section):
    issue_with(section, [HOSTILE])
    response = client.get(Tag.objects.get().get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert "最近 1 期中出现：1" in html and '<script>alert("x")' not in html
