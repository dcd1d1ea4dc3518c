"""An SMTP server that takes every message and keeps only a count: the relay
of the delivery benchmark, in a process of its own so that it competes with
the workers for the cores as a relay on the same machine would, and not for
the driver's interpreter.

    python -m bench.delivery.sink --port 2525

Prints ``listening on <port>`` once it takes connections, and
``accepted <n>`` when it is stopped (SIGTERM or SIGINT).
"""

import argparse
import signal
import threading

from aiosmtpd.controller import Controller


class CountingHandler:
    def __init__(self):
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        self.accepted += 1
        return "250 OK"


def main():
    parser = argparse.ArgumentParser(prog="python -m bench.delivery.sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    handler = CountingHandler()
    controller = Controller(handler, hostname=args.host, port=args.port)
    controller.start()
    stopped = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopped.set())
    print(f"listening on {args.port}", flush=True)
    stopped.wait()
    controller.stop()
    print(f"accepted {handler.accepted}", flush=True)


if __name__ == "__main__":
    main()
