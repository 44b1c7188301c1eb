"""A tenant being moved (status ``moving``): its writes wait for the move's cut-over and
then go where the registry places the tenant; reads go on; a write inside a transaction,
or one that waits past ``[moves] write_hold``, fails with a retryable TenantStatusError.
On both fronts (``front``), over SQLite with a SQLite registry."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front

from .conftest import Backend

HANG_GUARD_S = 60.0


def config(urls: list[str], registry: str, write_hold: str) -> dict[str, Any]:
    return {
        "dialect": "sqlite",
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        "registry": {"url": registry},
        "moves": {"write_hold": write_hold},
    }


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")
    return urls


def check_placed_on_ds1(backend: Backend, urls: list[str]) -> None:
    assert backend.query(urls[1], "SELECT id, tenant_id FROM orders") == [(1, "acme")]
    assert backend.query(urls[0], "SELECT id FROM orders") == []


CUT_OVER = {"id": "acme", "status": "active", "datasource": "ds1"}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_held_write_goes_where_the_cut_over_places_the_tenant(
    backend: Backend, urls: list[str], tmp_path: Path
) -> None:
    registry = f"sqlite:///{tmp_path}/registry.db"
    with tenantdb.connect(config(urls, registry, "60s")) as cluster:
        cluster.tenants.put({"id": "acme", "status": "moving"})
        outcome: dict[str, Any] = {}

        def write() -> None:
            with cluster.session(tenant="acme") as session:
                try:
                    result = session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
                    outcome["served"] = result.targets[0].datasource
                except Exception as exc:  # reported by the assertions below
                    outcome["error"] = exc

        writer = threading.Thread(target=write)
        writer.start()
        with cluster.session(tenant="acme") as reader:  # reads go on while it is held
            assert reader.execute("SELECT COUNT(*) FROM orders").fetchall() == [(0,)]
        assert outcome == {}  # still held
        cluster.tenants.put(CUT_OVER, force=True)
        writer.join(HANG_GUARD_S)
        assert not writer.is_alive()
        assert outcome == {"served": "ds1"}
    check_placed_on_ds1(backend, urls)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_held_write_goes_where_the_cut_over_places_the_tenant_async(
    backend: Backend, urls: list[str], tmp_path: Path
) -> None:
    registry = f"sqlite:///{tmp_path}/registry.db"

    async def scenario() -> str:
        cluster = tenantdb.connect_async(config(urls, registry, "60s"))
        try:
            cluster.tenants.put({"id": "acme", "status": "moving"})

            async def write() -> str:
                async with cluster.session(tenant="acme") as session:
                    result = await session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
                    return result.targets[0].datasource

            writer = asyncio.create_task(write())
            async with cluster.session(tenant="acme") as reader:
                rows = await (await reader.execute("SELECT COUNT(*) FROM orders")).fetchall()
                assert rows == [(0,)]
            assert not writer.done()  # still held
            cluster.tenants.put(CUT_OVER, force=True)
            return await asyncio.wait_for(writer, HANG_GUARD_S)
        finally:
            await cluster.aclose()

    assert asyncio.run(scenario()) == "ds1"
    check_placed_on_ds1(backend, urls)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_write_held_past_write_hold_or_in_a_transaction_is_refused(
    backend: Backend, urls: list[str], tmp_path: Path, front: Front
) -> None:
    registry = f"sqlite:///{tmp_path}/registry.db"
    with front.connect(config(urls, registry, "0s")) as cluster:
        with cluster.session(tenant="acme") as session, session.transaction():
            cluster.tenants.put({"id": "acme", "status": "moving"})
            # The transaction keeps the tenant it began with (active): its writes run.
            session.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
        with cluster.session(tenant="acme") as session:
            with pytest.raises(tenantdb.TenantStatusError, match="being moved") as caught:
                session.execute("INSERT INTO orders (id) VALUES (%s)", (2,))
            assert caught.value.status == "moving"
            with pytest.raises(tenantdb.TenantStatusError, match="being moved"):
                session.executemany("INSERT INTO orders (id) VALUES (%s)", [(3,), (4,)])
            with (
                pytest.raises(tenantdb.TenantStatusError, match="being moved"),
                session.transaction(),
            ):
                session.execute("DELETE FROM orders")
            assert session.execute("SELECT id FROM orders").fetchall() == [(1,)]
