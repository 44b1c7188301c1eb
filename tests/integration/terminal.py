"""``run_on_a_terminal``: run the ``tenantdb`` command line on a pseudo-terminal, as a user
at a terminal would, and collect what it drew."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

CLI = "import sys; from tenantdb.cli import main; sys.argv[0] = 'tenantdb'; main()"
# Variables that make rich decide "terminal or not" without looking at the file.
_DECIDING = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")


def run_on_a_terminal(args: list[str], *, timeout_s: float = 120.0) -> str:
    """Run ``tenantdb ARGS`` with stdout and stderr on one pseudo-terminal (100 columns,
    UTF-8) and return everything it wrote; fail when it exits with a status other than 0.
    ``timeout_s`` is a hang guard."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in _DECIDING}
    env.update(TERM="xterm-256color", COLUMNS="100", PYTHONIOENCODING="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the last writer to the terminal has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        output = b"".join(chunks).decode("utf-8", errors="replace")
        assert process.wait(timeout=30) == 0, output
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return output
