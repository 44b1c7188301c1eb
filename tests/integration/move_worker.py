"""A mover that is killed: runs ``start_move`` (or ``resume_move``) and SIGKILLs its own
process at the ``n``-th time the move reports ``step`` (test_move_resume.py).

    python move_worker.py CONFIG_FILE TENANT TARGET STEP N

A step of the cleanup (``CLEANUP_STEPS``) runs the cleanup after the cut-over, once the
file the environment's ``TENANTDB_CLEANUP_GATE`` names exists (the test creates it when its
own process routes the tenant to the target, as an operator waits for every process).
Exits 0 if the move ran to its end without reaching the step; never returns otherwise.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import tenantdb
from tenantdb.admin import cleanup_move, start_move
from tenantdb.core.moves import MoveState

HANG_GUARD_S = 60.0
CLEANUP_STEPS = ("source rows deleted", "phase unfencing", "phase done")


def main(path: str, tenant: str, target: str, step: str, n: int) -> None:
    seen = 0

    def kill_at(name: str, state: MoveState) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == n:
                os.kill(os.getpid(), signal.SIGKILL)

    with tenantdb.connect(path) as cluster:
        start_move(cluster, tenant, target, on_step=kill_at)
        if step in CLEANUP_STEPS:
            gate = Path(os.environ["TENANTDB_CLEANUP_GATE"])
            deadline = time.monotonic() + HANG_GUARD_S
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            cleanup_move(cluster, tenant, force=True, on_step=kill_at)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
