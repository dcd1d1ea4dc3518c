"""Three-way merge of a stale admin form with what was saved meanwhile.

Two editors open the same issue (or entry); the first saves; the second's
form is now stale. Instead of refusing it, or letting it overwrite the first
editor's work, each field is decided from three values:

- ``base``: the field in the version the form was opened from, found in
  django-reversion's history by the form's ``seen_token`` (every save gives
  the row a new ``edit_token``, and every admin save is a revision);
- ``theirs``: the field as it is now in the database;
- ``mine``: the field as submitted.

Only one side changed it: that side wins, silently (the editor is told what
was taken from whom). Both changed it to the same value: nothing to decide.
Both changed it to different values: a conflict, shown side by side for the
editor to choose. With no base in the history (a row loaded from a fixture
and saved outside the admin, say) every difference is a conflict.

Values are compared as the form shows them (see ``comparable``), so what a
form cannot express (seconds of a time, CRLF line ends, tag order) never
counts as a change. The rules are pure (``three_way``); the rest reads the
history. See docs/editing.md.
"""

import datetime
import uuid
from dataclasses import dataclass, field

from django.db import models
from django.utils import timezone
from django.utils.text import normalize_newlines
from reversion.errors import RevertError
from reversion.models import Version

from editorial.presence import display_name

HISTORY_LOOKED_AT = 50
TAGS = "tags"


# The rules ----------------------------------------------------------------


@dataclass
class Outcome:
    """The decision for each field: ``merged`` values, the fields taken from
    the other side, and those both sides changed differently."""

    merged: dict
    theirs_only: list = field(default_factory=list)
    conflicts: list = field(default_factory=list)


def three_way(base, mine, theirs):
    """Merge three dicts of comparable values over ``mine``'s keys.

    ``base`` is None when the opened version is unknown: then every key where
    the sides differ is a conflict. A conflict keeps ``mine`` in ``merged``.
    """
    outcome = Outcome(merged={})
    for key, my_value in mine.items():
        their_value = theirs.get(key)
        if my_value == their_value:
            outcome.merged[key] = my_value
        elif base is not None and my_value == base.get(key):
            outcome.merged[key] = their_value
            outcome.theirs_only.append(key)
        elif base is not None and their_value == base.get(key):
            outcome.merged[key] = my_value
        else:
            outcome.merged[key] = my_value
            outcome.conflicts.append(key)
    return outcome


def comparable(value):
    """``value`` as an editor sees it in a form, for deciding who changed it."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, str):
        return normalize_newlines(value).strip()
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(datetime.UTC)
        return value.replace(second=0, microsecond=0)  # the form shows minutes
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):  # tag names
        return tuple(sorted({getattr(v, "name", v).casefold() for v in value}))
    return value


def shown(value):
    """``value`` as one line of text on the merge screen."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, (list, tuple, set)):
        return "、".join(sorted(getattr(v, "name", str(v)) for v in value)) or "（无标签）"
    return str(value)


# The history ----------------------------------------------------------------


@dataclass
class Snapshot:
    """A row as one version stored it: field values by attname, tag names."""

    values: dict
    tags: list | None = None


def _editor_name(user):
    return display_name(user) if user else "另一位编辑"


def versions_since(model, pk, seen_token):
    """``(base, newer)``: the version whose edit_token is ``seen_token`` (None if
    not in the recent history) and the versions saved after it, newest first."""
    versions = list(
        Version.objects.get_for_object_reference(model, pk).select_related("revision__user")[
            :HISTORY_LOOKED_AT
        ]
    )
    if seen_token:
        token = str(seen_token)
        for index, version in enumerate(versions):
            if token in version.serialized_data and _token_of(version) == token:
                return version, versions[:index]
    return None, versions[:1]


def _token_of(version):
    try:
        return str(version.field_dict.get("edit_token") or "")
    except RevertError:
        return ""


def snapshot(version, with_tags=False):
    """The stored values of ``version`` (and the tags its revision linked)."""
    if version is None:
        return None
    try:
        values = dict(version.field_dict)
    except RevertError:
        return None
    tags = _revision_tags(version) if with_tags else None
    return Snapshot(values, tags)


def _revision_tags(version):
    """Names of the tags linked to the versioned entry in the same revision."""
    from papers.models import Tag, TaggedEntry

    links = version.revision.version_set.get_for_model(TaggedEntry)
    tag_ids = []
    for link in links:
        try:
            values = link.field_dict
        except RevertError:
            continue
        if str(values.get("content_object_id")) == str(version.object_id):
            tag_ids.append(values.get("tag_id"))
    names = dict(Tag.objects.filter(pk__in=tag_ids).values_list("pk", "name"))
    return [names.get(pk, str(pk)) for pk in tag_ids]


def editors_of(versions):
    """[(name, "YYYY-MM-DD HH:MM")] of the users who saved ``versions``."""
    seen, editors = set(), []
    for version in versions:
        name = _editor_name(version.revision.user)
        if name not in seen:
            seen.add(name)
            when = timezone.localtime(version.revision.date_created)
            editors.append((name, f"{when:%Y-%m-%d %H:%M}"))
    return editors


# One form's merge -------------------------------------------------------------


@dataclass
class Conflict:
    """A field both editors changed: what is saved now and what was typed."""

    name: str
    label: str
    theirs: str
    mine: str
    choice: str = ""


@dataclass
class Report:
    """What a stale form's merge did, for the editor and for the history."""

    label: str  # "" for the page's own object, else e.g. 条目《...》
    editors: list
    taken: list = field(default_factory=list)  # labels of fields taken from theirs
    conflicts: list = field(default_factory=list)
    deleted: bool = False  # the other editor deleted the row
    choice_prefix: str = ""
    theirs_token: str = ""

    @property
    def names(self):
        return "、".join(name for name, _ in self.editors) or "另一位编辑"

    @property
    def unresolved(self):
        return [c for c in self.conflicts if c.choice not in ("mine", "theirs")]

    def summary(self):
        """One sentence for the editor's message and the revision comment."""
        where = f"{self.label}：" if self.label else ""
        parts = []
        if self.deleted:
            parts.append("对方已删除这一条")
        if self.taken:
            parts.append(f"合并了 {self.names} 改的 {'、'.join(self.taken)}")
        chosen = [c for c in self.conflicts if c.choice]
        if chosen:
            parts.append(
                "两边都改的 "
                + "、".join(
                    f"{c.label}（用{'对方' if c.choice == 'theirs' else '我'}的）" for c in chosen
                )
            )
        return where + "；".join(parts) if parts else ""
