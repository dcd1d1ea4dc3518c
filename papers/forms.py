"""Admin forms that never lose an editor's work.

Two editors open the same issue; both change it; both save. Without a check
the second save silently overwrites the first. Each form carries, as
``seen_token``, the ``edit_token`` of the row as it was opened; if the row has been saved since,
the save is refused with a message naming who saved and what changed, and the
form keeps everything the editor typed. The refused form now carries the new
token, so saving again, after merging, is a deliberate overwrite.
"""

from django import forms
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from reversion.models import Version

HISTORY_LOOKED_AT = 50


def describe_newer_saves(instance, seen_token, submitted):
    """Who saved ``instance`` since the version the editor opened, and what
    changed: ``(editors, changed_fields, precise)``.

    Reads the revision history kept by django-reversion (newest first). When
    the opened version is in the history, the changed fields are those that
    differ between it and the latest version (``precise``); otherwise (a row
    loaded from a fixture, say) they are those where the latest version
    differs from what the editor submitted.
    """
    versions = list(
        Version.objects.get_for_object(instance)
        .select_related("revision__user")[:HISTORY_LOOKED_AT]
    )
    tokens = [str(v.field_dict.get("edit_token") or "") for v in versions]
    seen_at = tokens.index(str(seen_token)) if seen_token and str(seen_token) in tokens else None
    newer = versions[:seen_at] if seen_at is not None else versions[:1]
    editors = []
    for version in newer:
        user = version.revision.user
        name = (user.get_full_name() or user.get_username()) if user else "另一位编辑"
        when = timezone.localtime(version.revision.date_created)
        editors.append((name, f"{when:%Y-%m-%d %H:%M}"))
    if not newer:
        return editors, [], False
    latest = newer[0].field_dict
    if seen_at is not None:
        before = versions[seen_at].field_dict
        compared = {f: before.get(f.attname) for f in _editable_fields(instance)}
    else:
        compared = {
            f: _as_stored(submitted[f.name]) for f in _editable_fields(instance)
            if f.name in submitted
        }
    changed = [str(f.verbose_name) for f, value in compared.items()
               if latest.get(f.attname) != value]
    return editors, changed, seen_at is not None


def _editable_fields(instance):
    return [f for f in type(instance)._meta.concrete_fields if f.editable]


def _as_stored(value):
    """A form's cleaned value as reversion stores it (a related row by its pk)."""
    return getattr(value, "pk", value)


class VersionedAdminForm(forms.ModelForm):
    """Refuses a save when the row changed since the form was opened.

    The admin builds the concrete form (model and fields) from this class.
    """

    seen_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_token"].initial = self.instance.edit_token

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        seen = cleaned.get("seen_token")
        # Lock the row for the rest of the admin's transaction (PostgreSQL), so
        # no other save can slip in between this check and this save.
        current = (
            type(self.instance)._default_manager.select_for_update()
            .filter(pk=self.instance.pk)
            .values_list("edit_token", flat=True)
        )
        current = current[0] if current else None
        if current != seen:
            editors, changed, precise = describe_newer_saves(self.instance, seen, cleaned)
            data = self.data.copy()
            data[self.add_prefix("seen_token")] = str(current or "")
            self.data = data
            raise forms.ValidationError(
                conflict_message(editors, changed, precise), code="conflict")
        return cleaned


def conflict_message(editors, changed, precise):
    who = format_html_join("、", "{}（{}）", editors) if editors else "另一位编辑"
    what = "、".join(changed) if changed else "内容"
    change = "改动了：{}" if precise else "最新保存的版本与你提交的内容在这些地方不同：{}"
    return format_html(
        "保存未成功：在你打开之后，{} 保存了这条内容，" + change + "。"
        "你填写的内容都还在表单里；请对照最新版本合并后再保存（再次保存将以你的内容为准）。",
        who, what,
    )
