"""What the resilience guards cost on a point read: rate limit + concurrency quota + breaker.

Run with ``.venv/bin/python benchmarks/limits.py`` (``make bench-more`` runs it). Two
clusters over the same SQLite file (SQLite: the cheapest statement, so the guards' share
shows most), one tenant each, measured alternately batch by batch in one run:

- ``bare``: no limits and breakers disabled (the statement skips every guard);
- ``guarded``: a rate limit far above the load (requests_per_second 10**9), a concurrency
  quota (max_concurrent 64, per datasource 64) and the default breaker, so every check
  runs and none refuses.

Prints the medians and the difference, against issue 17's target: at most 1 µs added. With
``--redis`` a third cluster shares its rate limit through Redis on 127.0.0.1:6379 (one
round trip per statement, reported as its own row, not held to the 1 µs target).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import tempfile
from typing import Any

import tenantdb
from execution import per_call_us

ROWS = 1_000
TARGET_US = 1.0


def cluster_config(path: str, **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "dialect": "sqlite",
        "datasources": {"ds0": {"url": f"sqlite:///{path}"}},
        "tables": {"items": {"strategy": "tenant"}},
        "tenants": {"t": {"datasource": "ds0"}},
    }
    return {**document, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", action="store_true", help="also measure the Redis limiter")
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="tenantdb-bench-limits-")
    path = f"{directory}/limits.db"
    try:
        bare_doc = cluster_config(path)
        bare_doc["datasources"]["ds0"]["breaker"] = {"enabled": False}
        limits = {
            "requests_per_second": 1e9,
            "burst": 1_000_000,
            "max_concurrent": 64,
            "max_concurrent_per_datasource": 64,
        }
        guarded_doc = cluster_config(path)
        guarded_doc["tenants"]["t"]["limits"] = limits
        bare = tenantdb.connect(bare_doc)
        guarded = tenantdb.connect(guarded_doc)
        with bare.session(admin=True) as admin:
            admin.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id TEXT, name TEXT)")
            admin.execute("CREATE INDEX items_tenant ON items (tenant_id)")
        with bare.session(tenant="t") as session:
            session.executemany(
                "INSERT INTO items (id, name) VALUES (%s, %s)",
                [(i, f"item {i}") for i in range(ROWS)],
            )
        sql = "SELECT id, name FROM items WHERE id = %s"
        sessions = {
            "bare": bare.session(tenant="t"),
            "guarded": guarded.session(tenant="t"),
        }
        if args.redis:
            # A tenant of its own, so reruns never share a Redis key with an earlier run.
            tenant = f"bench{secrets.token_hex(4)}"
            redis_doc = cluster_config(path, limits={"redis_url": "redis://127.0.0.1:6379/0"})
            redis_doc["tenants"] = {tenant: {"datasource": "ds0", "limits": limits}}
            redis_cluster = tenantdb.connect(redis_doc)
            sessions["redis"] = redis_cluster.session(tenant=tenant)

        def reader(session: Any) -> Any:
            return lambda i: session.execute(sql, (i % ROWS,)).fetchall()

        readers = {name: reader(session) for name, session in sessions.items()}
        for read in readers.values():
            per_call_us(read, batch=500, repeats=1)
        samples: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.repeats):
            for name, read in readers.items():
                samples[name] += per_call_us(read, batch=2_000, repeats=1)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        added = medians["guarded"] - medians["bare"]
        print(
            f"point SELECT, SQLite, tenant session: bare {medians['bare']:.2f} µs, "
            f"guarded {medians['guarded']:.2f} µs, added {added:+.2f} µs "
            f"(target <= {TARGET_US:g} µs: {'MET' if added <= TARGET_US else 'NOT MET'}); "
            f"{args.repeats} alternating batches of 2,000"
        )
        if "redis" in medians:
            print(
                f"  with the rate limit shared through Redis: {medians['redis']:.2f} µs "
                f"({medians['redis'] - medians['bare']:+.2f} µs: one EVALSHA round trip)"
            )
        for session in sessions.values():
            session.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
