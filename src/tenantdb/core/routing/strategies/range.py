"""``range``: ordered boundaries split the key space into consecutive shards."""

from __future__ import annotations

import datetime
import itertools
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ....errors import RoutingError
from ._base import (
    Problems,
    ShardId,
    check_key_type,
    column,
    datasource_names,
    null_key,
    type_label,
)
from ._keys import Backend, KeyType, integer_key
from ._numbered import NumberedShards

Boundary = int | float | Decimal | str

_NUMBER = "number"
_STRING = "string"


def _family(value: object) -> str | None:
    """Which ordered set ``value`` belongs to: numbers, strings, or neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return _NUMBER
    if isinstance(value, str):
        return _STRING
    return None


def _is_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


@dataclass(frozen=True, slots=True, init=False)
class RangeStrategy(NumberedShards):
    """Shard ``i`` = the number of boundaries ``<= key``; ``len(boundaries) + 1`` shards.

    Placement (a compatibility contract: applications may compute it themselves): with
    boundaries ``b0 < b1 < ... < bn``, a key ``< b0`` is in shard 0, ``b0 <= key < b1`` in
    shard 1, ..., ``key >= bn`` in shard ``n + 1`` (``bisect.bisect_right``); physical table
    ``{table}_{i}`` on datasource ``datasources[i % len(datasources)]``.

    Boundaries are all numbers (``int``, ``float``, :class:`~decimal.Decimal`; finite) or all
    strings, strictly ascending. A key must be of the same kind (``bool`` and NaN are refused).
    Strings are ordered by code point, as Python compares them: pruning a string range is
    exact only if the database compares the key column the same way (a binary collation,
    e.g. PostgreSQL ``COLLATE "C"``, MySQL ``utf8mb4_bin``). With ``key_type = "int"``
    (numeric boundaries only) a string key is read as the integer the database compares
    (``'05'`` is 5) or refused; otherwise a string never stands for a number.

    ``shards_for_range`` prunes exactly, treating numeric keys as continuous: ``key > 9`` with
    a boundary at 10 still reads the shard ending at 10 (it could hold 9.5).

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    table: str
    key: str
    boundaries: tuple[Boundary, ...]
    datasources: tuple[str, ...]
    key_type: KeyType | None
    backend: Backend
    _kind: str = field(repr=False, compare=False)

    def __init__(
        self,
        *,
        table: str,
        key: str,
        boundaries: Sequence[Boundary],
        datasources: Sequence[str],
        key_type: KeyType | None = None,
        backend: Backend = None,
    ) -> None:
        problems = Problems(table)
        names = datasource_names(problems, datasources)
        check_key_type(problems, key_type, ("int", "text"))
        bounds: tuple[Boundary, ...] = ()
        family = _NUMBER
        if isinstance(boundaries, str | bytes) or not isinstance(boundaries, Sequence):
            problems.add("boundaries", "must be a list of numbers or of strings")
        else:
            bounds = tuple(boundaries)
            family = _check_boundaries(problems, bounds)
            if key_type is not None and family != {"int": _NUMBER, "text": _STRING}.get(key_type):
                problems.add(
                    "key_type",
                    f"is {key_type!r} but the boundaries are {family}s; use number boundaries "
                    'with key_type = "int" and string boundaries with key_type = "text"',
                )
        problems.raise_if_any()
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "boundaries", bounds)
        object.__setattr__(self, "datasources", names)
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "_kind", family)

    @property
    def shards(self) -> int:
        """The number of shards: one more than the number of boundaries."""
        return len(self.boundaries) + 1

    @property
    def colocation_key(self) -> tuple[object, ...]:
        # 10 and 10.0 compare (and hash) equal, and place every key identically.
        return ("range", self.key_type, self.boundaries, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        if value is None:
            null_key(self.table, self.key)
        return bisect_right(self._sorted, self._comparable(value))

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        lo_value = None if low is None else self._comparable(low)
        hi_value = None if high is None else self._comparable(high)
        if self._kind == _STRING:
            # Strings are discrete at the bottom: nothing lies between s and s + "\0", and
            # nothing is below "". Rewrite the low end as an inclusive bound so that both
            # the emptiness test and the first shard are exact.
            if lo_value is None:
                lo_value, low_inclusive = "", True
            elif not low_inclusive:
                lo_value, low_inclusive = f"{lo_value}\0", True
        if lo_value is not None and hi_value is not None:
            if lo_value > hi_value:
                return ()
            if lo_value == hi_value and not (low_inclusive and high_inclusive):
                return ()
        # Values just above an exclusive low bound are in the same shard as the bound itself.
        first = 0 if lo_value is None else bisect_right(self._sorted, lo_value)
        if hi_value is None:
            last = len(self.boundaries)
        elif high_inclusive:
            last = bisect_right(self._sorted, hi_value)
        else:
            # A boundary equal to an exclusive high bound starts a shard that holds nothing
            # below it.
            last = bisect_left(self._sorted, hi_value)
        return tuple(range(first, last + 1))

    @property
    def _sorted(self) -> Sequence[Any]:
        # Boundaries share one family (checked in __init__), so they are mutually comparable.
        return self.boundaries

    def _comparable(self, value: object) -> Any:
        """``value`` when it can be compared with the boundaries, else a RoutingError."""
        if self.key_type == "int" and isinstance(value, str):
            value = integer_key(self.table, self.key, value, strategy="range", backend=self.backend)
        family = _family(value)
        if family is None:
            raise RoutingError(
                f"{column(self.table, self.key)} has type {type_label(value)}; the range "
                f"boundaries of {self.table} are {self._kind}s, compare it with a {self._kind}"
            )
        if family != self._kind:
            raise RoutingError(
                f"{column(self.table, self.key)} is a {family} ({type_label(value)}) but the "
                f"range boundaries of {self.table} are {self._kind}s; pass a {self._kind}"
            )
        if _is_nan(value):
            raise RoutingError(
                f"{column(self.table, self.key)} is NaN, which has no place in a range"
            )
        return value


def _check_boundaries(problems: Problems, bounds: tuple[object, ...]) -> str:
    """The family of ``bounds``; records a problem for each way they are invalid."""
    if not bounds:
        problems.add("boundaries", "must list at least one boundary")
        return _NUMBER
    families = {_family(b) for b in bounds}
    if None in families:
        odd = next(b for b in bounds if _family(b) is None)
        problems.add("boundaries", f"{odd!r} is not a number or a string")
        return _NUMBER
    if len(families) > 1:
        problems.add("boundaries", "mixes numbers and strings; use one kind")
        return _NUMBER
    family = families.pop() or _NUMBER
    if family == _NUMBER:
        for b in bounds:
            if (isinstance(b, float) and not math.isfinite(b)) or (
                isinstance(b, Decimal) and not b.is_finite()
            ):
                problems.add("boundaries", f"{b!r} is not a finite number")
                return family
    ordered: Sequence[Any] = bounds
    for before, after in itertools.pairwise(ordered):
        if not before < after:
            problems.add(
                "boundaries", f"must be strictly ascending ({before!r} is followed by {after!r})"
            )
            break
    return family
