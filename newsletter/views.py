"""The reader's pages of delivery. Per-reader pages are never cached; the
subscribe page holds no per-reader data or CSRF token, so it can be."""

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from . import tokens


def subscribe(request):
    raise NotImplementedError  # the subscribe page: being built


def confirm(request, token):
    raise NotImplementedError  # the confirmation page: being built


def manage(request, token):
    raise NotImplementedError  # the preferences page: being built


@csrf_exempt  # mail clients POST here with no page of ours before it (RFC 8058)
@never_cache
def unsubscribe(request, token):
    """One-click unsubscribe: a POST unsubscribes at once, no page to confirm."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        subscriber = tokens.subscriber_for_management(token)
    except tokens.BadLink:
        return HttpResponse(status=404)
    subscriber.unsubscribe()
    return HttpResponse("unsubscribed", content_type="text/plain; charset=utf-8")
