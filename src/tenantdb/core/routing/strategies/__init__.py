"""Placement strategies: where the rows of a sharded logical table live.

Each strategy is a pure, immutable value implementing :class:`Strategy`; the router asks it
for the shard of a key (:meth:`Strategy.shard_for`), the shards of a key range
(:meth:`Strategy.shards_for_range`), and where a shard lives (:meth:`Strategy.datasource_of`,
:meth:`Strategy.physical_table`). Placements are a compatibility contract: each class
documents its formula exactly, so applications can compute them outside tenantdb.
"""

from __future__ import annotations

from ._base import ShardId, Strategy
from .consistent_hash import ConsistentHashStrategy
from .hash_mod import HashModStrategy
from .mod import ModStrategy
from .range import RangeStrategy
from .time_range import TimeRangeStrategy

__all__ = [
    "ConsistentHashStrategy",
    "HashModStrategy",
    "ModStrategy",
    "RangeStrategy",
    "ShardId",
    "Strategy",
    "TimeRangeStrategy",
]
