"""GROUP BY across shards: each shard's partial aggregates combined into one row per group.

Each shard ran the variant built by ``core.sql``'s merge variants: GROUP BY keys and the COUNT
and SUM that AVG needs sit in (possibly hidden) columns, so a group's rows from several
shards combine column by column: COUNT and SUM add up, MIN and MAX keep the extreme (NaN
above every number, as in PostgreSQL), ANY keeps the first non-NULL value, AVG becomes
SUM / COUNT, and a plain column keeps the first shard's value.

Known limits:

- GROUP BY compares text exactly, so ``'a'`` and ``'A'`` (or MySQL's trailing-space-padded
  strings) are different groups where a case-insensitive collation would combine them; a
  NaN group key equals only the same Python object, so NaNs of different shards stay
  separate groups, where PostgreSQL would combine them.
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

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import Any, Final

from ...errors import UnsupportedSQLError
from ..routing import MergePlan
from ._order import RowOrder, is_nan
from ._rows import Row, hashable

_SUM: Final = "sum"  # COUNT and SUM both add up; they differ only over no rows at all
_MIN: Final = "min"
_MAX: Final = "max"
_FIRST: Final = "first"  # the "any" kind: the first non-NULL value


class Groups:
    """The groups of one grouped merge, folded as the shards' rows are added.

    Holds one row per group (the first row seen of it, with its aggregate columns folded
    in place), in order of first appearance. ``add`` raises
    :class:`~tenantdb.errors.UnsupportedSQLError` when two shards returned values of
    different types for one aggregate column; ``rows`` raises it when the groups cannot be
    ordered by the plan's ORDER BY.
    """

    __slots__ = ("_averages", "_folds", "_groups", "_key_of", "_plan")

    def __init__(self, plan: MergePlan) -> None:
        if plan.group_by is None:
            raise ValueError("Groups needs a grouped plan (group_by is None)")
        self._plan = plan
        # A group's key: its value (one GROUP BY column) or the tuple of them, built in C.
        self._key_of: Callable[[Row], object] = (
            itemgetter(*plan.group_by) if plan.group_by else _no_group_key
        )
        self._groups: dict[object, list[Any]] = {}
        # Known once the first row shows the row width (aggregate columns may count from
        # the end of the row).
        self._folds: list[tuple[int, str]] | None = None
        self._averages: list[tuple[int, int, int]] = []

    def __repr__(self) -> str:
        return f"<Groups [{len(self._groups)} groups]>"

    def add(self, row: Row) -> None:
        """Fold one shard row into its group (a new group when its keys are new)."""
        folds = self._folds
        if folds is None:
            folds, self._averages = _fold_plan(self._plan, len(row))
            self._folds = folds
        key = self._key_of(row)
        try:
            acc = self._groups.get(key)
        except TypeError:  # a list (array) or dict (JSON) group key
            key = hashable(key)
            acc = self._groups.get(key)
        if acc is None:
            self._groups[key] = list(row)
            return
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

    def rows(self) -> list[Row]:
        """The finished groups: AVG computed, sorted by the plan's ORDER BY (stable, so
        groups without one keep their order of first appearance).

        Aggregates without GROUP BY give one row even when no row was added, as one
        database does (COUNT 0, NULL elsewhere). Does not change the groups: adding more
        rows and calling again gives the groups with those rows too.
        """
        groups: list[list[Any]] = list(self._groups.values())
        if self._folds is None and self._plan.group_by == ():
            groups = [_empty_aggregate_row(self._plan)]
        if self._averages:
            groups = [list(acc) for acc in groups]
            for acc in groups:
                for column, sum_column, count_column in self._averages:
                    shard_average = acc[column] if sum_column != column else None
                    acc[column] = _average(acc[sum_column], acc[count_column], shard_average)
        rows = [tuple(acc) for acc in groups]
        if self._plan.order_by:
            order = RowOrder(self._plan.order_by)
            rows.sort(key=order.key, reverse=order.reverse)  # stable, also in reverse
        return rows


def _no_group_key(row: Row) -> object:
    return ()


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
    try:
        if a == a and b == b:  # neither is a NaN: the common case, compared at once
            return bool(a < b)
    except TypeError:
        raise _incomparable(a, b, index) from None
    except ArithmeticError:
        pass  # a signalling Decimal NaN refuses ``==``
    a_nan = is_nan(a)
    b_nan = is_nan(b)
    if a_nan or b_nan:
        return b_nan and not a_nan
    try:
        return bool(a < b)
    except TypeError:
        raise _incomparable(a, b, index) from None


def _incomparable(a: Any, b: Any, index: int) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"the shards returned values of different types for aggregate column {index + 1} "
        f"({type(a).__name__} and {type(b).__name__}), which cannot be compared; CAST the "
        "aggregated expression to one type in the query"
    )


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
