"""PostgreSQL: each search document's row holds its tsvector, its texts go to TOAST.

A search reads the vectors of the matches it ranks and of the candidates
it tests for a phrase (papers.search, docs/search-benchmark.md). Stored as
before, a vector of 2-3 kB sat out of line in TOAST, so each was read back
through the TOAST index: about three times as slow as a vector in the row
itself. The texts (title,
keywords, body) are read only to compute the vector, so they move out of line
instead. Existing vectors are written again to take the new place, each with
the block of ids its entry's id falls in (papers.search.ID_BLOCK).

The table is read by search alone, in queries bounded to a few thousand rows
that take milliseconds: no parallel workers for it, whose start would cost
more than they save. Nothing changes on SQLite.
"""

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


# The vector of papers.search.postgres_vector(): the three weighted texts and
# the block of a thousand ids the entry's id falls in ("~98" for 98,000 to
# 98,999), which lets the GIN index find the matches in a range of ids.
VECTOR = """setweight(to_tsvector('simple', coalesce(title, '')), 'A')
    || setweight(to_tsvector('simple', coalesce(keywords, '')), 'B')
    || setweight(to_tsvector('simple', coalesce(body, '')), 'C')
    || array_to_tsvector(ARRAY['~' || (entry_id / 1000)])"""


def inline(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in INLINE:
        schema_editor.execute(statement)
    # Every vector written anew: with its block, and by the new storage
    # rules (an unchanged value would stay in TOAST).
    schema_editor.execute(f"UPDATE {TABLE} SET vector = {VECTOR} WHERE vector IS NOT NULL")


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in AS_BEFORE:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0007_entry_position_limit"),
    ]

    operations = [migrations.RunPython(inline, as_before)]
