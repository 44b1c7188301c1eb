"""``MoveLog``: where online tenant moves record their state, on a datasource's primary.

One table, ``tenantdb_moves``, on the primary of the move's target datasource (the move
writes there anyway, and a datasource of the same kind as the source holds it): a row per
move with its state as JSON (``core.moves.state_to_record``) and a revision. Every write
names the revision it read, so of two movers resuming the same move only one goes on; the
other gets ``MoveConflictError``. A row is written before each phase's side effects start
(see ``core.moves``), which is what lets a killed mover resume.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from .._sync import Session
from ..core.moves import MoveState, state_from_record, state_to_record
from ..core.sql import ObjectName
from ..errors import IntegrityError, OperationalError
from ._catalog import catalog_for, query_on

TABLE = "tenantdb_moves"

_CREATE = {
    "postgres": (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (move_id varchar(64) PRIMARY KEY,"
        " tenant varchar(255) NOT NULL, revision bigint NOT NULL, state text NOT NULL)"
    ),
    "mysql": (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (move_id varchar(64) PRIMARY KEY,"
        " tenant varchar(255) NOT NULL, revision bigint NOT NULL, state longtext NOT NULL)"
    ),
    "sqlite": (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (move_id TEXT PRIMARY KEY,"
        " tenant TEXT NOT NULL, revision INTEGER NOT NULL, state TEXT NOT NULL)"
    ),
}


class MoveConflictError(OperationalError):
    """Another mover wrote the move's log since this one read it: only one may run a move."""


class MoveLog:
    """The move log on the primary of ``datasource``, read and written through ``session``
    (an admin session; each write commits on its own unless the session is in a
    transaction)."""

    def __init__(self, session: Session, datasource: str, dialect: str) -> None:
        self._run: Callable[[str, Sequence[object]], Any] = lambda sql, params: session.execute_on(
            datasource, sql, params
        )
        self._query = query_on(session, datasource)
        self._dialect = dialect
        self.datasource = datasource

    def exists(self) -> bool:
        """Whether the datasource has a move log (a move was ever recorded there)."""
        catalog = catalog_for(self._dialect)
        return catalog.table_exists(self._query, ObjectName(TABLE))

    def ensure(self) -> None:
        """Create the table where it does not exist yet."""
        self._run(_CREATE[self._dialect], ())

    def read(self, move_id: str) -> tuple[MoveState, int] | None:
        """The move's state and revision, or None when the log has no such move."""
        rows = self._run(
            f"SELECT state, revision FROM {TABLE} WHERE move_id = %s", (move_id,)
        ).fetchall()
        if not rows:
            return None
        state, revision = rows[0]
        return state_from_record(json.loads(state)), int(revision)

    def of_tenant(self, tenant: str) -> list[tuple[MoveState, int]]:
        """Every move of ``tenant`` the log holds, oldest first."""
        rows = self._run(
            f"SELECT state, revision FROM {TABLE} WHERE tenant = %s ORDER BY move_id", (tenant,)
        ).fetchall()
        return [(state_from_record(json.loads(state)), int(revision)) for state, revision in rows]

    def create(self, state: MoveState) -> int:
        """Record a new move; its revision (1). MoveConflictError when the id is taken."""
        try:
            self._run(
                f"INSERT INTO {TABLE} (move_id, tenant, revision, state) VALUES (%s, %s, 1, %s)",
                (state.move_id, state.tenant, json.dumps(state_to_record(state))),
            )
        except IntegrityError as exc:
            raise MoveConflictError(
                f"move {state.move_id} is already in the log on {self.datasource}: resume it"
            ) from exc
        return 1

    def write(self, state: MoveState, revision: int) -> int:
        """Replace the move's state read at ``revision``; the new revision.
        MoveConflictError when another mover wrote it in between."""
        result = self._run(
            f"UPDATE {TABLE} SET state = %s, revision = %s WHERE move_id = %s AND revision = %s",
            (json.dumps(state_to_record(state)), revision + 1, state.move_id, revision),
        )
        if result.rowcount != 1:
            raise MoveConflictError(
                f"move {state.move_id} of tenant {state.tenant!r} was written by another mover"
                f" since revision {revision}: only one mover may run it; check `tenantdb"
                " move-tenant --status`"
            )
        return revision + 1

    def forget(self, move_id: str) -> None:
        """Remove a finished move's row."""
        self._run(f"DELETE FROM {TABLE} WHERE move_id = %s", (move_id,))
