"""An issue is 期 (一期), not 期刊: the model's names, its permission, the
entry's field label and a constraint's message.

Permission rows are written once, by ``post_migrate``, when a permission is
first missing; renaming the model does not rename them. So existing databases
get the new names here (a fresh database has no rows yet at this point, and
``post_migrate`` then makes them with the new names).
"""

import django.db.models.deletion
from django.db import migrations, models

# codename: (name before, name after)
PERMISSION_NAMES = {
    "add_issue": ("Can add 期刊", "Can add 期"),
    "change_issue": ("Can change 期刊", "Can change 期"),
    "delete_issue": ("Can delete 期刊", "Can delete 期"),
    "view_issue": ("Can view 期刊", "Can view 期"),
    "publish_issue": ("可以发布、定时发布和撤回期刊", "可以发布、定时发布和撤回一期"),
}


def _set_names(apps, pick):
    Permission = apps.get_model("auth", "Permission")
    for codename, names in PERMISSION_NAMES.items():
        Permission.objects.filter(
            content_type__app_label="papers", content_type__model="issue", codename=codename
        ).update(name=pick(names))


def rename_permissions(apps, schema_editor):
    _set_names(apps, lambda names: names[1])


def restore_permission_names(apps, schema_editor):
    _set_names(apps, lambda names: names[0])


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("papers", "0005_nonempty_slugs"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="issue",
            options={
                "ordering": ["-period_end", "-pk"],
                "permissions": [("publish_issue", "可以发布、定时发布和撤回一期")],
                "verbose_name": "期",
                "verbose_name_plural": "期",
            },
        ),
        migrations.AlterField(
            model_name="entry",
            name="issue",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="entries",
                to="papers.issue", verbose_name="期",
            ),
        ),
        migrations.AlterConstraint(
            model_name="issue",
            name="issue_public_has_publication_time",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "draft"), ("published_at__isnull", False),
                                   _connector="OR"),
                name="issue_public_has_publication_time",
                violation_error_message="已发布或定时发布的一期需要发布时间。",
            ),
        ),
        migrations.RunPython(rename_permissions, restore_permission_names),
    ]
