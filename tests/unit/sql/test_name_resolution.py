"""How a statement's names resolve: CTEs against real relations, writes nested in other
statements, quoted strings where a column belongs. Pure: templates only, no database."""

from __future__ import annotations

import pytest

from tenantdb import SQLSyntaxError, UnsupportedSQLError
from tenantdb.core.sql import assigned_columns, parse_template

DIALECTS = ["postgres", "mysql", "sqlite"]


def tables(sql: str, dialect: str = "postgres") -> list[str]:
    return [ref.table for ref in parse_template(sql, dialect).refs]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # The CTE's own body sees the real relation unless the WITH is RECURSIVE.
        ("WITH secrets AS (SELECT * FROM secrets) SELECT * FROM secrets", ["secrets"]),
        # An earlier CTE cannot see a later one: the name is the real relation there.
        ("WITH x AS (SELECT * FROM secrets), secrets AS (SELECT 1) SELECT * FROM x", ["secrets"]),
        # Later CTEs and the main statement see earlier ones.
        ("WITH a AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM b", []),
        ("WITH a AS (SELECT 1) SELECT * FROM (SELECT * FROM a) AS d", []),
        # A WITH inside a subquery is visible only inside it.
        ("SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) AS d, t", ["t"]),
        ("WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r) SELECT * FROM r", []),
    ],
)
def test_cte_names_resolve_like_the_backend(dialect: str, sql: str, expected: list[str]) -> None:
    assert tables(sql, dialect) == expected


@pytest.mark.parametrize(
    ("sql", "dialect", "target"),
    [
        (
            "WITH tenantdb_tenants AS (SELECT 1) UPDATE tenantdb_tenants SET data = 1",
            "postgres",
            "tenantdb_tenants",
        ),
        ("WITH secrets AS (SELECT 1) DELETE FROM secrets", "sqlite", "secrets"),
        ("WITH secrets AS (SELECT 1) DELETE FROM secrets", "mysql", "secrets"),
        (
            "WITH pg_settings AS (SELECT 1) UPDATE pg_settings SET a = 'x'",
            "postgres",
            "pg_settings",
        ),
        ("WITH s AS (SELECT 1) INSERT INTO s (a) SELECT * FROM s", "postgres", "s"),
    ],
)
def test_a_write_target_is_never_a_cte(sql: str, dialect: str, target: str) -> None:
    assert tables(sql, dialect) == [target]


@pytest.mark.parametrize(
    "sql",
    [
        "WITH u AS (UPDATE orders SET tenant_id = 'b' RETURNING id) "
        "UPDATE orders SET amount = amount WHERE false",
        "WITH d AS (DELETE FROM orders RETURNING id) INSERT INTO orders (id) SELECT id FROM d",
        "WITH i AS (INSERT INTO orders (id) VALUES (1) RETURNING id) DELETE FROM orders",
        "WITH u AS (UPDATE orders SET note = 'x' RETURNING id) SELECT * FROM u",
        "SELECT * FROM (WITH u AS (DELETE FROM orders RETURNING id) SELECT * FROM u) AS d",
    ],
)
def test_writes_nested_in_a_statement_are_refused(sql: str) -> None:
    with pytest.raises(UnsupportedSQLError, match="inside another statement"):
        parse_template(sql, "postgres")


@pytest.mark.parametrize(
    ("sql", "assigned"),
    [
        ("UPDATE orders SET 'tenant_id' = 'b' WHERE id = 1", ["tenant_id"]),
        ("UPDATE orders SET 'TENANT_ID' = %s", ["tenant_id"]),
        ("UPDATE orders SET (amount, 'tenant_id') = (1, 'b')", ["amount", "tenant_id"]),
        (
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET 'tenant_id' = 'b'",
            ["tenant_id"],
        ),
    ],
)
def test_a_quoted_string_in_set_is_the_column_on_sqlite(sql: str, assigned: list[str]) -> None:
    template = parse_template(sql, "sqlite")
    assert assigned_columns(template.statement) == assigned


def test_a_quoted_string_in_an_insert_column_list_is_the_column_on_sqlite() -> None:
    template = parse_template("INSERT INTO orders ('tenant_id', id) VALUES ('b', 5)", "sqlite")
    assert template.insert is not None
    assert template.insert.columns == ("tenant_id", "id")


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_quoted_string_as_set_target_is_refused_elsewhere(dialect: str) -> None:
    with pytest.raises(UnsupportedSQLError, match="string where a column name belongs"):
        parse_template("UPDATE orders SET 'tenant_id' = 'b'", dialect)


@pytest.mark.parametrize(
    "sql",
    [
        'UPDATE orders SET U&"tenant\\005fid" = %s',
        'SELECT u&"\\0074enant_id" FROM orders',
        'SELECT * FROM orders WHERE U&"tenant\\005fid" = %s',
    ],
)
def test_unicode_escaped_identifiers_are_refused_on_postgres(sql: str) -> None:
    # sqlglot reads U&"x" as `U & "x"`; PostgreSQL reads one identifier.
    with pytest.raises(UnsupportedSQLError, match="Unicode-escaped identifiers"):
        parse_template(sql, "postgres")
    # Where sqlglot cannot even read it, the statement is refused all the same.
    with pytest.raises(SQLSyntaxError):
        parse_template('INSERT INTO orders (id, U&"tenant\\005fid") VALUES (1, %s)', "postgres")
