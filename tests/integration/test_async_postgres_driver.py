"""The asyncio PostgreSQL driver (``tenantdb._async``) on a real server: statements, streams,
transactions, the connection reset, lost connections, interrupted statements, the pool.

The thread front runs the code generated from the same source; ``test_drivers.py`` and the
session suites cover it, and the interrupted-statement case runs here on both fronts. Each
test runs its coroutine with ``asyncio.run`` under a hang guard (no test here asserts how
fast something is).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest

import tenantdb
from tenantdb._async import AsyncConnection, AsyncPool, connect_postgres, open_pool
from tenantdb._sync import open_pool as open_thread_pool
from tenantdb.config import PoolConfig

from .conftest import Backend

HANG_GUARD_S = 30.0
POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]
on_postgres = pytest.mark.parametrize("backend", POSTGRES, indirect=True)

T = TypeVar("T")
OWN_PID = "SELECT pg_backend_pid()"
INSERT = "INSERT INTO items (name, qty) VALUES (%s, %s)"


def run(main: Callable[[], Awaitable[T]], guard_s: float = HANG_GUARD_S) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), guard_s)

    return asyncio.run(guarded())


@contextlib.asynccontextmanager
async def pool_of(
    url: str, *, min_size: int = 1, max_size: int = 3, timeout: float = 5.0
) -> AsyncIterator[AsyncPool]:
    pool = open_pool("ds0", url, PoolConfig(min_size=min_size, max_size=max_size, timeout=timeout))
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def leased(pool: AsyncPool) -> AsyncIterator[AsyncConnection]:
    connection = await pool.acquire()
    try:
        yield connection
    finally:
        await pool.release(connection)


def items(backend: Backend, rows: int = 0) -> str:
    """A fresh database with table ``items`` holding ``rows`` rows; its URL."""
    url = backend.new_database()
    backend.query(
        url,
        "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
        " qty INTEGER NOT NULL)",
    )
    if rows:
        backend.query(
            url,
            "INSERT INTO items (name, qty) SELECT 'item' || n, n FROM generate_series(1, %s) n",
            (rows,),
        )
    return url


def backend_state(backend: Backend, url: str, pid: int) -> tuple[str, str] | None:
    """(state, query) of server process ``pid`` in ``pg_stat_activity``; None once gone."""
    rows = backend.query(url, "SELECT state, query FROM pg_stat_activity WHERE pid = %s", (pid,))
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


# --- statements ------------------------------------------------------------------------


@on_postgres
def test_execute_and_executemany_return_rows_and_counts(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            inserted = await connection.execute(INSERT, ("a", 1))
            assert (inserted.description, inserted.rows, inserted.rowcount) == (None, [], 1)
            assert inserted.lastrowid is None
            assert await connection.executemany(INSERT, [("b", 2), ("c", 3)]) == 2
            assert await connection.executemany(INSERT, []) == 0
            read = await connection.execute(
                "SELECT name, qty FROM items WHERE qty >= %s ORDER BY id", (2,)
            )
            assert read.rows == [("b", 2), ("c", 3)]
            assert read.rowcount == 2
            assert read.description is not None
            assert [column[0] for column in read.description] == ["name", "qty"]
            literal = await connection.execute("SELECT 'a%%b'", ())
            assert literal.rows == [("a%b",)]

    run(main)
    assert backend.query(url, "SELECT name FROM items ORDER BY id") == [("a",), ("b",), ("c",)]


@on_postgres
def test_errors_are_translated_with_their_context(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            await connection.execute(INSERT, ("a", 1))
            with pytest.raises(tenantdb.IntegrityError) as info:
                await connection.execute(INSERT, ("a", 2))
            assert (info.value.datasource, info.value.statement) == ("ds0", INSERT)
            assert "SQLSTATE 23505" in str(info.value)
            with pytest.raises(tenantdb.ProgrammingError):
                await connection.execute("SELEC 1", ())
            assert not connection.broken
            assert (await connection.execute("SELECT 1", ())).rows == [(1,)]

    run(main)


# --- streams ---------------------------------------------------------------------------


@on_postgres
def test_streams_read_interleaved_in_their_own_read_transaction(backend: Backend) -> None:
    url = items(backend, rows=250)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            streams = await connection.open_streams(
                [
                    ("SELECT id FROM items WHERE qty <= %s ORDER BY id", (200,)),
                    ("SELECT id FROM items WHERE qty > %s ORDER BY id", (200,)),
                ],
                batch_size=100,
            )
            assert connection.in_transaction
            seen: list[list[int]] = [[], []]
            pending = dict(enumerate(streams))
            while pending:
                for index, stream in list(pending.items()):
                    batch = await stream.fetch()
                    seen[index] += [row[0] for row in batch]
                    if len(batch) < 100:
                        del pending[index]
            assert seen == [list(range(1, 201)), list(range(201, 251))]
            # The last stream to end closed the read transaction it ran in.
            assert not connection.in_transaction
            with pytest.raises(tenantdb.InterfaceError, match="batch_size"):
                await connection.open_streams([("SELECT 1", ())], batch_size=0)

    run(main)


@on_postgres
def test_streams_inside_a_transaction_share_it_and_a_release_cleans_up(backend: Backend) -> None:
    url = items(backend, rows=10)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                await connection.begin()
                await connection.execute(INSERT, ("new", 11))
                (stream,) = await connection.open_streams(
                    [("SELECT count(*) FROM items", ())], batch_size=5
                )
                assert await stream.fetch() == [(11,)]  # sees the transaction's own write
                assert connection.in_transaction
                (unread,) = await connection.open_streams(
                    [("SELECT id FROM items", ())], batch_size=2
                )
                assert len(await unread.fetch()) == 2
            async with leased(pool) as again:
                assert not again.in_transaction
                assert (await again.execute("SELECT count(*) FROM items", ())).rows == [(10,)]

    run(main)


# --- transactions ----------------------------------------------------------------------


@on_postgres
def test_commit_keeps_rollback_discards_and_an_aborted_transaction_commits_nothing(
    backend: Backend,
) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            await connection.begin()
            with pytest.raises(tenantdb.InterfaceError, match="already open"):
                await connection.begin()
            await connection.execute(INSERT, ("kept", 1))
            await connection.commit()
            await connection.begin()
            await connection.execute(INSERT, ("discarded", 2))
            await connection.rollback()
            await connection.begin()
            await connection.execute(INSERT, ("lost", 3))
            with pytest.raises(tenantdb.IntegrityError):
                await connection.execute(INSERT, ("kept", 4))
            with pytest.raises(tenantdb.OperationalError, match="nothing was committed"):
                await connection.commit()
            assert not connection.in_transaction
            await connection.commit()  # no-op outside a transaction

    run(main)
    assert backend.query(url, "SELECT name FROM items") == [("kept",)]


@on_postgres
def test_release_rolls_back_and_resets_a_dirty_session_only(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                ((pid,),) = (await connection.execute(OWN_PID, ())).rows
                await connection.execute("SET application_name = 'changed'", ())
                await connection.begin()
                await connection.execute(INSERT, ("uncommitted", 1))
            async with leased(pool) as connection:
                assert (await connection.execute(OWN_PID, ())).rows == [(pid,)]
                assert not connection.in_transaction
                # Not marked dirty: only rolled back, the setting stays.
                show = await connection.execute("SHOW application_name", ())
                assert show.rows == [("changed",)]
                await connection.execute("CREATE TEMPORARY TABLE scratch (x INTEGER)", ())
                connection.mark_dirty()
            async with leased(pool) as connection:
                assert (await connection.execute(OWN_PID, ())).rows == [(pid,)]
                show = await connection.execute("SHOW application_name", ())
                assert show.rows == [("",)]
                scratch = await connection.execute("SELECT to_regclass('pg_temp.scratch')", ())
                assert scratch.rows == [(None,)]

    run(main)
    assert backend.query(url, "SELECT count(*) FROM items") == [(0,)]


# --- lost and interrupted connections --------------------------------------------------


@on_postgres
def test_a_killed_backend_leaves_a_broken_connection_that_the_pool_replaces(
    backend: Backend,
) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                ((victim,),) = (await connection.execute(OWN_PID, ())).rows
                backend.query(url, "SELECT pg_terminate_backend(%s)", (victim,))
                with pytest.raises(tenantdb.ShardUnavailableError):
                    await connection.execute("SELECT 1", ())
                assert connection.broken
            async with leased(pool) as fresh:
                assert not fresh.broken
                ((replacement,),) = (await fresh.execute(OWN_PID, ())).rows
                assert replacement != victim

    run(main)


# Longer than psycopg's own 5 s wait for a cancelled statement to end, so that a cancel
# request that never reached the server would leave it running (and this test failing).
CANCELLED_SLEEP = "SELECT pg_sleep(60)"


@on_postgres
@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_a_statement_cancelled_with_its_task_stops_on_the_server(
    backend: Backend, in_transaction: bool
) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                ((pid,),) = (await connection.execute(OWN_PID, ())).rows
                if in_transaction:
                    await connection.begin()
                    await connection.execute(INSERT, ("uncommitted", 1))
                task = asyncio.ensure_future(connection.execute(CANCELLED_SLEEP, ()))
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # No statement of this connection is still running on the server.
                state = backend_state(backend, url, pid)
                assert state is None or state[0] != "active", state
            async with leased(pool) as again:
                assert not again.broken
                assert not again.in_transaction
                assert (await again.execute("SELECT 1", ())).rows == [(1,)]

    run(main)
    assert backend.query(url, "SELECT count(*) FROM items") == [(0,)]


def _wait_until_not_running(backend: Backend, url: str, pid: int) -> tuple[str, str] | None:
    # Polls within the hang guard; the statement left running sleeps longer than that.
    deadline = time.monotonic() + HANG_GUARD_S
    state = backend_state(backend, url, pid)
    while state is not None and state[0] == "active" and time.monotonic() < deadline:
        time.sleep(0.05)
        state = backend_state(backend, url, pid)
    return state


LONG_SLEEP = b"SELECT pg_sleep(120)"  # outlasts the hang guard


@on_postgres
@pytest.mark.parametrize("front", ["asyncio", "threads"])
def test_a_connection_left_busy_mid_statement_is_cancelled_and_discarded(
    backend: Backend, front: str
) -> None:
    """What an interruption psycopg could not clean up leaves behind (older psycopg; the
    statement sent straight through libpq here): the connection is busy between calls.
    It must count as broken, and its release must stop the statement on the server
    (psycopg's close() alone would leave it running) before the pool replaces it."""
    url = items(backend)
    if front == "threads":
        config = PoolConfig(min_size=1, max_size=1, timeout=5.0)
        pool = open_thread_pool("ds0", url, config)
        try:
            connection = pool.acquire()
            ((pid,),) = connection.execute(OWN_PID, ()).rows
            connection._raw.pgconn.send_query(LONG_SLEEP)  # type: ignore[attr-defined]
            assert connection.broken
            pool.release(connection)
            state = _wait_until_not_running(backend, url, pid)
            assert state is None or state[0] != "active", state
            fresh = pool.acquire()
            assert fresh.execute(OWN_PID, ()).rows != [(pid,)]
            pool.release(fresh)
        finally:
            pool.close()
        return

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            connection = await pool.acquire()
            ((pid,),) = (await connection.execute(OWN_PID, ())).rows
            connection._raw.pgconn.send_query(LONG_SLEEP)  # type: ignore[attr-defined]
            assert connection.broken
            await pool.release(connection)
            state = _wait_until_not_running(backend, url, pid)
            assert state is None or state[0] != "active", state
            async with leased(pool) as fresh:
                assert (await fresh.execute(OWN_PID, ())).rows != [(pid,)]

    # The poll above blocks the loop for up to HANG_GUARD_S: the whole run gets twice that.
    run(main, guard_s=2 * HANG_GUARD_S)


@on_postgres
def test_a_direct_connection_opens_and_closes(backend: Backend) -> None:
    url = backend.new_database()

    async def main() -> None:
        connection = await connect_postgres(url, datasource="ds0", role="replica")
        try:
            assert (await connection.execute("SELECT 41 + 1", ())).rows == [(42,)]
        finally:
            await connection.close()
        assert connection.broken  # closed
        with pytest.raises(tenantdb.ShardUnavailableError):
            await connect_postgres("postgresql://postgres@127.0.0.1:1/x", datasource="ds0")

    run(main)


# --- the pool --------------------------------------------------------------------------


def _sessions(backend: Backend, url: str) -> int:
    """Server sessions on the database of ``url``, besides the one asking."""
    database = url.rsplit("/", 1)[1]
    rows = backend.query(
        url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
    )
    return int(rows[0][0]) - 1


def _sessions_once_settled(backend: Backend, url: str) -> int:
    # A closed session leaves pg_stat_activity when its server process has exited.
    deadline = time.monotonic() + HANG_GUARD_S
    count = _sessions(backend, url)
    while count and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _sessions(backend, url)
    return count


@on_postgres
def test_a_pool_opens_on_first_use_in_the_running_loop_and_closes(backend: Backend) -> None:
    url = backend.new_database()
    # Built outside any event loop, without a warning (psycopg_pool warns when an asyncio
    # pool is opened in its constructor; warnings are errors in this suite anyway).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pool = open_pool("ds0", url, PoolConfig(min_size=1, max_size=2, timeout=5.0))
    assert _sessions(backend, url) == 0
    assert "0 in use" in repr(pool)

    async def main() -> None:
        async with leased(pool) as connection:
            assert (await connection.execute("SELECT 1", ())).rows == [(1,)]
            assert "1 in use" in repr(pool)
        await pool.close()
        await pool.close()  # idempotent
        with pytest.raises(tenantdb.InterfaceError):
            await pool.acquire()

    run(main)
    assert _sessions_once_settled(backend, url) == 0
    assert "closed" in repr(pool)


@on_postgres
def test_a_full_pool_times_out_and_foreign_connections_are_refused(backend: Backend) -> None:
    url = backend.new_database()

    async def main() -> None:
        async with pool_of(url, max_size=1, timeout=1.0) as pool, pool_of(url) as other:
            held = await pool.acquire()
            with pytest.raises(tenantdb.PoolTimeoutError) as info:
                await pool.acquire()
            assert info.value.datasource == "ds0"
            with pytest.raises(tenantdb.InterfaceError, match="not checked out"):
                await other.release(held)
            await pool.release(held)
            with pytest.raises(tenantdb.InterfaceError, match="released twice"):
                await pool.release(held)
            with pytest.raises(tenantdb.InterfaceError, match="was released"):
                await held.execute("SELECT 1", ())

    run(main)


@on_postgres
def test_an_unreachable_server_is_shard_unavailable_at_once(backend: Backend) -> None:
    async def main() -> None:
        # Port 1 refuses connections: the first failed attempt is reported with its reason.
        async with pool_of("postgresql://postgres@127.0.0.1:1/x", timeout=20.0) as pool:
            with pytest.raises(tenantdb.ShardUnavailableError) as info:
                await pool.acquire()
            assert info.value.datasource == "ds0"

    run(main)


def test_the_asyncio_factory_refuses_an_unknown_scheme() -> None:
    with pytest.raises(tenantdb.ConfigError, match="unsupported URL"):
        open_pool("ds0", "oracle://app@db/x", PoolConfig())


@pytest.mark.parametrize("module", ["psycopg", "psycopg_pool"])
def test_a_missing_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes "import <module>" fail
    with pytest.raises(tenantdb.InterfaceError, match=r"pip install 'tenantdb\[postgres\]'"):
        open_pool("ds0", "postgresql://app@db/x", PoolConfig())
    with pytest.raises(tenantdb.InterfaceError, match=r"pip install 'tenantdb\[postgres\]'"):
        run(lambda: connect_postgres("postgresql://app@db/x", datasource="ds0"))
