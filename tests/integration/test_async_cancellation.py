"""Cancellation on the asyncio front, on real databases: 1,000 tasks of a mixed workload
(point reads and writes, transactions, executemany, streamed multi-shard reads, slow
queries) are cancelled at random points. Afterwards no connection is checked out, no
transaction or statement is left open on the server, every transaction is all or nothing,
the cluster still serves, and closing it leaves no thread behind. A process whose tasks
were cancelled exits on its own, closed or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from tenantdb import AsyncCluster

from .conftest import Backend
from .test_session import SCHEMA, TYPES, cluster_config

TASKS = 1000
CONCURRENT = 60
POOL_SIZE = 6
HANG_GUARD_S = 120.0
SETTLE_GUARD_S = 30.0  # how long the server may take to finish cancelled statements
# A recursive CTE that keeps the database busy for a while, in any dialect, as a tenant.
SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "
    "SELECT count(*) FROM c"
)
ADMIN_SLOW = {"postgres": "SELECT pg_sleep(0.05)", "mysql": "SELECT SLEEP(0.05)"}


def _config(backend: Backend, urls: list[str]) -> dict[str, Any]:
    config = cluster_config(backend, urls, max_size=POOL_SIZE)
    for entry in config["datasources"].values():
        entry["pool"]["timeout"] = HANG_GUARD_S  # a task waits for a slot rather than fail
    return config


async def _prepare(cluster: AsyncCluster, backend: Backend) -> None:
    async with cluster.session(admin=True) as admin:
        for statement in SCHEMA:
            await admin.execute(statement.format(**TYPES[backend.name]))
        await admin.executemany(
            "INSERT INTO items (item_id, name, price) VALUES (%s, %s, %s)",
            [(i, f"item {i}", i) for i in range(200)],
        )


def _workload(
    cluster: AsyncCluster, dialect: str
) -> list[Callable[[int, random.Random], Awaitable[None]]]:
    """The kinds of work a task does; task ``n`` writes only ids derived from ``n``."""

    async def point(n: int, rng: random.Random) -> None:
        async with cluster.session(rng.choice("ab")) as s:
            await s.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (n * 10, n))
            await (await s.execute("SELECT amount FROM orders WHERE id = %s", (n * 10,))).fetchall()

    async def transaction(n: int, rng: random.Random) -> None:
        async with cluster.session(rng.choice("ab")) as s, s.transaction():
            await s.execute("INSERT INTO orders (id, amount) VALUES (%s, 1)", (n * 10,))
            await asyncio.sleep(rng.uniform(0, 0.005))
            await s.execute("INSERT INTO orders (id, amount) VALUES (%s, 1)", (n * 10 + 1,))

    async def many(n: int, rng: random.Random) -> None:
        async with cluster.session(rng.choice("ab")) as s:
            await s.executemany(
                "INSERT INTO orders (id, amount) VALUES (%s, 2)", [(n * 10 + i,) for i in range(5)]
            )

    async def stream(n: int, rng: random.Random) -> None:
        async with cluster.session(rng.choice("ab")) as s:
            result = await s.execute("SELECT item_id FROM items ORDER BY item_id")
            async for _ in result:
                await asyncio.sleep(0)

    async def slow(n: int, rng: random.Random) -> None:
        async with cluster.session(rng.choice("ab")) as s:
            await (await s.execute(SLOW)).fetchall()

    async def admin_slow(n: int, rng: random.Random) -> None:
        # On ds1 only, like every session here that writes: a session that held one
        # datasource's connection while waiting for another's, beside sessions doing the
        # opposite, would wait for the pool timeout once both pools are exhausted.
        async with cluster.session(admin=True) as s, s.transaction():
            await s.execute("UPDATE notes SET body = 'x' WHERE id = %s", (n,))
            await s.execute_on("ds1", ADMIN_SLOW.get(dialect, SLOW))

    return [point, transaction, many, stream, slow, admin_slow]


async def _run_and_cancel(cluster: AsyncCluster, dialect: str) -> dict[str, int]:
    """Start TASKS tasks (CONCURRENT at a time), cancel each at a random point; count how
    each ended."""
    rng = random.Random(20261203)
    work = _workload(cluster, dialect)
    ended = {"cancelled": 0, "completed": 0}
    gate = asyncio.Semaphore(CONCURRENT)
    loop = asyncio.get_running_loop()

    async def one(n: int) -> None:
        job = rng.choice(work)
        task_rng = random.Random(n)
        async with gate:
            task = asyncio.ensure_future(job(n, task_rng))
            if rng.random() < 0.8:  # the others run to the end beside the cancelled ones
                delay = rng.uniform(0, 0.06)
                loop.call_later(delay, task.cancel)
                if rng.random() < 0.3:  # cancelled again while it cleans up
                    loop.call_later(delay + rng.uniform(0, 0.005), task.cancel)
            try:
                await task
            except asyncio.CancelledError:
                ended["cancelled"] += 1
                return
            ended["completed"] += 1

    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(TASKS))), HANG_GUARD_S)
    return ended


def _server_busy(backend: Backend, urls: list[str]) -> list[tuple[Any, ...]]:
    """Statements still running or transactions still open in the test's databases (other
    than the query's own), as the server reports them."""
    if backend.name == "postgres":
        found: list[tuple[Any, ...]] = []
        for url in urls:
            found += backend.query(
                url,
                "SELECT pid, state, query FROM pg_stat_activity WHERE datname = "
                "current_database() AND pid <> pg_backend_pid() AND (state <> 'idle' OR "
                "xact_start IS NOT NULL)",
            )
        return found
    if backend.name == "mysql":
        found = []
        for url in urls:
            found += backend.query(
                url,
                "SELECT id, command, info FROM information_schema.processlist WHERE db = "
                "DATABASE() AND id <> CONNECTION_ID() AND command <> 'Sleep'",
            )
            found += backend.query(
                url,
                "SELECT t.trx_id, t.trx_state, p.db FROM information_schema.innodb_trx t "
                "JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id "
                "WHERE p.db = DATABASE()",
            )
        return found
    found = []
    for url in urls:
        # No other connection may hold a write transaction on the file.
        with contextlib.closing(backend.raw_connect(url)) as raw:
            cursor = raw.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("ROLLBACK")
            except Exception as exc:
                found.append((url, repr(exc)))
    return found


def _open_connections(backend: Backend, urls: list[str]) -> int:
    if backend.name == "postgres":
        return sum(
            backend.query(
                url,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()",
            )[0][0]
            for url in urls
        )
    if backend.name == "mysql":
        return sum(
            backend.query(
                url,
                "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
                "AND id <> CONNECTION_ID()",
            )[0][0]
            for url in urls
        )
    return 0


def _settled(check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something falsy or the guard passes; return the last
    value (the server finishes cancelled statements on its own schedule)."""
    deadline = time.monotonic() + SETTLE_GUARD_S
    value = check()
    while value and time.monotonic() < deadline:
        time.sleep(0.1)
        value = check()
    return value


def test_a_thousand_cancelled_tasks_leave_nothing_behind(backend: Backend) -> None:
    urls = backend.new_databases(2)
    threads_before = set(threading.enumerate())
    cluster = tenantdb.connect_async(_config(backend, urls), stream_batch_size=5)

    async def scenario() -> dict[str, Any]:
        await _prepare(cluster, backend)
        seen: dict[str, Any] = {"ended": await _run_and_cancel(cluster, backend.dialect)}
        seen["in_use"] = [cluster.datasources.pool(name).in_use for name in ("ds0", "ds1")]
        # Cancelled tasks are the caller's doing, not the server's: no breaker opened.
        seen["breakers"] = [
            cluster.status()["datasources"][name]["breakers"]["primary"]["state"]
            for name in ("ds0", "ds1")
        ]
        seen["busy"] = await asyncio.to_thread(_settled, lambda: _server_busy(backend, urls))
        # The cluster still serves after all that.
        async with cluster.session("a") as s:
            await s.execute("INSERT INTO orders (id, amount) VALUES (%s, 3)", (-1,))
            seen["after"] = await (await s.execute("SELECT count(*) FROM orders")).fetchall()
        async with cluster.session(admin=True) as admin:
            seen["ids"] = [
                row[0] for row in await (await admin.execute("SELECT id FROM orders")).fetchall()
            ]
        await cluster.aclose()
        return seen

    seen = asyncio.run(scenario())
    ended = seen["ended"]

    # The run really cancelled tasks mid-work, and let others finish.
    assert ended["cancelled"] >= 100, ended
    assert ended["completed"] >= 50, ended
    assert seen["in_use"] == [0, 0]
    assert seen["breakers"] == ["closed", "closed"]
    assert seen["busy"] == []
    assert seen["after"][0][0] >= 1
    # All or nothing: a transaction's pair, an executemany's five rows.
    blocks: dict[int, set[int]] = {}
    for row_id in seen["ids"]:
        if row_id >= 0:
            blocks.setdefault(row_id // 10, set()).add(row_id % 10)
    allowed = ({0}, {0, 1}, {0, 1, 2, 3, 4})
    assert all(parts in allowed for parts in blocks.values()), {
        block: parts for block, parts in blocks.items() if parts not in allowed
    }
    assert _settled(lambda: _open_connections(backend, urls)) == 0
    leftover = _settled(lambda: set(threading.enumerate()) - threads_before)
    assert not leftover, leftover


EXIT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    import tenantdb

    config = json.loads(sys.argv[1])
    close = sys.argv[2] == "close"

    async def main():
        cluster = tenantdb.connect_async(config)
        async with cluster.session(admin=True) as s:
            await s.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)")

        async def busy():
            async with cluster.session(admin=True) as s, s.transaction():
                await s.execute("INSERT INTO notes (id, body) VALUES (1, 'x')")
                await (await s.execute(sys.argv[3])).fetchall()

        tasks = [asyncio.ensure_future(busy()) for _ in range(8)]
        await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if close:
            await cluster.aclose()
        print("done")

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("close", ["close", "leave-open"])
def test_a_process_with_cancelled_tasks_exits_on_its_own(
    backend: Backend, close: str, tmp_path: Path
) -> None:
    (url,) = backend.new_databases(1)
    config = {
        "dialect": backend.dialect,
        "datasources": {"ds1": {"url": url, "pool": {"min_size": 0, "max_size": 8}}},
        "tables": {"notes": {"strategy": "single", "tenant_scoped": False}},
    }
    script = tmp_path / "cancel_and_exit.py"
    script.write_text(EXIT_SCRIPT)
    # The hang guard is the test: a process that does not exit is killed and fails here.
    finished = subprocess.run(
        [sys.executable, str(script), json.dumps(config), close, SLOW.replace("100000", "3000000")],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "done"
    assert _settled(lambda: _server_busy(backend, [url])) == []
