"""A mover that is killed: runs ``start_move`` (or ``resume_move``) and SIGKILLs its own
process at the ``n``-th time the move reports ``step`` (test_move_resume.py).

    python move_worker.py CONFIG_FILE TENANT TARGET STEP N

Exits 0 if the move ran to its cut-over without reaching the step; never returns
otherwise.
"""

from __future__ import annotations

import os
import signal
import sys

import tenantdb
from tenantdb.admin import start_move
from tenantdb.core.moves import MoveState


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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
