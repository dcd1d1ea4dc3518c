"""Where the admin's "在站点上查看" (view on site) leads.

Django's default goes through ``get_absolute_url()``, the public page, which
answers 404 for an issue that is not public yet (a draft, or scheduled for
later). Staff then get the issue's preview instead, which shows the draft as
readers will see it; an entry opens at its own anchor there.

Whether an issue is public comes from ``Issue.objects.published()``, the one
definition. The admin's querysets annotate it (``Issue.objects.with_public_state()``,
``Entry.objects.with_issue_state()``) so that an issue page with many inline entries
does not ask once per entry; an object without the annotation asks itself.
"""

from django.urls import reverse

from papers.models import Issue


def _is_live(issue_id, known):
    if known is not None:
        return known
    return Issue.objects.published().filter(pk=issue_id).exists()


def _preview(issue_id):
    return reverse("admin:papers_issue_preview", args=[issue_id])


def issue_url(issue):
    """The public page of a public issue, else its preview."""
    if _is_live(issue.pk, getattr(issue, "is_live", None)):
        return issue.get_absolute_url()
    return _preview(issue.pk)


def entry_url(entry):
    """The entry on its issue's public page, or in the issue's preview."""
    if _is_live(entry.issue_id, getattr(entry, "issue_is_live", None)):
        return entry.get_absolute_url()
    return f"{_preview(entry.issue_id)}#{entry.anchor}"
