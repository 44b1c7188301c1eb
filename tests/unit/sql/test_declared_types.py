"""declared_types: which result columns are plain table columns, and their declared types."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tenantdb.core.sql import declared_types

CATALOG = {
    (None, "items_0"): [("item_id", "INTEGER"), ("name", "VARCHAR(64)"), ("price", "NUMERIC")],
    (None, "items_1"): [("item_id", "INTEGER"), ("name", "TEXT"), ("price", "NUMERIC")],
    (None, "tags"): [("tag_id", "INTEGER"), ("label", "TEXT"), ("raw", "")],
    ("main", "tags"): [("tag_id", "INTEGER"), ("label", "TEXT"), ("raw", "")],
}


def columns_of(schema: str | None, table: str) -> Sequence[tuple[str, str]] | None:
    return CATALOG.get((schema, table))


def types(sql: str) -> tuple[str | None, ...] | None:
    return declared_types(sql, "sqlite", columns_of)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT item_id, name FROM items_0 WHERE item_id = ?", ("INTEGER", "VARCHAR(64)")),
        ("SELECT i.name AS n, i.PRICE FROM items_0 AS i", ("VARCHAR(64)", "NUMERIC")),
        ("SELECT * FROM items_0", ("INTEGER", "VARCHAR(64)", "NUMERIC")),
        (
            "SELECT t.*, i.name FROM tags t JOIN items_0 i ON i.item_id = t.tag_id",
            ("INTEGER", "TEXT", None, "VARCHAR(64)"),
        ),
        ("SELECT label, price FROM tags, items_0", ("TEXT", "NUMERIC")),
        ("SELECT main.tags.label FROM main.tags", ("TEXT",)),
    ],
)
def test_plain_table_columns_have_their_declared_type(
    sql: str, expected: tuple[str | None, ...]
) -> None:
    assert types(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # expressions, aggregates, literals
        ("SELECT count(*), item_id + 1, 'x', name FROM items_0", (None, None, None, "VARCHAR(64)")),
        # a name two tables own
        ("SELECT item_id FROM items_0, items_1", (None,)),
        # a subquery's or WITH query's columns
        ("SELECT s.name FROM (SELECT name FROM items_0) AS s", (None,)),
        ("WITH w AS (SELECT name FROM items_0) SELECT name FROM w", (None,)),
        ("SELECT name FROM items_0 JOIN (SELECT 1 AS x) s ON 1 = 1", (None,)),
        # unknown tables and columns
        ("SELECT a FROM nowhere", (None,)),
        ("SELECT rowid FROM tags", (None,)),
        # UNION: a type where both branches agree
        (
            "SELECT item_id, name FROM items_0 UNION ALL SELECT item_id, name FROM items_1",
            ("INTEGER", None),
        ),
        ("SELECT 1", (None,)),
    ],
)
def test_columns_without_a_sure_answer_have_none(
    sql: str, expected: tuple[str | None, ...]
) -> None:
    assert types(sql) == expected


@pytest.mark.parametrize(
    "sql", ["SELECT * FROM nowhere", "SELECT s.* FROM (SELECT 1) s", "INSERT INTO t VALUES (1)"]
)
def test_an_unknown_column_count_or_no_query_gives_no_answer(sql: str) -> None:
    assert types(sql) is None


def test_text_that_does_not_parse_gives_no_answer() -> None:
    assert types("SELECT 'unclosed") is None
