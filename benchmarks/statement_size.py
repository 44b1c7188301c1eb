"""Statement size: parse + route time of large statements, and how it grows.

Run with ``.venv/bin/python benchmarks/statement_size.py``. For each shape it prints the
time of one cold parse + route (a tenant session on a ``tenant`` table, so the statement
is also confined and rendered) at three sizes, and the ratio between the two largest: a
tenfold size should cost about ten times as much if the work is linear (issue 13, item
10: quadratic rendering made 8,000 parameters take 4.4 s and 100,000 never finish).
The limit is raised to 64 MiB here so the largest sizes can be measured at all; the
default ``max_statement_bytes`` (1 MiB) refuses them before parsing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

import tenantdb

CONFIG = {
    "dialect": "postgres",
    "max_statement_bytes": 64 * 1024 * 1024,
    "datasources": {"ds0": {"url": "postgresql://app@db0/app"}},
    "tables": {"orders": {"strategy": "tenant"}},
    "tenants": {"acme": {"datasource": "ds0"}},
}


def param_in_list(n: int) -> tuple[str, tuple[object, ...]]:
    return "SELECT id FROM orders WHERE id IN (" + ", ".join(["%s"] * n) + ")", tuple(range(n))


def literal_in_list(n: int) -> tuple[str, tuple[object, ...]]:
    return "SELECT id FROM orders WHERE id IN (" + ", ".join(map(str, range(n))) + ")", ()


def long_literal(n: int) -> tuple[str, tuple[object, ...]]:
    return "SELECT id FROM orders WHERE note = '" + "x" * n + "'", ()


def measure(shape: Callable[[int], tuple[str, tuple[object, ...]]], n: int) -> float:
    cluster = tenantdb.connect(CONFIG)  # a fresh template cache: every run parses
    tenant = cluster.tenants.get("acme")
    sql, params = shape(n)
    gc.collect()
    start = time.perf_counter()
    cluster.router.route(sql, params, tenant=tenant)
    return time.perf_counter() - start


def main() -> None:
    shapes: list[tuple[str, Callable[[int], tuple[str, tuple[object, ...]]], list[int]]] = [
        ("IN list of %s parameters", param_in_list, [1_000, 10_000, 100_000]),
        ("IN list of integer literals", literal_in_list, [1_000, 10_000, 100_000]),
        ("one string literal (characters)", long_literal, [100_000, 1_000_000, 10_000_000]),
    ]
    print("Cold parse + route in a tenant session (one run each, seconds):")
    for name, shape, sizes in shapes:
        times = [measure(shape, n) for n in sizes]
        cells = "  ".join(f"{n:>10,}: {t:7.3f}" for n, t in zip(sizes, times, strict=True))
        ratio = times[2] / times[1] if times[1] > 0 else float("inf")
        print(f"  {name:<34} {cells}   x10 size -> x{ratio:.1f} time")


if __name__ == "__main__":
    main()
