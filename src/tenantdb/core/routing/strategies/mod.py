"""``mod``: an integer key picks shard ``key % shards``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._base import ShardId
from ._keys import KeyType, integer_key
from ._numbered import ModuloShards


@dataclass(frozen=True, slots=True, init=False)
class ModStrategy(ModuloShards):
    """Shard ``i = key % shards`` of an integer key.

    Placement (a compatibility contract: applications may compute it themselves):
    shard ``i = value % shards`` with Python's ``%`` (floor modulo: a negative key gets a
    shard in ``0 .. shards - 1``, ``-1 % 4 == 3``, where SQL's ``MOD`` would give ``-1``);
    physical table ``{table}_{i}`` on datasource ``datasources[i % len(datasources)]``.

    Keys must be ``int``, an integral :class:`~decimal.Decimal` or a string the databases
    all read as one integer (whitespace, a sign and decimal digits: ``'05'`` is placed as 5,
    as the database compares it); ``bool``, ``float`` and other strings (``'5.0'``,
    ``'abc'``, which the databases read differently) are refused. Ranges cannot be pruned:
    ``shards_for_range`` returns ``None``.

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    KEY_TYPES: ClassVar[tuple[KeyType, ...]] = ("int",)

    @property
    def colocation_key(self) -> tuple[object, ...]:
        return ("mod", self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        if type(value) is int:
            return value % self.shards
        number = integer_key(self.table, self.key, value, strategy="mod", backend=self.backend)
        return number % self.shards
