"""Social cards: the picture a shared link to an issue or a paper shows
(``og:image``, ``twitter:image``), drawn on the server with Pillow.

A card is its text (``Card``: the site's name, a title, a line under it) and
its address carries a hash of that text (``Card.digest``), so the address
changes whenever what the card shows changes, and an answer at one address
never changes: it is served with a far-future ``immutable`` header. The PNG
is drawn once per text and kept in the shared cache under the hash; a view
that is asked for a hash that is not the current card's never draws it, it
sends the reader to the current one (docs/architecture.md, "Social cards").

The font is Noto Sans CJK (Debian's fonts-noto-cjk), found where the
distributions put it, through ``settings.SOCIAL_CARD_FONT`` or through
fontconfig. A character the font lacks (an emoji) is left out rather than
drawn as a box. Without any Chinese font the card is still drawn, with
Pillow's own Latin font and only the lines it can write, and served with a short
lifetime instead (``Drawn.final``), so the real card replaces it once the
font is installed; ``manage.py check`` warns about it (reading.checks).
"""

import functools
import hashlib
import io
import json
import logging
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from PIL import Image, ImageDraw, ImageFont

from reading.templatetags.digest import period, site_name

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
# Part of every card's hash: change it when the drawing changes, and every
# card gets a new address (browsers keep the old ones for a year).
DESIGN = "2026-12-1"
DIGEST_LENGTH = 16
DIGEST_PATTERN = rf"[0-9a-f]{{{DIGEST_LENGTH}}}"
# The PNG is kept this long in the shared cache (it is redrawn if evicted).
STORED_SECONDS = 30 * 24 * 60 * 60
STORED = "reading:card:"

# Layout, in pixels.
MARGIN = 80
ACCENT_BAR = 16
SMALL_SIZE = 34
RULE_Y = 150  # the line under the site's name
TITLE_TOP = 190
# The title's lines end above the detail line (its baseline at HEIGHT - MARGIN).
TITLE_BOTTOM = HEIGHT - MARGIN - SMALL_SIZE - 16
TITLE_SIZES = (72, 64, 56, 48)  # the largest at which the title fits is used
TITLE_LINES = 4  # at most, at the smallest size
TITLE_LEADING = 1.3
# Colours of the site's stylesheet (static/css/site.css, light scheme).
BACKGROUND = "#fbfaf7"
TEXT = "#1f2328"
MUTED = "#57606a"
ACCENT = "#0b5cad"
LINE = "#e3e0d8"
ELLIPSIS = "…"
# The longest text measured: beyond it no title could fit in four lines anyway.
LONGEST_TEXT = 400

# Where distributions install Noto Sans CJK (Debian and Ubuntu first).
FONT_FOLDERS = (
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/noto-cjk",
    "/usr/share/fonts/google-noto-cjk",
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/noto-cjk",
)
FONT_FILES = {"bold": "NotoSansCJK-Bold.ttc", "regular": "NotoSansCJK-Regular.ttc"}
# The face of a .ttc collection to use: Simplified Chinese glyph forms.
FACE_NAME = "Noto Sans CJK SC"


@dataclass(frozen=True)
class Card:
    """What one card shows, line by line: all that its hash covers."""

    site: str
    title: str
    detail: str

    @property
    def digest(self):
        text = json.dumps([DESIGN, self.site, self.title, self.detail], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def issue_card(issue):
    """An issue's card in the active language: its title and period."""
    return Card(site_name(), issue.title, period(issue))


def paper_card(entry):
    """A paper's card: the title of its newest public entry and its arXiv id."""
    return Card(site_name(), entry.title, f"arXiv:{entry.arxiv_id}")


@dataclass(frozen=True)
class CardLink:
    """A card as a page's head names it (``og:image`` and its size)."""

    url: str
    width: int = WIDTH
    height: int = HEIGHT


def issue_card_path(issue):
    return reverse(
        "reading:issue_card", kwargs={"slug": issue.slug, "digest": issue_card(issue).digest}
    )


def paper_card_path(entry):
    return reverse(
        "reading:paper_card",
        kwargs={"arxiv_id": entry.arxiv_id, "digest": paper_card(entry).digest},
    )


# ------------------------------------------------------------------ fonts


@dataclass(frozen=True)
class CardFonts:
    """The font files found (None: Pillow's own Latin font) and a key that
    names them, part of the stored PNG's cache key."""

    bold: str | None
    regular: str | None

    @property
    def found(self):
        return self.bold is not None

    @property
    def key(self):
        if not self.found:
            return "builtin"
        return hashlib.sha256(f"{self.bold}|{self.regular}".encode()).hexdigest()[:8]


def fontconfig_cjk_files():
    """Font files fontconfig says cover Simplified Chinese, Noto Sans CJK first;
    nothing when fontconfig is not there or does not answer."""
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return []
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh-cn", "--format", "%{file}\n"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(set(listed), key=lambda path: ("NotoSansCJK" not in path, "Bold" not in path))


@functools.cache
def card_fonts():
    """The card's fonts, looked for once per process: the file the settings
    name (for both weights), Noto Sans CJK where distributions put it, then
    any Chinese font fontconfig knows; none at all is logged, not raised."""
    if settings.SOCIAL_CARD_FONT:
        if Path(settings.SOCIAL_CARD_FONT).is_file():
            return CardFonts(settings.SOCIAL_CARD_FONT, settings.SOCIAL_CARD_FONT)
        logger.warning("SOCIAL_CARD_FONT %s is not a file", settings.SOCIAL_CARD_FONT)
    for folder in FONT_FOLDERS:
        bold, regular = (Path(folder) / FONT_FILES[weight] for weight in ("bold", "regular"))
        if bold.is_file() or regular.is_file():
            bold = bold if bold.is_file() else regular
            regular = regular if regular.is_file() else bold
            return CardFonts(str(bold), str(regular))
    for path in fontconfig_cjk_files():
        return CardFonts(path, path)
    logger.warning("No Chinese font for the social cards: install fonts-noto-cjk")
    return CardFonts(None, None)


@functools.cache
def face_index(path):
    """The index of the Simplified Chinese face in a font collection (0 for a
    single font, or when no face says so)."""
    for index in range(32):
        try:
            family, _style = ImageFont.truetype(path, 12, index=index).getname()
        except OSError:
            break
        if family == FACE_NAME:
            return index
    return 0


@functools.cache
def font(path, size):
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size, index=face_index(path))


# ------------------------------------------------------------------ text

# Runs of whitespace, single CJK characters (a line may break between any
# two), and runs of anything else (a Latin word is kept whole).
CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
TOKEN = re.compile(rf"\s+|[{CJK}]|[^\s{CJK}]+")
# Punctuation that never starts a line: it stays with what precedes it.
NO_LINE_START = frozenset("，。、；：？！）》」』】〉,.;:?!)]}…%")


def printable(text):
    """The text as one line of visible characters: control, format and
    unassigned characters dropped, any run of whitespace one space."""
    kept = "".join(c for c in text if not unicodedata.category(c).startswith("C") or c in "\t\n")
    return " ".join(kept.split())


def tokens(text):
    pieces = []
    for piece in TOKEN.findall(text):
        if pieces and piece[0] in NO_LINE_START and not pieces[-1].isspace():
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


def wrap(text, face, width):
    """The text in lines no wider than ``width``: Latin words kept whole unless
    one alone is too wide, Chinese broken between any two characters."""
    lines, line = [], ""
    for token in tokens(text):
        pieces = [token] if face.getlength(token) <= width else list(token)
        for piece in pieces:
            if not line and piece.isspace():
                continue
            if face.getlength(line + piece) <= width:
                line += piece
            else:
                if line.strip():
                    lines.append(line.rstrip())
                line = "" if piece.isspace() else piece
    if line.strip():
        lines.append(line.rstrip())
    return lines


def ellipsised(line, face, width):
    """``line`` cut so that it and an ellipsis fit in ``width``."""
    while line and face.getlength(line + ELLIPSIS) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def line_step(face):
    return round(face.size * TITLE_LEADING)


def title_height(face, count):
    """How tall ``count`` lines of the title are, from the top of the first
    to the lowest descender of the last."""
    ascent, descent = face.getmetrics()
    return (count - 1) * line_step(face) + ascent + descent


def lines_that_fit(face):
    count = TITLE_LINES
    while count > 1 and title_height(face, count) > TITLE_BOTTOM - TITLE_TOP:
        count -= 1
    return count


def fit_title(text, path, width):
    """(font, lines) of the title at the largest size at which all of it fits
    between ``TITLE_TOP`` and ``TITLE_BOTTOM``; at the smallest, the last line
    that fits is ellipsised."""
    for size in TITLE_SIZES:
        face = font(path, size)
        lines = wrap(text, face, width)
        if len(lines) <= lines_that_fit(face):
            return face, lines
    kept = lines[: lines_that_fit(face)]
    kept[-1] = ellipsised(kept[-1], face, width)
    return face, kept


# A noncharacter no font maps: what a font draws for a character it lacks.
NO_GLYPH = "\uffff"


@functools.lru_cache(maxsize=65536)
def has_glyph(path, char):
    """Whether the font at ``path`` (None: Pillow's own) draws ``char``, rather
    than the box it draws for every character it lacks."""
    face = font(path, 32)
    drawn, missing = face.getmask(char), face.getmask(NO_GLYPH)
    return char.isspace() or (drawn.size, bytes(drawn)) != (missing.size, bytes(missing))


# ------------------------------------------------------------------ drawing


def visible_text(card, fonts):
    """The card's lines as they are drawn: printable (one line each, whatever
    the editor typed), no longer than could fit, and with no box for a
    character the font lacks: such a character (an emoji, Arabic in Noto Sans
    CJK) is left out; without a Chinese font, a line with any such character
    is left out whole (it would be more holes than text)."""
    lines = [printable(text)[:LONGEST_TEXT] for text in (card.site, card.title, card.detail)]
    if fonts.found:
        lines = [
            " ".join("".join(c for c in line if has_glyph(fonts.bold, c)).split()) for line in lines
        ]
    else:
        lines = [line if all(has_glyph(None, c) for c in line) else "" for line in lines]
    return Card(*lines)


def draw(card, fonts):
    """The card as PNG bytes: the site's name at the top, the title wrapped
    below it, the detail line at the bottom, on the site's colours."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    pen = ImageDraw.Draw(image)
    pen.rectangle((0, 0, ACCENT_BAR, HEIGHT), fill=ACCENT)
    text_width = WIDTH - 2 * MARGIN
    shown = visible_text(card, fonts)
    site, title, detail = shown.site, shown.title, shown.detail

    small = font(fonts.regular, SMALL_SIZE)
    site_face = font(fonts.bold, SMALL_SIZE)
    if site:
        pen.text(
            (MARGIN, MARGIN),
            ellipsised_to(site, site_face, text_width),
            font=site_face,
            fill=ACCENT,
        )
    pen.line((MARGIN, RULE_Y, WIDTH - MARGIN, RULE_Y), fill=LINE, width=2)

    if title:
        face, lines = fit_title(title, fonts.bold, text_width)
        step = line_step(face)
        for number, line in enumerate(lines):
            pen.text((MARGIN, TITLE_TOP + number * step), line, font=face, fill=TEXT)

    if detail:
        pen.text(
            (MARGIN, HEIGHT - MARGIN),
            ellipsised_to(detail, small, text_width),
            font=small,
            fill=MUTED,
            anchor="ls",
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def ellipsised_to(text, face, width):
    """One line: the text as it is if it fits, else cut with an ellipsis."""
    return text if face.getlength(text) <= width else ellipsised(text, face, width)


@dataclass(frozen=True)
class Drawn:
    """A card's PNG; ``final``: drawn with the Chinese font, so its address
    may be kept for ever (otherwise for an hour, until the font is there)."""

    png: bytes
    final: bool


def drawn(card):
    """The card's PNG from the shared cache, drawn and stored on a miss: once
    per text and font, however many readers and processes ask."""
    fonts = card_fonts()
    key = f"{STORED}{card.digest}:{fonts.key}"
    png = cache.get(key)
    if png is None:
        png = draw(card, fonts)
        cache.set(key, png, STORED_SECONDS)
    return Drawn(png, fonts.found)
