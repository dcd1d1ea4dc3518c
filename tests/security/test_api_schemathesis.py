"""The JSON API against its own OpenAPI document, fuzzed by schemathesis.

Why: ``/api/openapi.json`` is a promise to every client (what each operation
takes, which statuses it answers, what each answer looks like). schemathesis
reads that promise and sends what it allows and what it forbids (its
"negative" mode: wrong types, out-of-range numbers, missing or extra
parameters, unexpected methods) through every phase (the schema's examples,
the coverage of each parameter's edge values, then random fuzzing), and checks
every answer against it:

- not_a_server_error: no 5xx;
- status_code_conformance: only statuses the document lists;
- content_type_conformance and response_schema_conformance: the answer's
  content type and JSON body are what the document declares for that status;
- response_headers_conformance, negative_data_rejection (invalid input is
  refused), positive_data_acceptance (valid input is accepted),
  unsupported_method and allow_header_conformance (a 405 says what is allowed);
- and this module's own: every answer within a second, with no traceback.

The API runs in-process: schemathesis calls the project's WSGI application
(``digestsite.wsgi``), whose database queries go to the test database that
pytest-django prepared, holding the seed roundup and two more issues.

Runs are deterministic (a fixed seed, no example database), so a failure in
CI fails the same way on a laptop. ``API_FUZZ_EXAMPLES`` sets the fuzzing
phase's examples per operation (default 100).
"""

import datetime
import json
import os
import time
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections

from digestsite.wsgi import application
from papers.models import Issue, Section
from tests.factories import EntryFactory, IssueFactory, SectionFactory

SLOW_SECONDS = 1.0
# A slow answer is asked for again after each of these pauses (seconds).
SLOW_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"Exception Value:")


def seed_values(model, field):
    """The values of ``field`` in the seed fixture: real slugs for the filters."""
    with open(SEED_FIXTURE, encoding="utf-8") as fixture:
        return sorted({o["fields"][field] for o in json.load(fixture) if o["model"] == model})


SEED_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "roundup-2024-06-h2.json"

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240630,
        # schemathesis sends requests' default "Accept-Encoding: gzip, deflate" and
        # the in-process WSGI client, unlike requests, does not inflate what
        # GZipMiddleware sends back: ask for the body as is.
        "headers": {"Accept-Encoding": "identity"},
        "generation": {
            "mode": "all",  # valid and invalid data alike
            "deterministic": True,
            "database": "none",  # no example replayed from, or saved for, another run
            "max-examples": int(os.environ.get("API_FUZZ_EXAMPLES", "100")),
        },
        # Half the filter values are real ones (the rest generated), so that the
        # searches and filters behind a valid value run too, not only the refusals.
        "dictionaries": {
            "tags": {"values": seed_values("papers.tag", "slug")},
            "sections": {"values": seed_values("papers.section", "slug")},
            "issues": {
                "values": [*seed_values("papers.issue", "slug"), "2024-07-h1", "draft-issue"]
            },
            "queries": {
                "values": [
                    "幻觉",
                    "检索增强生成",
                    "RAG",
                    "hallucination",
                    "2406.15877",
                    '"long context"',
                    "对齐 推理",
                ]
            },
        },
        "parameters": {
            "tag": {"dictionary": "tags", "probability": 0.5},
            "section": {"dictionary": "sections", "probability": 0.5},
            "issue": {"dictionary": "issues", "probability": 0.5},
            "slug": {"dictionary": "issues", "probability": 0.5},
            "q": {"dictionary": "queries", "probability": 0.5},
        },
        # A filter value that names no tag, section or issue is refused with the
        # documented 400 ("Invalid filters."): which slugs exist is data, not
        # something a schema can list. So for this one operation a 400 also counts
        # as the answer to schema-valid input; every other check stays as it is.
        "operations": [
            {
                "include-path": "/api/entries",
                "include-method": "GET",
                "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", 400, 404]}},
            }
        ],
        # Every phase a pytest run has: the schema's examples, the coverage of each
        # parameter's boundaries and invalid values (unexpected methods included),
        # and random fuzzing. All checks are on (the default); none is relaxed.
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
    }
)


class Tally:
    requests = 0
    slowest = 0.0


@pytest.fixture
def api_archive(db):
    """The seed roundup plus two issues, with Chinese tags and a second section."""
    call_command("load_seed", verbosity=0)
    seed = Issue.objects.get(slug="2024-06-h2")
    rag = Section.objects.get(slug="rag")
    other = SectionFactory(name="多模态与智能体", slug="multimodal-agents")
    for n in range(2):
        issue = IssueFactory(
            slug=f"2024-0{7 + n}-h1",
            published_at=seed.published_at + datetime.timedelta(days=14 * (n + 1)),
        )
        for m in range(6):
            EntryFactory(issue=issue, section=rag if m % 2 else other, tags=["幻觉", f"标签{m}"])
    EntryFactory(
        issue=IssueFactory(status=Issue.Status.DRAFT, slug="draft-issue"),
        section=other,
        tags=["草稿"],
    )


@pytest.fixture
def api_schema(api_archive, pytestconfig):
    """The API's OpenAPI document, loaded from the WSGI application itself.

    Django's test client stops ``close_old_connections`` from running around
    its requests; a WSGI call does not, and on PostgreSQL it would close the
    connection that holds the test's transaction (and its data). It is
    disconnected here for the same reason and reconnected afterwards.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None and Tally.requests:
            with capture.global_and_fixture_disabled():
                reporter.write_line(
                    f"\nschemathesis: {Tally.requests} API requests checked, "
                    f"slowest {Tally.slowest:.3f} s"
                )


def answered_within_a_second(ctx, response, case):
    """No answer takes a second or more.

    Wall time on a shared machine is noisy: a slow answer is asked for again
    after a pause, up to len(SLOW_RETRY_PAUSES) times, and fails only if every
    attempt is slow. An operation that is really slow is slow every time.
    """
    Tally.requests += 1
    times = [response.elapsed]
    for pause in SLOW_RETRY_PAUSES:
        if min(times) < SLOW_SECONDS:
            break
        time.sleep(pause)
        started = time.perf_counter()
        case.call()
        times.append(time.perf_counter() - started)
        Tally.requests += 1
    Tally.slowest = max(Tally.slowest, min(times))
    assert min(times) < SLOW_SECONDS, (
        f"{case.method} {case.formatted_path} took {times} s, every attempt over a second"
    )


def no_traceback(ctx, response, case):
    """No answer shows a traceback, whatever its status."""
    body = response.content or b""
    for marker in TRACEBACK_MARKERS:
        assert marker not in body, f"traceback text {marker!r} in the answer"


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    """schemathesis 4.32's fixture-loaded schemas read and rename
    ``request.node._nodeid`` (to name each operation in reports), an attribute
    pytest 9 no longer has; giving it one keeps that bookkeeping harmless."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_the_api_keeps_the_promises_of_its_openapi_document(case):
    """Every operation, with valid and invalid input, answers as its OpenAPI
    document says, within a second, never with a 5xx or a traceback."""
    case.call_and_validate(additional_checks=[answered_within_a_second, no_traceback])
