"""Topic trends: how often the most used tags appear, issue by issue.

The numbers come from a fixed number of queries, however many issues and
entries there are. The charts are SVG text built here, on the server, so the
page needs no charting script. They carry no colours of their own: series
are CSS classes (``series-1`` ...) that site.css maps to custom properties,
so the charts follow the light and dark themes, and every line also has its
own dash pattern and marker, so colour is never the only cue. Every text
goes through ``format_html``: tag names are editors' input.
"""

import itertools
import math
from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from papers.models import Issue, Tag, TaggedEntry

MAX_ISSUES = 24
TOP_TAGS = 8

# ---------------------------------------------------------------- the data


def short_date(day):
    """6/16: an issue on the chart's axis, by the first day it covers."""
    return f"{day.month}/{day.day}"


def recent_issues(issues, limit):
    """The last ``limit`` of ``issues`` in the order of the periods they cover,
    oldest first: a chart reads left to right."""
    return list(reversed(issues.order_by("-period_end", "-pk")[:limit]))


@dataclass(frozen=True)
class TagCounts:
    """One tag and its number of entries in each issue of a ``Trends``."""

    tag: Tag
    counts: tuple[int, ...]

    @property
    def total(self):
        return sum(self.counts)


@dataclass(frozen=True)
class Trends:
    """The most used tags and their counts over the same issues, oldest first."""

    issues: list[Issue]
    tags: list[TagCounts]

    @property
    def labels(self):
        return [short_date(issue.period_start) for issue in self.issues]

    def rows(self):
        """(issue, counts of each tag in it): the chart's numbers as table rows."""
        return [
            (issue, [tag.counts[i] for tag in self.tags]) for i, issue in enumerate(self.issues)
        ]

    def years(self):
        """ "2024" or "2024–2025": the axis labels say month and day only."""
        first, last = self.issues[0].period_start.year, self.issues[-1].period_start.year
        return str(first) if first == last else f"{first}–{last}"


def topic_trends(top=TOP_TAGS, limit=MAX_ISSUES):
    """The ``top`` tags most used in the last ``limit`` published issues, with
    their entry counts in each of those issues.

    Two queries: the issues, then one count grouped by issue and tag. Tags are
    ranked by their total over the charted issues (ties by name), so the chart
    shows what is frequent now rather than what was frequent long ago. Only
    issues from ``Issue.objects.published()`` are counted, so a draft's tags
    never appear.
    """
    issues = recent_issues(Issue.objects.published(), limit)
    column = {issue.pk: i for i, issue in enumerate(issues)}
    grouped = (
        TaggedEntry.objects.filter(content_object__issue__in=list(column))
        .values("content_object__issue", "tag", "tag__name", "tag__slug")
        .annotate(entries=Count("pk"))
        .order_by()
    )
    tags, counts = {}, {}
    for row in grouped:
        tag_id = row["tag"]
        tags.setdefault(tag_id, Tag(pk=tag_id, name=row["tag__name"], slug=row["tag__slug"]))
        per_issue = counts.setdefault(tag_id, [0] * len(issues))
        per_issue[column[row["content_object__issue"]]] = row["entries"]
    ranked = sorted(tags, key=lambda tag_id: (-sum(counts[tag_id]), tags[tag_id].name))
    return Trends(issues, [TagCounts(tags[t], tuple(counts[t])) for t in ranked[:top]])


def tag_series(tag, limit=MAX_ISSUES):
    """The last ``limit`` published issues, oldest first, and how many of each
    one's entries carry ``tag`` (0 where none do): one query."""
    issues = recent_issues(
        Issue.objects.published().annotate(
            tagged=Count("entries__tagged_items", filter=Q(entries__tagged_items__tag=tag))
        ),
        limit,
    )
    return issues, [issue.tagged for issue in issues]


# ---------------------------------------------------------------- the SVG

# (dash pattern, marker shape, filled): one per series, so that lines differ
# in more than colour. Shapes are relative paths drawn from the point itself.
SERIES_STYLES = [
    ("", "circle", True),
    ("7 4", "square", True),
    ("2 3", "triangle", True),
    ("10 3 2 3", "diamond", True),
    ("", "circle", False),
    ("7 4", "triangle-down", True),
    ("2 3", "cross", False),
    ("10 3 2 3", "square", False),
]
MARKER_SHAPES = {
    "circle": "m-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0z",
    "square": "m-3.6,-3.6h7.2v7.2h-7.2z",
    "triangle": "m0,-4.8l4.6,8h-9.2z",
    "triangle-down": "m0,4.8l4.6,-8h-9.2z",
    "diamond": "m0,-5l5,5l-5,5l-5,-5z",
    "cross": "m-4,-4l8,8m0,-8l-8,8",
}


def text_width(text, font_size):
    """About how wide ``text`` is drawn: CJK characters are square, the rest
    about half as wide. Enough to lay out labels without measuring fonts."""
    return font_size * sum(1.0 if ord(char) > 0x2E7F else 0.6 for char in text)


def fit(text, width, font_size):
    """``text``, cut with an ellipsis to fit ``width`` (the table has it whole)."""
    if text_width(text, font_size) <= width:
        return text
    while text and text_width(text + "…", font_size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def nice_steps():
    """1, 2, 5, 10, 20, 50, ...: tick steps a reader can count in."""
    for exponent in itertools.count():
        for mantissa in (1, 2, 5):
            yield mantissa * 10**exponent


def y_ticks(largest):
    """Whole-number ticks from 0 covering ``largest`` in at most five steps.
    At least one step, so an all-zero chart still has a scale."""
    step = next(step for step in nice_steps() if largest <= step * 5)
    return list(range(0, max(1, math.ceil(largest / step)) * step + 1, step))


def label_positions(count, spacing, label_width):
    """Indexes of the x labels to print so that they do not overlap, always
    including the newest issue (the last)."""
    every = max(1, math.ceil(label_width / spacing)) if spacing else 1
    return {i for i in range(count) if (count - 1 - i) % every == 0}


MARKER_PAINT = {
    True: mark_safe('fill="currentColor"'),
    False: mark_safe('fill="none" stroke="currentColor" stroke-width="1.6"'),
}


def _marker(style, x, y):
    _, shape, filled = style
    return format_html(
        '<path d="M{},{}{}" {}/>',
        f"{x:.1f}",
        f"{y:.1f}",
        MARKER_SHAPES[shape],
        MARKER_PAINT[filled],
    )


def _line(points, dash=""):
    dash = format_html(' stroke-dasharray="{}"', dash) if dash else ""
    path = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return format_html(
        '<path d="{}" fill="none" stroke="currentColor" stroke-width="2"'
        ' stroke-linejoin="round"{}/>',
        path,
        dash,
    )


def _svg(view_width, view_height, svg_id, css_class, title, desc, body, attrs=""):
    """The root element: scalable (viewBox), announced as one image named by
    its title and described by its desc."""
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="{}" viewBox="0 0 {} {}"{}'
        ' role="img" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css_class,
        view_width,
        view_height,
        attrs,
        svg_id,
        svg_id,
        svg_id,
        title,
        svg_id,
        desc,
        body,
    )


def line_chart_svg(
    series,
    labels,
    *,
    title,
    desc,
    x_title="",
    y_title=None,
    width=720,
    font_size=13,
    svg_id="chart",
):
    """A line chart of ``series`` ([(name, [value per label]), ...]) over
    ``labels``, with axes, gridlines, thinned x labels and a legend below.

    ``width`` is the viewBox width: the SVG scales to its container, so a
    phone gets a narrower drawing (``width`` 360) rather than shrunken text.
    ``svg_id`` must be unique in the page (it names the title and desc).
    """
    if y_title is None:
        y_title = gettext("篇数")
    line_height = font_size * 1.5
    largest = max((max(values, default=0) for _, values in series), default=0)
    ticks = y_ticks(largest)
    widest = max((text_width(label, font_size) for label in labels), default=0)
    # Room for the y ticks, and for half of the first and last x labels.
    left = max(text_width(str(ticks[-1]), font_size) + font_size, widest / 2)
    right, top = max(font_size, widest / 2), line_height * 1.4
    plot_width = width - left - right
    plot_height = max(220, round(width * 0.34))
    bottom = top + plot_height

    def x(i):
        return left + (plot_width * i / (len(labels) - 1) if len(labels) > 1 else plot_width / 2)

    def y(value):
        return bottom - plot_height * value / ticks[-1]

    parts = [
        format_html('<text class="chart-axis-title" x="0" y="{}">{}</text>', font_size, y_title)
    ]
    for tick in ticks:
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-tick" x="{}" y="{}" text-anchor="end">{}</text>',
                f"{left:.1f}",
                f"{left + plot_width:.1f}",
                f"{y(tick):.1f}",
                f"{y(tick):.1f}",
                f"{left - font_size * 0.4:.1f}",
                f"{y(tick) + font_size * 0.35:.1f}",
                tick,
            )
        )
    parts.append(
        format_html(
            '<path class="chart-axis" d="M{},{}V{}H{}" fill="none"/>',
            f"{left:.1f}",
            f"{top:.1f}",
            f"{bottom:.1f}",
            f"{left + plot_width:.1f}",
        )
    )
    spacing = plot_width / (len(labels) - 1) if len(labels) > 1 else 0
    shown = label_positions(len(labels), spacing, widest + font_size)
    for i in sorted(shown):
        parts.append(
            format_html(
                '<text class="chart-tick" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{x(i):.1f}",
                f"{bottom + line_height:.1f}",
                labels[i],
            )
        )
    axis_end = bottom + line_height
    if x_title:
        axis_end += line_height
        parts.append(
            format_html(
                '<text class="chart-axis-title" x="{}" y="{}" text-anchor="middle">{}</text>',
                f"{left + plot_width / 2:.1f}",
                f"{axis_end:.1f}",
                x_title,
            )
        )
    for n, (_, values) in enumerate(series):
        style = SERIES_STYLES[n % len(SERIES_STYLES)]
        points = [(x(i), y(value)) for i, value in enumerate(values)]
        markers = format_html_join("", "{}", ((_marker(style, *p),) for p in points))
        parts.append(
            format_html(
                '<g class="chart-series series-{}">{}{}</g>',
                n + 1,
                _line(points, style[0]),
                markers,
            )
        )
    legend, legend_height = _legend(
        series, left, axis_end + line_height * 0.6, plot_width, font_size
    )
    parts.append(legend)
    height = math.ceil(axis_end + line_height * 0.6 + legend_height)
    body = format_html_join("", "{}", ((part,) for part in parts))
    return _svg(
        width, height, svg_id, "chart", title, desc, body, format_html(' font-size="{}"', font_size)
    )


def _legend(series, left, top, width, font_size):
    """The legend in as many columns as the longest name allows, but at least
    two (three when wide), so that one long tag name cannot stretch the legend
    into a tall list: such a name is cut short (the page's table has it whole).
    Each item draws its series' line and marker, then its name."""
    swatch = font_size * 2.6
    longest = max((text_width(name, font_size) for name, _ in series), default=0)
    column_width = min(width, swatch + longest + font_size * 1.5)
    fewest = min(len(series), 3 if width > 480 else 2) or 1
    columns = max(fewest, int(width // column_width))
    column_width = width / columns
    row_height = font_size * 1.7
    items = []
    for n, (name, _) in enumerate(series):
        style = SERIES_STYLES[n % len(SERIES_STYLES)]
        item_x = left + (n % columns) * column_width
        item_y = top + (n // columns) * row_height + row_height / 2
        items.append(
            format_html(
                '<g class="chart-legend-item series-{}">{}{}<text x="{}" y="{}">{}</text></g>',
                n + 1,
                _line([(item_x, item_y), (item_x + swatch - font_size * 0.6, item_y)], style[0]),
                _marker(style, item_x + (swatch - font_size * 0.6) / 2, item_y),
                f"{item_x + swatch:.1f}",
                f"{item_y + font_size * 0.35:.1f}",
                fit(name, column_width - swatch - font_size * 0.5, font_size),
            )
        )
    rows = math.ceil(len(series) / columns)
    legend = format_html(
        '<g class="chart-legend">{}</g>', format_html_join("", "{}", ((item,) for item in items))
    )
    return legend, rows * row_height


def sparkline_svg(values, *, title=None, desc=None, width=140, height=32, svg_id="sparkline"):
    """A small trend line of ``values`` (oldest first), the last one marked.

    Drawn at its own small size; ``desc`` defaults to the numbers themselves.
    One value is a dot in the middle; no values, a bare baseline.
    """
    if title is None:
        title = gettext("出现次数趋势")
    if desc is None:
        numbers = ", ".join(str(value) for value in values)
        desc = (
            (gettext("逐期：%(numbers)s") % {"numbers": numbers}) if values else gettext("暂无数据")
        )
    pad = 3
    baseline = height - pad
    parts = [
        format_html(
            '<line class="sparkline-base" x1="0" x2="{}" y1="{}" y2="{}"/>',
            width,
            baseline,
            baseline,
        )
    ]
    if values:
        largest = max(max(values), 1)
        step = (width - 2 * pad) / (len(values) - 1) if len(values) > 1 else 0
        points = [
            (pad + step * i if step else width / 2, baseline - (height - 2 * pad) * v / largest)
            for i, v in enumerate(values)
        ]
        if len(points) > 1:
            parts.append(_line(points))
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="2.5" fill="currentColor"/>',
                f"{points[-1][0]:.1f}",
                f"{points[-1][1]:.1f}",
            )
        )
    body = format_html_join("", "{}", ((part,) for part in parts))
    return _svg(
        width,
        height,
        svg_id,
        "sparkline",
        title,
        desc,
        body,
        format_html(' width="{}" height="{}"', width, height),
    )


# ---------------------------------------------------------------- for pages


def trends_chart(trends, *, width, svg_id):
    """The trends page's chart at one drawing width, with a summary as its
    description (the page's table has every number)."""
    first, last = trends.issues[0], trends.issues[-1]
    summary = gettext("；").join(
        gettext("%(tag)s：共 %(total)s 篇，单期最多 %(most)s 篇")
        % {"tag": item.tag.name, "total": item.total, "most": max(item.counts)}
        for item in trends.tags
    )
    return line_chart_svg(
        [(item.tag.name, item.counts) for item in trends.tags],
        trends.labels,
        title=ngettext(
            "最常用的 %(tags)s 个标签在最近 %(issues)s 期中的篇数",
            "最常用的 %(tags)s 个标签在最近 %(issues)s 期中的篇数",
            len(trends.issues),
        )
        % {"tags": len(trends.tags), "issues": len(trends.issues)},
        desc=ngettext(
            "共 %(issues)s 期，%(first)s 至 %(last)s。%(summary)s。逐期数字见图下的表格。",
            "共 %(issues)s 期，%(first)s 至 %(last)s。%(summary)s。逐期数字见图下的表格。",
            len(trends.issues),
        )
        % {
            "issues": len(trends.issues),
            "first": f"{first.period_start:%Y-%m-%d}",
            "last": f"{last.period_end:%Y-%m-%d}",
            "summary": summary,
        },
        x_title=gettext("各期起始日期（%(years)s）") % {"years": trends.years()},
        width=width,
        font_size=14 if width > 480 else 13,
        svg_id=svg_id,
    )


@dataclass(frozen=True)
class TagTrend:
    """One tag's counts over the recent issues, and its sparkline."""

    tag: Tag
    issues: list[Issue]
    counts: list[int]

    @property
    def total(self):
        return sum(self.counts)

    def rows(self):
        return list(zip(self.issues, self.counts, strict=True))

    def svg(self):
        numbers = ", ".join(str(count) for count in self.counts)
        return sparkline_svg(
            self.counts,
            title=ngettext(
                "标签“%(name)s”最近 %(issues)s 期的篇数",
                "标签“%(name)s”最近 %(issues)s 期的篇数",
                len(self.counts),
            )
            % {"name": self.tag.name, "issues": len(self.counts)},
            desc=ngettext(
                "最近 %(issues)s 期中出现：%(numbers)s（由旧到新）",
                "最近 %(issues)s 期中出现：%(numbers)s（由旧到新）",
                len(self.counts),
            )
            % {"issues": len(self.counts), "numbers": numbers},
            svg_id="tag-sparkline",
        )


def tag_trend(tag):
    issues, counts = tag_series(tag)
    return TagTrend(tag, issues, counts)
