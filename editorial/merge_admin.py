"""The admin's side of merging stale saves (editorial.merge, editorial.forms).

- ``MergeAdminMixin`` (issue and entry admins): shows the merge screen when
  both editors changed a field, tells the editor what was merged from whom,
  and makes the revision comment name both editors.
- ``MergingInlineFormSetMixin`` (the issue's entries): an entry the other
  editor deleted while this form was open stays deleted when this editor did
  not touch it; when this editor changed it, the merge screen asks whether to
  let it go or keep it (saved again as it is in the form). Entries the other
  editor added are not in this form, and so are left as they are.
"""

import reversion
from django import forms
from django.contrib import messages
from django.utils.html import format_html

from editorial import merge
from editorial.presence import display_name
from papers.models import Tag

DELETED = "deleted"


class MergeAdminMixin:
    def _merge_reports(self, form, formsets):
        forms_ = [form, *(f for formset in formsets for f in formset.forms)]
        return [f.merge_report for f in forms_ if getattr(f, "merge_report", None)]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        formsets = [inline.formset for inline in context.get("inline_admin_formsets", [])]
        reports = self._merge_reports(context["adminform"].form, formsets)
        context["merge_reports"] = [report for report in reports if report.conflicts]
        context["merge_automatic"] = [
            f"{report.label}的 " * bool(report.label) + "、".join(report.taken)
            for report in reports
            if report.taken
        ]
        context["merge_editors"] = "、".join(
            dict.fromkeys(name for report in reports for name, _ in report.editors)
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        reports = [r for r in self._merge_reports(form, formsets) if r.summary()]
        if reports:
            request.merge_reports = reports
            summary = "；".join(report.summary() for report in reports)
            messages.info(
                request, format_html("保存时与别人在你打开之后的修改合并了：{}。", summary)
            )

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        reports = getattr(request, "merge_reports", None)
        if reports and reversion.is_active():
            me = display_name(request.user)
            others = "、".join(dict.fromkeys(r.names for r in reports))
            reversion.set_comment(
                f"{me} 保存，合并了 {others} 的修改（{'；'.join(r.summary() for r in reports)}）"
                f"。{entry.get_change_message()}"
            )
        return entry


class MergingInlineFormSetMixin:
    """For a BaseInlineFormSet: rows whose entry was deleted meanwhile."""

    def get_queryset(self):
        """Once a submitted form's rows are built, the rows themselves, in
        their order: the admin pairs each form with ``get_queryset()[i]``,
        which a stale form (rows added or deleted meanwhile) would misalign."""
        if self.is_bound and "forms" in self.__dict__:
            return [form.instance for form in self.initial_forms]
        return super().get_queryset()

    def _existing_object(self, pk):
        obj = super()._existing_object(pk)
        if obj is None and self.is_bound:
            obj = self._deleted_meanwhile(pk)
        return obj

    def _deleted_meanwhile(self, pk):
        """The row as this form opened it, from the history, when it has left
        this issue since: deleted, or moved to another issue (``merge_moved``).

        Only a row of this very issue qualifies: an id that never belonged to
        it (a crafted POST) stays unknown, and Django refuses it, so no form
        can pull another issue's entry in.
        """
        base, newer = merge.versions_since(self.model, pk, self._submitted_token(pk))
        version = base or (newer[0] if newer else None)
        if version is None or version.field_dict.get("issue_id") != self.instance.pk:
            return None
        try:
            obj = version._object_version.object
        except Exception:  # an unreadable old version: treat the row as unknown
            return None
        obj.merge_ghost = merge.snapshot(version, with_tags=True)
        obj.merge_moved = self.model._default_manager.filter(pk=pk).exists()
        return obj

    def _submitted_token(self, pk):
        for i in range(self.initial_form_count()):
            if str(self.data.get(f"{self.add_prefix(i)}-id")) == str(pk):
                return self.data.get(f"{self.add_prefix(i)}-seen_token")
        return None

    def add_fields(self, form, index):
        super().add_fields(form, index)
        ghost = getattr(form.instance, "merge_ghost", None)
        if ghost is not None:
            # The row is gone: its id cannot be a choice among existing rows.
            form.fields[self._pk_field.name] = forms.IntegerField(
                widget=forms.HiddenInput, initial=form.instance.pk
            )
            if "tags" in form.fields:
                form.initial["tags"] = list(Tag.objects.filter(name__in=ghost.tags or []))

    def ghost_choice(self, form):
        """For a row deleted meanwhile: "theirs" (let it go), "mine" (keep it)
        or "" (undecided). A row this editor did not touch goes."""
        if form.merge_report is None:
            prefix = form.add_prefix("merge")
            choice = self.data.get(f"{prefix}-row", "")
            if self.data.get(f"{prefix}-token") != DELETED or choice not in ("mine", "theirs"):
                choice = ""
            report = merge.Report(
                label=f"条目《{form.instance}》",
                editors=[],
                deleted=True,
                choice_prefix=prefix,
                theirs_token=DELETED,
            )
            if form.instance.merge_moved:
                # Moved to another issue meanwhile: it lives on there, and
                # saving it here again would undo the move. It goes.
                report.taken.append("移到了另一期")
            elif form.has_changed():
                report.conflicts.append(
                    merge.Conflict(
                        "row", "这一条", "已删除", "保留（按表单中的内容重新保存）", choice
                    )
                )
            form.merge_report = report
        conflicts = form.merge_report.conflicts
        return conflicts[0].choice if conflicts else "theirs"

    def stale_delete_choice(self, form):
        """For a row this editor deletes from a form opened before someone
        else saved it: "mine" (delete), "theirs" (keep their version) or ""
        (undecided, so asked on the merge screen). Deleting it silently would
        throw away work this editor never saw."""
        current = form.instance
        seen = self.data.get(form.add_prefix("seen_token")) or ""
        if current.pk is None or str(current.edit_token or "") == seen:
            return "mine"
        prefix = form.add_prefix("merge")
        token = str(current.edit_token)
        choice = self.data.get(f"{prefix}-row", "")
        if self.data.get(f"{prefix}-token") != token or choice not in ("mine", "theirs"):
            choice = ""
        report = form.merge_report or merge.Report(
            label=f"条目《{current}》", editors=[], choice_prefix=prefix, theirs_token=token
        )
        report.conflicts = [
            merge.Conflict("row", "这一条", "保留（对方在你打开之后改过它）", "删除", choice)
        ]
        form.merge_report = report
        return choice

    def _should_delete_form(self, form):
        if super()._should_delete_form(form):
            ghost = getattr(form.instance, "merge_ghost", None) is not None
            return ghost or self.stale_delete_choice(form) == "mine"
        if getattr(form.instance, "merge_ghost", None) is None:
            return False
        return self.ghost_choice(form) == "theirs"

    def undecided_deletions(self):
        """Rows deleted meanwhile that this editor changed and has not decided
        on, and rows this editor deletes that someone changed meanwhile."""
        undecided = []
        for form in self.initial_forms:
            ghost = getattr(form.instance, "merge_ghost", None) is not None
            ticked = (
                bool(form.cleaned_data.get("DELETE")) if hasattr(form, "cleaned_data") else False
            )
            if ghost and not ticked and self.ghost_choice(form) == "":
                undecided.append((form, "在你打开之后被另一位编辑删除了，而你改过它"))
            elif not ghost and ticked and self.stale_delete_choice(form) == "":
                undecided.append((form, "在你打开之后被另一位编辑改过，而你要删除它"))
        return undecided

    def delete_existing(self, obj, commit=True):
        if getattr(obj, "merge_ghost", None) is None:
            super().delete_existing(obj, commit=commit)

    def save_existing_objects(self, commit=True):
        saved = super().save_existing_objects(commit=commit)  # skips rows not in the table
        deleted = self.deleted_forms
        for form in self.initial_forms:
            if getattr(form.instance, "merge_ghost", None) is not None and form not in deleted:
                # Kept by this editor: saved again, under its old id.
                saved.append(self.save_new(form, commit=commit))
                self.changed_objects.append((form.instance, form.changed_data))
        return saved

    def save(self, commit=True):
        saved = super().save(commit=commit)
        self.deleted_objects = [
            obj for obj in self.deleted_objects if getattr(obj, "merge_ghost", None) is None
        ]
        return saved
