"""``hash_mod``: the CRC-32 of the key's text picks shard ``crc32 % shards``."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ._base import ShardId, hash_bytes
from ._keys import hash_key_text
from ._numbered import ModuloShards


@dataclass(frozen=True, slots=True, init=False)
class HashModStrategy(ModuloShards):
    """Shard ``i = zlib.crc32(str(key).encode("utf-8")) % shards``.

    Placement (a compatibility contract: applications may compute it themselves):
    shard ``i = zlib.crc32(str(value).encode("utf-8")) % shards``; physical table
    ``{table}_{i}`` on datasource ``datasources[i % len(datasources)]``. ``value`` is the
    key as the database compares it (see :mod:`._keys`): with ``key_type = "int"`` the
    string ``'05'`` is placed as 5; with ``"uuid"`` any spelling of a UUID is placed as its
    lowercase hyphenated form; with ``"text"`` strings are hashed verbatim. Without a
    declared key type, a string whose placement would depend on the column's type
    (``'05'``, an upper-case UUID; on MariaDB every string but a canonical integer) is
    refused.

    Keys may be ``int``, ``str``, :class:`uuid.UUID` (hashed as ``str(uuid)``, the lowercase
    hyphenated form) or an integral :class:`~decimal.Decimal` (hashed as the int it equals).
    ``None``, ``bool``, ``float``, ``bytes`` and other types are refused. Text keys are
    hashed verbatim: ``"ACME"`` and ``"acme"`` are different keys, whatever the column's
    collation says. Ranges cannot be pruned: ``shards_for_range`` returns ``None``.

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    @property
    def colocation_key(self) -> tuple[object, ...]:
        # The key type decides how '05' is placed, so it is part of where keys live.
        return ("hash_mod", self.key_type, self.shards, self.datasources)

    def shard_for(self, value: object) -> ShardId:
        # An exact int is the common key: place it without the general checks.
        if type(value) is int and self.key_type in (None, "int"):
            return zlib.crc32(int.__repr__(value).encode()) % self.shards
        text = hash_key_text(
            self.table, self.key, value, self.key_type, strategy="hash_mod", backend=self.backend
        )
        return zlib.crc32(hash_bytes(self.table, self.key, text)) % self.shards
