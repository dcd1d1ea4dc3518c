"""What changed between two versions of an issue or an entry, in an editor's terms.

django-reversion stores every saved row whole, derived and bookkeeping fields
included (edit tokens, rendered HTML, timestamps). An editor wants to know what
was written: an issue's own fields, and entry by entry what happened to its
title, summary, tags, section, position and link, which entries came and went.

A version (or the database as it is now) is read into a *state*: plain values,
content only, with sections and tags by name. Two states give a *diff*:
field changes, each text change split into unchanged / deleted / inserted
pieces (by words for English, by characters for Chinese), and a one-line
summary for the history list. Pages print the pieces with autoescaping: stored
text is untrusted and nothing here marks anything safe.

Publication (status and time) is reported apart from content, because a
restore never brings it back (editorial.restore).
"""

import difflib
import json
import re
from dataclasses import dataclass, field, make_dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from papers.models import Entry, Issue, Section, Tag, TaggedEntry

ISSUE_CONTENT_FIELDS = Issue.content_fields
ENTRY_CONTENT_FIELDS = Entry.content_fields
# Texts get a word/character diff: long ones inline, short ones as the old
# and the new line, each with its changed part marked. Other values show
# old → new.
TEXT_FIELDS = {"title", "intro", "summary", "authors"}
SHORT_TEXT_FIELDS = {"title", "authors"}
SUMMARY_TITLE_LENGTH = 24
SUMMARY_ENTRIES_NAMED = 2


def label(model, name):
    return str(model._meta.get_field(name).verbose_name)


# States ---------------------------------------------------------------------


# An entry's place, its content fields (as text) and its tags. Made from
# Entry.content_fields, so that a field added there is compared too.
EntryState = make_dataclass(
    "EntryState",
    [
        ("pk", int),
        ("issue_id", int),
        ("section_id", int),
        ("position", int),
        *((name, str, field(default="")) for name in ENTRY_CONTENT_FIELDS),
        ("tag_ids", frozenset, field(default=frozenset())),
    ],
    frozen=True,
    namespace={"__module__": __name__},
)


@dataclass(frozen=True)
class IssueState:
    pk: int
    fields: dict
    status: str
    published_at: object  # an aware datetime or None
    entries: dict  # pk -> EntryState


def stored_fields(version):
    """A version's stored fields by field name (foreign keys by their pk).

    Read from the JSON directly: faster than deserialising, and it still
    works for a version saved under an older schema."""
    if version.format == "json":
        return json.loads(version.serialized_data)[0]["fields"]
    return {f.name: version.field_dict.get(f.attname) for f in version._model._meta.concrete_fields}


def _text(value):
    return "" if value is None else str(value)


def _entry_state(pk, fields, tag_ids):
    return EntryState(
        pk=int(pk),
        issue_id=fields.get("issue"),
        section_id=fields.get("section"),
        position=fields.get("position"),
        tag_ids=frozenset(tag_ids),
        **{name: _text(fields.get(name)) for name in ENTRY_CONTENT_FIELDS},
    )


def revision_rows(revision):
    """The stored rows of a revision, by model: ``{model: {pk: fields}}``."""
    rows = {Issue: {}, Entry: {}, TaggedEntry: {}}
    for version in revision.version_set.all():
        model = version.content_type.model_class()
        if model in rows:
            rows[model][int(version.object_id)] = stored_fields(version)
    return rows


def _tags_by_entry(rows):
    tags = {}
    for link in rows[TaggedEntry].values():
        tags.setdefault(link["content_object"], set()).add(link["tag"])
    return tags


def entry_state_from_version(version):
    """The entry as ``version`` stored it, with the tags saved alongside."""
    rows = revision_rows(version.revision)
    pk = int(version.object_id)
    fields = rows[Entry].get(pk) or stored_fields(version)
    return _entry_state(pk, fields, _tags_by_entry(rows).get(pk, ()))


def issue_state_from_version(version):
    """The issue as ``version`` stored it: its fields and the entries (with
    their tags) saved in the same revision."""
    rows = revision_rows(version.revision)
    pk = int(version.object_id)
    fields = rows[Issue].get(pk) or stored_fields(version)
    tags = _tags_by_entry(rows)
    entries = {
        entry_pk: _entry_state(entry_pk, entry, tags.get(entry_pk, ()))
        for entry_pk, entry in rows[Entry].items()
        if entry.get("issue") == pk
    }
    published_at = fields.get("published_at")
    return IssueState(
        pk=pk,
        fields={name: _text(fields.get(name)) for name in ISSUE_CONTENT_FIELDS},
        status=fields.get("status") or Issue.Status.DRAFT,
        published_at=parse_datetime(published_at) if published_at else None,
        entries=entries,
    )


def entry_state_from_db(entry):
    fields = {name: getattr(entry, name) for name in ENTRY_CONTENT_FIELDS}
    fields.update(issue=entry.issue_id, section=entry.section_id, position=entry.position)
    tag_ids = TaggedEntry.objects.filter(content_object=entry).values_list("tag_id", flat=True)
    return _entry_state(entry.pk, fields, tag_ids)


def issue_state_from_db(issue):
    """The issue as it is now, read like a version."""
    tags = {}
    for entry_pk, tag_pk in TaggedEntry.objects.filter(content_object__issue=issue).values_list(
        "content_object_id", "tag_id"
    ):
        tags.setdefault(entry_pk, set()).add(tag_pk)
    entries = {}
    for entry in issue.entries.all():
        fields = {name: getattr(entry, name) for name in ENTRY_CONTENT_FIELDS}
        fields.update(issue=entry.issue_id, section=entry.section_id, position=entry.position)
        entries[entry.pk] = _entry_state(entry.pk, fields, tags.get(entry.pk, ()))
    return IssueState(
        pk=issue.pk,
        fields={name: _text(getattr(issue, name)) for name in ISSUE_CONTENT_FIELDS},
        status=issue.status,
        published_at=issue.published_at,
        entries=entries,
    )


# Names ----------------------------------------------------------------------


class Names:
    """Sections, tags and issues by pk, for printing states (one query each
    kind, however many states are printed). A row deleted since is named by
    its number."""

    def __init__(self):
        self._cache = {Section: {}, Tag: {}, Issue: {}}
        self._section_order = {}

    def _name(self, model, pk, missing):
        known = self._cache[model]
        if pk not in known:
            known.update({row.pk: str(row) for row in model.objects.filter(pk=pk)})
        return known.get(pk, missing.format(pk))

    def preload(self, states):
        sections, tags = set(), set()
        for state in states:
            entries = state.entries.values() if isinstance(state, IssueState) else [state]
            for entry in entries:
                sections.add(entry.section_id)
                tags |= entry.tag_ids
        for section in Section.objects.filter(pk__in=sections):
            self._cache[Section][section.pk] = section.name
            self._section_order[section.pk] = (0, section.order_key)
        self._cache[Tag].update((t.pk, t.name) for t in Tag.objects.filter(pk__in=tags))

    def section(self, pk):
        return self._name(Section, pk, "（已删除的栏目 {}）")

    def section_order(self, pk):
        """Where the issue page puts the section (``Section.order_key``); one
        deleted since goes after the others, by number."""
        if pk not in self._section_order:
            section = Section.objects.filter(pk=pk).first()
            self._section_order[pk] = (0, section.order_key) if section else (1, (pk,))
        return self._section_order[pk]

    def tag(self, pk):
        return self._name(Tag, pk, "（已删除的标签 {}）")

    def issue(self, pk):
        return self._name(Issue, pk, "（已删除的一期 {}）")

    def tags(self, pks):
        return sorted(self.tag(pk) for pk in pks)


# Text diffs -----------------------------------------------------------------

# A word of Latin letters or digits (with inner hyphens, apostrophes, dots),
# a run of white space, or any other single character (each Chinese
# character, each punctuation mark).
TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-'.][A-Za-z0-9]+)*|\s+|.", re.DOTALL)


def tokens(text):
    return TOKEN.findall(text)


@dataclass(frozen=True)
class Piece:
    """A run of text: ``op`` is "same", "del" or "ins"."""

    op: str
    text: str


def text_diff(old, new):
    """``old`` → ``new`` as pieces, by words for English and by characters
    for Chinese."""
    a, b = tokens(old), tokens(new)
    pieces = []

    def add(op, words):
        text = "".join(words)
        if not text:
            return
        if pieces and pieces[-1].op == op:
            pieces[-1] = Piece(op, pieces[-1].text + text)
        else:
            pieces.append(Piece(op, text))

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", a[i1:i2])
        else:
            add("del", a[i1:i2])
            add("ins", b[j1:j2])
    return pieces


# Diffs ----------------------------------------------------------------------


@dataclass
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    pieces: list = field(default_factory=list)  # for texts: the inline diff
    added: list = field(default_factory=list)  # for tags
    removed: list = field(default_factory=list)

    @property
    def two_lines(self):
        return bool(self.pieces) and self.name in SHORT_TEXT_FIELDS

    @property
    def old_pieces(self):
        return [p for p in self.pieces if p.op != "ins"]

    @property
    def new_pieces(self):
        return [p for p in self.pieces if p.op != "del"]


@dataclass
class EntryChange:
    """One entry: "added", "removed" or "changed" (with its field changes)."""

    kind: str
    entry: EntryState  # the newer one, or the removed one
    section: str
    changes: list = field(default_factory=list)

    @property
    def title(self):
        return self.entry.title


@dataclass
class PublicationChange:
    old: str
    new: str


@dataclass
class Diff:
    fields: list = field(default_factory=list)
    entries: list = field(default_factory=list)
    publication: PublicationChange = None

    @property
    def has_content_changes(self):
        return bool(self.fields or self.entries)

    def summary(self):
        """One line for the history list: 改了标题；条目《X》的摘要；新增 1 条."""
        parts = []
        if self.fields:
            parts.append("改了" + "、".join(c.label for c in self.fields))
        changed = [e for e in self.entries if e.kind == "changed"]
        for entry in changed[:SUMMARY_ENTRIES_NAMED]:
            parts.append(
                f"条目《{shorten(entry.title)}》的" + "、".join(c.label for c in entry.changes)
            )
        if len(changed) > SUMMARY_ENTRIES_NAMED:
            parts.append(f"另有 {len(changed) - SUMMARY_ENTRIES_NAMED} 条条目有改动")
        for kind, verb in (("added", "新增"), ("removed", "删除")):
            count = sum(1 for e in self.entries if e.kind == kind)
            if count:
                parts.append(f"{verb} {count} 条")
        if self.publication:
            parts.append(f"状态：{self.publication.old} → {self.publication.new}")
        return "；".join(parts) or "内容没有改动"


def shorten(text, length=SUMMARY_TITLE_LENGTH):
    return text if len(text) <= length else text[: length - 1] + "…"


def _field_change(model, name, old, new):
    change = FieldChange(name=name, label=label(model, name), old=old, new=new)
    if name in TEXT_FIELDS:
        change.pieces = text_diff(old, new)
    return change


def entry_changes(old, new, names, with_issue=False):
    """The field changes of one entry, in the order the entry form has them."""
    changes = []
    if with_issue and old.issue_id != new.issue_id:
        changes.append(
            FieldChange(
                "issue", label(Entry, "issue"), names.issue(old.issue_id), names.issue(new.issue_id)
            )
        )
    if old.section_id != new.section_id:
        changes.append(
            FieldChange(
                "section",
                label(Entry, "section"),
                names.section(old.section_id),
                names.section(new.section_id),
            )
        )
    if old.position != new.position:
        changes.append(
            FieldChange("position", label(Entry, "position"), str(old.position), str(new.position))
        )
    for name in ENTRY_CONTENT_FIELDS:
        if getattr(old, name) != getattr(new, name):
            changes.append(_field_change(Entry, name, getattr(old, name), getattr(new, name)))
    if old.tag_ids != new.tag_ids:
        old_tags, new_tags = names.tags(old.tag_ids), names.tags(new.tag_ids)
        changes.append(
            FieldChange(
                "tags",
                "标签",
                "，".join(old_tags),
                "，".join(new_tags),
                added=[t for t in new_tags if t not in old_tags],
                removed=[t for t in old_tags if t not in new_tags],
            )
        )
    return changes


def _publication_label(status, published_at):
    text = Issue.Status(status).label if status in Issue.Status.values else status
    if status != Issue.Status.DRAFT and published_at:
        text += f"（{timezone.localtime(published_at):%Y-%m-%d %H:%M}）"
    return text


def _entry_order(names):
    """Changed entries in the order the issue page prints them."""

    def key(change):
        entry = change.entry
        return (names.section_order(entry.section_id), entry.position, entry.pk)

    return key


def diff_issues(old, new, names=None):
    """What changed from issue state ``old`` (None: nothing yet) to ``new``."""
    names = names or Names()
    names.preload([s for s in (old, new) if s])
    diff = Diff()
    old_fields = old.fields if old else dict.fromkeys(ISSUE_CONTENT_FIELDS, "")
    for name in ISSUE_CONTENT_FIELDS:
        if old_fields[name] != new.fields[name]:
            diff.fields.append(_field_change(Issue, name, old_fields[name], new.fields[name]))
    old_entries = old.entries if old else {}
    for pk, entry in new.entries.items():
        section = names.section(entry.section_id)
        if pk not in old_entries:
            diff.entries.append(EntryChange("added", entry, section))
        elif changes := entry_changes(old_entries[pk], entry, names):
            diff.entries.append(EntryChange("changed", entry, section, changes))
    for pk, entry in old_entries.items():
        if pk not in new.entries:
            diff.entries.append(EntryChange("removed", entry, names.section(entry.section_id)))
    diff.entries.sort(key=_entry_order(names))
    if old and (old.status, old.published_at) != (new.status, new.published_at):
        before = _publication_label(old.status, old.published_at)
        after = _publication_label(new.status, new.published_at)
        if before != after:
            diff.publication = PublicationChange(before, after)
    return diff


def diff_entries(old, new, names=None):
    """What changed from entry state ``old`` (None: nothing yet) to ``new``."""
    names = names or Names()
    names.preload([s for s in (old, new) if s])
    diff = Diff()
    if old is None:
        diff.entries.append(EntryChange("added", new, names.section(new.section_id)))
    elif changes := entry_changes(old, new, names, with_issue=True):
        diff.fields = changes
    return diff


# Per model ------------------------------------------------------------------


def state_from_version(version):
    model = version.content_type.model_class()
    return (issue_state_from_version if model is Issue else entry_state_from_version)(version)


def state_from_db(obj):
    return (issue_state_from_db if isinstance(obj, Issue) else entry_state_from_db)(obj)


def diff_states(old, new, names=None):
    differ = diff_issues if isinstance(new, IssueState) else diff_entries
    return differ(old, new, names)


def summaries(versions):
    """A one-line summary for each version (any order) against the version
    saved just before it: ``{version pk: text}``."""
    ordered = sorted(versions, key=lambda v: v.pk)
    states = [state_from_version(v) for v in ordered]
    names = Names()
    names.preload(states)
    lines = {}
    for index, (version, state) in enumerate(zip(ordered, states, strict=True)):
        if index == 0:
            lines[version.pk] = _first_summary(state)
        else:
            lines[version.pk] = diff_states(states[index - 1], state, names).summary()
    return lines


def _first_summary(state):
    if isinstance(state, IssueState):
        return f"最早保存的版本（{len(state.entries)} 条条目）"
    return "最早保存的版本"


def publication_label(state):
    """An issue state's publication, as the editor reads it ("" for an entry)."""
    if isinstance(state, IssueState):
        return _publication_label(state.status, state.published_at)
    return ""
