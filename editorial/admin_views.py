"""Staff-only helpers behind the editors' admin pages.

Each is mounted by ``editorial.admin`` under /admin/ through ``admin_view``, so
only signed-in staff reach them: the issue preview, the issue as a WeChat
article, the live Markdown preview, the arXiv look-up and the "who else is
editing" heartbeat.
"""

import logging

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from editorial import arxiv_client, presence, wechat
from papers.arxiv import normalize_arxiv_id
from papers.markdown import render_markdown
from papers.models import Entry, Issue

MAX_PREVIEW_CHARS = 50_000

logger = logging.getLogger(__name__)


def preview_issue(request, object_id):
    """The issue exactly as readers will see it (same template), for staff
    only, marked as a preview, never cached and never indexed."""
    issue = get_object_or_404(Issue, pk=object_id)
    response = render(
        request,
        "papers/issue_detail.html",
        {
            "issue": issue,
            "sections": issue.entries_by_section(),
            "preview": True,
        },
    )
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# The article is shown as it will be pasted: styled by ``style`` attributes
# alone. The site's policy refuses those (style-src 'self'); this page allows
# them, and only them (no <style>, no script), for HTML that editorial.wechat
# has cleaned.
@csp_update({"style-src-attr": [UNSAFE_INLINE]})
@require_GET
def wechat_article(request, issue, admin_context):
    """The issue as a WeChat 公众号 article, with a button that copies it,
    drafts included: editors prepare it before the issue is published."""
    response = TemplateResponse(
        request,
        "admin/papers/issue/wechat.html",
        {
            **admin_context,
            "opts": Issue._meta,
            "original": issue,
            "title": f"复制到公众号：{issue.title}",
            "article": wechat.article_html(issue),
        },
    )
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_POST
def markdown_preview(request):
    """The stored HTML a summary will have: the site's one renderer."""
    text = request.POST.get("text", "")[:MAX_PREVIEW_CHARS]
    return JsonResponse({"html": render_markdown(text)})


@require_GET
def arxiv_metadata(request):
    """Title, authors and abstract link of an arXiv id, for the entry form,
    plus the published or draft entries that already cover the paper."""
    try:
        arxiv_id = normalize_arxiv_id(request.GET.get("id", ""))
    except ValidationError as error:
        return JsonResponse({"error": " ".join(error.messages)}, status=400)
    if not arxiv_id:
        return JsonResponse({"error": "请先填写 arXiv 编号。"}, status=400)
    earlier = [
        {
            "issue": entry.issue.title,
            "title": entry.title,
            "url": reverse("admin:papers_entry_change", args=[entry.pk]),
        }
        for entry in Entry.objects.filter(arxiv_id=arxiv_id)
        .exclude(issue_id=_issue_id(request.GET.get("issue")))
        .select_related("issue")[:10]
    ]
    payload = {"arxiv_id": arxiv_id, "earlier": earlier}
    try:
        paper = arxiv_client.fetch_one(arxiv_id)
    except arxiv_client.ArxivError as error:
        # The editor gets one plain sentence; the reason goes to the log.
        logger.warning("arXiv look-up of %s failed: %s", arxiv_id, error)
        status = 503 if isinstance(error, arxiv_client.ArxivUnavailable) else 502
        return JsonResponse({**payload, "error": error.editor_message}, status=status)
    if paper is None:
        return JsonResponse({**payload, "error": f"arXiv 上没有 {arxiv_id}。"}, status=404)
    return JsonResponse(
        {
            **payload,
            "title": paper.title,
            "authors": paper.authors_text(Entry._meta.get_field("authors").max_length),
            "abstract_url": paper.abstract_url,
        }
    )


def _issue_id(value):
    """The issue being written, from the page; anything else means none."""
    return int(value) if value and value.isdigit() else None


@require_POST
def editing_heartbeat(request, object_id):
    """Keeps this editor listed as having the issue open; returns the others."""
    issue = get_object_or_404(Issue, pk=object_id)
    presence.mark_editing(issue, request.user)
    others = presence.others_editing(issue, request.user)
    return JsonResponse({"others": [{"name": name, "seconds": s} for name, s in others]})


@require_POST
def editing_left(request, object_id):
    """The page was left (its ``pagehide`` beacon): others stop seeing this editor."""
    issue = get_object_or_404(Issue, pk=object_id)
    presence.stop_editing(issue, request.user)
    return HttpResponse(status=204)
