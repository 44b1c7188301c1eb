"""``cluster.status()`` reports each endpoint's pool: open, in use, idle, waiting callers."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fronts import Front, sync_only

from .conftest import Backend

HANG_GUARD_S = 60.0


def config(backend: Backend, url: str) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {
            "ds0": {"url": url, "pool": {"min_size": 1, "max_size": 1, "timeout": "60s"}}
        },
        "tables": {"items": {"strategy": "single", "tenant_scoped": False}},
    }


def pools(cluster: Any) -> dict[str, Any]:
    found: dict[str, Any] = cluster.status()["datasources"]["ds0"]["pools"]
    return found


def test_status_shows_a_connection_in_use_then_idle(backend: Backend, front: Front) -> None:
    with front.connect(config(backend, backend.new_database())) as cluster:
        assert pools(cluster) == {"primary": None}  # no statement yet: no pool
        with cluster.session(admin=True) as session:
            session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        # A session that changed nothing gives its connection back as it was: kept idle.
        with cluster.session() as session:
            session.execute("SELECT id FROM items").fetchall()
            held = pools(cluster)["primary"]
            assert held["in_use"] == 1
            assert held["idle"] == 0
            assert held["max_size"] == 1
            assert held["waiting"] == 0
        idle = pools(cluster)["primary"]
        assert idle["in_use"] == 0
        assert idle["idle"] == 1
        assert idle["size"] == 1


@sync_only  # one cluster used from two threads at once
def test_status_counts_a_caller_waiting_for_the_only_connection(
    backend: Backend, front: Front
) -> None:
    with front.connect(config(backend, backend.new_database())) as cluster:
        with cluster.session(admin=True) as holder:
            holder.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            done = threading.Event()

            def wait_for_connection() -> None:
                with cluster.session(admin=True) as waiter:
                    waiter.execute("SELECT id FROM items")
                done.set()

            thread = threading.Thread(target=wait_for_connection, daemon=True)
            thread.start()
            pause = threading.Event()
            for _ in range(int(HANG_GUARD_S / 0.01)):
                if pools(cluster)["primary"]["waiting"] == 1:
                    break
                pause.wait(0.01)
            assert pools(cluster)["primary"]["waiting"] == 1
            assert not done.is_set()
        thread.join(HANG_GUARD_S)
        assert done.is_set()
        assert pools(cluster)["primary"]["waiting"] == 0


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_replica_pools_are_listed_by_replica_name(backend: Backend, front: Front) -> None:
    url = backend.new_database()
    document = config(backend, url)
    document["datasources"]["ds0"]["replicas"] = [url]
    with front.connect(document) as cluster:
        assert pools(cluster) == {"primary": None, "ds0/replica0": None}
