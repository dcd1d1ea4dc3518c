"""PostgreSQL: each search document's row holds its tsvector, its texts go to TOAST.

A search walks the newest documents and tests each vector (papers.search,
docs/search-benchmark.md). Stored as before, a vector of 2-3 kB sat out of
line in TOAST, so each test read it back through the TOAST index: about
three times as slow as a vector in the row itself. The texts (title,
keywords, body) are read only to compute the vector, so they move out of line
instead. Existing vectors are written again to take the new place.

The table is read by search alone, in queries bounded to a few thousand rows
that take milliseconds: no parallel workers for it, whose start would cost
more than they save. Nothing changes on SQLite.
"""

from django.contrib.postgres.search import SearchVector
from django.db import migrations

TABLE = "papers_searchdocument"
INLINE = [
    f"ALTER TABLE {TABLE} SET (parallel_workers = 0)",
    # Every text longer than a TOAST pointer leaves the row, uncompressed...
    f"ALTER TABLE {TABLE} SET (toast_tuple_target = 128)",
    f"ALTER TABLE {TABLE} ALTER COLUMN title SET STORAGE EXTERNAL",
    f"ALTER TABLE {TABLE} ALTER COLUMN keywords SET STORAGE EXTERNAL",
    f"ALTER TABLE {TABLE} ALTER COLUMN body SET STORAGE EXTERNAL",
    # ...and the vector stays in it (out of line only if the row outgrew a page).
    f"ALTER TABLE {TABLE} ALTER COLUMN vector SET STORAGE MAIN",
]
AS_BEFORE = [
    f"ALTER TABLE {TABLE} RESET (toast_tuple_target, parallel_workers)",
    *(
        f"ALTER TABLE {TABLE} ALTER COLUMN {column} SET STORAGE EXTENDED"
        for column in ("title", "keywords", "body", "vector")
    ),
]


def inline(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in INLINE:
        schema_editor.execute(statement)
    # The same vector as papers.search.postgres_vector(), written anew: a new
    # value is stored by the new rules, an unchanged one would stay in TOAST.
    SearchDocument = apps.get_model("papers", "SearchDocument")
    SearchDocument.objects.exclude(vector=None).update(
        vector=SearchVector("title", weight="A", config="simple")
        + SearchVector("keywords", weight="B", config="simple")
        + SearchVector("body", weight="C", config="simple")
    )


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in AS_BEFORE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0007_entry_position_limit"),
    ]

    operations = [migrations.RunPython(inline, as_before)]
