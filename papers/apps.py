from django.apps import AppConfig


class PapersConfig(AppConfig):
    name = "papers"
    verbose_name = "论文双周报"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from papers import signals  # noqa: F401  (connects the receivers)
