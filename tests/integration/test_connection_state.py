"""Connection state never outlives the session (issue 21 item 3).

One datasource whose pool holds one connection, so every session below gets the very
connection the previous one used: a setting, a temporary table or a lock left behind would
reach the next tenant. A session that may have changed state (admin, or one that called a
function not known to be read-only) has its connection reset when it ends; a tenant
session that cannot have changed anything does not pay for it. On both fronts (``front``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

import tenantdb
from fronts import Front

from .conftest import Backend

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
ALL = ["sqlite", *SERVERS]

PG_SETUP = [
    "CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64), amount INT)",
    "INSERT INTO orders VALUES (1, 'a', 10), (2, 'b', 20)",
    "CREATE SCHEMA other",
    "CREATE TABLE other.orders (id INT PRIMARY KEY, tenant_id VARCHAR(64), amount INT)",
    "CREATE FUNCTION to_other() RETURNS int LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM set_config('search_path', 'other', false); RETURN 1; END $$",
    "CREATE FUNCTION to_read_only() RETURNS int LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM set_config('default_transaction_read_only', 'on', false); RETURN 1;"
    " END $$",
]
MYSQL_SETUP = [
    "CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64), amount INT)",
    "INSERT INTO orders VALUES (1, 'a', 10), (2, 'b', 20)",
    "CREATE FUNCTION to_read_only() RETURNS INT NOT DETERMINISTIC"
    " BEGIN SET SESSION tx_read_only = 1; RETURN 1; END",
    "CREATE FUNCTION to_ansi() RETURNS INT NOT DETERMINISTIC"
    " BEGIN SET SESSION sql_mode = 'ANSI_QUOTES'; RETURN 1; END",
]
SQLITE_SETUP = MYSQL_SETUP[:2]


@pytest.fixture
def cluster(backend: Backend, front: Front) -> Iterator[tenantdb.Cluster]:
    url = backend.new_database()
    setup = {"postgres": PG_SETUP, "mysql": MYSQL_SETUP, "sqlite": SQLITE_SETUP}[backend.name]
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        for statement in setup:
            cursor.execute(statement)
        cursor.close()
    opened = front.connect(
        {
            "datasources": {"ds0": {"url": url, "pool": {"min_size": 1, "max_size": 1}}},
            "tables": {"orders": {"strategy": "tenant"}},
            "allowed_functions": ["to_other", "to_read_only", "to_ansi", "current_setting"],
            "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds0"}},
        }
    )
    yield opened
    opened.close()


def _tenant_b_sees_the_defaults(cluster: tenantdb.Cluster, backend: Backend) -> None:
    """Tenant b reads its own rows from the real table and can write."""
    with cluster.session(tenant="b") as s:
        assert s.execute("SELECT id, amount FROM orders").fetchall() == [(2, 20)]
        s.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (3, 30))
        assert s.execute("SELECT count(*) FROM orders").fetchall() == [(2,)]
        s.execute("DELETE FROM orders WHERE id = %s", (3,))
        if backend.name == "postgres":
            (setting,) = s.execute("SELECT current_setting('search_path')").fetchone()
            assert setting == '"$user", public'
            (read_only,) = s.execute(
                "SELECT current_setting('default_transaction_read_only')"
            ).fetchone()
            assert read_only == "off"


# -- state left by an admin session ------------------------------------------------------


PG_ADMIN = [
    "SELECT set_config('search_path', 'other', false)",
    "SELECT set_config('default_transaction_read_only', 'on', false)",
    "UPDATE pg_settings SET setting = 'other' WHERE name = 'search_path'",
    "SELECT to_other()",
    "CREATE TEMPORARY TABLE orders (id INT, tenant_id VARCHAR(64), amount INT)",
    "SELECT pg_advisory_lock(7)",
]
# MariaDB's named locks are the server's, not a database's: one name per test process, so
# parallel workers (and runs) do not take each other's.
LOCK = f"tenantdb_c_{os.getpid()}"
MYSQL_ADMIN = [
    "SELECT to_read_only()",
    "SELECT to_ansi()",
    "CREATE TEMPORARY TABLE orders (id INT, tenant_id VARCHAR(64), amount INT)",
    f"SELECT GET_LOCK('{LOCK}', 0)",
]
SQLITE_ADMIN = ["CREATE TEMPORARY TABLE orders (id INT, tenant_id VARCHAR(64), amount INT)"]


@pytest.mark.parametrize("backend", ALL, indirect=True)
def test_state_an_admin_session_leaves_is_reset(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    statements = {"postgres": PG_ADMIN, "mysql": MYSQL_ADMIN, "sqlite": SQLITE_ADMIN}
    for statement in statements[backend.name]:
        with cluster.session(admin=True) as s:
            s.execute(statement)
        _tenant_b_sees_the_defaults(cluster, backend)


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_locks_an_admin_session_takes_are_released(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    url = cluster.config.datasources["ds0"].url
    if backend.name == "postgres":
        take, held = "SELECT pg_advisory_lock(7)", "SELECT count(*) FROM pg_locks"
        held += " WHERE locktype = 'advisory' AND objid = 7"
    else:
        take, held = f"SELECT GET_LOCK('{LOCK}', 0)", f"SELECT IS_USED_LOCK('{LOCK}')"
    with cluster.session(admin=True) as s:
        s.execute(take)
        assert backend.query(url, held)[0][0] not in (0, None)
    assert backend.query(url, held)[0][0] in (0, None)


# -- state left by a tenant session ------------------------------------------------------


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_an_allowed_function_that_changes_settings_is_reset_for_the_next_tenant(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    poison = ["SELECT to_other()", "SELECT to_read_only()"]
    if backend.name == "mysql":
        poison = ["SELECT to_read_only()", "SELECT to_ansi()"]
    for statement in poison:
        with cluster.session(tenant="a") as s:
            s.execute(statement)
        _tenant_b_sees_the_defaults(cluster, backend)


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_session_without_tenant_calling_set_config_is_reset(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    statement = "SELECT to_read_only()"
    with cluster.session() as s:
        s.execute(statement)
    _tenant_b_sees_the_defaults(cluster, backend)


@pytest.mark.parametrize("backend", [SERVERS[0]], indirect=True)
def test_a_clean_tenant_session_skips_the_reset(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    url = cluster.config.datasources["ds0"].url
    # The pool's one connection, found by its pid: on a loaded server the fixture's set-up
    # connection can still be listed in pg_stat_activity while it exits.
    with cluster.session(admin=True) as s:
        ((pid,),) = s.execute("SELECT pg_backend_pid()").fetchall()
    last = "SELECT query FROM pg_stat_activity WHERE pid = %s"
    ((query,),) = backend.query(url, last, (pid,))
    assert query.endswith("DISCARD SEQUENCES")  # the admin session's connection was reset
    with cluster.session(tenant="a") as s:
        s.execute("SELECT id FROM orders WHERE id = %s", (1,))
    ((query,),) = backend.query(url, last, (pid,))
    assert query.startswith("SELECT id FROM orders")
    with cluster.session(admin=True) as s:
        s.execute("SELECT id FROM orders WHERE id = %s", (1,))
    ((query,),) = backend.query(url, last, (pid,))
    assert query.endswith("DISCARD SEQUENCES")


@pytest.mark.parametrize("backend", ALL, indirect=True)
def test_many_resets_on_one_connection_keep_statements_working(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    # psycopg prepares a statement once it has run five times on a connection: neither
    # the reset nor the statements around it may trip over prepared statements it drops.
    for i in range(12):
        with cluster.session(admin=True) as s:
            assert s.execute("SELECT id FROM orders WHERE id = %s", (1,)).fetchall() == [(1,)]
        with cluster.session(tenant="b") as s:
            assert s.execute("SELECT id FROM orders WHERE id = %s", (2,)).fetchall() == [(2,)]
            s.execute("UPDATE orders SET amount = %s WHERE id = %s", (i, 2))
    with cluster.session(tenant="b") as s:
        assert s.execute("SELECT amount FROM orders").fetchall() == [(11,)]
