"""A field of an entry is declared once, and every list of fields covers it.

A field that editors write and readers see reaches the admin's form, the
roundup Markdown file, the history and the API from a few declarations
(docs/architecture.md, "Adding a field to an entry"). Each of those places
fails silently when it misses a field (the field is simply not edited, not
exported, not compared, not published), so these tests say which one does.
"""

from editorial.admin import ENTRY_FORM_FIELDS
from editorial.restore import ISSUE_KEPT_FIELDS
from editorial.roundup_markdown import ENTRY_DETAIL_LINES
from papers.models import Entry, Issue
from reading.api import EntryOut

# Where an entry stands in its issue, rather than what it says.
PLACEMENT = {"issue", "section", "position"}
# The roundup file gives these a place of their own: the paper's heading, its
# link line and the text below the details.
OWN_PLACE_IN_THE_FILE = {"title", "arxiv_id", "url", "summary"}


def editable_fields(model):
    return {f.name for f in model._meta.concrete_fields if f.editable and not f.primary_key}


def flattened(fields):
    return {name for item in fields for name in (item if isinstance(item, tuple) else (item,))}


def test_every_field_an_editor_writes_is_content_or_placement():
    """History compares, and a restore brings back, ``content_fields``: a
    field left out of them would change unseen."""
    assert editable_fields(Entry) == PLACEMENT | set(Entry.content_fields)
    assert editable_fields(Issue) == set(Issue.content_fields) | set(ISSUE_KEPT_FIELDS)


def test_the_entry_form_has_every_content_field_and_the_tags():
    assert {*Entry.content_fields, "tags"} <= flattened(ENTRY_FORM_FIELDS)


def test_the_roundup_file_carries_every_content_field_and_the_tags():
    carried = OWN_PLACE_IN_THE_FILE | {line.name for line in ENTRY_DETAIL_LINES}
    assert carried == {*Entry.content_fields, "tags"}


def test_the_api_publishes_every_content_field_and_the_tags():
    """Markdown fields are published rendered (``summary`` as ``summary_html``)."""
    published = {Entry.markdown_fields.get(name, name) for name in Entry.content_fields}
    assert {*published, "tags"} <= set(EntryOut.model_fields)
