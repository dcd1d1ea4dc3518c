"""Draw the site's icons into static/icons/: the favicon (SVG and ICO) and the
touch icon (180 px PNG) that base.html links. Run once after changing the
shapes below, and commit the files: they are static, not drawn per request.

The icon is a page of a digest: three lines of text, white on the site's
accent colour (static/css/site.css), one geometry for every file.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw

from reading.social_cards import ACCENT

SIDE = 64  # the geometry's own unit: a 64 x 64 square
CORNER = 12
# (x0, y0, x1, y1) of each line of "text".
LINES = ((14, 17, 50, 24), (14, 29, 50, 36), (14, 41, 38, 48))
WHITE = "#ffffff"
ICO_SIZES = (16, 32, 48)
ICONS = Path(settings.BASE_DIR) / "static" / "icons"
TOUCH_SIZE = 180  # Apple's size for phones and tablets; iOS rounds the corners itself


def svg():
    bars = "".join(
        f'<rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="2" fill="{WHITE}"/>'
        for x0, y0, x1, y1 in LINES
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIDE} {SIDE}">'
        f'<rect width="{SIDE}" height="{SIDE}" rx="{CORNER}" fill="{ACCENT}"/>{bars}</svg>\n'
    )


def bitmap(size, *, rounded):
    """The icon at ``size`` pixels, drawn four times larger and scaled down
    (smooth edges); square corners for the touch icon."""
    scale = size * 4 / SIDE
    image = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    box = (0, 0, size * 4 - 1, size * 4 - 1)
    if rounded:
        pen.rounded_rectangle(box, radius=round(CORNER * scale), fill=ACCENT)
    else:
        pen.rectangle(box, fill=ACCENT)
    for x0, y0, x1, y1 in LINES:
        pen.rounded_rectangle(
            tuple(round(v * scale) for v in (x0, y0, x1, y1)), radius=round(2 * scale), fill=WHITE
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


class Command(BaseCommand):
    help = "Draw the favicon and the touch icon into static/icons/."

    def add_arguments(self, parser):
        parser.add_argument("--folder", type=Path, default=ICONS, help="where to write them")

    def handle(self, *args, folder, **options):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "favicon.svg").write_text(svg())
        largest = bitmap(max(ICO_SIZES), rounded=True)
        largest.save(folder / "favicon.ico", sizes=[(s, s) for s in ICO_SIZES])
        bitmap(TOUCH_SIZE, rounded=False).convert("RGB").save(
            folder / "apple-touch-icon.png", optimize=True
        )
        self.stdout.write(f"Icons written to {folder}")
