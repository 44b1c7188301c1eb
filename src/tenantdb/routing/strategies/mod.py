"""``mod``: an integer key picks shard ``key % shards``."""

from __future__ import annotations

from dataclasses import dataclass

from tenantdb.routing.strategies._base import (
    ShardId,
    integer_key,
)
from tenantdb.routing.strategies._numbered import ModuloShards


@dataclass(frozen=True, slots=True, init=False)
class ModStrategy(ModuloShards):
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

    @property
    def colocation_key(self) -> tuple[object, ...]:
        return ("mod", self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        return integer_key(self.table, self.key, value, strategy="mod") % self.shards
