"""Operational answers: the health check, and the error page when the database is away."""

import sys
import uuid

from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as django_server_error

# How long a browser or proxy is told to wait before retrying a 503.
RETRY_AFTER_SECONDS = 10


@never_cache
def health(request):
    """For load balancers: 200 while this process can answer readers, 503 when not.

    The database is required: without it no page can be made (cached pages
    aside), so a load balancer should send readers elsewhere. The cache is
    reported but not required: without Redis every page is made from the
    database (operations.fail_soft_cache), slower but correct, and taking every
    application server out of rotation because Redis is down would turn a
    slow site into no site. Its status then reads "degraded".
    """
    checks = {"database": _database_answers(), "cache": _cache_answers()}
    if not checks["database"]:
        status, code = "unavailable", 503
    elif not checks["cache"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "checks": {name: "ok" if up else "unavailable" for name, up in checks.items()},
    }
    return JsonResponse(body, status=code)


def _database_answers():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def _cache_answers():
    # A miss is what an unreachable cache answers (operations.fail_soft_cache), so the
    # check writes a value and reads it back.
    key, value = "health:probe", uuid.uuid4().hex
    cache.set(key, value, timeout=30)
    return cache.get(key) == value


def server_error(request):
    """The 500 page, or a 503 asking to come back soon when the database cannot
    be reached (a restart, a fail-over): that is not the site's fault, and
    it passes by itself once the connection health checks reconnect."""
    error = sys.exc_info()[1]
    if not isinstance(error, (OperationalError, InterfaceError)):
        return django_server_error(request)
    page = loader.get_template("503.html").render()
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
