"""The soak's verdicts and report: phases, rules, console table, docs/soak.md.

Kept apart from the running so that the rules can be read in one place. Every
figure comes from the raw records of bench/soak/clients.py and the fault times
of bench/soak/run.py; the JSON (docs/soak.json) holds them summed up, and the
Markdown is made from the JSON: the template bench/soak/report.md, filled with
the figures and tables made here.

A reader's answer belongs to the phase in which it *ended*: a request sent
just before PostgreSQL stopped and answered after is judged as an answer during
the outage, which is what its reader saw.
"""

import json
import platform
import re
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from string import Template

from bench.common import provenance
from bench.soak import clients, editing_report
from bench.soak.stats import ms, percentile

TEMPLATE = Path(__file__).resolve().with_name("report.md")
SCHEMA = 1
MARKER = re.compile(r"SOAK-[0-9a-f]{6}-\d+-\d{4}")
PHASES = [
    ("editing", "editing: drafts and a Publisher"),
    ("normal", "normal"),
    ("pg_down", "PostgreSQL down"),
    ("pg_recovery", "PostgreSQL back, recovering"),
    ("steady", "normal again"),
    ("redis_down", "Redis down"),
    ("redis_back", "Redis back"),
]

EVENTS = {
    "editing_end": "editing phase over; the faults' timeline starts",
    "pg_stop": "PostgreSQL stopping (fast shutdown: connections cut)",
    "pg_stopped": "PostgreSQL stopped",
    "pg_start": "PostgreSQL starting",
    "pg_ready": "PostgreSQL accepting connections",
    "editors_held": "editors held (no save in flight), edited pages read through each server",
    "editors_held_not_all_idle": "(an editor was still busy after 35 s)",
    "redis_stop": "Redis stopping (SIGTERM: snapshot saved)",
    "redis_stopped": "Redis stopped",
    "editors_resumed": "editors editing again",
    "editors_held_again": "editors held again, until the end",
    "editors_held_again_not_all_idle": "(an editor was still busy after 35 s)",
    "redis_start": "Redis starting (snapshot reloaded)",
    "redis_ready": "Redis answering",
}


def markers_in(text):
    return MARKER.findall(text or "")


def log_kinds(text):
    """Log lines counted by level and message, the request path left out, so
    that a few hundred "Service Unavailable: /..." lines read as one kind.
    JSON lines (the site's logging) are read as JSON, others taken as they are."""
    kinds = {}
    for line in text.splitlines():
        try:
            record = json.loads(line)
            kind = f"{record.get('level', '?')} {str(record.get('message', ''))[:80]}"
        except (ValueError, AttributeError):
            if not line.strip() or line.startswith((" ", "Traceback", "\t")):
                continue
            kind = re.sub(r"^\[[^]]*\] \[\d+\] ", "", line)[:80]
        kind = re.sub(r": /\S*", ": /…", kind)
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items(), key=lambda item: -item[1])[:15])


def relative_command(command):
    return provenance.relative_command(command)


def load_seconds(args):
    """The whole load: the editing phase, then the faults' ``--duration``."""
    return args.editing + args.duration


def phase_bounds(events, duration, recovery_limit, editing=0.0):
    """(key, start, end) of each phase, seconds from the run's zero; ``duration``
    is the whole load's."""
    pg_stop = events.get("pg_stop", duration)
    pg_ready = events.get("pg_ready", duration)
    redis_stop = events.get("redis_stop", duration)
    redis_ready = events.get("redis_ready", duration)
    marks = [
        0.0,
        editing,
        pg_stop,
        pg_ready,
        min(pg_ready + recovery_limit, redis_stop),
        redis_stop,
        redis_ready,
        float("inf"),
    ]
    return [(key, marks[n], marks[n + 1]) for n, (key, _) in enumerate(PHASES)]


def phase_of(bounds, moment):
    for key, start, end in bounds:
        if start <= moment < end:
            return key
    return bounds[0][0] if moment < 0 else bounds[-1][0]


def judge_answer(label, ended, events, recovery_limit, duration):
    """Allowed: a 200; the site's clean 503 while PostgreSQL is down or recovering."""
    if label == "ok":
        return True
    if label != "clean-503":
        return False
    window_start = events.get("pg_stop", duration)
    window_end = events.get("pg_ready", duration) + recovery_limit
    return window_start <= ended <= window_end


def reader_phases(records, t0, bounds, events, args):
    phases = {
        key: {"requests": 0, "labels": {}, "latencies": [], "errors": 0} for key, _, _ in bounds
    }
    errors = []
    for source, started, ended, server, kind, status, label, _size in records:
        if source != "reader":
            continue
        moment = ended - t0
        phase = phases[phase_of(bounds, moment)]
        phase["requests"] += 1
        phase["labels"][label] = phase["labels"].get(label, 0) + 1
        phase["latencies"].append(ended - started)
        if not judge_answer(label, moment, events, args.recovery_limit, load_seconds(args)):
            phase["errors"] += 1
            if len(errors) < 20:
                errors.append(
                    {
                        "at": round(moment, 2),
                        "server": server,
                        "kind": kind,
                        "status": status,
                        "label": label,
                    }
                )
    summary = {}
    for key, start, end in bounds:
        phase = phases[key]
        seconds = max(0.0, min(end, load_seconds(args)) - start)
        latencies = phase.pop("latencies")
        summary[key] = {
            **phase,
            "seconds": round(seconds, 2),
            "rps": round(phase["requests"] / seconds, 1) if seconds else None,
            "p50_ms": ms(percentile(latencies, 0.50)),
            "p99_ms": ms(percentile(latencies, 0.99)),
            "max_ms": ms(max(latencies) if latencies else None),
        }
    return summary, errors


def timeline(records, t0, duration, step=2.0):
    """Readers' answers in ``step``-second buckets: throughput and failures over time."""
    buckets = [
        {"at": round(n * step, 1), "ok": 0, "clean-503": 0, "other": 0, "latencies": []}
        for n in range(int(duration / step) + 2)
    ]
    for source, started, ended, *_rest in records:
        if source != "reader":
            continue
        bucket = buckets[min(len(buckets) - 1, max(0, int((ended - t0) / step)))]
        label = _rest[3]
        bucket[label if label in ("ok", "clean-503") else "other"] += 1
        bucket["latencies"].append(ended - started)
    for bucket in buckets:
        latencies = bucket.pop("latencies")
        bucket["rps"] = round((bucket["ok"] + bucket["clean-503"] + bucket["other"]) / step, 1)
        bucket["p50_ms"] = ms(percentile(latencies, 0.5))
    return buckets


def probe_summary(records, t0, bounds, events, args, servers):
    """Per server: the never-cached probe's answers per phase, its first 200
    after PostgreSQL is back, and the last 503 (readers and prober) after it."""
    pg_ready = events.get("pg_ready")
    result = []
    for server in range(servers):
        mine = [r for r in records if r[3] == server and r[0] in ("probe", "healthz")]
        per_phase = {}
        for source, _started, ended, _s, _k, _status, label, _ in mine:
            phase = per_phase.setdefault(phase_of(bounds, ended - t0), {})
            counts = phase.setdefault(source, {})
            counts[label] = counts.get(label, 0) + 1
        first_ok = first_sent = first_latency = None
        if pg_ready is not None:
            after = sorted(
                (r[2] - t0, r[1] - t0)
                for r in mine
                if r[0] == "probe" and r[6] == "ok" and r[2] - t0 >= pg_ready
            )
            if after:
                ended, started = after[0]
                first_ok = round(ended - pg_ready, 2)
                first_latency = round(ended - started, 2)
                # The first probe answered 200 that was sent after PostgreSQL's
                # return: what the site itself took, without the queue in front
                # of the workers that every request also waits in.
                first_sent = round(max(0.0, min(s for _, s in after) - pg_ready), 2)
        last_503 = max(
            (
                r[2] - t0
                for r in records
                if r[0] in ("reader", "probe") and r[3] == server and r[6] == "clean-503"
            ),
            default=None,
        )
        probe_errors = sum(
            1
            for r in mine
            if r[0] == "probe"
            and not judge_answer(r[6], r[2] - t0, events, args.recovery_limit, load_seconds(args))
        )
        result.append(
            {
                "server": server,
                "phases": per_phase,
                "probe_errors": probe_errors,
                "recovery_s": first_ok,
                "recovery_request_latency_s": first_latency,
                "recovery_sent_s": first_sent,
                "last_reader_503_after_pg_back_s": (
                    round(last_503 - pg_ready, 2) if last_503 is not None and pg_ready else None
                ),
            }
        )
    return result


def editor_summary(run, bounds, t0):
    """Each save attempt against the database's text: stored, refused, lost, unclear."""
    texts = run["texts"]
    rows, per_phase = [], {key: {} for key, _, _ in bounds}
    for editor in run["editors"]:
        for attempt in editor["attempts"]:
            stored_text = texts[attempt["model"]].get(str(attempt["pk"]), "")
            in_db = attempt["marker"] in stored_text
            verdict = clients.save_verdict(attempt["outcome"], in_db)
            phase = phase_of(bounds, attempt["ended"] - t0)
            per_phase[phase][verdict] = per_phase[phase].get(verdict, 0) + 1
            rows.append(
                {
                    **attempt,
                    "editor": editor["name"],
                    "in_db": in_db,
                    "verdict": verdict,
                    "phase": phase,
                    "sent": round(attempt["sent"] - t0, 2),
                    "ended": round(attempt["ended"] - t0, 2),
                }
            )
    totals = {}
    for row in rows:
        totals[row["verdict"]] = totals.get(row["verdict"], 0) + 1
    form_failures = {}
    for editor in run["editors"]:
        for failure in editor["form_failures"]:
            phase = phase_of(bounds, failure["at"] - t0)
            form_failures[phase] = form_failures.get(phase, 0) + 1
    messages = sorted({r["message"] for r in rows if r["outcome"] == "refused-form"})[:5]
    return {
        "totals": totals,
        "phases": per_phase,
        "form_not_opened": form_failures,
        "refusal_messages": messages,
        "anomalies": [
            r for r in rows if r["verdict"] not in ("stored", "refused-form", "refused-503")
        ],
        "attempts": rows,
    }


def failures_of(report, run, args):
    """The soak's rules (docs/soak.md: no reader errors, recovery in time, every editor's
    save stored, no stale page after the run), as sentences, one per broken rule."""
    failures = []
    events = run["events"]
    missing = [e for e in ("pg_stop", "pg_ready", "redis_stop", "redis_ready") if e not in events]
    if run["fault_error"] or missing:
        failures.append(f"fault injection incomplete ({run['fault_error'] or missing})")
    elif events["redis_ready"] > load_seconds(args) - 2:
        failures.append(
            f"Redis came back at {events['redis_ready']} s, too late in a "
            f"{load_seconds(args)} s run to see the site use it again"
        )
    errors = sum(p["errors"] for p in report["phases"].values())
    if errors:
        failures.append(f"{errors} reader answers were errors (not 200, not an allowed 503)")
    for server in report["servers"]:
        name = f"server {server['server']}"
        if server["probe_errors"]:
            failures.append(f"{name}: {server['probe_errors']} probe answers were errors")
        if "pg_ready" in events and (
            server["recovery_sent_s"] is None or server["recovery_sent_s"] > args.recovery_limit
        ):
            failures.append(
                f"{name}: no never-cached request sent within "
                f"{args.recovery_limit} s of PostgreSQL's return got a 200 "
                f"(first: sent at +{server['recovery_sent_s']} s)"
            )
    outage_503s = sum(
        report["phases"][k]["labels"].get("clean-503", 0) for k in ("pg_down", "pg_recovery")
    )
    if "pg_stop" in events and not outage_503s:
        failures.append(
            "no reader saw a 503 while PostgreSQL was down: the fault did not "
            "reach the site, so the run proves nothing about it"
        )
    editors = report["editors"]
    for verdict, count in editors["totals"].items():
        if verdict == "LOST" or verdict.startswith("UNCLEAR"):
            failures.append(f"editors: {count} save(s) {verdict}")
    if not editors["totals"].get("stored"):
        failures.append("editors: no save was stored at all")
    for editor in run["editors"]:
        if editor["error"]:
            failures.append(f"{editor['name']} stopped: {editor['error']}")
    stale = [c for c in report["freshness"] if not c["fresh"]]
    if stale:
        failures.append(
            f"{len(stale)} stale page(s) after the run: an edit not shown ({stale[:3]})"
        )
    return failures


def build(args, argv, plan, run, meta):
    t0 = run["t0"]
    bounds = phase_bounds(run["events"], load_seconds(args), args.recovery_limit, args.editing)
    phases, first_errors = reader_phases(run["records"], t0, bounds, run["events"], args)
    report = {
        "schema": SCHEMA,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": provenance.run_command("bench.soak.run", argv),
        "gunicorn": meta["gunicorn"],
        "machine": provenance.machine(),
        "versions": {
            "python": platform.python_version(),
            "django": version("django"),
            "gunicorn": version("gunicorn"),
            "psycopg": version("psycopg"),
            "redis-py": version("redis"),
            **run["versions"],
        },
        "code": provenance.code_version(),
        "loadavg": [round(x, 2) for x in (*meta["load_before"], *meta["load_after"])],
        "seconds": meta["seconds"],
        "setup_seconds": plan["setup_seconds"],
        "data": plan["counts"],
        "settings": {
            k: getattr(args, k)
            for k in (
                "editing",
                "reader_pause",
                "draft_interval",
                "publish_interval",
                "duration",
                "readers",
                "editors",
                "servers",
                "workers",
                "threads",
                "entries",
                "issues",
                "pg_down",
                "redis_down",
                "recovery_limit",
            )
        },
        "urls": len(plan["urls"]),
        "healthz": run["healthz"],
        "events": run["events"],
        "phase_bounds": [
            [k, round(s, 2), None if e == float("inf") else round(e, 2)] for k, s, e in bounds
        ],
        "phases": phases,
        "load_seconds": load_seconds(args),
        "timeline": timeline(run["records"], t0, load_seconds(args)),
        "first_errors": first_errors,
        "servers": probe_summary(run["records"], t0, bounds, run["events"], args, args.servers),
        "editors": editor_summary(run, bounds, t0),
        "editing": editing_report.summary(run, plan, args, t0),
        "baseline": meta.get("baseline"),
        "freshness": run["freshness"],
        "server_logs": run["server_logs"],
    }
    report["failures"] = editing_report.failures(report["editing"]) + failures_of(report, run, args)
    report["notes"] = notes_of(report)
    return report


def notes_of(report):
    """What this run did not exercise, though no rule is broken: said, not failed,
    since it depends on where the editors' random pauses fell."""
    notes = []
    phases = report["editors"]["phases"]
    if not any(phases.get(k) for k in ("pg_down", "pg_recovery")):
        notes.append("no save was attempted while PostgreSQL was down or recovering")
    if not phases.get("redis_down", {}).get("stored"):
        notes.append(
            "no save was stored while Redis was down, so the pages read at the end "
            "do not show whether edits made during the outage reach readers"
        )
    return notes


# -- Output --------------------------------------------------------------------------------


def _labels(labels):
    return ", ".join(f"{k} {v}" for k, v in sorted(labels.items(), key=lambda x: -x[1])) or "-"


def phase_table(report):
    names = dict(PHASES)
    lines = [
        "| phase | from-to (s) | requests | req/s | answers | p50 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for key, start, end in report["phase_bounds"]:
        p = report["phases"][key]
        end = report["load_seconds"] if end is None else end
        lines.append(
            f"| {names[key]} | {start:.1f}-{end:.1f} | {p['requests']} | {p['rps']} | "
            f"{_labels(p['labels'])} | {p['p50_ms']} | {p['p99_ms']} | {p['errors']} |"
        )
    return "\n".join(lines)


def timeline_table(report):
    events = {v: k for k, v in report["events"].items()}
    for save in report.get("editing", {}).get("publisher", {}).get("saves", []):
        events[save["returned"]] = f"publisher_save_{save['number']}_returned"
    lines = [
        "| t (s) | req/s | ok | clean 503 | errors | p50 ms | event |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    step = 2.0
    for b in report["timeline"]:
        if b["at"] >= report["load_seconds"]:
            break
        marks = ", ".join(
            name.replace("_", " ")
            for at, name in sorted(events.items())
            if b["at"] <= at < b["at"] + step
        )
        lines.append(
            f"| {b['at']:.0f} | {b['rps']} | {b['ok']} | {b['clean-503']} | "
            f"{b['other']} | {b['p50_ms']} | {marks} |"
        )
    return "\n".join(lines)


def server_table(report):
    lines = [
        "| server | first never-cached 200 after PostgreSQL is back (sent at, took) | "
        "last 503 after it | probe while PG down | /healthz while PG down | "
        "/healthz while Redis down |",
        "| --- | ---: | ---: | --- | --- | --- |",
    ]
    for s in report["servers"]:
        phases = s["phases"]
        lines.append(
            f"| {s['server']} | +{s['recovery_s']} s (sent at +{s['recovery_sent_s']} s, "
            f"took {s['recovery_request_latency_s']} s) "
            f"| {s['last_reader_503_after_pg_back_s']} s "
            f"| {_labels(phases.get('pg_down', {}).get('probe', {}))} "
            f"| {_labels(phases.get('pg_down', {}).get('healthz', {}))} "
            f"| {_labels(phases.get('redis_down', {}).get('healthz', {}))} |"
        )
    return "\n".join(lines)


def editor_table(report):
    names = dict(PHASES)
    editors = report["editors"]
    verdicts = sorted({v for p in editors["phases"].values() for v in p})
    lines = [
        "| phase | " + " | ".join(verdicts) + " | forms that did not open |",
        "| --- |" + " ---: |" * (len(verdicts) + 1),
    ]
    for key, _, _ in report["phase_bounds"]:
        counts = editors["phases"].get(key, {})
        lines.append(
            f"| {names[key]} | "
            + " | ".join(str(counts.get(v, 0)) for v in verdicts)
            + f" | {editors['form_not_opened'].get(key, 0)} |"
        )
    lines.append(
        "| **all** | "
        + " | ".join(f"**{editors['totals'].get(v, 0)}**" for v in verdicts)
        + f" | {sum(editors['form_not_opened'].values())} |"
    )
    return "\n".join(lines)


def console(report):
    verdict = "PASS" if not report["failures"] else "FAIL"
    editing = report["editing"]
    parts = [
        "",
        "Editing phase:",
        editing_report.goal_table(editing),
        "",
        editing_report.publisher_table(editing),
        "",
        editing_report.drafts_table(editing),
        "",
        editing_report.machine_text(editing),
        "",
        phase_table(report),
        "",
        server_table(report),
        "",
        editor_table(report),
        "",
        f"fresh pages after the run: {sum(c['fresh'] for c in report['freshness'])}"
        f"/{len(report['freshness'])}",
        "server logs: "
        + "; ".join(
            f"server {s['server']}: {s['lines']} lines, {s['kinds']}" for s in report["server_logs"]
        ),
        "",
        f"soak: {verdict}",
    ]
    parts += [f"  - {f}" for f in report["failures"]]
    parts += [f"  note: {n}" for n in report["notes"]]
    return "\n".join(parts)


def markdown(report):
    """docs/soak.md: the template filled with this report's figures."""
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(markdown_figures(report))


def markdown_figures(report):
    """What the template shows, each figure formatted as it is printed."""
    m, v, s, e = report["machine"], report["versions"], report["settings"], report["events"]
    load = report["loadavg"]
    editors = report["editors"]
    fresh = report["freshness"]
    verdict = (
        "**All rules held.**"
        if not report["failures"]
        else "**Rules broken:**\n\n" + "\n".join(f"- {f}" for f in report["failures"])
    )
    if report["notes"]:
        verdict += "\n\nNot exercised in this run:\n\n" + "\n".join(
            f"- {n}" for n in report["notes"]
        )
    anomalies = "\n".join(
        f"- {a['editor']} {a['marker']} at {a['ended']} s ({a['phase']}): HTTP {a['status']}, "
        f"{a['verdict']}: {a['message']}"
        for a in editors["anomalies"][:20]
    )
    logs = "\n".join(
        f"| {x['server']} | {count} | `{kind}` |"
        for x in report["server_logs"]
        for kind, count in x["kinds"].items()
    )
    return {
        **editing_report.figures(report, report.get("baseline")),
        "load_seconds": report["load_seconds"],
        "date": report["started"][:10],
        "minutes": f"{report['seconds'] / 60:.1f}",
        "setup_seconds": report["setup_seconds"],
        "commit": report["code"]["commit"][:12],
        "dirty": _dirty(report["code"]),
        "verdict": verdict,
        **dict(
            zip(
                ("load_1", "load_5", "load_15", "load_1_after", "load_5_after", "load_15_after"),
                load,
                strict=True,
            )
        ),
        "entries": f"{report['data']['entries']:,}",
        "issues": f"{report['data']['issues']:,}",
        **{
            key: s[key]
            for key in ("servers", "workers", "readers", "duration", "editors", "recovery_limit")
        },
        "entry_editors": s["editors"] - 1,
        "worker_kind": (
            f"gthread workers of {s['threads']} threads"
            if s.get("threads", 1) > 1
            else "sync workers"
        ),
        "gunicorn": report["gunicorn"],
        "urls": report["urls"],
        "healthz": ", every other second `/healthz`" if report["healthz"] else "",
        "command": report["command"],
        "events": "\n".join(
            f"| {EVENTS.get(name, name)} | {at} |"
            for name, at in sorted(e.items(), key=lambda item: item[1])
        ),
        "phase_table": phase_table(report),
        "timeline_table": timeline_table(report),
        "server_table": server_table(report),
        "editor_table": editor_table(report),
        "messages": "\n".join(f"- {x}" for x in editors["refusal_messages"]) or "- (none)",
        "anomalies": anomalies or "- (none)",
        "fresh": sum(c["fresh"] for c in fresh),
        "pages_read": len(fresh),
        "logs": logs or "| - | - | - |",
        **{key: m[key] for key in ("cpu", "cores", "memory_gib", "os", "kernel")},
        **{key: v[key] for key in ("python", "django", "psycopg", "postgresql", "redis")},
        "gunicorn_version": v["gunicorn"],
        "redis_py": v["redis-py"],
    }


def _dirty(code):
    if not code["changed_files"]:
        return ""
    return (
        f" with {code['changed_files']} uncommitted file(s) in the site's code "
        f"(fingerprint `{code['fingerprint']}`)"
    )
