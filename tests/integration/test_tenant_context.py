"""The tenant from the request context on real databases: sessions and DB-API connections
opened without a tenant use ``tenant_context``; concurrent threads never see a neighbour's
tenant; an explicit tenant wins; an admin session ignores the context."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from tenantdb import Cluster, dbapi, tenant_context

from .conftest import Backend
from .test_session import SCHEMA, TYPES, cluster_config

THREADS = 16
ROUNDS = 10
HANG_GUARD_S = 60


@pytest.fixture
def cluster(backend: Backend) -> Iterator[Cluster]:
    config = cluster_config(backend, backend.new_databases(2), max_size=THREADS)
    config["tenants"] = {f"t{i:02}": {"datasource": f"ds{i % 2}"} for i in range(THREADS)}
    cluster = tenantdb.connect(config)
    with cluster.session(admin=True) as admin:
        for statement in SCHEMA:
            admin.execute(statement.format(**TYPES[backend.name]))
    yield cluster
    cluster.close()


def test_sixteen_threads_each_read_and_write_only_their_own_tenant(cluster: Cluster) -> None:
    barrier = threading.Barrier(THREADS + 1)
    failures: list[BaseException] = []
    seen: dict[str, set[str]] = {}

    def request(number: int) -> None:
        tenant = f"t{number:02}"
        try:
            barrier.wait(HANG_GUARD_S)
            with tenant_context(tenant):
                for step in range(ROUNDS):
                    with cluster.session() as session:  # no tenant argument
                        session.execute(
                            "INSERT INTO orders (id, amount) VALUES (%s, %s)",
                            (number * 1000 + step, step),
                        )
                        rows = session.execute("SELECT tenant_id FROM orders").fetchall()
                        seen.setdefault(tenant, set()).update(r[0] for r in rows)
        except BaseException as exc:  # reported below, with the thread's tenant
            failures.append(exc)

    threads = [threading.Thread(target=request, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    with tenant_context(None):
        # A thread (here, the test's) without a tenant gets the no-tenant behaviour.
        barrier.wait(HANG_GUARD_S)
        with cluster.session() as session, pytest.raises(tenantdb.RoutingError):
            session.execute("SELECT count(*) FROM orders")
    for thread in threads:
        thread.join(HANG_GUARD_S)
    assert not failures, failures
    assert seen == {f"t{n:02}": {f"t{n:02}"} for n in range(THREADS)}
    with cluster.session(admin=True) as admin:
        owners = admin.execute("SELECT id, tenant_id FROM orders").fetchall()
    assert len(owners) == THREADS * ROUNDS
    assert all(owner == f"t{row_id // 1000:02}" for row_id, owner in owners)


def test_an_explicit_tenant_wins_and_an_admin_session_ignores_the_context(
    cluster: Cluster,
) -> None:
    with tenant_context("t00"):
        with cluster.session(tenant="t01") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 1)")
            assert session.tenant is not None
            assert session.tenant.id == "t01"
        with cluster.session(admin=True) as admin:
            assert admin.tenant is None
            rows = admin.execute("SELECT tenant_id FROM orders").fetchall()
    assert rows == [("t01",)]


def test_a_pooled_dbapi_connection_serves_the_tenant_of_each_transaction(
    cluster: Cluster,
) -> None:
    connection = dbapi.connect(cluster)  # opened outside any tenant context
    cursor = connection.cursor()
    written: list[tuple[Any, ...]] = []
    for number, tenant in enumerate(["t00", "t01", "t00"]):
        with tenant_context(tenant):
            cursor.execute("INSERT INTO orders (id, amount) VALUES (%s, 1)", (number,))
            cursor.execute("SELECT id, tenant_id FROM orders ORDER BY id")
            written.append((tenant, cursor.fetchall()))
            connection.commit()
    connection.close()
    assert written == [
        ("t00", [(0, "t00")]),
        ("t01", [(1, "t01")]),
        ("t00", [(0, "t00"), (2, "t00")]),
    ]


def test_a_dbapi_transaction_keeps_its_tenant_until_it_ends(cluster: Cluster) -> None:
    connection = dbapi.connect(cluster)
    cursor = connection.cursor()
    with tenant_context("t00"):
        cursor.execute("INSERT INTO orders (id, amount) VALUES (1, 1)")
    with tenant_context("t01"):
        # Same transaction: still t00's, so the row it wrote is visible and t01's is not.
        cursor.execute("SELECT tenant_id FROM orders")
        assert cursor.fetchall() == [("t00",)]
        connection.commit()
        cursor.execute("SELECT tenant_id FROM orders")
        assert cursor.fetchall() == []
    connection.close()


TASKS = 200


def test_two_hundred_tasks_and_sixteen_threads_each_see_only_their_own_tenant(
    backend: Backend,
) -> None:
    """Both fronts at once on one set of databases: 200 asyncio tasks (each in its own
    ``tenant_context``, yielding to the others between statements) beside 16 threads of
    the thread front; ten more tasks set no tenant and must get the no-tenant behaviour."""
    config = cluster_config(backend, backend.new_databases(2), max_size=THREADS)
    tenants = [f"t{n:03}" for n in range(TASKS + THREADS)]
    config["tenants"] = {tenant: {"datasource": f"ds{n % 2}"} for n, tenant in enumerate(tenants)}
    threaded = tenantdb.connect(config)
    with threaded.session(admin=True) as admin:
        for statement in SCHEMA:
            admin.execute(statement.format(**TYPES[backend.name]))
    seen: dict[str, set[str]] = {}
    failures: list[BaseException] = []
    start = threading.Event()

    def thread_request(number: int) -> None:
        tenant = tenants[number]
        try:
            start.wait(HANG_GUARD_S)
            with tenant_context(tenant):
                for step in range(ROUNDS):
                    with threaded.session() as session:
                        session.execute(
                            "INSERT INTO orders (id, amount) VALUES (%s, %s)",
                            (number * 1000 + step, step),
                        )
                        rows = session.execute("SELECT tenant_id FROM orders").fetchall()
                        seen.setdefault(tenant, set()).update(r[0] for r in rows)
        except BaseException as exc:  # reported below
            failures.append(exc)

    async def task_request(cluster: tenantdb.AsyncCluster, number: int) -> None:
        tenant = tenants[number]
        with tenant_context(tenant):
            for step in range(ROUNDS):
                async with cluster.session() as session:  # no tenant argument
                    await session.execute(
                        "INSERT INTO orders (id, amount) VALUES (%s, %s)",
                        (number * 1000 + step, step),
                    )
                    await asyncio.sleep(0)  # let a neighbour's task run in between
                    result = await session.execute("SELECT tenant_id FROM orders")
                    seen.setdefault(tenant, set()).update(r[0] for r in await result.fetchall())

    async def task_without_tenant(cluster: tenantdb.AsyncCluster) -> str | None:
        await asyncio.sleep(0)
        async with cluster.session() as session:
            with pytest.raises(tenantdb.RoutingError):
                await session.execute("SELECT count(*) FROM orders")
            return session.tenant.id if session.tenant is not None else None

    async def requests() -> list[str | None]:
        cluster = tenantdb.connect_async(config)
        try:
            jobs = [task_request(cluster, n) for n in range(TASKS)]
            start.set()
            await asyncio.gather(*jobs)
            blanks = [task_without_tenant(cluster) for _ in range(10)]
            return await asyncio.wait_for(asyncio.gather(*blanks), HANG_GUARD_S)
        finally:
            await cluster.aclose()

    threads = [
        threading.Thread(target=thread_request, args=(n,)) for n in range(TASKS, TASKS + THREADS)
    ]
    for thread in threads:
        thread.start()
    try:
        blank_tenants = asyncio.run(asyncio.wait_for(requests(), HANG_GUARD_S * 2))
    finally:
        start.set()
        for thread in threads:
            thread.join(HANG_GUARD_S)
    assert not failures, failures
    assert blank_tenants == [None] * 10
    assert seen == {tenant: {tenant} for tenant in tenants}
    with threaded.session(admin=True) as admin:
        owners = admin.execute("SELECT id, tenant_id FROM orders").fetchall()
    threaded.close()
    assert len(owners) == (TASKS + THREADS) * ROUNDS
    assert all(owner == tenants[row_id // 1000] for row_id, owner in owners)
