"""The soak's editing phase: editors saving drafts, a Publisher changing a published entry.

The phase runs before the faults (bench/soak/run.py), with the readers
loading public pages meanwhile, because that is what a working day looks
like: editors save their drafts every few seconds, and now and then a
Publisher corrects something readers already see. Two questions, both
measured from outside, as a reader sees the site:

- What do the drafts cost the readers? A draft is not public, so a save of
  one must not slow public pages down (it must not throw away what the page
  cache holds). The readers' latency in this phase answers it.
- Does a published change reach every reader at once? Once the Publisher's
  save has returned, no reader may be served the old text any more (a stale
  page). The Publisher writes a counter at the start of the entry's summary
  (``SOAKPUB-0003``), replacing the previous one, so every page that shows
  the entry says which version it shows; the readers note it on every page
  (bench/soak/clients.py) and bench/soak/report.py judges each answer
  against the saves that had returned before its request was sent.

Draft editors append a unique marker to their draft at each save, so that a
public page showing one is a draft leaking (also judged), and the database
after the run tells whether each save the admin confirmed was stored.

Both post the admin's forms as a browser does (bench/common/admin_form.py):
every field as rendered, the edit-conflict token and the inline formset's
management fields included.
"""

import random
import re
import threading
import time

from bench.common.admin_form import form_fields
from bench.soak.clients import DRAFT_MARKER, PUBLISHED_MARKER, judge_save

STORED = "stored"
PUBLISHED_IN_TEXT = re.compile(r"SOAKPUB-\d{4}")
# The admin's inline formset of an issue's entries (its default prefix, the
# relation's name): ``entries-3-summary`` is the fourth row's summary.
INLINE_SUMMARY = re.compile(r"^entries-(\d+)-summary$")


def with_published_marker(text, number):
    """``text`` with its Publisher's counter replaced by ``number`` (prefixed
    when it has none): the old counter must leave the page, or a stale page
    could not be told from a fresh one."""
    marker = PUBLISHED_MARKER.format(number=number)
    if PUBLISHED_IN_TEXT.search(text):
        return PUBLISHED_IN_TEXT.sub(marker, text, count=1)
    return f"{marker} {text}"


class _Saver(threading.Thread):
    """What both kinds of client share: a signed-in session, a window, a record
    of each attempt and of each change form that did not open."""

    def __init__(self, name, session, window, seed):
        super().__init__(name=name, daemon=True)
        self.session, self.username = session, session.username
        self.start_at, self.deadline = window
        self.rng = random.Random(seed)
        self.attempts = []
        self.form_failures = []
        self.error = None

    def port(self):
        """A server at random for each request, as behind a load balancer."""
        return self.session.ports[self.rng.randrange(len(self.session.ports))]

    def open_form(self, path, form_id):
        """The change form's fields as the browser would post them, or None."""
        opened = time.monotonic()
        status, _, body = self.session.request(self.port(), path)
        if status != 200:
            self.form_failures.append({"at": opened, "status": status, "path": path})
            return None
        return form_fields(body, form_id)

    def post(self, path, fields, record):
        """Post the form; ``record`` completed with the answer and kept."""
        sent = time.monotonic()
        status, headers, body = self.session.request(self.port(), path, fields)
        ended = time.monotonic()
        outcome, message = judge_save(status, headers, body)
        record.update(sent=sent, ended=ended, status=status, outcome=outcome, message=message[:300])
        self.attempts.append(record)
        return outcome

    def run(self):
        try:
            self.work()
        except Exception as error:  # reported, and the run fails on it
            self.error = f"{type(error).__name__}: {error}"

    def summary(self):
        return {
            "name": self.username,
            "attempts": self.attempts,
            "form_failures": self.form_failures,
            "error": self.error,
            "alive": self.is_alive(),
        }


class DraftEditor(_Saver):
    """Saves a draft issue every ``interval`` seconds, by its change form with
    the entries inline ("Save and continue editing", then the form again, as
    the browser follows the redirect): the introduction on one save, one
    entry's summary (through the inline row) on the next, each time a unique
    marker appended."""

    def __init__(self, number, session, draft, window, run_id, interval, offset, seed):
        super().__init__(f"draft-editor-{number}", session, window, seed)
        self.number, self.draft, self.run_id = number, draft, run_id
        self.interval, self.offset = interval, offset
        self.path = f"/admin/papers/issue/{draft['issue']}/change/"

    def work(self):
        fields, turn = None, 0
        next_at = self.start_at + self.offset
        while True:
            time.sleep(max(0.0, next_at - time.monotonic()))
            if time.monotonic() >= self.deadline:
                return
            fields = fields or self.open_form(self.path, "issue_form")
            if fields is not None:
                fields = self.save(fields, turn)
                turn += 1
            # Every interval; a save that took longer is followed at once, not by a burst.
            next_at = max(next_at + self.interval, time.monotonic())

    def save(self, fields, turn):
        """One save; the form to post next (the one the redirect leads to), or None."""
        marker = DRAFT_MARKER.format(run_id=self.run_id, editor=self.number, turn=turn)
        values = dict(fields)
        # The rows of the entries; not the blank rows for adding one.
        rows = sorted(
            (int(m.group(1)), name, int(values[f"entries-{m.group(1)}-id"]))
            for name, _ in fields
            if (m := INLINE_SUMMARY.match(name)) and values.get(f"entries-{m.group(1)}-id")
        )
        if turn % 2 == 0 or not rows:
            field, model, pk = "intro", "issue", self.draft["issue"]
        else:
            _, field, pk = rows[(turn // 2) % len(rows)]
            model = "entry"
        posted = [
            (name, f"{value.rstrip()}\n\n{marker}" if name == field else value)
            for name, value in fields
        ]
        posted.append(("_continue", "保存并继续编辑"))
        record = {"marker": marker, "model": model, "pk": pk}
        if self.post(self.path, posted, record) != STORED:
            return None
        return self.open_form(self.path, "issue_form")


class Publisher(_Saver):
    """Changes a published entry's summary every ``interval`` seconds, by the
    entry's change form: the counter at its start goes up by one each time
    (bench/soak/site_data.py set it to 0 before the load). The first save comes
    ``first_after`` seconds into the window, so that readers have cached the
    pages before; none is made later than ``settle`` seconds before its end,
    so that readers have time to load the pages after each."""

    def __init__(self, session, entry, window, interval, first_after, settle, seed):
        super().__init__("publisher", session, window, seed)
        self.entry, self.interval = entry, interval
        self.first_after, self.settle = first_after, settle
        self.path = f"/admin/papers/entry/{entry}/change/"

    def work(self):
        number = 0
        at = self.start_at + self.first_after
        while at <= self.deadline - self.settle:
            time.sleep(max(0.0, at - time.monotonic()))
            number += 1
            fields = self.open_form(self.path, "entry_form")
            if fields is not None:
                posted = [
                    (name, with_published_marker(value, number) if name == "summary" else value)
                    for name, value in fields
                ]
                posted.append(("_save", "保存"))
                marker = PUBLISHED_MARKER.format(number=number)
                self.post(
                    self.path,
                    posted,
                    {"marker": marker, "number": number, "model": "entry", "pk": self.entry},
                )
            at += self.interval
