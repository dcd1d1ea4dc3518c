from django.apps import AppConfig


class EditorialConfig(AppConfig):
    """The editors' desk: the admin and the tools around it."""

    name = "editorial"
    verbose_name = "编辑台"
