"""A mover that is killed: runs ``start_move`` and SIGKILLs its own process at the
``n``-th time the move reports ``step`` (test_move_resume.py, test_move_isolations.py).

    python move_worker.py CONFIG_FILE TENANT TARGET STEP N [SCHEMA]

``SCHEMA``: the target schema of a schema-isolated tenant (``start_move(schema=...)``).
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
from tenantdb.admin import MoveSettings, cleanup_move, resume_move, start_move
from tenantdb.core.moves import MoveState

HANG_GUARD_S = 60.0
CLEANUP_STEPS = ("source rows deleted", "phase unfencing", "phase done")


def main(path: str, tenant: str, target: str, step: str, n: int, schema: str | None) -> None:
    seen = 0

    # TENANTDB_TEST_KILL_BY: a step where the mover dies anyway if it has not reached its
    # point yet (so it never runs past it).
    by = os.environ.get("TENANTDB_TEST_KILL_BY")

    def kill_at(name: str, state: MoveState) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == n:
                os.kill(os.getpid(), signal.SIGKILL)
        if name == by:
            os.kill(os.getpid(), signal.SIGKILL)

    # TENANTDB_TEST_RESUME=1: run the tenant's unfinished move on instead of starting one;
    # TENANTDB_TEST_CHUNK_ROWS: fixed chunks of that many rows (many chunks to kill in).
    chunk_rows = os.environ.get("TENANTDB_TEST_CHUNK_ROWS")
    settings = MoveSettings(chunk_rows=int(chunk_rows), chunk_s=None) if chunk_rows else None
    with tenantdb.connect(path) as cluster:
        if os.environ.get("TENANTDB_TEST_RESUME") == "1":
            resume_move(cluster, tenant, settings=settings or MoveSettings(), on_step=kill_at)
        else:
            chosen = settings or MoveSettings()
            start_move(cluster, tenant, target, schema=schema, settings=chosen, on_step=kill_at)
        if step in CLEANUP_STEPS:
            gate = Path(os.environ["TENANTDB_CLEANUP_GATE"])
            deadline = time.monotonic() + HANG_GUARD_S
            while not gate.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            cleanup_move(cluster, tenant, force=True, on_step=kill_at)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], args[2], args[3], int(args[4]), args[5] if len(args) > 5 else None)
