"""``MoveState``: where one online tenant move stands, as its durable move log records it.

A move goes through its phases in one order, and each phase is written to the move log
before its side effects start, so a mover killed at any point resumes from the log:

``planned`` → ``capturing`` (change capture installed on the source before any row is
copied, so every write from then on is recorded) → ``copying`` (keyset chunks by primary
key, the cursor of each table recorded after each chunk) → ``catching_up`` (the recorded
changes applied to the target, the applied position recorded) → ``verifying`` → ``frozen``
(the tenant's writes held in every process while the last changes are applied and the
changed keys verified) → ``cut_over`` (placement swapped in the registry) → ``cleaning``
(capture removed; the source's rows only on command or after the retention) → ``done``.

An abort before ``cut_over`` passes through ``aborting`` (everything the move created is
removed, the source stays authoritative and untouched) to ``aborted``; after the cut-over
the target is authoritative and an abort is refused (move the tenant back instead).

Everything here is pure: the shell reads a ``MoveState`` from the log, asks what to do
next (``next_step``), does it, and writes the state the step returns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Literal

Phase = Literal[
    "planned",
    "capturing",
    "copying",
    "catching_up",
    "verifying",
    "frozen",
    "cut_over",
    "cleaning",
    "done",
    "aborting",
    "aborted",
]

PHASES: tuple[Phase, ...] = (
    "planned",
    "capturing",
    "copying",
    "catching_up",
    "verifying",
    "frozen",
    "cut_over",
    "cleaning",
    "done",
)
"""The phases of a move that runs to its end, in order."""

ABORTABLE: frozenset[Phase] = frozenset(
    ("planned", "capturing", "copying", "catching_up", "verifying", "frozen", "aborting")
)
"""Phases an abort may start from: the source is still authoritative in each."""

FINISHED: frozenset[Phase] = frozenset(("done", "aborted"))


@dataclass(frozen=True, slots=True)
class TableCopy:
    """One physical table of the tenant: where it is read and written, and how far the
    copy has come (``after``: the last primary key copied, None before the first chunk)."""

    source: str
    target: str
    key: tuple[str, ...]
    after: tuple[object, ...] | None = None
    copied_rows: int = 0
    done: bool = False


@dataclass(frozen=True, slots=True)
class MoveState:
    """One move as its log holds it (see the module docstring)."""

    move_id: str
    tenant: str
    source: str
    target: str
    phase: Phase = "planned"
    tables: tuple[TableCopy, ...] = ()
    applied_change: int = 0
    """The highest change-capture sequence number applied to the target."""
    freeze_attempts: int = 0
    error: str | None = None
    history: tuple[tuple[Phase, float], ...] = field(default=())
    """Each phase entered, with the wall-clock time it was written."""

    def entering(self, phase: Phase, now: float) -> MoveState:
        """This state moved to ``phase`` at ``now``; refuses an order the move cannot take."""
        allowed = _NEXT.get(self.phase, frozenset())
        if phase not in allowed:
            raise ValueError(f"move {self.move_id}: cannot go from {self.phase} to {phase}")
        return replace(self, phase=phase, history=(*self.history, (phase, now)))

    def with_table(self, index: int, table: TableCopy) -> MoveState:
        tables = list(self.tables)
        tables[index] = table
        return replace(self, tables=tuple(tables))

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED

    @property
    def abortable(self) -> bool:
        return self.phase in ABORTABLE


def _successors() -> dict[Phase, frozenset[Phase]]:
    following: dict[Phase, frozenset[Phase]] = {}
    for before, after in itertools.pairwise(PHASES):
        following[before] = (
            frozenset((after, "aborting")) if before in ABORTABLE else frozenset((after,))
        )
    # A freeze that would last too long is abandoned: writes resume, catch-up goes on.
    following["frozen"] = frozenset(("cut_over", "catching_up", "aborting"))
    following["aborting"] = frozenset(("aborted",))
    return following


_NEXT = _successors()
