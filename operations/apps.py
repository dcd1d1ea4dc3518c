from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the site: backups, health, logs, replicas, the fail-soft cache."""

    name = "operations"
    verbose_name = "运维"
