"""``hash_mod``: the CRC-32 of the key's text picks shard ``crc32 % shards``."""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from tenantdb.routing.strategies._base import (
    Problems,
    ShardId,
    check_shard,
    datasource_names,
    hash_bytes,
    hash_text,
    is_count,
    numbered_table,
)


@dataclass(frozen=True, slots=True, init=False)
class HashModStrategy:
    """Shard ``i = zlib.crc32(str(key).encode("utf-8")) % shards``.

    Placement (a compatibility contract: applications may compute it themselves):
    shard ``i = zlib.crc32(str(value).encode("utf-8")) % shards``; physical table
    ``{table}_{i}`` on datasource ``datasources[i % len(datasources)]``.

    Keys may be ``int``, ``str``, :class:`uuid.UUID` (hashed as ``str(uuid)``, the lowercase
    hyphenated form) or an integral :class:`~decimal.Decimal` (hashed as the int it equals).
    ``None``, ``bool``, ``float``, ``bytes`` and other types are refused. Strings are hashed
    verbatim: ``"ACME"`` and ``"acme"`` (or an upper-case UUID string) are different keys,
    whatever the column's collation says. Ranges cannot be pruned: ``shards_for_range``
    returns ``None``.

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
        return ("hash_mod", self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        text = hash_text(self.table, self.key, value, strategy="hash_mod")
        return zlib.crc32(hash_bytes(self.table, self.key, text)) % self.shards

    def shards_for_range(
        self,
        low: object | None,
        low_inclusive: bool,
        high: object | None,
        high_inclusive: bool,
        *,
        today: datetime.date,
    ) -> tuple[ShardId, ...] | None:
        # Hashing destroys order: no pruning.
        return None

    def all_shards(self, today: datetime.date) -> tuple[ShardId, ...]:
        return tuple(range(self.shards))

    def datasource_of(self, shard: ShardId) -> str:
        i = check_shard(self.table, shard, self.shards)
        return self.datasources[i % len(self.datasources)]

    def physical_table(self, logical: str, shard: ShardId) -> str:
        return numbered_table(logical, check_shard(self.table, shard, self.shards))
