"""Hot topology reload on PostgreSQL: a hot-safe change reaches every process while they run
statements, and none fails; a refused or malformed document leaves the last good topology
serving and says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front

from .conftest import Backend

pytestmark = pytest.mark.postgres

HANG_GUARD_S = 60.0
WORKER = Path(__file__).with_name("reload_worker.py")
TENANTS = ("t1", "t2", "t3", "t4")


@pytest.fixture
def pg(postgres_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("postgres", postgres_server, _database_names)


def _toml(url: str, *, max_size: int = 4, extra: str = "") -> str:
    tenants = "".join(f'[tenants.{t}]\ndatasource = "ds0"\n' for t in TENANTS)
    return (
        'dialect = "postgres"\n'
        f'[datasources.ds0]\nurl = "{url}"\n'
        f'pool = {{ min_size = 1, max_size = {max_size}, timeout = "30s" }}\n'
        '[tables.orders]\nstrategy = "tenant"\n'
        '[tables.events]\nstrategy = "hash_mod"\nkey = "id"\nshards = 2\n'
        'datasources = ["ds0"]\n'
        f"{extra}{tenants}"
    )


def _write(path: Path, text: str) -> None:
    """Replace the file in one step, as deployment tools do (a reader never sees half)."""
    draft = path.with_suffix(".draft")
    draft.write_text(text, encoding="utf-8")
    os.replace(draft, path)


def _create_tables(url: str) -> None:
    with (
        tenantdb.connect({"dialect": "postgres", "datasources": {"ds0": {"url": url}}}) as cluster,
        cluster.session(admin=True) as admin,
    ):
        admin.execute(
            "CREATE TABLE orders (tenant_id TEXT NOT NULL, id BIGINT, amount INT,"
            " PRIMARY KEY (tenant_id, id))"
        )
        admin.execute(
            "CREATE TABLE refunds (tenant_id TEXT NOT NULL, id BIGINT, PRIMARY KEY (tenant_id, id))"
        )
        for shard in (0, 1):
            admin.execute(f"CREATE TABLE events_{shard} (id BIGINT PRIMARY KEY, tenant_id TEXT)")


def _wait_for(predicate: Any) -> bool:
    pause = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.02)):
        if predicate():
            return True
        pause.wait(0.02)
    return bool(predicate())


def test_four_processes_take_a_hot_change_while_running_statements(
    pg: Backend, tmp_path: Path
) -> None:
    url = pg.new_database()
    _create_tables(url)
    path = tmp_path / "tenantdb.toml"
    _write(path, _toml(url))
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(path), tenant],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tenant in TENANTS
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            line = worker.stdout.readline()  # each worker prints "ready" or dies
            assert line == "ready\n", worker.stderr.read() if worker.stderr else line
        # A new tenant table and a bigger pool: both hot-safe.
        _write(path, _toml(url, max_size=6, extra='[tables.refunds]\nstrategy = "tenant"\n'))
        reports = []
        for worker in workers:
            out, err = worker.communicate(timeout=2 * HANG_GUARD_S)
            assert worker.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for report in reports:
        assert report["failed"] == 0, report["errors"]
        assert report["generation"] == 2
        assert report["max_size"] == 6
        assert report["ok"] > 0
    counts = dict(pg.query(url, "SELECT tenant_id, count(*) FROM refunds GROUP BY tenant_id"))
    assert counts == dict.fromkeys(TENANTS, 40)  # 2 threads x 20 statements after the reload


def test_a_change_that_would_move_rows_is_refused_and_the_old_topology_serves(
    pg: Backend, tmp_path: Path
) -> None:
    url = pg.new_database()
    _create_tables(url)
    path = tmp_path / "tenantdb.toml"
    _write(path, _toml(url))
    with tenantdb.connect(path, watch=True, watch_poll_interval=0.05) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute("INSERT INTO events (id) VALUES (%s)", (3,))
        _write(path, _toml(url).replace("shards = 2", "shards = 4"))
        assert _wait_for(lambda: cluster.status()["config"]["last_refused"] is not None)
        state = cluster.status()["config"]
        assert state["generation"] == 1
        [problem] = state["last_refused"]["problems"]
        assert problem["path"] == "tables.events.shards"
        assert "reshard" in problem["message"]
        # Still routed by two shards: key 3 lives in events_1.
        with cluster.session(admin=True) as admin:
            result = admin.execute("SELECT id FROM events WHERE id = %s", (3,))
            assert result.fetchall() == [(3,)]
            assert [t.tables["events"] for t in result.targets] == ["events_1"]
        with pytest.raises(tenantdb.ConfigError, match=r"tables\.events\.shards: .*reshard"):
            cluster.reload()


def test_a_malformed_document_is_refused_then_a_good_one_is_taken(
    pg: Backend, tmp_path: Path
) -> None:
    url = pg.new_database()
    _create_tables(url)
    path = tmp_path / "tenantdb.toml"
    _write(path, _toml(url))
    with tenantdb.connect(path, watch=True, watch_poll_interval=0.05) as cluster:
        _write(path, _toml(url) + '[tables.orders.oops]\nstrategy = "tenant"\n')
        assert _wait_for(lambda: cluster.status()["config"]["last_refused"] is not None)
        [problem] = cluster.status()["config"]["last_refused"]["problems"]
        assert problem["path"] == "tables.orders.oops"
        assert cluster.status()["config"]["generation"] == 1
        with cluster.session(tenant="t1") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 5)")
        _write(path, _toml(url, extra='[tables.refunds]\nstrategy = "tenant"\n'))
        assert _wait_for(lambda: cluster.status()["config"]["generation"] == 2)
        assert cluster.status()["config"]["last_refused"] is None
        with cluster.session(tenant="t1") as session:
            session.execute("INSERT INTO refunds (id) VALUES (1)")
        assert pg.query(url, "SELECT tenant_id FROM refunds") == [("t1",)]


def test_reload_on_both_fronts_reaches_open_sessions_and_resizes_open_pools(
    pg: Backend, front: Front
) -> None:
    url, other = pg.new_databases(2)
    _create_tables(url)
    base = {
        "dialect": "postgres",
        "datasources": {"ds0": {"url": url, "pool": {"min_size": 1, "max_size": 2}}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"t1": {"datasource": "ds0", "limits": {"max_concurrent": 5}}},
    }
    with front.connect(base) as cluster:
        session = cluster.session(tenant="t1")
        session.execute("INSERT INTO orders (id, amount) VALUES (1, 1)")
        new = {
            **base,
            "datasources": {
                "ds0": {"url": url, "pool": {"min_size": 1, "max_size": 5}},
                "ds1": {"url": other},
            },
            "tables": {**base["tables"], "refunds": {"strategy": "tenant"}},
            "tenants": {"t1": {"datasource": "ds0", "limits": {"max_concurrent": 7}}},
        }
        diff = cluster.reload(new)
        assert [c.path for c in diff.changes] == [
            "datasources.ds0.pool.max_size",
            "datasources.ds1",
            "tables.refunds",
            "tenants.t1.limits.max_concurrent",
        ]
        # The session opened before the reload routes with the new topology.
        session.execute("INSERT INTO refunds (id) VALUES (7)")
        session.close()
        status = cluster.status()
        assert status["config"]["generation"] == 2
        assert status["datasources"]["ds0"]["pools"]["primary"]["max_size"] == 5
        assert status["datasources"]["ds1"]["pools"] == {"primary": None}  # opens on use
        assert cluster.tenants.get("t1").limits.max_concurrent == 7
        assert pg.query(url, "SELECT tenant_id, id FROM refunds") == [("t1", 7)]
        # A new connect timeout replaces the pool: a session holding a connection of the
        # old one gives it back there, and the old pool closes it.
        holder = cluster.session(tenant="t1")
        holder.execute("SELECT count(*) FROM orders").fetchall()
        new["datasources"]["ds0"]["pool"]["connect_timeout"] = 5
        cluster.reload(new)
        assert cluster.status()["datasources"]["ds0"]["pools"]["primary"] is None
        holder.execute("SELECT count(*) FROM refunds").fetchall()  # its own connection
        holder.close()
        with cluster.session(tenant="t1") as session:
            assert session.execute("SELECT count(*) FROM orders").fetchall() == [(1,)]
        assert cluster.status()["datasources"]["ds0"]["pools"]["primary"]["in_use"] == 0
        # A document that would move rows changes nothing.
        moved = {**new, "tenants": {"t1": {"datasource": "ds1"}}}
        with pytest.raises(tenantdb.ConfigError, match=r"tenants\.t1\.datasource: .*tenant move"):
            cluster.reload(moved)
        assert cluster.status()["config"]["generation"] == 3
        assert cluster.tenants.get("t1").datasource == "ds0"
