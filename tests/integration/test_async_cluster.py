"""What only the asyncio cluster does differently, on real databases: its background jobs
(``precreate = "auto"``, the registry's placement guard) run on threads with thread-front
pools of their own, and ``aclose`` stops them; the rest of its surface is shared with the
thread front and exercised by the suites parametrised over both fronts."""

from __future__ import annotations

import asyncio
import datetime
import threading
import time
from collections.abc import Callable

import pytest

import tenantdb

from .conftest import Backend
from .test_session import SCHEMA, TYPES, cluster_config
from .test_time_periods import INSERT, Clock, config

HANG_GUARD_S = 30.0  # polling deadline for background threads; never a timing assertion


async def _until(condition_in_thread: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not await asyncio.to_thread(condition_in_thread):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.02)


def test_auto_precreation_runs_beside_the_event_loop_and_stops_with_aclose(
    backend: Backend,
) -> None:
    url = backend.new_database()
    with (
        tenantdb.connect(
            config(url, backend.dialect), today=Clock(datetime.date(2027, 3, 15))
        ) as c,
        c.session(admin=True) as s,
    ):
        s.execute(
            "CREATE TABLE metrics (id INTEGER PRIMARY KEY, created_at DATE NOT NULL, v INTEGER)"
        )
    clock = Clock(datetime.date(2027, 3, 15))
    cluster = tenantdb.connect_async(
        config(url, backend.dialect, precreate="auto", precreate_interval=0.05), today=clock
    )
    precreator = cluster.precreator
    assert precreator is not None

    async def scenario() -> None:
        assert precreator.passes == 0  # connect_async() alone starts nothing
        async with cluster.session() as s:
            await _until(lambda: precreator.passes >= 1, "the first precreation pass")
            assert precreator.last_error is None
            clock.day = datetime.date(2027, 8, 1)  # the thread alone must make 2027-09

            async def september_exists() -> bool:
                try:
                    await s.execute(INSERT, (9, datetime.date(2027, 9, 30), 1))
                except tenantdb.RoutingError:
                    return False
                return True

            deadline = time.monotonic() + HANG_GUARD_S
            while not await september_exists():
                if time.monotonic() > deadline:
                    pytest.fail("gave up waiting for metrics_202709 from the background thread")
                await asyncio.sleep(0.02)
        await cluster.aclose()

    asyncio.run(scenario())
    assert not any(t.name == "tenantdb-precreate" and t.is_alive() for t in threading.enumerate())


def test_the_placement_guard_reads_rows_through_the_jobs_own_pools(backend: Backend) -> None:
    config_ = cluster_config(backend, backend.new_databases(2))
    cluster = tenantdb.connect_async(config_)

    async def scenario() -> None:
        async with cluster:
            async with cluster.session(admin=True) as admin:
                for statement in SCHEMA:
                    await admin.execute(statement.format(**TYPES[backend.name]))
            async with cluster.session("a") as s:
                await s.execute("INSERT INTO orders (id, amount) VALUES (1, 5)")
            # put() blocks on the store and the guard's reads: off the loop.
            with pytest.raises(tenantdb.InvalidTenantError, match="has rows in orders on ds0"):
                await asyncio.to_thread(cluster.tenants.put, {"id": "a", "datasource": "ds1"})
            assert await asyncio.to_thread(cluster.tenant_has_rows, "a") == ["orders"]
            assert cluster.tenants.get("a").datasource == "ds0"

    asyncio.run(scenario())
    with pytest.raises(tenantdb.InterfaceError, match="connect_async"):
        cluster.session("a")
