"""``hash_mod``: the CRC-32 of the key's text picks shard ``crc32 % shards``."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from tenantdb.routing.strategies._base import (
    ShardId,
    hash_bytes,
    hash_text,
)
from tenantdb.routing.strategies._numbered import ModuloShards


@dataclass(frozen=True, slots=True, init=False)
class HashModStrategy(ModuloShards):
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

    @property
    def colocation_key(self) -> tuple[object, ...]:
        return ("hash_mod", self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        # Exact int and str are the common keys: place them without the general checks.
        kind = type(value)
        if kind is int:
            return zlib.crc32(int.__repr__(value).encode()) % self.shards
        if kind is str and str.isascii(value):  # type: ignore[arg-type]
            return zlib.crc32(str.encode(value)) % self.shards  # type: ignore[arg-type]
        text = hash_text(self.table, self.key, value, strategy="hash_mod")
        return zlib.crc32(hash_bytes(self.table, self.key, text)) % self.shards
