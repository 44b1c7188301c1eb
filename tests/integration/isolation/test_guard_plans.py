"""The tenant guard keeps indexes: EXPLAIN on real servers, for statements as a tenant
session sends them. Point reads use the primary key, other reads the tenant column's index;
conditions under ``CASE WHEN <tenant> THEN ... END`` are evaluated on the tenant's rows only.

The figures that go with this (what the guard costs per statement) are printed by
``benchmarks/guard.py``; nothing here measures time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb

from ..conftest import Backend

SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
TENANTS = 20
ROWS_PER_TENANT = 200


@pytest.fixture
def cluster(backend: Backend) -> Any:
    url = backend.new_database()
    statements = [
        "CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, "
        "amount INT, note VARCHAR(100))",
        "CREATE INDEX ix_orders_tenant ON orders (tenant_id)",
    ]
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        for statement in statements:
            cursor.execute(statement)
        rows = [
            (t * ROWS_PER_TENANT + i, f"t{t}", i, f"note {i}")
            for t in range(TENANTS)
            for i in range(ROWS_PER_TENANT)
        ]
        cursor.executemany(
            "INSERT INTO orders (id, tenant_id, amount, note) VALUES (%s, %s, %s, %s)", rows
        )
        cursor.execute("ANALYZE TABLE orders" if backend.name == "mysql" else "ANALYZE orders")
        if backend.name == "mysql":
            cursor.fetchall()
        cursor.close()
    config = {
        "datasources": {"ds0": {"url": url}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {f"t{t}": {"datasource": "ds0"} for t in range(TENANTS)},
    }
    with contextlib.closing(tenantdb.connect(config)) as c:
        yield url, c


def plan_of(backend: Backend, url: str, cluster: Any, sql: str, params: list[Any]) -> str:
    """The server's plan for the statement tenant t3's session sends, as text."""
    target = cluster.explain(sql, params, tenant="t3").targets[0]
    assert "CASE WHEN" in target.sql or "WHERE" in target.sql
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        if backend.name == "postgres":
            cursor.execute("EXPLAIN (FORMAT JSON) " + target.sql, target.params)
            document = cursor.fetchone()[0]
            return json.dumps(document if not isinstance(document, str) else json.loads(document))
        cursor.execute("EXPLAIN FORMAT=JSON " + target.sql, target.params)
        return str(cursor.fetchone()[0])


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_point_read_uses_the_primary_key(backend: Backend, cluster: Any) -> None:
    url, c = cluster
    plan = plan_of(backend, url, c, "SELECT note FROM orders WHERE id = %s", [605])
    assert "orders_pkey" in plan if backend.name == "postgres" else '"key": "PRIMARY"' in plan


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_guarded_read_uses_the_tenant_index(backend: Backend, cluster: Any) -> None:
    url, c = cluster
    sql = "SELECT id FROM orders WHERE length(note) > 6 AND amount % 7 = 1"
    plan = plan_of(backend, url, c, sql, [])
    assert "ix_orders_tenant" in plan
    # And the guarded statement still answers like the plain one on the tenant's rows.
    with c.session(tenant="t3") as s:
        got = sorted(row[0] for row in s.execute(sql).fetchall())
    expected = [
        3 * ROWS_PER_TENANT + i
        for i in range(ROWS_PER_TENANT)
        if len(f"note {i}") > 6 and i % 7 == 1
    ]
    assert got == expected


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_a_range_on_the_key_keeps_its_index(backend: Backend, cluster: Any) -> None:
    url, c = cluster
    plan = plan_of(backend, url, c, "SELECT id FROM orders WHERE id BETWEEN %s AND %s", [600, 640])
    index = (
        ("orders_pkey", "ix_orders_tenant")
        if backend.name == "postgres"
        else ("PRIMARY", "ix_orders_tenant")
    )
    assert any(name in plan for name in index)
    assert "Seq Scan" not in plan
    assert '"access_type": "ALL"' not in plan


def load_orders(backend: Backend, url: str, rows: list[tuple[Any, ...]]) -> None:
    """``orders`` with ``rows``, an index on tenant_id and one on note, statistics taken."""
    mark = backend.placeholder
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, "
            "amount INT, note VARCHAR(100))"
        )
        cursor.execute("CREATE INDEX ix_t ON orders (tenant_id)")
        cursor.execute("CREATE INDEX ix_n ON orders (note)")
        cursor.executemany(f"INSERT INTO orders VALUES ({mark}, {mark}, {mark}, {mark})", rows)
        cursor.execute({"mysql": "ANALYZE TABLE orders"}.get(backend.name, "ANALYZE orders"))
        if backend.name == "mysql":
            cursor.fetchall()
        cursor.close()


ALL_BACKENDS = [
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_the_guard_holds_where_the_plan_reads_other_tenants_rows_first(
    backend: Backend,
) -> None:
    # An index on note makes `note >= 'b'` the cheapest access path: SQLite tests
    # index-only conditions before it reads the table row, MariaDB pushes them into the
    # index scan (index condition pushdown). Either evaluates the statement's own
    # expression on B's row before any tenant condition, wherever that condition is
    # written, unless the expression is under the guard.
    url = backend.new_database()
    rows = [(i, "a", i, f"a{i}") for i in range(1, 300)] + [(1001, "b", 1010, "bsecret1")]
    load_orders(backend, url, rows)
    overflow = {
        "sqlite": "abs(CASE WHEN note = 'bsecret1' THEN -9223372036854775807 - 1 ELSE 0 END)",
        "postgres": "(CASE WHEN note = 'bsecret1' THEN 2147483647 + id ELSE 0 END)",
        "mysql": "(CASE WHEN note = 'bsecret1' THEN 9223372036854775807 + id ELSE 0 END)",
    }[backend.name]
    config = {
        "datasources": {"ds0": {"url": url}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds0"}},
    }
    with contextlib.closing(tenantdb.connect(config)) as c, c.session(tenant="a") as s:
        got = s.execute(f"SELECT id FROM orders WHERE note >= 'b' AND {overflow} >= 0").fetchall()
        assert got == []  # A has no note from 'b' on: the answer of A's rows alone
        if backend.name == "mysql":
            s.execute("UPDATE orders SET amount = amount WHERE note >= 'b' AND note = 0")


# -- generated: every error trigger where the plan reads B's rows first ---------------------

HEAVY_A_ROWS = 300
B_ROW = (1001, "b", 1010, "b1")  # generators.ORACLE_TABLES[0]'s B values
ORDER_POSITIONS = {
    "select_range_first": "SELECT t.id FROM orders t WHERE t.note >= 'b' AND {t}",
    "select_range_last": "SELECT t.id FROM orders t WHERE {t} AND t.note >= 'b'",
    "select_or": "SELECT t.id FROM orders t WHERE t.note >= 'b' AND ({t} OR t.id < 0)",
    "join_on": (
        "SELECT count(*) FROM orders o JOIN orders t ON t.id = o.id AND t.note >= 'b' AND {t}"
    ),
    "exists": (
        "SELECT o.id FROM orders o WHERE o.id = 1 AND EXISTS "
        "(SELECT 1 FROM orders t WHERE t.note >= 'b' AND {t})"
    ),
    "update": "UPDATE orders t SET note = note WHERE t.note >= 'b' AND {t}",
    "delete": "DELETE FROM orders t WHERE t.note >= 'b' AND {t}",
}


def _order_cases() -> list[Any]:
    from .generators import GUARDS, ORACLE_TABLES, TRIGGERS

    table = ORACLE_TABLES[0]
    cases = []
    for backend in ("sqlite", "postgres", "mysql"):
        marks = {"postgres": [pytest.mark.postgres], "mysql": [pytest.mark.mysql]}
        guards = list(GUARDS.items())
        for n, ((pname, position), (tname, trigger)) in enumerate(
            itertools.product(ORDER_POSITIONS.items(), TRIGGERS[backend].items())
        ):
            gname, guard = guards[n % len(guards)]  # each guard in turn: a third of the product
            if pname in ("update", "delete") and backend != "postgres":
                position = position.replace("orders t ", "orders ").replace("t.", "")
                condition = trigger(table, "", guard(table, ""))
            else:
                condition = trigger(table, "t.", guard(table, "t."))
            sql = position.format(t=condition)
            cases.append(
                pytest.param(
                    backend,
                    sql,
                    marks=marks.get(backend, []),
                    id=f"{backend}-{pname}-{tname}-{gname}",
                )
            )
    return cases


@pytest.fixture(scope="module")
def _heavy_worlds() -> Iterator[dict[str, Any]]:
    """``heavy``'s worlds by backend, closed when the module ends. (A module-scoped fixture
    of ``backend`` would be rebuilt for every case: each case parametrizes ``backend``
    itself, and pytest keys a fixture's cache by the parameter's position.)"""
    worlds: dict[str, Any] = {}
    yield worlds
    for cluster, _ in worlds.values():
        cluster.close()


@pytest.fixture
def heavy(backend: Backend, _heavy_worlds: dict[str, Any]) -> Any:
    """Main (A's 300 rows and B's row, indexes on tenant_id and note) and the A-only mirror,
    built once per backend and module: the statements change no row (their conditions hold
    on B's row only, and the test checks it stayed as it was)."""
    if backend.name not in _heavy_worlds:
        urls = backend.new_databases(2)
        a_rows = [(i, "a", i, f"a{i}") for i in range(1, HEAVY_A_ROWS + 1)]
        for url, rows in zip(urls, ([*a_rows, B_ROW], a_rows), strict=True):
            load_orders(backend, url, rows)
        config = {
            "datasources": {"ds0": {"url": urls[0]}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds0"}},
        }
        _heavy_worlds[backend.name] = (tenantdb.connect(config), urls)
    return _heavy_worlds[backend.name]


def _raw_outcome(backend: Backend, url: str, sql: str) -> tuple[str, Any]:
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
        except Exception as exc:  # the mirror's own error: tenantdb must fail too
            return "error", type(exc).__name__
        rows = sorted(tuple(r) for r in cursor.fetchall()) if cursor.description else None
        return "ok", (rows, cursor.rowcount if rows is None else None)


@pytest.mark.parametrize(("backend", "sql"), _order_cases(), indirect=["backend"])
def test_no_plan_evaluates_the_statement_on_other_tenants_rows(
    backend: Backend, heavy: Any, sql: str
) -> None:
    cluster, (main, mirror) = heavy
    expected = _raw_outcome(backend, mirror, sql)
    got: tuple[str, Any]
    try:
        with cluster.session(tenant="a") as s:
            result = s.execute(sql)
            rows = sorted(tuple(r) for r in result.fetchall()) if result.description else None
            got = ("ok", (rows, result.rowcount if rows is None else None))
    except (tenantdb.TenantIsolationError, tenantdb.UnsupportedSQLError, tenantdb.SQLSyntaxError):
        got = expected if expected[0] == "error" else ("refused", None)  # allowed either way
    except tenantdb.DatabaseError as exc:
        got = ("error", "b1" in str(exc))
        expected = ("error", False) if expected[0] == "error" else expected
    assert got[0] != "ok" or got == expected
    assert got[0] != "error" or got == expected, "an error A's rows alone do not raise"
    assert backend.query(main, f"SELECT * FROM orders WHERE id = {B_ROW[0]}") == [B_ROW]
    assert len(backend.query(main, "SELECT id FROM orders")) == HEAVY_A_ROWS + 1
