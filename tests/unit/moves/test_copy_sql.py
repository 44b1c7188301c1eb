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
    copy_out_page,
    key_from_text,
    last_copied_key,
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


def test_types_alike_travel_as_text_where_the_servers_print_values_alike() -> None:
    types = {"id": INT, "note": TEXT, "tags": INTS, "mood": MOOD}
    columns = ("id", "note", "tags", "mood")
    assert copy_format(types, dict(types), columns, texts_agree=True) == "text"


def test_only_built_in_types_travel_in_binary_where_the_servers_print_differently() -> None:
    types = {"id": INT, "note": TEXT, "tags": INTS}
    assert copy_format(types, dict(types), ("id", "note", "tags"), texts_agree=False) == "binary"
    types = {"id": INT, "mood": MOOD}
    assert copy_format(types, dict(types), ("id", "mood"), texts_agree=False) is None


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


def test_a_text_page_is_ordered_by_key_and_limited() -> None:
    sql, params = copy_out_page(SHAPE, ("acme", 10), 500, "text")
    assert sql == (
        'COPY (SELECT "tenant_id", "id", "note" FROM "app"."orders" WHERE (tenant_id = %s)'
        ' AND ("tenant_id", "id") > (%s, %s) ORDER BY "tenant_id", "id" LIMIT 500)'
        " TO STDOUT (FORMAT text)"
    )
    assert params == ("acme", "acme", 10)
    with pytest.raises(ValueError, match="at least one row"):
        copy_out_page(SHAPE, None, 0, "text")


def test_the_last_key_is_read_from_the_last_line_unescaped() -> None:
    data = b"acme\t1\tfirst\nacme\t2\tsecond\n"
    assert last_copied_key(data, 2) == (b"acme", b"2")
    assert last_copied_key(b"", 2) is None
    # Every escape text COPY writes, and those it reads: octal, hex, any other letter.
    line = b"a\\tb\\nc\\\\d\\r\\b\\f\\v\t\\101\\x41\\x4\\q\\8\tnote\n"
    assert last_copied_key(b"x\ty\tz\n" + line, 2) == (b"a\tb\nc\\d\r\b\f\v", b"AA\x04q8")
    assert last_copied_key("\u00e9t\u00e9\t1\n".encode(), 1) == ("\u00e9t\u00e9".encode(),)


def test_a_last_line_that_cannot_hold_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="ends each row with a newline"):
        last_copied_key(b"acme\t1", 2)
    with pytest.raises(ValueError, match="fewer than its key's 2"):
        last_copied_key(b"acme\n", 2)
    with pytest.raises(ValueError, match="copied as NULL"):
        last_copied_key(b"acme\t\\N\tx\n", 2)
    with pytest.raises(ValueError, match="at least one column"):
        last_copied_key(b"acme\n", 0)


def test_the_key_is_typed_by_the_server_from_its_text() -> None:
    assert key_from_text(["character varying(40)", "bigint"]) == (
        "SELECT convert_from(%s, pg_client_encoding())::character varying(40),"
        " convert_from(%s, pg_client_encoding())::bigint"
    )
    with pytest.raises(ValueError, match="at least one column"):
        key_from_text([])
