"""Starting a real ``manage.py delivery_worker`` process, for the delivery
benchmark and the worker-process tests."""

import subprocess
import sys

from bench.common.provenance import BASE_DIR


def start_delivery_worker(env, log_path):
    """A worker polling every 0.1 s from its first moment, its output in ``log_path``."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "delivery_worker",
                "--interval",
                "0.1",
                "--no-startup-delay",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
