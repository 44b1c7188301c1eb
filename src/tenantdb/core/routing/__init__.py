"""Routing: placement strategies, the topology snapshot and the pure router → RoutePlan."""

from __future__ import annotations

from ._layout import SchemaLayout
from ._plan import MergePlan, Role, RoutePlan, Target
from ._round_trips import (
    STREAM_BATCH_ROWS,
    ReadMode,
    ReadRoundTrips,
    RoundTrip,
    plan_round_trips,
    read_mode,
    stream_batch_rows,
    with_round_trips,
)
from ._router import Params, Router, bind
from ._topology import PlacementKind, TablePlacement, Topology, quote_identifier

__all__ = [
    "MergePlan",
    "Params",
    "PlacementKind",
    "ReadMode",
    "ReadRoundTrips",
    "Role",
    "RoundTrip",
    "RoutePlan",
    "Router",
    "STREAM_BATCH_ROWS",
    "SchemaLayout",
    "TablePlacement",
    "Target",
    "Topology",
    "bind",
    "plan_round_trips",
    "quote_identifier",
    "read_mode",
    "stream_batch_rows",
    "with_round_trips",
]
