"""Numbered shards: shard ``i`` is table ``{table}_{i}`` on ``datasources[i % len]``.

Shared by ``mod``, ``hash_mod`` and ``range``, which differ only in how a key picks ``i``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ._base import (
    Problems,
    ShardId,
    check_key_type,
    check_shard,
    datasource_names,
    is_count,
    numbered_table,
)
from ._keys import Backend, KeyType


class NumberedShards:
    """Placement of numbered shards; subclasses provide ``table``, ``datasources``, ``shards``."""

    __slots__ = ()
    table: str
    datasources: tuple[str, ...]

    @property
    def shards(self) -> int:
        """How many shards there are (``0 .. shards - 1``)."""
        raise NotImplementedError

    def all_shards(self, today: datetime.date) -> tuple[ShardId, ...]:
        return tuple(range(self.shards))

    def datasource_of(self, shard: ShardId) -> str:
        i = check_shard(self.table, shard, self.shards)
        return self.datasources[i % len(self.datasources)]

    def physical_table(self, logical: str, shard: ShardId) -> str:
        return numbered_table(logical, check_shard(self.table, shard, self.shards))


@dataclass(frozen=True, slots=True, init=False)
class ModuloShards(NumberedShards):
    """A fixed number of numbered shards whose key order says nothing about placement."""

    table: str
    key: str
    shards: int
    datasources: tuple[str, ...]
    key_type: KeyType | None
    """How key values are read (``None``: undeclared); see :mod:`._keys`."""
    backend: Backend
    """The cluster's dialect, whose conversions of key strings placement follows."""

    KEY_TYPES: ClassVar[tuple[KeyType, ...]] = ("int", "text", "uuid")

    def __init__(
        self,
        *,
        table: str,
        key: str,
        shards: int,
        datasources: Sequence[str],
        key_type: KeyType | None = None,
        backend: Backend = None,
    ) -> None:
        problems = Problems(table)
        names = datasource_names(problems, datasources)
        if not is_count(shards) or shards < 1:
            problems.add("shards", f"must be a positive integer, got {shards!r}")
        check_key_type(problems, key_type, self.KEY_TYPES)
        problems.raise_if_any()
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "shards", shards)
        object.__setattr__(self, "datasources", names)
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "backend", backend)

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        # A range of keys maps to scattered shards: no pruning.
        return None
