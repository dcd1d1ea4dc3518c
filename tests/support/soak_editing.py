"""A soak run's editing phase in raw records, as bench/soak/run.py collects them.

The soak's report is made from raw records (readers' answers, the markers they
saw on each page, the admin's answers to each save, the database's text after
the run); the tests of its verdicts and of its Markdown build one here, with
times on the same monotonic clock, counted from ``T0``.
"""

from types import SimpleNamespace

T0 = 1000.0
PUBLISHED_ENTRY = 77
DRAFT_ISSUE, DRAFT_ENTRY = 501, 601


def save(number, sent, took, outcome="stored", status=302):
    """One of the Publisher's save attempts, ``sent`` seconds into the phase."""
    return {
        "marker": f"SOAKPUB-{number:04d}",
        "number": number,
        "model": "entry",
        "pk": PUBLISHED_ENTRY,
        "sent": T0 + sent,
        "ended": T0 + sent + took,
        "status": status,
        "outcome": outcome,
        "message": "/admin/papers/entry/" if outcome == "stored" else "HTTP 500",
    }


def seen(at, url, *markers, took=0.01, server=0, encoding="gzip"):
    """A reader's page requested ``at`` seconds into the phase, showing ``markers``."""
    return [T0 + at, T0 + at + took, server, url, list(markers), encoding]


def reader(at, took, kind="home", label="ok"):
    return ["reader", T0 + at, T0 + at + took, 0, kind, 200 if label == "ok" else 0, label, 100]


def editing_run():
    """Two stored saves of the Publisher (at 3 s and 33 s), pages before, during
    and after each, one draft editor with two stored saves, readers' answers."""
    publisher = {
        "name": "soak-publisher",
        "attempts": [save(1, 3.0, 0.4), save(2, 33.0, 0.5)],
        "form_failures": [],
        "error": None,
        "alive": False,
    }
    drafts = [
        {
            "name": "soak-editor-1",
            "attempts": [
                {
                    "marker": "SOAKDRAFT-abcdef-0-0000",
                    "model": "issue",
                    "pk": DRAFT_ISSUE,
                    "sent": T0 + 0.5,
                    "ended": T0 + 0.62,
                    "status": 302,
                    "outcome": "stored",
                    "message": "/admin/papers/issue/501/change/",
                },
                {
                    "marker": "SOAKDRAFT-abcdef-0-0001",
                    "model": "entry",
                    "pk": DRAFT_ENTRY,
                    "sent": T0 + 2.5,
                    "ended": T0 + 2.58,
                    "status": 302,
                    "outcome": "stored",
                    "message": "/admin/papers/issue/501/change/",
                },
            ],
            "form_failures": [],
            "error": None,
            "alive": False,
        }
    ]
    return {
        "t0": T0,
        "records": [
            reader(1.0, 0.004),
            reader(2.0, 0.006, "issue"),
            reader(4.0, 0.008, "paper"),
            reader(34.0, 0.3, "tag"),
            reader(95.0, 2.0, "home"),  # after the phase: not in its figures
        ],
        "sightings": [
            seen(1.0, "/", "SOAKPUB-0000"),  # before the first save
            seen(3.2, "/issues/synthetic-00002/", "SOAKPUB-0000"),  # while it is in flight
            seen(4.0, "/papers/2406.15877/", "SOAKPUB-0001"),
            seen(34.0, "/tags/rag/", "SOAKPUB-0002"),
        ],
        "publisher": publisher,
        "draft_editors": drafts,
        "texts": {
            "entry": {
                str(PUBLISHED_ENTRY): "SOAKPUB-0002 一篇摘要。",
                str(DRAFT_ENTRY): "草稿摘要\n\nSOAKDRAFT-abcdef-0-0001",
            },
            "issue": {str(DRAFT_ISSUE): "导言\n\nSOAKDRAFT-abcdef-0-0000"},
        },
        "machine": {
            "editing_start": {"loadavg": [1.0, 0.9, 0.8], "busy": 100, "total": 1000},
            "editing_end": {"loadavg": [1.5, 1.0, 0.9], "busy": 400, "total": 1400},
        },
    }


def editing_plan():
    return {"publisher": {"entry": PUBLISHED_ENTRY}}


def editing_args(**changes):
    return SimpleNamespace(
        **{"editing": 90, "reader_pause": 0.5, "readers": 64, "duration": 60, **changes}
    )
