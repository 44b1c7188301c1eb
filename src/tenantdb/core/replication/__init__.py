"""Read/write splitting: replica health, replica choice and write positions."""

from __future__ import annotations

from ._position import (
    decode_token,
    encode_token,
    format_pg_lsn,
    merge_positions,
    parse_pg_lsn,
)
from ._replica import ReplicaState, ReplicaStatus
from ._selector import ReplicaSelector, SelectionPolicy
from ._switch import DegradeSwitch

__all__ = [
    "DegradeSwitch",
    "ReplicaSelector",
    "ReplicaState",
    "ReplicaStatus",
    "SelectionPolicy",
    "decode_token",
    "encode_token",
    "format_pg_lsn",
    "merge_positions",
    "parse_pg_lsn",
]
