"""Read/write splitting: replica health, replica choice and write positions."""

from __future__ import annotations

from ._gtid import GtidPosition, write_gtid
from ._position import (
    Position,
    decode_token,
    encode_token,
    format_pg_lsn,
    later,
    merge_positions,
    parse_pg_lsn,
    position_text,
    reached,
)
from ._replica import ReplicaState, ReplicaStatus
from ._selector import ReplicaSelector, SelectionPolicy
from ._switch import DegradeSwitch

__all__ = [
    "DegradeSwitch",
    "GtidPosition",
    "Position",
    "ReplicaSelector",
    "ReplicaState",
    "ReplicaStatus",
    "SelectionPolicy",
    "decode_token",
    "encode_token",
    "format_pg_lsn",
    "later",
    "merge_positions",
    "parse_pg_lsn",
    "position_text",
    "reached",
    "write_gtid",
]
