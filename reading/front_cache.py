"""Front caches (Varnish with xkey, deploy/varnish/) told what to forget.

Public pages carry their keys in an ``xkey`` header and a ``Surrogate-Control``
lifetime (reading.page_cache); front caches keep them and strip both. After a
change commits, ``purge`` sends each configured cache (``FRONT_CACHES``) one
``PURGE`` request per few hundred keys, in an ``xkey-purge`` header, which the
VCL hands to ``xkey.purge``. The editor's save never waits long and never
fails for a cache: each request has a short timeout
(``FRONT_CACHE_TIMEOUT``), and a cache that did not answer is left to a task
(reading.tasks) that tries again later, with growing waits, and logs each
failure. A cache that failed in the last ``RETRY_DIRECTLY_FOR`` seconds is not
tried in the request at all, so a dead cache costs a save nothing.

Time makes scheduled issues public with no save: the lifetime a page is given
ends when the next scheduled issue goes live, and an issue scheduled after a
page was cached is purged when its time comes (``plan_purge_when_due``).
docs/page-cache.md has the VCL's side.
"""

import datetime
import http.client
import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

# Keys per PURGE request: Varnish's default limit on a request header is 8 KB.
KEYS_PER_REQUEST = 200
RETRY_DIRECTLY_FOR = 30.0
# Waits before each retry by the task; then the cache is given up (logged as an error).
RETRY_WAITS = (5, 30, 120, 600, 3600)

_failed_at = {}


class PurgeFailed(Exception):
    pass


def send_purge(address, keys):
    """PURGE ``keys`` at one front cache (``host:port`` or ``http://host:port``).

    Raises ``PurgeFailed`` if the cache cannot be reached or refuses."""
    location = urlsplit(address if "//" in address else f"http://{address}")
    keys = sorted(keys)
    for start in range(0, len(keys), KEYS_PER_REQUEST):
        connection = http.client.HTTPConnection(
            location.hostname, location.port or 80, timeout=settings.FRONT_CACHE_TIMEOUT
        )
        try:
            connection.request(
                "PURGE",
                "/",
                headers={"xkey-purge": " ".join(keys[start : start + KEYS_PER_REQUEST])},
            )
            response = connection.getresponse()
            response.read()
            response.close()
        except (OSError, http.client.HTTPException) as error:
            raise PurgeFailed(f"{address}: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise PurgeFailed(f"{address}: answered {response.status} {response.reason}")


def purge(keys):
    """Purge ``keys`` at every front cache now, or leave it to a retry. Never raises."""
    for address in settings.FRONT_CACHES:
        if time.monotonic() - _failed_at.get(address, -RETRY_DIRECTLY_FOR) < RETRY_DIRECTLY_FOR:
            retry_later(address, keys, attempt=0)
            continue
        try:
            send_purge(address, keys)
        except PurgeFailed as error:
            _failed_at[address] = time.monotonic()
            logger.warning("front cache purge failed, retrying later: %s", error)
            retry_later(address, keys, attempt=0)
        else:
            _failed_at.pop(address, None)


def retry_later(address, keys, attempt):
    """Leave the purge to a task; if even that cannot be done, say so in the log."""
    from reading.tasks import purge_front_cache

    if attempt >= len(RETRY_WAITS):
        logger.error(
            "front cache %s gave up purging %d keys after %d tries", address, len(keys), attempt
        )
        return
    try:
        later = timezone.now() + datetime.timedelta(seconds=RETRY_WAITS[attempt])
        purge_front_cache.using(run_after=later).enqueue(address, sorted(keys), attempt + 1)
    except Exception:
        logger.exception("could not leave a purge of %d keys at %s for later", len(keys), address)


def plan_purge_when_due(issue_pk):
    """A scheduled issue: purge what its publication changes at its time (front caches only)."""
    from papers.models import Issue
    from reading.tasks import scheduled_issue_due

    if not settings.FRONT_CACHES:
        return
    issue = Issue.objects.filter(pk=issue_pk, status=Issue.Status.SCHEDULED).first()
    if issue is None or issue.published_at <= timezone.now():
        return
    try:
        scheduled_issue_due.using(run_after=issue.published_at).enqueue(
            issue.pk, issue.published_at.isoformat()
        )
    except Exception:
        logger.exception("could not plan the purge for scheduled issue %s", issue_pk)
