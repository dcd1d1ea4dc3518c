"""System checks of the public site (``manage.py check``)."""

from django.core import checks

from reading import social_cards


@checks.register(checks.Tags.compatibility)
def social_card_font(app_configs, **kwargs):
    """Warn when the social cards have no Chinese font: they would still be
    drawn, but without their Chinese text (reading.social_cards)."""
    if social_cards.card_fonts().found:
        return []
    return [
        checks.Warning(
            "No Chinese font for the social cards: they are drawn without their Chinese text.",
            hint="Install Debian's fonts-noto-cjk, or set DIGEST_SOCIAL_CARD_FONT to a font file.",
            id="reading.W001",
        )
    ]
