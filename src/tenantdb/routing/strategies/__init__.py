"""Placement strategies: where the rows of a sharded logical table live.

Each strategy is a pure, immutable value implementing :class:`Strategy`; the router asks it
for the shard of a key (:meth:`Strategy.shard_for`), the shards of a key range
(:meth:`Strategy.shards_for_range`), and where a shard lives (:meth:`Strategy.datasource_of`,
:meth:`Strategy.physical_table`). Placements are a compatibility contract: each class
documents its formula exactly, so applications can compute them outside tenantdb.
"""

from __future__ import annotations

from tenantdb.routing.strategies._base import ShardId, Strategy
from tenantdb.routing.strategies.consistent_hash import ConsistentHashStrategy
from tenantdb.routing.strategies.hash_mod import HashModStrategy
from tenantdb.routing.strategies.mod import ModStrategy
from tenantdb.routing.strategies.range import RangeStrategy
from tenantdb.routing.strategies.time_range import TimeRangeStrategy

__all__ = [
    "ConsistentHashStrategy",
    "HashModStrategy",
    "ModStrategy",
    "RangeStrategy",
    "ShardId",
    "Strategy",
    "TimeRangeStrategy",
]
