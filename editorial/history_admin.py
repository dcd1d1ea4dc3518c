"""The admin's history pages: a list an editor can read, a compare view of
content only, and a restore that brings back content and never publication.

The diffs come from editorial.history and the restore from editorial.restore; this
module only wires them into django-reversion(-compare)'s admin URLs, so every
way into a restore (the history list, the compare view, a crafted POST to
the revision or recover URL) goes through the same code.
"""

from contextlib import nullcontext

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from reversion import set_comment
from reversion.models import Version
from reversion_compare.admin import CompareVersionAdmin
from reversion_compare.forms import SelectDiffForm

from editorial import history, restore
from editorial.presence import display_name
from papers import signals


class _ShowForm(Exception):
    """Leaves the restore's transaction (rolling it back) with a page to show."""

    def __init__(self, response):
        self.response = response


def revision_time(revision):
    return f"{timezone.localtime(revision.date_created):%Y-%m-%d %H:%M}"


def time_since(moment, now):
    if (now - moment).total_seconds() < 60:
        return "刚刚"
    return timesince(moment, now, depth=1) + "前"


def admin_change_messages(model, object_id):
    """The admin's own change messages for an object (django-reversion copies
    them into revision comments; the summary says the same, better)."""
    entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_id=str(object_id)
    )
    return {entry.get_change_message() for entry in entries}


def editor_name(revision):
    user = revision.user
    return display_name(user) if user else "（系统）"


class ContentHistoryAdmin(CompareVersionAdmin):
    """History, compare and restore for a versioned model (issue or entry)."""

    object_history_template = "admin/papers/history/object_history.html"
    compare_template = "admin/papers/history/compare.html"
    restore_template = "admin/papers/history/restore_form.html"
    recover_list_template = "admin/papers/history/recover_list.html"
    # The change form the restore page is drawn on.
    restore_base_template = "admin/papers/change_form.html"
    history_latest_first = True
    # Fields a restore never changes (read-only on its page, for everyone).
    kept_on_restore = ()

    def _url(self, name, *args):
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if getattr(request, "restoring", None) is not None:
            readonly += [name for name in self.kept_on_restore if name not in readonly]
        return readonly

    # The history list ------------------------------------------------------

    def _get_action_list(self, request, object_id, extra_context=None):
        actions = super()._get_action_list(request, object_id, extra_context)
        versions = [action["version"] for action in actions]
        prefetch_related_objects(versions, "revision__version_set__content_type")
        lines = history.summaries(versions)
        automatic = admin_change_messages(self.model, unquote(object_id))
        now = timezone.now()
        for action in actions:
            revision = action["revision"]
            action.update(
                summary=lines[action["version"].pk],
                when=revision_time(revision),
                ago=time_since(revision.date_created, now),
                who=editor_name(revision),
                login=revision.user.get_username() if revision.user else "",
                comment="" if revision.comment in automatic else revision.comment,
            )
        return actions

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    # Compare ---------------------------------------------------------------

    def compare_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = SelectDiffForm(request.GET)
        if not form.is_valid():
            raise Http404("请选择两个版本来比较。")
        obj = get_object_or_404(self.model, pk=unquote(object_id))
        versions = Version.objects.get_for_object(obj).select_related("revision__user")
        first, second = sorted((form.cleaned_data["version_id1"], form.cleaned_data["version_id2"]))
        older = get_object_or_404(versions, pk=first)
        newer = get_object_or_404(versions, pk=second)
        diff = history.diff_states(
            history.state_from_version(older), history.state_from_version(newer)
        )
        earlier = versions.filter(pk__lt=older.pk).order_by("-pk").first()
        later = versions.filter(pk__gt=newer.pk).order_by("pk").first()
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": f"比较《{obj}》的两个版本",
            "original": obj,
            "diff": diff,
            "older": self._describe(older),
            "newer": self._describe(newer),
            "history_url": self._url("history", quote(obj.pk)),
            "earlier_url": earlier and f"?version_id1={earlier.pk}&version_id2={older.pk}",
            "later_url": later and f"?version_id1={newer.pk}&version_id2={later.pk}",
            "kept_on_restore": bool(self.kept_on_restore),
            "old_label": "原",
            "new_label": "改为",
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.compare_template, context)

    def _describe(self, version):
        return {
            "when": revision_time(version.revision),
            "who": editor_name(version.revision),
            "restore_url": self._url("revision", quote(version.object_id), version.pk),
        }

    # Restore ---------------------------------------------------------------

    def revision_view(self, request, object_id, version_id, extra_context=None):
        versions = Version.objects.get_for_object_reference(self.model, unquote(object_id))
        version = get_object_or_404(versions, pk=version_id)
        return self._restore_view(request, version, recover=False, extra_context=extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_deleted(self.model), pk=version_id)
        return self._restore_view(request, version, recover=True, extra_context=extra_context)

    def _publication(self, pk):
        """The fields a restore keeps, as stored now (defaults if none)."""
        if not self.kept_on_restore:
            return ()
        row = self.model._default_manager.filter(pk=pk).values_list(*self.kept_on_restore).first()
        return row or tuple(
            self.model._meta.get_field(name).get_default() for name in self.kept_on_restore
        )

    def _restore_view(self, request, version, recover, extra_context=None):
        """Restore ``version`` in a transaction, then show or save the change
        form over it: a GET (or an invalid form) rolls the restore back."""
        current = self.model._default_manager.filter(pk=version.object_id).first()
        current = current and history.state_from_db(current)
        diff = history.diff_states(current, history.state_from_version(version))
        kept = self._publication(version.object_id)
        when = revision_time(version.revision)
        context = {
            "title": f"恢复《{version.object_repr}》{when} 的版本",
            "recover": recover,
            "revert": not recover,
            "restore_diff": diff,
            "restore_when": when,
            "restore_who": editor_name(version.revision),
            "restore_base_template": self.restore_base_template,
            "kept_on_restore": bool(self.kept_on_restore),
            "kept_publication": current and history.publication_label(current),
            "old_label": "现在",
            "new_label": "恢复后",
            **(extra_context or {}),
        }
        obj = self.model._default_manager.filter(pk=version.object_id).first()
        if not (
            self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
        ):
            raise PermissionDenied
        request.restoring = version
        # Only a POST can keep the restore: showing the form rolls it back.
        discarded = signals.suspended() if request.method != "POST" else nullcontext()
        try:
            with discarded, transaction.atomic(using=version.db):
                restore.restore(version)
                with self.create_revision(request):
                    response = self.changeform_view(
                        request, quote(version.object_id), request.path, context
                    )
                    if request.method == "POST" and response.status_code == 302:
                        if self._publication(version.object_id) != kept:
                            for _queued in messages.get_messages(request):
                                pass  # the admin's "saved" message: nothing was
                            raise PermissionDenied("恢复版本不能改变发布状态。")
                        set_comment(
                            f"从已删除的内容恢复（{when} 的版本）"
                            if recover
                            else f"恢复到 {when} 的版本" + ("，发布状态不变" if kept else "")
                        )
                    elif response.status_code == 200:
                        response.template_name = self.restore_template
                        response.render()
                        raise _ShowForm(response)
        except restore.RestoreError as error:
            self.message_user(request, str(error), messages.ERROR)
            if recover:
                return redirect(self._url("recoverlist"))
            return redirect(self._url("history", quote(version.object_id)))
        except _ShowForm as shown:
            return shown.response
        return response
