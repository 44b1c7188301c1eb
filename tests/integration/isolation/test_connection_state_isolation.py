"""Connection state left in the pool (issue 21 item 3), with a pool of one connection.

Each test builds its own database and a cluster whose only datasource has
``pool.max_size = 1``, so every session reuses the one connection and a leak cannot hide.
A session (tenant ``a``, or an admin session) tries one way to change session state that
a later session would inherit: settings (``SET``, ``set_config`` through a SELECT, an UPDATE
of ``pg_settings`` through a CTE named like it, MariaDB ``SET @x`` / ``SET SESSION``,
SQLite ``PRAGMA``), ``LISTEN``, prepared statements, temporary tables named like a tenant
table, advisory and named locks, ``ATTACH`` / ``USE``. Refusing the statement is fine.
Afterwards tenant ``b`` on the same pool must read its own rows only, its INSERT must land
in the real table, and an admin session must see the settings a fresh connection has.
On both fronts (``front``): each resets its pooled connections with its own drivers. Every
attack runs on the thread front and about one in ``ASYNC_EVERY`` on the asyncio front too
(``on_fronts``): the asyncio front's reset is one mechanism per driver, which a sample of
the attacks exercises at half the cost (each test builds a database of its own).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from typing import Any

import pytest

import tenantdb
from fronts import Front

from ..conftest import Backend
from .conftest import BACKEND_MARKS, backend_param, norm_rows, on_fronts

ORDERS = (
    "CREATE TABLE {t} (id INT PRIMARY KEY, tenant_id VARCHAR(64), amount INT, note VARCHAR(100))"
)
SEEDED = [(1, "a", 10, "a1"), (2, "a", 20, "a2"), (101, "b", 1010, "b1"), (102, "b", 1020, "b2")]
B_ROWS = [("b", 101), ("b", 102)]
TEMP_ORDERS = (
    "CREATE TEMPORARY TABLE orders (id INT, tenant_id VARCHAR(64), amount INT, note VARCHAR(100))"
)

#: Statements a tenant session may try, per backend (``{other}``: another schema/database
#: holding an ``orders`` table; ``{path}``: a file for ATTACH).
TENANT_ATTACKS: dict[str, dict[str, str]] = {
    "postgres": {
        "set_config_select": "SELECT set_config('search_path', '{other}', false)",
        "set_config_from_orders": (
            "SELECT set_config('search_path', '{other}', false) FROM orders LIMIT 1"
        ),
        "set_config_in_cte": (
            "WITH x AS (SELECT set_config('search_path', '{other}', false) AS v) SELECT v FROM x"
        ),
        "pg_settings_cte_search_path": (
            "WITH pg_settings AS (SELECT 1) UPDATE pg_settings SET setting = '{other}' "
            "WHERE name = 'search_path'"
        ),
        "pg_settings_cte_read_only": (
            "WITH pg_settings AS (SELECT 1) UPDATE pg_settings SET setting = 'on' "
            "WHERE name = 'default_transaction_read_only'"
        ),
        "pg_settings_nested_cte": (
            "WITH x AS (SELECT 1), pg_settings AS (SELECT 2) UPDATE pg_settings "
            "SET setting = '{other}' WHERE name = 'search_path'"
        ),
        "set_search_path": "SET search_path TO {other}",
        "set_session_read_only": "SET SESSION default_transaction_read_only = on",
        "set_statement_timeout": "SET statement_timeout = 1",
        "reset_all": "RESET ALL",
        "listen": "LISTEN tenantdb_evil",
        "prepare": "PREPARE tenantdb_evil AS SELECT 1",
        "temp_table": TEMP_ORDERS,
        "advisory_lock": "SELECT pg_advisory_lock(4242)",
        "advisory_lock_from_orders": "SELECT pg_advisory_lock(id) FROM orders",
    },
    "mysql": {
        "user_variable": "SET @x = 1",
        "select_assign": "SELECT @x := 1",
        "set_session_sql_mode": "SET SESSION sql_mode = 'ANSI_QUOTES'",
        "set_sql_mode": "SET sql_mode = ''",
        "set_at_at_session": "SET @@session.sql_mode = ''",
        "set_time_zone": "SET time_zone = '+05:00'",
        "set_autocommit": "SET autocommit = 0",
        "set_read_only": "SET SESSION TRANSACTION READ ONLY",
        "set_names": "SET NAMES latin1",
        "use_database": "USE {other}",
        "temp_table": TEMP_ORDERS,
        "get_lock": "SELECT GET_LOCK('tenantdb_evil', 0)",
        "get_lock_from_orders": "SELECT GET_LOCK(note, 0) FROM orders",
    },
    "sqlite": {
        "pragma_query_only": "PRAGMA query_only = 1",
        "pragma_foreign_keys": "PRAGMA foreign_keys = ON",
        "pragma_case_sensitive_like": "PRAGMA case_sensitive_like = 1",
        "pragma_function": "SELECT * FROM pragma_query_only(1)",
        "attach": "ATTACH DATABASE '{path}' AS evil",
        "temp_table": TEMP_ORDERS,
        "temp_table_as": "CREATE TEMP TABLE orders AS SELECT * FROM orders WHERE 1 = 0",
    },
}
#: Statements an admin session may run; none may reach the next tenant session.
ADMIN_CHANGES: dict[str, dict[str, str]] = {
    "postgres": {
        "admin_set_search_path": "SET search_path TO {other}",
        "admin_set_config": "SELECT set_config('search_path', '{other}', false)",
        "admin_read_only": "SET default_transaction_read_only = on",
        "admin_temp_table": TEMP_ORDERS,
    },
    "mysql": {
        "admin_user_variable": "SET @x = 1",
        "admin_sql_mode": "SET SESSION sql_mode = 'ANSI_QUOTES'",
        "admin_use": "USE {other}",
        "admin_temp_table": TEMP_ORDERS,
    },
    "sqlite": {
        "admin_temp_table": TEMP_ORDERS,
        "admin_pragma": "PRAGMA query_only = 1",
        "admin_attach": "ATTACH DATABASE '{path}' AS evil",
    },
}
#: What a fresh connection reports; read through an admin session after the attempt.
#: (MariaDB user variables cannot be read back: ``@x`` is refused in every session.)
STATE_QUERIES: dict[str, list[str]] = {
    "postgres": [
        "SELECT current_setting('search_path')",
        "SELECT current_setting('default_transaction_read_only')",
        "SELECT current_setting('statement_timeout')",
        "SELECT count(*) FROM pg_listening_channels()",
        "SELECT count(*) FROM pg_prepared_statements WHERE name = 'tenantdb_evil'",
        "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()",
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()",
    ],
    "mysql": [
        "SELECT @@session.sql_mode",
        "SELECT DATABASE()",
        "SELECT @@session.autocommit",
        "SELECT @@session.tx_read_only",
        "SELECT @@session.time_zone",
        "SELECT @@session.character_set_client",
        "SELECT IS_USED_LOCK('tenantdb_evil') IS NOT NULL",
    ],
    "sqlite": [
        "SELECT * FROM pragma_query_only()",
        "SELECT * FROM pragma_foreign_keys()",
        "SELECT count(*) FROM pragma_database_list",
        "SELECT count(*) FROM temp.sqlite_master",
    ],
}


class PoolEnv:
    """A fresh database with ``orders`` (tenants a and b), a second place holding another
    ``orders`` (PostgreSQL schema / MariaDB database ``other``), a pool of one, and the
    ``front`` its clusters are opened on (``connect``)."""

    def __init__(self, backend: Backend, tmp: str, front: Front) -> None:
        self.backend = backend
        self.front = front
        self.url = backend.new_database()
        self.path = f"{tmp}/attached.db"
        other_url = ""
        statements = [ORDERS.format(t="orders")]
        if backend.name == "postgres":
            self.other = "sa"
            statements += ["CREATE SCHEMA sa", ORDERS.format(t="sa.orders")]
        elif backend.name == "mysql":
            other_url = backend.new_database()
            self.other = urllib.parse.urlsplit(other_url).path.lstrip("/")
            statements.append(ORDERS.format(t=f"`{self.other}`.orders"))
        else:
            self.other = "evil"
        for statement in statements:
            backend.query(self.url, statement)
        marks = ", ".join([backend.placeholder] * 4)
        for row in SEEDED:
            backend.query(self.url, f"INSERT INTO orders VALUES ({marks})", row)
        with self.connect() as cluster:
            self.baseline = self.state(cluster)

    def connect(self) -> tenantdb.Cluster:
        """A new cluster over the database, on ``front``."""
        return self.front.connect(self.config())

    def fill(self, sql: str) -> str:
        return sql.format(other=self.other, path=self.path)

    def config(self) -> dict[str, Any]:
        return {
            "dialect": self.backend.dialect,
            "datasources": {"ds0": {"url": self.url, "pool": {"min_size": 0, "max_size": 1}}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {t: {"datasource": "ds0", "isolation": "shared"} for t in ("a", "b")},
        }

    def state(self, cluster: tenantdb.Cluster) -> list[Any]:
        """The state queries through an admin session (on a fresh cluster: the defaults
        tenantdb's own connections start with)."""
        with cluster.session(admin=True) as session:
            return [
                norm_rows(session.execute(q).fetchall()) for q in STATE_QUERIES[self.backend.name]
            ]

    def other_rows(self) -> list[Any]:
        if self.backend.name == "postgres":
            return self.backend.query(self.url, "SELECT id FROM sa.orders")
        if self.backend.name == "mysql":
            return self.backend.query(self.url, f"SELECT id FROM `{self.other}`.orders")
        return []


@pytest.fixture
def pool_env(backend: Backend, tmp_path: Any, front: Front) -> PoolEnv:
    return PoolEnv(backend, str(tmp_path), front)


def _attempt(session: Any, sql: str) -> None:
    """Run one statement; a refusal or a driver error is an acceptable answer."""
    with contextlib.suppress(tenantdb.Error):
        result = session.execute(sql)
        if result.description is not None:
            result.fetchall()


def _check_next_sessions(env: PoolEnv, cluster: tenantdb.Cluster) -> None:
    with cluster.session(tenant="b") as session:
        rows = norm_rows(session.execute("SELECT tenant_id, id FROM orders").fetchall())
        assert sorted(rows) == B_ROWS, f"tenant b reads {rows} on the pooled connection"
        session.execute("INSERT INTO orders (id, amount, note) VALUES (900, 9, 'b-new')")
    landed = env.backend.query(env.url, "SELECT tenant_id, id FROM orders WHERE id = 900")
    assert norm_rows(landed) == [("b", 900)], "tenant b's INSERT did not land in orders"
    assert env.other_rows() == [], "tenant b's INSERT landed in another schema/database"
    with cluster.session(admin=True) as session:
        state = [norm_rows(session.execute(q).fetchall()) for q in STATE_QUERIES[env.backend.name]]
    changed = [
        f"{q}: {got} (fresh: {want})"
        for q, got, want in zip(STATE_QUERIES[env.backend.name], state, env.baseline, strict=True)
        if got != want
    ]
    assert not changed, "the pooled connection kept session state: " + "; ".join(changed)


ASYNC_EVERY = 2
INDIRECT = ["backend", "front"]
TENANT_PARAMS = on_fronts(
    [
        backend_param(name, sql, id=f"{name}-{attack}")
        for name in BACKEND_MARKS
        for attack, sql in TENANT_ATTACKS[name].items()
    ],
    async_every=ASYNC_EVERY,
)
ADMIN_PARAMS = on_fronts(
    [
        backend_param(name, sql, id=f"{name}-{change}")
        for name in BACKEND_MARKS
        for change, sql in ADMIN_CHANGES[name].items()
    ],
    async_every=ASYNC_EVERY,
)


@pytest.mark.parametrize(("backend", "sql", "front"), TENANT_PARAMS, indirect=INDIRECT)
def test_tenant_session_state_does_not_reach_the_next_session(
    backend: Backend, pool_env: PoolEnv, sql: str
) -> None:
    with pool_env.connect() as cluster:
        with cluster.session(tenant="a") as session:
            _attempt(session, pool_env.fill(sql))
        _check_next_sessions(pool_env, cluster)


@pytest.mark.parametrize(("backend", "sql", "front"), ADMIN_PARAMS, indirect=INDIRECT)
def test_admin_session_state_does_not_reach_a_tenant_session(
    backend: Backend, pool_env: PoolEnv, sql: str
) -> None:
    with pool_env.connect() as cluster:
        with cluster.session(admin=True) as session:
            _attempt(session, pool_env.fill(sql))
        _check_next_sessions(pool_env, cluster)


@pytest.mark.parametrize("backend", [backend_param(n) for n in BACKEND_MARKS], indirect=True)
def test_pool_of_one_reuses_the_connection(backend: Backend, pool_env: PoolEnv) -> None:
    """The premise: with max_size = 1 every session gets the same server connection."""
    ident = {
        "postgres": "SELECT pg_backend_pid()",
        "mysql": "SELECT CONNECTION_ID()",
        "sqlite": "SELECT count(*) FROM pragma_database_list",
    }[backend.name]
    with pool_env.connect() as cluster:
        seen = []
        for _ in range(3):
            with cluster.session(admin=True) as session:
                seen.append(session.execute(ident).fetchall())
        assert seen[0] == seen[1] == seen[2]
