"""Routing: placement strategies, the topology snapshot and the pure router → RoutePlan."""

from __future__ import annotations

from ._layout import SchemaLayout
from ._plan import MergePlan, Role, RoutePlan, Target
from ._router import Params, Router, bind
from ._topology import PlacementKind, TablePlacement, Topology, quote_identifier

__all__ = [
    "MergePlan",
    "Params",
    "PlacementKind",
    "Role",
    "RoutePlan",
    "Router",
    "SchemaLayout",
    "TablePlacement",
    "Target",
    "Topology",
    "bind",
    "quote_identifier",
]
