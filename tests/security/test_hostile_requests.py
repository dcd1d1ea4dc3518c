"""Hostile requests through the whole stack: no 500, no traceback, nothing slow.

Why property-based: every public page reads input that anyone can write (query
strings, paths, headers, bodies), and the ways to write it badly (percent
escapes that decode to invalid UTF-8, NUL bytes, lone surrogates, a thousand
repeated parameters, twenty thousand characters of search, a Host header that
is no host, a PUT with a broken multipart body...) are too many to list by
hand. Hypothesis generates them; each test states what must hold for *every*
request:

- the status is below 500; and Django's test client re-raises any exception a
  view lets out, so a crash fails the test with its own traceback;
- the body shows no traceback (a debug page, or an error printed into a page);
- the answer came within a second of wall time (see ``send`` for how a busy
  machine is told from a slow page).

The requests go through Django's test client, so through every middleware
(WhiteNoise, gzip, ETags, sessions, languages, CSRF, axes), handed over as a
WSGI server hands them: the path percent-decoded to bytes, the query string
and headers as latin-1 strings of whatever bytes the client sent. The database
holds the seed roundup and a few more issues (``archive``), built once for the
module and rolled back after it.

Examples are derandomised (the same on every run, so a failure in CI fails the
same way on a laptop) and not saved in Hypothesis's example database.
``HOSTILE_EXAMPLES=5`` multiplies every test's examples, for a longer soak.
"""

import datetime
import gzip
import json
import os
import time
from collections import Counter
from http.cookies import SimpleCookie
from urllib.parse import quote_from_bytes, urlsplit

import brotli
import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from papers.models import Issue, Section, Tag
from reading import pages
from tests.factories import EntryFactory, IssueFactory, SectionFactory

pytestmark = pytest.mark.django_db

SLOW_SECONDS = 1.0
# A response over SLOW_SECONDS is sent again after each of these pauses
# (seconds); it fails only if every attempt is slow (see ``send``).
SLOW_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"Exception Value:")

settings.register_profile(
    "hostile-requests",
    derandomize=True,  # the same examples on every run: failures reproduce
    database=None,  # nothing replayed from earlier runs, nothing written to .hypothesis/
    deadline=None,  # time is measured per response by ``send``, not per example
    print_blob=True,
    # Generating a twenty-thousand-character value or a 3 MB body is slow for
    # Hypothesis's taste, on purpose.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCALE = float(os.environ.get("HOSTILE_EXAMPLES", "1"))


def hostile(max_examples):
    """This module's settings with ``max_examples`` (times HOSTILE_EXAMPLES)."""
    return settings(
        settings.get_profile("hostile-requests"), max_examples=max(1, int(max_examples * SCALE))
    )


# The archive the requests read ------------------------------------------------------


class Known:
    """Real values from the archive, so that generated requests also reach the
    code behind a successful lookup (a real tag, a real page of results), not
    only the 404s and empty results that pure garbage gets."""

    tags = sections = issues = arxiv_ids = etags = ()
    pages = ()  # every public page (reading/pages.py), see ``archive``
    years = ("2024", "2023", "1990", "2200")
    queries = (
        "幻觉",
        "检索增强生成",
        "RAG",
        "hallucination",
        "2406.15877",
        '"long context"',
        "对齐 推理",
        "arXiv:2406.15877v2",
        "LLM-as-a-judge",
        "cs/0112017",
    )


@pytest.fixture(scope="module")
def archive(django_db_setup, django_db_blocker):
    """The seed roundup plus three issues (Chinese tags, an old-style arXiv id,
    a paper without one, a draft and a scheduled issue), made once for the
    module inside a transaction that is rolled back at its end; each test runs
    in a savepoint inside it. Every page is requested once before the tests, so
    that template compilation and catalogue loading are not timed as a page."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_seed", verbosity=0)
        seed = Issue.objects.get(slug="2024-06-h2")
        rag = Section.objects.get(slug="rag")
        extra = SectionFactory(name="多模态与智能体", slug="multimodal-agents")
        for n in range(3):
            issue = IssueFactory(
                slug=f"2024-0{7 + n}-h1",
                title=f"2024年{7 + n}月上半月论文",
                published_at=seed.published_at + datetime.timedelta(days=14 * (n + 1)),
            )
            for m in range(8):
                EntryFactory(
                    issue=issue,
                    section=rag if m % 2 else extra,
                    tags=["幻觉", "智能体", f"标签{m}"],
                    title=f"Agents & <RAG> {n}.{m}",
                    summary=f"第{m}篇：检索增强与**对齐**。",
                )
        EntryFactory(issue=issue, section=extra, arxiv_id="cs/0112017", tags=["旧论文"])
        EntryFactory(
            issue=issue,
            section=extra,
            arxiv_id="",
            url="https://example.org/paper",
            tags=["无编号"],
        )
        EntryFactory(
            issue=IssueFactory(status=Issue.Status.DRAFT, slug="draft-issue"),
            section=extra,
            tags=["草稿"],
        )
        EntryFactory(
            issue=IssueFactory(
                status=Issue.Status.SCHEDULED,
                slug="scheduled-issue",
                published_at=seed.published_at + datetime.timedelta(days=3650),
            ),
            section=extra,
            tags=["定时"],
        )
        Known.tags = tuple(Tag.objects.order_by("slug").values_list("slug", flat=True))
        Known.sections = tuple(Section.objects.order_by("slug").values_list("slug", flat=True))
        Known.issues = tuple(Issue.objects.order_by("slug").values_list("slug", flat=True))
        Known.arxiv_ids = ("2406.15877", "2406.18510", "cs/0112017", "2406.99999")
        Known.pages = tuple(
            url
            for language in pages.LANGUAGES
            for url in pages.example_urls(language, feeds=True, downloads=True).values()
        )
        etags = []
        for path in Known.pages + OTHER_PATHS:
            response = CLIENT.get(path)
            assert response.status_code < 500, path
            if response.has_header("ETag"):
                etags.append(response["ETag"])
        Known.etags = tuple(etags)
        yield Known
        transaction.set_rollback(True)


# Every public page, in both languages with its feeds and BibTeX files, is
# ``Known.pages`` (reading/pages.py, with this archive's data); besides them,
# searches and filters, and the site's other addresses.
OTHER_PATHS = (
    "/entries/?q=幻觉",
    "/entries/?tag=幻觉&section=rag",
    "/en/entries/?q=RAG",
    "/sitemap.xml",
    "/robots.txt",
    "/api/issues",
    "/api/entries?q=RAG",
    "/api/tags",
    "/api/openapi.json",
    "/api/issues/2024-06-h2",
    "/admin/login/",
    "/no-such-page/",
)
PUBLIC_PAGES = st.deferred(lambda: st.sampled_from(Known.pages or ("/",)))


# Sending and checking --------------------------------------------------------------


class Tally:
    """What the module sent, for the line printed at its end."""

    requests = 0
    retried = 0  # of them, sent again because the first attempt took a second
    slowest = 0.0
    slowest_request = ""
    times = []
    statuses = Counter()


@pytest.fixture(scope="module", autouse=True)
def tally(pytestconfig):
    cpu = time.process_time()
    yield
    cpu = time.process_time() - cpu
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not Tally.requests:
        return
    times = sorted(Tally.times)
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\nhostile requests: {Tally.requests} sent ({Tally.retried} again, after a slow "
            f"first attempt), first attempts: median {times[len(times) // 2]:.3f} s, 99th "
            f"percentile {times[len(times) * 99 // 100]:.3f} s; slowest answer (best attempt) "
            f"{Tally.slowest:.3f} s ({Tally.slowest_request[:120]!r}); CPU {cpu:.0f} s; "
            f"statuses {dict(sorted(Tally.statuses.items()))}"
        )


CLIENT = Client()
CSRF_CHECKING_CLIENT = Client(enforce_csrf_checks=True)


def body_of(response):
    """The body as the client would read it: joined if streamed, decompressed
    if gzip or Brotli was asked for (a traceback could hide in either)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    encoding = response.get("Content-Encoding", "")
    if body and encoding == "gzip":
        body = gzip.decompress(body)
    elif body and encoding == "br":
        body = brotli.decompress(body)
    return body


def send(method, path, *, query="", headers=None, body=b"", content_type=None, client=None):
    """Send one request, check it, and return the response.

    The client's cookies are emptied first, so that no cookie from one example
    (the language switch sets one) changes the next. (A new client per request
    would do that too, but each loads the middleware again, and WhiteNoise's
    indexes every static file: 70 ms a request.)

    Wall time on a shared two-core machine is noisy (with the other
    engineers' tests running, a page that needs 50 ms of CPU was measured at
    4.5 s): a response over a second is sent again after a pause, up to
    len(SLOW_RETRY_PAUSES) times, with the page cache off so that the page is
    rendered again, not read back, and the test fails only if every attempt
    is slow. A page that is really slow is slow every time.
    """
    client = client or CLIENT
    client.cookies = SimpleCookie()
    if any(ord(ch) > 255 for ch in query):  # a literal such as "q=幻觉": its UTF-8 bytes
        query = to_bytes(query).decode("latin-1")
    extra = {"QUERY_STRING": query} if query else {}
    if content_type is not None:
        extra["content_type"] = content_type

    def attempt():
        started = time.perf_counter()
        response = client.generic(method, path, data=body, headers=headers or {}, **extra)
        return response, time.perf_counter() - started

    response, elapsed = attempt()
    described = f"{method} {path}{'?' + query if query else ''} headers={headers!r}"[:2000]
    Tally.requests += 1
    Tally.times.append(elapsed)
    if elapsed >= SLOW_SECONDS:
        times = [elapsed]
        with override_settings(PAGE_CACHE=False):
            for pause in SLOW_RETRY_PAUSES:
                time.sleep(pause)
                Tally.requests += 1
                Tally.retried += 1
                times.append(attempt()[1])
                if times[-1] < SLOW_SECONDS:
                    break
        elapsed = min(times)
        assert elapsed < SLOW_SECONDS, f"every attempt took over a second {times}: {described}"
    if elapsed > Tally.slowest:
        Tally.slowest, Tally.slowest_request = elapsed, described

    Tally.statuses[response.status_code] += 1
    assert response.status_code < 500, f"{response.status_code}: {described}"
    sent = (path + query + repr(headers)).encode("utf-8", "surrogatepass") + bytes(body)
    content = body_of(response)
    for marker in TRACEBACK_MARKERS:
        if marker not in sent:  # a search for "Traceback" may show the word back
            assert marker not in content, f"traceback text {marker!r} in the answer to {described}"
    return response


# Strategies ---------------------------------------------------------------------------

# Escapes a hand-written or broken client sends: bad hex, truncated and
# overlong UTF-8, an encoded lone surrogate (ED A0 80), a code point past
# U+10FFFF, NUL, CR LF, a right-to-left override, double encoding...
PERCENT_GARBAGE = (
    "%",
    "%%",
    "%Z",
    "%ZZ",
    "%4",
    "%C3",
    "%C3%28",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%FF",
    "%FE%FF",
    "%00",
    "%0D%0A",
    "%C0%AF",
    "%E2%80%AE",
    "%25",
    "%2525",
    "+",
    "%2B",
    "%26",
    "%3D",
    "%u4E2D",
    "\\x00",
    "%%32%35",
    "%E5%B9",
    "%E5%B9%BB%E8%A7",
)

chinese = st.text(alphabet="幻觉检索增强生成对齐推理模型中文，。、“”《》：；！？　", max_size=30)
control = st.text(
    alphabet=st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028"),
    min_size=1,
    max_size=10,
)
surrogates = st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=4)
numbers = st.one_of(
    st.integers().map(str),
    st.floats().map(str),  # nan, inf, -0.0, 1e+308...
    st.sampled_from(
        [
            "1e309",
            "-1",
            "0",
            "-0",
            "0x10",
            "٣",
            "²",
            "１２",
            "2024.5",
            "+2024",
            " 2024 ",
            "2024\x00",
            "9" * 400,
            "1_000",
            "2024-01-01",
            "NaN",
            "Infinity",
            "last",
        ]
    ),
)
# Long values of every length, from around the 200-character limit of a
# search to far beyond it.
long_text = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["a", "幻觉", "%00", "\x00", "🙂", "-", "'\"<>", "%ED%A0%80", " ", "ab 幻"]),
    st.integers(min_value=20, max_value=10_000),
)


def garbage_text():
    """Any text a request could carry, from plausible to absurd."""
    return st.one_of(
        st.text(max_size=40),  # any code point but surrogates
        chinese,
        control,
        surrogates,
        numbers,
        long_text,
        st.sampled_from(PERCENT_GARBAGE),
        st.text(max_size=20).map(lambda s: s + "\ud800" + s),
    )


def to_bytes(text):
    """UTF-8, lone surrogates included: that is what a broken client would send."""
    return text.encode("utf-8", "surrogatepass")


def in_query(text, how):
    """``text`` as it would appear in a raw query string (a WSGI latin-1 string)."""
    if how == "percent":
        return quote_from_bytes(to_bytes(text), safe="")
    if how == "plus":
        return quote_from_bytes(to_bytes(text), safe=" ").replace(" ", "+")
    if how == "gbk":  # another charset than the site's
        return quote_from_bytes(text.encode("gbk", "replace"), safe="")
    return to_bytes(text).decode("latin-1")  # raw bytes, not encoded at all


encodings = st.sampled_from(["percent", "percent", "plus", "raw", "gbk"])
PARAMETERS = ("tag", "section", "issue", "q", "year", "page", "page_size", "next", "format")


def search_text():
    """What a search box may receive: real queries, garbage, and the two mixed
    (a real word in odd company still reaches the search engine)."""
    real = st.deferred(lambda: st.sampled_from(Known.queries))
    return st.one_of(
        real,
        garbage_text(),
        st.text(min_size=1, max_size=220),
        st.tuples(real, garbage_text(), real).map(" ".join),
        st.tuples(garbage_text(), real).map(lambda pair: '"' + "".join(pair)),
    )


@st.composite
def query_strings(draw):
    """A raw query string: first some valid filters, so that the filtering,
    search and pagination behind them run (a single bad value makes the form
    invalid, and then nothing runs), then a search text, then hostile
    parameters: unknown names, or known ones too, repeated, real values or
    garbage, encoded every way."""
    known = {
        "tag": Known.tags,
        "section": Known.sections,
        "issue": Known.issues,
        "q": Known.queries,
        "year": Known.years,
        "next": Known.pages + OTHER_PATHS,
        "page": ("1", "2", "last"),
        "page_size": ("1", "100"),
    }
    parts = []
    for name in draw(
        st.lists(st.sampled_from(["tag", "tag", "section", "issue", "year"]), max_size=3)
    ):
        parts.append(f"{name}={in_query(draw(st.sampled_from(known[name])), 'percent')}")
    if draw(st.booleans()):
        parts.append(f"q={in_query(draw(search_text()), draw(encodings))}")
    # Half the time the hostile parameters have names the page does not read,
    # so that the form stays valid and the search text reaches the search.
    names = garbage_text() if draw(st.booleans()) else st.sampled_from(PARAMETERS) | garbage_text()
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        name = draw(names)
        if known.get(name) and draw(st.booleans()):
            value = draw(st.sampled_from(known[name]))
        else:
            value = draw(garbage_text())
        how = draw(encodings)
        if draw(st.integers(min_value=0, max_value=9)) == 0:
            parts.append(in_query(name, how))  # a name without "="
        else:
            parts.append(f"{in_query(name, how)}={in_query(value, how)}")
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            parts.append(draw(st.sampled_from(PERCENT_GARBAGE)))
    separator = draw(st.sampled_from(["&", "&", "&", ";", "&&", "&amp;"]))
    query = separator.join(parts)
    if draw(st.integers(min_value=0, max_value=30)) == 0:
        # More fields than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000).
        query += "&" + "&".join(f"tag={n}" for n in range(1001))
    return query


# The pages that run the entries filters and the search (reading.filters).
SEARCH_PAGES = (
    "/entries/",
    "/en/entries/",
    "/api/entries",
    "/entries/feed.atom",
    "/en/entries/feed.rss",
)
# The addresses besides the public pages (PUBLIC_PAGES) that read a query string.
OTHER_LIST_PAGES = (
    "/api/entries",
    "/api/issues",
    "/api/tags",
    "/sitemap.xml",
    "/language/en/",
    "/language/zh-hans/",
    "/admin/login/",
)


def segments():
    """One path segment: a real slug or id, or garbage, percent-encoded or raw."""
    real = st.sampled_from(
        (
            "2024-06-h2",
            "幻觉",
            "rag",
            "2406.15877",
            "cs/0112017",
            "en",
            "zh-hans",
            "draft-issue",
            "scheduled-issue",
            "feed.atom",
            "..",
            ".",
        )
    )

    @st.composite
    def encoded(draw):
        text = draw(garbage_text())
        how = draw(st.sampled_from(["percent", "raw", "raw"]))
        if how == "percent":
            return quote_from_bytes(to_bytes(text), safe="")
        # Raw text goes into the path as is (the client sends its UTF-8); only
        # what would end the path early, or cannot be encoded, is escaped.
        return "".join(
            quote_from_bytes(to_bytes(ch), safe="")
            if ch in "?#" or 0xD800 <= ord(ch) <= 0xDFFF
            else ch
            for ch in text
        )

    def known(name):
        return st.deferred(lambda: st.sampled_from(getattr(Known, name) or ("x",)))

    return st.one_of(
        real,
        encoded(),
        known("tags"),
        known("issues"),
        known("arxiv_ids"),
        st.sampled_from(PERCENT_GARBAGE),
    )


PATH_TEMPLATES = (
    "/",
    "/{}",
    "/{}/",
    "/{}/{}/",
    "/issues/{}/",
    "/issues/{}/papers.bib",
    "/issues/{}/{}",
    "/tags/{}/",
    "/tags/{}/feed.atom",
    "/tags/{}/feed.rss",
    "/tags/{}/{}/",
    "/sections/{}/",
    "/sections/{}/feed.atom",
    "/sections/{}/feed.rss",
    "/papers/{}/",
    "/papers/{}/cite.bib",
    "/papers/{}/{}/",
    "/feeds/{}",
    "/entries/{}",
    "/language/{}/",
    "/api/{}",
    "/api/{}/{}",
    "/api/issues/{}",
    "/api/entries/{}",
    "/api/entries/{}/{}",
    "/admin/{}/",
    "/static/{}",
    "/sitemap.xml{}",
    "/{}.xml",
    "//{}",
    "/issues//{}/",
    "/tags/{}//",
)


@st.composite
def paths(draw):
    template = draw(st.sampled_from(PATH_TEMPLATES))
    path = template.format(*(draw(segments()) for _ in range(template.count("{}"))))
    prefix = draw(st.sampled_from(["", "", "/en", "/zh-hans", "/EN", "/en/en"]))
    return prefix + path


def header_text():
    """A header value as a WSGI server passes it: a latin-1 string of the bytes sent."""
    return garbage_text().map(lambda text: to_bytes(text).decode("latin-1"))


LANGUAGE_HEADERS = (
    "en",
    "en-US,en;q=0.9",
    "zh-CN,zh;q=0.9",
    "zh-Hans",
    "*",
    "en;q=abc",
    "en;q=1e999",
    "fr, de;q=0.5",
    "en-" * 300,
    "x" * 10_000,
    ",,,;;;",
    "q=0",
    "zh-hant-tw",
    "EN",
    "i-klingon",
    "en_US",
    "-en",
    "en;q=0.9;q=0.1",
)
COOKIES = (
    "django_language=en",
    "django_language=zh-hans",
    "django_language=xx",
    "django_language=" + "en-" * 300,
    "django_language=%ED%A0%80",
    'django_language="en',
    "sessionid=garbage",
    "sessionid=" + "a" * 5000,
    "csrftoken=x",
    "=;=;;",
    '"unterminated',
    "django_language=en; django_language=fr",
    "a=b" + "; a=b" * 2000,
)


@st.composite
def hostile_headers(draw):
    """A few request headers, each a known-nasty value or generated garbage."""
    choices = {
        "Accept-Language": st.sampled_from(LANGUAGE_HEADERS) | header_text(),
        "Cookie": st.sampled_from(COOKIES)
        | header_text()
        | header_text().map(lambda v: f"django_language={v}"),
        "If-None-Match": st.deferred(lambda: st.sampled_from(Known.etags or ("*",)))
        | st.sampled_from(["*", 'W/"x"', '"' * 1000, 'W/"', ",,,", '"a", W/"b", *'])
        | header_text(),
        "If-Modified-Since": st.sampled_from(
            ["Sat, 29 Oct 1994 19:43:31 GMT", "-1", "0", "Mon, 32 Foo 99999 99:99:99 GMT"]
        )
        | header_text(),
        "If-Match": header_text(),
        "If-Unmodified-Since": header_text(),
        "Range": st.sampled_from(
            [
                "bytes=0-",
                "bytes=abc",
                "bytes=-0",
                "bytes=5-1",
                "bytes=99999999999999999999-",
                "bytes=0-1,2-3," * 200,
            ]
        )
        | header_text(),
        "If-Range": header_text(),
        "Accept-Encoding": st.sampled_from(
            ["gzip", "br", "gzip, br", "*", "gzip;q=abc", "identity;q=0", "x" * 5000]
        )
        | header_text(),
        "Accept": st.sampled_from(["application/json", "*/*", "text/html;q=x", "/"])
        | header_text(),
        "User-Agent": header_text(),
        "Referer": header_text(),
        "Origin": header_text(),
        "X-Forwarded-For": header_text(),
        "X-Forwarded-Host": header_text(),
        "X-Forwarded-Proto": st.sampled_from(["https", "http", "gopher"]) | header_text(),
        "X-Requested-With": st.just("XMLHttpRequest") | header_text(),
        "Content-Type": header_text(),
        "Authorization": header_text(),
    }
    names = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=6, unique=True))
    headers = {name: draw(choices[name]) for name in names}
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        # An invented header name (as its WSGI key: upper case, "-" as "_").
        headers[draw(st.text(alphabet="ABCXYZ-_019", min_size=1, max_size=20))] = draw(
            header_text()
        )
    return headers


# Hosts that no ALLOWED_HOSTS entry can match, whatever follows: none of them
# starts like "localhost", "127.0.0.1", "[::1]" or "testserver".
BAD_HOST_STARTS = (
    "evil.example",
    "example.com:443",
    "0",
    "-",
    ".",
    "@",
    "\x00",
    " ",
    "ⅼ",
    "%",
    "*",
    "_",
    "x",
    "2130706433",
    "\r\n",
    "[",
    "[::2]",
    "::1",
    "ftp://",
)
bad_hosts = st.builds(
    lambda start, rest: to_bytes(start + rest).decode("latin-1"),
    st.sampled_from(BAD_HOST_STARTS),
    st.just("") | garbage_text(),
)


def bodies():
    """A request body and its Content-Type: random bytes, JSON, forms, broken multipart."""
    form = query_strings().map(lambda q: q.encode("latin-1"))
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=10,
    )
    multipart = st.builds(
        lambda boundary, junk: (
            f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n'.encode()
            + to_bytes(junk)
            + (f"\r\n--{boundary}--\r\n".encode() if len(junk) % 2 else b"")
        ),
        st.sampled_from(["b", "--", "x" * 80]),
        garbage_text(),
    )
    content_types = (
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=gbk",
                "application/x-www-form-urlencoded; charset=no-such-charset",
                "multipart/form-data",
                "multipart/form-data; boundary=b",
                "multipart/form-data; boundary=",
                "application/json",
                "text/plain",
                "application/octet-stream",
                "",
                "garbage/",
                ";;;",
            ]
        )
        | header_text()
    )
    return st.tuples(
        st.one_of(
            st.binary(max_size=200),
            form,
            json_values.map(lambda v: json.dumps(v).encode()),
            multipart,
            # Over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), for a handler that reads it.
            st.just(b"q=" + b"x" * 2_700_000),
        ),
        content_types,
    )


FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=b"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE", "PROPFIND", "MKCOL", "FOO", "CONNECT")
OTHER_METHODS = ("OPTIONS", "TRACE", "HEAD", "get", "GeT")


# The tests ---------------------------------------------------------------------------


@hostile(max_examples=900)
@given(
    page=st.sampled_from(SEARCH_PAGES) | PUBLIC_PAGES | st.sampled_from(OTHER_LIST_PAGES),
    query=query_strings(),
)
@example(page="/entries/", query="q=%00")
@example(page="/entries/", query="q=%ED%A0%80&tag=%ED%A0%80")
@example(page="/entries/", query="q=" + "幻觉" * 10_000)
@example(page="/entries/", query="tag=%E5%B9%BB%E8%A7%89" * 1001)
@example(page="/entries/", query="year=1e309&page=99999999999999999999")
@example(page="/api/entries", query="year=2024.5&page_size=0&page=-1")
@example(page="/language/en/", query="next=//evil.example/")
def test_query_strings_on_list_and_search_pages(archive, page, query):
    """Any query string on any page that reads one (the entries filters and
    search, pagination, the API's lists, the feeds' filters, the language
    switch's ``next``) gets a 4xx or a page, never a 500, within a second.

    The page cache is off: each request renders its page instead of finding
    an earlier one in the cache."""
    with override_settings(PAGE_CACHE=False):
        send("GET", page, query=query)


# Any text a search box can send within its limits: no NUL (refused), no lone
# surrogate (it arrives as up to three U+FFFD), at most 200 characters.
searchable = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
    min_size=1,
    max_size=200,
)


@hostile(max_examples=500)
@given(
    page=st.sampled_from(SEARCH_PAGES),
    text=st.one_of(
        searchable,
        chinese.filter(bool),
        search_text().filter(
            lambda t: (
                0 < len(t) <= 200
                and "\x00" not in t
                and t.isprintable()
                and not any(0xD800 <= ord(c) <= 0xDFFF for c in t)
            )
        ),
        st.tuples(st.sampled_from(["", '"', "-", "OR ", "NEAR(", "*", "^"]), searchable).map(
            lambda pair: "".join(pair)[:200]
        ),
    ),
    how=st.sampled_from(["percent", "plus"]),
)
@example(page="/entries/", text="幻觉" * 100, how="percent")
@example(page="/entries/", text='"' * 200, how="percent")
@example(page="/api/entries", text="a" * 200, how="plus")
@example(page="/entries/", text='NEAR("a" "b") AND * OR ^x', how="percent")
def test_any_search_text_within_the_limits_is_searched(archive, page, text, how):
    """Every text of up to 200 characters (the search box's limit) without a
    NUL is a valid search: the page answers 200, with results or "nothing
    found", never a refusal and never a crash. The search builds FTS5 and
    tsquery expressions from what readers type, so this is where a quote, an
    operator word or an odd script would break it. The page cache is off."""
    with override_settings(PAGE_CACHE=False):
        response = send("GET", page, query=f"q={in_query(text, how)}")
    assert response.status_code == 200, (page, text, response.status_code)


@hostile(max_examples=1200)
@given(path=paths(), method=st.sampled_from(["GET", "GET", "GET", "HEAD"]))
@example(path="/tags/%E5%B9%BB%E8%A7%89/", method="GET")
@example(path="/tags/%ED%A0%80/", method="GET")
@example(path="/issues/%00/", method="GET")
@example(path="/papers/2406.15877v2/", method="GET")
@example(path="/en/papers/cs/0112017/cite.bib", method="GET")
@example(path="/api/entries/99999999999999999999999", method="GET")
@example(path="/language/%FF/", method="GET")
@example(path="/tags/" + "幻" * 5000 + "/", method="GET")
def test_paths_under_every_url_pattern(archive, path, method):
    """Any path under any URL pattern (issues, tags with Chinese slugs, papers
    by arXiv id, feeds, .bib files, /en/, the language switch, the sitemap,
    the API, the admin, static files) is answered without a 500 or a
    traceback. The page cache is on, as in production."""
    send(method, path)


@hostile(max_examples=900)
@given(
    page=PUBLIC_PAGES | st.sampled_from(OTHER_LIST_PAGES + OTHER_PATHS), headers=hostile_headers()
)
@example(page="/", headers={"Accept-Language": "en-" * 300})
@example(page="/entries/", headers={"Cookie": "django_language=" + "x" * 10_000})
@example(page="/", headers={"Accept-Encoding": "gzip", "If-None-Match": "*"})
@example(page="/entries/", headers={"Range": "bytes=0-1,2-3," * 200})
def test_hostile_headers(archive, page, headers):
    """Garbage in Accept-Language, Cookie (the language cookie too),
    If-None-Match (and real ETags, for a 304), Range, Accept-Encoding and the
    other headers a page reads never makes a 500."""
    send("GET", page.partition("?")[0], query=page.partition("?")[2], headers=headers)


@hostile(max_examples=300)
@given(
    host=bad_hosts,
    page=PUBLIC_PAGES | st.sampled_from(OTHER_LIST_PAGES + OTHER_PATHS + ("/admin/",)),
)
@example(host="evil.example", page="/")
@example(host="localhost.\x00", page="/entries/")  # starts well, ends badly
@example(host="[", page="/api/entries")
def test_a_host_header_that_is_not_ours_is_a_400(archive, host, page):
    """A Host header that is not in ALLOWED_HOSTS, or not a host at all, is
    refused with a 400, never a 500: the error page must not ask for the host
    again, nor may any page, feed, sitemap or API answer (absolute URLs are
    built from the host)."""
    path, _, query = page.partition("?")
    response = send("GET", path, query=query, headers={"Host": host})
    assert response.status_code == 400, (host, page, response.status_code)


@hostile(max_examples=700)
@given(
    method=st.sampled_from(UNSAFE_METHODS + OTHER_METHODS),
    path=PUBLIC_PAGES
    | st.sampled_from(OTHER_LIST_PAGES + OTHER_PATHS + ("/api/entries/1", "/admin/"))
    | paths(),
    body=bodies(),
)
@example(method="POST", path="/", body=(b"csrfmiddlewaretoken=x", FORM))
@example(method="POST", path="/entries/", body=(b"--b\r\nbroken", MULTIPART))
@example(method="PUT", path="/api/entries", body=(b"{", "application/json"))
@example(method="DELETE", path="/api/issues/2024-06-h2", body=(b"", ""))
@example(method="POST", path="/admin/login/", body=(b"q=" + b"x" * 2_700_000, FORM))
def test_other_methods_and_bodies_are_refused(archive, method, path, body):
    """POST, PUT, PATCH, DELETE and made-up methods, with any body, are refused
    with a 4xx (CSRF's 403, 405, 404, 400) on every public page and the API:
    the public site and the API are read-only, so no such request may succeed,
    and none may crash. OPTIONS, TRACE and odd spellings of GET need only not
    crash. The client checks CSRF tokens, as browsers' requests are checked."""
    data, content_type = body
    response = send(
        method,
        path.partition("?")[0],
        query=path.partition("?")[2],
        body=data,
        content_type=content_type,
        client=CSRF_CHECKING_CLIENT,
    )
    if method in UNSAFE_METHODS:
        assert 400 <= response.status_code < 500, (method, path, response.status_code)


@hostile(max_examples=300)
@given(
    language=st.sampled_from(["en", "zh-hans"]),
    target=st.one_of(
        st.sampled_from(
            [
                "//evil.example/",
                "///evil.example",
                "/\\evil.example",
                "\\\\evil.example",
                "0",
                "en/",
                "https://evil.example/",
                "javascript:alert(1)",
                "http:evil.example",
                "/%2F%2Fevil.example",
                "\x00//evil.example",
                " //evil.example",
                "\t//evil.example",
                "/\t/evil.example",
                "https:/\\evil.example",
                "http://testserver@evil.example/",
                "/en/tags/幻觉/?q=1#x",
            ]
        ),
        PUBLIC_PAGES,
        st.sampled_from(OTHER_PATHS),
        garbage_text(),
    ),
    how=encodings,
)
def test_the_language_switch_never_leaves_the_site(archive, language, target, how):
    """``/language/<code>/?next=`` with any ``next`` answers a redirect to a
    page of this site: never to another host (an open redirect a phishing link
    could use), never a 500."""
    response = send("GET", f"/language/{language}/", query=f"next={in_query(target, how)}")
    assert response.status_code == 302
    location = response["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
