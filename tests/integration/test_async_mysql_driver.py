"""The asyncio MySQL/MariaDB driver (``tenantdb._async``, on asyncmy) on a real server:
statements, streams, transactions, the connection reset, lost and interrupted connections,
connecting, the pool.

The thread front runs the code generated from the same source on PyMySQL;
``test_drivers.py``, the session suites and ``test_connect_timeout.py`` cover it. Each
test runs its coroutine with ``asyncio.run`` under a hang guard (no test here asserts how
fast something is).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import tenantdb
from tenantdb._async import AsyncConnection, AsyncPool, AsyncStream, connect_mysql, open_pool
from tenantdb.config import PoolConfig
from tenantdb.drivers import is_undefined_table

from .conftest import Backend
from .test_connect_timeout import SilentServer

HANG_GUARD_S = 30.0
MYSQL = [pytest.param("mysql", marks=pytest.mark.mysql)]
on_mysql = pytest.mark.parametrize("backend", MYSQL, indirect=True)

T = TypeVar("T")
OWN_ID = "SELECT CONNECTION_ID()"
INSERT = "INSERT INTO items (name, qty) VALUES (%s, %s)"
# What the server is doing for one connection: no row once the connection is gone.
PROCESS = "SELECT COMMAND, INFO FROM information_schema.PROCESSLIST WHERE ID = %s"


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), HANG_GUARD_S)

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
        "CREATE TABLE items (id INTEGER AUTO_INCREMENT PRIMARY KEY,"
        " name VARCHAR(50) NOT NULL UNIQUE, qty INTEGER NOT NULL)",
    )
    for n in range(1, rows + 1):
        backend.query(url, INSERT, (f"item{n}", n))
    return url


async def one(connection: AsyncConnection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The single value ``sql`` returns."""
    ((value,),) = (await connection.execute(sql, params)).rows
    return value


# --- statements ------------------------------------------------------------------------


@on_mysql
def test_execute_and_executemany_return_rows_counts_and_ids(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            ids = [(await connection.execute(INSERT, (f"n{n}", n))).lastrowid for n in (1, 2)]
            assert ids == [1, 2]
            assert await connection.executemany(INSERT, [("n3", 3), ("n4", 4), ("n5", 5)]) == 3
            update = "UPDATE items SET qty = 0 WHERE qty >= %s"
            assert await connection.executemany(update, [(5,), (3,)]) == 1 + 2
            assert await connection.executemany(INSERT, []) == 0
            # Rows matched, not rows changed (FOUND_ROWS).
            assert (await connection.execute("UPDATE items SET qty = qty", ())).rowcount == 5
            read = await connection.execute("SELECT name, qty FROM items WHERE id <= %s", (2,))
            assert (read.rows, read.rowcount, read.lastrowid) == ([("n1", 1), ("n2", 2)], 2, None)
            assert read.description is not None
            assert [column[0] for column in read.description] == ["name", "qty"]
            assert all(len(column) == 7 for column in read.description)
            literal = await connection.execute("SELECT 'a%%b', %s", ("c%d",))
            assert literal.rows == [("a%b", "c%d")]

    run(main)
    assert backend.query(url, "SELECT qty FROM items ORDER BY id") == [(1,), (2,), (0,), (0,), (0,)]


@on_mysql
def test_errors_are_translated_with_their_context(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            await connection.execute(INSERT, ("secret-name-42", 1))
            with pytest.raises(tenantdb.IntegrityError) as duplicate:
                await connection.execute(INSERT, ("secret-name-42", 2))
            assert (duplicate.value.datasource, duplicate.value.statement) == ("ds0", INSERT)
            assert "secret-name-42" not in str(duplicate.value)
            assert type(duplicate.value.orig).__module__ == "asyncmy.errors"
            with pytest.raises(tenantdb.ProgrammingError) as missing:
                await connection.execute("SELECT * FROM no_such_table", ())
            assert is_undefined_table(missing.value.orig)
            with pytest.raises(tenantdb.ProgrammingError, match="placeholders"):
                await connection.execute("SELECT %s, %s", (1,))
            assert not connection.broken
            assert await one(connection, "SELECT 1") == 1

    run(main)


@on_mysql
def test_a_client_side_internal_error_counts_as_a_lost_connection(backend: Backend) -> None:
    # asyncmy raises InternalError on a packet out of sequence and keeps the connection
    # open (PyMySQL closes it); either way the connection's place in the protocol is lost.
    from asyncmy.errors import InternalError

    url = backend.new_database()

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            desync = InternalError("Packet sequence number wrong - got 7 expected 1")
            error = connection._error(desync, "SELECT 1")  # type: ignore[attr-defined]
            assert isinstance(error, tenantdb.ShardUnavailableError)
            assert connection.broken

    run(main)


# --- streams ---------------------------------------------------------------------------

STREAMED = [
    "SELECT id, name FROM items WHERE id <= 10 ORDER BY id",
    "SELECT id, name FROM items WHERE id > 10 AND id <= 17 ORDER BY id",
    "SELECT id, name FROM items WHERE id > 17 ORDER BY id",
]
_DIGITS = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL \
SELECT 9)"
# 100 000 rows without a table.
MANY_ROWS = (
    f"SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n "
    f"FROM {_DIGITS} a, {_DIGITS} b, {_DIGITS} c, {_DIGITS} e, {_DIGITS} f"
)


@on_mysql
def test_streams_read_interleaved_and_the_unread_one_blocks_other_statements(
    backend: Backend,
) -> None:
    url = items(backend, rows=25)

    async def main() -> None:
        async with pool_of(url) as pool, leased(pool) as connection:
            streams = await connection.open_streams([(s, ()) for s in STREAMED], batch_size=4)
            assert [s.description and s.description[1][0] for s in streams] == ["name"] * 3
            results: list[list[Any]] = [[], [], []]
            live = {0, 1, 2}
            while live:
                for index in sorted(live):
                    batch = await streams[index].fetch()
                    assert len(batch) <= 4
                    results[index] += batch
                    if not batch:
                        live.discard(index)
            expected = [(n, f"item{n}") for n in range(1, 26)]
            assert results == [expected[:10], expected[10:17], expected[17:]]

            (stream,) = await connection.open_streams([(STREAMED[0], ())], batch_size=2)
            await stream.fetch()
            with pytest.raises(tenantdb.InterfaceError, match="close"):
                await connection.execute("SELECT 1", ())
            await stream.close()
            await stream.close()  # idempotent
            assert await stream.fetch() == []
            assert await one(connection, "SELECT count(*) FROM items") == 25

    run(main)


@on_mysql
def test_a_long_stream_closed_early_costs_the_connection_only_outside_a_transaction(
    backend: Backend,
) -> None:
    url = backend.new_database()

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                (stream,) = await connection.open_streams([(MANY_ROWS, ())], batch_size=100)
                assert len(await stream.fetch()) == 100
                await stream.close()
                assert connection.broken  # dropped rather than read to the end
            async with leased(pool) as connection:
                assert not connection.broken
                await connection.begin()
                (stream,) = await connection.open_streams([(MANY_ROWS, ())], batch_size=100)
                assert len(await stream.fetch()) == 100
                await stream.close()
                # Inside a transaction the rest is read off: the transaction survives.
                assert not connection.broken
                assert connection.in_transaction
                assert await one(connection, "SELECT 1") == 1
                await connection.rollback()

    run(main)


@on_mysql
def test_a_stream_released_unread_is_cleaned_up_by_the_pool(backend: Backend) -> None:
    url = items(backend, rows=25)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                streams = await connection.open_streams([(s, ()) for s in STREAMED], 2)
                await streams[2].fetch()
            assert await streams[2].fetch() == []
            async with leased(pool) as again:
                assert not again.broken
                assert await one(again, "SELECT count(*) FROM items") == 25

    run(main)


# --- transactions and the reset --------------------------------------------------------


@on_mysql
def test_commit_keeps_rollback_discards_and_release_rolls_back(backend: Backend) -> None:
    url = items(backend)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                await connection.begin()
                with pytest.raises(tenantdb.InterfaceError, match="already open"):
                    await connection.begin()
                await connection.execute(INSERT, ("kept", 1))
                assert backend.query(url, "SELECT name FROM items") == []
                await connection.commit()
                assert not connection.in_transaction
                await connection.begin()
                await connection.execute(INSERT, ("discarded", 2))
                await connection.rollback()
                await connection.commit()  # no-op outside a transaction
                await connection.begin()
                await connection.execute(INSERT, ("released", 3))
            async with leased(pool) as again:
                assert not again.in_transaction

    run(main)
    assert backend.query(url, "SELECT name FROM items") == [("kept",)]


@on_mysql
def test_release_resets_a_dirty_session_to_what_connecting_set_up(backend: Backend) -> None:
    url, other = backend.new_databases(2)
    database = url.rsplit("/", 1)[1]
    settings = "SELECT @marker, DATABASE(), @@character_set_client, @@autocommit"

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                own = await one(connection, OWN_ID)
                await connection.execute("SET @marker = 42", ())
            async with leased(pool) as connection:
                # Not marked dirty: only rolled back, so the user variable stays.
                assert await one(connection, OWN_ID) == own
                assert await one(connection, "SELECT @marker") == 42
                await connection.execute("SET SESSION sql_mode = 'ANSI_QUOTES'", ())
                await connection.execute("CREATE TEMPORARY TABLE scratch (x INTEGER)", ())
                await connection.execute(f"USE `{other.rsplit('/', 1)[1]}`", ())
                await connection.execute("SET NAMES latin1", ())
                await connection.execute("SET autocommit = 0", ())
                connection.mark_dirty()
            async with leased(pool) as connection:
                assert await one(connection, OWN_ID) == own  # the same server session
                row = (await connection.execute(settings, ())).rows[0]
                assert row == (None, database, "utf8mb4", 1)
                session_mode = await one(connection, "SELECT @@SESSION.sql_mode")
                assert session_mode == await one(connection, "SELECT @@GLOBAL.sql_mode")
                with pytest.raises(tenantdb.ProgrammingError) as gone:
                    await connection.execute("SELECT x FROM scratch", ())
                assert is_undefined_table(gone.value.orig)
                assert not connection.in_transaction

    run(main)


# --- lost and interrupted connections --------------------------------------------------


@on_mysql
def test_a_killed_connection_is_broken_and_the_pool_replaces_it(backend: Backend) -> None:
    url = backend.new_database()

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                victim = await one(connection, OWN_ID)
                backend.query(url, "KILL %s", (victim,))  # from a raw PyMySQL connection
                with pytest.raises(tenantdb.ShardUnavailableError) as info:
                    await connection.execute("SELECT 1", ())
                assert info.value.datasource == "ds0"
                assert connection.broken
            async with leased(pool) as fresh:
                assert not fresh.broken
                assert await one(fresh, OWN_ID) != victim

    run(main)


@on_mysql
@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_a_statement_cancelled_with_its_task_stops_on_the_server(
    backend: Backend, in_transaction: bool
) -> None:
    url = items(backend, rows=1)

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                thread = await one(connection, OWN_ID)
                if in_transaction:
                    await connection.begin()
                    await connection.execute(INSERT, ("uncommitted", 2))
                    await connection.execute("SELECT id FROM items WHERE id = 1 FOR UPDATE", ())
                task = asyncio.ensure_future(connection.execute("SELECT SLEEP(5)", ()))
                await asyncio.sleep(0.2)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert connection.broken
                # Nothing of this connection still runs on the server (closing the socket
                # alone would leave SLEEP running for the rest of its 5 s) ...
                process = backend.query(url, PROCESS, (thread,))
                assert all(command != "Query" for command, _ in process), process
                if in_transaction:
                    # ... nor holds the transaction's locks.
                    locked = "SELECT id FROM items WHERE id = 1 FOR UPDATE NOWAIT"
                    assert backend.query(url, locked) == [(1,)]
            async with leased(pool) as again:
                assert not again.broken
                assert not again.in_transaction
                assert await one(again, OWN_ID) != thread

    run(main)
    assert backend.query(url, "SELECT name FROM items") == [("item1",)]


async def read_all(stream: AsyncStream) -> None:
    while await stream.fetch():
        pass


@on_mysql
def test_a_deadline_passing_mid_stream_leaves_nothing_running(backend: Backend) -> None:
    url = backend.new_database()
    # Ten rows, one each half second (rows this wide leave the server one at a time).
    slow = f"SELECT d, REPEAT('x', 65536), SLEEP(0.5) FROM {_DIGITS} t"

    async def main() -> None:
        async with pool_of(url, max_size=1) as pool:
            async with leased(pool) as connection:
                thread = await one(connection, OWN_ID)
                (stream,) = await connection.open_streams([(slow, ())], batch_size=1)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(read_all(stream), 0.2)
                assert connection.broken
                assert await stream.fetch() == []
                process = backend.query(url, PROCESS, (thread,))
                assert all(command != "Query" for command, _ in process), process
            async with leased(pool) as again:
                assert await one(again, OWN_ID) != thread

    run(main)


# --- connecting and the pool -----------------------------------------------------------


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_server_that_never_answers_is_a_connect_timeout(silent: SilentServer) -> None:
    url = f"mysql://app:s3cret-pw@127.0.0.1:{silent.port}/app?connect_timeout=1"

    async def main() -> None:
        async with pool_of(url, timeout=1.0) as pool:
            with pytest.raises(tenantdb.ShardUnavailableError) as info:
                await pool.acquire()
        message = str(info.value)
        assert f"127.0.0.1:{silent.port}" in message
        assert "timed out" in message
        assert "s3cret-pw" not in message

    run(main)
    assert silent.accepted >= 1  # the TCP connect did succeed: only the handshake hung


@on_mysql
def test_a_direct_connection_opens_and_closes(backend: Backend) -> None:
    url = backend.new_database()

    async def main() -> None:
        connection = await connect_mysql(url, datasource="ds0", role="replica")
        try:
            assert await one(connection, "SELECT 41 + 1") == 42
        finally:
            await connection.close()
        assert connection.broken  # closed
        with pytest.raises(tenantdb.ShardUnavailableError) as info:
            await connect_mysql("mysql://app:pw-9@127.0.0.1:1/x", datasource="ds0")
        assert "127.0.0.1:1" in str(info.value)
        assert "pw-9" not in str(info.value)

    run(main)


@on_mysql
def test_the_pool_reuses_connections_and_closes_them(backend: Backend) -> None:
    url = backend.new_database()
    database = url.rsplit("/", 1)[1]
    sessions = "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = %s"

    async def main() -> None:
        async with pool_of(url, min_size=2, max_size=3) as pool:
            assert backend.query(url, sessions, (database,)) == [(1,)]  # the query's own
            async with leased(pool) as first:
                own = await one(first, OWN_ID)
            assert repr(pool) == "<Pool ds0 [0 in use, 2 idle, max 3]>"
            async with leased(pool) as again:
                assert await one(again, OWN_ID) == own
        assert backend.query(url, sessions, (database,)) == [(1,)]

    run(main)


def test_a_mysql_url_gets_this_fronts_driver_and_a_missing_one_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = open_pool("ds0", "mariadb://app@db/x", PoolConfig())
    assert repr(pool) == "<Pool ds0 [0 in use, 0 idle, max 10]>"
    with pytest.raises(tenantdb.ConfigError, match="unknown parameter 'sslmode'"):
        open_pool("ds0", "mysql://app@db/x?sslmode=require", PoolConfig())
    monkeypatch.setitem(sys.modules, "asyncmy", None)  # makes "import asyncmy" fail
    extra = r"pip install 'tenantdb\[mysql-async\]'"
    with pytest.raises(tenantdb.InterfaceError, match=extra):
        open_pool("ds0", "mysql://app@db/x", PoolConfig())
    with pytest.raises(tenantdb.InterfaceError, match=extra):
        run(lambda: connect_mysql("mysql://app@db/x", datasource="ds0"))


# --- connect parameters (no server) ----------------------------------------------------

CA_FILE = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")


def test_one_url_serves_both_fronts() -> None:
    from tenantdb._async._mysql import connect_params as asyncio_params
    from tenantdb._sync._mysql import connect_params as thread_params

    url = "mysql://u:p%40ss@db:3307/app?read_timeout=7&write_timeout=5&ssl_ca=/ca.pem"
    on_asyncio, on_threads = asyncio_params(url, timeout=2.5), thread_params(url, timeout=2.5)
    # asyncmy has no write timeout (asyncio writes never block); PyMySQL keeps it.
    assert "write_timeout" not in on_asyncio
    assert on_threads.pop("write_timeout") == 5
    assert on_asyncio == on_threads
    assert on_asyncio["password"] == "p@ss"
    assert (on_asyncio["connect_timeout"], on_asyncio["read_timeout"]) == (3, 7)
    tls = {"ca": "/ca.pem", "check_hostname": False, "verify_mode": False}
    assert on_asyncio["ssl"] == tls
    for bad in ("soon", "0"):
        with pytest.raises(tenantdb.ConfigError, match="read_timeout must be a whole number"):
            asyncio_params(f"mysql://u@db/app?read_timeout={bad}", timeout=1)


@pytest.mark.skipif(not CA_FILE.is_file(), reason="no CA bundle to load")
def test_the_tls_mapping_is_what_pymysql_made_of_its_ssl_keywords() -> None:
    # The thread front used to pass ssl_ca to PyMySQL; it now passes the mapping both drivers
    # take. PyMySQL must build the same TLS context from it.
    import pymysql
    from asyncmy import Connection as AsyncmyConnection

    from tenantdb._sync._mysql import connect_params

    params = connect_params(f"mysql://u@db/app?ssl_ca={CA_FILE}", timeout=1)
    keywords = pymysql.Connection(host="db", ssl_ca=str(CA_FILE), defer_connect=True)
    mapping = pymysql.Connection(host="db", ssl=params["ssl"], defer_connect=True)
    expected = (keywords.ctx.verify_mode, keywords.ctx.check_hostname)
    assert (mapping.ctx.verify_mode, mapping.ctx.check_hostname) == expected
    assert keywords._ssl_required  # type: ignore[attr-defined]
    assert mapping._ssl_required  # type: ignore[attr-defined]

    async def on_asyncmy() -> tuple[Any, Any]:
        context = AsyncmyConnection(host="db", ssl=params["ssl"])._ssl_context
        return context.verify_mode, context.check_hostname

    assert run(on_asyncmy) == expected
