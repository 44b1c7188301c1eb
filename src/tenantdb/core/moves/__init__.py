"""Online tenant moves, the pure part: a move's phases and the state its log records
(``MoveState``, kept as a JSON-ready record), and the change capture it installs on the
source (``Capture``: triggers and change tables, as SQL). The mover, which does the I/O,
lives in ``tenantdb.admin``."""

from __future__ import annotations

from ._capture import MOVED_MESSAGE, PREFIX, Capture, capture_for
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
    "MOVED_MESSAGE",
    "PHASES",
    "PREFIX",
    "Capture",
    "MoveState",
    "Phase",
    "TableCopy",
    "capture_for",
    "state_from_record",
    "state_to_record",
]
