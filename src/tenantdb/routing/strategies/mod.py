"""``mod``: an integer key picks shard ``key % shards``."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from tenantdb.routing.strategies._base import (
    Problems,
    ShardId,
    check_shard,
    datasource_names,
    integer_key,
    is_count,
    numbered_table,
)


@dataclass(frozen=True, slots=True, init=False)
class ModStrategy:
    """Shard ``i = key % shards`` of an integer key.

    Placement (a compatibility contract: applications may compute it themselves):
    shard ``i = value % shards`` with Python's ``%`` (floor modulo: a negative key gets a
    shard in ``0 .. shards - 1``, ``-1 % 4 == 3``, where SQL's ``MOD`` would give ``-1``);
    physical table ``{table}_{i}`` on datasource ``datasources[i % len(datasources)]``.

    Keys must be ``int`` or an integral :class:`~decimal.Decimal`; ``bool``, ``float`` and
    strings of digits are refused. Ranges cannot be pruned: ``shards_for_range`` returns
    ``None``.

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    table: str
    key: str
    shards: int
    datasources: tuple[str, ...]

    def __init__(self, *, table: str, key: str, shards: int, datasources: Sequence[str]) -> None:
        problems = Problems(table)
        names = datasource_names(problems, datasources)
        if not is_count(shards) or shards < 1:
            problems.add("shards", f"must be a positive integer, got {shards!r}")
        problems.raise_if_any()
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "shards", shards)
        object.__setattr__(self, "datasources", names)

    @property
    def colocation_key(self) -> tuple[object, ...]:
        return ("mod", self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        return integer_key(self.table, self.key, value, strategy="mod") % self.shards

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        # A range of keys maps to scattered residues: no pruning.
        return None

    def all_shards(self, today: datetime.date) -> tuple[ShardId, ...]:
        return tuple(range(self.shards))

    def datasource_of(self, shard: ShardId) -> str:
        i = check_shard(self.table, shard, self.shards)
        return self.datasources[i % len(self.datasources)]

    def physical_table(self, logical: str, shard: ShardId) -> str:
        return numbered_table(logical, check_shard(self.table, shard, self.shards))
