"""Every tag and section slug non-empty, in the database.

First the rows that no URL can carry (an empty slug, made by taggit for 🔥, or
one outside the URL converters' characters) get a slug by the scheme of
papers.slugs; rows whose slug works are never touched (their URLs are out
there). Then check constraints refuse an empty slug from now on.
"""

from django.db import migrations, models

from papers import slugs


def repair_slugs(apps, schema_editor):
    Tag = apps.get_model("papers", "Tag")
    Section = apps.get_model("papers", "Section")
    tags = Tag.objects.order_by("pk")
    taken = set(tags.values_list("slug", flat=True))
    for tag in tags:
        if not slugs.TAG_SLUG.match(tag.slug):
            tag.slug = slugs.first_free(slugs.tag_slug_base(tag.name), taken)
            taken.add(tag.slug)
            tag.save(update_fields=["slug"])
    sections = Section.objects.order_by("pk")
    taken = set(sections.values_list("slug", flat=True))
    for section in sections:
        if not slugs.SECTION_SLUG.match(section.slug):
            section.slug = slugs.first_free(f"section-{section.pk}", taken)
            taken.add(section.slug)
            section.save(update_fields=["slug"])


class Migration(migrations.Migration):

    dependencies = [
        ("papers", "0004_search_index"),
    ]

    operations = [
        migrations.RunPython(repair_slugs, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="section",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True),
                name="section_slug_not_empty",
                violation_error_message="网址名不能为空。",
            ),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True),
                name="tag_slug_not_empty",
                violation_error_message="网址名不能为空。",
            ),
        ),
    ]
