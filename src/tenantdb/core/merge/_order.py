"""SQL's ORDER BY as a Python sort key, for rows coming from several shards.

Ordering follows SQL per sort key: ``descending`` flips non-NULL values only, and
``nulls_first`` alone decides where NULLs go. Numbers compare by value across ``int``,
``float`` and ``Decimal``; a NaN (PostgreSQL's float or numeric NaN) sorts above every number
and equals another NaN, as in PostgreSQL. Values of one sort column that are not of one
comparable kind (text beside integers, which SQLite's dynamic typing allows, or naive beside
aware timestamps) raise :class:`~tenantdb.errors.UnsupportedSQLError`: merging them would
need the database's cross-type order, and guessing it would misorder rows silently.

Known limit: text orders by Python code point, which is a binary ("C") collation. Shards
using a case-insensitive or locale collation (MySQL's default ``utf8mb4_0900_ai_ci``,
PostgreSQL ``en_US``) order each stream their way, and a merge comparing heads by code point
interleaves rows differently than one database would order them.

How keys are made cheap (a merge keys every row): a key is the sort value itself, or the
tuple of them, wherever Python compares the values natively in SQL's order, so heaps and
sorts compare keys in C. What needs more is decided once per merge, not per row:

- the direction: when every key is descending the keys are not reversed at all, and the
  caller sorts in reverse (a max-heap, ``reverse=True``): :attr:`RowOrder.reverse`. Only a
  descending key beside an ascending one reverses its values: numbers are negated exactly,
  other values wrapped in ``_Guarded``, which compares in Python;
- NULL and NaN become one ``_Placed`` object per column and place, which compares above or
  below every value by its rank without looking at the value;
- each column remembers the exact type of the values it has shown (its "fast" type). A value
  of that type which equals itself (so no NaN) is its own key at once; any other value
  (the first one, NULL, NaN, another type) takes the checked path, which checks its kind
  and gives it the key it gets there. Both paths give one value the same key, so a column
  meeting an unexpected value switches paths without any key changing how it compares, and
  every value's kind is checked: the fast type is only ever one the checked path accepted.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any, Final

from ...errors import UnsupportedSQLError
from ..sql import SortKey
from ._rows import Row

# Where a column's NULLs and NaNs go among its values, in SQL's output order.
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
# Exact types that are their own key: one kind each, always comparable to each other.
# (datetime is not: naive and aware values are two kinds of one type.)
_NATIVE: Final = frozenset(
    {int, float, Decimal, str, bytes, datetime.date, datetime.timedelta, uuid.UUID}
)
# Exact types negated exactly by unary minus (Decimal's rounds to the context).
_NEGATABLE: Final = frozenset({int, float})


class _Unseen:
    """The fast type of a column that has shown no value yet: no value has it."""


class RowOrder:
    """The sort key of the rows of one merge: ``key(row)`` results compare like SQL orders
    the rows by ``keys``, ascending, or in reverse when :attr:`reverse` is True.

    Sort with ``reverse=self.reverse`` (or merge on a max-heap when it is True).
    ``reverse`` is True only when every key is descending and ``allow_reverse`` is.

    ``key`` checks every row it is given: once a sort column has held a value of one kind,
    a value of another kind raises :class:`~tenantdb.errors.UnsupportedSQLError` (naming
    the column, counted from 1 in ``keys``), and so does comparing two keys whose values
    Python cannot order. It keeps that state: use one ``RowOrder`` per merge.
    """

    __slots__ = ("key", "reverse")

    def __init__(self, keys: Sequence[SortKey], *, allow_reverse: bool = True) -> None:
        self.reverse = allow_reverse and bool(keys) and all(key.descending for key in keys)
        columns = [_Column(number, key, self.reverse) for number, key in enumerate(keys, 1)]
        self.key: Callable[[Row], Any]
        if len(columns) == 1:  # the common case: no tuple to build
            self.key = _one_column_key(columns[0])
        elif len(columns) == 2 and not any(column.flips for column in columns):
            self.key = _two_column_key(*columns)
        else:
            self.key = _many_columns_key(columns)

    def __repr__(self) -> str:
        return f"<RowOrder [{'reverse' if self.reverse else 'ascending'}]>"


def is_nan(value: object) -> bool:
    """True for a float or Decimal NaN (PostgreSQL returns both)."""
    if isinstance(value, float):
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


# -- one column ------------------------------------------------------------------------------


class _Column:
    """One sort column: the checked path from a value to its key, and the column's state.

    ``fast`` is the exact type of the last value the checked path gave its own key (or
    negated it, when ``flips``): the row key functions below take a value of that type
    that equals itself straight to the same key.
    """

    __slots__ = ("_kind", "_nan", "_null", "_number", "_type_name", "fast", "flips", "index")

    def __init__(self, number: int, key: SortKey, reverse: bool) -> None:
        self.index = key.column
        self.flips = key.descending and not reverse  # this column's values reverse themselves
        self.fast: type = _Unseen
        self._number = number
        null = _NULL_FIRST if key.nulls_first else _NULL_LAST
        nan = _NAN_DESCENDING if key.descending else _NAN_ASCENDING
        # Sorted in reverse, the first place must compare largest.
        self._null = _Placed(_VALUE * 2 - null if reverse else null)
        self._nan = _Placed(_VALUE * 2 - nan if reverse else nan)
        self._kind: object = None
        self._type_name = ""

    def key(self, value: Any) -> Any:
        """The checked path: ``value``'s key, after checking its kind against the column's."""
        if value is None:
            return self._null
        exact = type(value)
        kind = _KINDS.get(exact) or _kind_of(value)
        if kind != self._kind:
            self._adopt(kind, value)
        if kind == _NUMBER:
            if is_nan(value):
                return self._nan
            if self.flips:
                if exact in _NEGATABLE:
                    self.fast = exact
                return _negate(value)
        elif self.flips or isinstance(kind, type):
            if isinstance(value, memoryview):
                value = value.tobytes()
            return _Guarded(value, self.flips, self._number)
        elif isinstance(value, memoryview):
            return value.tobytes()
        if exact in _NATIVE:
            self.fast = exact
        return value

    def _adopt(self, kind: object, value: object) -> None:
        if self._kind is not None:
            raise UnsupportedSQLError(
                f"the shards returned values of different types for ORDER BY column "
                f"{self._number} ({self._type_name} and {type(value).__name__}), which cannot "
                "be ordered across shards; CAST that column to one type in the query"
            )
        self._kind = kind
        self._type_name = type(value).__name__


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


def _negate(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.copy_negate()  # exact: unary minus would round to the context
    return -value  # int, float, bool (-True == -1)


# -- row keys: the fast path in front of each column's checked path ----------------------------
#
# ``value == value`` is False only for a NaN; a signalling Decimal NaN raises instead (an
# ArithmeticError), and takes the checked path too. The try costs nothing when nothing raises.


def _one_column_key(column: _Column) -> Callable[[Row], Any]:
    index = column.index
    checked = column.key
    fast: Any = column.fast  # Any: ``type(value) is fast`` must not narrow value to object

    if column.flips:

        def negated_key(row: Row) -> Any:
            nonlocal fast
            value = row[index]
            try:
                if type(value) is fast and value == value:
                    return -value
            except ArithmeticError:
                pass
            key = checked(value)
            fast = column.fast
            return key

        return negated_key

    def key(row: Row) -> Any:
        nonlocal fast
        value = row[index]
        try:
            if type(value) is fast and value == value:
                return value
        except ArithmeticError:
            pass
        key = checked(value)
        fast = column.fast
        return key

    return key


def _two_column_key(first: _Column, second: _Column) -> Callable[[Row], Any]:
    """Two columns neither of which reverses its values: the row's values are the key."""
    values_of = itemgetter(first.index, second.index)
    checked_first = first.key
    checked_second = second.key
    fast_first = first.fast
    fast_second = second.fast

    def key(row: Row) -> Any:
        nonlocal fast_first, fast_second
        values = values_of(row)
        a, b = values
        try:
            if type(a) is fast_first and type(b) is fast_second and a == a and b == b:
                return values
        except ArithmeticError:
            pass
        values = (checked_first(a), checked_second(b))
        fast_first = first.fast
        fast_second = second.fast
        return values

    return key


def _many_columns_key(columns: list[_Column]) -> Callable[[Row], Any]:
    keys = [_one_column_key(column) for column in columns]

    def key(row: Row) -> tuple[Any, ...]:
        return tuple([key(row) for key in keys])

    return key


# -- keys that compare in Python -------------------------------------------------------------


class _Placed:
    """A NULL or a NaN as a sort key: above or below every value, by ``rank``.

    A value's rank is ``_VALUE``; each column has one ``_Placed`` per place, so two
    NULLs of a column are one object and equal (``==`` is identity).
    """

    __slots__ = ("rank",)

    def __init__(self, rank: int) -> None:
        self.rank = rank

    def __repr__(self) -> str:
        return f"<_Placed rank={self.rank}>"

    def __lt__(self, other: object) -> bool:
        return self.rank < _rank_of(other)

    def __le__(self, other: object) -> bool:
        return self.rank <= _rank_of(other)

    def __gt__(self, other: object) -> bool:
        return self.rank > _rank_of(other)

    def __ge__(self, other: object) -> bool:
        return self.rank >= _rank_of(other)


def _rank_of(key: object) -> int:
    return key.rank if isinstance(key, _Placed) else _VALUE


class _Guarded:
    """A sort value compared in Python: reversed for DESC, TypeError turned into a refusal."""

    __slots__ = ("descending", "number", "value")

    def __init__(self, value: Any, descending: bool, number: int) -> None:
        self.value = value
        self.descending = descending
        self.number = number

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Guarded):
            return NotImplemented  # a _Placed: never equal
        return bool(self.value == other.value)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, _Guarded):
            return NotImplemented  # a _Placed compares itself
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
