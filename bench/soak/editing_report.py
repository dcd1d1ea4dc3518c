"""The editing phase's figures, verdicts and tables (bench/soak/editing.py runs it).

Kept apart from bench/soak/report.py, which calls it, because the phase asks
its own questions: how fast readers are served while editors save drafts and a
Publisher changes a published entry, whether any reader was served the old
text after the Publisher's save had returned (a stale page), and whether a
draft ever showed on a public page.

How a page is judged stale: the readers note the Publisher's counters
(``SOAKPUB-0003``) on every page they load in the phase (a "sighting": when
its request was sent and answered, and the counters on the page). A page
whose request was *sent* after save n had returned (the admin's redirect
received) must show n or later; showing an earlier counter makes it stale.
A request sent before that moment may show either (it may have been answered
from what was cached before the save, or been rendered while the save was
being committed): it is counted as "in flight", not judged.
"""

import itertools

from bench.soak import clients
from bench.soak.stats import ms, percentile

# The goal for readers while editors work: the phase's own latency, at the
# readership the phase sets (see docs/soak.md).
GOAL_P50_MS = 20
GOAL_P99_MS = 250
PUBLISHED_PREFIX = "SOAKPUB-"
DRAFT_PREFIX = "SOAKDRAFT-"
SLOWEST_KINDS = 10


def published_numbers(markers):
    return [
        int(m.removeprefix(PUBLISHED_PREFIX)) for m in markers if m.startswith(PUBLISHED_PREFIX)
    ]


# -- Staleness ------------------------------------------------------------------------


def by_encoding(judged):
    """How many judged pages were asked for with each Accept-Encoding: a page
    kept once per encoding must be fresh in each."""
    counts = {}
    for page in judged:
        name = page["accept_encoding"] or "none"
        counts[name] = counts.get(name, 0) + 1
    return counts


def stored_saves(publisher):
    """``[(returned, number)]`` of the Publisher's saves the admin confirmed, in order."""
    return sorted(
        (a["ended"], a["number"]) for a in publisher["attempts"] if a["outcome"] == clients.STORED
    )


def judge_sightings(sightings, publisher, t0):
    """Each sighting of the Publisher's entry judged against the saves that had
    returned before its request was sent: ``(judged, not_judged)``, each judged
    one with ``expected`` (the newest counter it must show at least) and
    ``stale``; not judged, by why: requested before the first save returned
    (nothing to be stale against) or while a save was in flight."""
    saves = stored_saves(publisher)
    judged, not_judged = [], {"before": 0, "in_flight": 0}
    for started, ended, server, url, markers, *encoding in sightings:
        numbers = published_numbers(markers)
        if not numbers:
            continue
        if any(sent <= started < returned for sent, returned in _save_windows(publisher)):
            not_judged["in_flight"] += 1
            continue
        expected = max((n for returned, n in saves if returned < started), default=0)
        if not expected:
            not_judged["before"] += 1
            continue
        judged.append(
            {
                "started": round(started - t0, 3),
                "ended": round(ended - t0, 3),
                "server": server,
                "url": url,
                "accept_encoding": encoding[0] if encoding else "gzip",
                "shown": sorted(numbers),
                "expected": expected,
                "stale": min(numbers) < expected,
            }
        )
    return judged, not_judged


def _save_windows(publisher):
    """``(sent, returned)`` of every save attempt: a request sent meanwhile may
    show either version (what was committed is only known when it returns)."""
    return [(a["sent"], a["ended"]) for a in publisher["attempts"]]


def publisher_rows(publisher, judged, t0, final_text):
    """One row per save attempt: what the admin answered, and what readers were
    served after it returned; and the counter the entry holds after the run."""
    final = published_numbers(clients.markers_on(final_text.encode()))
    rows = []
    for attempt in publisher["attempts"]:
        number = attempt["number"]
        after = [j for j in judged if j["expected"] == number]
        stale = [j for j in after if j["stale"]]
        returned = attempt["ended"] - t0
        rows.append(
            {
                "number": number,
                "marker": attempt["marker"],
                "outcome": attempt["outcome"],
                "status": attempt["status"],
                "message": attempt["message"],
                "sent": round(attempt["sent"] - t0, 2),
                "returned": round(returned, 2),
                "took_ms": ms(attempt["ended"] - attempt["sent"]),
                "pages_after": len(after),
                "stale": len(stale),
                "last_stale_after_s": (
                    round(max(j["started"] for j in stale) - returned, 2) if stale else None
                ),
                "stale_urls": sorted({j["url"] for j in stale})[:5],
            }
        )
    return rows, (max(final) if final else None)


# -- Drafts -----------------------------------------------------------------------------


def draft_rows(draft_editors, texts):
    """Per draft editor: saves, what the database holds of them, how long each took."""
    rows = []
    for editor in draft_editors:
        verdicts = {}
        for attempt in editor["attempts"]:
            stored_text = texts.get(attempt["model"], {}).get(str(attempt["pk"]), "")
            verdict = clients.save_verdict(attempt["outcome"], attempt["marker"] in stored_text)
            attempt["verdict"] = verdict
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        took = [a["ended"] - a["sent"] for a in editor["attempts"]]
        sent = sorted(a["sent"] for a in editor["attempts"])
        gaps = [b - a for a, b in itertools.pairwise(sent)]
        rows.append(
            {
                "name": editor["name"],
                "attempts": len(editor["attempts"]),
                "verdicts": verdicts,
                "forms_not_opened": len(editor["form_failures"]),
                "mean_interval_s": round(sum(gaps) / len(gaps), 2) if gaps else None,
                "p50_ms": ms(percentile(took, 0.5)),
                "p99_ms": ms(percentile(took, 0.99)),
                "messages": sorted(
                    {a["message"] for a in editor["attempts"] if a["outcome"] != clients.STORED}
                )[:3],
                "error": editor["error"],
            }
        )
    return rows


def draft_leaks(sightings, t0):
    """Public pages that showed a draft's text: there must be none."""
    return [
        {
            "at": round(ended - t0, 2),
            "url": url,
            "markers": [m for m in markers if m.startswith(DRAFT_PREFIX)][:3],
        }
        for started, ended, server, url, markers, *_ in sightings
        if any(m.startswith(DRAFT_PREFIX) for m in markers)
    ]


# -- Readers and the machine -------------------------------------------------------------


def reader_latencies(records, t0, editing):
    """The readers' answers that ended in the phase: overall and per kind of page."""
    mine = [r for r in records if r[0] == "reader" and 0 <= r[2] - t0 < editing]
    overall = [r[2] - r[1] for r in mine]
    kinds = {}
    for record in mine:
        kinds.setdefault(record[4], []).append(record[2] - record[1])
    per_kind = [
        {
            "kind": kind,
            "requests": len(values),
            "p50_ms": ms(percentile(values, 0.5)),
            "p99_ms": ms(percentile(values, 0.99)),
            "max_ms": ms(max(values)),
        }
        for kind, values in kinds.items()
    ]
    per_kind.sort(key=lambda k: -k["p99_ms"])
    return {
        "requests": len(mine),
        "rps": round(len(mine) / editing, 1) if editing else None,
        "ok": sum(1 for r in mine if r[6] == "ok"),
        "p50_ms": ms(percentile(overall, 0.5)),
        "p90_ms": ms(percentile(overall, 0.9)),
        "p99_ms": ms(percentile(overall, 0.99)),
        "max_ms": ms(max(overall) if overall else None),
        "kinds": per_kind,
    }


def machine_during(samples):
    """Load averages at the phase's start and end, and how busy the CPUs were
    in between (every process on the machine, other people's included)."""
    start, end = samples.get("editing_start"), samples.get("editing_end")
    if not start or not end:
        return None
    busy = None
    if start["busy"] is not None and end["total"] != start["total"]:
        busy = round(100 * (end["busy"] - start["busy"]) / (end["total"] - start["total"]), 1)
    return {
        "loadavg_start": start["loadavg"],
        "loadavg_end": end["loadavg"],
        "cpu_busy_percent": busy,
    }


# -- The phase ---------------------------------------------------------------------------


def summary(run, plan, args, t0):
    """Everything docs/soak.md shows of the phase, from the raw records."""
    texts = run["texts"]
    judged, not_judged = judge_sightings(run["sightings"], run["publisher"], t0)
    final_text = texts.get("entry", {}).get(str(plan["publisher"]["entry"]), "")
    saves, final_number = publisher_rows(run["publisher"], judged, t0, final_text)
    readers = reader_latencies(run["records"], t0, args.editing)
    stale = [j for j in judged if j["stale"]]
    return {
        "seconds": args.editing,
        "readers": readers,
        "pause_s": args.reader_pause,
        # Each reader pauses this long on average: the most the readers can ask for.
        "offered_rps": round(args.readers / args.reader_pause, 1) if args.reader_pause else None,
        "goal": {
            "p50_ms": GOAL_P50_MS,
            "p99_ms": GOAL_P99_MS,
            "p50_met": readers["p50_ms"] is not None and readers["p50_ms"] < GOAL_P50_MS,
            "p99_met": readers["p99_ms"] is not None and readers["p99_ms"] < GOAL_P99_MS,
        },
        "pages_showing_entry": len(judged) + sum(not_judged.values()),
        "judged": len(judged),
        "judged_by_encoding": by_encoding(judged),
        "before_first_save": not_judged["before"],
        "in_flight": not_judged["in_flight"],
        "stale": len(stale),
        "stale_first": stale[:10],
        "publisher": {
            "name": run["publisher"]["name"],
            "saves": saves,
            "final_number": final_number,
            "forms_not_opened": len(run["publisher"]["form_failures"]),
            "error": run["publisher"]["error"],
        },
        "drafts": draft_rows(run["draft_editors"], texts),
        "draft_leaks": draft_leaks(run["sightings"], t0),
        "machine": machine_during(run.get("machine", {})),
    }


def failures(editing):
    """The phase's rules, as sentences: no stale page, no draft on a public page,
    the Publisher's saves stored (else nothing was measured), every confirmed
    draft save in the database."""
    out = []
    if editing["stale"]:
        examples = ", ".join(
            f"{j['url']} (Accept-Encoding: {j['accept_encoding'] or 'none'}) at "
            f"{j['started']} s showed {j['shown']}, expected {j['expected']}"
            for j in editing["stale_first"][:3]
        )
        out.append(
            f"{editing['stale']} stale page(s) in the editing phase: the Publisher's "
            f"change not shown after its save had returned ({examples})"
        )
    if editing["draft_leaks"]:
        out.append(
            f"{len(editing['draft_leaks'])} public page(s) showed a draft's text "
            f"({editing['draft_leaks'][:3]})"
        )
    publisher = editing["publisher"]
    stored = [s for s in publisher["saves"] if s["outcome"] == clients.STORED]
    if publisher["error"]:
        out.append(f"the Publisher stopped: {publisher['error']}")
    if not stored:
        out.append("the Publisher's change was never stored: staleness was not measured")
    elif not any(s["pages_after"] for s in stored):
        out.append(
            "no reader loaded a page showing the Publisher's entry after a save "
            "returned: staleness was not measured"
        )
    unclear = [s for s in publisher["saves"] if s["outcome"] == clients.UNCLEAR]
    if unclear:
        out.append(f"the Publisher: {len(unclear)} save(s) unclear ({unclear[0]['message']})")
    if stored and (publisher["final_number"] or 0) < stored[-1]["number"]:
        out.append(
            f"the Publisher's last stored change ({stored[-1]['marker']}) is not in the "
            f"database (it holds {publisher['final_number']})"
        )
    for draft in editing["drafts"]:
        for verdict, count in draft["verdicts"].items():
            if verdict == "LOST" or verdict.startswith("UNCLEAR"):
                out.append(f"{draft['name']}, drafts: {count} save(s) {verdict}")
        if draft["error"]:
            out.append(f"{draft['name']} (drafts) stopped: {draft['error']}")
        if not draft["verdicts"].get("stored"):
            out.append(f"{draft['name']} stored no draft: the phase did not edit")
    return out


# -- Baseline ----------------------------------------------------------------------------


def baseline_of(report, note):
    """What a later run compares itself with (docs/soak-baseline.json): this
    run's phase in a few figures, with where and when it was measured, and
    ``note``, what the code did then."""
    editing = report["editing"]
    readers = editing["readers"]
    return {
        "note": note,
        "started": report["started"],
        "date": report["started"][:10],
        "commit": report["code"]["commit"][:12],
        "dirty": bool(report["code"]["changed_files"]),
        "settings": report["settings"],
        "readers": {
            k: readers[k] for k in ("requests", "rps", "p50_ms", "p90_ms", "p99_ms", "max_ms")
        },
        "judged": editing["judged"],
        "stale": editing["stale"],
        "draft_saves_p50_ms": percentile(
            [d["p50_ms"] for d in editing["drafts"] if d["p50_ms"]], 0.5
        ),
        "publisher_saves": len(editing["publisher"]["saves"]),
        "machine": editing["machine"],
    }


# -- Markdown ----------------------------------------------------------------------------


def _cell(value, suffix=""):
    return "-" if value is None else f"{value}{suffix}"


def readers_table(editing, baseline=None):
    """This run's readers beside the baseline's, when there is one."""
    readers = editing["readers"]
    head = "| readers in the phase | this run |"
    rule = "| --- | ---: |"
    rows = [
        ("requests", readers["requests"], "requests"),
        ("req/s", readers["rps"], "rps"),
        ("p50 ms", readers["p50_ms"], "p50_ms"),
        ("p90 ms", readers["p90_ms"], "p90_ms"),
        ("p99 ms", readers["p99_ms"], "p99_ms"),
        ("max ms", readers["max_ms"], "max_ms"),
    ]
    if baseline:
        head = (
            f"| readers in the phase | this run | baseline ({baseline['date']}, "
            f"`{baseline['commit']}`) |"
        )
        rule = "| --- | ---: | ---: |"
        lines = [head, rule]
        lines += [
            f"| {name} | {_cell(value)} | {_cell(baseline['readers'].get(key))} |"
            for name, value, key in rows
        ]
        lines.append(
            f"| stale pages (of those judged) | {editing['stale']} of {editing['judged']} | "
            f"{baseline['stale']} of {baseline['judged']} |"
        )
        return "\n".join(lines)
    lines = [head, rule] + [f"| {name} | {_cell(value)} |" for name, value, _ in rows]
    lines.append(f"| stale pages (of those judged) | {editing['stale']} of {editing['judged']} |")
    return "\n".join(lines)


def goal_table(editing):
    goal, readers = editing["goal"], editing["readers"]
    leaks = len(editing["draft_leaks"])
    rows = [
        (f"readers p50 < {goal['p50_ms']} ms", _cell(readers["p50_ms"], " ms"), goal["p50_met"]),
        (f"readers p99 < {goal['p99_ms']} ms", _cell(readers["p99_ms"], " ms"), goal["p99_met"]),
        ("no stale page", f"{editing['stale']} of {editing['judged']}", not editing["stale"]),
        ("no draft on a public page", leaks, not leaks),
    ]
    lines = ["| goal | measured | verdict |", "| --- | ---: | --- |"]
    lines += [
        f"| {goal} | {value} | {'met' if met else '**not met**'} |" for goal, value, met in rows
    ]
    return "\n".join(lines)


def kinds_table(editing):
    kinds = editing["readers"]["kinds"][:SLOWEST_KINDS]
    lines = [
        "| page kind | requests | p50 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {k['kind']} | {k['requests']} | {k['p50_ms']} | {k['p99_ms']} | {k['max_ms']} |"
        for k in kinds
    ]
    return "\n".join(lines)


def publisher_table(editing):
    lines = [
        "| save | sent at (s) | returned at (s) | took ms | outcome | pages judged after it "
        "| stale | last stale, s after return |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for save in editing["publisher"]["saves"]:
        lines.append(
            f"| `{save['marker']}` | {save['sent']} | {save['returned']} | {save['took_ms']} | "
            f"{save['outcome']} | {save['pages_after']} | {save['stale']} | "
            f"{_cell(save['last_stale_after_s'])} |"
        )
    if not editing["publisher"]["saves"]:
        lines.append("| (none) | | | | | | | |")
    return "\n".join(lines)


def drafts_table(editing):
    lines = [
        "| editor | saves | verdicts | forms that did not open | mean interval s | "
        "save p50 ms | save p99 ms |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for draft in editing["drafts"]:
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(draft["verdicts"].items())) or "-"
        lines.append(
            f"| {draft['name']} | {draft['attempts']} | {verdicts} | {draft['forms_not_opened']} | "
            f"{_cell(draft['mean_interval_s'])} | {_cell(draft['p50_ms'])} | "
            f"{_cell(draft['p99_ms'])} |"
        )
    return "\n".join(lines)


def machine_text(editing):
    machine = editing["machine"]
    if not machine:
        return "The machine's load was not sampled."
    start, end = machine["loadavg_start"], machine["loadavg_end"]
    busy = (
        f"; the CPUs were {machine['cpu_busy_percent']}% busy over the phase (every process on "
        "the machine, the readers' and other people's included)"
        if machine["cpu_busy_percent"] is not None
        else ""
    )
    return (
        f"Load average {' / '.join(map(str, start))} (1/5/15 min) at the phase's start and "
        f"{' / '.join(map(str, end))} at its end{busy}."
    )


def figures(report, baseline=None):
    """The template's fields for the phase."""
    editing = report["editing"]
    settings = report["settings"]
    return {
        "editing_seconds": editing["seconds"],
        "offered": (
            f"{editing['offered_rps']} pages a second at most"
            if editing["offered_rps"]
            else "as many pages a second as the servers answer (no pause)"
        ),
        "reader_pause": settings["reader_pause"],
        "draft_interval": settings["draft_interval"],
        "publish_interval": settings["publish_interval"],
        "editing_goal_table": goal_table(editing),
        "editing_readers_table": readers_table(editing, baseline),
        "editing_kinds_table": kinds_table(editing),
        "editing_publisher_table": publisher_table(editing),
        "editing_pages_showing": editing["pages_showing_entry"],
        "editing_judged": editing["judged"],
        "editing_judged_by_encoding": "; ".join(
            f"`{name}` {count}" for name, count in sorted(editing["judged_by_encoding"].items())
        )
        or "none",
        "editing_in_flight": editing["in_flight"],
        "editing_before_first_save": editing["before_first_save"],
        "editing_drafts_table": drafts_table(editing),
        "editing_leaks": len(editing["draft_leaks"]),
        "editing_draft_messages": "\n".join(
            f"- {message}"
            for message in sorted({m for d in editing["drafts"] for m in d.get("messages", [])})
        )
        or "- (none)",
        "editing_machine": machine_text(editing),
        "baseline_note": baseline_note(report, baseline),
    }


def baseline_note(report, baseline):
    if not baseline:
        return "No baseline (docs/soak-baseline.json) to compare with."
    same = baseline.get("started") == report["started"]
    load = (baseline.get("machine") or {}).get("loadavg_start")
    load_text = f", load average {load[0]} at its start" if load else ""
    return (
        f"The baseline is the phase as measured on {baseline['date']} at commit "
        f"`{baseline['commit']}`{load_text} (docs/soak-baseline.json"
        + (", this very run" if same else "")
        + f"). Then {baseline['note'].rstrip('.')}."
    )
