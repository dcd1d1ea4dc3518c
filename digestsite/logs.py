"""Structured log lines: what a log collector needs from a request's log record.

Django logs a failed request (``django.request``) with the request object and
the status code attached to the record. A JSON line can carry neither object
as is, so this filter copies out the method and path, and the formatter leaves
the objects out (settings.LOGGING).
"""

import logging

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


class JsonLines(JsonFormatter):
    """One JSON object a line: time, level, logger, message, plus request fields,
    and the traceback (``exc_info``) as one string."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", LEFT_OUT)
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        super().__init__(*args, **kwargs)
