"""Admin forms that never lose an editor's work, nor undo someone else's.

Two editors open the same issue; both change it; both save. Each form
carries, as ``seen_token``, the ``edit_token`` of the row as it was opened.
When the row has been saved since, the second save is merged with the first
(editorial.merge): fields only one of them changed merge by themselves; fields
both changed differently are shown side by side, and the form, keeping
everything the editor typed, asks which to keep. See docs/editing.md.

The forms also store what the editor meant rather than what the browser
sent: text with LF line ends (browsers send CRLF), and a publication time
that was not touched as it was stored (the time input shows minutes only).
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.text import normalize_newlines
from taggit.forms import TagField

from editorial import merge


def with_lf_line_ends(data, names):
    """``data`` (a form's submitted data) with CRLF and CR turned into LF in
    the fields ``names``: the one definition of how typed text is stored."""
    return _rewritten(data, names, lambda text: "\r" in text, normalize_newlines)


# Line breaks of every kind, and the other vertical spaces Unicode knows.
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def on_one_line(data, names):
    """``data`` with line breaks in the fields ``names`` (single-line inputs:
    titles, authors, tags...) turned into one space. A browser strips them
    from such an input; a hand-made POST or a paste through a script does not,
    and a title broken over lines would break its heading on the page and in
    the Markdown export."""
    return _rewritten(data, names, _LINE_BREAKS.search, lambda text: _LINE_BREAKS.sub(" ", text))


def _rewritten(data, names, needs_it, rewrite):
    """``data`` with ``rewrite`` applied to the fields ``names``; the same
    object when no value ``needs_it`` (a QueryDict copy is not free)."""
    if not any(needs_it(value) for name in names for value in _values(data, name)):
        return data
    data = data.copy()
    for name in names:
        if hasattr(data, "setlist"):
            data.setlist(
                name, [rewrite(v) if isinstance(v, str) else v for v in data.getlist(name)]
            )
        elif isinstance(data.get(name), str):
            data[name] = rewrite(data[name])
    return data


def _values(data, name):
    values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
    return [value for value in values if isinstance(value, str)]


class MinuteDateTimeField(forms.SplitDateTimeField):
    """A date and time edited to the minute, as the admin's inputs show it.

    A stored value with seconds is unchanged when the submitted minute is
    its minute; EditTokenAdminForm then keeps the stored value as it was.
    """

    def has_changed(self, initial, data):
        if self.disabled:
            return False
        try:
            value = self.clean(data)
        except ValidationError:
            return True
        return merge.comparable(value) != merge.comparable(initial)


class EditTokenAdminForm(forms.ModelForm):
    """Merges a stale save with the saves made since the form was opened.

    The form of a row with an edit token (papers.models.EditTokenModel): the
    token it saw (``seen_token``) differs from the row's when someone saved since.
    The admin builds the concrete form (model and fields) from this class.
    After a merge, ``merge_report`` says what was taken from whom (read by
    editorial.merge_admin for the message and the revision comment).
    """

    seen_token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_token"].initial = self.instance.edit_token
        self.merge_report = None
        if self.is_bound:
            # Tag inputs keep their line breaks: papers.tag_input reads them as separators.
            text = {
                self.add_prefix(name): isinstance(field.widget, forms.Textarea)
                for name, field in self.fields.items()
                if isinstance(field, forms.CharField) and not isinstance(field, TagField)
            }
            self.data = with_lf_line_ends(self.data, [n for n, multi in text.items() if multi])
            self.data = on_one_line(self.data, [n for n, multi in text.items() if not multi])

    def clean(self):
        cleaned = super().clean()
        for name, field in self.fields.items():
            if isinstance(field, MinuteDateTimeField) and name not in self.changed_data:
                # As stored: get_initial_for_field() would drop the microseconds.
                cleaned[name] = self.initial.get(name, cleaned.get(name))
        if self.instance.pk is None or getattr(self.instance, "merge_ghost", None):
            return cleaned
        # Lock the row for the rest of the admin's transaction (PostgreSQL), so
        # no other save can slip in between this merge and this save.
        current = (
            type(self.instance)
            ._default_manager.select_for_update()
            .filter(pk=self.instance.pk)
            .first()
        )
        seen = cleaned.get("seen_token")
        if current is not None and current.edit_token != seen:
            self._merge(cleaned, current, seen)
        return cleaned

    # The merge -----------------------------------------------------------------

    def _merged_fields(self):
        model_fields = {f.name for f in self.instance._meta.concrete_fields if f.editable}
        return [name for name in self.fields if name in model_fields or name == merge.TAGS]

    def _merge(self, cleaned, current, seen):
        names = [name for name in self._merged_fields() if name in cleaned]
        has_tags = merge.TAGS in names
        base_version, newer = merge.versions_since(type(current), current.pk, seen)
        base = merge.snapshot(base_version, with_tags=has_tags)
        theirs = {name: _value_of(current, name) for name in names}
        outcome = merge.three_way(
            None
            if base is None
            else {name: merge.comparable(_stored(base, current, name)) for name in names},
            {name: merge.comparable(cleaned[name]) for name in names},
            {name: merge.comparable(value) for name, value in theirs.items()},
        )
        prefix = self.add_prefix("merge")
        token = str(current.edit_token or "")
        report = merge.Report(
            label=f"条目《{current}》" if self.prefix else "",
            editors=merge.editors_of(newer),
            choice_prefix=prefix,
            theirs_token=token,
        )
        chosen = self.data.get(f"{prefix}-token") == token
        for name in outcome.theirs_only:
            if chosen and self.data.get(f"{prefix}-{name}") == "mine":
                # Asked on the merge screen against this very save, the editor
                # kept their own value, then typed the value the form opened
                # with: a decision made after seeing theirs, not an untouched field.
                continue
            cleaned[name] = theirs[name]
            report.taken.append(self._label(name))
        for name in outcome.conflicts:
            choice = self.data.get(f"{prefix}-{name}", "") if chosen else ""
            report.conflicts.append(
                merge.Conflict(
                    name,
                    self._label(name),
                    merge.shown(theirs[name]),
                    merge.shown(cleaned[name]),
                    choice if choice in ("mine", "theirs") else "",
                )
            )
            if choice == "theirs":
                cleaned[name] = theirs[name]
        self.merge_report = report
        if report.unresolved:
            raise ValidationError(conflict_message(report), code="conflict")

    def _label(self, name):
        return str(self.fields[name].label or name)


def _value_of(instance, name):
    if name == merge.TAGS:
        return sorted(instance.tags.names())
    return getattr(instance, name)


def _stored(base, instance, name):
    if name == merge.TAGS:
        return base.tags
    return base.values.get(instance._meta.get_field(name).attname)


def conflict_message(report):
    who = format_html_join("、", "{}（{}）", report.editors) if report.editors else "另一位编辑"
    what = "、".join(conflict.label for conflict in report.unresolved)
    return format_html(
        "保存未成功：在你打开之后，{} 保存了这条内容，你们都改了：{}。"
        "请在页面上方的“合并修改”中逐项选择保留谁的内容，再保存；"
        "你填写的内容都还在表单里，只有一方改过的地方会自动合并。",
        who,
        what,
    )
