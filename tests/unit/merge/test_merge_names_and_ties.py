"""Merge shapes resolve names as the databases do; FETCH ... WITH TIES keeps every tie.

Pure: merge shapes are built from parsed statements and rows are merged in memory, on both
fronts where a test takes ``merge_rows`` (see ``conftest.py``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.routing import MergePlan
from tenantdb.core.sql import MergeShape, SortKey, merge_shape
from tenantdb.errors import UnsupportedSQLError

Row = tuple[Any, ...]
MergeRows = Callable[[MergePlan, Sequence[Iterable[Row]]], Iterator[Row]]


def shape(sql: str, dialect: str = "postgres") -> MergeShape:
    return merge_shape(sqlglot.parse_one(sql, read=dialect), dialect)


def shard_sql(built: MergeShape) -> str:
    return "?".join(built.rendered.pieces)


# -- GROUP BY / ORDER BY names ------------------------------------------------------------


def test_group_by_a_name_that_is_an_alias_and_a_column_groups_by_the_column(
    merge_rows: MergeRows,
) -> None:
    built = shape("SELECT x / 10 AS x, count(*) FROM m GROUP BY x")
    # x is used as a column in the select list: the table column is the group key.
    assert built.group_by == (2,)
    assert built.hidden_columns == 1
    assert "x AS tdb_hidden_0" in shard_sql(built)
    rows = [[(1, 1, 11), (2, 1, 21)], [(1, 1, 12), (2, 1, 22)]]  # x/10, count, x
    plan = MergePlan(group_by=built.group_by, aggregates=built.aggregates, hidden_columns=1)
    assert sorted(merge_rows(plan, rows)) == [(1, 1), (1, 1), (2, 1), (2, 1)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT upper(x) AS x, count(*) FROM m GROUP BY x",
        "SELECT coalesce(x, 0) AS x, sum(v) FROM m WHERE v > 0 GROUP BY x",
        "SELECT y AS x, count(*) FROM m JOIN n ON n.x = m.id GROUP BY x",
        "SELECT t.y AS x, count(*) FROM m t JOIN n USING (x) GROUP BY x",
    ],
)
def test_shadowed_column_found_anywhere_in_the_statement_is_the_group_key(sql: str) -> None:
    built = shape(sql)
    assert built.group_by is not None
    assert built.group_by[0] == 2  # the hidden table column, never the alias's item
    assert "x AS tdb_hidden_0" in shard_sql(built)


def test_group_by_the_bare_column_item_when_the_alias_shadows_it() -> None:
    built = shape("SELECT id AS x, x AS id, count(*) FROM m GROUP BY x, id")
    # GROUP BY x is the column x (item 1), GROUP BY id the column id (item 0).
    assert built.group_by == (1, 0)
    assert built.hidden_columns == 0


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT kind AS k, count(*) FROM events GROUP BY k",
        "SELECT lower(kind) AS k, count(*) FROM events GROUP BY k ORDER BY k",
    ],
)
def test_alias_that_may_shadow_an_unseen_column_is_refused(sql: str) -> None:
    with pytest.raises(UnsupportedSQLError, match=r"GROUP BY 1"):
        shape(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT kind AS k, count(*) FROM events GROUP BY 1",
        "SELECT kind AS k, count(*) FROM events GROUP BY kind",
        "SELECT kind AS kind, count(*) FROM events GROUP BY kind",
        "SELECT e.kind, count(*) FROM events e GROUP BY kind",
    ],
)
def test_unambiguous_spellings_group_by_the_item(sql: str) -> None:
    assert shape(sql).group_by == (0,)


def test_order_by_a_bare_name_is_the_output_column_first() -> None:
    # ORDER BY x is the output column "x" (item 1), not the input column x (item 0).
    assert shape("SELECT x AS y, y AS x FROM m ORDER BY x LIMIT 3").order_by == (
        SortKey(1, False, False),
    )
    grouped = shape("SELECT x / 10 AS x, count(*) FROM m GROUP BY x ORDER BY x DESC")
    assert grouped.order_by == (SortKey(0, True, True),)  # PostgreSQL: DESC puts NULLs first


def test_order_by_an_expression_uses_input_columns() -> None:
    built = shape("SELECT x / 10 AS x, id FROM m ORDER BY x + 0, id LIMIT 5")
    assert built.order_by[0] == SortKey(2, False, False)
    assert "x + 0 AS tdb_hidden_0" in shard_sql(built)


def test_order_by_a_name_of_several_output_columns_is_refused() -> None:
    with pytest.raises(UnsupportedSQLError, match="ambiguous"):
        shape("SELECT a AS x, b AS x FROM m ORDER BY x")


# -- WITH TIES --------------------------------------------------------------------------------


def test_with_ties_runs_on_each_shard_with_ties() -> None:
    built = shape("SELECT k FROM m ORDER BY k OFFSET 1 ROWS FETCH FIRST 2 ROWS WITH TIES")
    assert built.with_ties
    assert built.shard_limit
    text = shard_sql(built)
    assert "WITH TIES" in text
    assert "OFFSET" not in text


def test_with_ties_is_refused_where_it_cannot_be_merged() -> None:
    with pytest.raises(UnsupportedSQLError, match="PostgreSQL only"):
        shape("SELECT k FROM m ORDER BY k FETCH FIRST 2 ROWS WITH TIES", "mysql")
    with pytest.raises(UnsupportedSQLError, match="PERCENT"):
        shape("SELECT k FROM m ORDER BY k FETCH FIRST 10 PERCENT ROWS ONLY")


def test_fetch_without_ties_is_unchanged() -> None:
    assert not shape("SELECT k FROM m ORDER BY k FETCH FIRST 2 ROWS ONLY").with_ties


def ties_plan(limit: int, offset: int = 0) -> MergePlan:
    return MergePlan(
        order_by=(SortKey(0, False, False),), limit=limit, offset=offset, with_ties=True
    )


def test_merge_keeps_every_row_tied_with_the_last(merge_rows: MergeRows) -> None:
    # FETCH FIRST 1 ROWS WITH TIES: each shard returned its ties with its first row.
    streams = [[(0, "a"), (0, "b")], [(0, "c")], [(1, "d")]]
    assert list(merge_rows(ties_plan(1), streams)) == [(0, "a"), (0, "b"), (0, "c")]
    assert list(merge_rows(ties_plan(1, offset=1), streams)) == [(0, "b"), (0, "c")]


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(0, 4), max_size=25),
    owners=st.lists(st.integers(0, 3), max_size=25),
    limit=st.integers(0, 8),
    offset=st.integers(0, 6),
)
def test_merge_with_ties_equals_one_database(
    merge_rows: MergeRows, values: list[int], owners: list[int], limit: int, offset: int
) -> None:
    rows = [(value, i) for i, value in enumerate(values)]
    # One database: OFFSET, LIMIT rows, then every row tied with the last one kept.
    ordered = sorted(rows, key=lambda r: r[0])
    want = ordered[offset : offset + limit]
    if want:
        want += [r for r in ordered[offset + limit :] if r[0] == want[-1][0]]
    # Each shard ran FETCH FIRST offset+limit ROWS WITH TIES on its own rows.
    shards: list[list[Row]] = [[] for _ in range(4)]
    for row, owner in zip(rows, itertools.chain(owners, itertools.repeat(0)), strict=False):
        shards[owner].append(row)
    streams = []
    for shard in shards:
        mine = sorted(shard, key=lambda r: r[0])
        n = offset + limit
        kept = mine[:n]
        if kept and n:
            kept += [r for r in mine[n:] if r[0] == kept[-1][0]]
        streams.append(kept if n else [])
    got = list(merge_rows(ties_plan(limit, offset), streams))
    # Which of tied rows OFFSET skips is arbitrary, as in one database: compare the keys.
    assert [r[0] for r in got] == [r[0] for r in want]


# -- result names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [
        ("mysql", "SELECT AVG(k) AS `avg(k)`, COUNT(*) AS `count(*)`, AVG(k) AS `Avg( k )`"),
        ("sqlite", 'SELECT AVG(k) AS "avg(k)", COUNT(*) AS "count(*)", AVG(k) AS "Avg( k )"'),
        ("postgres", "SELECT AVG(k), COUNT(*), AVG(k), SUM(k) AS tdb_hidden_0"),
    ],
)
def test_variant_keeps_the_names_the_database_gives_the_written_items(
    dialect: str, expected: str
) -> None:
    sql = "SELECT avg(k), count(*), Avg( k ) FROM m"
    built = merge_shape(sqlglot.parse_one(sql, read=dialect), dialect, sql)
    assert shard_sql(built).startswith(expected)
    # AVG stays AVG (the database's name and type); SUM and COUNT are hidden beside it.
    assert [(a.column, a.kind, a.sum_column, a.count_column) for a in built.aggregates] == [
        (0, "avg", 3, 4),
        (1, "count", None, None),
        (2, "avg", 5, 6),
    ]


def test_merged_average_has_the_type_of_the_shards_average(merge_rows: MergeRows) -> None:
    built = shape("SELECT avg(k) FROM m")
    plan = MergePlan(group_by=(), aggregates=built.aggregates, hidden_columns=2)
    # MariaDB: DECIMAL with 4 more digits than the argument; the merge keeps that scale.
    streams = [[(Decimal("1.5000"), 3, 2)], [(Decimal("4.0000"), 4, 1)]]
    assert list(merge_rows(plan, streams)) == [(Decimal("2.3333"),)]
    # SQLite: a float.
    assert list(merge_rows(plan, [[(1.5, 3, 2)], [(4.0, 4, 1)]])) == [(7 / 3,)]


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_an_unaliased_scalar_subquery_keeps_its_whole_text_as_name(dialect: str) -> None:
    # Found by the differential run comparing descriptions: the name was the inner
    # COUNT(*), while SQLite and MariaDB name the column by the item's whole text.
    import tenantdb

    url = {"sqlite": "sqlite:////nonexistent/x.db", "mysql": "mysql://u@h/db"}[dialect]
    cluster = tenantdb.connect(
        {
            "datasources": {"ds0": {"url": url}},
            "tables": {
                "a": {"strategy": "mod", "key": "k", "shards": 2, "tenant_scoped": False},
                "l": {"strategy": "mod", "key": "k", "shards": 2, "tenant_scoped": False},
            },
            "binding_tables": [["a", "l"]],
        }
    )
    item = "(SELECT COUNT(*) FROM l WHERE l.k = a.k)"
    plan = cluster.explain(f"SELECT a.k, {item} FROM a ORDER BY a.k", admin=True)
    assert len(plan.targets) == 2
    quote = '"' if dialect == "sqlite" else "`"
    physical = plan.targets[0].sql.replace("l_0", "l").replace("a_0", "a")
    assert f"AS {quote}{item}{quote}" in physical
