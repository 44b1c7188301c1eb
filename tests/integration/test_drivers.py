"""The driver layer on real databases: connections, streams, transactions, pools, errors.

Every test runs through ``open_pool`` on the backend's own databases, and checks data with
the backend's raw driver where the point is what reached the database.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from tenantdb._sync import Connection, Pool, open_pool
from tenantdb.config import PoolConfig

from .conftest import Backend

#: Only catches a hang; no test here asserts how fast something is.
HANG_GUARD_S = 30.0

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
POSTGRES = [pytest.param("postgres", marks=pytest.mark.postgres)]
MYSQL = [pytest.param("mysql", marks=pytest.mark.mysql)]

_ID = {
    "sqlite": "id INTEGER PRIMARY KEY",
    "postgres": "id SERIAL PRIMARY KEY",
    "mysql": "id INTEGER AUTO_INCREMENT PRIMARY KEY",
}

MakePool = Callable[..., Pool]


def create_items(backend: Backend, url: str, rows: int = 0) -> None:
    """Create table ``items`` (id auto-generated, unique name, qty) with ``rows`` rows."""
    backend.query(
        url,
        f"CREATE TABLE items ({_ID[backend.name]}, name VARCHAR(50) NOT NULL UNIQUE,"
        " qty INTEGER NOT NULL)",
    )
    p = backend.placeholder
    for n in range(1, rows + 1):
        backend.query(url, f"INSERT INTO items (name, qty) VALUES ({p}, {p})", (f"item{n}", n))


@pytest.fixture
def make_pool() -> Iterator[MakePool]:
    """Open pools with ``open_pool`` (datasource ``ds0`` unless told); close them after."""
    pools: list[Pool] = []

    def make(
        url: str,
        *,
        name: str = "ds0",
        role: str = "primary",
        min_size: int = 1,
        max_size: int = 5,
        timeout: float = 5.0,
        create_dirs: bool = False,
    ) -> Pool:
        config = PoolConfig(min_size=min_size, max_size=max_size, timeout=timeout)
        pool = open_pool(name, url, config, role=role, create_dirs=create_dirs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@contextlib.contextmanager
def leased(pool: Pool) -> Iterator[Connection]:
    connection = pool.acquire()
    try:
        yield connection
    finally:
        pool.release(connection)


def sql(backend: Backend, text: str) -> str:
    """``text`` written with ``%s`` placeholders, in the backend's own placeholder style."""
    return text.replace("%s", backend.placeholder)


# --- statements ------------------------------------------------------------------------


def test_execute_returns_rows_rowcount_description_and_lastrowid(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url)
    with leased(make_pool(url)) as connection:
        insert = sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)")
        ids = [connection.execute(insert, (f"n{n}", n)).lastrowid for n in (1, 2, 3)]
        assert ids == ([None, None, None] if backend.name == "postgres" else [1, 2, 3])

        outcome = connection.execute("SELECT id, name, qty FROM items ORDER BY id", ())
        assert outcome.rows == [(1, "n1", 1), (2, "n2", 2), (3, "n3", 3)]
        assert outcome.rowcount == 3
        assert outcome.description is not None
        assert [column[0] for column in outcome.description] == ["id", "name", "qty"]
        assert all(len(column) == 7 for column in outcome.description)
        assert outcome.lastrowid is None

        update = connection.execute(
            sql(backend, "UPDATE items SET qty = qty + 1 WHERE id >= %s"), (2,)
        )
        assert (update.rowcount, update.rows, update.description) == (2, [], None)
        # Rows matched, not rows changed, on every backend (MySQL needs FOUND_ROWS for this).
        assert connection.execute("UPDATE items SET qty = qty", ()).rowcount == 3
        assert (
            connection.execute(sql(backend, "DELETE FROM items WHERE id = %s"), (1,)).rowcount == 1
        )
        assert (
            connection.execute(sql(backend, "DELETE FROM items WHERE id = %s"), (1,)).rowcount == 0
        )

    assert backend.query(url, "SELECT id, qty FROM items ORDER BY id") == [(2, 3), (3, 4)]


def test_a_description_read_late_describes_its_own_statement(
    backend: Backend, make_pool: MakePool
) -> None:
    # PostgreSQL builds a small result's description on its first read: read after the
    # connection went back and served other statements, it still describes its own.
    url = backend.new_database()
    create_items(backend, url, rows=150)
    pool = make_pool(url, max_size=1)
    with leased(pool) as connection:
        small = connection.execute("SELECT id, name FROM items WHERE qty = 1", ())
        big = connection.execute("SELECT qty FROM items", ())  # more than the lazy limit
    with leased(pool) as connection:
        connection.execute("SELECT qty AS other, name FROM items WHERE qty = 2", ())
    assert (small.rows, len(big.rows)) == ([(1, "item1")], 150)
    assert small.description is not None
    assert big.description is not None
    assert [column[0] for column in small.description] == ["id", "name"]
    assert all(len(column) == 7 for column in small.description)
    assert small.description == tuple(small.description)
    assert [column[0] for column in big.description] == ["qty"]


def test_executemany_returns_the_summed_rowcount(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url)
    with leased(make_pool(url)) as connection:
        insert = sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)")
        assert connection.executemany(insert, [(f"n{n}", n) for n in range(1, 5)]) == 4
        update = sql(backend, "UPDATE items SET qty = 0 WHERE qty >= %s")
        assert connection.executemany(update, [(4,), (2,)]) == 1 + 2
        assert connection.executemany(update, []) == 0
    assert backend.query(url, "SELECT name, qty FROM items ORDER BY id") == [
        ("n1", 1),
        ("n2", 0),
        ("n3", 0),
        ("n4", 0),
    ]


def test_a_literal_percent_survives_with_empty_params(
    backend: Backend, make_pool: MakePool
) -> None:
    # The router doubles a literal % for %s-style drivers and always passes a tuple.
    percent = "%" if backend.name == "sqlite" else "%%"
    with leased(make_pool(backend.new_database())) as connection:
        assert connection.execute(f"SELECT 'a{percent}b'", ()).rows == [("a%b",)]
        row = connection.execute(sql(backend, f"SELECT 'a{percent}b', %s"), ("c%d",)).rows
        assert row == [("a%b", "c%d")]


# --- transactions ----------------------------------------------------------------------


def test_commit_keeps_and_rollback_discards(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url)
    insert = sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)")
    with leased(make_pool(url)) as connection:
        assert not connection.in_transaction
        connection.begin()
        assert connection.in_transaction
        connection.execute(insert, ("rolled back", 1))
        connection.rollback()
        assert not connection.in_transaction

        connection.begin()
        connection.execute(insert, ("committed", 2))
        # Not visible to another connection before the commit.
        assert backend.query(url, "SELECT name FROM items") == []
        connection.commit()
        assert not connection.in_transaction
        connection.commit()  # outside a transaction: nothing to do
        connection.rollback()
    assert backend.query(url, "SELECT name FROM items") == [("committed",)]


def test_begin_inside_a_transaction_is_refused(backend: Backend, make_pool: MakePool) -> None:
    with leased(make_pool(backend.new_database())) as connection:
        connection.begin()
        with pytest.raises(tenantdb.InterfaceError, match="already open"):
            connection.begin()
        assert connection.in_transaction
        connection.rollback()


def test_release_rolls_back_an_open_transaction(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url)
    pool = make_pool(url, max_size=1)
    connection = pool.acquire()
    connection.begin()
    connection.execute(sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)"), ("x", 1))
    pool.release(connection)
    with leased(pool) as again:
        assert not again.in_transaction
        assert again.execute("SELECT count(*) FROM items", ()).rows == [(0,)]
    assert backend.query(url, "SELECT count(*) FROM items") == [(0,)]


@pytest.mark.parametrize("backend", POSTGRES, indirect=True)
def test_postgres_commit_of_an_aborted_transaction_raises(
    backend: Backend, make_pool: MakePool
) -> None:
    # PostgreSQL answers COMMIT in a failed transaction with a silent ROLLBACK.
    url = backend.new_database()
    create_items(backend, url)
    with leased(make_pool(url)) as connection:
        connection.begin()
        connection.execute("INSERT INTO items (name, qty) VALUES ('a', 1)", ())
        with pytest.raises(tenantdb.ProgrammingError):
            connection.execute("SELECT * FROM no_such_table", ())
        with pytest.raises(tenantdb.OperationalError, match="rolled back") as info:
            connection.commit()
        assert info.value.datasource == "ds0"
        assert not connection.in_transaction
    assert backend.query(url, "SELECT count(*) FROM items") == [(0,)]


# --- streams ---------------------------------------------------------------------------


def _read_interleaved(streams: list[Any], batch_size: int) -> list[list[tuple[Any, ...]]]:
    results: list[list[tuple[Any, ...]]] = [[] for _ in streams]
    live = set(range(len(streams)))
    while live:
        for index in sorted(live):
            batch = streams[index].fetch()
            assert len(batch) <= batch_size
            if batch:
                results[index].extend(batch)
            else:
                live.discard(index)
    return results


def _read_to_the_end(stream: Any) -> int:
    rows = 0
    while batch := stream.fetch():
        rows += len(batch)
    return rows


STREAMED = [
    "SELECT id, name FROM items WHERE id <= 10 ORDER BY id",
    "SELECT id, name FROM items WHERE id > 10 AND id <= 17 ORDER BY id",
    "SELECT id, name FROM items WHERE id > 17 ORDER BY id",
]


def test_streams_read_interleaved_deliver_every_row(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=25)
    with leased(make_pool(url)) as connection:
        streams = connection.open_streams([(text, ()) for text in STREAMED], batch_size=4)
        assert [s.description is not None and s.description[1][0] for s in streams] == ["name"] * 3
        results = _read_interleaved(streams, batch_size=4)
        for stream in streams:
            assert stream.fetch() == []
            stream.close()
            stream.close()  # idempotent
        assert not connection.in_transaction
    expected = [(n, f"item{n}") for n in range(1, 26)]
    assert results == [expected[:10], expected[10:17], expected[17:]]


def test_streams_take_parameters(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=6)
    text = sql(backend, "SELECT id FROM items WHERE qty > %s ORDER BY id")
    with leased(make_pool(url)) as connection:
        streams = connection.open_streams([(text, (4,)), (text, (1,))], batch_size=10)
        assert _read_interleaved(streams, 10) == [[(5,), (6,)], [(2,), (3,), (4,), (5,), (6,)]]


def test_streams_closed_early_leave_the_connection_usable(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=25)
    with leased(make_pool(url, max_size=1)) as connection:
        streams = connection.open_streams([(text, ()) for text in STREAMED], batch_size=2)
        assert [len(stream.fetch()) for stream in streams] == [2, 2, 2]
        for stream in streams:
            stream.close()
            assert stream.fetch() == []
        # Autocommit again: the read transaction PostgreSQL opened for the cursors is over,
        # so this write is visible to other connections at once.
        assert not connection.in_transaction
        connection.execute("UPDATE items SET qty = 0", ())
        assert backend.query(url, "SELECT count(*) FROM items WHERE qty = 0") == [(25,)]
        assert connection.execute("SELECT count(*) FROM items", ()).rows == [(25,)]


def test_streams_inside_a_transaction_see_its_writes_and_keep_it_open(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=3)
    with leased(make_pool(url)) as connection:
        connection.begin()
        connection.execute("DELETE FROM items WHERE id = 1", ())
        streams = connection.open_streams([(STREAMED[0], ()), (STREAMED[0], ())], batch_size=1)
        assert _read_interleaved(streams, 1) == [[(2, "item2"), (3, "item3")]] * 2
        for stream in streams:
            stream.close()
        assert connection.in_transaction
        connection.rollback()
    assert backend.query(url, "SELECT count(*) FROM items") == [(3,)]


def test_a_stream_released_unread_is_cleaned_up_by_the_pool(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=25)
    pool = make_pool(url, max_size=1)
    connection = pool.acquire()
    streams = connection.open_streams([(text, ()) for text in STREAMED], batch_size=2)
    streams[0].fetch()
    pool.release(connection)
    assert streams[0].fetch() == []
    with leased(pool) as again:
        assert not again.in_transaction
        assert again.execute("SELECT count(*) FROM items", ()).rows == [(25,)]


@pytest.mark.parametrize("backend", MYSQL, indirect=True)
def test_mysql_refuses_a_statement_while_a_streamed_result_is_unread(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url, rows=5)
    with leased(make_pool(url)) as connection:
        (stream,) = connection.open_streams([(STREAMED[0], ())], batch_size=2)
        stream.fetch()
        with pytest.raises(tenantdb.InterfaceError, match="close"):
            connection.execute("SELECT 1", ())
        stream.close()
        assert connection.execute("SELECT 1", ()).rows == [(1,)]


_DIGITS = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL \
SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL \
SELECT 9)"
# 100 000 rows without a table.
_MANY_ROWS = (
    f"SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n "
    f"FROM {_DIGITS} a, {_DIGITS} b, {_DIGITS} c, {_DIGITS} e, {_DIGITS} f"
)


@pytest.mark.parametrize("backend", MYSQL, indirect=True)
def test_mysql_a_long_stream_closed_early_costs_the_connection_only_outside_a_transaction(
    backend: Backend, make_pool: MakePool
) -> None:
    pool = make_pool(backend.new_database(), max_size=1)
    with leased(pool) as connection:
        (stream,) = connection.open_streams([(_MANY_ROWS, ())], batch_size=100)
        assert len(stream.fetch()) == 100
        stream.close()
        # Dropped rather than read to the end; the pool replaces it.
        assert connection.broken
    with leased(pool) as connection:
        assert not connection.broken
        connection.begin()
        (stream,) = connection.open_streams([(_MANY_ROWS, ())], batch_size=100)
        assert len(stream.fetch()) == 100
        stream.close()
        # Inside a transaction the rest is read off instead: the transaction survives.
        assert not connection.broken
        assert connection.in_transaction
        assert connection.execute("SELECT 1", ()).rows == [(1,)]
        connection.rollback()


# --- errors ----------------------------------------------------------------------------


def test_unique_violation_is_an_integrity_error_with_context(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    create_items(backend, url)
    insert = sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)")
    with leased(make_pool(url, name="shard7")) as connection:
        connection.execute(insert, ("secret-name-42", 1))
        with pytest.raises(tenantdb.IntegrityError) as info:
            connection.execute(insert, ("secret-name-42", 2))
        assert connection.execute("SELECT count(*) FROM items", ()).rows == [(1,)]
    error = info.value
    driver_error = {
        "sqlite": "sqlite3.IntegrityError",
        "postgres": "psycopg.errors.UniqueViolation",
        "mysql": "pymysql.err.IntegrityError",
    }[backend.name]
    assert f"{type(error.orig).__module__}.{type(error.orig).__name__}" == driver_error
    assert error.__cause__ is error.orig
    assert (error.datasource, error.role, error.statement) == ("shard7", "primary", insert)
    assert "shard7" in str(error)
    assert "secret-name-42" not in str(error)  # messages never quote parameter values
    copy = pickle.loads(pickle.dumps(error))  # e.g. to a log handler in another process
    assert type(copy) is tenantdb.IntegrityError
    assert (str(copy), copy.datasource, copy.statement) == (str(error), "shard7", insert)


def test_syntax_error_is_a_programming_error(backend: Backend, make_pool: MakePool) -> None:
    with leased(make_pool(backend.new_database())) as connection:
        with pytest.raises(tenantdb.ProgrammingError) as info:
            connection.execute("SELEC 1", ())
        assert info.value.statement == "SELEC 1"
        assert info.value.orig is not None
        assert not connection.broken
        with pytest.raises(tenantdb.ProgrammingError):
            connection.execute("SELECT * FROM no_such_table", ())
        with pytest.raises(tenantdb.ProgrammingError):
            connection.open_streams([("SELECT 1", ()), ("SELEC 1", ())], batch_size=5)
        assert connection.execute("SELECT 1", ()).rows == [(1,)]


def test_pool_timeout_names_the_datasource(backend: Backend, make_pool: MakePool) -> None:
    pool = make_pool(backend.new_database(), name="busy_ds", max_size=1, timeout=0.2)
    held = pool.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(tenantdb.PoolTimeoutError) as info:
            pool.acquire()
        waited = time.monotonic() - started
    finally:
        pool.release(held)
    # A hang guard only: that a full pool makes callers wait rather than fail at once is
    # shown by test_threads_share_a_pool_within_max_size.
    assert waited < HANG_GUARD_S
    assert "within 0.2 s" in str(info.value)
    assert info.value.datasource == "busy_ds"
    assert "busy_ds" in str(info.value)
    assert "max_size" in str(info.value)
    with leased(pool) as connection:  # free again
        assert connection.execute("SELECT 1", ()).rows == [(1,)]


def _unreachable_url(backend: Backend, tmp_path: Path) -> str:
    if backend.name == "sqlite":
        blocker = tmp_path / "a_file"
        blocker.write_text("not a directory")
        return f"sqlite:///{blocker}/sub/x.db"
    scheme = "postgresql" if backend.name == "postgres" else "mysql"
    return f"{scheme}://app:pw-s3cr3t-9@127.0.0.1:1/appdb"


def test_an_unreachable_datasource_is_shard_unavailable(
    backend: Backend, make_pool: MakePool, tmp_path: Path
) -> None:
    url = _unreachable_url(backend, tmp_path)
    # Refused at once: waiting out this pool timeout would end in PoolTimeoutError (not
    # ShardUnavailableError) and trip the hang guard, which is half of it.
    pool = make_pool(url, name="gone_ds", timeout=2 * HANG_GUARD_S)
    started = time.monotonic()
    with pytest.raises(tenantdb.ShardUnavailableError) as info:
        pool.acquire()
    assert time.monotonic() - started < HANG_GUARD_S
    error = info.value
    assert error.datasource == "gone_ds"
    assert "gone_ds" in str(error)
    assert "pw-s3cr3t-9" not in str(error)
    assert "pw-s3cr3t-9" not in repr(error.args)
    if backend.name != "sqlite":
        assert "127.0.0.1:1" in str(error)
        assert "app:***@" in str(error)
    assert error.orig is not None


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_broken_connection_is_discarded_by_the_pool(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    pool = make_pool(url, max_size=1)
    own_id, kill = {
        "postgres": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend(%s)"),
        "mysql": ("SELECT CONNECTION_ID()", "KILL %s"),
    }[backend.name]
    connection = pool.acquire()
    try:
        ((victim,),) = connection.execute(own_id, ()).rows
        backend.query(url, kill, (victim,))
        with pytest.raises(tenantdb.ShardUnavailableError) as info:
            connection.execute("SELECT 1", ())
        assert isinstance(info.value, tenantdb.OperationalError)
        assert connection.broken
    finally:
        pool.release(connection)
    with leased(pool) as fresh:
        assert not fresh.broken
        ((replacement,),) = fresh.execute(own_id, ()).rows
        assert replacement != victim


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_connection_lost_while_streaming_is_shard_unavailable(
    backend: Backend, make_pool: MakePool
) -> None:
    url = backend.new_database()
    pool = make_pool(url, max_size=1)
    own_id, kill = {
        "postgres": ("SELECT pg_backend_pid()", "SELECT pg_terminate_backend(%s)"),
        "mysql": ("SELECT CONNECTION_ID()", "KILL %s"),
    }[backend.name]
    million = f"{_MANY_ROWS}, {_DIGITS} g"
    with leased(pool) as connection:
        ((victim,),) = connection.execute(own_id, ()).rows
        (stream,) = connection.open_streams([(million, ())], batch_size=100)
        assert len(stream.fetch()) == 100
        backend.query(url, kill, (victim,))
        # MySQL may still deliver rows that reached the socket before the kill.
        with pytest.raises(tenantdb.ShardUnavailableError) as info:
            _read_to_the_end(stream)
        assert info.value.statement == million
        assert connection.broken
        stream.close()
    with leased(pool) as fresh:
        assert fresh.execute("SELECT 1", ()).rows == [(1,)]


# --- pools -----------------------------------------------------------------------------


def _sessions(backend: Backend, raw: Any, url: str) -> int:
    """Server sessions connected to the database of ``url`` (``raw`` included)."""
    database = url.rsplit("/", 1)[1]
    query = {
        "postgres": "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
        "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = %s",
    }[backend.name]
    cursor = raw.cursor()
    cursor.execute(query, (database,))
    ((count,),) = cursor.fetchall()
    cursor.close()
    return int(count)


def test_opening_a_pool_connects_to_nothing(
    backend: Backend, make_pool: MakePool, tmp_path: Path
) -> None:
    if backend.name == "sqlite":
        path = tmp_path / "lazy" / "shard.db"
        pool = make_pool(f"sqlite:///{path}", min_size=2, create_dirs=True)
        assert not path.parent.exists()
        with leased(pool):
            assert path.exists()
        return
    url = backend.new_database()
    with contextlib.closing(backend.raw_connect(url)) as raw:
        alone = _sessions(backend, raw, url)
        pool = make_pool(url, min_size=2)
        assert _sessions(backend, raw, url) == alone
        with leased(pool):
            assert _sessions(backend, raw, url) > alone


def test_the_first_acquire_opens_min_size_connections(
    backend: Backend, make_pool: MakePool
) -> None:
    pool = make_pool(backend.new_database(), min_size=3, max_size=5)
    with leased(pool):
        if backend.name != "postgres":
            assert repr(pool) == "<Pool ds0 [1 in use, 2 idle, max 5]>"
            return
        # psycopg_pool opens them in the background, and may open one more for a caller
        # that had to wait for the first.
        deadline = time.monotonic() + HANG_GUARD_S
        while not re.search(r"\[1 in use, [23] idle", repr(pool)):
            assert time.monotonic() < deadline, repr(pool)
            time.sleep(0.01)


def test_pool_repr_shows_its_state(backend: Backend, make_pool: MakePool) -> None:
    pool = make_pool(backend.new_database(), name="ds3", role="replica", min_size=0, max_size=5)
    assert repr(pool) == "<Pool ds3 replica [0 in use, 0 idle, max 5]>"
    with leased(pool), leased(pool):
        assert repr(pool) == "<Pool ds3 replica [2 in use, 0 idle, max 5]>"
    assert repr(pool) == "<Pool ds3 replica [0 in use, 2 idle, max 5]>"
    pool.close()
    assert repr(pool) == "<Pool ds3 replica [0 in use, 0 idle, max 5, closed]>"


@pytest.mark.parametrize("backend", POSTGRES, indirect=True)
def test_postgres_acquire_of_an_idle_connection_reads_no_pool_statistics(
    backend: Backend, make_pool: MakePool
) -> None:
    # psycopg_pool's get_stats() copies its counters: it belongs to a wait that timed out
    # (a server refusing connections), never to taking an idle connection.
    pool = make_pool(backend.new_database(), min_size=1, max_size=2)
    with leased(pool), leased(pool):
        pass  # both connections open, and idle from here on
    psycopg_pool = pool._pool  # type: ignore[attr-defined]
    read: list[str] = []
    stats = psycopg_pool.get_stats
    psycopg_pool.get_stats = lambda: read.append("get_stats") or stats()
    for _ in range(3):
        with leased(pool), leased(pool):
            assert pool.in_use == 2
    assert pool.in_use == 0
    assert read == []


def test_a_closed_pool_refuses_acquire_and_closes_returned_connections(
    backend: Backend, make_pool: MakePool
) -> None:
    pool = make_pool(backend.new_database())
    connection = pool.acquire()
    pool.close()
    with pytest.raises(tenantdb.InterfaceError, match="closed"):
        pool.acquire()
    pool.release(connection)
    assert "0 idle" in repr(pool)
    pool.close()  # idempotent


def test_releasing_twice_is_refused(backend: Backend, make_pool: MakePool) -> None:
    pool = make_pool(backend.new_database())
    connection = pool.acquire()
    pool.release(connection)
    with pytest.raises(tenantdb.InterfaceError, match="released twice"):
        pool.release(connection)


def test_threads_share_a_pool_within_max_size(backend: Backend, make_pool: MakePool) -> None:
    url = backend.new_database()
    create_items(backend, url)
    pool = make_pool(url, max_size=3, timeout=10.0)
    insert = sql(backend, "INSERT INTO items (name, qty) VALUES (%s, %s)")
    lock = threading.Lock()
    in_use = peak = 0
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        nonlocal in_use, peak
        try:
            for n in range(10):
                with leased(pool) as connection:
                    with lock:
                        in_use += 1
                        peak = max(peak, in_use)
                    connection.execute(insert, (f"w{worker}-{n}", n))
                    time.sleep(0.001)
                    with lock:
                        in_use -= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert 1 < peak <= 3
    assert backend.query(url, "SELECT count(*) FROM items") == [(80,)]


# --- drivers and URLs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql://app@db/x", "psycopg", "postgres"),
        ("postgres://app@db/x", "psycopg_pool", "postgres"),
        ("mysql://app@db/x", "pymysql", "mysql"),
        ("mariadb://app@db/x", "pymysql", "mysql"),
    ],
)
def test_a_missing_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes "import <module>" fail
    with pytest.raises(tenantdb.InterfaceError, match=rf"pip install 'tenantdb\[{extra}\]'"):
        open_pool("ds0", url, PoolConfig())


def test_an_unsupported_url_is_a_config_error() -> None:
    with pytest.raises(tenantdb.ConfigError, match="unsupported URL"):
        open_pool("ds0", "oracle://app:pw@db/x", PoolConfig())
    with pytest.raises(tenantdb.ConfigError, match="SQLite URL"):
        open_pool("ds0", "sqlite://host/x.db", PoolConfig())


def test_sqlite_urls_are_relative_absolute_or_memory(
    make_pool: MakePool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with leased(make_pool("sqlite:///rel/dir/a.db", create_dirs=True)) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)", ())
    assert (tmp_path / "rel" / "dir" / "a.db").exists()
    absolute = tmp_path / "abs" / "b.db"
    with leased(make_pool(f"sqlite:///{absolute}", create_dirs=True)) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)", ())
    assert absolute.exists()
    with leased(make_pool(f"sqlite:///{tmp_path / 'c.db'}")) as connection:  # a new file
        connection.execute("CREATE TABLE t (x INTEGER)", ())
    with leased(make_pool("sqlite:///:memory:")) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)", ())
        assert connection.execute("SELECT count(*) FROM t", ()).rows == [(0,)]
    assert not (tmp_path / ":memory:").exists()


@pytest.mark.parametrize("relative", [True, False], ids=["relative", "absolute"])
def test_a_sqlite_file_in_a_missing_directory_is_refused_naming_it(
    make_pool: MakePool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: bool
) -> None:
    # A mistyped directory would otherwise give a new, empty database without a word.
    monkeypatch.chdir(tmp_path)
    url = "sqlite:///typo/shard0.db" if relative else f"sqlite:///{tmp_path}/typo/shard0.db"
    pool = make_pool(url, name="lost_ds")
    with pytest.raises(tenantdb.ShardUnavailableError) as info:
        pool.acquire()
    message = str(info.value)
    assert str(tmp_path / "typo") in message
    assert "create_dirs" in message
    assert info.value.datasource == "lost_ds"
    assert not (tmp_path / "typo").exists()
