"""The SQLite driver written once (``tenantdb._async._sqlite``) on real database files: the
asyncio front (a daemon thread per connection, one hop per driver call) and the generated
thread front, with the same test bodies where the behaviour is the same; then what only the
asyncio front has: 50 tasks on one pool, a statement interrupted when its task is
cancelled, and an interpreter that exits with connections left open or busy.

``test_drivers.py`` and the session suites cover the thread front further. Each asyncio
test runs under a hang guard; no test asserts how fast something is.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

import tenantdb
from tenantdb import _async, _sync
from tenantdb.config import PoolConfig

from .conftest import Backend

HANG_GUARD_S = 30.0
on_sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
FRONTS = ["asyncio", "thread"]

T = TypeVar("T")
INSERT = "INSERT INTO items (name, qty) VALUES (?, ?)"
# Counts to 1e8: minutes of work, far beyond the hang guard, unless it is interrupted.
LONG_COUNT = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100000000) "
    "SELECT count(*) FROM c"
)


def run(main: Callable[[], Awaitable[T]], guard_s: float = HANG_GUARD_S) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), guard_s)

    return asyncio.run(guarded())


async def done(value: Any) -> Any:
    """The value of a driver call on either front: awaited on the asyncio one."""
    return await value if inspect.isawaitable(value) else value


def open_pool(front: str, url: str, *, name: str = "ds0", **sizes: Any) -> Any:
    """A pool of ``url`` on ``front``; a ``_sync`` pool's calls return plain values."""
    config = PoolConfig(**{"max_size": 3, "timeout": 5.0, **sizes})
    factory = _async.open_pool if front == "asyncio" else _sync.open_pool
    return factory(name, url, config)


@contextlib.asynccontextmanager
async def leased(pool: Any) -> AsyncIterator[Any]:
    connection = await done(pool.acquire())
    try:
        yield connection
    finally:
        await done(pool.release(connection))


def items(backend: Backend, rows: int = 0) -> str:
    """A fresh database with table ``items`` holding ``rows`` rows; its URL."""
    url = backend.new_database()
    backend.query(
        url,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " qty INTEGER NOT NULL)",
    )
    for n in range(1, rows + 1):
        backend.query(url, INSERT, (f"item{n}", n))
    return url


def worker_threads(datasource: str) -> list[threading.Thread]:
    """The live threads of the SQLite connections of ``datasource`` (named after it)."""
    return [t for t in threading.enumerate() if f"datasource {datasource!r}" in t.name]


# --- both fronts ---------------------------------------------------------------------------


@on_sqlite
@pytest.mark.parametrize("front", FRONTS)
def test_execute_and_executemany_return_rows_counts_and_rowids(
    backend: Backend, front: str
) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool(front, url)
        async with leased(pool) as connection:
            inserted = await done(connection.execute(INSERT, ("a", 1)))
            assert (inserted.description, inserted.rows, inserted.rowcount) == (None, [], 1)
            assert inserted.lastrowid == 1
            assert await done(connection.executemany(INSERT, [("b", 2), ("c", 3)])) == 2
            assert await done(connection.executemany(INSERT, [])) == 0
            updated = await done(connection.execute("UPDATE items SET qty = qty + 1", ()))
            assert (updated.rowcount, updated.lastrowid) == (3, None)
            read = await done(
                connection.execute("SELECT name, qty FROM items WHERE qty >= ? ORDER BY id", (3,))
            )
            assert (read.rows, read.rowcount) == ([("b", 3), ("c", 4)], 2)
            assert [column[0] for column in read.description] == ["name", "qty"]
        await done(pool.close())

    run(main)
    assert backend.query(url, "SELECT name FROM items ORDER BY id") == [("a",), ("b",), ("c",)]


@on_sqlite
@pytest.mark.parametrize("front", FRONTS)
def test_errors_are_translated_with_their_context(backend: Backend, front: str) -> None:
    url = items(backend, rows=1)

    async def main() -> None:
        pool = open_pool(front, url)
        async with leased(pool) as connection:
            with pytest.raises(tenantdb.IntegrityError) as duplicate:
                await done(connection.execute(INSERT, ("item1", 5)))
            assert (duplicate.value.datasource, duplicate.value.role) == ("ds0", "primary")
            assert duplicate.value.statement == INSERT
            assert type(duplicate.value.orig).__name__ == "IntegrityError"
            with pytest.raises(tenantdb.ProgrammingError):
                await done(connection.execute("SELEC 1", ()))
            with pytest.raises(tenantdb.ProgrammingError):
                await done(connection.open_streams([("SELECT nope FROM items", ())], 10))
            # Still usable after each error.
            assert (await done(connection.execute("SELECT count(*) FROM items", ()))).rows == [(1,)]
        await done(pool.close())

    run(main)


@on_sqlite
@pytest.mark.parametrize("front", FRONTS)
def test_streams_read_interleaved_in_batches(backend: Backend, front: str) -> None:
    url = items(backend, rows=25)

    async def main() -> None:
        pool = open_pool(front, url)
        async with leased(pool) as connection:
            statements = [
                ("SELECT qty FROM items WHERE qty <= ? ORDER BY qty", (25,)),
                ("SELECT qty FROM items WHERE qty > ? ORDER BY qty DESC", (22,)),
            ]
            big, small = await done(connection.open_streams(statements, 10))
            assert [column[0] for column in big.description] == ["qty"]
            seen: list[list[Any]] = [[], []]
            for _ in range(4):  # interleaved: one batch of each in turn
                for index, stream in enumerate((big, small)):
                    seen[index] += [row[0] for row in await done(stream.fetch())]
            assert seen == [list(range(1, 26)), [25, 24, 23]]
            assert await done(big.fetch()) == []
            await done(big.close())
            await done(big.close())  # idempotent
            # Closed early, unread: the connection stays usable.
            unread = (await done(connection.open_streams([("SELECT qty FROM items", ())], 5)))[0]
            await done(unread.close())
            assert await done(unread.fetch()) == []
            assert (await done(connection.execute("SELECT count(*) FROM items", ()))).rows == [
                (25,)
            ]
        await done(pool.close())

    run(main)


@on_sqlite
@pytest.mark.parametrize("front", FRONTS)
def test_commit_keeps_rollback_discards_and_release_rolls_back(
    backend: Backend, front: str
) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool(front, url)
        async with leased(pool) as connection:
            await done(connection.begin())
            assert connection.in_transaction
            with pytest.raises(tenantdb.InterfaceError, match="already open"):
                await done(connection.begin())
            await done(connection.execute(INSERT, ("kept", 1)))
            stream = (await done(connection.open_streams([("SELECT name FROM items", ())], 1)))[0]
            assert await done(stream.fetch()) == [("kept",)]  # sees its transaction's write
            await done(connection.commit())  # closes the open stream first
            assert await done(stream.fetch()) == []
            assert not connection.in_transaction
            await done(connection.begin())
            await done(connection.execute(INSERT, ("discarded", 2)))
            await done(connection.rollback())
            await done(connection.commit())  # no-op outside a transaction
            await done(connection.begin())
            await done(connection.execute(INSERT, ("left open", 3)))
        # The release rolled back and let go of the write lock.
        assert backend.query(url, "SELECT name FROM items") == [("kept",)]
        backend.query(url, INSERT, ("raw write", 4))
        await done(pool.close())

    run(main)


@on_sqlite
@pytest.mark.parametrize("front", FRONTS)
def test_a_dirty_connection_is_replaced_on_release_and_a_clean_one_kept(
    backend: Backend, front: str
) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool(front, url, max_size=1)
        async with leased(pool) as connection:
            await done(connection.execute("CREATE TEMP TABLE scratch (x INTEGER)", ()))
        async with leased(pool) as again:
            assert again is connection  # clean: the same connection, its temp table kept
            await done(again.execute("SELECT x FROM scratch", ()))
            again.mark_dirty()
        assert connection.broken  # the reset closed it
        async with leased(pool) as fresh:
            assert fresh is not connection
            with pytest.raises(tenantdb.ProgrammingError, match="no such table"):
                await done(fresh.execute("SELECT x FROM scratch", ()))
        await done(pool.close())

    run(main)


# --- the asyncio front -----------------------------------------------------------------------


@on_sqlite
def test_each_connection_has_its_own_daemon_thread_which_close_ends(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool("asyncio", url, name="own_threads", min_size=2)
        first = await pool.acquire()
        second = await pool.acquire()
        threads = worker_threads("own_threads")
        assert len(threads) == 2
        assert all(thread.daemon for thread in threads)
        for connection in (first, second):
            await connection.execute("SELECT 1", ())
            await pool.release(connection)
        await pool.close()
        for thread in threads:
            thread.join(HANG_GUARD_S)
        assert worker_threads("own_threads") == []

    run(main)


@on_sqlite
def test_fifty_tasks_share_a_pool(backend: Backend) -> None:
    url = items(backend)
    tasks, per_task = 50, 4

    async def one(pool: Any, task: int) -> int:
        async with leased(pool) as connection:
            await connection.executemany(
                INSERT, [(f"t{task}-{n}", task) for n in range(per_task - 1)]
            )
        async with leased(pool) as connection:
            await connection.begin()
            await connection.execute(INSERT, (f"t{task}-last", task))
            await connection.commit()
        async with leased(pool) as connection:
            (stream,) = await connection.open_streams(
                [("SELECT name FROM items WHERE qty = ? ORDER BY name", (task,))], 2
            )
            names = []
            while batch := await stream.fetch():
                names += batch
            return len(names)

    async def main() -> list[int]:
        pool = open_pool("asyncio", url, max_size=8, timeout=HANG_GUARD_S)
        try:
            return await asyncio.gather(*(one(pool, task) for task in range(tasks)))
        finally:
            assert pool.in_use == 0
            await pool.close()

    assert run(main) == [per_task] * tasks
    assert backend.query(url, "SELECT count(*) FROM items") == [(tasks * per_task,)]


@on_sqlite
def test_a_cancelled_statement_is_interrupted_and_its_connection_discarded(
    backend: Backend,
) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool("asyncio", url, name="cancelled", max_size=1, timeout=HANG_GUARD_S)
        connection = await pool.acquire()
        await connection.begin()  # holds the write lock until the connection ends
        await connection.execute(INSERT, ("in the transaction", 1))
        (thread,) = worker_threads("cancelled")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(connection.execute(LONG_COUNT, ()), 1.0)
        assert connection.broken
        with pytest.raises(tenantdb.InterfaceError, match="broken by a cancelled call"):
            await connection.execute("SELECT 1", ())
        assert "broken" in repr(connection)
        await connection.rollback()  # only forgets its streams: the pool closes it
        await pool.release(connection)
        # Interrupted, the count stopped: the thread closed the connection (ending the
        # transaction and its lock) and ended, instead of counting on for minutes.
        while thread.is_alive():
            await asyncio.sleep(0.01)
        backend.query(url, INSERT, ("after", 2))
        async with leased(pool) as fresh:
            assert fresh is not connection
            rows = await fresh.execute("SELECT name FROM items", ())
            assert rows.rows == [("after",)]
        await pool.close()

    run(main)


@on_sqlite
def test_a_cancelled_wait_for_a_lock_leaves_the_caller_and_the_thread_closes_after(
    backend: Backend,
) -> None:
    url = items(backend)

    async def main() -> None:
        pool = open_pool("asyncio", url, name="blocked", max_size=1, timeout=3.0)
        connection = await pool.acquire()  # opened (and the file put in WAL mode) first
        blocker = backend.raw_connect(url)
        blocker.cursor().execute("BEGIN IMMEDIATE")
        try:
            # A write waits for the lock on the busy timeout (3 s), which interrupt() does
            # not stop: the caller gets its cancellation anyway (after a grace of 1 s).
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(connection.execute("DELETE FROM items", ()), 0.2)
            assert connection.broken
            await pool.release(connection)
        finally:
            blocker.cursor().execute("ROLLBACK")
            blocker.close()
        for thread in worker_threads("blocked"):
            while thread.is_alive():
                await asyncio.sleep(0.01)
        await pool.close()

    run(main)


def run_script(source: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter; fail if it has not exited in the hang guard."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )


@on_sqlite
@pytest.mark.parametrize(
    "ending",
    [
        pytest.param("await connection.execute('SELECT 1', ())", id="left-open"),
        pytest.param(
            f"await asyncio.wait_for(connection.execute({LONG_COUNT!r}, ()), 1.0)",
            id="cancelled-mid-statement",
        ),
    ],
)
def test_the_interpreter_exits_with_a_connection_left_open_or_cancelled(
    backend: Backend, ending: str, tmp_path: Path
) -> None:
    url = items(backend)
    script = f"""
        import asyncio
        from tenantdb._async import open_pool
        from tenantdb.config import PoolConfig

        KEPT = []

        async def main():
            pool = open_pool("ds0", {url!r}, PoolConfig(timeout=120.0))
            connection = await pool.acquire()
            KEPT.append((pool, connection))  # referenced to the end, never closed
            try:
                {ending}
            except TimeoutError:
                pass
            print("main returned", flush=True)

        asyncio.run(main())
    """
    finished = run_script(script)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "main returned\n"


@on_sqlite
def test_the_interpreter_exits_while_an_abandoned_call_still_waits_for_a_lock(
    backend: Backend,
) -> None:
    url = items(backend)
    script = f"""
        import asyncio, sqlite3
        from tenantdb._async import open_pool
        from tenantdb.config import PoolConfig

        KEPT = []

        async def main():
            # The busy timeout (120 s) is far beyond the hang guard.
            pool = open_pool("ds0", {url!r}, PoolConfig(timeout=120.0))
            connection = await pool.acquire()  # opened (and the file put in WAL mode) first
            blocker = sqlite3.connect({url!r}.removeprefix("sqlite:///"), isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            KEPT.append(blocker)  # holds the lock to the end
            try:  # the write waits for the lock
                await asyncio.wait_for(connection.execute("DELETE FROM items", ()), 0.2)
            except TimeoutError:
                print("cancelled", connection.broken, flush=True)
            await pool.release(connection)
            await pool.close()

        asyncio.run(main())
    """
    finished = run_script(script)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "cancelled True\n"
