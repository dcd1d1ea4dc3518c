"""Structured log lines: what a log collector needs from a request's log record.

Django logs a failed request (``django.request``) with the request object and
the status code attached to the record. A JSON line can carry neither object
as is, so this filter copies out the method and path, and the formatter leaves
the objects out (settings.LOGGING).
"""

import datetime
import logging
import time

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# Record attributes never written as fields: the standard ones, and the
# objects Django attaches to request records (their fields are copied below).
LEFT_OUT = [*RESERVED_ATTRS, "request", "server_time"]
# Longer paths (a hostile query string) are cut: a log line stays a line.
MAX_PATH = 500


class RequestFields(logging.Filter):
    """Adds ``method`` and ``path`` to records about a request."""

    def filter(self, record):
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "get_full_path"):
            record.method = request.method
            record.path = request.get_full_path()[:MAX_PATH]
        return True


class OutageTracebacks(logging.Filter):
    """While the database is away every request fails the same way: a 503
    (operations.views.server_error), each logged by Django as an error with
    its traceback, hundreds a second. The first in each interval is kept as
    it is; the others become one-line warnings, so the log still counts
    them but the cause is not buried under copies of itself."""

    interval = 10.0

    def __init__(self):
        super().__init__()
        self.last_traceback = -self.interval

    def filter(self, record):
        if getattr(record, "status_code", None) != 503 or not record.exc_info:
            return True
        now = time.monotonic()
        if now - self.last_traceback >= self.interval:
            self.last_traceback = now
            return True
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line: time, level, logger, message, plus request fields,
    and the traceback (``exc_info``) as one string."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", LEFT_OUT)
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        super().__init__(*args, **kwargs)

    def formatTime(self, record, datefmt=None):
        """ISO 8601 in UTC: unambiguous across machines and time zones."""
        moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        return moment.isoformat(timespec="milliseconds")
