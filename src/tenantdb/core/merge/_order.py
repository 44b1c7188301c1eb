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
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from ...errors import UnsupportedSQLError
from ..sql import SortKey
from ._rows import Row

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


def sort_key(keys: tuple[SortKey, ...]) -> Callable[[Row], Any]:
    """A key function whose results compare like SQL orders rows by ``keys``.

    The function checks every row it is given: once a sort column has held a value of one
    kind, a value of another kind raises :class:`~tenantdb.errors.UnsupportedSQLError`
    (naming the column, counted from 1 in ``keys``), and so does comparing two keys whose
    values Python cannot order. It keeps that state: use one function per merge.
    """
    parts = [_KeyPart(number, key) for number, key in enumerate(keys, 1)]
    if len(parts) == 1:
        return parts[0]

    def key(row: Row) -> tuple[Any, ...]:
        return tuple([part(row) for part in parts])

    return key


def is_nan(value: object) -> bool:
    """True for a float or Decimal NaN (PostgreSQL returns both)."""
    if isinstance(value, float):
        return value != value
    return isinstance(value, Decimal) and value.is_nan()


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
            if is_nan(value):
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
