"""A move's copy pauses while a replica of its source lags past ``max_replication_lag``,
and goes on once the replica has caught up (issue 19: copy throttled by replica lag)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

import tenantdb
from tenantdb.admin import MoveSettings, MoveStoppedError, move_status

from .conftest import PAIRS, MySqlReplica, PgReplica
from .test_read_write_splitting import wal_moving

Pair = PgReplica | MySqlReplica
T = TypeVar("T")
HANG_GUARD_S = 60.0
ROWS = 300
ORDERS = (
    "CREATE TABLE orders (id INTEGER NOT NULL, tenant_id VARCHAR(40) NOT NULL,"
    " amount INTEGER, PRIMARY KEY (tenant_id, id))"
)


def eventually(condition: Callable[[], T], what: str) -> T:
    deadline = time.monotonic() + HANG_GUARD_S
    while not (value := condition()):
        assert time.monotonic() < deadline, f"never saw {what}"  # a hang guard
        time.sleep(0.02)
    return value


@pytest.mark.parametrize("replica", PAIRS, indirect=True)
def test_the_copy_waits_for_a_lagging_replica_of_its_source(replica: Pair) -> None:
    source, target = replica.new_database(), replica.new_database()
    for db in (source, target):
        replica.query(replica.primary_url(db), ORDERS)
        serial = "bigserial" if replica.kind == "postgres" else "bigint AUTO_INCREMENT"
        replica.query(replica.primary_url(db), f"CREATE TABLE ticks (id {serial} PRIMARY KEY)")
    config: dict[str, Any] = {
        "dialect": replica.kind,
        "datasources": {
            "ds0": {
                "url": replica.primary_url(source),
                "replicas": [replica.replica_url(source)],
                "max_replication_lag": 0.5,
                "lag_check_interval": 0.05,
                "lag_cooldown": 0.1,
            },
            "ds1": {"url": replica.primary_url(target)},
        },
        "tables": {"orders": {"strategy": "tenant"}, "ticks": {"strategy": "single"}},
        "tenants": {"acme": {"datasource": "ds0"}},
    }
    with tenantdb.connect(config) as cluster:
        with cluster.session(tenant="acme") as session:
            session.executemany(
                "INSERT INTO orders (id, amount) VALUES (%s, %s)",
                [(i, i) for i in range(1, ROWS + 1)],
            )
        replica.wait_caught_up()

        def lag() -> float | None:
            entry = cluster.status()["datasources"]["ds0"]["replicas"][0]
            return entry["lag_s"] if entry["state"] != "lagging" else float("inf")

        eventually(lambda: lag() is not None and lag() <= 0.5, "the replica caught up")
        replica.pause()
        with wal_moving(replica, source):
            eventually(lambda: (lag() or 0) > 0.5, "the replica lagging")
            settings = MoveSettings(chunk_rows=50, chunk_s=None)
            handle = cluster.move_tenant("acme", "ds1", settings=settings)
            eventually(lambda: handle.progress.step == "waiting for replicas", "the copy wait")
            # Held, not failed: nothing copied while the replica lags.
            assert not handle.done()
            assert handle.progress.copied_rows == 0
            handle.stop(HANG_GUARD_S)
            with pytest.raises(MoveStoppedError):
                handle.wait(HANG_GUARD_S)
        replica.resume()
        replica.wait_caught_up()
        eventually(lambda: lag() is not None and lag() <= 0.5, "the replica caught up again")
        (stopped,) = move_status(cluster, "acme")
        assert stopped.phase == "copying"
        assert sum(t.copied_rows for t in stopped.tables) == 0
        state = cluster.move_tenant("acme", resume=True).wait(HANG_GUARD_S)
        assert state.phase == "cleaning"
        assert sum(t.copied_rows for t in state.tables) == ROWS
    moved = replica.query(
        replica.primary_url(target), "SELECT count(*) FROM orders WHERE tenant_id = 'acme'"
    )
    assert moved == [(ROWS,)]
