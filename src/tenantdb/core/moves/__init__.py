"""Online tenant moves, the pure part: a move's phases and the state its log records
(``MoveState``, kept as a JSON-ready record). The mover, which does the I/O, lives in
``tenantdb.admin``."""

from __future__ import annotations

from ._state import (
    ABORTABLE,
    FINISHED,
    PHASES,
    MoveState,
    Phase,
    TableCopy,
    state_from_record,
    state_to_record,
)

__all__ = [
    "ABORTABLE",
    "FINISHED",
    "PHASES",
    "MoveState",
    "Phase",
    "TableCopy",
    "state_from_record",
    "state_to_record",
]
