"""A mover that is killed: runs ``start_move`` and SIGKILLs its own process at the
``n``-th time the move reports ``step`` (test_move_resume.py, test_move_isolations.py).

    python move_worker.py CONFIG_FILE TENANT TARGET STEP N [SCHEMA]

``SCHEMA``: the target schema of a schema-isolated tenant (``start_move(schema=...)``).
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


def main(path: str, tenant: str, target: str, step: str, n: int, schema: str | None) -> None:
    seen = 0

    def kill_at(name: str, state: MoveState) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == n:
                os.kill(os.getpid(), signal.SIGKILL)

    with tenantdb.connect(path) as cluster:
        start_move(cluster, tenant, target, schema=schema, on_step=kill_at)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], args[2], args[3], int(args[4]), args[5] if len(args) > 5 else None)
