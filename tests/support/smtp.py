"""A real SMTP server for the tests: aiosmtpd on a free port of 127.0.0.1,
recording every message it accepts, parsed with the ``email`` package.

It can be told to answer some recipients with an SMTP error (``refuse``),
can take its time over each message (``delay``: a relay that is not instant,
so that a worker killed mid-send is likely caught between sending a message
and marking it sent), and can be stopped and started again on the same port
(a relay going away).
"""

import asyncio
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    def __init__(self, delay=0.0):
        self.delay = delay
        self.messages = []
        self.refusals = {}  # address -> "550 ..." or "451 ..."
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.refusals.get(address.lower())
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"


class SmtpSink:
    """``with SmtpSink() as sink: settings.EMAIL_PORT = sink.port``.

    ``delay``: seconds the server waits before accepting each message."""

    def __init__(self, port=None, delay=0.0):
        self.port = port or free_port()
        self.handler = RecordingHandler(delay)
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def refuse(self, address, answer):
        self.handler.refusals[address.lower()] = answer

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address):
        """The messages delivered to ``address``."""
        return [m for m in self.messages if m["To"] == address]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
