"""Routing cost: cached statements, cold parses, and start-up with 10,000 physical tables.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/routing.py``). Prints medians
over repeated batches; the machine may be shared, so compare figures from one run only.
Targets (issue 2): a cached single-shard route at most 5 µs median; building a topology
with 10,000 physical tables and routing the first statement at most 1 s.
"""

from __future__ import annotations

import datetime
import sqlite3
import statistics
import time
from collections.abc import Callable

import tenantdb
from tenantdb.core.sql import parse_template

TODAY = datetime.date(2026, 11, 21)

CONFIG = {
    "dialect": "postgres",
    "datasources": {f"ds{i}": {"url": f"postgresql://app@db{i}/app"} for i in range(4)},
    "tables": {
        "orders": {"strategy": "tenant"},
        "users": {"strategy": "hash_mod", "key": "user_id", "shards": 16, "tenant_scoped": False},
        "accounts": {"strategy": "mod", "key": "account_id", "shards": 8, "tenant_scoped": False},
    },
    "tenants": {"acme": {"datasource": "ds1"}},
}


def per_call_ns(fn: Callable[[int], object], *, batch: int = 2000, repeats: int = 40) -> float:
    """Median nanoseconds per call over ``repeats`` batches of ``batch`` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for i in range(batch):
            fn(i)
        samples.append((time.perf_counter_ns() - start) / batch)
    return statistics.median(samples)


def cached_routing() -> None:
    cluster = tenantdb.connect(CONFIG, today=lambda: TODAY)
    route = cluster.router.route
    acme = cluster.tenants.get("acme")
    point = "SELECT id, name FROM users WHERE user_id = %s"
    by_tenant = "SELECT id, total FROM orders WHERE id = %s"
    in_list = "SELECT id FROM accounts WHERE account_id IN (%s, %s)"

    raw = sqlite3.connect(":memory:")
    raw.execute("CREATE TABLE users (user_id INTEGER PRIMARY KEY, name TEXT)")
    raw.executemany("INSERT INTO users VALUES (?, ?)", [(i, f"u{i}") for i in range(2000)])
    raw_point = "SELECT user_id, name FROM users WHERE user_id = ?"

    figures = {
        "route: hash_mod point (cached)": per_call_ns(lambda i: route(point, (i,))),
        "route: tenant table point (cached)": per_call_ns(
            lambda i: route(by_tenant, (i,), tenant=acme)
        ),
        "route: mod IN list, 2 shards (cached)": per_call_ns(
            lambda i: route(in_list, (i, i + 1)), batch=500
        ),
        "cold parse + route (new text each time)": per_call_ns(
            lambda i: cluster.router.route(
                parse_template(f"{point} AND {i} = {i}", "postgres"), (i,)
            ),
            batch=50,
            repeats=10,
        ),
        "raw sqlite3 point SELECT in memory (execute + fetchall)": per_call_ns(
            lambda i: raw.execute(raw_point, (i,)).fetchall()
        ),
    }
    base = figures["route: hash_mod point (cached)"]
    raw_cost = figures["raw sqlite3 point SELECT in memory (execute + fetchall)"]
    print("Routing cost per statement (median of batches):")
    for name, ns in figures.items():
        print(f"  {name:<58} {ns / 1000:8.2f} µs   {ns / base:6.1f}x cached point route")
    print(
        f"  cached point route / raw sqlite3 in-memory point query: {base / raw_cost:.2f}"
        f"   target: cached route <= 5 µs median -> {'MET' if base <= 5000 else 'NOT MET'}"
    )


def large_topology() -> None:
    config = {
        "dialect": "postgres",
        "datasources": {f"ds{i}": {"url": f"postgresql://app@db{i}/app"} for i in range(8)},
        "tables": {
            "events": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": "day",
                "start": "2000-01-01",
                "pre_create": 7,
                "tenant_scoped": False,
            },
            "clicks": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 512,
                "tenant_scoped": False,
            },
        },
    }
    start = time.perf_counter()
    cluster = tenantdb.connect(config, today=lambda: TODAY)
    plan = cluster.explain(
        "SELECT * FROM events WHERE created_at = %s", [datetime.date(2026, 11, 20)]
    )
    elapsed = time.perf_counter() - start
    tables = cluster.topology.physical_table_count()
    scan_start = time.perf_counter()
    scan = cluster.explain("SELECT COUNT(*) FROM events")
    scan_elapsed = time.perf_counter() - scan_start
    print(
        f"Start-up with {tables} physical tables: connect + first route "
        f"{elapsed * 1000:.1f} ms (target <= 1000 ms -> {'MET' if elapsed <= 1 else 'NOT MET'}); "
        f"first target {plan.targets[0].tables['events']} on {plan.targets[0].datasource}"
    )
    print(
        f"  routing a scan over all {len(scan.targets)} daily tables: {scan_elapsed * 1000:.1f} ms"
    )


if __name__ == "__main__":
    cached_routing()
    large_topology()
