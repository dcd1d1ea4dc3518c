"""Paper metadata (title, authors, abstract link) from arXiv's public API.

Editors type an arXiv id; the admin offers to fill the rest from
``export.arxiv.org/api/query``, and ``manage.py fill_arxiv_metadata`` does the
same for entries already saved. This module is the one client both use.

It is written for a site that may not reach arXiv at all (this machine has no
internet): every network failure becomes ``ArxivUnavailable`` with a message an
editor can read, and the caller carries on without the metadata.

Parsing uses ``defusedxml`` with ElementTree, not feedparser. The response is
machine XML with a fixed shape, and a strict parser is what we want for it: a
truncated or non-XML answer must be an error, not a half-parsed feed
(feedparser is deliberately lenient and only flags such feeds as "bozo").
defusedxml also refuses entity expansion and external entities, which plain
``xml.etree`` would process from an untrusted response. It is one small
package with no dependencies of its own.

arXiv asks API clients to send no more than one request every three seconds.
The interval is kept across processes (several application servers, a
management command) through Django's cache; see ``_wait_for_turn``.
"""

import math
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from http.client import HTTPException
from urllib.error import HTTPError
from urllib.parse import urlencode

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from papers import arxiv

# Ids per request: small enough for a quick answer, large enough that the
# whole archive is a handful of requests at one request per interval.
BATCH_SIZE = 50
LAST_REQUEST_CACHE_KEY = "editorial:arxiv-api:last-request"

ATOM = "{http://www.w3.org/2005/Atom}"


class ArxivError(Exception):
    """Metadata could not be had from arXiv.

    ``str(error)`` gives the technical reason, for logs and for the operator
    running a management command; ``editor_message`` is the one plain Chinese
    sentence a writing page shows instead (an editor has no use for
    ``[Errno -2] Name or service not known``).
    """

    editor_message = "无法从 arXiv 取得论文信息，请手动填写标题和作者。"


class ArxivUnavailable(ArxivError):
    """arXiv could not be reached or is not answering now (network, timeout, 429, 5xx)."""

    editor_message = "无法连接 arXiv，请稍后再试，或手动填写标题和作者。"


class ArxivResponseError(ArxivError):
    """arXiv answered, but not with an Atom feed this client can read."""

    editor_message = "arXiv 的回复无法读取，请稍后再试，或手动填写标题和作者。"


@dataclass(frozen=True)
class PaperMetadata:
    """What arXiv says about one paper, in the form this site stores."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    abstract_url: str
    summary: str = ""

    def authors_text(self, max_length: int | None = None) -> str:
        """The authors joined with ", ", as ``Entry.authors`` stores them.

        Papers with dozens of authors do not fit a ``max_length``: the list is
        then cut after the last whole name that fits and ends in "et al.".
        """
        text = ", ".join(self.authors)
        if max_length is None or len(text) <= max_length:
            return text
        suffix = ", et al."
        names = list(self.authors)
        while names and len(", ".join(names)) + len(suffix) > max_length:
            names.pop()
        return ", ".join(names) + suffix if names else ""


def fetch_metadata(arxiv_ids: Iterable[str]) -> dict[str, PaperMetadata]:
    """Return ``{arxiv_id: PaperMetadata}`` for the given ids, as arXiv knows them.

    Ids are normalised like everywhere on the site (``arXiv:2406.15877v2`` is
    ``2406.15877``); a value that is no arXiv id raises ``ValidationError``.
    Ids arXiv does not know are absent from the result. Sends one request per
    ``BATCH_SIZE`` ids; raises ``ArxivUnavailable`` or ``ArxivResponseError``.
    """
    wanted = [arxiv.normalize_arxiv_id(value) for value in arxiv_ids]
    unique_ids = list(dict.fromkeys(arxiv_id for arxiv_id in wanted if arxiv_id))
    papers = {}
    for start in range(0, len(unique_ids), BATCH_SIZE):
        batch = unique_ids[start : start + BATCH_SIZE]
        _wait_for_turn()
        papers.update(parse_feed(_get(_query_url(batch))))
    return papers


def fetch_one(arxiv_id: str) -> PaperMetadata | None:
    """The metadata of one paper, or ``None`` when arXiv does not know it."""
    return fetch_metadata([arxiv_id]).get(arxiv.normalize_arxiv_id(arxiv_id))


def parse_feed(document: bytes) -> dict[str, PaperMetadata]:
    """Read an API response (bytes) into ``{arxiv_id: PaperMetadata}``.

    arXiv reports problems inside a normal feed: a bad id gets an entry titled
    "Error" whose id is ``http://arxiv.org/api/errors#...``, and an unknown but
    well-formed id gets either no entry at all or an entry without an id or
    title. None of these is a paper, so none is in the result.
    """
    try:
        feed = fromstring(document)
    except (ParseError, DefusedXmlException) as error:
        raise ArxivResponseError(
            f"arXiv 的回应无法解析（{error}）。arXiv returned a response that is not valid XML."
        ) from error
    if feed.tag != f"{ATOM}feed":
        raise ArxivResponseError(
            "arXiv 的回应不是 Atom 源。arXiv returned XML that is not an Atom feed."
        )
    papers = (_parse_entry(entry) for entry in feed.iterfind(f"{ATOM}entry"))
    return {paper.arxiv_id: paper for paper in papers if paper is not None}


def _parse_entry(entry):
    arxiv_id = _id_from_abstract_url(_text(entry, "id"))
    title = _text(entry, "title")
    if not arxiv_id or not title:
        return None
    return PaperMetadata(
        arxiv_id=arxiv_id,
        title=title,
        authors=tuple(
            name
            for name in (_text(author, "name") for author in entry.iterfind(f"{ATOM}author"))
            if name
        ),
        abstract_url=arxiv.abstract_url(arxiv_id),
        summary=_text(entry, "summary"),
    )


def _id_from_abstract_url(url):
    """``http://arxiv.org/abs/2406.15877v1`` gives ``2406.15877``; error ids give ""."""
    try:
        return arxiv.normalize_arxiv_id(url)
    except ValidationError:
        return ""


def _text(element, name):
    """The text of a child element with its whitespace collapsed: arXiv wraps
    long titles and abstracts over several lines."""
    return " ".join(element.findtext(f"{ATOM}{name}", default="").split())


def _query_url(arxiv_ids):
    # Without max_results arXiv answers at most 10 entries, whatever id_list says.
    query = urlencode({"id_list": ",".join(arxiv_ids), "max_results": len(arxiv_ids)}, safe=",/")
    return f"{settings.ARXIV_API_URL}?{query}"


def _wait_for_turn(clock=time.time, sleep=time.sleep):
    """Sleep until ``ARXIV_API_MIN_INTERVAL`` seconds have passed since the
    previous request, from whichever process it came.

    The cache holds the time of the latest request slot. A caller takes the
    next free slot and writes it *before* sleeping, so that callers waiting at
    the same time queue one behind the other instead of all waking together.
    Reading and writing the slot are two cache calls, so two processes may
    still rarely share a slot: this keeps us polite, it is not a hard quota.
    The clock is wall time because it is compared between processes.
    """
    interval = settings.ARXIV_API_MIN_INTERVAL
    now = clock()
    previous = cache.get(LAST_REQUEST_CACHE_KEY)
    slot = now if previous is None else max(now, previous + interval)
    # Once the interval after this slot is over, the key has nothing to say.
    cache.set(LAST_REQUEST_CACHE_KEY, slot, timeout=math.ceil(slot - now + interval))
    if slot > now:
        sleep(slot - now)


def _get(url: str) -> bytes:
    """GET ``url`` and return the body; every way of not getting it is an ``ArxivError``."""
    request = urllib.request.Request(url, headers={"User-Agent": settings.ARXIV_API_USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=settings.ARXIV_API_TIMEOUT) as response:
            return response.read()
    except HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise _unavailable(f"HTTP {error.code}") from error
        raise ArxivResponseError(
            f"arXiv 拒绝了请求（HTTP {error.code}）。arXiv refused the request."
        ) from error
    except (OSError, HTTPException) as error:
        # URLError (no network, DNS, refused), TimeoutError, a dropped connection.
        raise _unavailable(getattr(error, "reason", None) or error) from error


def _unavailable(reason):
    return ArxivUnavailable(
        f"无法连接 arXiv（{reason}），请稍后再试，或手动填写。"
        f"Could not reach arXiv ({reason}); try again later or fill in by hand."
    )
