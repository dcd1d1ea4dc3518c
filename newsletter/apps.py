from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    """Delivery: subscribers, what each follows, and one mail per issue per subscriber."""

    name = "newsletter"
    verbose_name = "邮件订阅"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import signals  # noqa: F401  (send-on-publish follows each save of an issue)
