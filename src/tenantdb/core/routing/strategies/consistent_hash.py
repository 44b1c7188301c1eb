"""``consistent_hash``: a hash ring of virtual nodes picks the datasource of a key."""

from __future__ import annotations

import datetime
import hashlib
import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._base import (
    Problems,
    ShardId,
    check_key_type,
    check_shard,
    datasource_names,
    hash_bytes,
    is_count,
)
from ._keys import Backend, KeyType, hash_key_text


def ring_position(data: bytes) -> int:
    """Where ``data`` sits on the ring: ``blake2b(data, digest_size=8)`` as a big-endian u64."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


@dataclass(frozen=True, slots=True, init=False)
class ConsistentHashStrategy:
    """A ring of virtual nodes: the key's position picks the first node clockwise.

    Placement (a compatibility contract: applications may compute it themselves):

    - datasource ``d`` with weight ``w`` (default 1.0) owns ``round(virtual_nodes * w)``
      points, point ``n`` at ``ring_position(f"{d}#{n}".encode())`` for ``n = 0, 1, ...``;
    - a key sits at ``ring_position(str(key).encode("utf-8"))`` and belongs to the owner of
      the first point at or after that position, wrapping past the top to the lowest point
      (equal points: the datasource listed first wins);
    - ``ring_position(b) = int.from_bytes(hashlib.blake2b(b, digest_size=8).digest(), "big")``.

    Shard ``i`` is the datasource ``datasources[i]``; it holds the table under its logical
    name. Keys follow the same rules as ``hash_mod`` (``int``, ``str``, :class:`uuid.UUID`,
    integral :class:`~decimal.Decimal`; placed by the value the database compares, per the
    declared ``key_type``). Because existing points never move, adding a
    datasource moves only keys that now belong to it (about ``1/(n+1)`` of them); removing
    one moves only its own keys. Ranges cannot be pruned: ``shards_for_range`` returns
    ``None``.

    Raises :class:`~tenantdb.errors.ConfigError` (every problem, with its
    ``tables.<table>.<parameter>`` path) for invalid parameters.
    """

    table: str
    key: str
    datasources: tuple[str, ...]
    virtual_nodes: int
    # (datasource, weight) for every datasource, in ``datasources`` order.
    weights: tuple[tuple[str, float], ...]
    key_type: KeyType | None
    backend: Backend
    _points: tuple[int, ...] = field(repr=False, compare=False)
    _owners: tuple[int, ...] = field(repr=False, compare=False)

    def __init__(
        self,
        *,
        table: str,
        key: str,
        datasources: Sequence[str],
        virtual_nodes: int = 512,
        weights: Mapping[str, float] | None = None,
        key_type: KeyType | None = None,
        backend: Backend = None,
    ) -> None:
        problems = Problems(table)
        names = datasource_names(problems, datasources)
        check_key_type(problems, key_type, ("int", "text", "uuid"))
        if not is_count(virtual_nodes) or virtual_nodes < 1:
            problems.add("virtual_nodes", f"must be a positive integer, got {virtual_nodes!r}")
            virtual_nodes = 1
        given = dict(weights or {})
        for name in given:
            if name not in names:
                problems.add(f"weights.{name}", "is not one of the table's datasources")
        resolved: list[tuple[str, float]] = []
        for name in names:
            weight = given.get(name, 1.0)
            if (
                isinstance(weight, bool)
                or not isinstance(weight, int | float)
                or not math.isfinite(weight)
                or round(virtual_nodes * weight) < 1
            ):
                problems.add(
                    f"weights.{name}",
                    f"must be a positive number giving at least one virtual node, got {weight!r}",
                )
            else:
                resolved.append((name, float(weight)))
        problems.raise_if_any()
        ring = sorted(
            (ring_position(f"{name}#{n}".encode()), index)
            for index, (name, weight) in enumerate(resolved)
            for n in range(round(virtual_nodes * weight))
        )
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "datasources", names)
        object.__setattr__(self, "virtual_nodes", virtual_nodes)
        object.__setattr__(self, "weights", tuple(resolved))
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "backend", backend)
        object.__setattr__(self, "_points", tuple(position for position, _ in ring))
        object.__setattr__(self, "_owners", tuple(index for _, index in ring))

    @property
    def colocation_key(self) -> tuple[object, ...]:
        # The ring is a function of the names and of each one's point count, in this order.
        return (
            "consistent_hash",
            self.key_type,
            tuple((name, round(self.virtual_nodes * weight)) for name, weight in self.weights),
        )

    def shard_for(self, value: object) -> ShardId:
        text = hash_key_text(
            self.table,
            self.key,
            value,
            self.key_type,
            strategy="consistent_hash",
            backend=self.backend,
        )
        return self.owner_at(ring_position(hash_bytes(self.table, self.key, text)))

    def owner_at(self, position: int) -> ShardId:
        """The datasource index owning ring ``position`` (first point at or after it)."""
        i = bisect_left(self._points, position)
        return self._owners[i if i < len(self._points) else 0]

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
        return tuple(range(len(self.datasources)))

    def datasource_of(self, shard: ShardId) -> str:
        return self.datasources[check_shard(self.table, shard, len(self.datasources))]

    def physical_table(self, logical: str, shard: ShardId) -> str:
        check_shard(self.table, shard, len(self.datasources))
        return logical
