"""The streaming merge: property tests against a naive reference, laziness, edge cases.

Every test taking ``merge_rows`` runs on both fronts (see ``conftest.py``): the thread
front's merge and the asyncio one's, which are one source. The reference implementations
below share no code with either, nor with ``tenantdb.core.merge``:
ordering is a chain of stable ``sorted`` passes (last key first) with NULLs and NaNs split
off by hand, DISTINCT is a quadratic scan, and the grouped reference aggregates the *base*
rows of every shard as one database would, while the merge only sees each shard's partial
aggregates. Grouped values are ints, floats that are multiples of 1/4, and Decimals with
one decimal place, all small: every sum is exact in any order, so SUM, and AVG computed
from it, are compared exactly (``==``), not within a tolerance.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tenantdb
import tenantdb.config
from tenantdb.core.merge import DistinctRows, Groups
from tenantdb.core.routing import MergePlan
from tenantdb.core.sql import AggregateColumn, AggregateKind, SortKey
from tenantdb.errors import UnsupportedSQLError

Row = tuple[Any, ...]
MergeRows = Callable[[MergePlan, Sequence[Iterable[Row]]], Iterator[Row]]

SAMPLE = Path(tenantdb.config.__file__).parent.parent / "examples" / "sample.toml"


# -- reference implementations -------------------------------------------------------------


def is_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def reference_sort(rows: Iterable[Row], keys: Sequence[SortKey]) -> list[Row]:
    """SQL ORDER BY, by stable passes from the last key to the first."""
    result = list(rows)
    for key in reversed(keys):
        column = key.column
        nulls = [row for row in result if row[column] is None]
        nans = [row for row in result if row[column] is not None and is_nan(row[column])]
        values = [row for row in result if row[column] is not None and not is_nan(row[column])]
        values = sorted(values, key=lambda row: row[column], reverse=key.descending)
        ordered = nans + values if key.descending else values + nans  # NaN is the largest
        result = nulls + ordered if key.nulls_first else ordered + nulls
    return result


def reference_finish(
    rows: list[Row], *, distinct: bool, offset: int, limit: int | None, hidden: int
) -> list[Row]:
    if distinct:
        kept: list[Row] = []
        seen: list[Row] = []
        for row in rows:
            visible = row[: len(row) - hidden]
            if not any(visible == other for other in seen):
                seen.append(visible)
                kept.append(row)
        rows = kept
    rows = rows[offset:] if limit is None else rows[offset : offset + limit]
    return [row[: len(row) - hidden] for row in rows]


# -- ungrouped merges ----------------------------------------------------------------------

NUMBERS = st.one_of(
    st.none(),
    st.integers(-4, 4),
    st.sampled_from([-1.5, -0.0, 0.0, 0.5, 1.0, 2.25, math.inf, -math.inf, math.nan]),
    st.integers(-40, 40).map(lambda n: Decimal(n) / 10),
    st.just(Decimal("NaN")),
)
TEXTS = st.one_of(st.none(), st.text(alphabet="aAbé ", max_size=3))
DATES = st.one_of(st.none(), st.dates(datetime.date(2025, 12, 30), datetime.date(2026, 1, 2)))
COLUMN_VALUES = {"number": NUMBERS, "text": TEXTS, "date": DATES}


@st.composite
def ungrouped_cases(draw: st.DrawFn) -> tuple[MergePlan, list[list[Row]]]:
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMN_VALUES)), min_size=1, max_size=4))
    width = len(kinds)
    count = draw(st.integers(0, 30))  # hypothesis keeps plain lists short
    a_row = st.tuples(*[COLUMN_VALUES[kind] for kind in kinds])
    rows = draw(st.lists(a_row, min_size=count, max_size=count))
    columns = draw(st.lists(st.integers(0, width - 1), unique=True, max_size=width))
    keys = tuple(
        SortKey(
            column - width if draw(st.booleans()) else column,  # "*" plans count from the end
            draw(st.booleans()),
            draw(st.booleans()),
        )
        for column in columns
    )
    stream_count = draw(st.integers(1, 6))
    owners = draw(st.lists(st.integers(0, stream_count - 1), min_size=len(rows)))
    streams: list[list[Row]] = [[] for _ in range(stream_count)]
    for row, owner in zip(rows, owners, strict=False):
        streams[owner].append(row)
    if keys:
        streams = [reference_sort(stream, keys) for stream in streams]
    plan = MergePlan(
        order_by=keys,
        distinct=draw(st.booleans()),
        # Mostly cut inside the rows, sometimes past their end.
        limit=draw(st.none() | st.integers(0, len(rows) + 1)),
        offset=draw(st.integers(0, len(rows) // 2 + 1)),
        hidden_columns=draw(st.integers(0, width - 1)),
    )
    return plan, streams


@settings(max_examples=400, deadline=None)
@given(ungrouped_cases())
def test_ungrouped_merge_matches_sorting_everything(
    merge_rows: MergeRows,
    case: tuple[MergePlan, list[list[Row]]],
) -> None:
    plan, streams = case
    expected = reference_finish(
        reference_sort([row for stream in streams for row in stream], plan.order_by),
        distinct=plan.distinct,
        offset=plan.offset,
        limit=plan.limit,
        hidden=plan.hidden_columns,
    )
    assert list(merge_rows(plan, streams)) == expected


ANYTHING = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_nan=True),
    # Databases return quiet NaNs only; a signalling one cannot even be hashed.
    st.decimals(allow_nan=True, places=1).filter(lambda d: not d.is_snan()),
    st.text(max_size=2),
    st.binary(max_size=2),
    st.booleans(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(datetime.UTC)),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=1), st.integers(), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.tuples(ANYTHING, ANYTHING), max_size=4), min_size=2, max_size=4),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_mixed_types_refuse_and_never_raise_type_error(
    merge_rows: MergeRows,
    streams: list[list[Row]],
    descending: bool,
    nulls_first: bool,
    distinct: bool,
) -> None:
    plan = MergePlan(
        order_by=(SortKey(0, descending, nulls_first), SortKey(1, not descending, nulls_first)),
        distinct=distinct,
    )
    try:
        list(merge_rows(plan, streams))
    except UnsupportedSQLError as exc:
        message = str(exc)
    else:
        return
    assert "ORDER BY column" in message


# -- grouped merges ------------------------------------------------------------------------

VALUE_TYPES = {
    "int": st.integers(-20, 20),
    "float": st.integers(-80, 80).map(lambda n: n / 4),
    "decimal": st.integers(-200, 200).map(lambda n: Decimal(n) / 10),
}
VALUE_MIXES = [("int",), ("float",), ("decimal",), ("int", "float"), ("int", "decimal")]
GROUP_KEYS = (st.sampled_from([None, "x", "y", "z"]), st.sampled_from([None, 0, 1, 2]))
AGGREGATE_KINDS: tuple[AggregateKind | Literal["count_star"], ...] = (
    "count_star",
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "any",
)


def _sql_sum(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    total = present[0]
    for value in present[1:]:
        total = total + value
    return total


def _first(values: list[Any]) -> Any:
    return next((v for v in values if v is not None), None)


def aggregate_one_database(values: list[Any]) -> list[Any]:
    """COUNT(*), COUNT(v), SUM, MIN, MAX, AVG, ANY over one group's values, as a database."""
    present = [v for v in values if v is not None]
    total = _sql_sum(values)
    average: Any
    if total is None:
        average = None
    elif isinstance(total, Decimal):
        average = total / Decimal(len(present))
    else:
        average = float(total) / len(present)
    return [
        len(values),
        len(present),
        total,
        min(present, default=None),
        max(present, default=None),
        average,
        _first(values),
    ]


def aggregate_one_shard(values: list[Any]) -> list[Any]:
    """What a shard returns for the rewritten select list: AVG as SUM, its COUNT hidden."""
    count_star, count, total, low, high, _, first = aggregate_one_database(values)
    return [count_star, count, total, low, high, total, first]


@st.composite
def grouped_cases(draw: st.DrawFn) -> tuple[MergePlan, list[list[Row]], list[Row]]:
    key_count = draw(st.integers(0, 2))
    keys_hidden = key_count > 0 and draw(st.booleans())
    mix = draw(st.sampled_from(VALUE_MIXES))
    value = st.none() | st.one_of(*[VALUE_TYPES[name] for name in mix])
    base_row = st.tuples(*GROUP_KEYS[:key_count], value)
    shards = draw(st.lists(st.lists(base_row, max_size=12), min_size=1, max_size=6))

    # Select list: [keys] COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v), AVG(v), ANY(v)
    # then hidden: COUNT(v) for AVG [, keys when they are not selected].
    first_aggregate = 0 if keys_hidden else key_count
    avg_count = first_aggregate + len(AGGREGATE_KINDS)
    key_columns = (
        tuple(range(avg_count + 1, avg_count + 1 + key_count))
        if keys_hidden
        else tuple(range(key_count))
    )
    aggregates = []
    for offset, kind in enumerate(AGGREGATE_KINDS):
        column = first_aggregate + offset
        if kind == "avg":
            aggregates.append(AggregateColumn(column, "avg", avg_count))
        else:
            aggregates.append(AggregateColumn(column, "count" if kind == "count_star" else kind))
    width = avg_count + 1 + (key_count if keys_hidden else 0)
    sortable = draw(st.lists(st.integers(0, width - 1), unique=True, max_size=3))
    plan = MergePlan(
        order_by=tuple(SortKey(c, draw(st.booleans()), draw(st.booleans())) for c in sortable),
        group_by=key_columns,
        aggregates=tuple(aggregates),
        distinct=draw(st.booleans()),
        limit=draw(st.none() | st.integers(0, 5)),
        offset=draw(st.integers(0, 5)),
        hidden_columns=1 + (key_count if keys_hidden else 0),
    )

    def layout(key: tuple[Any, ...], aggregated: list[Any]) -> Row:
        count_v = aggregated[1]
        if keys_hidden:
            return (*aggregated, count_v, *key)
        return (*key, *aggregated, count_v)

    streams: list[list[Row]] = []
    for shard in shards:
        groups: dict[tuple[Any, ...], list[Any]] = {}
        for row in shard:
            groups.setdefault(row[:key_count], []).append(row[key_count])
        if key_count == 0 and not groups:
            groups[()] = []  # aggregates without GROUP BY: one row even over no rows
        streams.append([layout(key, aggregate_one_shard(vs)) for key, vs in groups.items()])

    everything: dict[tuple[Any, ...], list[Any]] = {}
    for shard in shards:
        for row in shard:
            everything.setdefault(row[:key_count], []).append(row[key_count])
    if key_count == 0 and not everything:
        everything[()] = []
    expected_rows = [layout(key, aggregate_one_database(vs)) for key, vs in everything.items()]
    return plan, streams, expected_rows


@settings(max_examples=400, deadline=None)
@given(grouped_cases())
def test_grouped_merge_matches_one_database(
    merge_rows: MergeRows,
    case: tuple[MergePlan, list[list[Row]], list[Row]],
) -> None:
    plan, streams, one_database = case
    expected = reference_finish(
        reference_sort(one_database, plan.order_by),
        distinct=plan.distinct,
        offset=plan.offset,
        limit=plan.limit,
        hidden=plan.hidden_columns,
    )
    merged = list(merge_rows(plan, streams))
    assert merged == expected
    # == says 1 == 1.0 == Decimal(1): check AVG's type too (Decimal sums stay Decimal).
    assert [[type(v) for v in row] for row in merged] == [
        [type(v) for v in row] for row in expected
    ]


# -- laziness ------------------------------------------------------------------------------


class Probe:
    """One shard's rows; counts pulls and fails the test if pulled more than ``allowed``."""

    def __init__(self, rows: Iterable[Row], allowed: int | None = None) -> None:
        self.rows = list(rows)
        self.allowed = allowed
        self.pulled = 0
        self.started = False

    def __iter__(self) -> Iterator[Row]:
        self.started = True
        for row in self.rows:
            if self.allowed is not None and self.pulled >= self.allowed:
                raise AssertionError(f"pulled beyond {self.allowed} rows")
            self.pulled += 1
            yield row


def test_limit_stops_pulling_an_ordered_merge(merge_rows: MergeRows) -> None:
    plan = MergePlan(order_by=(SortKey(0, False, False),), limit=5, offset=3)
    # offset+limit rows leave, each stream is at most one row ahead of what left it.
    probes = [Probe([(n * 3 + s,) for n in range(1000)], allowed=9) for s in range(3)]
    assert list(merge_rows(plan, probes)) == [(n,) for n in range(3, 8)]
    assert sum(p.pulled for p in probes) <= 8 + len(probes)


def test_limit_stops_pulling_an_unordered_merge(merge_rows: MergeRows) -> None:
    plan = MergePlan(limit=3, offset=1)
    first = Probe([(n,) for n in range(100)], allowed=4)
    second = Probe([(n,) for n in range(100)], allowed=0)
    assert list(merge_rows(plan, [first, second])) == [(1,), (2,), (3,)]
    assert first.pulled == 4
    assert not second.started


def test_limit_stops_pulling_with_distinct(merge_rows: MergeRows) -> None:
    plan = MergePlan(order_by=(SortKey(0, True, False),), distinct=True, limit=2)
    probes = [Probe([(3,), (3,), (2,), (1,)], allowed=4), Probe([(3,), (1,)], allowed=2)]
    assert list(merge_rows(plan, probes)) == [(3,), (2,)]


def test_limit_zero_pulls_nothing(merge_rows: MergeRows) -> None:
    probes = [Probe([(1,)], allowed=0), Probe([(2,)], allowed=0)]
    assert list(merge_rows(MergePlan(limit=0, offset=5), probes)) == []
    assert not any(p.started for p in probes)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(0, 50), max_size=15), min_size=1, max_size=6))
def test_ordered_merge_pulls_at_most_one_row_ahead_per_stream(
    merge_rows: MergeRows, values: list[list[int]]
) -> None:
    probes = [Probe([(v, s) for v in sorted(stream)]) for s, stream in enumerate(values)]
    emitted = [0] * len(probes)
    for row in merge_rows(MergePlan(order_by=(SortKey(0, False, True),)), probes):
        emitted[row[1]] += 1
        for probe, count in zip(probes, emitted, strict=True):
            assert probe.pulled <= count + 1
    assert emitted == [len(stream) for stream in values]


@pytest.mark.parametrize(
    "plan",
    [
        MergePlan(),
        MergePlan(order_by=(SortKey(0, False, False),)),
        MergePlan(group_by=(0,), aggregates=(AggregateColumn(1, "count"),)),
    ],
)
def test_nothing_is_pulled_before_the_first_next(merge_rows: MergeRows, plan: MergePlan) -> None:
    probes = [Probe([(1, 1)]), Probe([(2, 1)])]
    rows = merge_rows(plan, probes)
    assert not any(p.started for p in probes)
    assert next(rows)[0] == 1


# -- edge cases ----------------------------------------------------------------------------

ORDERED = MergePlan(order_by=(SortKey(0, False, False),))
COUNT_SUM = MergePlan(
    group_by=(), aggregates=(AggregateColumn(0, "count"), AggregateColumn(1, "sum"))
)


@pytest.mark.parametrize("plan", [MergePlan(), ORDERED, MergePlan(distinct=True, limit=3)])
def test_no_streams_and_empty_streams_give_no_rows(merge_rows: MergeRows, plan: MergePlan) -> None:
    assert list(merge_rows(plan, [])) == []
    assert list(merge_rows(plan, [[], [], []])) == []


def test_single_stream_keeps_its_shards_order(merge_rows: MergeRows) -> None:
    # One shard's order is the database's own (SQLite orders numbers before text): no
    # comparison is made, so nothing is refused.
    rows = [(None,), (1,), (2.5,), ("a",), (b"\x00",)]
    assert list(merge_rows(ORDERED, [rows])) == rows


def test_ungrouped_aggregates_over_empty_shards_give_one_row(merge_rows: MergeRows) -> None:
    # Like SELECT COUNT(*), SUM(x) FROM empty on one database: one row (0, NULL).
    assert list(merge_rows(COUNT_SUM, [[(0, None)], [(0, None)], [(0, None)]])) == [(0, None)]
    assert list(merge_rows(COUNT_SUM, [[(0, None)], [(2, 7)]])) == [(2, 7)]


def test_ungrouped_aggregates_over_no_rows_at_all_give_one_row(merge_rows: MergeRows) -> None:
    assert list(merge_rows(COUNT_SUM, [])) == [(0, None)]
    assert list(merge_rows(COUNT_SUM, [[], []])) == [(0, None)]
    # SELECT COUNT(*), AVG(x), MIN(x): AVG's hidden COUNT is dropped.
    plan = MergePlan(
        group_by=(),
        aggregates=(
            AggregateColumn(0, "count"),
            AggregateColumn(1, "avg", 3),
            AggregateColumn(2, "min"),
        ),
        hidden_columns=1,
    )
    assert list(merge_rows(plan, [])) == [(0, None, None)]
    assert list(merge_rows(plan, [[(0, None, None, 0)]] * 2)) == [(0, None, None)]


def test_grouped_query_with_no_groups_gives_no_rows(merge_rows: MergeRows) -> None:
    plan = MergePlan(group_by=(0,), aggregates=(AggregateColumn(1, "count"),))
    assert list(merge_rows(plan, [[], []])) == []


def test_hidden_columns_are_stripped_with_negative_sort_indexes(merge_rows: MergeRows) -> None:
    # SELECT *, created_at AS tdb_hidden_0 ... ORDER BY created_at DESC, id
    plan = MergePlan(
        order_by=(SortKey(-1, True, False), SortKey(-4, False, False)), hidden_columns=1
    )
    day = datetime.date
    first = [(2, "b", day(2026, 3, 1), day(2026, 3, 1)), (1, "a", None, None)]
    second = [
        (3, "c", day(2026, 4, 1), day(2026, 4, 1)),
        (0, "z", day(2026, 3, 1), day(2026, 3, 1)),
    ]
    assert list(merge_rows(plan, [first, second])) == [
        (3, "c", day(2026, 4, 1)),
        (0, "z", day(2026, 3, 1)),
        (2, "b", day(2026, 3, 1)),
        (1, "a", None),
    ]


def test_nulls_placement_does_not_follow_direction(merge_rows: MergeRows) -> None:
    streams = [[(None,), (3,), (1,)], [(None,), (2,)]]
    first_desc = MergePlan(order_by=(SortKey(0, True, True),))
    assert list(merge_rows(first_desc, streams)) == [(None,), (None,), (3,), (2,), (1,)]
    streams = [[(1,), (3,), (None,)], [(2,), (None,)]]
    last_asc = MergePlan(order_by=(SortKey(0, False, False),))
    assert list(merge_rows(last_asc, streams)) == [(1,), (2,), (3,), (None,), (None,)]


def test_numbers_of_different_types_compare_by_value(merge_rows: MergeRows) -> None:
    fine = Decimal("1.0000000000000000000000000000001")  # beyond the 28-digit context
    streams = [[(fine,), (1,)], [(1.5,), (Decimal("1.00000000000000000000000000000005"),)]]
    plan = MergePlan(order_by=(SortKey(0, True, False),))
    assert list(merge_rows(plan, streams)) == [
        (1.5,),
        (fine,),
        (Decimal("1.00000000000000000000000000000005"),),
        (1,),
    ]


def test_nan_sorts_above_every_number(merge_rows: MergeRows) -> None:
    nan = float("nan")
    streams: list[list[Row]] = [[(1,), (nan,)], [(math.inf,), (Decimal("NaN"),)]]
    rows = list(merge_rows(MergePlan(order_by=(SortKey(0, False, False),)), streams))
    assert rows[:2] == [(1,), (math.inf,)]
    assert all(is_nan(row[0]) for row in rows[2:])


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ([[(1,)], [("a",)]], r"ORDER BY column 1 \(int and str\)"),
        ([[("a",)], [(b"a",)]], r"ORDER BY column 1 \(str and bytes\)"),
        (
            [
                [(datetime.datetime(2026, 1, 1),)],
                [(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),)],
            ],
            r"ORDER BY column 1",
        ),
        ([[({"a": 1},)], [({"b": 1},)]], r"ORDER BY column 1 that cannot be compared"),
    ],
)
def test_incomparable_sort_values_are_refused(
    merge_rows: MergeRows, streams: list[list[Row]], message: str
) -> None:
    with pytest.raises(UnsupportedSQLError, match=message):
        list(merge_rows(ORDERED, streams))


def test_incomparable_second_sort_key_names_its_column(merge_rows: MergeRows) -> None:
    plan = MergePlan(order_by=(SortKey(0, False, False), SortKey(1, True, False)))
    with pytest.raises(UnsupportedSQLError, match="ORDER BY column 2"):
        list(merge_rows(plan, [[(1, 1)], [(1, "1")]]))


@pytest.mark.parametrize(
    "streams",
    [
        [[(1,)], [(2,), ("a",)]],  # the text comes after every other stream has ended
        [[(3,)], [(2,), ("a",)]],
        [[(2,), ("a",)], [(1,)]],
    ],
)
def test_every_row_of_a_multi_stream_merge_is_checked(
    merge_rows: MergeRows, streams: list[list[Row]]
) -> None:
    # Each stream is in its shard's order (SQLite puts numbers before text). Whether the
    # query is refused must not depend on which shard holds the text.
    with pytest.raises(UnsupportedSQLError, match=r"ORDER BY column 1 \(int and str\)"):
        list(merge_rows(ORDERED, streams))


def test_equal_rows_come_from_the_earlier_stream_first(merge_rows: MergeRows) -> None:
    streams: list[list[Row]] = [[(1, "a"), (1, "b")], [(0, "z"), (1, "c")], [(1, "d")]]
    assert [row[1] for row in merge_rows(ORDERED, streams)] == ["z", "a", "b", "c", "d"]
    descending = MergePlan(order_by=(SortKey(0, True, False),))
    streams = [[(1, "a")], [(2, "b"), (1, "c")], [(1, "d")]]
    assert [row[1] for row in merge_rows(descending, streams)] == ["b", "a", "c", "d"]


def test_a_failing_stream_fails_the_merge(merge_rows: MergeRows) -> None:
    def failing() -> Iterator[Row]:
        yield (1,)
        raise LookupError("shard 1 went away")

    rows = merge_rows(ORDERED, [[(0,), (2,)], failing()])
    assert next(rows) == (0,)
    with pytest.raises(LookupError, match="went away"):
        list(rows)


def test_incomparable_group_sort_values_are_refused(merge_rows: MergeRows) -> None:
    plan = MergePlan(
        order_by=(SortKey(0, False, False),),
        group_by=(0,),
        aggregates=(AggregateColumn(1, "count"),),
    )
    with pytest.raises(UnsupportedSQLError, match="ORDER BY column 1"):
        list(merge_rows(plan, [[(1, 1)], [("1", 1)]]))


def test_incomparable_min_values_are_refused(merge_rows: MergeRows) -> None:
    plan = MergePlan(group_by=(), aggregates=(AggregateColumn(0, "min"),))
    with pytest.raises(UnsupportedSQLError, match="aggregate column 1"):
        list(merge_rows(plan, [[(1,)], [("a",)]]))


def _avg(merge_rows: MergeRows, *shards: tuple[Any, int]) -> Any:
    plan = MergePlan(group_by=(), aggregates=(AggregateColumn(0, "avg", 1),), hidden_columns=1)
    ((value,),) = merge_rows(plan, [[shard] for shard in shards])
    return value


def test_avg_type_follows_the_sum(merge_rows: MergeRows) -> None:
    # MySQL/PostgreSQL numeric sums are Decimal: AVG stays Decimal, divided exactly.
    assert _avg(merge_rows, (Decimal("10.5"), 3), (Decimal("2"), 2)) == Decimal("2.5")
    assert isinstance(_avg(merge_rows, (Decimal("10.5"), 3), (Decimal("2"), 2)), Decimal)
    assert _avg(merge_rows, (Decimal("1"), 1), (2, 2)) == Decimal(1)  # int + Decimal is Decimal
    # SQLite integer sums: AVG is a float, as SQLite's own AVG.
    assert _avg(merge_rows, (7, 2), (2, 1)) == 3.0
    assert isinstance(_avg(merge_rows, (7, 2), (2, 1)), float)
    assert _avg(merge_rows, (1.5, 1), (None, 0)) == 1.5
    assert _avg(merge_rows, (None, 0), (None, 0)) is None
    # PostgreSQL AVG(interval): SUM is a timedelta too.
    assert _avg(merge_rows, (datetime.timedelta(hours=3), 2), (datetime.timedelta(hours=1), 2)) == (
        datetime.timedelta(hours=1)
    )


def test_sum_of_decimal_and_float_widens_to_float(merge_rows: MergeRows) -> None:
    plan = MergePlan(group_by=(), aggregates=(AggregateColumn(0, "sum"),))
    assert list(merge_rows(plan, [[(Decimal("1.5"),)], [(2.25,)]])) == [(3.75,)]
    with pytest.raises(UnsupportedSQLError, match="aggregate column 1"):
        list(merge_rows(plan, [[("a",)], [(2,)]]))


def test_min_max_skip_nulls_and_put_nan_on_top(merge_rows: MergeRows) -> None:
    plan = MergePlan(group_by=(), aggregates=(AggregateColumn(0, "min"), AggregateColumn(1, "max")))
    nan = float("nan")
    ((low, high),) = merge_rows(plan, [[(None, 1.0)], [(nan, nan)], [(2.0, None)], [(1.0, 3.0)]])
    assert low == 1.0
    assert math.isnan(high)


def test_any_takes_the_first_non_null_and_plain_columns_the_first_value(
    merge_rows: MergeRows,
) -> None:
    plan = MergePlan(group_by=(0,), aggregates=(AggregateColumn(1, "any"),))
    streams: list[list[Row]] = [
        [("g", None, "first")],
        [("g", "b", "second")],
        [("g", "c", "third")],
    ]
    assert list(merge_rows(plan, streams)) == [("g", "b", "first")]


def test_unhashable_values_group_and_deduplicate(merge_rows: MergeRows) -> None:
    # PostgreSQL arrays arrive as lists and jsonb as dicts.
    grouped = MergePlan(group_by=(0,), aggregates=(AggregateColumn(1, "count"),))
    assert list(merge_rows(grouped, [[([1, 2], 1)], [([1, 2], 2), ([3], 1)]])) == [
        ([1, 2], 3),
        ([3], 1),
    ]
    distinct = MergePlan(distinct=True)
    assert list(merge_rows(distinct, [[({"a": [1]},)], [({"a": [1]},), ({"a": [2]},)]])) == [
        ({"a": [1]},),
        ({"a": [2]},),
    ]


def test_negative_limit_or_offset_is_rejected(merge_rows: MergeRows) -> None:
    with pytest.raises(ValueError, match="negative"):
        merge_rows(MergePlan(offset=-1), [])
    with pytest.raises(ValueError, match="negative"):
        merge_rows(MergePlan(limit=-1), [])


# -- the pure parts -----------------------------------------------------------------------


def test_groups_give_the_same_rows_when_asked_twice_and_keep_folding() -> None:
    plan = MergePlan(group_by=(0,), aggregates=(AggregateColumn(1, "avg", 2),), hidden_columns=1)
    groups = Groups(plan)
    groups.add(("g", 3, 1))
    groups.add(("g", 5, 3))
    assert groups.rows() == groups.rows() == [("g", 2.0, 4)]
    groups.add(("g", 4, 4))
    assert groups.rows() == [("g", 1.5, 8)]


def test_groups_and_distinct_refuse_what_they_cannot_do() -> None:
    with pytest.raises(ValueError, match="grouped plan"):
        Groups(MergePlan())
    with pytest.raises(ValueError, match="negative"):
        DistinctRows(-1)


# -- plans made by the router --------------------------------------------------------------


def _plan(sql: str) -> MergePlan:
    cluster = tenantdb.connect(SAMPLE)
    try:
        plan = cluster.explain(sql, admin=True).merge
    finally:
        cluster.close()
    assert plan is not None
    return plan


def test_router_plan_for_grouped_avg_ordered_by_hidden_max(merge_rows: MergeRows) -> None:
    plan = _plan(
        "SELECT user_id, AVG(amount), COUNT(*) FROM user_events "
        "GROUP BY user_id ORDER BY MAX(amount) DESC LIMIT 2"
    )
    # Each shard: user_id, AVG(amount), COUNT(*), SUM(amount), COUNT(amount), MAX(amount)
    shard0 = [(1, 5.0, 2, 10, 2, 6), (2, 3.0, 1, 3, 1, 3)]
    shard1 = [(1, 5.0, 1, 5, 1, 5), (3, None, 1, None, 0, None), (4, 8.0, 1, 8, 1, 8)]
    assert list(merge_rows(plan, [shard0, shard1])) == [(4, 8.0, 1), (1, 5.0, 3)]


def test_router_plan_for_star_ordered_by_unselected_column(merge_rows: MergeRows) -> None:
    plan = _plan("SELECT * FROM user_events ORDER BY created_at DESC LIMIT 3 OFFSET 1")
    shard0 = [("a", "2026-03-03", "2026-03-03"), ("b", "2026-03-01", "2026-03-01")]
    shard1 = [("c", "2026-03-02", "2026-03-02"), ("d", None, None)]
    assert list(merge_rows(plan, [shard0, shard1])) == [
        ("c", "2026-03-02"),
        ("b", "2026-03-01"),
        ("d", None),
    ]
