"""``MoveState``: where one online tenant move stands, as its durable move log records it.

A move goes through its phases in one order, and each phase is written to the move log
before its side effects start, so a mover killed at any point resumes from the log:

``planned`` (the plan recorded, then, for a tenant with a schema or database of its own,
the schema and tables the target lacks made there: ``MovedTable.create``) →
``capturing`` (change capture installed on the source before any row is
copied, so every write from then on is recorded) → ``copying`` (keyset chunks by primary
key, the cursor of each table recorded after each chunk) → ``catching_up`` (the recorded
changes applied to the target, the applied position recorded) → ``verifying`` → ``frozen``
→ ``cut_over`` (placement swapped in the registry) → ``cleaning`` (capture removed, the
fence kept; the source's rows wait for the cleanup, on command or after a retention period)
→ ``unfencing`` (the source's rows deleted through the fence, which now comes down) →
``done``. The fence stays up until the rows are gone, so a process that still places the
tenant on the source gets a retryable error rather than writing there, and no write can
land between the fence going down and the delete (MariaDB's DDL commits on its own).

The freeze, in order: the tenant's status becomes ``moving`` (every process holds the
tenant's new writes, reads go on); the source is fenced (``Capture.fence``: the database
itself refuses the tenant's writes, whoever sends them, so a process that has not seen the
status yet fails with a retryable error instead of writing), which also waits until every
transaction that wrote to the tenant's tables before has ended (one that wrote before the
fence and committed later would otherwise land after the final catch-up); then the last
changes are applied and the keys changed since the verify are verified again.
Only then is the placement swapped. A freeze that would last longer than its limit is
abandoned: fence dropped, status back to active, catch-up goes on.

An abort before ``cut_over`` passes through ``aborting`` (everything the move created is
removed: its rows on the target, the tables and schema it made there, the capture and fence
on the source; the source stays authoritative and untouched) to ``aborted``; after the cut-over
the target is authoritative and an abort is refused (move the tenant back instead).

Everything here is pure: the mover reads a ``MoveState`` from the log, does the work of its
phase and writes the state that follows before the next side effect.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ...config import Isolation
from ..verify import decode_key, encode_key

Phase = Literal[
    "planned",
    "capturing",
    "copying",
    "catching_up",
    "verifying",
    "frozen",
    "cut_over",
    "cleaning",
    "unfencing",
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
    "unfencing",
    "done",
)
"""The phases of a move that runs to its end, in order."""

ABORTABLE: frozenset[Phase] = frozenset(
    ("planned", "capturing", "copying", "catching_up", "verifying", "frozen", "aborting")
)
"""Phases an abort may start from: the source is still authoritative in each."""

FINISHED: frozenset[Phase] = frozenset(("done", "aborted"))


@dataclass(frozen=True, slots=True)
class MovedTable:
    """One physical table of the tenant: where it is read and written (``schema`` None:
    the datasource's default), its columns (``key`` first), and how far the move has come
    with it."""

    source: str
    target: str
    key: tuple[str, ...]
    columns: tuple[str, ...] = ()
    source_schema: str | None = None
    target_schema: str | None = None
    after: tuple[object, ...] | None = None
    """The last primary key copied; None before the first chunk."""
    copied_rows: int = 0
    done: bool = False
    """Every row the source had when the copy reached it is copied."""
    applied: int = 0
    """Catch-up rounds applied to the target: the change table marks each change with the
    round that applied it (``Capture.mark``)."""
    verified_from: int = 0
    """The round when the last full verify started: keys with a change waiting or applied
    after it are verified again during the freeze."""
    create: tuple[str, ...] = ()
    """The statements that make the table on the target, read from the source's definition
    when the plan found it missing there (empty: the target had it). A table the move
    creates is dropped again by an abort; one it found is only emptied."""

    @property
    def created_by_move(self) -> bool:
        return bool(self.create)


@dataclass(frozen=True, slots=True)
class MoveState:
    """One move as its log holds it (see the module docstring)."""

    move_id: str
    tenant: str
    source: str
    target: str
    phase: Phase = "planned"
    tables: tuple[MovedTable, ...] = ()
    tenant_column: str | None = None
    """The column that selects the tenant's rows of shared tables; None: its own tables."""
    isolation: Isolation = "shared"
    """The tenant's isolation: ``shared`` (its rows of the shared tables, chosen by
    ``tenant_column``), ``schema`` (every row of its schema's tables: ``source_schema`` on
    the source, ``target_schema`` on the target) or ``database`` (every row of the
    ``tenant`` tables of the datasource it owns)."""
    source_schema: str | None = None
    target_schema: str | None = None
    creates_schema: bool = False
    """The plan found no ``target_schema`` on the target: the move creates it, and an abort
    drops it again (only when nothing else was put in it meanwhile)."""
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

    def with_table(self, index: int, table: MovedTable) -> MoveState:
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
    # A freeze that would last too long is abandoned, and a verify that finds differences
    # the captured changes do not explain sends the move back: catch-up goes on.
    following["verifying"] = frozenset(("frozen", "catching_up", "aborting"))
    following["frozen"] = frozenset(("cut_over", "catching_up", "aborting"))
    following["aborting"] = frozenset(("aborted",))
    return following


_NEXT = _successors()


# -- the log's record ----------------------------------------------------------------------

RECORD_FORMAT = 2
"""Bumped when the record's shape changes; a mover refuses a log it does not know. Format
1 (before isolations other than ``shared`` moved) is read as a shared tenant's move."""
_READABLE_FORMATS = frozenset((1, RECORD_FORMAT))


def state_to_record(state: MoveState) -> dict[str, Any]:
    """``state`` as a JSON-ready dict (primary-key values tagged with their type, so a
    resumed copy continues after exactly the key it stopped at)."""
    return {
        "format": RECORD_FORMAT,
        "move_id": state.move_id,
        "tenant": state.tenant,
        "source": state.source,
        "target": state.target,
        "phase": state.phase,
        "tables": [
            {
                "source": t.source,
                "target": t.target,
                "key": list(t.key),
                "columns": list(t.columns),
                "source_schema": t.source_schema,
                "target_schema": t.target_schema,
                "after": None if t.after is None else encode_key(t.after),
                "copied_rows": t.copied_rows,
                "done": t.done,
                "applied": t.applied,
                "verified_from": t.verified_from,
                "create": list(t.create),
            }
            for t in state.tables
        ],
        "tenant_column": state.tenant_column,
        "isolation": state.isolation,
        "source_schema": state.source_schema,
        "target_schema": state.target_schema,
        "creates_schema": state.creates_schema,
        "freeze_attempts": state.freeze_attempts,
        "error": state.error,
        "history": [[phase, at] for phase, at in state.history],
    }


def state_from_record(record: Mapping[str, Any]) -> MoveState:
    """The state ``state_to_record`` wrote; ValueError naming what is wrong otherwise."""
    if record.get("format") not in _READABLE_FORMATS:
        raise ValueError(
            f"move log record format {record.get('format')!r} is not {RECORD_FORMAT}: it was"
            " written by another tenantdb version; finish or abort the move with that version"
        )
    try:
        phase = _phase(record["phase"])
        tables = tuple(
            MovedTable(
                source=str(t["source"]),
                target=str(t["target"]),
                key=tuple(str(k) for k in t["key"]),
                columns=tuple(str(c) for c in t["columns"]),
                source_schema=_optional_text(t["source_schema"]),
                target_schema=_optional_text(t["target_schema"]),
                after=None if t["after"] is None else decode_key(t["after"]),
                copied_rows=int(t["copied_rows"]),
                done=bool(t["done"]),
                applied=int(t["applied"]),
                verified_from=int(t["verified_from"]),
                create=tuple(str(c) for c in t.get("create", ())),
            )
            for t in record["tables"]
        )
        history = tuple((_phase(p), float(at)) for p, at in record["history"])
        return MoveState(
            move_id=str(record["move_id"]),
            tenant=str(record["tenant"]),
            source=str(record["source"]),
            target=str(record["target"]),
            phase=phase,
            tables=tables,
            tenant_column=_optional_text(record["tenant_column"]),
            isolation=_isolation(record.get("isolation", "shared")),
            source_schema=_optional_text(record.get("source_schema")),
            target_schema=_optional_text(record.get("target_schema")),
            creates_schema=bool(record.get("creates_schema", False)),
            freeze_attempts=int(record["freeze_attempts"]),
            error=record["error"],
            history=history,
        )
    except (KeyError, TypeError, ValueError) as exc:  # decode_key's ValueError included
        raise ValueError(f"malformed move log record: {exc!r}") from exc


_ALL_PHASES: frozenset[str] = frozenset((*PHASES, "aborting", "aborted"))


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _isolation(value: object) -> Isolation:
    if value not in ("shared", "schema", "database"):
        raise ValueError(f"unknown isolation {value!r}")
    return value


def _phase(value: object) -> Phase:
    if value not in _ALL_PHASES:
        raise ValueError(f"unknown phase {value!r}")
    return value  # type: ignore[return-value]
