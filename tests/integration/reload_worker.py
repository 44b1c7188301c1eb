"""One application process for test_config_reload: runs statements on two threads while its
configuration file is rewritten, and reports what it saw as one JSON line on stdout.

    python reload_worker.py CONFIG_FILE TENANT

Prints ``ready`` once statements have run on both threads, then keeps running them until
``cluster.status()`` shows generation 2 (the reload), runs a few statements that only the
new topology routes (a tenant table that was not in the old document), and prints
``{"ok", "failed", "errors", "generation", "max_size"}``. Gives up after 60 s without the
reload (a hang guard; it then reports what it has).
"""

from __future__ import annotations

import json
import sys
import threading
import traceback

import tenantdb

HANG_GUARD_S = 60.0
AFTER_RELOAD = 20  # statements each thread runs once it has seen the new generation


def main(path: str, tenant: str) -> None:
    cluster = tenantdb.connect(path, watch=True)
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0}
    errors: list[str] = []
    started = threading.Barrier(3)
    give_up = threading.Event()

    def work(thread: int) -> None:
        after = 0
        first = True
        key = thread * 1_000_000
        while after < AFTER_RELOAD and not give_up.is_set():
            key += 1
            reloaded = cluster.status()["config"]["generation"] >= 2
            try:
                with cluster.session(tenant=tenant) as session:
                    session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (key, 1))
                    session.execute("SELECT count(*) FROM orders").fetchall()
                    if reloaded:
                        # Only the new document declares refunds a tenant table: the tenant
                        # column (NOT NULL) is filled in by the new topology alone.
                        session.execute("INSERT INTO refunds (id) VALUES (%s)", (key,))
                with lock:
                    counts["ok"] += 1
            except tenantdb.Error as exc:
                with lock:
                    counts["failed"] += 1
                    errors.append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            if reloaded:
                after += 1
            if first:
                first = False
                started.wait(HANG_GUARD_S)

    threads = [threading.Thread(target=work, args=(i + 1,), daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    started.wait(HANG_GUARD_S)
    print("ready", flush=True)
    for thread in threads:
        thread.join(HANG_GUARD_S)
    give_up.set()
    status = cluster.status()
    print(
        json.dumps(
            {
                **counts,
                "errors": errors[:5],
                "generation": status["config"]["generation"],
                "max_size": status["datasources"]["ds0"]["pools"]["primary"]["max_size"],
            }
        ),
        flush=True,
    )
    cluster.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
