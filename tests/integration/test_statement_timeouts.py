"""Statement timeouts: a statement still running at its deadline is cancelled on the server.

Every test runs on both fronts (``front``). A long statement is one the server would run
for seconds (``pg_sleep(5)``, ``SLEEP(5)``, a long recursive CTE) or one that waits on a row
lock the test holds through a raw connection; the timeouts are fractions of a second, and
what is checked is the outcome (the error, what the server still runs, the connection's
state), never how long anything took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb import OperationalError, ProgrammingError, StatementTimeoutError

from .conftest import Backend

HANG_GUARD_S = 60.0
SHORT_S = 0.2


def config(url: str, dialect: str, **limits: Any) -> dict[str, Any]:
    return {
        "dialect": dialect,
        "datasources": {"ds0": {"url": url, "pool": {"min_size": 0, "max_size": 4}}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"a": {"datasource": "ds0", "limits": limits}, "b": {"datasource": "ds0"}},
    }


def create_orders(cluster: Any, rows: int = 2) -> None:
    with cluster.session(admin=True) as admin:
        admin.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,"
            " amount INTEGER)"
        )
    with cluster.session(tenant="a") as session:
        for row in range(1, rows + 1):
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, 0)", (row,))


@pytest.fixture
def pg(postgres_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("postgres", postgres_server, _database_names)


@pytest.fixture
def maria(mysql_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("mysql", mysql_server, _database_names)


class RowLock:
    """Holds a lock on orders row ``row`` through a raw connection until ``release``."""

    def __init__(self, backend: Backend, url: str, row: int) -> None:
        self.connection = backend.raw_connect(url)
        self.released = False
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        cursor.execute("SELECT id FROM orders WHERE id = %s FOR UPDATE", (row,))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self.connection.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.connection.cursor().execute("COMMIT")
            self.connection.close()

    def release_once_waited_on(self, waiters: str) -> None:
        wait_for_waiter(self, waiters)
        self.release()


# What a lock holder sees waiting for its locks, in its own database.
PG_WAITERS = (
    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock'"
)
MYSQL_WAITERS = (
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE()"
    " AND INFO LIKE 'UPDATE orders%'"
)


def wait_for_waiter(lock: RowLock, sql: str) -> None:
    event = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.01)):
        if lock.query(sql) == [(1,)]:
            return
        event.wait(0.01)
    raise AssertionError("the statement never waited on the lock")


# -- PostgreSQL ------------------------------------------------------------------------


def test_pg_a_statement_past_its_timeout_is_cancelled_on_the_server(
    front: Front, pg: Backend
) -> None:
    url = pg.new_database()
    cluster = front.connect(config(url, "postgres"))
    try:
        with cluster.session(admin=True) as admin:
            (pid,) = admin.execute("SELECT pg_backend_pid()").fetchall()[0]
            with pytest.raises(StatementTimeoutError) as late:
                admin.execute("SELECT pg_sleep(5)", timeout=SHORT_S)
            error = late.value
            assert (error.timeout, error.datasource, error.role) == (SHORT_S, "ds0", "primary")
            assert "pg_sleep(5)" in (error.statement or "")
            assert isinstance(error, OperationalError)
            assert getattr(error.orig, "sqlstate", None) == "57014"
            # Nothing of it runs on the server any more.
            active = pg.query(
                url,
                "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
                (pid,),
            )
            assert active == [(0,)]
            # The same connection serves the next statement.
            assert admin.execute("SELECT pg_backend_pid()").fetchall() == [(pid,)]
    finally:
        cluster.close()


def test_pg_a_tenant_timeout_from_config_applies_and_a_call_overrides_it(
    front: Front, pg: Backend
) -> None:
    url = pg.new_database()
    cluster = front.connect(config(url, "postgres", statement_timeout="200ms"))
    try:
        create_orders(cluster)
        lock = RowLock(pg, url, 1)
        try:
            with cluster.session(tenant="a") as session:
                with pytest.raises(StatementTimeoutError) as late:
                    session.execute("UPDATE orders SET amount = 1 WHERE id = %s", (1,))
                assert late.value.timeout == SHORT_S
                # Cancelled on the server: the lock holder sees nobody waiting.
                assert lock.query(PG_WAITERS) == [(0,)]
                assert session.execute("SELECT COUNT(*) FROM orders").fetchall() == [(2,)]
                # Tenant b has no timeout; a's own call may ask for a longer one, which
                # outlasts the lock: released once the UPDATE waits on it.
                releaser = threading.Thread(
                    target=lock.release_once_waited_on, args=(PG_WAITERS,), daemon=True
                )
                releaser.start()
                session.execute(
                    "UPDATE orders SET amount = 7 WHERE id = %s", (1,), timeout=HANG_GUARD_S
                )
                releaser.join(HANG_GUARD_S)
        finally:
            lock.release()
        assert pg.query(url, "SELECT amount FROM orders WHERE id = 1") == [(7,)]
    finally:
        cluster.close()


def test_pg_set_local_statement_timeout_lives_and_dies_with_the_transaction(
    front: Front, pg: Backend
) -> None:
    url = pg.new_database()
    cluster = front.connect(config(url, "postgres"))
    setting = "SELECT current_setting('statement_timeout'), pg_backend_pid()"
    try:
        with cluster.session(admin=True) as admin:
            with admin.transaction():
                ((value, pid),) = admin.execute(setting, timeout=5).fetchall()
                assert value == "5s"
                # A statement without a timeout in the same transaction: the default again.
                assert admin.execute(setting).fetchall() == [("0", pid)]
                assert admin.execute(setting, timeout=1.5).fetchall() == [("1500ms", pid)]
            # Committed: the same pooled connection has its own setting back.
            assert admin.execute(setting).fetchall() == [("0", pid)]
    finally:
        cluster.close()


def test_pg_a_timed_out_statement_fails_its_transaction(front: Front, pg: Backend) -> None:
    url = pg.new_database()
    cluster = front.connect(config(url, "postgres"))
    try:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
            admin.begin()
            admin.execute("INSERT INTO notes (id) VALUES (1)")
            with pytest.raises(StatementTimeoutError):
                admin.execute("SELECT pg_sleep(5)", timeout=SHORT_S)
            with pytest.raises(OperationalError):
                admin.commit()
            assert admin.execute("SELECT COUNT(*) FROM notes").fetchall() == [(0,)]
    finally:
        cluster.close()


def test_pg_the_queue_wait_counts_against_the_deadline(pg: Backend) -> None:
    url = pg.new_database()
    cluster = tenantdb.connect(
        config(url, "postgres", max_concurrent=1, max_queued=4, queue_timeout="30s")
    )
    try:
        create_orders(cluster)
        lock = RowLock(pg, url, 1)
        done: list[object] = []

        def blocked() -> None:
            try:
                with cluster.session(tenant="a") as session:
                    session.execute("UPDATE orders SET amount = 1 WHERE id = 1")
                done.append("ok")
            except BaseException as exc:  # reported by the test
                done.append(exc)

        thread = threading.Thread(target=blocked, daemon=True)
        thread.start()
        wait_for_waiter(lock, PG_WAITERS)
        with cluster.session(tenant="a") as session, pytest.raises(StatementTimeoutError) as late:
            session.execute("SELECT COUNT(*) FROM orders", timeout=SHORT_S)
        assert late.value.datasource is None
        assert "nothing was sent" in str(late.value)
        lock.release()
        thread.join(HANG_GUARD_S)
        assert done == ["ok"]
        assert cluster.status()["limits"]["tenants"]["a"]["timed_out_in_queue"] == 1
    finally:
        cluster.close()


# -- MariaDB ---------------------------------------------------------------------------


def test_mysql_a_statement_past_its_timeout_is_killed_on_the_server(
    front: Front, maria: Backend
) -> None:
    url = maria.new_database()
    cluster = front.connect(config(url, "mysql"))
    try:
        with cluster.session(admin=True) as admin:
            (thread_id,) = admin.execute("SELECT CONNECTION_ID()").fetchall()[0]
            with pytest.raises(StatementTimeoutError) as late:
                admin.execute("SELECT SLEEP(5)", timeout=SHORT_S)
            assert (late.value.datasource, late.value.timeout) == ("ds0", SHORT_S)
            # KILL QUERY ended it (SLEEP, killed, reports "interrupted").
            assert getattr(late.value.orig, "args", (None,))[0] == 1317
            running = maria.query(
                url,
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s"
                " AND INFO LIKE 'SELECT SLEEP%%'",
                (thread_id,),
            )
            assert [tuple(row) for row in running] == [(0,)]
            assert admin.execute("SELECT CONNECTION_ID()").fetchall() == [(thread_id,)]
    finally:
        cluster.close()


def test_mysql_a_tenant_timeout_stops_a_lock_wait_and_fails_the_transaction(
    front: Front, maria: Backend
) -> None:
    url = maria.new_database()
    cluster = front.connect(config(url, "mysql", statement_timeout="200ms"))
    try:
        create_orders(cluster)
        lock = RowLock(maria, url, 1)
        try:
            with cluster.session(tenant="a") as session:
                session.begin()
                # (An INSERT: the tenant-confined UPDATE scans, and would wait on row 1.)
                session.execute("INSERT INTO orders (id, amount) VALUES (%s, 5)", (3,))
                with pytest.raises(StatementTimeoutError):
                    session.execute("UPDATE orders SET amount = 1 WHERE id = %s", (1,))
                assert lock.query(MYSQL_WAITERS) == [(0,)]
                with pytest.raises(OperationalError):
                    session.execute("SELECT COUNT(*) FROM orders")
                with pytest.raises(OperationalError):
                    session.commit()
                assert session.execute("SELECT COUNT(*) FROM orders").fetchall() == [(2,)]
        finally:
            lock.release()
    finally:
        cluster.close()


# -- SQLite ----------------------------------------------------------------------------

# Counts to 10**8: many seconds of work, unless interrupted.
LONG_CTE = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000)"
    " SELECT COUNT(*) FROM c"
)


def test_sqlite_a_long_statement_is_interrupted(front: Front, tmp_path: Any) -> None:
    cluster = front.connect(config(f"sqlite:///{tmp_path}/t.db", "sqlite"))
    try:
        with cluster.session(admin=True) as admin:
            admin.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
            with pytest.raises(StatementTimeoutError) as late:
                admin.execute(LONG_CTE, timeout=SHORT_S)
            assert late.value.datasource == "ds0"
            assert admin.execute("SELECT COUNT(*) FROM notes").fetchall() == [(0,)]
            # Inside a transaction the interrupted statement fails the transaction.
            admin.begin()
            admin.execute("INSERT INTO notes (id) VALUES (1)")
            with pytest.raises(StatementTimeoutError):
                admin.execute(LONG_CTE, timeout=SHORT_S)
            with pytest.raises(OperationalError):
                admin.execute("INSERT INTO notes (id) VALUES (2)")
            with pytest.raises(OperationalError):
                admin.commit()
            assert admin.execute("SELECT COUNT(*) FROM notes").fetchall() == [(0,)]
    finally:
        cluster.close()


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_a_timeout_must_be_a_positive_number_of_seconds(
    front: Front, tmp_path: Any, bad: object
) -> None:
    cluster = front.connect(config(f"sqlite:///{tmp_path}/t.db", "sqlite"))
    try:
        with cluster.session(admin=True) as admin:
            with pytest.raises(ProgrammingError, match="positive number of seconds"):
                admin.execute("SELECT 1", timeout=bad)
            with pytest.raises(ProgrammingError, match="positive number of seconds"):
                admin.executemany("INSERT INTO t VALUES (%s)", [(1,)], timeout=bad)
    finally:
        cluster.close()


def test_a_timed_out_checkout_counts_as_a_breaker_failure(front: Front, tmp_path: Any) -> None:
    document = config(f"sqlite:///{tmp_path}/t.db", "sqlite")
    document["datasources"]["ds0"]["breaker"] = {"window_size": 10, "minimum_calls": 10}
    cluster = front.connect(document)
    try:
        with cluster.session(admin=True) as admin:
            admin.execute("SELECT 1", timeout=HANG_GUARD_S)  # a timed statement that ends
        with cluster.session(admin=True) as admin, pytest.raises(StatementTimeoutError):
            admin.execute(LONG_CTE, timeout=SHORT_S)
        breaker = cluster.status()["datasources"]["ds0"]["breakers"]["primary"]
        assert (breaker["calls_in_window"], breaker["failure_rate_percent"]) == (2, 50.0)
    finally:
        cluster.close()
