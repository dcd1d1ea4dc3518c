"""Public pages from the cache: purged by key, never stale, answered before the middleware.

docs/page-cache.md tells the whole story; in short:

- **Keys.** Each page records what it shows (reading.page_keys); each change
  purges the keys of what it changed once its transaction commits
  (reading.signals), here and in every front cache (reading.front_cache).
- **Purges are counted.** A purge takes a number from a counter and writes it
  under each of its keys (``reading:purged:<key>``), then counts itself done.
  A page is made knowing the counter's value when it started reading the
  database, and is good while none of its keys was purged with a later
  number. It is checked against its keys once when stored (a change that
  committed while it was being made leaves it unstored and uncached by front
  caches) and again only after some purge was done since its last check, so a
  hit costs one round trip to the cache while nobody edits a public page.
- **Generations.** Pages are also stored under a content generation: time
  makes scheduled issues public with no save, so a generation records when the
  next one goes live and is renewed then; bulk rewrites
  (``archive_rewritten``), a cache that lost a write during an outage
  (operations.fail_soft_cache) or lost its counters renew it too.
- **Answered first.** ``PageCacheMiddleware`` comes before all other
  middleware: a hit is answered from bytes compressed once when the page was
  stored (Brotli, gzip or none, as the browser accepts), with every header
  the rendered page had, an ETag and 304s. A miss goes through the whole stack
  and the view; the view's wrapper (``cache_public_page``) records the keys.
- **Bodies kept in the process too.** A page is stored as a small head (its
  keys, headers, ETag and a nonce) and, apart, its bodies under that nonce.
  A hit reads the state and the head in one round trip and takes the body
  from this process's memory when it has it (``bodies``, an LRU of
  ``settings.PAGE_BODIES_KEPT``), so a shared cache (Redis) sends a few
  hundred bytes, not the 60 KB of an issue page. A nonce names one render
  only, so a kept body cannot be stale: whether it may be served is still
  decided by the shared head and purge records.

Only readers' requests are answered from the cache: GET or HEAD, no session or
messages cookie (signed-in staff see pages rendered afresh), and at an
unprefixed (Chinese) address only when the reader would not be sent to the
English page (reading.languages).
"""

import functools
import hashlib
import re
import uuid
from typing import NamedTuple

import brotli
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Min
from django.http import HttpResponse, HttpResponseNotModified
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control, set_response_etag
from django.utils.http import parse_etags
from django.utils.text import compress_string

from operations.db_routers import replica_aliases
from operations.fail_soft_cache import consume_lost_writes
from reading import front_cache, page_keys
from reading.fragments import FragmentMemory

GENERATION_KEY = "reading:content-generation"
PURGES_STARTED = "reading:purges-started"
PURGES_DONE = "reading:purges-done"
SCHEDULE_KEY = "reading:next-publication"
SCHEDULE_VERSION = "reading:schedule-version"
PURGED = "reading:purged:"
PAGE = "reading:page:"
BODY = "reading:body:"
CHECKED = "reading:checked:"

# Bodies shorter than this are sent as they are (GZipMiddleware's own limit).
SHORTEST_COMPRESSED = 200
BROTLI_QUALITY = 5  # near 11's size for HTML at a fraction of the time
ACCEPTS_BROTLI = re.compile(r"\bbr\b")
ACCEPTS_GZIP = re.compile(r"\bgzip\b")
# Not stored with a page: set for each answer.
PER_ANSWER_HEADERS = {"content-length", "content-encoding", "etag", "surrogate-control", "xkey"}
# The longest xkey header sent to front caches (Varnish's http_resp_hdr_len is 8 KB).
XKEY_LONGEST = 6000
# A 304 carries no body, so none of the headers that describe one.
BODY_HEADERS = {"content-type", "content-language", "content-disposition", "content-length"}


class State(NamedTuple):
    """What the cache says before a page is looked up or made."""

    token: str
    started: object
    next_publication: object
    purges_started: int
    purges_done: int


class StoredPage(NamedTuple):
    """A page's head in the cache; its body is stored apart (``body_key``)."""

    nonce: str
    token: str
    made_at: int
    keys: tuple
    headers: tuple
    etag: str
    content_encoding: str | None


# This process's copies of stored bodies, {(nonce, encoding): bytes} (see the
# module docstring).
bodies = FragmentMemory()


class PageRender(NamedTuple):
    """What a public view made: its keys, its body and its ETag."""

    keys: frozenset
    body: bytes
    etag: str


# ---------------------------------------------------------------- generations


def current_generation():
    """The token under which public pages are cached now."""
    return read_state()[0].token


def forget_generation():
    cache.delete(GENERATION_KEY)


def _new_generation():
    generation = {"token": uuid.uuid4().hex, "started": timezone.now()}
    cache.set(GENERATION_KEY, generation, timeout=None)
    cache.add(PURGES_STARTED, 0, timeout=None)
    cache.add(PURGES_DONE, 0, timeout=None)
    return generation


def _schedule(version):
    """(version, when the next scheduled issue goes live), read now and kept."""
    from papers.models import Issue

    upcoming = Issue.objects.filter(
        status=Issue.Status.SCHEDULED, published_at__gt=timezone.now()
    ).aggregate(next=Min("published_at"))
    schedule = (version, upcoming["next"])
    cache.set(SCHEDULE_KEY, schedule, timeout=None)
    return schedule


def live_state(found):
    """The state from the values ``found`` in the cache, renewed where they are
    missing, out of date or lost (see the module docstring)."""
    generation = found.get(GENERATION_KEY)
    started = found.get(PURGES_STARTED)
    version = found.get(SCHEDULE_VERSION, 0)
    schedule = found.get(SCHEDULE_KEY)
    if schedule is None or schedule[0] != version:
        schedule = _schedule(version)
    renew = generation is None or started is None or consume_lost_writes()
    if schedule[1] is not None and timezone.now() >= schedule[1]:
        renew = True
        schedule = _schedule(version)
    if renew:
        generation = _new_generation()
        started = cache.get(PURGES_STARTED) or 0
    return State(
        generation["token"],
        generation["started"],
        schedule[1],
        started,
        found.get(PURGES_DONE, 0),
    )


STATE_KEYS = [GENERATION_KEY, PURGES_STARTED, PURGES_DONE, SCHEDULE_KEY, SCHEDULE_VERSION]


def read_state(*more):
    """The live state, and the cache's values of ``more`` keys, in one round trip."""
    found = cache.get_many([*STATE_KEYS, *more])
    return live_state(found), found


def schedule_changed(issue_pk):
    """An issue's schedule changed: the next publication is read again, now and
    after the commit (as purges are, see ``purge_after_commit``)."""
    _increment(SCHEDULE_VERSION)

    def after_commit():
        _increment(SCHEDULE_VERSION)
        front_cache.plan_purge_when_due(issue_pk)

    transaction.on_commit(after_commit)


# ---------------------------------------------------------------- purges


def _increment(name):
    if cache.add(name, 1, timeout=None):
        return 1
    try:
        return cache.incr(name)
    except ValueError:  # gone between the two calls
        cache.add(name, 0, timeout=None)
        return cache.incr(name)


def purge_here(keys):
    """Purge every page of this cache showing any of ``keys``."""
    token = cache.get(GENERATION_KEY, {}).get("token")
    number = _increment(PURGES_STARTED)
    if number is not None:
        cache.set_many({PURGED + key: (token, number) for key in keys}, timeout=None)
        _increment(PURGES_DONE)


def purge(keys):
    """Purge every page showing any of ``keys``, here and in front caches. Call after the commit."""
    keys = set(keys)
    if keys:
        purge_here(keys)
        front_cache.purge(keys)


class _PendingPurge:
    """The keys one transaction purges, sent once when it commits."""

    def __init__(self):
        self.keys = set()

    def __call__(self):
        keys, self.keys = self.keys, set()
        purge(keys)


def purge_after_commit(keys):
    """Purge ``keys`` here now, and here and in front caches once the current
    transaction commits (at once, outside one).

    The purge now keeps pages made inside the transaction true (a test's, or
    a view that saves and then shows); the purge after the commit is the one
    that counts for other readers, whose pages read before the commit are
    then found out (see the module docstring). The keys of one transaction are
    gathered and purged together: an issue saved with 20 entries sends one
    purge to front caches, not 20. A rolled-back transaction takes its pending
    purge with it (Django forgets its on-commit callbacks).
    """
    if not keys:
        return
    purge_here(keys)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, callback, _ in connection.run_on_commit:
            if isinstance(callback, _PendingPurge):
                callback.keys |= keys
                return
    pending = _PendingPurge()
    pending.keys |= keys
    transaction.on_commit(pending)


def purge_everything():
    """After a bulk rewrite: a new generation now and after the commit, front caches emptied."""
    forget_generation()

    def after_commit():
        forget_generation()
        front_cache.purge({page_keys.ALL})

    transaction.on_commit(after_commit)


def unchanged_since(keys, number, *tokens):
    """True if none of ``keys`` was purged after purge ``number`` in the
    generations of ``tokens``."""
    purged = cache.get_many([PURGED + key for key in keys])
    return all(n <= number for t, n in purged.values() if t in tokens)


# ---------------------------------------------------------------- storing and answering


def address_of(request):
    """The page's key in the cache: its absolute address (the language is in the path)."""
    return hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()


def accepted_encoding(request):
    accepted = request.META.get("HTTP_ACCEPT_ENCODING", "")
    if ACCEPTS_BROTLI.search(accepted):
        return "br"
    if ACCEPTS_GZIP.search(accepted):
        return "gzip"
    return "identity"


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
    started = state.started
    return bool(
        started
        and settings.DATABASE_REPLICA_LAG_SECONDS
        and replica_aliases()
        and (timezone.now() - started).total_seconds() < settings.DATABASE_REPLICA_LAG_SECONDS
    )


def front_cache_headers(response, keys, state):
    """Tell front caches the page's keys and how long they may keep it: until
    the next scheduled issue goes live at the latest. A page whose keys would
    not fit in a front cache's response header (XKEY_LONGEST, under Varnish's
    default 8 KB) is not offered to front caches at all: they would answer
    503 for it (reading.page_keys.compacted keeps pages well under it)."""
    xkey = " ".join(sorted(keys))
    if len(xkey) > XKEY_LONGEST:
        return
    seconds = settings.PAGE_CACHE_SECONDS
    if state.next_publication is not None:
        until = (state.next_publication - timezone.now()).total_seconds()
        seconds = max(0, min(seconds, int(until)))
    response["Surrogate-Control"] = f"max-age={seconds}"
    response["xkey"] = xkey


def compressed(body):
    if len(body) < SHORTEST_COMPRESSED:
        return {"identity": body, "gzip": body, "br": body}, {}
    return {
        "identity": body,
        "gzip": compress_string(body),
        "br": brotli.compress(body, quality=BROTLI_QUALITY),
    }, {"gzip": "gzip", "br": "br"}


def store(address, render, response, state):
    """Keep the page in every encoding, with the headers the whole stack gave it."""
    headers = tuple(
        (name, value) for name, value in response.items() if name.lower() not in PER_ANSWER_HEADERS
    )
    nonce = uuid.uuid4().hex
    keys = tuple(sorted(render.keys))
    encoded, content_encodings = compressed(render.body)
    stored = {CHECKED + address: (nonce, state.purges_done)}
    for encoding, body in encoded.items():
        stored[f"{PAGE}{address}:{encoding}"] = StoredPage(
            nonce,
            state.token,
            state.purges_started,
            keys,
            headers,
            render.etag,
            content_encodings.get(encoding),
        )
        stored[body_key(nonce, encoding)] = body
        keep_body(nonce, encoding, body)
    cache.set_many(stored, settings.PAGE_CACHE_SECONDS)


def body_key(nonce, encoding):
    return f"{BODY}{nonce}:{encoding}"


def keep_body(nonce, encoding, body):
    if settings.PAGE_BODIES_KEPT:
        bodies.put((nonce, encoding), body, settings.PAGE_BODIES_KEPT)


def body_of(stored, encoding):
    """The stored page's body in ``encoding``: from this process's memory, else
    from the cache (then kept here); None if the cache no longer has it."""
    body = bodies.get((stored.nonce, encoding))
    if body is None:
        body = cache.get(body_key(stored.nonce, encoding))
        if body is not None:
            keep_body(stored.nonce, encoding, body)
    return body


def answer(request, stored, body, state):
    """The stored page as a response (a 304 if the browser has it)."""
    keys, headers, etag, content_encoding = stored[3:]
    if content_encoding:
        etag = "W/" + etag
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match and _etag_matches(if_none_match, etag):
        response = HttpResponseNotModified()
        for name, value in headers:
            if name.lower() not in BODY_HEADERS:
                response[name] = value
    else:
        response = HttpResponse(b"" if request.method == "HEAD" else body)
        for name, value in headers:
            response[name] = value
        response["Content-Length"] = str(len(body))
        if content_encoding:
            response["Content-Encoding"] = content_encoding
    response["ETag"] = etag
    if settings.FRONT_CACHES:
        front_cache_headers(response, keys, state)
    response.from_cache = True  # for tests: what the view did not make
    return response


def _etag_matches(if_none_match, etag):
    wanted = parse_etags(if_none_match)
    return "*" in wanted or etag.removeprefix("W/") in {tag.removeprefix("W/") for tag in wanted}


def answers_from_cache(request):
    """Whether this request may be answered by a cached page (see the module docstring)."""
    if request.method not in ("GET", "HEAD") or request.path_info.startswith(SKIPPED_PREFIXES):
        return False
    cookies = request.COOKIES
    if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
        return False
    if translation.get_language_from_path(request.path_info) is None:
        from reading.languages import preferred_language

        return preferred_language(request) == settings.LANGUAGE_CODE
    return True


SKIPPED_PREFIXES = ("/admin/", "/static/", "/api/", "/healthz")


class PageCacheMiddleware:
    """Answer public pages from the cache before any other middleware runs;
    keep what the view and the stack made on a miss (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (settings.PAGE_CACHE or settings.FRONT_CACHES) or not answers_from_cache(request):
            return self.get_response(request)
        address = address_of(request)
        encoding = accepted_encoding(request)
        page = f"{PAGE}{address}:{encoding}"
        # Read before the view reads the database: what a page made now is checked against.
        found = cache.get_many([*STATE_KEYS, page, CHECKED + address])
        stored = found.get(page)
        state = None
        if settings.PAGE_CACHE and isinstance(stored, StoredPage):
            state = live_state(found)
            if self.still_good(stored, state, found.get(CHECKED + address), address):
                body = body_of(stored, encoding)
                if body is not None:
                    return answer(request, stored, body, state)
        response = self.get_response(request)
        render = getattr(response, "page_render", None)
        if render is None or not cacheable(request, response):
            return response
        state = state or live_state(found)
        # Purges done while the view ran name the generation they found (the
        # one read before the view, unless it was renewed since).
        found_token = found.get(GENERATION_KEY, {}).get("token")
        if not replicas_may_lag(state) and unchanged_since(
            render.keys, found.get(PURGES_STARTED) or 0, state.token, found_token
        ):
            if settings.FRONT_CACHES:
                front_cache_headers(response, render.keys, state)
            if settings.PAGE_CACHE:
                store(address, render, response, state)
        return response

    @staticmethod
    def still_good(stored, state, checked, address):
        """Of this generation, and none of its keys purged since it was made
        (checked again only when some purge was done since its last check)."""
        nonce, token, made_at, keys = stored[:4]
        if token != state.token:
            return False
        if checked == (nonce, state.purges_done):
            return True
        if not unchanged_since(keys, made_at, token):
            return False
        cache.set(CHECKED + address, (nonce, state.purges_done), settings.PAGE_CACHE_SECONDS)
        return True


def cache_public_page(view):
    """Wrap a public view: record what its page shows, and give it an ETag.

    Browsers and proxies are told to revalidate every time (``no-cache``):
    the ETag, a hash of the page, gets a 304 while the page is unchanged.
    """

    @functools.wraps(view)
    def recorded_view(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD") or not (
            settings.PAGE_CACHE or settings.FRONT_CACHES
        ):
            return view(request, *args, **kwargs)
        with page_keys.recording() as shown:
            response = view(request, *args, **kwargs)
            if hasattr(response, "render"):
                response = response.render()
        patch_cache_control(response, no_cache=True)
        if response.status_code == 200 and not response.streaming:
            # One piece: a feed is written in thousands of small pieces.
            response.content = response.content
            set_response_etag(response)
            response.page_render = PageRender(
                page_keys.compacted(shown), response.content, response["ETag"]
            )
        return response

    return recorded_view
