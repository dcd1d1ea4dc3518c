"""Public pages from the cache, never stale.

Every public page (and feed, and .bib file) is cached whole, per address
(scheme, host, path and query) and language, with the *content generation*
it was made in: a random token kept in the cache, read in the same round
trip as the page, and a page of another generation is a miss. Any change to the archive
(the receivers in reading/signals.py: a save or delete of an issue, section,
entry, tag or tag link, fixture loads included) forgets the token, so every page cached
before the change is never read again and the next request renders afresh.
There is no list of pages to purge, so no page can be forgotten.

Time changes the archive too: a scheduled issue becomes public at its
``published_at`` without any save. The generation therefore records when the
next scheduled issue goes live, and is renewed once that moment has passed.

The token is read before the page is rendered, and forgotten both at the
change and again when its transaction commits: a page rendered from data read
before the commit is stored under a token that nobody asks for any more.

With Redis (REDIS_URL) the generation is shared by every application
process; with the local-memory cache of development, by one process only.
While Redis cannot be reached, every page is a miss and is rendered from the
database; a process that lost a write meanwhile (perhaps the forgetting of a
generation) starts a new generation when Redis answers again (operations.fail_soft_cache).
"""

import functools
import hashlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.cache import patch_cache_control, set_response_etag
from django.utils.translation import get_language

from operations.db_routers import replica_aliases
from operations.fail_soft_cache import consume_lost_writes

GENERATION_KEY = "reading:content-generation"


def current_generation():
    """The token under which public pages are cached now."""
    return _live_generation(cache.get(GENERATION_KEY))["token"]


def _live_generation(state):
    """``state`` (the generation as read from the cache), or a new generation
    when there is none, a scheduled issue has come due since, or a write to the
    cache was lost to an outage."""
    if (
        state is None
        or (state["next_publication"] and timezone.now() >= state["next_publication"])
        or consume_lost_writes()
    ):
        state = _new_generation()
    return state


def _new_generation():
    from papers.models import Issue

    upcoming = Issue.objects.filter(
        status=Issue.Status.SCHEDULED, published_at__gt=timezone.now()
    ).aggregate(next=Min("published_at"))
    state = {
        "token": uuid.uuid4().hex,
        "next_publication": upcoming["next"],
        "started": timezone.now(),
    }
    cache.set(GENERATION_KEY, state, timeout=None)
    return state


def forget_generation():
    cache.delete(GENERATION_KEY)


def archive_changed():
    """Call on any change to what public pages show: now, and after the commit."""
    forget_generation()
    transaction.on_commit(forget_generation)


def page_key(request):
    address = f"{get_language()}|{request.build_absolute_uri()}"
    return f"reading:page:{hashlib.sha256(address.encode()).hexdigest()}"


def cacheable(request, response):
    """A whole, successful answer that is the same for every reader: not one
    that sets a cookie or holds a CSRF token made for this reader."""
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
    )


def replicas_may_lag(state):
    """True for a moment after a change when pages read from read replicas
    (operations.db_routers): a page rendered from a replica that has not yet
    replayed the change must not be kept under the new generation."""
    started = state.get("started")
    return bool(
        started
        and settings.DATABASE_REPLICA_LAG_SECONDS
        and replica_aliases()
        and (timezone.now() - started).total_seconds() < settings.DATABASE_REPLICA_LAG_SECONDS
    )


def cache_public_page(view):
    """Serve a public view's successful GET from the cache (see the module docstring).

    Browsers and proxies are told to revalidate every time (``no-cache``):
    ConditionalGetMiddleware answers that with a 304 when the ETag, a hash of
    the page, has not changed.
    """

    @functools.wraps(view)
    def cached_view(request, *args, **kwargs):
        if not settings.PAGE_CACHE or request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        key = page_key(request)
        # One round trip for both: the generation, and the page with the
        # generation it was made in (a page of an older one is a miss).
        found = cache.get_many([GENERATION_KEY, key])
        state = _live_generation(found.get(GENERATION_KEY))
        generation = state["token"]
        made_in, response = found.get(key, (None, None))
        if made_in == generation:
            return response
        response = view(request, *args, **kwargs)
        if hasattr(response, "render"):
            response = response.render()
        patch_cache_control(response, no_cache=True)
        if cacheable(request, response) and not replicas_may_lag(state):
            # One piece: a feed is written in thousands of small pieces, each
            # pickled, unpickled and sent on its own at every hit otherwise.
            response.content = response.content
            set_response_etag(response)
            cache.set(key, (generation, response), settings.PAGE_CACHE_SECONDS)
        return response

    return cached_view
