"""The tenant guard keeps indexes: EXPLAIN on real servers, for statements as a tenant
session sends them. Point reads use the primary key, other reads the tenant column's index;
conditions under ``CASE WHEN <tenant> THEN ... END`` are evaluated on the tenant's rows only.

The figures that go with this (what the guard costs per statement) are printed by
``benchmarks/guard.py``; nothing here measures time.
"""

from __future__ import annotations

import contextlib
import json
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
    assert "Seq Scan" not in plan and '"access_type": "ALL"' not in plan


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
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, "
            "amount INT, note VARCHAR(100))"
        )
        cursor.execute("CREATE INDEX ix_t ON orders (tenant_id)")
        cursor.execute("CREATE INDEX ix_n ON orders (note)")
        mark = backend.placeholder
        cursor.executemany(f"INSERT INTO orders VALUES ({mark}, {mark}, {mark}, {mark})", rows)
        cursor.execute({"mysql": "ANALYZE TABLE orders"}.get(backend.name, "ANALYZE orders"))
        if backend.name == "mysql":
            cursor.fetchall()
        cursor.close()
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
