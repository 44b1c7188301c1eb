"""Per-tenant rate limits and concurrency quotas, enforced before a statement reaches a pool.

Rate limits run on SQLite on both fronts (the limiter does no I/O; what matters is that a
refused statement sends nothing). Concurrency quotas need statements that stay in flight:
a tenant's UPDATE waits on a row lock the test holds through a raw PostgreSQL connection,
so the test decides when it ends, with no sleeps and no timing assumptions.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb import RateLimitedError

from .conftest import Backend

HANG_GUARD_S = 60.0


def config(url: str, dialect: str, **limits: Any) -> dict[str, Any]:
    return {
        "dialect": dialect,
        "datasources": {"ds0": {"url": url, "pool": {"min_size": 0, "max_size": 8}}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"a": {"datasource": "ds0", "limits": limits}, "b": {"datasource": "ds0"}},
    }


def create_orders(cluster: Any) -> None:
    with cluster.session(admin=True) as admin:
        admin.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,"
            " amount INTEGER)"
        )


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/limits.db"


def test_a_statement_over_the_rate_is_refused_and_sends_nothing(
    front: Front, sqlite_url: str
) -> None:
    cluster = front.connect(config(sqlite_url, "sqlite", requests_per_second=0.001, burst=2))
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (1, 10))
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (2, 20))
            with pytest.raises(RateLimitedError) as refused:
                session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (3, 30))
        error = refused.value
        assert (error.tenant, error.limit) == ("a", "requests_per_second")
        # At 0.001 statements per second the next one is about 1000 s away.
        assert 900 < error.retry_after <= 1000
        assert "raise limits.requests_per_second" in str(error)
        # The refused INSERT never ran; tenant b and admin sessions are not limited by a's.
        with cluster.session(tenant="b") as other:
            for n in range(5):
                other.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (10 + n, n))
        with cluster.session(admin=True) as admin:
            rows = admin.execute("SELECT tenant_id, id FROM orders ORDER BY id").fetchall()
        assert [tuple(row) for row in rows] == [
            ("a", 1),
            ("a", 2),
            *[("b", 10 + n) for n in range(5)],
        ]
        counts = cluster.status()["limits"]["tenants"]["a"]
        assert counts["refused_rate"] == 1
    finally:
        cluster.close()


def test_a_changed_tenant_record_applies_to_the_next_statement(
    front: Front, sqlite_url: str
) -> None:
    cluster = front.connect(config(sqlite_url, "sqlite", requests_per_second=0.001, burst=1))
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            session.execute("SELECT COUNT(*) FROM orders")
            with pytest.raises(RateLimitedError):
                session.execute("SELECT COUNT(*) FROM orders")
            tenant = cluster.tenants.get("a")
            cluster.tenants.put(
                {**tenant.to_dict(), "limits": {"requests_per_second": 1000.0, "burst": 50}}
            )
            # Under the old limit the next statement was about 1000 s away. The new one
            # carries at most one burst of debt over (raising a limit hands out no fresh
            # burst), so the wait it asks for is a few milliseconds.
            pause = threading.Event()
            waits: list[float] = []
            for _ in range(1000):  # a hang guard, far above the few tries needed
                try:
                    session.execute("SELECT COUNT(*) FROM orders")
                except RateLimitedError as refused:
                    waits.append(refused.retry_after)
                    pause.wait(refused.retry_after)
                else:
                    break
            else:
                raise AssertionError("the raised limit never admitted a statement")
            assert all(wait <= 0.05 for wait in waits), waits
    finally:
        cluster.close()


def test_shadow_mode_counts_what_it_would_refuse(front: Front, sqlite_url: str) -> None:
    document = config(sqlite_url, "sqlite")
    document["limits"] = {"mode": "shadow", "requests_per_second": 0.001, "burst": 3}
    cluster = front.connect(document)
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            for _ in range(10):
                assert session.execute("SELECT COUNT(*) FROM orders").fetchall() == [(0,)]
        limits = cluster.status()["limits"]
        assert limits["mode"] == "shadow"
        assert limits["tenants"]["a"]["shadow_rate"] == 7
    finally:
        cluster.close()


def test_cluster_defaults_apply_to_every_tenant_and_a_tenant_may_lift_them(
    front: Front, sqlite_url: str
) -> None:
    document = config(sqlite_url, "sqlite", requests_per_second=1000.0, burst=100)
    document["limits"] = {"requests_per_second": 0.001, "burst": 1}
    cluster = front.connect(document)
    try:
        create_orders(cluster)
        with cluster.session(tenant="b") as session:
            session.execute("SELECT COUNT(*) FROM orders")
            with pytest.raises(RateLimitedError):
                session.execute("SELECT COUNT(*) FROM orders")
        with cluster.session(tenant="a") as session:
            for _ in range(20):
                session.execute("SELECT COUNT(*) FROM orders")
    finally:
        cluster.close()


# -- concurrency quotas (PostgreSQL: a row lock keeps a statement in flight) -------------


class RowLock:
    """Holds a lock on orders row ``id`` through a raw connection until ``release``."""

    def __init__(self, backend: Backend, url: str, row: int) -> None:
        self.connection = backend.raw_connect(url)
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        cursor.execute("SELECT id FROM orders WHERE id = %s FOR UPDATE", (row,))

    def release(self) -> None:
        self.connection.cursor().execute("COMMIT")
        self.connection.close()


@pytest.fixture
def pg(postgres_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("postgres", postgres_server, _database_names)


def blocked_update(cluster: Any, row: int, done: list[object]) -> threading.Thread:
    """A thread whose tenant-a UPDATE of ``row`` waits on the test's row lock."""

    def run() -> None:
        try:
            with cluster.session(tenant="a") as session:
                session.execute("UPDATE orders SET amount = amount + 1 WHERE id = %s", (row,))
            done.append("ok")
        except BaseException as exc:  # reported by the test
            done.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_in_flight(cluster: Any, tenant: str, count: int, queued: int = 0) -> None:
    """Until ``count`` statements of ``tenant`` run (and ``queued`` wait): the hang guard
    is the only limit, the loop polls the limiter's own counts."""
    event = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.01)):
        state = cluster.status()["limits"]["tenants"].get(tenant, {})
        if state.get("in_flight") == count and state.get("queued") == queued:
            return
        event.wait(0.01)
    raise AssertionError(f"tenant {tenant}: never {count} in flight and {queued} queued: {state}")


def test_a_full_quota_with_no_queue_refuses_at_once(pg: Backend) -> None:
    url = pg.new_database()
    cluster = tenantdb.connect(config(url, "postgres", max_concurrent=1, max_queued=0))
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 0), (2, 0)")
        lock = RowLock(pg, url, 1)
        done: list[object] = []
        thread = blocked_update(cluster, 1, done)
        wait_in_flight(cluster, "a", 1)
        with cluster.session(tenant="a") as session, pytest.raises(RateLimitedError) as refused:
            session.execute("UPDATE orders SET amount = 5 WHERE id = %s", (2,))
        assert (refused.value.tenant, refused.value.limit) == ("a", "max_concurrent")
        assert "1 statements running" in str(refused.value)
        # Another tenant is not held up by a's quota.
        with cluster.session(tenant="b") as other:
            assert other.execute("SELECT COUNT(*) FROM orders").fetchall() == [(0,)]
        lock.release()
        thread.join(HANG_GUARD_S)
        assert done == ["ok"]
        assert pg.query(url, "SELECT id, amount FROM orders ORDER BY id") == [(1, 1), (2, 0)]
        assert cluster.status()["limits"]["tenants"]["a"]["refused_concurrency"] == 1
    finally:
        cluster.close()


def test_a_queued_statement_runs_when_a_slot_frees_and_times_out_otherwise(pg: Backend) -> None:
    url = pg.new_database()
    cluster = tenantdb.connect(
        config(url, "postgres", max_concurrent=1, max_queued=1, queue_timeout="30s")
    )
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 0), (2, 0)")
        lock = RowLock(pg, url, 1)
        first: list[object] = []
        second: list[object] = []
        blocked = blocked_update(cluster, 1, first)
        wait_in_flight(cluster, "a", 1)
        queued = blocked_update(cluster, 2, second)  # row 2 is free: it waits for the slot
        wait_in_flight(cluster, "a", 1, queued=1)
        # The queue is full: a third statement is refused at once.
        with cluster.session(tenant="a") as session, pytest.raises(RateLimitedError):
            session.execute("SELECT COUNT(*) FROM orders")
        assert second == []  # still waiting for the slot, not run
        lock.release()
        blocked.join(HANG_GUARD_S)
        queued.join(HANG_GUARD_S)
        assert (first, second) == (["ok"], ["ok"])
        assert pg.query(url, "SELECT id, amount FROM orders ORDER BY id") == [(1, 1), (2, 1)]
        wait_in_flight(cluster, "a", 0)
    finally:
        cluster.close()


def test_a_queue_timeout_refuses_and_leaves_no_slot_behind(pg: Backend) -> None:
    url = pg.new_database()
    cluster = tenantdb.connect(
        config(url, "postgres", max_concurrent=1, max_queued=4, queue_timeout="50ms")
    )
    try:
        create_orders(cluster)
        with cluster.session(tenant="a") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 0)")
        lock = RowLock(pg, url, 1)
        done: list[object] = []
        thread = blocked_update(cluster, 1, done)
        wait_in_flight(cluster, "a", 1)
        with cluster.session(tenant="a") as session, pytest.raises(RateLimitedError) as late:
            session.execute("SELECT COUNT(*) FROM orders")
        assert "queue_timeout" in str(late.value)
        lock.release()
        thread.join(HANG_GUARD_S)
        assert done == ["ok"]
        wait_in_flight(cluster, "a", 0)
        # The timed-out waiter took no slot with it: the tenant runs statements again.
        with cluster.session(tenant="a") as session:
            assert session.execute("SELECT amount FROM orders").fetchall() == [(1,)]
        assert cluster.status()["limits"]["tenants"]["a"]["timed_out_in_queue"] == 1
    finally:
        cluster.close()


def test_asyncio_waiters_are_let_in_first_come_first_served(pg: Backend) -> None:
    url = pg.new_database()
    document = config(url, "postgres", max_concurrent=1, max_queued=8, queue_timeout="30s")
    setup = tenantdb.connect(document)
    try:
        create_orders(setup)
        with setup.session(tenant="a") as session:
            session.execute("INSERT INTO orders (id, amount) VALUES (1, 0), (2, 0)")
    finally:
        setup.close()
    lock = RowLock(pg, url, 1)
    order: list[int] = []

    async def main() -> None:
        cluster = tenantdb.connect_async(document)
        try:

            async def blocked() -> None:
                async with cluster.session(tenant="a") as session:
                    await session.execute("UPDATE orders SET amount = amount + 1 WHERE id = 1")

            async def waiter(n: int) -> None:
                async with cluster.session(tenant="a") as session:
                    await session.execute("UPDATE orders SET amount = %s WHERE id = 2", (n,))
                    order.append(n)

            first = asyncio.create_task(blocked())
            while cluster.status()["limits"]["tenants"].get("a", {}).get("in_flight") != 1:
                await asyncio.sleep(0.01)
            waiters = []
            for n in range(1, 5):
                waiters.append(asyncio.create_task(waiter(n)))
                while cluster.status()["limits"]["tenants"]["a"]["queued"] != n:
                    await asyncio.sleep(0.01)
            # A cancelled waiter leaves the queue and takes no slot with it.
            waiters[1].cancel()
            await asyncio.to_thread(lock.release)
            await asyncio.wait_for(first, HANG_GUARD_S)
            results = await asyncio.wait_for(
                asyncio.gather(*waiters, return_exceptions=True), HANG_GUARD_S
            )
            assert isinstance(results[1], asyncio.CancelledError)
            assert cluster.status()["limits"]["tenants"]["a"]["in_flight"] == 0
        finally:
            await cluster.aclose()

    asyncio.run(main())
    assert order == [1, 3, 4]
    assert pg.query(url, "SELECT amount FROM orders WHERE id = 2") == [(4,)]


def test_one_tenants_huge_query_cannot_starve_the_others(pg: Backend) -> None:
    # Issue 21's denial of service: one tenant's generate_series held the only pooled
    # connection for 23 s and the other tenants timed out waiting for the pool. With a
    # statement timeout the server stops it; with max_concurrent its second such query is
    # refused at once instead of queueing behind the first.
    url = pg.new_database()
    document = config(url, "postgres", max_concurrent=1, max_queued=0, statement_timeout="300ms")
    document["datasources"]["ds0"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": "20s"}
    cluster = tenantdb.connect(document)
    try:
        create_orders(cluster)
        huge = "SELECT count(*) FROM generate_series(1, 100000000000)"
        outcome: list[object] = []

        def flood() -> None:
            try:
                with cluster.session(tenant="a") as session:
                    session.execute(huge)
                outcome.append("finished")
            except tenantdb.Error as exc:
                outcome.append(exc)

        thread = threading.Thread(target=flood, daemon=True)
        thread.start()
        wait_in_flight(cluster, "a", 1)
        with cluster.session(tenant="a") as session, pytest.raises(RateLimitedError):
            session.execute(huge)
        # Tenant b waits for the one connection only until a's statement is cancelled.
        with cluster.session(tenant="b") as other:
            assert other.execute("SELECT COUNT(*) FROM orders").fetchall() == [(0,)]
        thread.join(HANG_GUARD_S)
        [error] = outcome
        assert isinstance(error, tenantdb.StatementTimeoutError), error
        assert error.timeout == 0.3
    finally:
        cluster.close()
