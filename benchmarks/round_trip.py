"""What the round-trip check costs on a cold statement: parse + route of a new tenant
SELECT (one tenantdb regenerates, so the check runs) with the check and with it switched
off, alternating in one run. Templates are cached, so only the first use of a SQL text pays.

Run with ``.venv/bin/python benchmarks/round_trip.py``; no database is needed.
"""

from __future__ import annotations

import itertools
import statistics
import time
from typing import Any

import tenantdb
from tenantdb.core.sql import _template

CONFIG = {
    "dialect": "postgres",
    "datasources": {"ds0": {"url": "postgresql://u@h/d"}},
    "tables": {"orders": {"strategy": "tenant"}, "items": {"strategy": "tenant"}},
    "tenants": {"a": {"datasource": "ds0"}},
}
_fresh = itertools.count()


def cold_ms(cluster: Any, n: int) -> float:
    """Median ms of explain() on ``n`` SQL texts never seen before."""
    samples = []
    for _ in range(n):
        column = f"c{next(_fresh)}"  # a new text each time: no template cache hit
        sql = (
            "SELECT o.id, i.sku FROM orders o JOIN items i ON i.order_id = o.id "
            f"WHERE o.{column} > 5 AND length(o.note) > 3 ORDER BY o.id LIMIT 10"
        )
        start = time.perf_counter()
        cluster.explain(sql, tenant="a")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    cluster = tenantdb.connect(CONFIG)
    check = _template.check_round_trip
    with_check, without = [], []
    for _ in range(5):
        _template.check_round_trip = check
        with_check.append(cold_ms(cluster, 200))
        _template.check_round_trip = lambda tree, dialect: None
        without.append(cold_ms(cluster, 200))
    _template.check_round_trip = check
    w, wo = statistics.median(with_check), statistics.median(without)
    print(
        f"cold parse + route of a new tenant SELECT: with the round-trip check {w:.2f} ms, "
        f"without {wo:.2f} ms, ratio {w / wo:.2f} (+{w - wo:.2f} ms, once per SQL text)"
    )


if __name__ == "__main__":
    main()
