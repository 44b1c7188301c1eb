"""Online tenant moves, the pure part: a move's phases and the state its log records
(``MoveState``). The mover that does the I/O lives in ``tenantdb.admin``."""

from __future__ import annotations

from ._state import ABORTABLE, FINISHED, PHASES, MoveState, Phase, TableCopy

__all__ = ["ABORTABLE", "FINISHED", "PHASES", "MoveState", "Phase", "TableCopy"]
