"""Reload on SQLite (no server): what a watched cluster logs and refuses, what reload()
needs, a removed datasource's pool, and reload inside a running event loop."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import tenantdb

HANG_GUARD_S = 60.0


def _doc(path: Path, extra: str = "") -> str:
    return (
        f'[datasources.ds0]\nurl = "sqlite:///{path}"\n'
        '[tables.items]\nstrategy = "single"\ntenant_scoped = false\n'
        f"{extra}"
    )


def _write(path: Path, text: str) -> None:
    draft = path.with_suffix(".draft")
    draft.write_text(text, encoding="utf-8")
    os.replace(draft, path)


def _wait_for(predicate: Any) -> bool:
    pause = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.02)):
        if predicate():
            return True
        pause.wait(0.02)
    return bool(predicate())


def test_the_same_refusal_is_logged_once_and_a_new_one_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tenantdb.toml"
    database = tmp_path / "ds0.db"
    _write(path, _doc(database))
    caplog.set_level(logging.ERROR, logger="tenantdb.config")
    with tenantdb.connect(path, watch=True, watch_poll_interval=0.02) as cluster:

        def refused_at() -> float | None:
            refusal = cluster.status()["config"]["last_refused"]
            return refusal["at"] if refusal is not None else None

        def logged() -> list[str]:
            return [r.getMessage() for r in caplog.records if "not reloaded" in r.getMessage()]

        bad = _doc(database).replace('"single"', '"mod"')
        _write(path, bad)
        assert _wait_for(lambda: len(logged()) == 1)
        assert "tables.items" in logged()[0]
        before = refused_at()
        _write(path, bad + "# saved again\n")  # the same problems
        assert _wait_for(lambda: refused_at() != before)
        _write(path, _doc(database, "[tables.items.oops]\n"))  # other problems
        # The watcher handles one change after the other: once the third is logged, the
        # second was handled too, and left no line.
        assert _wait_for(lambda: any("oops" in line for line in logged()))
        assert len(logged()) == 2
        assert "tables.items.oops" in logged()[1]
        assert cluster.status()["config"]["generation"] == 1


def test_reload_without_a_file_needs_the_new_configuration(tmp_path: Path) -> None:
    document = {"datasources": {"ds0": {"url": f"sqlite:///{tmp_path / 'ds0.db'}"}}}
    with tenantdb.connect(document) as cluster:
        with pytest.raises(tenantdb.InterfaceError, match="pass the new configuration"):
            cluster.reload()
        assert not cluster.reload(document)  # nothing changed: generation stays
        assert cluster.status()["config"]["generation"] == 1
    with pytest.raises(tenantdb.InterfaceError, match="nothing to watch"):
        tenantdb.connect(document, watch=True)


def test_a_closed_cluster_refuses_reload_and_stops_watching(tmp_path: Path) -> None:
    path = tmp_path / "tenantdb.toml"
    _write(path, _doc(tmp_path / "ds0.db"))
    cluster = tenantdb.connect(path, watch=True, watch_poll_interval=0.02)
    assert cluster.status()["config"]["watching"] == "poll 0.02s"
    cluster.close()
    assert cluster.status()["config"]["watching"] is None
    with pytest.raises(tenantdb.InterfaceError, match="closed"):
        cluster.reload()


def test_a_removed_datasource_leaves_once_its_session_gives_its_connection_back(
    tmp_path: Path,
) -> None:
    ds0 = {"url": f"sqlite:///{tmp_path / 'ds0.db'}"}
    both = {"datasources": {"ds0": ds0, "ds1": {"url": f"sqlite:///{tmp_path / 'ds1.db'}"}}}
    with tenantdb.connect(both) as cluster:
        session = cluster.session(admin=True)
        assert session.execute_on("ds1", "SELECT 1").fetchall() == [(1,)]
        pool = cluster.datasources.pool("ds1")
        diff = cluster.reload({"datasources": {"ds0": ds0}})
        assert [(c.path, c.kind, c.hot) for c in diff.changes] == [
            ("datasources.ds1", "removed", True)
        ]
        assert list(cluster.status()["datasources"]) == ["ds0"]
        assert pool.stats()["in_use"] == 1  # the session's connection stays its own
        session.close()
        assert _wait_for(lambda: pool.stats()["size"] == 0)  # closed on its way back
        with cluster.session(admin=True) as later, pytest.raises(tenantdb.InterfaceError):
            later.execute_on("ds1", "SELECT 1")


def test_reload_inside_the_event_loop_resizes_the_async_pools_there(tmp_path: Path) -> None:
    document = {
        "datasources": {"ds0": {"url": f"sqlite:///{tmp_path / 'ds0.db'}"}},
        "tables": {"items": {"strategy": "single", "tenant_scoped": False}},
    }

    async def scenario() -> tuple[int, int]:
        async with tenantdb.connect_async(document) as cluster:
            async with cluster.session(admin=True) as session:
                await session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            bigger = {
                **document,
                "datasources": {"ds0": {**document["datasources"]["ds0"], "pool": {"max_size": 3}}},
            }
            cluster.reload(bigger)  # not awaited: the resize runs as a task of this loop
            for _ in range(int(HANG_GUARD_S / 0.01)):
                status = cluster.status()
                if status["datasources"]["ds0"]["pools"]["primary"]["max_size"] == 3:
                    break
                await asyncio.sleep(0.01)
            async with cluster.session() as session:
                rows = await (await session.execute("SELECT count(*) FROM items")).fetchall()
            return status["datasources"]["ds0"]["pools"]["primary"]["max_size"], rows[0][0]

    assert asyncio.run(scenario()) == (3, 0)


def test_the_admin_jobs_of_an_async_cluster_follow_a_reload(tmp_path: Path) -> None:
    ds0 = {"url": f"sqlite:///{tmp_path / 'ds0.db'}"}
    cluster = tenantdb.connect_async({"datasources": {"ds0": ds0}})
    jobs = cluster._admin_view()  # precreation and the placement guard run their DDL here
    pool = jobs.datasources.pool("ds0")
    pool.release(pool.acquire())
    ds1 = {"url": f"sqlite:///{tmp_path / 'ds1.db'}"}
    cluster.reload({"datasources": {"ds0": ds0, "ds1": ds1}})
    assert jobs.datasources.pool("ds1").name == "ds1"
    assert jobs.config.datasources.keys() == {"ds0", "ds1"}
    asyncio.run(cluster.aclose())


def test_a_reload_changes_how_long_a_moving_tenants_writes_wait(tmp_path: Path) -> None:
    path = tmp_path / "tenantdb.toml"
    database = tmp_path / "ds0.db"
    _write(path, _doc(database))
    with tenantdb.connect(path) as cluster:
        assert cluster.datasources.write_hold_s == 10.0
        _write(path, _doc(database, '[moves]\nwrite_hold = "3s"\n'))
        cluster.reload()
        assert cluster.datasources.write_hold_s == 3.0
