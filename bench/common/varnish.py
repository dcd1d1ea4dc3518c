"""A real varnishd, with the project's VCL, in front of a server on a loopback port.

The front-cache tests (tests/reading/test_front_cache.py) and the HTTP
benchmark's Varnish mode use it. The VCL is deploy/varnish/default.vcl with
only its backend's address changed. Varnish runs in the foreground in a working
directory of its own, with no management port, and is stopped (its whole
process group) however the caller ends. Debian's ``varnish`` and
``varnish-modules`` (for xkey) must be installed: ``make system-packages``.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common.site_server import BASE_DIR, HOST, ServerError, free_port

VCL = BASE_DIR / "deploy" / "varnish" / "default.vcl"
BACKEND = re.compile(r'(backend default \{\s*\.host = )"[^"]*";(\s*\.port = )"[^"]*";')
START_LIMIT = 30


def varnishd_path():
    return shutil.which("varnishd", path=os.environ.get("PATH", "") + os.pathsep + "/usr/sbin")


def has_xkey():
    """Whether varnishd and the xkey module (Debian's varnish-modules) are installed."""
    if not varnishd_path():
        return False
    found = subprocess.run(
        ["dpkg", "-L", "varnish-modules"], capture_output=True, text=True, check=False
    )
    return "libvmod_xkey.so" in found.stdout or any(
        Path(folder).glob("**/libvmod_xkey.so")
        for folder in ("/usr/lib/varnish", "/usr/lib/x86_64-linux-gnu/varnish")
        if Path(folder).exists()
    )


def vcl_for(backend_port, backend_host=HOST):
    """The project's VCL, its backend moved to ``backend_host:backend_port``."""
    text, count = BACKEND.subn(
        rf'\1"{backend_host}";\2"{backend_port}";', VCL.read_text(encoding="utf-8")
    )
    if count != 1:
        raise ServerError(f"no single 'backend default' with .host and .port in {VCL}")
    return text


class Varnish:
    """``with Varnish(backend_port) as varnish:`` varnishd answers on ``varnish.port``."""

    def __init__(self, backend_port, port=None, storage="malloc,128m", threads=None):
        self.backend_port = backend_port
        self.port = port or free_port()
        self.storage = storage
        self.threads = threads
        self.process = None
        self.folder = None

    @property
    def address(self):
        return f"{HOST}:{self.port}"

    def start(self):
        binary = varnishd_path()
        if not binary:
            raise ServerError("varnishd is not installed (make system-packages)")
        self.folder = tempfile.mkdtemp(prefix="digest-varnish-")
        os.chmod(self.folder, 0o755)  # varnishd's own users read the compiled VCL
        vcl = Path(self.folder) / "default.vcl"
        vcl.write_text(vcl_for(self.backend_port), encoding="utf-8")
        command = [
            binary,
            "-F",
            "-n", str(Path(self.folder) / "work"),
            "-a", self.address,
            "-f", str(vcl),
            "-s", self.storage,
            "-T", "none",
        ]  # fmt: skip
        if os.geteuid() != 0:
            command += ["-j", "none"]
        if self.threads:
            command += ["-p", f"thread_pool_min={self.threads}"]
        self.log = open(Path(self.folder) / "varnishd.log", "w+b")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + START_LIMIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"varnishd stopped at start:\n{self.log_tail()}")
            with socket.socket() as probe:
                if probe.connect_ex((HOST, self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"varnishd did not answer in {START_LIMIT} s:\n{self.log_tail()}")

    def log_tail(self, lines=30):
        self.log.flush()
        self.log.seek(0)
        return "\n".join(self.log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.folder:
            self.log.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
