"""The two editorial roles, as groups.

Editor: writes, tags and previews (add/change/view issues and entries, manage
sections and tags) but cannot publish or delete issues. Publisher: everything
an editor can, plus publish, schedule, unpublish and delete.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITOR = {
    "issue": ["add", "change", "view"],
    "entry": ["add", "change", "view", "delete"],
    "section": ["add", "change", "view"],
    "tag": ["add", "change", "view"],
    "taggedentry": ["add", "change", "view", "delete"],
}
PUBLISHER_EXTRA = {
    "issue": ["delete", "publish"],
    "section": ["delete"],
    "tag": ["delete"],
}


def codenames(actions_by_model):
    return [
        "publish_issue" if action == "publish" else f"{action}_{model}"
        for model, actions in actions_by_model.items()
        for action in actions
    ]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they
    # exist now so the groups can hold them. (create_permissions skips app
    # configs without a models module, which migration states lack.)
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    papers = Permission.objects.filter(content_type__app_label="papers")
    editor_codenames = codenames(EDITOR)
    publisher_codenames = editor_codenames + codenames(PUBLISHER_EXTRA)
    for name, wanted in (("Editor", editor_codenames), ("Publisher", publisher_codenames)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*papers.filter(codename__in=wanted))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Editor", "Publisher"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0002_edit_token_and_publish_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
