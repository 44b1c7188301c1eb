"""The statement that reaches the database means what the user's statement means there.

1. Syntax the cluster's database rejects but sqlglot reads is refused by tenantdb (each
   spelling is first shown to be rejected by the real server), while the spelling the
   message suggests is accepted by both.
2. Round trip: for generated casts (every type name x value), the text tenantdb sends in a
   tenant session, where the statement is regenerated, evaluates to the same value as the
   user's text on the real backend, or tenantdb refuses it.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pytest

import tenantdb
from tenantdb import UnsupportedSQLError
from tenantdb.core.sql import parse_template

from .conftest import Backend

SERVERS = {
    "sqlite": pytest.param("sqlite"),
    "postgres": pytest.param("postgres", marks=pytest.mark.postgres),
    "mysql": pytest.param("mysql", marks=pytest.mark.mysql),
}

# (dialect, statement the server rejects, words the refusal names, a spelling it accepts)
REJECTED = [
    (
        "postgres",
        "SELECT 1 AS a LIMIT 2, 3",
        "LIMIT offset, count",
        "SELECT 1 AS a LIMIT 3 OFFSET 2",
    ),
    ("sqlite", "SELECT '2025-02-01'::date", ":: cast", "SELECT CAST('2025-02-01' AS TEXT)"),
    ("sqlite", "SELECT 1 FETCH FIRST 1 ROWS ONLY", "FETCH", "SELECT 1 LIMIT 1"),
    ("sqlite", "SELECT 1 LIMIT 1 OFFSET 0 ROWS", "OFFSET ... ROWS", "SELECT 1 LIMIT 1 OFFSET 0"),
    ("sqlite", "SELECT 1 LIMIT ALL", "LIMIT ALL", "SELECT 1"),
    ("sqlite", "SELECT 'a' ILIKE 'A'", "ILIKE", "SELECT 'a' LIKE 'A'"),
    (
        "mysql",
        "SELECT CAST('2025-02-01' AS DATE)::date",
        ":: cast",
        "SELECT CAST('2025-02-01' AS DATE)",
    ),
    ("mysql", "SELECT 'a' ILIKE 'A'", "ILIKE", "SELECT 'a' LIKE 'A'"),
    ("mysql", "SELECT 1 IS DISTINCT FROM 2", "IS [NOT] DISTINCT FROM", "SELECT NOT (1 <=> 2)"),
    ("mysql", "SELECT 1 IS NOT DISTINCT FROM 2", "IS [NOT] DISTINCT FROM", "SELECT 1 <=> 2"),
    (
        "mysql",
        "SELECT 1 FROM dual LIMIT 1 OFFSET 0 ROWS",
        "OFFSET ... ROWS",
        "SELECT 1 FROM dual LIMIT 1 OFFSET 0",
    ),
    ("mysql", "SELECT 1 LIMIT ALL", "LIMIT ALL", "SELECT 1"),
]


def _rejects(backend: Backend, url: str, sql: str) -> bool:
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        try:
            cursor.execute(sql)
            cursor.fetchall()
        except Exception:  # any driver error is a rejection here
            return True
        return False


@pytest.mark.parametrize(
    ("backend", "sql", "named", "instead"),
    [
        pytest.param(
            SERVERS[d].values[0], sql, named, instead, marks=SERVERS[d].marks, id=f"{d}: {sql}"
        )
        for d, sql, named, instead in REJECTED
    ],
    indirect=["backend"],
)
def test_syntax_the_backend_rejects_is_refused(
    backend: Backend, sql: str, named: str, instead: str
) -> None:
    url = backend.new_database()
    assert _rejects(backend, url, sql), f"{backend.dialect} accepted {sql!r}"
    assert not _rejects(backend, url, instead), f"{backend.dialect} rejected {instead!r}"
    with pytest.raises(UnsupportedSQLError) as info:
        parse_template(sql, backend.dialect)  # type: ignore[arg-type]
    message = str(info.value)
    assert named in message
    assert {"postgres": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL"}[
        backend.dialect
    ] in message
    parse_template(instead, backend.dialect)  # type: ignore[arg-type]


TYPES = {
    "sqlite": [
        "DATE",
        "DATETIME",
        "TIMESTAMP",
        "NUMERIC",
        "DECIMAL(10, 2)",
        "BOOLEAN",
        "INTEGER",
        "INT",
        "REAL",
        "TEXT",
        "VARCHAR(3)",
        "BLOB",
    ],
    "postgres": [
        "DATE",
        "TIMESTAMP",
        "NUMERIC",
        "BOOLEAN",
        "INTEGER",
        "REAL",
        "TEXT",
        "VARCHAR(3)",
    ],
    "mysql": [
        "DATE",
        "DATETIME",
        "DECIMAL(10, 2)",
        "SIGNED",
        "UNSIGNED",
        "CHAR",
        "CHAR(3)",
        "BINARY",
    ],
}
VALUES = ["'2025-02-01 10:30:00'", "'2025-02-01'", "'3'", "'1.5'", "'abcdef'", "'t'", "'20250201'"]


@pytest.mark.parametrize("backend", list(SERVERS.values()), indirect=True)
def test_regenerated_casts_mean_what_the_user_wrote(backend: Backend) -> None:
    url = backend.new_database()
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        cursor.execute("CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64))")
        cursor.execute("INSERT INTO orders VALUES (1, 'a')")
    cluster = tenantdb.connect(
        {
            "datasources": {"ds0": {"url": url}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"a": {"datasource": "ds0"}},
        }
    )
    checked = refused = 0
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        for type_name, value in itertools.product(TYPES[backend.dialect], VALUES):
            user_sql = f"SELECT CAST({value} AS {type_name}) FROM orders WHERE id = 1"
            try:
                cursor.execute(user_sql)
                expected: Any = cursor.fetchall()
            except Exception:  # the backend rejects this value: nothing to compare
                continue
            try:
                (target,) = cluster.explain(user_sql, tenant="a").targets
            except UnsupportedSQLError:
                refused += 1
                continue
            cursor.execute(target.sql, tuple(target.params))
            assert cursor.fetchall() == expected, (user_sql, target.sql)
            checked += 1
    cluster.close()
    assert checked > 0
    if backend.dialect == "sqlite":
        assert refused > 0  # CAST AS DATE / DATETIME / NUMERIC / BOOLEAN are refused there
