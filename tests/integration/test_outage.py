"""A primary cut mid-workload, through a TCP proxy the test controls (``tests/proxy.py``).

Eight workers write rows with unique ids, each in a session of its own, on two datasources:
ds0 reached through the proxy, ds1 directly. The test cuts the proxy while they write,
lets the breaker open, heals it and lets traffic resume. Then, read from the databases:

- every write tenantdb reported committed is there;
- every write that is missing raised an error (the workers keep both lists);
- nothing is there twice or unasked (ids are unique and tenantdb never retries a write);
- ds1's writers never saw an error: one datasource's outage stays its own;
- while ds0's breaker was open its writes failed with CircuitOpenError, sending nothing.

Latencies (fail-fast p99, resumption time) are figures, printed by
``benchmarks/resilience.py``; this test asserts only what must always hold. Waits poll
state under a hang guard.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from proxy import TcpProxy
from tenantdb import CircuitOpenError, Error

from .conftest import Backend

HANG_GUARD_S = 60.0
WORKERS = 8


@pytest.fixture
def pg(postgres_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("postgres", postgres_server, _database_names)


class Workload:
    """``WORKERS`` threads inserting rows for tenants ``t0`` (on ds0) and ``t1`` (on ds1)."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.ids = itertools.count(1)
        self.lock = threading.Lock()
        self.acked: dict[str, set[int]] = {"t0": set(), "t1": set()}
        self.failed: dict[str, list[tuple[int, BaseException]]] = {"t0": [], "t1": []}
        self.unexpected: list[tuple[int, BaseException]] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(f"t{n % 2}",), daemon=True)
            for n in range(WORKERS)
        ]

    def _run(self, tenant: str) -> None:
        while not self.stop.is_set():
            with self.lock:
                row = next(self.ids)
            try:
                with self.cluster.session(tenant=tenant) as session:
                    session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (row, 1))
            except Error as exc:
                with self.lock:
                    self.failed[tenant].append((row, exc))
                self.stop.wait(0.002)  # a client's pause before its next request
            except Exception as exc:  # not a tenantdb error: a bug, reported by the test
                with self.lock:
                    self.unexpected.append((row, exc))
                return
            else:
                with self.lock:
                    self.acked[tenant].add(row)

    def counts(self, tenant: str) -> tuple[int, int]:
        with self.lock:
            return len(self.acked[tenant]), len(self.failed[tenant])

    def wait(self, condition: Any, what: str) -> None:
        pause = threading.Event()
        for _ in range(int(HANG_GUARD_S / 0.01)):
            if condition():
                return
            pause.wait(0.01)
        raise AssertionError(f"never: {what}")


def test_a_primary_cut_mid_workload_loses_no_acknowledged_write(pg: Backend) -> None:
    direct, proxied_db = pg.new_databases(2)
    host, port = proxied_db.split("@", 1)[1].split("/", 1)[0].split(":")
    with TcpProxy(host, int(port)) as proxy:
        config = {
            "dialect": "postgres",
            "datasources": {
                "ds0": {
                    "url": proxy.url_for(proxied_db),
                    "pool": {"min_size": 0, "max_size": 8, "timeout": "2s"},
                    "breaker": {"window_size": 20, "minimum_calls": 5, "open_wait": "300ms"},
                },
                "ds1": {"url": direct, "pool": {"min_size": 0, "max_size": 8}},
            },
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"t0": {"datasource": "ds0"}, "t1": {"datasource": "ds1"}},
        }
        cluster = tenantdb.connect(config)
        try:
            with cluster.session(admin=True) as admin:
                admin.execute(
                    "CREATE TABLE orders (id INTEGER PRIMARY KEY,"
                    " tenant_id VARCHAR(64) NOT NULL, amount INTEGER)"
                )
            work = Workload(cluster)
            for thread in work.threads:
                thread.start()
            work.wait(lambda: work.counts("t0")[0] >= 50, "50 writes on ds0 before the cut")
            proxy.cut()
            work.wait(
                lambda: any(isinstance(e, CircuitOpenError) for _, e in work.failed["t0"]),
                "ds0's breaker opened and refused a write",
            )
            proxy.heal()
            acked_at_heal = work.counts("t0")[0]
            work.wait(lambda: work.counts("t0")[0] >= acked_at_heal + 50, "ds0 writes resume")
            work.stop.set()
            for thread in work.threads:
                thread.join(HANG_GUARD_S)
            assert not any(thread.is_alive() for thread in work.threads)
        finally:
            cluster.close()

    assert work.unexpected == []  # every failure was a tenantdb error
    for tenant, url in (("t0", proxied_db), ("t1", direct)):
        rows = [
            row for (row,) in pg.query(url, "SELECT id FROM orders WHERE tenant_id = %s", (tenant,))
        ]
        stored = set(rows)
        assert len(rows) == len(stored)  # nothing written twice
        acked = work.acked[tenant]
        failed = {row for row, _ in work.failed[tenant]}
        assert acked <= stored, f"{len(acked - stored)} acknowledged writes of {tenant} lost"
        # A write not acknowledged raised; one that raised may still have committed (the
        # connection broke after the server committed, before the answer came back).
        assert stored <= acked | failed, "rows nobody wrote"
        assert not acked & failed
    assert work.failed["t1"] == []  # ds1 never noticed ds0's outage
    assert work.acked["t1"]
    refused = [e for _, e in work.failed["t0"] if isinstance(e, CircuitOpenError)]
    assert refused
    assert all(e.datasource == "ds0" for e in refused)
    # What the breaker refused never reached the server.
    refused_rows = {row for row, e in work.failed["t0"] if isinstance(e, CircuitOpenError)}
    stored = {row for (row,) in pg.query(proxied_db, "SELECT id FROM orders")}
    assert not refused_rows & stored
