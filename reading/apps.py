from django.apps import AppConfig


class ReadingConfig(AppConfig):
    """The public site: pages, feeds, the API and the page cache."""

    name = "reading"
    verbose_name = "公开站点"

    def ready(self):
        from reading import checks, signals  # noqa: F401  (the checks; the page cache's receivers)
