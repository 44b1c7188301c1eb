"""The placement-strategy protocol and the helpers its implementations share.

A strategy answers one question about one logical table: which physical shard holds a row
whose key has a given value, and where that shard lives (datasource, physical table name).
Strategies are pure values: no I/O, no clock (``today`` is always passed in), no mutable state.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NoReturn, Protocol

from ....errors import ConfigError, ConfigProblem, RoutingError

ShardId = int
"""Index of a shard within its table's strategy.

``mod``, ``hash_mod`` and ``range``: the shard number ``i`` (table ``{table}_{i}``).
``time_range``: the period number ``k`` counted from the configured start.
``consistent_hash``: the index of the datasource in the strategy's ``datasources``.
"""


class Strategy(Protocol):
    """Where the rows of one logical table live, as a pure function of the key value.

    Implementations are immutable, hashable and safe to share between threads.
    """

    @property
    def colocation_key(self) -> tuple[object, ...]:
        """Equal for two tables exactly when they place every key value identically.

        Tables with equal keys are co-located ("binding tables"): a join or subquery between
        them on the key can run inside each shard.
        """
        ...

    def shard_for(self, value: object) -> ShardId:
        """The one shard that holds rows whose key equals ``value``.

        Raises :class:`~tenantdb.errors.RoutingError` for ``None`` (a sharded row needs a key)
        and for a value the strategy cannot place (wrong type, before the first period, ...).
        """
        ...

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        """The shards that can hold a key in the interval, ascending.

        A ``None`` bound is unbounded. Returns ``()`` for an empty interval and ``None`` when
        the strategy cannot prune by ranges (the caller then uses :meth:`all_shards`).
        ``today`` bounds strategies whose shards are created over time; others ignore it.
        Raises :class:`~tenantdb.errors.RoutingError` for a bound of the wrong type.
        """
        ...

    def all_shards(self, today: datetime.date) -> tuple[ShardId, ...]:
        """Every shard that exists on ``today``, ascending."""
        ...

    def datasource_of(self, shard: ShardId) -> str:
        """The name of the datasource that holds ``shard``."""
        ...

    def physical_table(self, logical: str, shard: ShardId) -> str:
        """The physical name of table ``logical`` in ``shard``."""
        ...


# -- key values ---------------------------------------------------------------------------


def column(table: str, key: str) -> str:
    """``table.key``, as error messages name a shard key."""
    return f"{table}.{key}"


def type_label(value: object) -> str:
    """A short name for the type of ``value`` (never the value itself: it may be sensitive)."""
    return type(value).__name__


def null_key(table: str, key: str) -> NoReturn:
    raise RoutingError(
        f"{column(table, key)} = NULL places no shard: every row of a sharded table needs a "
        f"value for {key}; give it one"
    )


def integral_decimal(value: Decimal) -> int | None:
    """``value`` as an int when it is a finite whole number, else ``None``."""
    if value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def hash_bytes(table: str, key: str, text: str) -> bytes:
    """``text`` encoded as UTF-8; a string with lone surrogates cannot be placed."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise RoutingError(
            f"{column(table, key)} is a string that is not valid Unicode (lone surrogate); "
            "it cannot be hashed to a shard"
        ) from None


# -- shards -------------------------------------------------------------------------------


def check_shard(table: str, shard: object, count: int) -> int:
    """``shard`` when it is one of ``0 .. count - 1``; else a RoutingError naming the range."""
    if isinstance(shard, int) and not isinstance(shard, bool) and 0 <= shard < count:
        return shard
    raise RoutingError(f"{table} has no shard {shard!r} (shards are 0..{count - 1})")


def numbered_table(logical: str, shard: ShardId) -> str:
    """``{logical}_{shard}``: the physical name of a numbered shard."""
    return f"{logical}_{shard}"


# -- construction -------------------------------------------------------------------------


class Problems:
    """Collects every problem in a strategy's parameters, then raises them together.

    Paths are those of the configuration file (``tables.<table>.<parameter>``) so a
    :class:`~tenantdb.errors.ConfigError` raised here reads like one from the config loader.
    """

    __slots__ = ("_items", "_table")

    def __init__(self, table: str) -> None:
        self._table = table
        self._items: list[ConfigProblem] = []

    def add(self, parameter: str, message: str) -> None:
        self._items.append(ConfigProblem(f"tables.{self._table}.{parameter}", message))

    def raise_if_any(self) -> None:
        if self._items:
            raise ConfigError(self._items)


def is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def datasource_names(problems: Problems, datasources: Iterable[str]) -> tuple[str, ...]:
    """``datasources`` as a tuple; records a problem if it is empty or repeats a name."""
    if isinstance(datasources, str):
        problems.add("datasources", "must be a list of datasource names, not one string")
        return (datasources,)
    names = tuple(datasources)
    if not names:
        problems.add("datasources", "must name at least one datasource")
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            problems.add("datasources", f"{name!r} is not a datasource name")
        elif name in seen:
            problems.add("datasources", f"lists {name!r} more than once")
        else:
            seen.add(name)
    return names


def check_key_type(problems: Problems, key_type: object, allowed: Sequence[str]) -> None:
    """Record a problem when ``key_type`` is set and not one the strategy can place."""
    if key_type is not None and key_type not in allowed:
        problems.add(
            "key_type",
            f"must be one of {', '.join(repr(k) for k in allowed)} for this strategy, "
            f"got {key_type!r}",
        )
