"""SQLite: the words that a query's prefix may begin (papers.models.SearchWord),
as migration 0009 keeps them on PostgreSQL.

FTS5 answers a prefix (hallucination*) by merging the lists of every word it
begins across the whole index before it can skip to the newest matches: at
100,000 entries, a query with the glossary's prefixes spent most of its time
there. Given the words instead (hallucination OR hallucinations), it reads only
what it needs (docs/search-benchmark.md).
"""

from django.db import migrations

# A search document's fields are index tokens joined by spaces (Chinese bigrams
# and words of a-z and 0-9, papers.search.tokens), so they make a JSON array
# by replacing each space; words of four characters or more are kept, as a
# prefix in a query has (papers.search.PREFIX_MIN_LENGTH).
_WORDS_OF = """
    SELECT DISTINCT token.value FROM {documents}json_each(
        '["' || replace({row}.title || ' ' || {row}.keywords || ' ' || {row}.body, ' ', '","')
        || '"]'
    ) AS token
    WHERE length(token.value) >= 4 AND token.value NOT GLOB '*[^a-z0-9]*'
"""
SQLITE_CREATE = [
    f"""CREATE TRIGGER papers_searchdocument_words_ai AFTER INSERT ON papers_searchdocument BEGIN
        INSERT OR IGNORE INTO papers_searchword (word) {_WORDS_OF.format(row="new", documents="")};
    END""",
    f"""CREATE TRIGGER papers_searchdocument_words_au AFTER UPDATE ON papers_searchdocument BEGIN
        INSERT OR IGNORE INTO papers_searchword (word) {_WORDS_OF.format(row="new", documents="")};
    END""",
    "INSERT OR IGNORE INTO papers_searchword (word) "
    + _WORDS_OF.format(row="document", documents="papers_searchdocument AS document, "),
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS papers_searchdocument_words_au",
    "DROP TRIGGER IF EXISTS papers_searchdocument_words_ai",
]


def run(statements):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0011_related_entries"),
    ]

    operations = [migrations.RunPython(run(SQLITE_CREATE), run(SQLITE_DROP))]
