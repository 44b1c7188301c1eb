"""A move's copy by COPY on PostgreSQL: which tables may travel so, and the statements'
SQL. Pure (the servers' behaviour: tests/integration/test_move_copy_pg.py)."""

from __future__ import annotations

import pytest

from tenantdb.core.moves import (
    FIRST_USER_OID,
    copy_chunk_bound,
    copy_format,
    copy_in,
    copy_out_chunk,
)
from tenantdb.core.verify import TableShape

INT, TEXT, INTS = ("integer", 23), ("text", 25), ("integer[]", 1007)
MOOD = ("mood", FIRST_USER_OID + 7)
SHAPE = TableShape(
    "postgres",
    "orders",
    ("tenant_id", "id"),
    ("tenant_id", "id", "note"),
    schema="app",
    where="tenant_id = %s",
    where_params=("acme",),
)


def test_built_in_types_alike_on_both_sides_travel_in_binary() -> None:
    types = {"id": INT, "note": TEXT, "tags": INTS}
    columns = ("id", "note", "tags")
    assert copy_format(types, dict(types), columns, texts_agree=False) == "binary"


def test_the_databases_own_types_travel_as_text_only_where_the_servers_agree() -> None:
    types = {"id": INT, "mood": MOOD}
    assert copy_format(types, dict(types), ("id", "mood"), texts_agree=True) == "text"
    assert copy_format(types, dict(types), ("id", "mood"), texts_agree=False) is None


def test_a_type_that_differs_between_the_sides_is_never_copied() -> None:
    # timestamp's bytes read as timestamptz would shift every value: no COPY at all.
    source = {"id": INT, "at": ("timestamp without time zone", 1114)}
    target = {"id": INT, "at": ("timestamp with time zone", 1184)}
    assert copy_format(source, target, ("id", "at"), texts_agree=True) is None
    assert copy_format({"id": INT}, {"id": INT}, ("id", "gone"), texts_agree=True) is None
    with pytest.raises(ValueError, match="at least one column"):
        copy_format({}, {}, (), texts_agree=True)


def test_a_chunk_bound_is_the_key_of_its_last_row_by_a_row_value_range() -> None:
    sql, params = copy_chunk_bound(SHAPE, ("acme", 10), 500)
    assert sql == (
        'SELECT "tenant_id", "id" FROM "app"."orders" WHERE (tenant_id = %s) AND'
        ' ("tenant_id", "id") > (%s, %s) ORDER BY "tenant_id", "id" LIMIT 1 OFFSET 499'
    )
    assert params == ("acme", "acme", 10)
    first, params = copy_chunk_bound(SHAPE, None, 1)
    assert "OFFSET 0" in first
    assert params == ("acme",)
    with pytest.raises(ValueError, match="at least one row"):
        copy_chunk_bound(SHAPE, None, 0)
    with pytest.raises(ValueError, match="needs 2 values"):
        copy_chunk_bound(SHAPE, (10,), 5)


def test_a_chunk_is_copied_out_between_its_bounds_and_in_by_name() -> None:
    sql, params = copy_out_chunk(SHAPE, ("acme", 10), ("acme", 510), "binary")
    assert sql == (
        'COPY (SELECT "tenant_id", "id", "note" FROM "app"."orders" WHERE (tenant_id = %s)'
        ' AND ("tenant_id", "id") > (%s, %s) AND ("tenant_id", "id") <= (%s, %s))'
        " TO STDOUT (FORMAT binary)"
    )
    assert params == ("acme", "acme", 10, "acme", 510)
    last, params = copy_out_chunk(SHAPE, ("acme", 10), None, "text")
    assert "<=" not in last
    assert last.endswith("(FORMAT text)")
    assert params == ("acme", "acme", 10)
    into = copy_in("orders", "app", ("tenant_id", "id", "note"), "binary")
    assert into == 'COPY "app"."orders" ("tenant_id", "id", "note") FROM STDIN (FORMAT binary)'
    with pytest.raises(ValueError, match="binary or text"):
        copy_in("orders", None, ("id",), "csv")  # type: ignore[arg-type]


def test_copy_chunks_are_postgresql_only() -> None:
    shape = TableShape("mysql", "orders", ("id",), ("id", "note"))
    with pytest.raises(ValueError, match="PostgreSQL, not mysql"):
        copy_chunk_bound(shape, None, 10)
