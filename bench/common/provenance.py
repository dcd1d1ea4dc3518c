"""Where and what a benchmark measured: the machine, the code, the command.

Every report starts with these, so that a figure can be read against the
machine it came from and the code it measured, and the run can be repeated.
"""

import contextlib
import hashlib
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
# The site's code, for the fingerprint: not the benchmarks, their reports or the tests.
SITE_PATHSPEC = [".", ":!bench", ":!docs", ":!tests"]


def first_line_with(path, prefix):
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":" if ":" in line else "=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "unknown"


def machine():
    mem_kb = first_line_with("/proc/meminfo", "MemTotal").split()[0]
    return {
        "cpu": first_line_with("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem_kb) / 1024 / 1024, 1) if mem_kb.isdigit() else None,
        "os": first_line_with("/etc/os-release", "PRETTY_NAME"),
        "kernel": platform.release(),
    }


def relative_command(command):
    """A command line as typed from the project folder (no absolute venv path)."""
    # A path inside the folder, not one that only starts with the same letters
    # (/tmp/ci-soak.md beside a clone in /tmp/ci).
    parts = [
        str(Path(p).relative_to(BASE_DIR)) if Path(p).is_relative_to(BASE_DIR) else p
        for p in command
    ]
    return shlex.join(parts)


def run_command(module, argv):
    """How this run was started: ``python -m module`` and its arguments (under
    ``-m``, ``argv[0]`` is the module's file, which cannot be run by path)."""
    return relative_command([sys.executable, "-m", module, *argv[1:]])


def git(*arguments):
    result = subprocess.run(["git", *arguments], cwd=BASE_DIR, capture_output=True)
    return result.stdout if result.returncode == 0 else b""


def code_version():
    """Which code was measured: the commit, the files that differ from it, and
    a fingerprint of those differences. Other engineers edit the site while a
    run goes on; taken before each database's run, the fingerprint shows when
    the two databases did not run the same code."""
    changed = git("status", "--porcelain", "--", *SITE_PATHSPEC).decode().splitlines()
    digest = hashlib.sha256(git("diff", "HEAD", "--binary", "--", *SITE_PATHSPEC))
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", "--", *SITE_PATHSPEC)
    for name in sorted(filter(None, untracked.split(b"\0"))):
        digest.update(name)
        with contextlib.suppress(OSError):
            digest.update((BASE_DIR / name.decode()).read_bytes())
    return {
        "commit": git("rev-parse", "HEAD").decode().strip() or "unknown",
        "changed_files": len(changed),
        "fingerprint": digest.hexdigest()[:12],
    }
