"""The arXiv API client, against recorded responses in data/arxiv/; never the network."""

import http.client
import io
import urllib.request
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from editorial import arxiv_client
from editorial.arxiv_client import (
    LAST_REQUEST_CACHE_KEY,
    ArxivResponseError,
    ArxivUnavailable,
    PaperMetadata,
    fetch_metadata,
    fetch_one,
)

RECORDED = Path(__file__).parent / "data" / "arxiv"
BIGCODEBENCH_TITLE = (
    "BigCodeBench: Benchmarking Code Generation with Diverse Function Calls "
    "and Complex Instructions"
)


def recorded(name):
    return (RECORDED / name).read_bytes()


@pytest.fixture
def answer_with(monkeypatch):
    """Make arXiv answer every request with a recorded response; returns the URLs asked."""
    requested_urls = []

    def answer(name):
        def get(url):
            requested_urls.append(url)
            return recorded(name)

        monkeypatch.setattr(arxiv_client, "_get", get)
        return requested_urls

    return answer


def test_the_normal_feed_becomes_metadata_keyed_by_bare_id(answer_with):
    answer_with("normal.xml")

    papers = fetch_metadata(["2406.15877", "https://arxiv.org/abs/2406.15319v2"])

    assert set(papers) == {"2406.15877", "2406.15319"}
    assert papers["2406.15877"] == PaperMetadata(
        arxiv_id="2406.15877",
        title=BIGCODEBENCH_TITLE,
        authors=(
            "Terry Yue Zhuo",
            "Minh Chien Vu",
            "Jenny Chim",
            "Han Hu",
            "Wenhao Yu",
            "Leandro Von Werra",
        ),
        abstract_url="https://arxiv.org/abs/2406.15877",
        summary=papers["2406.15877"].summary,
    )
    longrag = papers["2406.15319"]
    assert longrag.title == (
        "LongRAG: Enhancing Retrieval-Augmented Generation with Long-context LLMs"
    )
    assert longrag.authors == ("Ziyan Jiang", "Xueguang Ma", "Wenhu Chen")
    assert longrag.abstract_url == "https://arxiv.org/abs/2406.15319"  # no "v3"
    assert longrag.summary.startswith("In traditional RAG framework, the basic retrieval units")
    assert "\n" not in longrag.summary


def test_one_request_asks_for_every_id_it_wants_back(answer_with, settings):
    settings.ARXIV_API_URL = "https://arxiv.test/api/query"
    requested_urls = answer_with("normal.xml")

    fetch_metadata(["2406.15877", "arXiv:2406.15319", "2406.15877v2"])

    [url] = requested_urls
    assert url.startswith("https://arxiv.test/api/query?")
    query = parse_qs(urlsplit(url).query)
    assert query["id_list"] == ["2406.15877,2406.15319"]
    # arXiv answers 10 entries at most unless told otherwise.
    assert query["max_results"] == ["2"]


def test_many_ids_are_asked_in_batches_each_after_waiting_its_turn(monkeypatch):
    events = []
    monkeypatch.setattr(arxiv_client, "_wait_for_turn", lambda: events.append("wait"))

    def get(url):
        ids = parse_qs(urlsplit(url).query)["id_list"][0].split(",")
        events.append(len(ids))
        return recorded("not_found_empty.xml")

    monkeypatch.setattr(arxiv_client, "_get", get)

    fetch_metadata([f"2406.{n:05d}" for n in range(120)])

    assert events == ["wait", 50, "wait", 50, "wait", 20]


def test_no_ids_no_request():
    assert fetch_metadata(["", "  "]) == {}


@pytest.mark.parametrize(
    "response", ["not_found.xml", "not_found_empty.xml", "not_found_blank_entry.xml"]
)
def test_an_id_arxiv_does_not_know_is_absent(answer_with, response):
    answer_with(response)

    assert fetch_metadata(["1234.12345"]) == {}
    assert fetch_one("1234.12345") is None


def test_fetch_one_takes_any_pasted_form(answer_with):
    answer_with("normal.xml")

    paper = fetch_one("arXiv:2406.15877v1")

    assert paper.arxiv_id == "2406.15877"
    assert paper.title == BIGCODEBENCH_TITLE


@pytest.mark.parametrize(
    "response",
    [
        recorded("malformed.xml"),
        b"",
        b"<html><body><h1>503 Service Unavailable</h1></body></html>",
        # An entity bomb: plain ElementTree would expand it, defusedxml refuses.
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>',
    ],
    ids=["truncated", "empty", "html", "entities"],
)
def test_a_response_that_is_no_atom_feed_is_a_response_error(monkeypatch, response):
    monkeypatch.setattr(arxiv_client, "_get", lambda url: response)

    with pytest.raises(ArxivResponseError, match="arXiv"):
        fetch_metadata(["2406.15877"])


def raise_(error):
    def urlopen(request, timeout):
        raise error

    return urlopen


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (URLError(OSError(-3, "Temporary failure in name resolution")), "name resolution"),
        (TimeoutError("timed out"), "timed out"),
        (http.client.RemoteDisconnected("Remote end closed connection"), "closed connection"),
        (HTTPError("https://x", 503, "Service Unavailable", {}, io.BytesIO()), "HTTP 503"),
        (HTTPError("https://x", 429, "Too Many Requests", {}, io.BytesIO()), "HTTP 429"),
    ],
    ids=["dns", "timeout", "disconnected", "503", "429"],
)
def test_an_unreachable_arxiv_says_so_plainly(monkeypatch, error, reason):
    monkeypatch.setattr(urllib.request, "urlopen", raise_(error))

    with pytest.raises(ArxivUnavailable) as raised:
        fetch_one("2406.15877")

    assert "无法连接 arXiv" in str(raised.value)
    assert "Could not reach arXiv" in str(raised.value)
    assert reason in str(raised.value)


def test_a_refused_request_is_a_response_error(monkeypatch):
    error = HTTPError("https://x", 403, "Forbidden", {}, io.BytesIO())
    monkeypatch.setattr(urllib.request, "urlopen", raise_(error))

    with pytest.raises(ArxivResponseError, match="HTTP 403"):
        fetch_one("2406.15877")


def test_requests_carry_the_user_agent_and_the_timeout(monkeypatch, settings):
    settings.ARXIV_API_USER_AGENT = "paper-digest-tests/1.0 (+mailto:editors@example.org)"
    settings.ARXIV_API_TIMEOUT = 4
    opened = []

    def urlopen(request, timeout):
        opened.append((request, timeout))
        return io.BytesIO(recorded("normal.xml"))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    assert fetch_one("2406.15319").title.startswith("LongRAG")
    [(request, timeout)] = opened
    assert request.get_header("User-agent") == (
        "paper-digest-tests/1.0 (+mailto:editors@example.org)"
    )
    assert timeout == 4


class FakeClock:
    """Wall time that only moves when told to; ``sleep`` records instead of waiting."""

    def __init__(self, now):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)


@pytest.fixture
def clock(settings):
    settings.ARXIV_API_MIN_INTERVAL = 3.0
    return FakeClock(now=1000.0)


def test_a_request_made_recently_elsewhere_makes_us_wait_the_rest(clock):
    cache.set(LAST_REQUEST_CACHE_KEY, 998.75)

    arxiv_client._wait_for_turn(clock=clock, sleep=clock.sleep)

    assert clock.slept == [pytest.approx(1.75)]
    assert cache.get(LAST_REQUEST_CACHE_KEY) == pytest.approx(1001.75)


@pytest.mark.parametrize("previous", [None, 990.0], ids=["never", "long ago"])
def test_no_wait_when_no_request_was_made_within_the_interval(clock, previous):
    if previous is not None:
        cache.set(LAST_REQUEST_CACHE_KEY, previous)

    arxiv_client._wait_for_turn(clock=clock, sleep=clock.sleep)

    assert clock.slept == []
    assert cache.get(LAST_REQUEST_CACHE_KEY) == 1000.0


def test_callers_at_the_same_moment_queue_one_interval_apart(clock):
    for _ in range(3):
        arxiv_client._wait_for_turn(clock=clock, sleep=clock.sleep)

    assert clock.slept == [3.0, 6.0]


def test_authors_are_joined_and_cut_to_whole_names_when_too_long():
    paper = PaperMetadata(
        arxiv_id="2406.15877",
        title="A paper",
        authors=("Alice Example", "Bob Example", "Carol Example"),
        abstract_url="https://arxiv.org/abs/2406.15877",
    )

    assert paper.authors_text() == "Alice Example, Bob Example, Carol Example"
    assert paper.authors_text(max_length=41) == "Alice Example, Bob Example, Carol Example"
    assert paper.authors_text(max_length=40) == "Alice Example, Bob Example, et al."
    assert paper.authors_text(max_length=30) == "Alice Example, et al."
