"""Social cards (reading.social_cards): the PNG a shared link to an issue or a
paper shows, its address in the page's head, its far-future lifetime, drawn
once per text, never for a draft, never for a text the address chose."""

import datetime
import io
import re
from dataclasses import astuple
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import hypothesis
import pytest
from bs4 import BeautifulSoup
from django.core import checks
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from PIL import Image

from papers.models import Issue
from reading import social_cards
from reading.social_cards import Card, CardFonts
from tests.factories import EntryFactory, IssueFactory, StaffFactory

SITE = "http://testserver"
FOR_EVER = "public, max-age=31536000, immutable"

HARD_TITLES = {
    "emoji": "🔥🚀 LLM 🤖‍👩‍🔬 agents 👍🏽 benchmark",
    "very long": "很长的标题" * 80 + " " + "Pneumonoultramicroscopic" * 20,
    "one long word": "x" * 1000,
    "rtl": "نموذج لغوي كبير — מודל שפה גדול (RTL) and English",
    "script": '<script>alert("x")</script> & <b>粗体</b> "quoted"',
    "controls": "line\nbreak\ttab\x00nul\x1b[31m\u200bzero\u202eevil\ufeff",
    "combining": "Z̵̡̢͇̹̭̙͌̈́a̸͓̓l̶̨̛̺g̵o̴ text",
    "blank": "   ",
    "empty": "",
    "punctuation at breaks": "，。、" * 30 + "标题" * 40,
}


@pytest.fixture(autouse=True)
def fonts_looked_for_afresh():
    social_cards.card_fonts.cache_clear()
    yield
    social_cards.card_fonts.cache_clear()


def head(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return BeautifulSoup(response.content, "html.parser").head


def meta(page_head, name):
    tag = page_head.find("meta", property=name) or page_head.find("meta", attrs={"name": name})
    return tag and tag["content"]


def card_url_of(client, url):
    """The card the page at ``url`` names, checked to be named alike for both
    networks, absolute, and with a large-picture Twitter card."""
    page_head = head(client, url)
    card = meta(page_head, "og:image")
    assert card and card == meta(page_head, "twitter:image")
    assert card.startswith(f"{SITE}/") and card.endswith(".png")
    assert meta(page_head, "twitter:card") == "summary_large_image"
    assert (meta(page_head, "og:image:width"), meta(page_head, "og:image:height")) == (
        "1200",
        "630",
    )
    return card


def png_size(content):
    image = Image.open(io.BytesIO(content))
    image.verify()  # a whole, valid PNG
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.size


def fetch_card(client, card_url):
    response = client.get(urlsplit(card_url).path)
    assert response.status_code == 200, card_url
    assert response["Content-Type"] == "image/png"
    assert png_size(response.content) == (1200, 630)
    return response


@pytest.fixture
def counted_draws():
    with mock.patch.object(social_cards, "draw", wraps=social_cards.draw) as draw:
        yield draw


# ------------------------------------------------------------------ the pages and their cards


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["", "/en"])
def test_issue_and_paper_pages_name_their_card_which_is_a_png_kept_for_a_year(
    client, seed, language
):
    paper = seed.entries.exclude(arxiv_id="").first()
    for page in (seed.get_absolute_url(), paper.get_paper_url()):
        card = card_url_of(client, f"{language}{page}")
        assert urlsplit(card).path.startswith(f"{language}{page}card-")
        response = fetch_card(client, card)
        assert response["Cache-Control"] == FOR_EVER
        assert not response.cookies


@pytest.mark.django_db
def test_pages_without_a_card_keep_a_small_twitter_card(client, seed):
    for url in ("/", "/issues/", "/entries/", "/tags/", "/sections/", "/trends/"):
        page_head = head(client, url)
        assert meta(page_head, "og:image") is None and meta(page_head, "twitter:image") is None
        assert meta(page_head, "twitter:card") == "summary"


@pytest.mark.django_db
def test_each_language_has_its_own_card(client, seed):
    chinese = card_url_of(client, seed.get_absolute_url())
    english = card_url_of(client, f"/en{seed.get_absolute_url()}")
    assert chinese != english
    assert fetch_card(client, chinese).content != fetch_card(client, english).content


@pytest.mark.django_db
def test_a_browser_preferring_english_is_led_to_the_english_card_as_to_the_english_page(
    client, seed
):
    chinese = urlsplit(card_url_of(client, seed.get_absolute_url())).path
    english = urlsplit(card_url_of(client, f"/en{seed.get_absolute_url()}")).path
    response = client.get(chinese, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.redirect_chain[-1][0] == english


@pytest.mark.django_db
def test_the_card_address_changes_with_the_title_and_the_old_one_leads_to_the_new(client):
    entry = EntryFactory(title="First title")
    issue = entry.issue
    issue_card = card_url_of(client, issue.get_absolute_url())
    paper_card = card_url_of(client, entry.get_paper_url())

    issue.title = "改过的标题"
    issue.save()
    entry.title = "Second title"
    entry.save()
    for page, old in ((issue.get_absolute_url(), issue_card), (entry.get_paper_url(), paper_card)):
        new = card_url_of(client, page)
        assert new != old
        response = client.get(urlsplit(old).path)
        assert response.status_code == 302
        assert response["Location"] == urlsplit(new).path
        assert (
            "no-cache" in response["Cache-Control"] and "immutable" not in response["Cache-Control"]
        )
        fetch_card(client, new)


@pytest.mark.django_db
def test_the_card_address_changes_with_the_period(client):
    issue = IssueFactory()
    before = card_url_of(client, issue.get_absolute_url())
    issue.period_end += datetime.timedelta(days=1)
    issue.save()
    assert card_url_of(client, issue.get_absolute_url()) != before


@pytest.mark.django_db
def test_an_unknown_hash_is_sent_to_the_current_card_and_nothing_is_drawn(
    client, seed, counted_draws
):
    current = urlsplit(card_url_of(client, seed.get_absolute_url())).path
    for digest in ("0" * 16, "f" * 16):
        response = client.get(reverse("reading:issue_card", args=[seed.slug, digest]))
        assert response.status_code == 302 and response["Location"] == current
    assert counted_draws.call_count == 0
    for wrong in ("card-123.png", "card-" + "g" * 16 + ".png", "card-" + "A" * 16 + ".png"):
        assert client.get(f"/issues/{seed.slug}/{wrong}").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Issue.Status.DRAFT, Issue.Status.SCHEDULED])
def test_a_hidden_issue_and_its_papers_have_no_card(client, status, counted_draws):
    later = timezone.now() + datetime.timedelta(days=1)
    issue = IssueFactory(
        status=status, published_at=later if status == Issue.Status.SCHEDULED else None
    )
    entry = EntryFactory(issue=issue)
    for path in (social_cards.issue_card_path(issue), social_cards.paper_card_path(entry)):
        assert client.get(path).status_code == 404, path
        assert client.get(f"/en{path}").status_code == 404, path
    assert counted_draws.call_count == 0
    # The editors' preview of the issue names no card either.
    assert "card-" not in str(head_of_preview(client, issue))


def head_of_preview(client, issue):
    client.force_login(StaffFactory(is_superuser=True))
    response = client.get(reverse("admin:papers_issue_preview", args=[issue.pk]))
    client.logout()
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser").head


@pytest.mark.django_db
def test_an_unpublished_issue_loses_its_card_at_once(client):
    entry = EntryFactory()
    issue_card = urlsplit(card_url_of(client, entry.issue.get_absolute_url())).path
    paper_card = urlsplit(card_url_of(client, entry.get_paper_url())).path
    fetch_card(client, issue_card)
    entry.issue.unpublish()
    assert client.get(issue_card).status_code == 404
    assert client.get(paper_card).status_code == 404


@pytest.mark.django_db
def test_a_paper_card_shows_its_newest_public_entry_not_a_draft(client):
    public = EntryFactory(arxiv_id="2406.12345", title="Public title")
    draft_issue = IssueFactory(status=Issue.Status.DRAFT, published_at=None)
    EntryFactory(issue=draft_issue, arxiv_id="2406.12345", title="Draft title")
    card = card_url_of(client, public.get_paper_url())
    assert urlsplit(card).path == social_cards.paper_card_path(public)


# ------------------------------------------------------------------ drawn once per change


@pytest.mark.django_db
def test_a_card_is_drawn_once_per_text(client, counted_draws):
    entry = EntryFactory()
    card = card_url_of(client, entry.issue.get_absolute_url())
    for _ in range(3):
        fetch_card(client, card)
    assert counted_draws.call_count == 1
    client.head(urlsplit(card).path)
    assert counted_draws.call_count == 1

    entry.issue.title = "新标题"
    entry.issue.save()
    new = card_url_of(client, entry.issue.get_absolute_url())
    fetch_card(client, new)
    fetch_card(client, new)
    assert counted_draws.call_count == 2


@pytest.mark.django_db
def test_a_card_lost_from_the_cache_is_drawn_again(client, counted_draws):
    entry = EntryFactory()
    card = card_url_of(client, entry.issue.get_absolute_url())
    first = fetch_card(client, card).content
    cache.clear()
    assert fetch_card(client, card).content == first
    assert counted_draws.call_count == 2


# ------------------------------------------------------------------ what is drawn


@pytest.mark.django_db
@pytest.mark.parametrize("title", HARD_TITLES.values(), ids=HARD_TITLES.keys())
def test_hard_titles_draw_and_never_reach_the_page_unescaped(client, title):
    # As the database keeps them: 200 characters at most, and PostgreSQL has no NUL
    # (test_hard_titles_draw_whole draws them as they are).
    title = title.replace("\x00", "")[:200] or "x"
    entry = EntryFactory(title=title, issue=IssueFactory(title=title))
    for page in (entry.issue.get_absolute_url(), entry.get_paper_url()):
        response = client.get(page)
        assert response.status_code == 200
        assert b"<script>alert" not in response.content
        fetch_card(client, card_url_of(client, page))


@pytest.mark.parametrize("title", HARD_TITLES.values(), ids=HARD_TITLES.keys())
def test_hard_titles_draw_whole(title):
    png = social_cards.draw(
        Card("大模型论文双周报", title, "arXiv:2406.15877"), social_cards.card_fonts()
    )
    assert png_size(png) == (1200, 630)


@hypothesis.settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(max_size=300),
    site=st.text(max_size=60),
    detail=st.text(max_size=60),
)
def test_any_text_draws_a_1200_by_630_png(title, site, detail):
    png = social_cards.draw(Card(site, title, detail), social_cards.card_fonts())
    assert png_size(png) == (1200, 630)


@hypothesis.settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
        max_size=120,
    )
)
@hypothesis.example("x" * 300)  # one word wider than the card
@hypothesis.example("长上下文" * 30 + " RAG")
def test_wrapping_keeps_every_visible_character_and_each_line_fits(text):
    face = social_cards.font(social_cards.card_fonts().bold, 48)
    width = 1040
    lines = social_cards.wrap(text, face, width)
    assert all(face.getlength(line) <= width for line in lines)
    assert "".join("".join(lines).split()) == "".join(text.split())


@hypothesis.settings(max_examples=300)
@given(st.text())
@hypothesis.example("标题\n第二行\r\n\t\x00\u202e\u200b尾")
def test_each_line_drawn_is_one_line_of_printable_characters(text):
    for fonts in (social_cards.card_fonts(), CardFonts(None, None)):
        for line in astuple(social_cards.visible_text(Card(text, text, text), fonts)):
            assert line == line.strip() and "  " not in line
            assert all(c == " " or c.isprintable() for c in line), repr(line)


def test_characters_the_font_lacks_are_left_out_not_drawn_as_boxes():
    card = Card("大模型论文双周报", "🔥 LLM🤖 נ ن “agents”，长上下文", "arXiv:2406.15877")
    shown = social_cards.visible_text(card, social_cards.card_fonts())
    assert shown == Card(card.site, "LLM “agents”，长上下文", card.detail)


def test_without_a_chinese_font_only_the_lines_it_can_write_are_drawn():
    card = Card("大模型论文双周报", "Attention Is All You Need: “again”", "2024年6月16日–30日")
    shown = social_cards.visible_text(card, CardFonts(None, None))
    assert shown == Card("", card.title, "")
    assert social_cards.visible_text(card, social_cards.card_fonts()) == card


@hypothesis.settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
@hypothesis.example(  # four lines at the largest size
    "BigCodeBench: Benchmarking Code Generation with Diverse Function Calls and Complex "
    "Instructions"
)
@hypothesis.example("长" * 500)
def test_the_title_stays_between_the_rule_and_the_detail_line(text):
    face, lines = social_cards.fit_title(text, social_cards.card_fonts().bold, 1040)
    assert len(lines) <= social_cards.TITLE_LINES
    height = social_cards.title_height(face, len(lines))
    assert social_cards.TITLE_TOP + height <= social_cards.TITLE_BOTTOM
    detail_top = social_cards.HEIGHT - social_cards.MARGIN - social_cards.SMALL_SIZE
    assert social_cards.RULE_Y < social_cards.TITLE_TOP
    assert detail_top > social_cards.TITLE_BOTTOM


def test_a_title_too_long_for_four_lines_ends_with_an_ellipsis():
    fonts = social_cards.card_fonts()
    face, lines = social_cards.fit_title("长" * 500, fonts.bold, 1040)
    assert len(lines) == social_cards.TITLE_LINES
    assert lines[-1].endswith("…") and face.size == min(social_cards.TITLE_SIZES)
    face, lines = social_cards.fit_title("Short title", fonts.bold, 1040)
    assert lines == ["Short title"] and face.size == max(social_cards.TITLE_SIZES)


def test_the_card_hash_covers_every_line_it_draws():
    card = Card("站名", "标题", "2024年6月16日–30日")
    changed = [
        Card("站名!", "标题", "2024年6月16日–30日"),
        Card("站名", "标题!", "2024年6月16日–30日"),
        Card("站名", "标题", "2024年6月16日–29日"),
    ]
    assert len({card.digest, *(other.digest for other in changed)}) == 4
    assert card.digest == Card("站名", "标题", "2024年6月16日–30日").digest


# ------------------------------------------------------------------ the font


def test_the_noto_cjk_font_is_found():
    fonts = social_cards.card_fonts()
    assert fonts.found, "install fonts-noto-cjk (make system-packages)"
    assert "NotoSansCJK" in fonts.bold
    assert social_cards.font(fonts.bold, 40).getname() == ("Noto Sans CJK SC", "Bold")


def test_the_font_named_in_the_settings_comes_first(settings):
    regular = social_cards.card_fonts().regular
    settings.SOCIAL_CARD_FONT = regular
    social_cards.card_fonts.cache_clear()
    assert social_cards.card_fonts() == CardFonts(regular, regular)
    settings.SOCIAL_CARD_FONT = "/nowhere/font.ttc"
    social_cards.card_fonts.cache_clear()
    assert social_cards.card_fonts().found  # a wrong path is logged, the usual places read


@pytest.fixture
def no_chinese_font(monkeypatch):
    monkeypatch.setattr(social_cards, "FONT_FOLDERS", ())
    monkeypatch.setattr(social_cards, "fontconfig_cjk_files", list)
    social_cards.card_fonts.cache_clear()
    assert not social_cards.card_fonts().found


@pytest.mark.django_db
def test_without_a_chinese_font_a_card_is_still_served_for_an_hour(client, no_chinese_font):
    entry = EntryFactory(title="An English title", issue=IssueFactory(title="中文标题"))
    for page in (entry.issue.get_absolute_url(), entry.get_paper_url()):
        response = fetch_card(client, card_url_of(client, page))
        assert response["Cache-Control"] == "public, max-age=3600"
    warnings = [w for w in checks.run_checks() if w.id == "reading.W001"]
    assert len(warnings) == 1 and "fonts-noto-cjk" in warnings[0].hint


def test_with_the_font_there_is_no_warning():
    assert not [w for w in checks.run_checks() if w.id == "reading.W001"]


# ------------------------------------------------------------------ the icons

ICONS = Path(__file__).resolve().parents[2] / "static" / "icons"


@pytest.mark.django_db
def test_every_page_links_the_icons(client, collected_static):
    page_head = head(client, "/")
    links = {
        (link["rel"][0], link.get("type"), link.get("sizes")): link["href"]
        for link in page_head.find_all("link", rel=["icon", "apple-touch-icon"])
    }
    assert set(links) == {
        ("icon", None, "32x32"),
        ("icon", "image/svg+xml", None),
        ("apple-touch-icon", None, None),
    }
    for href in links.values():
        assert (collected_static / href.removeprefix("/static/")).is_file(), href


def test_the_icons_are_what_draw_icons_draws(tmp_path):
    call_command("draw_icons", folder=tmp_path, stdout=io.StringIO())
    for name in ("favicon.svg", "favicon.ico", "apple-touch-icon.png"):
        assert (tmp_path / name).read_bytes() == (ICONS / name).read_bytes(), name
    assert png_size((ICONS / "apple-touch-icon.png").read_bytes()) == (180, 180)
    with Image.open(ICONS / "favicon.ico") as ico:
        assert {(16, 16), (32, 32)} <= ico.info["sizes"]
    assert (ICONS / "favicon.svg").read_text().startswith("<svg ")


@pytest.mark.parametrize("name", ["favicon.ico", "apple-touch-icon.png"])
def test_icons_asked_for_at_the_root_are_found(client, name):
    """Browsers and feed readers ask /favicon.ico (and iOS /apple-touch-icon.png)
    without reading a page: they are sent to the static icon."""
    response = client.get(f"/{name}")
    stem, suffix = name.rsplit(".", 1)
    assert response.status_code == 302 and "max-age=86400" in response["Cache-Control"]
    assert re.fullmatch(rf"/static/icons/{stem}(\.[0-9a-f]+)?\.{suffix}", response["Location"])
