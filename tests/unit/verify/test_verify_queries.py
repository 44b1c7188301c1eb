"""Chunk statements over primary-key ranges, and the checksum SQL of each backend."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from tenantdb.core.verify import ROW_HASH_SUM, KeyRange, RowHashSum, TableShape, checksum_select


def shape(dialect: str = "postgres", **kwargs: object) -> TableShape:
    defaults: dict[str, object] = {
        "table": "items",
        "key": ("shop", "id"),
        "columns": ("shop", "id", "name"),
    }
    defaults.update(kwargs)
    return TableShape(dialect, **defaults)  # type: ignore[arg-type]


def test_a_chunk_is_the_keys_above_its_lower_bound_up_to_its_upper_bound() -> None:
    sql, params = shape().rows(KeyRange(("a", 5), ("b", 1)))
    assert sql == (
        'SELECT "shop", "id", "name" FROM "items" WHERE '
        '(("shop" > %s) OR ("shop" = %s AND "id" > %s)) AND '
        'NOT (("shop" > %s) OR ("shop" = %s AND "id" > %s)) ORDER BY "shop", "id"'
    )
    assert params == ("a", "a", 5, "b", "b", 1)


def test_unbounded_ends_and_the_row_filter() -> None:
    table = shape("mysql", where="tenant_id = %s", where_params=("acme",), schema="s1")
    sql, params = table.rows(KeyRange(None, None))
    assert sql == (
        "SELECT `shop`, `id`, `name` FROM `s1`.`items` WHERE (tenant_id = %s) ORDER BY `shop`, `id`"
    )
    assert params == ("acme",)
    sql, params = table.boundary(("x", 3), 500)
    assert sql.endswith("ORDER BY `shop`, `id` LIMIT 1 OFFSET 499")
    assert params == ("acme", "x", "x", 3)


def test_the_key_range_predicates_select_exactly_the_chunk() -> None:
    """Run the rendered predicates on SQLite: consecutive chunks cover every key once."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (shop TEXT, id INT, name TEXT, PRIMARY KEY (shop, id))")
    keys = [(s, i) for s in "abc" for i in range(4)]
    db.executemany("INSERT INTO items VALUES (?, ?, 'n')", keys)
    table = shape("sqlite")
    bounds = [None, ("a", 2), ("b", 3), ("c", 0), None]
    seen: list[tuple[str, int]] = []
    for lower, upper in itertools.pairwise(bounds):
        sql, params = table.rows(KeyRange(lower, upper))
        rows = db.execute(sql.replace("%s", "?"), params).fetchall()
        seen += [(shop, id_) for shop, id_, _ in rows]
        if upper is not None:
            assert rows[-1][:2] == upper
    assert seen == keys


def test_a_table_without_a_primary_key_is_refused() -> None:
    with pytest.raises(ValueError, match="has no primary key; verify pages through rows"):
        shape(key=(), columns=("name",))


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        (
            "postgres",
            'count(*), coalesce(sum((\'x\' || left(md5(ROW("a", "b")::text), 16))'
            "::bit(64)::bigint), 0)::text",
        ),
        (
            "mysql",
            "COUNT(*), CAST(COALESCE(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS(',', QUOTE(`a`), "
            "QUOTE(`b`))), 16), 16, 10) AS UNSIGNED)), 0) AS CHAR)",
        ),
        ("sqlite", f'count(*), coalesce({ROW_HASH_SUM}("a", "b"), \'0\')'),
    ],
)
def test_checksum_sql_per_backend(dialect: str, expected: str) -> None:
    quote = "`" if dialect == "mysql" else '"'
    assert checksum_select(dialect, [f"{quote}a{quote}", f"{quote}b{quote}"]) == expected


def test_checksum_for_an_unknown_dialect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="use postgres, mysql or sqlite"):
        checksum_select("oracle", ["a"])


def _checksum(rows: list[tuple[object, ...]]) -> str:
    aggregate = RowHashSum()
    for row in rows:
        aggregate.step(*row)
    result = aggregate.finalize()
    assert result is not None
    return result


def test_the_sqlite_checksum_ignores_row_order_and_sees_every_change() -> None:
    rows = [(1, "a", None), (2, "", 1.5), (3, b"x", 7)]
    base = _checksum(rows)
    assert _checksum(list(reversed(rows))) == base
    changed = [
        [(1, "a", ""), *rows[1:]],  # NULL -> empty string
        [(1, "a", None), (2, None, 1.5), rows[2]],  # empty string -> NULL
        [*rows[:2], (3, "x", 7)],  # bytes -> text
        [*rows[:2], (3, b"x", 7.0)],  # integer -> real
        [(1, "a", None), (2, "", 1.5)],  # a row missing
        [("1", "a", None), *rows[1:]],  # text that reads like the integer
    ]
    for other in changed:
        assert _checksum(other) != base, other
    assert RowHashSum().finalize() is None


def test_values_do_not_run_together_across_columns() -> None:
    assert _checksum([("ab", "c")]) != _checksum([("a", "bc")])


def test_rows_with_keys_keeps_the_row_filter() -> None:
    table = shape(where="tenant_id = %s", where_params=(7,))
    sql, params = table.rows_with_keys([("a", 1), ("b", 2)])
    assert sql == (
        'SELECT "shop", "id", "name" FROM "items" WHERE (tenant_id = %s) AND '
        '(("shop" = %s AND "id" = %s) OR ("shop" = %s AND "id" = %s)) ORDER BY "shop", "id"'
    )
    assert params == (7, "a", 1, "b", 2)
    with pytest.raises(ValueError, match="at least one key"):
        table.rows_with_keys([])


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_pages_after_a_key_cover_every_filtered_row_once(dialect: str) -> None:
    """Run the rendered pages on SQLite (which has row values too, so PostgreSQL's
    spelling runs there as well): pages of 5 from no key on, each after the last one's."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (shop TEXT, id INT, name TEXT, PRIMARY KEY (shop, id))")
    keys = [(s, i) for s in "abc" for i in range(7)]
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", [(s, i, s) for s, i in keys])
    table = shape(dialect, where="name <> %s", where_params=("b",))
    seen: list[tuple[str, int]] = []
    after: tuple[object, ...] | None = None
    while True:
        sql, params = table.page(after, 5)
        rows = db.execute(sql.replace("%s", "?"), params).fetchall()
        seen += [(shop, id_) for shop, id_, _ in rows]
        if len(rows) < 5:
            break
        after = rows[-1][:2]
    assert seen == [k for k in keys if k[0] != "b"]
    bound = '("shop", "id") > (%s, %s)' if dialect == "postgres" else '("shop" = %s AND "id" > %s)'
    assert bound in table.page(("a", 1), 5)[0]
    with pytest.raises(ValueError, match="at least one row, not 0"):
        table.page(None, 0)
