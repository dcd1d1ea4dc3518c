"""The soak's editing phase: how a page is judged stale, a draft leaked, a save lost.

bench/soak/editing_report.py judges raw records (tests/support/soak_editing.py
builds them as a run collects them). A stale page is the rule the page cache's
purges must keep, so the judgement itself must fail when a page shows an
older version than a save that had returned before its request was sent, and
must not fail for a request sent before or while the save was made.
"""

import copy
import gzip

import brotli

from bench.soak import clients, editing, editing_report
from tests.support.soak_editing import (
    T0,
    editing_args,
    editing_plan,
    editing_run,
    save,
    seen,
)


def summary(run):
    return editing_report.summary(run, editing_plan(), editing_args(), T0)


def test_a_clean_phase_judges_the_pages_after_each_save_and_breaks_no_rule():
    result = summary(editing_run())
    assert result["judged"] == 2
    assert result["judged_by_encoding"] == {"gzip": 2}
    assert (result["before_first_save"], result["in_flight"]) == (1, 1)
    assert result["stale"] == 0
    assert [s["pages_after"] for s in result["publisher"]["saves"]] == [1, 1]
    assert result["publisher"]["final_number"] == 2
    assert result["drafts"][0]["verdicts"] == {"stored": 2}
    assert result["readers"]["requests"] == 4  # the answer after the phase is not in it
    assert result["readers"]["p50_ms"] == 8.0 and result["readers"]["max_ms"] == 300.0
    assert result["machine"]["cpu_busy_percent"] == 75.0
    assert editing_report.failures(result) == []


def test_an_old_version_requested_after_the_save_returned_is_a_stale_page():
    run = editing_run()
    run["sightings"].append(seen(34.5, "/tags/rag/", "SOAKPUB-0001", server=1, encoding=""))
    result = summary(run)
    assert result["stale"] == 1
    assert result["stale_first"][0]["url"] == "/tags/rag/"
    second = result["publisher"]["saves"][1]
    assert (second["pages_after"], second["stale"], second["last_stale_after_s"]) == (2, 1, 1.0)
    assert editing_report.failures(result) == [
        "1 stale page(s) in the editing phase: the Publisher's change not shown after its "
        "save had returned (/tags/rag/ (Accept-Encoding: none) at 34.5 s showed [1], "
        "expected 2)"
    ]


def test_a_page_requested_before_or_while_a_save_is_made_may_show_either_version():
    run = editing_run()
    run["sightings"] += [
        seen(32.9, "/", "SOAKPUB-0001", took=1.0),  # sent before save 2, answered after
        seen(33.2, "/", "SOAKPUB-0001"),  # sent while save 2 was in flight
    ]
    result = summary(run)
    assert result["stale"] == 0
    assert result["in_flight"] == 2


def test_a_refused_save_sets_no_new_version():
    run = editing_run()
    run["publisher"]["attempts"].append(save(3, 63.0, 0.2, outcome="refused-503", status=503))
    run["sightings"].append(seen(64.0, "/", "SOAKPUB-0002"))
    result = summary(run)
    assert result["stale"] == 0
    assert result["publisher"]["saves"][2]["pages_after"] == 0


def test_a_draft_on_a_public_page_lost_and_unclear_saves_break_rules():
    run = editing_run()
    run["sightings"].append(seen(5.0, "/tags/rag/", "SOAKDRAFT-abcdef-0-0001"))
    run["texts"]["issue"]["501"] = "导言"  # the first draft save never reached the database
    run["publisher"]["attempts"].append(save(3, 63.0, 30.0, outcome="unclear", status=0))
    failures = editing_report.failures(summary(run))
    assert failures[0].startswith("1 public page(s) showed a draft's text")
    assert "the Publisher: 1 save(s) unclear (HTTP 500)" in failures
    assert "soak-editor-1, drafts: 1 save(s) LOST" in failures


def test_a_phase_that_measured_nothing_fails():
    run = editing_run()
    run["sightings"] = [s for s in run["sightings"] if s[0] - T0 < 3.0]
    assert editing_report.failures(summary(run)) == [
        "no reader loaded a page showing the Publisher's entry after a save returned: "
        "staleness was not measured"
    ]
    run["publisher"]["attempts"] = []
    assert editing_report.failures(summary(run)) == [
        "the Publisher's change was never stored: staleness was not measured"
    ]


def test_the_publishers_last_change_must_be_in_the_database():
    run = copy.deepcopy(editing_run())
    run["texts"]["entry"]["77"] = "SOAKPUB-0001 一篇摘要。"
    assert editing_report.failures(summary(run)) == [
        "the Publisher's last stored change (SOAKPUB-0002) is not in the database (it holds 1)"
    ]


def test_the_latency_goal_is_reported_not_failed():
    run = editing_run()
    run["records"].append(["reader", T0 + 10, T0 + 12.5, 0, "home", 200, "ok", 100])
    result = summary(run)
    assert result["goal"]["p99_met"] is False
    assert editing_report.failures(result) == []


def test_readers_find_the_markers_on_a_page():
    page = (
        "<p>SOAKPUB-0003 摘要</p><p>SOAKPUB-0003</p>"
        "<li>SOAKDRAFT-0a1b2c-2-0017</li><li>SOAK-0a1b2c-1-0001</li>"
    ).encode()
    assert clients.markers_on(page) == ["SOAKPUB-0003", "SOAKDRAFT-0a1b2c-2-0017"]


def test_the_publisher_replaces_its_counter_so_the_old_text_leaves_the_page():
    assert editing.with_published_marker("摘要", 1) == "SOAKPUB-0001 摘要"
    assert editing.with_published_marker("SOAKPUB-0001 摘要", 2) == "SOAKPUB-0002 摘要"


class FakeSession:
    """Answers every post with the admin's redirect and every form with ``form``."""

    username, ports = "soak-editor-1", [8791]

    def __init__(self, form):
        self.form, self.posts = form, []

    def request(self, port, path, data=None):
        if data is None:
            return 200, {}, self.form.encode()
        self.posts.append(data)
        return 302, {"location": path}, b""


ISSUE_FORM = """<form id="issue_form">
<input name="csrfmiddlewaretoken" value="t"><textarea name="intro">
导言</textarea>
<input name="entries-0-id" value="601"><textarea name="entries-0-summary">甲</textarea>
<input name="entries-1-id" value="602"><textarea name="entries-1-summary">乙</textarea>
<input name="entries-2-id" value=""><textarea name="entries-2-summary"></textarea>
<input name="entries-__prefix__-id" value=""><textarea name="entries-__prefix__-summary">
</textarea>
</form>"""


def test_a_draft_editor_saves_the_introduction_then_each_entry_in_turn():
    session = FakeSession(ISSUE_FORM)
    editor = editing.DraftEditor(
        0, session, {"issue": 501, "entries": [601, 602]}, (0, 1), "abcdef", 2.0, 0.0, 1
    )
    fields = editor.open_form(editor.path, "issue_form")
    for turn in range(6):
        fields = editor.save(fields, turn)
    changed = [
        [(name, value) for name, value in post if "SOAKDRAFT" in value] for post in session.posts
    ]
    assert changed == [
        [("intro", "导言\n\nSOAKDRAFT-abcdef-0-0000")],
        [("entries-0-summary", "甲\n\nSOAKDRAFT-abcdef-0-0001")],
        [("intro", "导言\n\nSOAKDRAFT-abcdef-0-0002")],
        [("entries-1-summary", "乙\n\nSOAKDRAFT-abcdef-0-0003")],
        [("intro", "导言\n\nSOAKDRAFT-abcdef-0-0004")],
        # Never the blank row for a new entry: back to the first one.
        [("entries-0-summary", "甲\n\nSOAKDRAFT-abcdef-0-0005")],
    ]
    assert all(post[-1] == ("_continue", "保存并继续编辑") for post in session.posts)
    assert [(a["model"], a["pk"]) for a in editor.attempts] == [
        ("issue", 501),
        ("entry", 601),
        ("issue", 501),
        ("entry", 602),
        ("issue", 501),
        ("entry", 601),
    ]


def test_readers_read_every_encoding_a_page_may_be_kept_in():
    page = b"<p>SOAKPUB-0003</p>"
    assert clients.decoded({"content-encoding": "br"}, brotli.compress(page)) == page
    assert clients.decoded({"content-encoding": "gzip"}, gzip.compress(page)) == page
    assert clients.decoded({}, page) == page
    assert set(clients.EDITING_ENCODINGS) == {"gzip, deflate, br", "gzip", ""}
