"""The target writes' SQL: refusals before anything runs, quoting and placeholders. Pure
(the servers' behaviour: tests/integration/test_move_apply.py)."""

from __future__ import annotations

import pytest

from tenantdb.core.moves import (
    MAX_PARAMETERS,
    MAX_ROWS_PER_STATEMENT,
    delete_by_key,
    page_as_arrays,
    rows_per_statement,
    upsert,
    upsert_arrays,
)
from tenantdb.core.verify import TableShape


def test_an_upsert_must_write_the_whole_key() -> None:
    with pytest.raises(ValueError, match="must include the whole primary key"):
        upsert("postgres", "t", None, ("a",), ("a", "b"))
    with pytest.raises(ValueError, match="no upsert for dialect 'oracle'"):
        upsert("oracle", "t", None, ("a",), ("a",))


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_names_are_quoted_and_values_are_placeholders(dialect: str) -> None:
    sql = upsert(dialect, 'we"ird', "acme", ("id", "note"), ("id",))
    quote = "`" if dialect == "mysql" else '"'
    assert sql.startswith(f"INSERT INTO {quote}acme{quote}.")
    assert sql.count("%s") == 2
    delete = delete_by_key(dialect, "t", None, ("a", "b"))
    assert delete.count("%s") == 2
    with pytest.raises(ValueError, match="needs the primary key"):
        delete_by_key(dialect, "t", None, ())


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_a_multi_row_upsert_has_one_group_of_placeholders_per_row(dialect: str) -> None:
    one = upsert(dialect, "t", None, ("a", "b", "c"), ("a",))
    three = upsert(dialect, "t", None, ("a", "b", "c"), ("a",), rows=3)
    assert three.count("%s") == 9
    assert three.count("(%s, %s, %s)") == 3
    # Only the VALUES list grows: the conflict clause is the one-row statement's.
    head, _, tail = one.partition("VALUES (%s, %s, %s)")
    assert three == f"{head}VALUES {', '.join(['(%s, %s, %s)'] * 3)}{tail}"
    with pytest.raises(ValueError, match="at least one row, not 0"):
        upsert(dialect, "t", None, ("a",), ("a",), rows=0)


def test_rows_per_statement_stays_under_each_servers_parameter_limit() -> None:
    for dialect, limit in MAX_PARAMETERS.items():
        for width in (1, 6, 7, 40, 500):
            rows = rows_per_statement(dialect, width)
            assert 1 <= rows <= MAX_ROWS_PER_STATEMENT
            assert rows * width <= limit
            # As many as fit, up to the cap: one more row would pass one of the two.
            assert rows == MAX_ROWS_PER_STATEMENT or (rows + 1) * width > limit
    assert rows_per_statement("sqlite", 6, max_parameters=999) == 166  # SQLite before 3.32
    assert rows_per_statement("postgres", 100) == 655
    with pytest.raises(ValueError, match="cannot hold one row of 12 columns"):
        rows_per_statement("sqlite", 12, max_parameters=10)
    with pytest.raises(ValueError, match="at least one column"):
        rows_per_statement("mysql", 0)
    with pytest.raises(ValueError, match="no parameter limit known for dialect 'oracle'"):
        rows_per_statement("oracle", 3)


def test_an_array_upsert_takes_one_cast_array_per_column() -> None:
    sql = upsert_arrays(
        "orders", "s1", ("tenant_id", "id", "note"), ("tenant_id", "id"), ("text", "bigint", "x")
    )
    assert sql == (
        'INSERT INTO "s1"."orders" ("tenant_id", "id", "note") SELECT * FROM'
        " unnest(%s::text[], %s::bigint[], %s::x[]) ON CONFLICT"
        ' ("tenant_id", "id") DO UPDATE SET "note" = excluded."note"'
    )
    with pytest.raises(ValueError, match="2 columns need 2 types, got 1"):
        upsert_arrays("t", None, ("a", "b"), ("a",), ("integer",))
    with pytest.raises(ValueError, match=r"type integer\[\] cannot be written by unnest"):
        upsert_arrays("t", None, ("a", "b"), ("a",), ("integer", "integer[]"))


def test_a_page_as_arrays_reads_the_page_and_names_its_last_key() -> None:
    shape = TableShape(
        "postgres",
        "orders",
        ("tenant_id", "id"),
        ("tenant_id", "id", "note"),
        where="tenant_id = %s",
        where_params=("acme",),
    )
    page, params = shape.page(("acme", 7), 500)
    sql, arrays_params = page_as_arrays(shape, ("acme", 7), 500)
    assert arrays_params == params == ("acme", "acme", 7)
    assert sql.endswith(f"FROM ({page}) AS page")
    assert sql.startswith('SELECT count(*), (array_agg("tenant_id" ORDER BY "tenant_id", "id"))')
    assert sql.count("::text") == 3
    with pytest.raises(ValueError, match="for PostgreSQL, not mysql"):
        page_as_arrays(TableShape("mysql", "t", ("a",), ("a",)), None, 5)
