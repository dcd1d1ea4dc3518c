"""The soak's clients: readers (asyncio, in a process of their own) and editors (threads).

Why not wrk: every answer has to be judged on its own (a 503 is allowed only
while the database is down, and only as the site's clean page) and placed on
the fault timeline to the tenth of a second. So the readers are a small
HTTP/1.1 client on asyncio that records, for each request, when it ended, the
server, the status, the latency and what the body was. They run in a child
process so that the editors' HTML parsing in the parent cannot stall them and
show up as server latency. CLOCK_MONOTONIC is system-wide, so both processes
share the timeline's zero. In the editing phase (bench/soak/editing.py) the
readers also pause between pages and note the markers each page shows
(``markers_on``), which is how a stale page or a leaking draft is seen.

Editors are real admin sessions (``AdminSession``): they sign in through the
login form (CSRF cookie and token) before the load, all at once, open an
entry's or an issue's change form, and post it back
as the browser would (every field as rendered, the edit-conflict token
included: bench/common/admin_form.py) with a unique marker appended to the
text. Each attempt's outcome is
what the editor would have seen: the admin's redirect after a save (stored),
the form again with an error note (refused, with the message), the site's 503
page (refused), or anything else (unclear: an error).
"""

import asyncio
import gzip
import http.client
import http.cookiejar
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib

import brotli

from bench.common.admin_form import form_fields

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0
PROBE_INTERVAL = 1.0  # seconds between two probes of one server
USER_AGENT = "paper-digest-soak/1 (+bench/soak/run.py)"
# What readers accept in the editing phase: a browser's, gzip alone (as in the
# fault phases), and nothing (feed readers, scripts).
EDITING_ENCODINGS = ("gzip, deflate, br", "gzip", "")
# Outcomes of an editor's save attempt.
STORED, REFUSED_FORM, REFUSED_503, UNCLEAR = "stored", "refused-form", "refused-503", "unclear"


# -- Judging an answer -----------------------------------------------------------------


def decoded(headers, body):
    """The body as the page's bytes, whichever encoding the server chose."""
    encoding = headers.get("content-encoding", "").lower()
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "br":
            return brotli.decompress(body)
    except (OSError, EOFError, zlib.error, brotli.error):
        return body
    return body


def is_clean_503(status, headers, body):
    """The site's own 503 page: Retry-After, an HTML page, and no traceback or
    server error text in it (DEBUG off would never show one, but a proxy or a
    crashed worker would answer differently)."""
    if status != 503 or "retry-after" not in headers:
        return False
    text = decoded(headers, body).decode("utf-8", "replace")
    return "<html" in text.lower() and "Traceback" not in text and "Server Error" not in text


# -- Markers ------------------------------------------------------------------------------

# What the editing phase's clients write into the text (bench/soak/editing.py),
# so that a page tells which version of a text it shows: the Publisher's
# counter at the start of a published entry's summary, replaced at each save,
# and a draft editor's unique marker, appended to a draft's text.
PUBLISHED_MARKER = "SOAKPUB-{number:04d}"
DRAFT_MARKER = "SOAKDRAFT-{run_id}-{editor}-{turn:04d}"
MARKERS_ON_PAGE = re.compile(rb"SOAKPUB-\d{4}|SOAKDRAFT-[0-9a-f]{6}-\d+-\d{4}")


def markers_on(body):
    """The editing phase's markers on a page (decoded bytes), each once, in order."""
    return list(dict.fromkeys(m.decode("ascii") for m in MARKERS_ON_PAGE.findall(body)))


# -- Readers ------------------------------------------------------------------------------


async def fetch(port, url, timeout=REQUEST_TIMEOUT, accept_encoding="gzip"):
    """One GET on a fresh connection (gunicorn's sync workers close after each
    answer anyway): ``(status, headers, body)``; status 0 when no answer came.
    ``accept_encoding`` "" sends no Accept-Encoding."""

    async def exchange():
        reader, writer = await asyncio.open_connection(HOST, port)
        encoding = f"Accept-Encoding: {accept_encoding}\r\n" if accept_encoding else ""
        try:
            writer.write(
                f"GET {url} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
                "Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n"
                f"{encoding}Connection: close\r\n\r\n".encode("ascii")
            )
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        if not lines or not lines[0].startswith("HTTP/"):
            raise ConnectionError("no HTTP status line")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = headers.get("content-length")
        if length is not None and len(body) < int(length):
            raise ConnectionError(f"body cut short: {len(body)} of {length} bytes")
        return status, headers, body

    return await asyncio.wait_for(exchange(), timeout)


def describe(status, headers, body):
    """A short label for an answer: 'ok', 'clean-503', or what else it was."""
    if status == 200:
        return "ok"
    if is_clean_503(status, headers, body):
        return "clean-503"
    return f"http-{status}"


async def timed_fetch(port, url, keep_body=False, accept_encoding="gzip"):
    """``(started, ended, status, label, size, body)``; the body (decoded) only
    with ``keep_body``, since decoding every answer would take the readers'
    time from the servers they measure."""
    started = time.monotonic()
    body = b""
    try:
        status, headers, raw = await fetch(port, url, accept_encoding=accept_encoding)
        ended = time.monotonic()
        label = describe(status, headers, raw)
        size = len(raw)
        if keep_body:
            body = decoded(headers, raw)
    except TimeoutError:
        ended, status, label, size = time.monotonic(), 0, "timeout", 0
    except (OSError, ConnectionError, ValueError, IndexError) as error:
        ended, status, label, size = time.monotonic(), 0, f"conn-{type(error).__name__}", 0
    return started, ended, status, label, size, body


async def reader(number, config, records, sightings, rng):
    """Loads pages until the deadline. In the editing phase (until
    ``editing_until``) it pauses between pages, as a person reading does, and
    notes the soak's markers on each page it got (``sightings``, see
    markers_on); after it, it loads page after page, as before."""
    urls, weights = config["urls"], config["weights"]
    ports, deadline = config["ports"], config["deadline"]
    editing_until, pause = config.get("editing_until", 0.0), config.get("reader_pause", 0.0)
    while time.monotonic() < deadline:
        target = rng.choices(urls, weights)[0]
        server = rng.randrange(len(ports))
        editing = time.monotonic() < editing_until
        # In the editing phase, as browsers and others ask: a page may be kept
        # once per encoding, and each must show the same version.
        encoding = rng.choice(EDITING_ENCODINGS) if editing else "gzip"
        started, ended, status, label, size, body = await timed_fetch(
            ports[server], target["url"], keep_body=editing, accept_encoding=encoding
        )
        records.append(["reader", started, ended, server, target["kind"], status, label, size])
        if editing and status == 200:
            seen = markers_on(body)
            if seen:
                sightings.append([started, ended, server, target["url"], seen, encoding])
        if status == 0:
            await asyncio.sleep(0.05)  # a refused connection must not become a busy loop
        if editing and pause:
            await asyncio.sleep(rng.uniform(0.0, 2 * pause))


async def prober(server, config, records):
    """Once a second, a search nobody made before on this server: never in the
    page cache, so it answers 200 only when the database does. Each is sent on
    time whether or not the one before has been answered, so the first 200
    after PostgreSQL is back is known to the second however long the queue in
    front of the workers; every other one also asks /healthz."""
    port, deadline = config["ports"][server], config["deadline"]

    async def probe(number):
        url = f"/entries/?q=soakprobe{server}x{number}x{config['run_id']}"
        started, ended, status, label, _, _ = await timed_fetch(port, url)
        records.append(["probe", started, ended, server, "probe", status, label, 0])
        if config.get("healthz") and number % 2 == 0:
            started, ended, status, label, _, _ = await timed_fetch(port, "/healthz")
            records.append(["healthz", started, ended, server, "healthz", status, label, 0])

    tasks, number, next_at = [], 0, time.monotonic()
    while time.monotonic() < deadline:
        number += 1
        tasks.append(asyncio.create_task(probe(number)))
        next_at += PROBE_INTERVAL
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.gather(*tasks)


async def run_readers_async(config):
    records, sightings = [], []
    await asyncio.sleep(max(0.0, config["t0"] - time.monotonic()))
    tasks = [
        reader(n, config, records, sightings, random.Random(config["seed"] * 1000 + n))
        for n in range(config["readers"])
    ]
    tasks += [prober(server, config, records) for server in range(len(config["ports"]))]
    await asyncio.gather(*tasks)
    return {"records": records, "sightings": sightings}


def run_readers(config, queue):
    """The readers' process: runs until the deadline, then sends every record
    (and every sighting of a marker) back."""
    queue.put(asyncio.run(run_readers_async(config)))


# -- Editors ------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """The admin answers a save with a redirect: that answer is the outcome."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def error_message(html):
    """The admin's error note and field errors, as the editor reads them."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    notes = [n.get_text(" ", strip=True) for n in soup.select(".errornote, .errorlist li")]
    return " | ".join(dict.fromkeys(filter(None, notes)))


class Gate:
    """Lets the editors edit (open) or holds them (closed), and tells when all
    are held: no save of theirs in flight. The soak holds them around the
    Redis stop and restart, so that the saves made while Redis is down are the
    last ones (bench/soak/run.py's Faults)."""

    def __init__(self):
        self.open = threading.Event()
        self.open.set()
        self.editors = []

    def close_and_wait(self, limit):
        """Close, then wait (at most ``limit`` s) until every editor is held or done."""
        self.open.clear()
        deadline = time.monotonic() + limit
        for editor in self.editors:
            while editor.is_alive() and not editor.held.wait(0.1):
                if time.monotonic() > deadline:
                    return False
        return True


class AdminSession:
    """One person's admin session: a cookie jar, signed in through the login form."""

    def __init__(self, username, password, ports):
        self.username, self.password, self.ports = username, password, ports
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, port, path, data=None):
        """``(status, headers, body)`` of one request; status 0 when no answer came.
        ``data``: the fields to post, as pairs (a name may come more than once)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            f"http://{HOST}:{port}{path}", data=body, headers={"User-Agent": USER_AGENT}
        )
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, _lower(error.headers), error.read()
        except (OSError, http.client.HTTPException) as error:
            return 0, {"error": f"{type(error).__name__}: {error}"}, b""

    def csrf_token(self):
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def sign_in(self):
        """The admin's login form, retried while the site is still starting."""
        port = self.ports[0]
        for _ in range(10):
            status, _, _ = self.request(port, "/admin/login/")
            if status == 200:
                status, headers, _ = self.request(
                    port,
                    "/admin/login/",
                    {
                        "csrfmiddlewaretoken": self.csrf_token(),
                        "username": self.username,
                        "password": self.password,
                        "next": "/admin/",
                    },
                )
                if status == 302 and "login" not in headers.get("location", ""):
                    return self
            time.sleep(0.5)
        raise RuntimeError(f"{self.username} could not sign in (last status {status})")


def sign_in_all(sessions):
    """Every session signed in at once (each login hashes a password: seconds of
    CPU in turn), before the load starts so that no login is measured with it.
    The threads are gone when this returns: the readers' process may be forked."""
    errors = []

    def sign_in(session):
        try:
            session.sign_in()
        except Exception as error:  # raised below, in the caller's thread
            errors.append(error)

    threads = [threading.Thread(target=sign_in, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return sessions


class Editor(threading.Thread):
    """One editor of the fault phases: edits its targets in turn from
    ``window``'s start to its end, whenever the gate is open, in a session
    signed in before the load."""

    def __init__(self, number, session, targets, window, run_id, seed, gate):
        super().__init__(name=f"editor-{number}", daemon=True)
        self.gate = gate
        self.held = threading.Event()
        gate.editors.append(self)
        self.number, self.session, self.username = number, session, session.username
        self.ports, self.targets = session.ports, targets
        self.start_at, self.deadline = window
        self.run_id, self.rng = run_id, random.Random(seed)
        self.attempts = []
        self.form_failures = []  # change forms that did not open (no save attempted)
        self.error = None

    def request(self, port, path, data=None):
        return self.session.request(port, path, data)

    def run(self):
        try:
            time.sleep(max(0.0, self.start_at - time.monotonic()))
            turn = 0
            while self.wait_at_gate():
                self.edit_once(self.targets[turn % len(self.targets)], turn)
                turn += 1
                time.sleep(self.rng.uniform(0.2, 0.8))
        except Exception as error:  # reported, and the run fails on it
            self.error = f"{type(error).__name__}: {error}"
        finally:
            self.held.set()

    def wait_at_gate(self):
        """True when the editor may go on; waits while the gate is closed."""
        while time.monotonic() < self.deadline:
            if self.gate.open.is_set():
                self.held.clear()
                if self.gate.open.is_set():  # not closed in between: go on
                    return True
            self.held.set()
            self.gate.open.wait(min(0.5, max(0.0, self.deadline - time.monotonic())))
        return False

    def edit_once(self, target, turn):
        port = self.ports[self.rng.randrange(len(self.ports))]
        kind, pk = target["model"], target["pk"]
        path = f"/admin/papers/{kind}/{pk}/change/"
        opened = time.monotonic()
        status, _, body = self.request(port, path)
        if status != 200:
            self.form_failures.append({"at": opened, "status": status, "target": f"{kind}:{pk}"})
            time.sleep(0.5)
            return
        fields = form_fields(body, f"{kind}_form")
        text_field = "summary" if kind == "entry" else "intro"
        marker = f"SOAK-{self.run_id}-{self.number}-{turn:04d}"
        fields = [
            (name, f"{value.rstrip()}\n\n{marker}" if name == text_field else value)
            for name, value in fields
        ]
        fields.append(("_save", "保存"))
        # The editor types for a moment: some saves are posted after a fault began.
        time.sleep(self.rng.uniform(0.0, 1.5))
        if not self.gate.open.is_set():
            return  # held while typing: the form is left, no save attempted
        sent = time.monotonic()
        status, headers, body = self.request(port, path, fields)
        ended = time.monotonic()
        outcome, message = judge_save(status, headers, body)
        self.attempts.append(
            {
                "marker": marker,
                "model": kind,
                "pk": pk,
                "server": self.ports.index(port),
                "sent": sent,
                "ended": ended,
                "status": status,
                "outcome": outcome,
                "message": message[:300],
            }
        )


def judge_save(status, headers, body):
    """What the editor saw: ``(outcome, message)``."""
    location = headers.get("location", "")
    if status == 302 and "/login/" not in location:
        return STORED, location
    text = decoded(headers, body).decode("utf-8", "replace")
    if status == 200:
        message = error_message(text)
        if message:
            return REFUSED_FORM, message
        return UNCLEAR, "the form came back without an error message"
    if is_clean_503(status, headers, body):
        return REFUSED_503, "the site's 503 page"
    return UNCLEAR, headers.get("error") or f"HTTP {status} {location}".strip()


def save_verdict(outcome, in_db):
    """What a save attempt was, from what the editor saw (``outcome``) and
    whether its marker is in the database after the run: stored, LOST (the
    admin said stored, the database does not have it), refused, stored
    although refused, or UNCLEAR either way."""
    if outcome == STORED:
        return "stored" if in_db else "LOST"
    if outcome.startswith("refused"):
        return "stored although refused" if in_db else outcome
    return "UNCLEAR (in the database)" if in_db else "UNCLEAR (not stored)"


def _lower(headers):
    return {name.lower(): value for name, value in headers.items()}


def new_run_id():
    return uuid.uuid4().hex[:6]
