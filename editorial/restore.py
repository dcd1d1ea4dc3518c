"""Restoring an old version: content back, publication untouched.

django-reversion's own revert saves every row of the version's revision as it
was stored: the issue's status and publication time too (an Editor could
republish or take an issue offline by restoring), every other issue a bulk
action saved in the same revision, and, when one entry is restored, its whole
issue. Here a restore writes back exactly the content of one object:

- an issue: its own fields except status and publication time, its entries
  as they were (entries added since are removed, removed ones come back), and
  their tags and order;
- an entry: its fields and tags, nothing of its issue or its siblings.

Status and publication time stay as they are; a recovered (deleted) issue
comes back as a draft. Changing publication is a publisher's separate step.
"""

from django.core import serializers
from django.core.serializers.base import DeserializationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Max

from papers.models import Entry, Issue, Section, Tag, TaggedEntry

# Entries about to be rewritten are moved out of the way first, so that
# restoring an old order never meets the unique position constraint halfway.

# What a restore of an issue leaves as it is: its publication. The issue admin
# shows these read-only on the restore page and refuses a save that changes them.
ISSUE_KEPT_FIELDS = ("status", "published_at")


class RestoreError(Exception):
    """The version cannot be restored; the message says why, in Chinese."""


def _write_back(version, **overrides):
    """Save the row as ``version`` stored it (a raw save, as a fixture load),
    with ``overrides`` applied first."""
    try:
        (row,) = serializers.deserialize(
            version.format, version.serialized_data, ignorenonexistent=True
        )
    except (DeserializationError, ValueError) as error:
        raise RestoreError("这个版本的数据无法读取（保存它之后数据结构变了）。") from error
    for name, value in overrides.items():
        setattr(row.object, name, value)
    row.save(using=version.db)


def _versions_by_model(revision):
    by_model = {Issue: {}, Entry: {}, TaggedEntry: {}}
    for version in revision.version_set.select_related("content_type"):
        model = version.content_type.model_class()
        if model in by_model:
            by_model[model][int(version.object_id)] = version
    return by_model


def _check_dependencies(entry_versions, link_versions):
    """Rows the version points at must still exist (foreign keys are only
    checked at commit, which would fail the whole request)."""
    entry_fields = {pk: v.field_dict for pk, v in entry_versions.items()}
    sections = {fields["section_id"] for fields in entry_fields.values()}
    present = set(Section.objects.filter(pk__in=sections).values_list("pk", flat=True))
    for fields in entry_fields.values():
        if fields["section_id"] not in present:
            raise RestoreError(f"条目《{fields['title']}》所在的栏目已被删除，无法恢复这个版本。")
    tags = {v.field_dict["tag_id"] for v in link_versions.values()}
    present_tags = set(Tag.objects.filter(pk__in=tags).values_list("pk", flat=True))
    return {pk: v for pk, v in link_versions.items() if v.field_dict["tag_id"] in present_tags}


def _revert_links(entry_pks, link_versions):
    TaggedEntry.objects.filter(content_object_id__in=entry_pks).exclude(
        pk__in=link_versions
    ).delete()
    for version in link_versions.values():
        _write_back(version)


def restore_issue(version):
    """Write back the content of issue ``version``; returns the issue."""
    pk = int(version.object_id)
    by_model = _versions_by_model(version.revision)
    entries = {
        entry_pk: v for entry_pk, v in by_model[Entry].items() if v.field_dict["issue_id"] == pk
    }
    links = {
        link_pk: v
        for link_pk, v in by_model[TaggedEntry].items()
        if v.field_dict["content_object_id"] in entries
    }
    links = _check_dependencies(entries, links)
    kept = Issue.objects.filter(pk=pk).values_list(*ISSUE_KEPT_FIELDS).first() or [
        Issue._meta.get_field(name).get_default() for name in ISSUE_KEPT_FIELDS
    ]
    try:
        with transaction.atomic():
            Entry.objects.filter(issue_id=pk).exclude(pk__in=entries).delete()
            Entry.objects.filter(pk__in=entries).park_positions()
            _write_back(version, **dict(zip(ISSUE_KEPT_FIELDS, kept, strict=True)))
            for entry_version in entries.values():
                _write_back(entry_version)
            _revert_links(entries, links)
    except (IntegrityError, DataError) as error:
        raise RestoreError(
            "无法恢复这个版本：它与现在的内容冲突（例如网址名已被另一期使用）。"
        ) from error
    return Issue.objects.get(pk=pk)


def restore_entry(version):
    """Write back the content of entry ``version``; returns the entry.

    If another entry now holds its place in its section, the restored entry
    goes to the end of that section."""
    pk = int(version.object_id)
    fields = version.field_dict
    if not Issue.objects.filter(pk=fields["issue_id"]).exists():
        raise RestoreError("这个条目所在的一期已被删除，无法单独恢复条目。")
    links = {
        link_pk: v
        for link_pk, v in _versions_by_model(version.revision)[TaggedEntry].items()
        if v.field_dict["content_object_id"] == pk
    }
    links = _check_dependencies({pk: version}, links)
    siblings = Entry.objects.filter(
        issue_id=fields["issue_id"], section_id=fields["section_id"]
    ).exclude(pk=pk)
    position = fields["position"]
    if siblings.filter(position=position).exists():
        position = (siblings.aggregate(last=Max("position"))["last"] or 0) + 1
    try:
        with transaction.atomic():
            _write_back(version, position=position)
            _revert_links([pk], links)
    except (IntegrityError, DataError) as error:
        raise RestoreError("无法恢复这个版本：它与现在的内容冲突。") from error
    return Entry.objects.get(pk=pk)


def restore(version):
    """Restore the object of ``version`` (an issue or an entry)."""
    model = version.content_type.model_class()
    if model is Issue:
        return restore_issue(version)
    if model is Entry:
        return restore_entry(version)
    raise RestoreError("这种内容不能从历史中恢复。")
