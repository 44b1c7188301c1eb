"""Streaming merge: the rows of several shards combined into the result one database returns.

:func:`merge_rows` is pure: it takes a :class:`~tenantdb.core.routing.MergePlan` and one row
iterable per shard and returns the user's rows lazily. It does no I/O of its own; what it
pulls from the streams is the only I/O it causes.

Each shard ran the variant built by ``core.sql``'s merge variants: ORDER BY keys, GROUP BY keys
and the COUNT that AVG needs sit in hidden trailing columns, AVG arrives as SUM, and every
shard got ``LIMIT offset+limit`` with no OFFSET (grouped queries return every group).

Steps, in order:

- not grouped: a k-way merge of the already ordered streams (or the streams one after
  another when there is no ORDER BY), DISTINCT, OFFSET/LIMIT, hidden columns dropped;
- grouped: rows with equal group keys combined, AVG computed, the groups sorted (stable),
  DISTINCT, OFFSET/LIMIT, hidden columns dropped.

With ``with_ties`` (``FETCH ... WITH TIES``) every shard returned its rows tied with its
last one; after LIMIT rows the merge keeps pulling while the next row's ORDER BY key equals
the last row's, so every row tied with the n-th is returned, as one database would.

Ordering follows SQL per sort key: ``descending`` flips non-NULL values only, and
``nulls_first`` alone decides where NULLs go. Numbers compare by value across ``int``,
``float`` and ``Decimal``; a NaN (PostgreSQL's float or numeric NaN) sorts above every number
and equals another NaN, as in PostgreSQL. Values of one sort column that are not of one
comparable kind (text beside integers, which SQLite's dynamic typing allows, or naive beside
aware timestamps) raise :class:`~tenantdb.errors.UnsupportedSQLError`: merging them would
need the database's cross-type order, and guessing it would misorder rows silently. The
check looks at every row a multi-stream merge or a group sort sees, not only at the pairs it
happens to compare, so whether a query is refused does not depend on which shard holds
which row; a single stream is passed through in its shard's own order, unchecked.

Memory contract:

- an ordered, non-grouped merge holds one pending row per stream (plus whatever each
  stream buffers) and pulls a stream's next row only after its pending row was taken; an
  unordered one holds nothing and reads the streams one after another. Rows are pulled as
  the caller asks for them (plus the rows OFFSET and DISTINCT skip), and once LIMIT rows
  have been returned no stream is pulled again: streams are never drained;
- a grouped merge holds one row per group, and reads every stream to its end on the first
  ``next()``;
- DISTINCT holds every distinct row it has returned (or skipped for OFFSET).

The streams are the caller's: this module never closes them.

Known limits (not solved here):

- Text orders by Python code point, which is a binary ("C") collation. Shards using a
  case-insensitive or locale collation (MySQL's default ``utf8mb4_0900_ai_ci``, PostgreSQL
  ``en_US``) order each stream their way, and the merge compares heads by code point, so
  rows interleave differently than one database would order them. For the same reason
  GROUP BY and DISTINCT treat ``'a'`` and ``'A'`` (or MySQL's trailing-space-padded
  strings) as different values.
- A NaN group key or DISTINCT value is equal only to the same Python object, so NaNs from
  different shards stay separate groups/rows, where PostgreSQL would combine them.
- AVG has the type of the combined SUM: ``Decimal`` stays ``Decimal`` (divided in the
  current decimal context, so its scale can differ from the database's), ``int`` or
  ``float`` gives ``float``. PostgreSQL returns ``numeric`` for AVG over ``integer`` columns,
  whose SUM is ``bigint``, so there the merged AVG is a ``float`` where one database
  would return a ``Decimal``.
- An ungrouped aggregate over no rows at all (no streams, or streams that returned nothing)
  yields one row with COUNT 0 and NULL elsewhere. Constants selected beside the aggregates
  cannot be recovered without a row: they are NULL there, and one selected after the last
  aggregate is missing from the row.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from ...errors import UnsupportedSQLError
from ..routing import MergePlan
from ..sql import SortKey

Row = tuple[Any, ...]
"""One row as a driver returns it."""

__all__ = ["Row", "merge_rows"]


def merge_rows(plan: MergePlan, streams: Sequence[Iterable[Row]]) -> Iterator[Row]:
    """Merge one row stream per shard into the rows the statement returns, lazily.

    ``streams`` must each be in the shard's ORDER BY order when ``plan.order_by`` is set
    (every shard ran the same ORDER BY). Nothing is pulled from a stream before the first
    ``next()`` on the result; see the module docstring for how much is pulled and held.

    Raises :class:`~tenantdb.errors.UnsupportedSQLError` (while iterating) when the shards
    returned values of different types for one ORDER BY column or one aggregate, and
    ``ValueError`` at once for a negative ``limit``, ``offset`` or ``hidden_columns``.
    """
    if plan.offset < 0 or (plan.limit is not None and plan.limit < 0) or plan.hidden_columns < 0:
        raise ValueError("limit, offset and hidden_columns must not be negative")
    if plan.limit == 0:
        return iter(())
    if plan.group_by is None:
        rows = _merge_ordered(plan.order_by, streams)
    else:
        rows = _merge_groups(plan, streams)
    return _finish(plan, rows)


# -- the steps after merging or grouping -----------------------------------------------------


def _finish(plan: MergePlan, rows: Iterator[Row]) -> Iterator[Row]:
    hidden = plan.hidden_columns
    if plan.distinct:
        rows = _distinct(rows, hidden)
    if plan.with_ties and plan.limit is not None and plan.order_by:
        rows = _with_ties(rows, plan.offset, plan.limit, _sort_key(plan.order_by))
    elif plan.offset or plan.limit is not None:
        stop = None if plan.limit is None else plan.offset + plan.limit
        # islice never pulls past ``stop``: the merge below it stops pulling streams there.
        rows = itertools.islice(rows, plan.offset, stop)
    if hidden:
        rows = (row[:-hidden] for row in rows)
    return rows


def _with_ties(
    rows: Iterator[Row], offset: int, limit: int, key: Callable[[Row], Any]
) -> Iterator[Row]:
    """OFFSET, then LIMIT rows and every following row whose sort key equals the last's."""
    taken = itertools.islice(rows, offset, offset + limit)
    last: Row | None = None
    for row in taken:
        last = row
        yield row
    if last is None or limit == 0:
        return
    last_key = key(last)
    for row in rows:
        if key(row) != last_key:
            return
        yield row


def _distinct(rows: Iterator[Row], hidden: int) -> Iterator[Row]:
    """Keep the first of equal rows (compared on their visible columns)."""
    seen: set[object] = set()
    for row in rows:
        visible: object = row[:-hidden] if hidden else row
        try:
            if visible in seen:
                continue
        except TypeError:  # a list (array) or dict (JSON) value
            visible = _hashable(visible)
            if visible in seen:
                continue
        seen.add(visible)
        yield row


# -- ordering ----------------------------------------------------------------------------


def _merge_ordered(keys: tuple[SortKey, ...], streams: Sequence[Iterable[Row]]) -> Iterator[Row]:
    if not keys or len(streams) == 1:
        # One stream is already in its shard's order: nothing to compare.
        return itertools.chain.from_iterable(streams)
    # heapq.merge holds one pending row per stream and pulls a stream's next row only
    # when its pending row has been yielded; ties go to the earlier stream (stable).
    return heapq.merge(*streams, key=_sort_key(keys))


_NULL_FIRST: Final = 0
_NAN_DESCENDING: Final = 1  # NaN is the largest number: first when descending
_VALUE: Final = 2
_NAN_ASCENDING: Final = 3
_NULL_LAST: Final = 4

_NUMBER: Final = "number"
# Exact types whose kind is fixed; datetime, time and subclasses go through _kind_of.
_KINDS: Final[dict[type, str]] = {
    int: _NUMBER,
    float: _NUMBER,
    Decimal: _NUMBER,
    bool: _NUMBER,
    str: "text",
    bytes: "bytes",
    bytearray: "bytes",
    datetime.date: "date",
    datetime.timedelta: "interval",
    uuid.UUID: "uuid",
}


def _kind_of(value: object) -> object:
    """The comparison kind of a value whose exact type is not in ``_KINDS``.

    Values of one kind always compare without TypeError; kinds never compare to each other.
    """
    if isinstance(value, datetime.datetime | datetime.time):
        # Python refuses to compare naive and aware values.
        aware = value.utcoffset() is not None
        name = "timestamp" if isinstance(value, datetime.datetime) else "time"
        return f"{name} with time zone" if aware else name
    if isinstance(value, memoryview):
        return "bytes"
    for base, kind in _KINDS.items():
        if isinstance(value, base):
            return kind
    return type(value)  # unknown: compared through _Guarded, which reports a TypeError


def _sort_key(keys: tuple[SortKey, ...]) -> Callable[[Row], Any]:
    """A key function whose results compare like SQL orders rows by ``keys``."""
    parts = [_KeyPart(number, key) for number, key in enumerate(keys, 1)]
    if len(parts) == 1:
        return parts[0]

    def key(row: Row) -> tuple[Any, ...]:
        return tuple([part(row) for part in parts])

    return key


class _KeyPart:
    """Maps one sort column of a row to ``(rank, value)``; tuples compare in C.

    ``rank`` places NULLs and NaNs; among ranked-equal values a descending number is
    negated exactly, and other descending (or unknown) values are wrapped in _Guarded.
    It also checks that every non-NULL value of the column is of one comparable kind.
    """

    __slots__ = ("_column", "_descending", "_kind", "_nan", "_null", "_number", "_type_name")

    def __init__(self, number: int, key: SortKey) -> None:
        self._number = number
        self._column = key.column
        self._descending = key.descending
        self._null: tuple[int, None] = (_NULL_FIRST if key.nulls_first else _NULL_LAST, None)
        self._nan: tuple[int, None] = (_NAN_DESCENDING if key.descending else _NAN_ASCENDING, None)
        self._kind: object = None
        self._type_name = ""

    def __call__(self, row: Row) -> tuple[int, Any]:
        value = row[self._column]
        if value is None:
            return self._null
        kind = _KINDS.get(type(value)) or _kind_of(value)
        if kind != self._kind:
            self._adopt(kind, value)
        if kind == _NUMBER:
            if _is_nan(value):
                return self._nan
            if self._descending:
                value = _negate(value)
            return (_VALUE, value)
        if isinstance(value, memoryview):
            value = value.tobytes()
        if self._descending or isinstance(kind, type):
            return (_VALUE, _Guarded(value, self._descending, self._number))
        return (_VALUE, value)

    def _adopt(self, kind: object, value: object) -> None:
        if self._kind is not None:
            raise UnsupportedSQLError(
                f"the shards returned values of different types for ORDER BY column "
                f"{self._number} ({self._type_name} and {type(value).__name__}), which cannot "
                "be ordered across shards; CAST that column to one type in the query"
            )
        self._kind = kind
        self._type_name = type(value).__name__


def _negate(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.copy_negate()  # exact: unary minus would round to the context
    return -value  # int, float, bool (-True == -1)


def _is_nan(value: object) -> bool:
    if isinstance(value, float):
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


class _Guarded:
    """A sort value compared in Python: reversed for DESC, TypeError turned into a refusal."""

    __slots__ = ("descending", "number", "value")

    def __init__(self, value: Any, descending: bool, number: int) -> None:
        self.value = value
        self.descending = descending
        self.number = number

    def __eq__(self, other: object) -> bool:
        assert isinstance(other, _Guarded)
        return bool(self.value == other.value)

    def __lt__(self, other: _Guarded) -> bool:
        try:
            if self.descending:
                return bool(other.value < self.value)
            return bool(self.value < other.value)
        except TypeError:
            raise UnsupportedSQLError(
                f"the shards returned values for ORDER BY column {self.number} that cannot be "
                f"compared ({type(self.value).__name__} and {type(other.value).__name__}); "
                "order by a column of a comparable type"
            ) from None


# -- grouping ----------------------------------------------------------------------------

_SUM: Final = "sum"  # COUNT and SUM both add up; they differ only over no rows at all
_MIN: Final = "min"
_MAX: Final = "max"
_FIRST: Final = "first"  # the "any" kind: the first non-NULL value


def _merge_groups(plan: MergePlan, streams: Sequence[Iterable[Row]]) -> Iterator[Row]:
    group_by = plan.group_by
    assert group_by is not None
    groups: dict[object, list[Any]] = {}
    folds: list[tuple[int, str]] | None = None
    averages: list[tuple[int, int, int]] = []
    for row in itertools.chain.from_iterable(streams):
        if folds is None:
            folds, averages = _fold_plan(plan, len(row))
        key: object = tuple([row[i] for i in group_by])
        try:
            acc = groups.get(key)
        except TypeError:  # a list (array) or dict (JSON) group key
            key = _hashable(key)
            acc = groups.get(key)
        if acc is None:
            groups[key] = list(row)
            continue
        for index, fold in folds:
            value = row[index]
            if value is None:
                continue
            current = acc[index]
            if current is None:
                acc[index] = value
            elif fold is _SUM:
                acc[index] = _add(current, value, index)
            elif fold is _MIN:
                if _less(value, current, index):
                    acc[index] = value
            elif fold is _MAX and _less(current, value, index):
                acc[index] = value
    if folds is None and group_by == ():
        # Aggregates without GROUP BY return one row even over no rows at all.
        groups[()] = _empty_aggregate_row(plan)
    for acc in groups.values():
        for column, sum_column, count_column in averages:
            shard_average = acc[column] if sum_column != column else None
            acc[column] = _average(acc[sum_column], acc[count_column], shard_average)
    rows = [tuple(acc) for acc in groups.values()]
    if plan.order_by:
        rows.sort(key=_sort_key(plan.order_by))  # list.sort is stable
    yield from rows


def _fold_plan(
    plan: MergePlan, width: int
) -> tuple[list[tuple[int, str]], list[tuple[int, int, int]]]:
    """(column, how to combine it) and (AVG column, its SUM, its COUNT), as row indexes.

    Without ``sum_column`` (older plans) the AVG column itself holds the SUM.
    """
    folds: dict[int, str] = {}
    averages: list[tuple[int, int, int]] = []
    for aggregate in plan.aggregates:
        column = aggregate.column % width
        if aggregate.kind == "avg":
            if aggregate.count_column is None:
                raise ValueError(f"AVG column {column} has no count_column")
            count_column = aggregate.count_column % width
            sum_column = column if aggregate.sum_column is None else aggregate.sum_column % width
            folds[sum_column] = folds[count_column] = _SUM
            if sum_column != column:
                folds[column] = _FIRST  # the shard's own AVG: only its type is used
            averages.append((column, sum_column, count_column))
        elif aggregate.kind in ("count", "sum"):
            folds[column] = _SUM
        elif aggregate.kind == "min":
            folds[column] = _MIN
        elif aggregate.kind == "max":
            folds[column] = _MAX
        else:
            folds[column] = _FIRST
    return list(folds.items()), averages


def _empty_aggregate_row(plan: MergePlan) -> list[Any]:
    """What one database returns for aggregates over no rows: COUNT 0, NULL elsewhere."""
    indexes = [a.column for a in plan.aggregates] + [
        a.count_column for a in plan.aggregates if a.count_column is not None
    ]
    width = max((i + 1 if i >= 0 else -i for i in indexes), default=0)
    row: list[Any] = [None] * width
    for aggregate in plan.aggregates:
        if aggregate.kind == "count":
            row[aggregate.column] = 0
        if aggregate.count_column is not None:
            row[aggregate.count_column] = 0
    return row


def _add(current: Any, value: Any, index: int) -> Any:
    try:
        return current + value
    except TypeError:
        numbers = (int, float, Decimal)
        if isinstance(current, numbers) and isinstance(value, numbers):
            # Decimal + float: SQL widens numeric + double precision to double precision.
            return float(current) + float(value)
        raise UnsupportedSQLError(
            f"the shards returned values of different types for aggregate column {index + 1} "
            f"({type(current).__name__} and {type(value).__name__}); CAST the aggregated "
            "expression to one type in the query"
        ) from None


def _less(a: Any, b: Any, index: int) -> bool:
    """``a < b`` for MIN/MAX, with NaN above every number as in PostgreSQL."""
    a_nan = _is_nan(a)
    b_nan = _is_nan(b)
    if a_nan or b_nan:
        return b_nan and not a_nan
    try:
        return bool(a < b)
    except TypeError:
        raise UnsupportedSQLError(
            f"the shards returned values of different types for aggregate column {index + 1} "
            f"({type(a).__name__} and {type(b).__name__}), which cannot be compared; CAST the "
            "aggregated expression to one type in the query"
        ) from None


def _average(total: Any, count: Any, shard_average: Any = None) -> Any:
    """SUM / COUNT, of the type the database's AVG has (a shard's AVG shows it).

    A Decimal AVG keeps the largest scale the shards returned (MariaDB's is fixed by the
    type; PostgreSQL's varies with the value, so there the digits may differ).
    """
    if total is None or not count:
        return None
    if isinstance(shard_average, float) and isinstance(total, int | float | Decimal):
        return float(total) / int(count)
    if isinstance(shard_average, Decimal) or isinstance(total, Decimal):
        exact = Decimal(total) / Decimal(count)
        if isinstance(shard_average, Decimal) and shard_average.is_finite():
            scale = shard_average.as_tuple().exponent
            if isinstance(scale, int) and scale < 0:
                return exact.quantize(Decimal(1).scaleb(scale), rounding=ROUND_HALF_UP)
        return exact
    if isinstance(total, int | float):
        return total / int(count)  # true division: a float, correctly rounded for ints
    return total / count  # e.g. timedelta for PostgreSQL's AVG(interval)


# -- hashing -----------------------------------------------------------------------------

_ARRAY: Final = object()
_OBJECT: Final = object()


def _hashable(value: object) -> object:
    """An equal-for-equal hashable stand-in for rows holding lists or dicts."""
    if isinstance(value, tuple):
        return tuple([_hashable(v) for v in value])
    if isinstance(value, list):
        return (_ARRAY, *[_hashable(v) for v in value])
    if isinstance(value, dict):
        return (_OBJECT, frozenset((k, _hashable(v)) for k, v in value.items()))
    return value
