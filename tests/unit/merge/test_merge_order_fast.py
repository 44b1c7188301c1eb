"""The merge's sort keys against a comparator that spells out SQL's rules, one pair at a time.

``RowOrder`` makes most keys the raw values and decides NULL, NaN and direction once per
merge (see ``core/merge/_order.py``); these tests look for a row it places differently
from ``compare_rows`` below, which shares nothing with it: a ``cmp``-style function
applying, per key, NULL placement by ``nulls_first`` alone, NaN above every number (and
equal to another NaN), numbers by value across ``int``, ``float``, ``Decimal`` and
``bool``, and ``descending`` reversing non-NULL values only. Columns are mostly long runs
of one type with NULLs, NaNs, negative zeros and other number types mixed in, so a merge
starts on its fast path and meets every kind of value that must leave it.

Every test taking ``merge_rows`` runs on both fronts (see ``conftest.py``).
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.merge import Groups, RowOrder
from tenantdb.core.routing import MergePlan
from tenantdb.core.sql import AggregateColumn, SortKey
from tenantdb.errors import UnsupportedSQLError

Row = tuple[Any, ...]
MergeRows = Callable[[MergePlan, Sequence[Iterable[Row]]], Iterator[Row]]


# -- the reference: a comparator --------------------------------------------------------------


def is_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def compare_values(a: Any, b: Any, key: SortKey) -> int:
    """-1, 0 or 1: where ``a`` goes against ``b`` in a column sorted by ``key``."""
    if a is None or b is None:
        if a is None and b is None:
            return 0
        null_goes = -1 if key.nulls_first else 1
        return null_goes if a is None else -null_goes
    if is_nan(a) or is_nan(b):
        return compare_nans(a, b, key)
    order = int(a > b) - int(a < b)
    return -order if key.descending else order


def compare_nans(a: Any, b: Any, key: SortKey) -> int:
    order = int(is_nan(a)) - int(is_nan(b))  # NaN is the largest number, equal to NaN
    return -order if key.descending else order


def compare_rows(a: Row, b: Row, keys: Sequence[SortKey]) -> int:
    for key in keys:
        order = compare_values(a[key.column], b[key.column], key)
        if order:
            return order
    return 0


def reference_sort(rows: Iterable[Row], keys: Sequence[SortKey]) -> list[Row]:
    """Stable: equal rows keep their order (for a merge, the earlier stream's first)."""
    return sorted(rows, key=functools.cmp_to_key(lambda a, b: compare_rows(a, b, keys)))


# -- columns: long runs of one type, with what leaves the fast path mixed in -------------------

RARE_NUMBERS = st.sampled_from(
    [
        None,
        math.nan,
        -0.0,
        0.0,
        math.inf,
        -math.inf,
        Decimal("NaN"),
        Decimal("-0"),
        Decimal("2.5"),
        Decimal("-1.0"),
        True,
        False,
        3,
        -2.5,
    ]
)
NUMBER_RUNS = {
    "int": st.integers(-6, 6),
    "float": st.integers(-24, 24).map(lambda n: n / 4),
    "decimal": st.integers(-60, 60).map(lambda n: Decimal(n) / 10),
}
TEXTS = st.text(alphabet="aAbé", max_size=3)
DATES = st.dates(datetime.date(2025, 12, 30), datetime.date(2026, 1, 3))


@st.composite
def column_values(draw: st.DrawFn, count: int) -> list[Any]:
    """``count`` values of one column: mostly one type, sometimes interrupted."""
    kind = draw(st.sampled_from(["int", "float", "decimal", "text", "date"]))
    if kind in NUMBER_RUNS:
        common, rare = NUMBER_RUNS[kind], RARE_NUMBERS
    else:
        common, rare = (TEXTS if kind == "text" else DATES), st.none()
    rare_share = draw(st.sampled_from([0.0, 0.1, 0.5]))
    return [
        draw(rare) if draw(st.floats(0, 1)) < rare_share else draw(common) for _ in range(count)
    ]


@st.composite
def merges(draw: st.DrawFn, max_keys: int = 3) -> tuple[tuple[SortKey, ...], list[list[Row]]]:
    """Sort keys and the shards' streams, each in the reference order; rows are
    ``(id, c1, c2, c3)`` with a unique id, so an equal row's place is checked too."""
    count = draw(st.integers(0, 60))
    columns = [draw(column_values(count)) for _ in range(3)]
    rows = [(i, *values) for i, values in enumerate(zip(*columns, strict=True))]
    sorted_columns = draw(st.lists(st.integers(1, 3), unique=True, min_size=1, max_size=max_keys))
    keys = tuple(SortKey(c, draw(st.booleans()), draw(st.booleans())) for c in sorted_columns)
    stream_count = draw(st.integers(2, 6))
    owners = draw(st.lists(st.integers(0, stream_count - 1), min_size=count, max_size=count))
    streams: list[list[Row]] = [[] for _ in range(stream_count)]
    for row, owner in zip(rows, owners, strict=True):
        streams[owner].append(row)
    return keys, [reference_sort(stream, keys) for stream in streams]


# -- the merge ---------------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(merges())
def test_merge_places_every_row_as_the_comparator_does(
    merge_rows: MergeRows, case: tuple[tuple[SortKey, ...], list[list[Row]]]
) -> None:
    keys, streams = case
    expected = reference_sort([row for stream in streams for row in stream], keys)
    assert list(merge_rows(MergePlan(order_by=keys), streams)) == expected


@settings(max_examples=300, deadline=None)
@given(merges(), st.booleans())
def test_row_order_sorts_as_the_comparator_does(
    case: tuple[tuple[SortKey, ...], list[list[Row]]], allow_reverse: bool
) -> None:
    # Sorting (as the grouped merge does) rather than merging; without reverse, every
    # descending key reverses its own values (negated numbers, wrapped text and dates).
    keys, streams = case
    rows = [row for stream in streams for row in stream]
    order = RowOrder(keys, allow_reverse=allow_reverse)
    assert order.reverse == (allow_reverse and all(key.descending for key in keys))
    assert sorted(rows, key=order.key, reverse=order.reverse) == reference_sort(rows, keys)


@settings(max_examples=200, deadline=None)
@given(merges(max_keys=2), st.integers(0, 8), st.integers(1, 8))
def test_with_ties_keeps_the_rows_the_comparator_ties(
    merge_rows: MergeRows,
    case: tuple[tuple[SortKey, ...], list[list[Row]]],
    offset: int,
    limit: int,
) -> None:
    keys, streams = case
    ordered = reference_sort([row for stream in streams for row in stream], keys)
    expected = ordered[offset : offset + limit]
    if expected and len(ordered) > offset + limit:
        last = expected[-1]
        expected += [
            row
            for row in ordered[offset + limit :]
            if compare_rows(row, last, keys) == 0  # ties follow the last row at once
        ]
    plan = MergePlan(order_by=keys, limit=limit, offset=offset, with_ties=True)
    assert list(merge_rows(plan, streams)) == expected


def test_a_long_run_leaves_the_fast_path_for_nulls_and_nans(merge_rows: MergeRows) -> None:
    # Ints first (the fast path learns int), then a float, a Decimal NaN, a float NaN and
    # NULLs: each must be placed by the SQL rules, not compared as raw values.
    for descending in (False, True):
        for nulls_first in (False, True):
            key = SortKey(1, descending, nulls_first)
            left = [(i, i) for i in range(0, 200, 2)] + [
                (900, 1000.5),
                (901, Decimal("NaN")),
                (902, None),
            ]
            right = [(i, i) for i in range(1, 200, 2)] + [(903, math.nan), (904, None)]
            streams = [reference_sort(left, [key]), reference_sort(right, [key])]
            expected = reference_sort(left + right, [key])
            got = list(merge_rows(MergePlan(order_by=(key,)), streams))
            assert [row[0] for row in got] == [row[0] for row in expected]


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("second_key", [False, True])
def test_a_kind_change_mid_stream_is_refused_as_before(
    merge_rows: MergeRows, descending: bool, second_key: bool
) -> None:
    # 100 ints put the column on its fast path; the text comes after the other stream has
    # ended, so only the check of every row (not a comparison) can see it.
    keys = (SortKey(1, descending, False),)
    if second_key:
        keys = (SortKey(2, False, False), SortKey(1, descending, False))
    ints = [(i, i, 0) for i in range(100)]
    streams = [
        reference_sort([(1000, -1, 0)], keys),
        [*reference_sort(ints, keys), (2000, "text", 0)],
    ]
    column = 2 if second_key else 1
    message = rf"ORDER BY column {column} \(int and str\)"
    with pytest.raises(UnsupportedSQLError, match=message):
        list(merge_rows(MergePlan(order_by=keys), streams))


def test_naive_and_aware_timestamps_stay_refused(merge_rows: MergeRows) -> None:
    naive = datetime.datetime(2026, 1, 1)
    aware = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    streams = [[(1, naive), (2, naive)], [(3, naive), (4, aware)]]
    with pytest.raises(UnsupportedSQLError, match=r"ORDER BY column 1 \(datetime and datetime"):
        list(merge_rows(MergePlan(order_by=(SortKey(1, False, False),)), streams))


# -- the grouped merge's sort ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(merges(max_keys=2))
def test_groups_sort_as_the_comparator_does(
    case: tuple[tuple[SortKey, ...], list[list[Row]]],
) -> None:
    # Each row is its own group (group by the unique id); groups the comparator ties keep
    # their order of first appearance, also when every key is descending.
    keys, streams = case
    rows = [row for stream in streams for row in stream]
    plan = MergePlan(order_by=keys, group_by=(0,), aggregates=(AggregateColumn(1, "any"),))
    groups = Groups(plan)
    for row in rows:
        groups.add(row)
    assert groups.rows() == reference_sort(rows, keys)
