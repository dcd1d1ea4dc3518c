"""Publishers send issues and look after subscribers; editors do neither.

Subscribers' addresses are personal data: only publishers see them (view,
change, delete subscribers and deliveries, send an issue).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PUBLISHER = [
    "send_issue",
    "view_mailing",
    "change_mailing",
    "view_subscriber",
    "change_subscriber",
    "delete_subscriber",
    "view_delivery",
]


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations (see papers 0003).
    app_config = apps.get_app_config("newsletter")
    original = getattr(app_config, "models_module", None)
    app_config.models_module = original or True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    publisher, _ = Group.objects.get_or_create(name="Publisher")
    publisher.permissions.add(
        *Permission.objects.filter(content_type__app_label="newsletter", codename__in=PUBLISHER)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Publisher"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="newsletter"))


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0001_subscribers_and_deliveries"),
        ("papers", "0007_entry_position_limit"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
