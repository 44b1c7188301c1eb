"""PEP 249 behaviours an outside run of the DB-SIG ``dbapi20.py`` suite and PEP 249 probes
found wanting (issue 20), checked on real databases: syntax errors, row counts, a closed
connection, two-phase commit, prompt close, SQLite locking and SQLite's type codes.

Our own checks, written against PEP 249's text (the DB-SIG suite is not vendored).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front, sync_only
from tenantdb import Cluster, dbapi

from .conftest import Backend

HANG_GUARD_S = 60.0

TYPES = {
    "sqlite": {"text": "TEXT", "money": "NUMERIC"},
    "postgres": {"text": "VARCHAR(64)", "money": "NUMERIC(12, 2)"},
    "mysql": {"text": "VARCHAR(64)", "money": "DECIMAL(12, 2)"},
}

SCHEMA = [
    "CREATE TABLE items (item_id INTEGER PRIMARY KEY, name {text}, price {money})",
    "CREATE TABLE countries (code {text} PRIMARY KEY, name {text})",
]


def two_datasources(backend: Backend, urls: list[str], **pool: Any) -> dict[str, Any]:
    """``items`` mod-sharded over two datasources, ``countries`` and ``tags`` broadcast to
    both."""
    return {
        "dialect": backend.dialect,
        "datasources": {
            f"ds{i}": {"url": url, "pool": {"min_size": 0, "max_size": 4, **pool}}
            for i, url in enumerate(urls)
        },
        "tables": {
            "items": {"strategy": "mod", "key": "item_id", "shards": 4, "tenant_scoped": False},
            "countries": {"strategy": "broadcast"},
            "tags": {"strategy": "broadcast"},  # created by a test
        },
        "tenants": {"a": {"datasource": "ds0"}},
    }


def one_datasource(url: str, **pool: Any) -> dict[str, Any]:
    """A single datasource holding every table as is, like a plain driver connection."""
    return {"datasources": {"ds0": {"url": url, "pool": {"min_size": 0, **pool}}}}


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    return backend.new_databases(2)


@pytest.fixture
def sharded(backend: Backend, urls: list[str], front: Front) -> Iterator[Cluster]:
    cluster = front.connect(two_datasources(backend, urls))
    with cluster.session(admin=True) as admin:
        for statement in SCHEMA:
            admin.execute(statement.format(**TYPES[backend.name]))
    yield cluster
    cluster.close()


# -- syntax errors are ProgrammingError ---------------------------------------------------


@pytest.mark.parametrize("sql", ["SELEC 1", "SELECT * FROM", "", "hello world"])
def test_a_syntax_error_is_a_programming_error(backend: Backend, sql: str) -> None:
    conn = dbapi.connect(one_datasource(backend.new_database()), autocommit=True)
    try:
        cursor = conn.cursor()
        with pytest.raises(dbapi.ProgrammingError) as info:
            cursor.execute(sql)
        assert not isinstance(info.value, dbapi.NotSupportedError)
        assert isinstance(info.value, tenantdb.SQLSyntaxError)
        # A shape refused on purpose stays NotSupportedError.
        with pytest.raises(dbapi.NotSupportedError):
            cursor.execute("SELECT 1; SELECT 2")
    finally:
        conn.close()


# -- percent signs without parameters ----------------------------------------------------------


def test_without_parameters_a_percent_sign_is_taken_as_written(backend: Backend) -> None:
    # The DB-SIG suite inserts 'thi%s :may ca%(u)se? troub:1e' with no parameters: drivers
    # (psycopg, PyMySQL) read % as a placeholder only when parameters are passed.
    conn = dbapi.connect(one_datasource(backend.new_database()), admin=True, autocommit=True)
    trouble = "thi%s :may ca%(u)se? 100%% troub:1e"
    try:
        cursor = conn.cursor()
        cursor.execute("CREATE TABLE barflys (name VARCHAR(20), drink VARCHAR(40))")
        cursor.execute(f"INSERT INTO barflys VALUES ('one', '{trouble}')")
        cursor.execute("INSERT INTO barflys VALUES (%s, 'thi%%s 100%%%% sure')", ("two",))
        cursor.execute("INSERT INTO barflys VALUES (%(n)s, '50%%')", {"n": "three"})
        cursor.execute("SELECT name, drink FROM barflys WHERE drink LIKE '%s%' ORDER BY name")
        assert cursor.fetchall() == [("one", trouble), ("two", "thi%s 100%% sure")]
        cursor.execute("SELECT drink FROM barflys WHERE name = %s", ("three",))
        assert cursor.fetchall() == [("50%",)]
    finally:
        conn.close()


# -- rowcount: logical rows ----------------------------------------------------------------


def test_a_broadcast_write_counts_logical_rows(sharded: Cluster) -> None:
    with sharded.session(admin=True) as s:
        inserted = s.execute("INSERT INTO countries (code, name) VALUES (%s, %s)", ("fr", "x"))
        assert inserted.rowcount == 1  # two copies written, one logical row
        assert len(inserted.targets) == 2
        many = s.executemany(
            "INSERT INTO countries (code, name) VALUES (%s, %s)", [("de", "x"), ("it", "x")]
        )
        assert many.rowcount == 2
        assert s.execute("UPDATE countries SET name = %s", ("y",)).rowcount == 3
        assert s.execute("DELETE FROM countries WHERE code = %s", ("it",)).rowcount == 1


def test_a_sharded_write_adds_up_its_shards(sharded: Cluster) -> None:
    with sharded.session(admin=True) as s:
        rows = [(i, f"n{i}", 1) for i in range(6)]
        many = s.executemany("INSERT INTO items (item_id, name, price) VALUES (%s, %s, %s)", rows)
        assert many.rowcount == 6
        assert s.execute("UPDATE items SET price = 2").rowcount == 6  # every shard
        assert s.execute("DELETE FROM items WHERE item_id IN (1, 2)").rowcount == 2


def test_copies_that_disagree_are_refused_and_rolled_back(
    backend: Backend, urls: list[str], sharded: Cluster
) -> None:
    with sharded.session(admin=True) as s:
        s.execute("INSERT INTO countries (code, name) VALUES ('fr', 'x')")
    backend.query(urls[1], "DELETE FROM countries")  # ds1's copy drifts
    with (
        sharded.session(admin=True) as s,
        pytest.raises(tenantdb.IntegrityError, match="copies of countries disagree"),
    ):
        s.execute("UPDATE countries SET name = 'y'")
    assert backend.query(urls[0], "SELECT name FROM countries") == [("x",)]  # rolled back


def test_ddl_reports_no_row_count(sharded: Cluster, backend: Backend) -> None:
    text = TYPES[backend.name]["text"]
    with sharded.session(admin=True) as s:
        fanned = s.execute(f"CREATE TABLE tags (tag_id INTEGER PRIMARY KEY, label {text})")
        assert len(fanned.targets) == 2
        assert fanned.rowcount == -1
        index = s.execute("CREATE INDEX ix_price ON items (price)")
        assert index.rowcount == -1
        alone = s.execute(f"CREATE TABLE loose (id INTEGER PRIMARY KEY, body {text})")
        assert len(alone.targets) == 1
        assert alone.rowcount == -1


def test_dbapi_rowcount_is_the_sessions(backend: Backend, urls: list[str]) -> None:
    conn = dbapi.connect(two_datasources(backend, urls), admin=True)
    try:
        cursor = conn.cursor()
        for statement in SCHEMA:
            cursor.execute(statement.format(**TYPES[backend.name]))
            assert cursor.rowcount == -1
        cursor.executemany(
            "INSERT INTO countries (code, name) VALUES (%s, %s)", [("fr", "x"), ("de", "y")]
        )
        assert cursor.rowcount == 2
        conn.commit()
    finally:
        conn.close()


# -- the connection object ----------------------------------------------------------------


def test_a_closed_connection_gives_no_cursor(tmp_path: Path) -> None:
    conn = dbapi.connect(one_datasource(f"sqlite:///{tmp_path}/a.db"))
    conn.close()
    with pytest.raises(dbapi.InterfaceError, match="closed"):
        conn.cursor()
    conn.close()  # idempotent


def test_two_phase_commit_is_not_supported(tmp_path: Path) -> None:
    conn = dbapi.connect(one_datasource(f"sqlite:///{tmp_path}/a.db"))
    try:
        calls = [
            lambda: conn.xid(1, "gtrid", "bqual"),
            lambda: conn.tpc_begin("xid"),
            conn.tpc_prepare,
            conn.tpc_commit,
            conn.tpc_rollback,
            conn.tpc_recover,
        ]
        for call in calls:
            with pytest.raises(dbapi.NotSupportedError, match="two-phase commit is not supported"):
                call()
    finally:
        conn.close()


def _registry_watchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "tenantdb-registry-watch"]


def test_close_ends_the_registry_thread(tmp_path: Path) -> None:
    before = set(_registry_watchers())
    config = {**one_datasource(f"sqlite:///{tmp_path}/a.db"), "tenants": {"a": {}}}
    conn = dbapi.connect(config, tenant="a", autocommit=True)
    cursor = conn.cursor()
    cursor.execute("SELECT 1")
    started = [t for t in _registry_watchers() if t not in before]
    assert len(started) == 1
    done = threading.Event()
    # close() joins the watcher itself; the guard only keeps a regression from hanging.
    closer = threading.Thread(target=lambda: (conn.close(), done.set()), daemon=True)
    closer.start()
    assert done.wait(HANG_GUARD_S)
    assert not started[0].is_alive()


# -- SQLite: reads do not lock each other; writes serialise --------------------------------


def _sqlite_items(tmp_path: Path, front: Front, **pool: Any) -> Any:
    cluster = front.connect(one_datasource(f"sqlite:///{tmp_path}/lock.db", **pool))
    with cluster.session(admin=True) as admin:
        admin.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        admin.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
    return cluster


def test_sqlite_read_only_transactions_do_not_block_each_other(
    tmp_path: Path, front: Front
) -> None:
    # A short busy timeout: a reader that had to wait for the other would fail with
    # "database is locked" (BEGIN IMMEDIATE did) instead of passing slowly.
    cluster = _sqlite_items(tmp_path, front, timeout=0.2)
    try:
        with cluster.session() as first, cluster.session() as second:
            first.begin()
            assert first.execute("SELECT n FROM counter").fetchall() == [(0,)]
            second.begin()
            assert second.execute("SELECT n FROM counter").fetchall() == [(0,)]
            assert first.execute("SELECT count(*) FROM counter").fetchall() == [(1,)]
            second.commit()
            first.commit()
    finally:
        cluster.close()


def test_sqlite_a_read_then_write_that_cannot_upgrade_fails_at_once_saying_why(
    tmp_path: Path, front: Front
) -> None:
    # The busy timeout is far beyond the hang guard: waiting could not end in time.
    cluster = _sqlite_items(tmp_path, front, timeout=2 * HANG_GUARD_S)
    try:
        with cluster.session() as first, cluster.session() as second:
            # Both read, then both write: the first upgrade succeeds, the second is
            # refused at once instead of waiting on a lock the first holds (no deadlock).
            first.begin()
            second.begin()
            first.execute("SELECT n FROM counter").fetchall()
            second.execute("SELECT n FROM counter").fetchall()
            first.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
            with pytest.raises(tenantdb.OperationalError, match="read before it wrote") as info:
                second.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
            assert "holds the write lock" in str(info.value)
            second.rollback()
            first.commit()
            # Read, another connection commits, write: the snapshot is stale.
            first.begin()
            first.execute("SELECT n FROM counter").fetchall()
            second.execute("UPDATE counter SET n = n + 1 WHERE id = 1")  # autocommit
            with pytest.raises(tenantdb.OperationalError, match="has committed since"):
                first.execute("UPDATE counter SET n = n + 10 WHERE id = 1")
            first.rollback()
            # Run again, the transaction goes through.
            with first.transaction():
                (n,) = first.execute("SELECT n FROM counter").fetchone()
                first.execute("UPDATE counter SET n = %s WHERE id = 1", (n + 10,))
            assert first.execute("SELECT n FROM counter").fetchall() == [(12,)]
    finally:
        cluster.close()


# Several threads share the cluster at once: the thread front's contract.
@sync_only
def test_sqlite_write_first_transactions_serialise_without_lost_updates(
    tmp_path: Path, front: Front
) -> None:
    cluster = _sqlite_items(tmp_path, front, max_size=4, timeout=HANG_GUARD_S)
    threads_n, rounds = 4, 25
    failures: list[BaseException] = []

    def work() -> None:
        try:
            with cluster.session() as s:
                for _ in range(rounds):
                    with s.transaction():
                        s.execute("UPDATE counter SET n = n + 1 WHERE id = 1")
                        s.execute("SELECT n FROM counter").fetchall()
        except BaseException as exc:
            failures.append(exc)

    try:
        threads = [threading.Thread(target=work) for _ in range(threads_n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(HANG_GUARD_S)
        assert not any(t.is_alive() for t in threads)
        assert failures == []
        with cluster.session() as s:
            assert s.execute("SELECT n FROM counter").fetchall() == [(threads_n * rounds,)]
    finally:
        cluster.close()


# -- SQLite: type codes from declared types -------------------------------------------------


def test_sqlite_type_codes_are_the_declared_types(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path}/t{i}.db" for i in range(2)]
    config = {
        "dialect": "sqlite",
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {
            "items": {"strategy": "mod", "key": "item_id", "shards": 4, "tenant_scoped": False}
        },
    }
    conn = dbapi.connect(config, admin=True)
    try:
        cursor = conn.cursor()
        cursor.execute(
            "CREATE TABLE items (item_id INTEGER PRIMARY KEY, name VARCHAR(64), price REAL,"
            " photo BLOB, added TIMESTAMP)"
        )
        cursor.execute(
            "INSERT INTO items (item_id, name, price, photo, added) VALUES (%s, %s, %s, %s, %s)",
            (1, "pen", 2.5, dbapi.Binary(b"\x00"), "2026-01-01 00:00:00"),
        )
        single = "SELECT item_id, name, price, photo, added, price * 2 FROM items WHERE item_id = 1"
        scatter = "SELECT item_id, name, price, photo, added, price * 2 FROM items ORDER BY name"
        for query in (single, scatter):
            cursor.execute(query)
            codes = [column[1] for column in cursor.description]
            assert codes[0] == dbapi.NUMBER
            assert codes[1] == dbapi.STRING
            assert codes[2] == dbapi.NUMBER
            assert codes[3] == dbapi.BINARY
            assert codes[4] == dbapi.DATETIME
            assert codes[5] is None  # an expression has no declared type
            assert codes[:5] == ["INTEGER", "VARCHAR(64)", "REAL", "BLOB", "TIMESTAMP"]
            assert cursor.fetchall() == [(1, "pen", 2.5, b"\x00", "2026-01-01 00:00:00", 5.0)]
        conn.commit()
    finally:
        conn.close()
