"""The blocking adapter of ``tests/fronts.py`` really drives the asyncio front.

The behaviour suites trust ``front.connect`` to test the asyncio front when ``front.name``
is ``"async"``; these tests check that trust: the objects behind the adapter are the
asyncio front's, its statements run on an event loop of the adapter's own (so a second loop
is refused, as for any AsyncCluster), and the calling conventions it maps (results,
iteration, ``transaction()``, ``with``, ``tenant_context``, closing) keep their meaning.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import tenantdb
from fronts import BlockingCluster, BlockingResult, BlockingSession, Front

from .conftest import Backend


def _config(backend: Backend) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": backend.new_database()}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds0"}},
    }


def _create_orders(cluster: Any) -> None:
    with cluster.session(admin=True) as admin:
        admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(8))")


def test_the_async_front_is_the_asyncio_code_on_a_loop_of_its_own(backend: Backend) -> None:
    with Front("async").connect(_config(backend)) as cluster:
        assert isinstance(cluster, BlockingCluster)
        assert isinstance(cluster.wrapped, tenantdb.AsyncCluster)
        _create_orders(cluster)
        with cluster.session("a") as s:
            assert isinstance(s, BlockingSession)
            assert isinstance(s.wrapped, tenantdb.AsyncSession)
            inserted = s.execute("INSERT INTO orders (id) VALUES (%s)", (1,))
            assert isinstance(inserted, BlockingResult)
            assert isinstance(inserted.wrapped, tenantdb.AsyncResult)
            assert inserted.rowcount == 1
        pool = cluster.wrapped.datasources.pool("ds0")
        assert type(pool).__module__.startswith("tenantdb._async."), type(pool)

        async def on_another_loop() -> None:
            async with cluster.wrapped.session("a") as session:
                await session.execute("SELECT id FROM orders")

        # The pools belong to the adapter's loop: a second loop is refused.
        with pytest.raises(tenantdb.InterfaceError, match="another event loop"):
            asyncio.run(on_another_loop())


def test_the_sync_front_is_the_thread_front(backend: Backend) -> None:
    with Front("sync").connect(_config(backend)) as cluster:
        assert isinstance(cluster, tenantdb.Cluster)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_results_transactions_and_context_keep_their_meaning(backend: Backend) -> None:
    cluster = Front("async").connect(_config(backend))
    with cluster:
        _create_orders(cluster)
        with cluster.session("a") as s:
            with s.transaction() as inside:
                assert isinstance(inside.wrapped, tenantdb.AsyncSession)
                assert s.in_transaction
                s.executemany("INSERT INTO orders (id) VALUES (%s)", [(1,), (2,), (3,)])
            assert not s.in_transaction

            def insert_then_fail() -> None:
                with s.transaction():
                    s.execute("INSERT INTO orders (id) VALUES (%s)", (4,))
                    raise RuntimeError("undo")

            with pytest.raises(RuntimeError, match="undo"):
                insert_then_fail()
            assert not s.in_transaction
            result = s.execute("SELECT id FROM orders ORDER BY id")
            assert [row[0] for row in result] == [1, 2, 3]
            assert s.execute("SELECT COUNT(*) FROM orders").scalar() == 3
        # tenant_context set by the caller reaches the session it opens.
        with tenantdb.tenant_context("b"), cluster.session() as s:
            s.execute("INSERT INTO orders (id) VALUES (%s)", (9,))
        with cluster.session(admin=True) as admin:
            rows = admin.execute("SELECT id, tenant_id FROM orders ORDER BY id").fetchall()
        assert rows == [(1, "a"), (2, "a"), (3, "a"), (9, "b")]
    cluster.close()  # idempotent
    with pytest.raises(tenantdb.InterfaceError, match="closed"):
        cluster.session("a")
