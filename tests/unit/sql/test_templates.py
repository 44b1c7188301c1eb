from __future__ import annotations

import threading

import pytest

from tenantdb import ProgrammingError, SQLSyntaxError, UnsupportedSQLError
from tenantdb.core.sql import (
    ANY,
    AllOf,
    AnyOf,
    Atom,
    ColumnName,
    Const,
    Param,
    TemplateCache,
    parse_template,
)

DIALECTS = ["postgres", "mysql", "sqlite"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("SELECT 1", "select"),
        ("SELECT a FROM t UNION ALL SELECT b FROM u", "select"),
        ("INSERT INTO t (a) VALUES (%s)", "insert"),
        ("UPDATE t SET a = %s WHERE b = %s", "update"),
        ("DELETE FROM t WHERE a = %s", "delete"),
        ("CREATE TABLE t (a INT)", "ddl"),
        ("ALTER TABLE t ADD COLUMN b INT", "ddl"),
        ("DROP TABLE t", "ddl"),
        ("CREATE INDEX i ON t (a)", "ddl"),
    ],
)
def test_statement_kinds_on_the_allow_list(dialect: str, sql: str, kind: str) -> None:
    assert parse_template(sql, dialect).kind == kind


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "sql",
    [
        "SHOW TABLES",
        "SET search_path = other",
        "VACUUM",
        "GRANT ALL ON t TO bob",
        "TRUNCATE t",
        "EXPLAIN SELECT 1",
        "SELECT 1; SELECT 2",
        "SELECT * FROM t; DROP TABLE t",
        "CREATE VIEW v AS SELECT 1",
        "DROP INDEX i",
        "SELECT * INTO copy FROM t",
        "CREATE TABLE t2 AS SELECT * FROM t",
    ],
)
def test_everything_else_is_refused(dialect: str, sql: str) -> None:
    with pytest.raises(UnsupportedSQLError):
        parse_template(sql, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql", ["hello world", "select * fro t", "", "   ", "x = 1"])
def test_text_that_is_no_statement_is_a_syntax_error(dialect: str, sql: str) -> None:
    with pytest.raises(SQLSyntaxError):
        parse_template(sql, dialect)


def test_foreign_placeholder_styles_are_refused() -> None:
    with pytest.raises(UnsupportedSQLError, match="placeholder"):
        parse_template("SELECT * FROM t WHERE a = ?", "sqlite")
    with pytest.raises(UnsupportedSQLError, match="placeholder"):
        parse_template("SELECT * FROM t WHERE a = :name", "postgres")


def test_non_string_sql_is_a_programming_error() -> None:
    with pytest.raises(ProgrammingError):
        parse_template(b"SELECT 1", "postgres")  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_mysql_and_sqlite_parse_pyformat_placeholders(dialect: str) -> None:
    template = parse_template("SELECT a FROM t WHERE a = %s LIMIT %s", dialect)
    assert template.param_count == 2
    assert template.rendered.params == (0, 1)


def test_tables_exclude_cte_names_and_aliases() -> None:
    template = parse_template(
        "WITH recent AS (SELECT * FROM orders o WHERE o.id > 3) "
        "SELECT r.id, c.name FROM recent r JOIN countries AS c ON c.code = r.cc",
        "postgres",
    )
    assert template.tables == {"orders", "countries"}
    qualifiers = {ref.table: ref.qualifier for ref in template.refs}
    assert qualifiers == {"orders": "o", "countries": "c"}


def test_unquoted_names_are_lowercased_quoted_names_kept() -> None:
    template = parse_template('SELECT * FROM Orders JOIN "Items" ON 1 = 1', "postgres")
    assert [(r.table, r.quoted) for r in template.refs] == [("orders", False), ("Items", True)]


def _where(sql: str, dialect: str = "postgres") -> object:
    return parse_template(sql, dialect).scopes[0].predicate


def test_equality_in_and_between_become_atoms() -> None:
    col = ColumnName(None, "k")
    assert _where("SELECT * FROM t WHERE k = %s") == Atom(col, "eq", (Param(0),))
    assert _where("SELECT * FROM t WHERE %s = k") == Atom(col, "eq", (Param(0),))
    assert _where("SELECT * FROM t WHERE k IN (1, %s)") == Atom(col, "in", (Const(1), Param(0)))
    assert _where("SELECT * FROM t WHERE k BETWEEN 'a' AND 'b'") == Atom(
        col, "between", (Const("a"), Const("b"))
    )


def test_comparisons_are_flipped_when_the_value_is_on_the_left() -> None:
    col = ColumnName("t", "k")
    assert _where("SELECT * FROM t WHERE 5 < t.k") == Atom(col, "gt", (Const(5),))
    assert _where("SELECT * FROM t WHERE t.k <= -3") == Atom(col, "le", (Const(-3),))


def test_and_or_combine_and_not_or_functions_are_no_constraint() -> None:
    predicate = _where("SELECT * FROM t WHERE (k = 1 OR k = 2) AND x = 3")
    assert isinstance(predicate, AllOf)
    assert isinstance(predicate.parts[0], AnyOf)
    assert _where("SELECT * FROM t WHERE NOT k = 1") is ANY
    assert _where("SELECT * FROM t WHERE abs(k) = 1") is ANY
    assert _where("SELECT * FROM t WHERE k = x + 1") is ANY
    assert _where("SELECT * FROM t WHERE k = 1 OR abs(k) = 2") is ANY
    assert _where("SELECT * FROM t WHERE k IN (SELECT k FROM u)") is ANY


def test_outer_join_conditions_do_not_constrain_but_inner_ones_do() -> None:
    inner = _where("SELECT * FROM a JOIN b ON b.k = a.k AND b.k = 5")
    outer = _where("SELECT * FROM a LEFT JOIN b ON b.k = a.k AND b.k = 5")
    assert inner == Atom(ColumnName("b", "k"), "eq", (Const(5),))
    assert outer is ANY


def test_text_is_kept_and_only_names_and_placeholders_are_slots() -> None:
    sql = "select o.id, orders.x FROM orders o, orders WHERE k = %s  AND y LIKE 'a%%'"
    rendered = parse_template(sql, "sqlite").rendered
    assert rendered.pieces == (
        "select o.id, ",
        ".x FROM ",
        " o, ",
        " WHERE k = ",
        "  AND y LIKE 'a%'",
    )
    assert rendered.slots == (("qualifier", 1), ("table", 0), ("table", 1), ("param", 0))


def test_sqlite_ddl_types_survive_untouched() -> None:
    sql = "CREATE TABLE t (id BIGINT PRIMARY KEY, amount NUMERIC(12, 2))"
    rendered = parse_template(sql, "sqlite").rendered
    assert rendered.pieces == ("CREATE TABLE ", " (id BIGINT PRIMARY KEY, amount NUMERIC(12, 2))")


def test_parameter_order_follows_the_text() -> None:
    # MySQL's LIMIT offset, count: the offset placeholder comes first in the text.
    template = parse_template("SELECT a FROM t LIMIT %s, %s", "mysql")
    assert template.rendered.params == (0, 1)
    assert template.rendered.pieces[-2:] == (", ", "")


def test_insert_rows_and_upsert_assignments() -> None:
    template = parse_template(
        "INSERT INTO t (id, k) VALUES (%s, %s), (3, %s) "
        "ON CONFLICT (id) DO UPDATE SET k = excluded.k",
        "postgres",
    )
    insert = template.insert
    assert insert is not None
    assert insert.columns == ("id", "k")
    assert insert.rows == ((Param(0), Param(1)), (Const(3), Param(2)))
    assert insert.upsert_sets == (ColumnName(None, "k"),)


def test_insert_row_width_mismatch_is_a_programming_error() -> None:
    with pytest.raises(ProgrammingError, match="names 2 columns"):
        parse_template("INSERT INTO t (a, b) VALUES (1)", "postgres")


def test_cache_is_bounded_and_returns_the_same_template() -> None:
    cache = TemplateCache(max_size=2)
    first = cache.get("SELECT 1", "postgres")
    assert cache.get("SELECT 1", "postgres") is first
    cache.get("SELECT 2", "postgres")
    cache.get("SELECT 3", "postgres")
    assert len(cache) == 2
    assert cache.get("SELECT 1", "postgres") is not first
    assert cache.get("SELECT 1", "mysql") is not cache.get("SELECT 1", "postgres")


def test_cache_is_safe_under_threads() -> None:
    cache = TemplateCache(max_size=16)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(200):
                template = cache.get(f"SELECT {(i + offset) % 40}", "postgres")
                assert template.kind == "select"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 16


def test_null_in_an_in_list_is_skipped_not_a_reason_to_scan() -> None:
    assert _where("SELECT * FROM t WHERE k IN (%s, NULL)") == Atom(
        ColumnName(None, "k"), "in", (Param(0),)
    )
