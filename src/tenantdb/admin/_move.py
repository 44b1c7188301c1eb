"""``move_tenant``: move a tenant's rows to another datasource while it keeps working.

The phases and why each is safe to repeat are in ``tenantdb.core.moves``; this module does
their I/O through one admin session: ``execute_on`` on the source's and the target's
primaries, the move log (``MoveLog``) on the target, and the tenant registry for the
freeze (status ``moving``) and the cut-over (the new placement); on PostgreSQL the copy
goes by ``COPY``, reading each next chunk ahead on a second session (``_move_copy``).
Every phase is written to the log before its side effects start, and every step that
writes the target commits together with the log row that records it, so a mover killed
anywhere is resumed by ``resume_move`` from the log and does nothing twice that matters.

What moves, by the tenant's isolation (``_move_places`` has the details): a ``shared``
tenant's rows of every ``tenant`` table, chosen by the tenant column, into the target's
tables, which must exist already (``tenantdb ddl`` creates them on every datasource) and
hold no row of the tenant; a ``schema`` tenant's tables (PostgreSQL, MariaDB/MySQL) into
the same schema on the target (or one of another name: ``start_move(schema=...)``); a
``database`` tenant's tables to a datasource no other tenant is placed on. For the last
two, the schema and tables the target lacks are made there from the source's definitions
(an abort drops them again), a table found there must be empty, and the cleanup drops the
source's schema and tables (schema) or empties its tables (database). Moves run between
datasources of one cluster, so always of one backend kind (one dialect per cluster):
there is no move between PostgreSQL and MariaDB, say, since rows, types and the capture's
triggers are each server's own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._sync import Session
from ..core.moves import (
    Capture,
    MovedTable,
    MoveState,
    Phase,
    capture_for,
    delete_by_key,
    page_as_arrays,
    rows_per_statement,
    upsert,
    upsert_arrays,
)
from ..core.routing import quote_identifier
from ..core.verify import ChunkDiff, ChunkSizer, LagThrottle, TableShape
from ..errors import IntegrityError, OperationalError, ProgrammingError
from ._catalog import query_on
from ._move_copy import Chunk, ChunkPrefetch, CopyPlanner
from ._move_log import MoveLog
from ._move_places import (
    check_target_free,
    drop_source_schema,
    drop_source_table,
    placement,
    plan_place,
    prepare_target,
    undo_target,
)
from ._verify import TableCopy, verify_copies, verify_keys
from ._view import ClusterView, admin_session

MoveListener = Callable[[str, MoveState], None]
"""Told each step a move takes (``"chunk written"``, ``"phase catching_up"``, ...) with the
state as it stands; a progress display, or a test that stops the mover at a point."""


@dataclass(frozen=True, slots=True)
class MoveSettings:
    """How a move runs. ``freeze_limit_s``: the longest the tenant's writes may be held;
    a freeze that would last longer is abandoned and tried again. ``backlog`` changes or
    fewer left to apply start the verify and then the freeze. ``chunk_rows``: rows of the
    first copied chunk; ``chunk_s``: the time a chunk should take, the sizes of the next
    ones adapting to it (None: every chunk holds ``chunk_rows``)."""

    freeze_limit_s: float = 5.0
    backlog: int = 100
    chunk_rows: int = 1000
    chunk_s: float | None = 0.5
    change_batch: int = 500
    max_freezes: int = 10
    max_verifies: int = 10
    """Full verifies in one run that may find differences no recorded change explains
    before the move stops (the copies diverged some other way: see the error)."""
    lag_give_up_s: float = 600.0
    """Longest the copy waits for the source's replicas to come back within their
    ``max_replication_lag`` before it stops (the move stays resumable)."""

    def sizer(self) -> ChunkSizer:
        """The copy's chunk sizes: starting at ``chunk_rows`` and adapted so that a chunk
        (read, write and commit) takes about ``chunk_s``; ``chunk_s`` None keeps
        ``chunk_rows`` for every chunk."""
        if self.chunk_rows < 1:
            raise ProgrammingError(f"chunk_rows must be at least 1, not {self.chunk_rows}")
        if self.chunk_s is None:
            return ChunkSizer.fixed(self.chunk_rows)
        if self.chunk_s <= 0:
            raise ProgrammingError(f"chunk_s must be positive (or None), not {self.chunk_s}")
        bounds = ChunkSizer()  # the default bounds, widened to take chunk_rows
        low = min(self.chunk_rows, bounds.min_rows)
        high = max(self.chunk_rows, bounds.max_rows)
        return ChunkSizer(rows=self.chunk_rows, target_s=self.chunk_s, min_rows=low, max_rows=high)


def start_move(
    view: ClusterView,
    tenant_id: str,
    target: str,
    *,
    schema: str | None = None,
    settings: MoveSettings = MoveSettings(),
    on_step: MoveListener | None = None,
) -> MoveState:
    """Plan a move of ``tenant_id`` to datasource ``target``, record it, and run it to its
    cut-over (``cleaning``: the tenant is served from ``target``; the source's rows wait
    for ``cleanup_move``). ``schema``: for a schema-isolated tenant, the schema it gets
    on the target (default: its own name; another name is needed between two datasources
    of one MariaDB/MySQL server, where a schema is one database for both). Raises
    ProgrammingError / NotSupportedError naming what to change when the move cannot
    start; a failure later leaves the move in the log, to ``resume_move`` or
    ``abort_move``."""
    with admin_session(view) as session:
        state = _plan(view, session, tenant_id, target, schema)
        log = MoveLog(session, target, view.config.dialect)
        log.ensure()
        revision = log.create(state)
        return _Mover(view, session, log, state, revision, settings, on_step).run()


def resume_move(
    view: ClusterView,
    tenant_id: str,
    *,
    settings: MoveSettings = MoveSettings(),
    on_step: MoveListener | None = None,
) -> MoveState:
    """Run the tenant's unfinished move on from where its log says it stopped."""
    with admin_session(view) as session:
        log, state, revision = _unfinished(view, session, tenant_id)
        return _Mover(view, session, log, state, revision, settings, on_step).run()


def abort_move(view: ClusterView, tenant_id: str) -> MoveState:
    """Abort the tenant's unfinished move before its cut-over: the source stays
    authoritative and untouched, and everything the move made is removed (its rows on the
    target, the capture and fence on the source). Refused after the cut-over."""
    with admin_session(view) as session:
        log, state, revision = _unfinished(view, session, tenant_id)
        mover = _Mover(view, session, log, state, revision, MoveSettings(), None)
        return mover.abort()


def cleanup_move(
    view: ClusterView,
    tenant_id: str,
    *,
    force: bool = False,
    on_step: MoveListener | None = None,
) -> MoveState:
    """Finish a move after its cut-over: delete the tenant's rows from the source, then
    remove the fence that refuses writes there (in that order, so no write lands between).

    Refused (ProgrammingError, saying how long is left) until ``[moves] cleanup_wait``
    has passed since the cut-over, unless ``force``: a process that has not applied the new
    placement yet reads the source, and once the fence is down would write there too. A
    cleanup killed half-way is run again the same way."""
    with admin_session(view) as session:
        log, state, revision = _unfinished(view, session, tenant_id)
        if state.phase not in ("cleaning", "unfencing"):
            raise ProgrammingError(
                f"move {state.move_id} of tenant {tenant_id!r} is {state.phase}, not waiting"
                " for its cleanup; resume it first"
            )
        left = cleanup_due(state, view.config.moves.cleanup_wait) - time.time()
        if state.phase == "cleaning" and left > 0 and not force:
            raise ProgrammingError(
                f"move {state.move_id} cut over less than [moves] cleanup_wait"
                f" ({view.config.moves.cleanup_wait:g} s) ago: processes that have not applied"
                f" the new placement still use {state.source}. Clean up in {left:.0f} s, or"
                " force it (--force) once you know every process has the new placement"
            )
        mover = _Mover(view, session, log, state, revision, MoveSettings(), on_step)
        return mover.cleanup()


def cleanup_later(
    view: ClusterView,
    state: MoveState,
    after_s: float,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> MoveState:
    """Wait until ``after_s`` has passed since the cut-over of ``state``'s move, then
    clean it up (``cleanup_move``; the caller chose the wait, which may be shorter than
    ``[moves] cleanup_wait``). ``sleep`` waits at most a second at a time: a caller that
    can be stopped makes it raise."""
    due = cleanup_due(state, after_s)
    while (left := due - time.time()) > 0:
        sleep(min(left, 1.0))
    return cleanup_move(view, state.tenant, force=True)


def cleanup_due(state: MoveState, wait_s: float) -> float:
    """When (epoch seconds) the cleanup of ``state``'s move may start: ``wait_s`` after
    its cut-over."""
    cut_over = max((at for phase, at in state.history if phase == "cleaning"), default=None)
    if cut_over is None:
        raise ProgrammingError(f"move {state.move_id} has not cut over yet")
    return cut_over + wait_s


def move_status(view: ClusterView, tenant_id: str) -> list[MoveState]:
    """Every move of the tenant recorded on any datasource, oldest first."""
    found: list[MoveState] = []
    with admin_session(view) as session:
        for datasource in view.config.datasources:
            log = MoveLog(session, datasource, view.config.dialect)
            if not log.exists():
                continue
            found += [state for state, _ in log.of_tenant(tenant_id)]
    return sorted(found, key=lambda s: s.history[0][1] if s.history else 0.0)


# -- planning ------------------------------------------------------------------------------


def _plan(
    view: ClusterView, session: Session, tenant_id: str, target: str, schema: str | None
) -> MoveState:
    config = view.config
    tenant = view.tenants.get(tenant_id)
    if target not in config.datasources:
        raise ProgrammingError(
            f"no datasource {target!r} to move tenant {tenant_id!r} to; configured: "
            + ", ".join(config.datasources)
        )
    if tenant.datasource == target:
        raise ProgrammingError(f"tenant {tenant_id!r} is on {target} already")
    if tenant.status != "active":
        raise ProgrammingError(
            f"tenant {tenant_id!r} is {tenant.status}: only an active tenant can be moved"
        )
    if tenant.datasource is None:
        raise ProgrammingError(f"tenant {tenant_id!r} has no datasource to move from")
    for state in move_status(view, tenant_id):
        if not state.finished and state.phase not in ("cleaning", "unfencing"):
            raise ProgrammingError(
                f"tenant {tenant_id!r} has an unfinished move ({state.move_id}, {state.phase});"
                " resume or abort it first"
            )
    place = plan_place(view, session, tenant, target, schema=schema)
    return MoveState(
        move_id=secrets.token_hex(4),
        tenant=tenant_id,
        source=tenant.datasource,
        target=target,
        tables=place.tables,
        tenant_column=place.tenant_column,
        isolation=place.isolation,
        source_schema=place.source_schema,
        target_schema=place.target_schema,
        creates_schema=place.creates_schema,
        history=(("planned", time.time()),),
    )


def _unfinished(
    view: ClusterView, session: Session, tenant_id: str
) -> tuple[MoveLog, MoveState, int]:
    for datasource in view.config.datasources:
        log = MoveLog(session, datasource, view.config.dialect)
        if not log.exists():
            continue
        for state, revision in log.of_tenant(tenant_id):
            if not state.finished:
                return log, state, revision
    raise ProgrammingError(f"tenant {tenant_id!r} has no unfinished move")


# -- running -------------------------------------------------------------------------------


class _Mover:
    """One move's run from its logged state: each phase's work, then the next phase."""

    def __init__(
        self,
        view: ClusterView,
        session: Session,
        log: MoveLog,
        state: MoveState,
        revision: int,
        settings: MoveSettings,
        on_step: MoveListener | None,
    ) -> None:
        self._view = view
        self._session = session
        self._log = log
        self._state = state
        self._revision = revision
        self._settings = settings
        self._on_step = on_step
        self._dialect = view.config.dialect
        self._captures = [self._capture(i, t) for i, t in enumerate(state.tables)]
        self._unexplained_verifies = 0
        self._upserts: dict[tuple[str, str | None, int], str] = {}
        self._arrays: dict[tuple[str, str | None], str | None] = {}
        self._texts_agree: bool | None = None
        self._max_parameters = _sqlite_parameter_limit() if self._dialect == "sqlite" else None
        self._copier = (
            CopyPlanner(session, state.source, state.target, self._text_arrays)
            if self._dialect == "postgres"
            else None
        )
        # The next chunk read on a session of its own while this one's is written: a
        # second connection to the source, which a pool of one could never hand out.
        spare = view.config.datasources[state.source].pool.max_size > 1
        self._prefetch = (
            ChunkPrefetch(self._copier, lambda: admin_session(view))
            if self._copier is not None and spare
            else None
        )

    # -- the log -----------------------------------------------------------------------

    def _step(self, name: str) -> None:
        if self._on_step is not None:
            self._on_step(name, self._state)

    def _record(self, state: MoveState) -> None:
        """Write ``state`` to the log (inside the caller's transaction, where there is one)."""
        self._revision = self._log.write(state, self._revision)
        self._state = state

    def _enter(self, phase: Phase) -> None:
        self._record(self._state.entering(phase, time.time()))
        self._step(f"phase {phase}")

    # -- phases ------------------------------------------------------------------------

    def run(self) -> MoveState:
        handlers: dict[Phase, Callable[[], None]] = {
            "planned": self._prepare,
            "capturing": self._install_capture,
            "copying": self._copy,
            "catching_up": self._catch_up,
            "verifying": self._verify,
            "frozen": self._freeze,
            "cut_over": self._cut_over,
        }
        while self._state.phase in handlers:
            handlers[self._state.phase]()
        if self._state.phase == "aborting":
            return self.abort()
        return self._state

    def _prepare(self) -> None:
        """Make the schema and tables the plan found missing on the target (a tenant with
        a schema or database of its own; ``_move_places``)."""
        prepare_target(self._session, self._dialect, self._state)
        self._step("target prepared")
        self._enter("capturing")

    def _install_capture(self) -> None:
        # Nothing is copied yet: what an earlier, killed attempt installed is dropped whole.
        for capture in self._captures:
            self._source(capture.remove)
            self._source(capture.install)
        self._enter("copying")

    def _copy(self) -> None:
        try:
            self._copy_tables()
        finally:
            if self._prefetch is not None:
                self._prefetch.close()
        self._enter("catching_up")

    def _copy_tables(self) -> None:
        sizer = self._settings.sizer()
        for index, table in enumerate(self._state.tables):
            source = self._shape(table, "source")
            while not table.done:
                self._wait_for_replicas()
                # One read per chunk: the next `size` rows after the cursor; fewer than
                # asked means the table's end is reached.
                size = sizer.rows
                started = time.monotonic()
                try:
                    count, table = self._copy_chunk(index, table, source, size, by_copy=True)
                except IntegrityError:
                    # The COPY's insert met a key of the chunk on the target already (a
                    # write past the move): nothing of it committed; written by key instead.
                    count, table = self._copy_chunk(index, table, source, size, by_copy=False)
                sizer.observe(count, time.monotonic() - started)
                self._step("chunk copied")

    def _copy_chunk(
        self, index: int, table: MovedTable, source: TableShape, size: int, *, by_copy: bool
    ) -> tuple[int, MovedTable]:
        """Read the table's next chunk and write it, committed with its log entry; the
        rows it held and the table's state after it."""
        count, last, done, write = self._read_chunk(table, source, size, by_copy=by_copy)
        table = replace(
            table,
            after=last if count else table.after,
            copied_rows=table.copied_rows + count,
            done=done,
        )
        with self._session.transaction():
            write()
            self._step("chunk written")
            self._record(self._state.with_table(index, table))
        return count, table

    def _wait_for_replicas(self) -> None:
        """Pause while a replica of the source is more than its ``max_replication_lag``
        behind (as the cluster's lag monitor last read it): the copy's reads and the
        capture's writes add to what the replicas replay. A replica that is down does not
        hold the copy; one that stays behind for ``lag_give_up_s`` stops it (resumable)."""
        replicas = self._view.datasources.replicas(self._state.source)
        if replicas is None:
            return
        limit = self._view.config.datasources[self._state.source].max_replication_lag
        throttle = LagThrottle(
            limit,
            poll_s=min(1.0, max(limit, 0.05)),
            give_up_s=self._settings.lag_give_up_s,
            stopped=(
                f"move {self._state.move_id} stopped copying (resume it once the replicas of"
                f" {self._state.source} have caught up, or raise max_replication_lag)"
            ),
        )
        began = time.monotonic()
        while True:
            lags = [s.lag_s for s in replicas.states if s.state != "down" and s.lag_s is not None]
            try:
                pause = throttle.pause(max(lags, default=None), time.monotonic() - began)
            except TimeoutError as exc:
                raise OperationalError(f"{self._state.source}: {exc}") from None
            if pause is None:
                return
            self._step("waiting for replicas")
            time.sleep(pause)

    def _catch_up(self) -> None:
        """Apply recorded changes until at most ``backlog`` are left, then verify."""
        while self._apply_changes(limit=self._settings.change_batch) > self._settings.backlog:
            pass
        self._enter("verifying")

    def _apply_changes(self, *, limit: int | None) -> int:
        """Apply one batch of changes per table (all of them with ``limit`` None); the
        backlog left after it."""
        left = 0
        for index, (table, capture) in enumerate(
            zip(self._state.tables, self._captures, strict=True)
        ):
            while True:
                batch = self._read((capture.pending(), (limit or self._settings.change_batch,)))
                if batch:
                    width = len(table.key)
                    keys = list(dict.fromkeys(tuple(row[1 : 1 + width]) for row in batch))
                    source = self._shape(table, "source")
                    current = self._read(source.rows_with_keys(keys))
                    table = replace(table, applied=table.applied + 1)  # this round
                    with self._session.transaction():
                        self._apply_keys(table, keys, current)
                        self._step("changes written")
                        self._record(self._state.with_table(index, table))
                    # Marked once the target has them: a mover killed in between applies
                    # them again in its next round, which changes nothing.
                    seqs = [row[0] for row in batch]
                    for start in range(0, len(seqs), _MARKED_PER_STATEMENT):
                        part = seqs[start : start + _MARKED_PER_STATEMENT]
                        self._session.execute_on(
                            self._state.source, capture.mark(len(part)), (table.applied, *part)
                        )
                    self._step("changes applied")
                if limit is not None or not batch:
                    break
            (count,) = self._read((capture.backlog(), ()))
            left += int(count[0])
        return left

    def _verify(self) -> None:
        """Compare every table in full. A difference at a key with a change recorded after
        the applied position (not applied yet, or made while the verify read) is explained,
        and that key is checked again in the freeze; any other sends the move back to
        catch-up."""
        tables = tuple(replace(t, verified_from=t.applied) for t in self._state.tables)
        self._record(replace(self._state, tables=tables))
        unexplained: list[tuple[str, tuple[object, ...]]] = []
        for table, capture in zip(self._state.tables, self._captures, strict=True):
            differing = self._differences(table)
            changed = set(self._changed_keys(table, capture))
            unexplained += [(table.source, key) for key in differing - changed]
        self._step("verified")
        if unexplained:
            self._unexplained_verifies += 1
            if self._unexplained_verifies >= self._settings.max_verifies:
                sample = ", ".join(
                    f"{name} {key}" for name, key in sorted(unexplained, key=str)[:5]
                )
                raise OperationalError(
                    f"move {self._state.move_id}: {self._unexplained_verifies} verifies found"
                    f" rows that differ with no recorded change to explain them (e.g. {sample});"
                    f" something wrote {self._state.target} or {self._state.source} past the"
                    " capture. Abort the move (`--abort`), check those rows, and start again"
                )
        self._enter("catching_up" if unexplained else "frozen")

    def _freeze(self) -> None:
        """Hold the tenant's writes, fence the source, apply the last changes and check the
        keys changed since the verify; cut over, or give up and catch up again. A failure
        lifts the freeze before it is raised (a killed mover leaves it to ``resume_move``
        or ``abort_move``)."""
        check_target_free(self._view, self._state)
        started = time.monotonic()
        try:
            self._view.tenants.put({"id": self._state.tenant, "status": "moving"})
            self._step("writes held")
            for capture in self._captures:
                self._fence(capture, self._settings.freeze_limit_s)
            self._step("fenced")
            self._apply_changes(limit=None)
            equal = True
            for table, capture in zip(self._state.tables, self._captures, strict=True):
                source, target = self._copy_of(table, "source"), self._copy_of(table, "target")
                diff = verify_keys(source, target, self._changed_keys(table, capture))
                equal = equal and not (diff.mismatched or diff.extra_source or diff.extra_target)
        except BaseException:
            self._lift_freeze()
            raise
        if equal and time.monotonic() - started <= self._settings.freeze_limit_s:
            self._enter("cut_over")
            return
        # Abandoned: writes go on where they are, and the move catches up again.
        self._lift_freeze()
        attempts = self._state.freeze_attempts + 1
        if attempts >= self._settings.max_freezes:
            raise OperationalError(
                f"move {self._state.move_id}: {attempts} freezes could not finish within the"
                " freeze limit; writes go on on the source. Resume the move when the tenant"
                " writes less, or raise the limit"
            )
        self._record(replace(self._state, freeze_attempts=attempts))
        self._enter("catching_up")

    def _lift_freeze(self) -> None:
        for capture in self._captures:
            self._source(capture.unfence)
        self._view.tenants.put({"id": self._state.tenant, "status": "active"})

    def _cut_over(self) -> None:
        """Place the tenant on the target. Repeating it (a mover killed right after the
        registry write) writes the same placement again."""
        self._view.tenants.put(
            {**placement(self._state), "status": "active"},
            force=True,  # its rows are on the source too until the cleanup
        )
        self._step("placed")
        for capture in self._captures:
            self._source(capture.remove)  # the fence stays until the cleanup
        self._enter("cleaning")

    def cleanup(self) -> MoveState:
        """Delete the source's rows of the tenant through the fence (its pass opened for
        this transaction only), table by table; then take the fences down and, for a
        schema-isolated tenant, drop its tables and then its schema. The fence is up until
        every row is gone: a stale process's write is refused, never deleted."""
        if self._state.phase == "cleaning":
            for table, capture in zip(self._state.tables, self._captures, strict=True):
                with self._session.transaction():
                    self._source(capture.open_pass)
                    self._delete_tenant_rows(table, "source")
                    self._source(capture.close_pass)
                self._step("source rows deleted")
            self._enter("unfencing")
        for table, capture in zip(self._state.tables, self._captures, strict=True):
            self._source(capture.unfence)
            drop = drop_source_table(self._state, table, self._dialect)
            if drop is not None:
                self._source((drop,))
        drop_source_schema(self._session, self._dialect, self._state)
        self._enter("done")
        return self._state

    def abort(self) -> MoveState:
        if not self._state.abortable:
            raise ProgrammingError(
                f"move {self._state.move_id} is {self._state.phase}: the tenant is served from"
                f" {self._state.target} now; move it back instead of aborting"
            )
        if self._state.phase != "aborting":
            self._enter("aborting")
        # Not this process's snapshot of the tenant: a mover killed in its freeze set the
        # status elsewhere, and the snapshot here may not have it yet (put reads the store).
        if any(phase == "frozen" for phase, _ in self._state.history):
            self._view.tenants.put({"id": self._state.tenant, "status": "active"})
        for capture in self._captures:
            self._source(capture.unfence)
            self._source(capture.remove)
        check_target_free(self._view, self._state)  # the target's rows are all the move's
        for table in self._state.tables:
            if not table.created_by_move:  # one it made is dropped below, rows and all
                self._delete_tenant_rows(table, "target")
        undo_target(self._session, self._dialect, self._state)
        self._enter("aborted")
        return self._state

    # -- statements --------------------------------------------------------------------

    def _capture(self, index: int, table: MovedTable) -> Capture:
        return capture_for(
            self._dialect,
            move_id=self._state.move_id,
            index=index,
            table=table.source,
            schema=table.source_schema,
            key=table.key,
            tenant_column=self._state.tenant_column,
            tenant=self._state.tenant,
        )

    def _shape(self, table: MovedTable, side: str) -> TableShape:
        name, schema = (
            (table.source, table.source_schema)
            if side == "source"
            else (table.target, table.target_schema)
        )
        column = self._state.tenant_column
        where = None if column is None else f"{quote_identifier(column, self._dialect)} = %s"
        return TableShape(
            self._dialect,
            name,
            table.key,
            table.columns,
            schema=schema,
            where=where,
            where_params=() if column is None else (self._state.tenant,),
        )

    def _copy_of(self, table: MovedTable, side: str) -> TableCopy:
        datasource = self._state.source if side == "source" else self._state.target
        return TableCopy(datasource, self._shape(table, side), query_on(self._session, datasource))

    def _read(self, statement: tuple[str, Sequence[object]]) -> list[tuple[Any, ...]]:
        sql, params = statement
        result = self._session.execute_on(self._state.source, sql, tuple(params))
        return [tuple(row) for row in result.fetchall()]

    def _source(self, statements: Sequence[str]) -> None:
        for sql in statements:
            self._session.execute_on(self._state.source, sql)

    def _fence(self, capture: Capture, limit_s: float) -> None:
        """Install the fence, waiting at most ``limit_s`` for the table's lock (SQLite: the
        pool's busy timeout)."""
        source = self._state.source
        self._source(capture.unfence)  # a fence left by a killed attempt
        if self._dialect == "postgres":
            with self._session.transaction():  # SET LOCAL holds for this transaction only
                millis = max(1, int(limit_s * 1000))
                self._session.execute_on(source, f"SET LOCAL lock_timeout = '{millis}ms'")
                self._source(capture.fence)
            return
        if self._dialect == "mysql":  # whole seconds; the session's connection is reset after
            seconds = max(1, round(limit_s))
            self._session.execute_on(source, f"SET SESSION lock_wait_timeout = {seconds}")
        self._source(capture.fence)  # SQLite: each DDL statement commits on its own

    def _read_chunk(
        self, table: MovedTable, source: TableShape, size: int, *, by_copy: bool
    ) -> Chunk:
        """The next ``size`` rows after the table's cursor: how many, the key the next
        chunk starts after, whether it is the last chunk, and what writes them to the
        target. PostgreSQL: by ``COPY`` where the table allows it and ``by_copy``
        (``CopyPlanner``), else as the text of one array per column where the columns
        allow it (``page_as_arrays``); the rows are never converted to Python values."""
        copier = self._copier if by_copy else None
        plan = None if copier is None else copier.plan(table)
        if copier is not None and plan is not None:
            if self._prefetch is not None:
                return self._prefetch.next_chunk(plan, source, table.after, size)
            return copier.read_chunk(plan, source, table.after, size)
        width = len(table.key)
        arrays = self._array_upsert(table) if self._text_arrays() else None
        if arrays is not None:
            (found,) = self._read(page_as_arrays(source, table.after, size))
            count, last, texts = int(found[0]), tuple(found[1 : 1 + width]), found[1 + width :]

            def write_texts() -> None:
                if count:
                    self._session.execute_on(self._state.target, arrays, tuple(texts))

            return count, last, count < size, write_texts
        rows = self._read(source.page(table.after, size))
        last = tuple(rows[-1][:width]) if rows else ()
        return len(rows), last, len(rows) < size, lambda: self._write_rows(table, rows)

    def _text_arrays(self) -> bool:
        """Whether chunks may travel as array texts: PostgreSQL, with the source and the
        target printing and parsing values alike (same DateStyle, IntervalStyle and
        lc_monetary, and floats printed exactly: extra_float_digits >= 1)."""
        if self._dialect != "postgres":
            return False
        if self._texts_agree is None:
            ask = (
                "SELECT current_setting('extra_float_digits')::int >= 1,"
                " current_setting('DateStyle'), current_setting('IntervalStyle'),"
                " current_setting('lc_monetary')"
            )
            source = query_on(self._session, self._state.source)(ask, ())
            target = query_on(self._session, self._state.target)(ask, ())
            self._texts_agree = source == target and bool(source[0][0])
        return self._texts_agree

    def _write_rows(self, table: MovedTable, rows: Sequence[Sequence[object]]) -> None:
        """Upsert ``rows`` (distinct keys) on the target: on PostgreSQL in one statement of
        one array per column where the columns' types allow it, else as many rows per
        multi-row statement as fit."""
        if not rows:
            return
        arrays = self._array_upsert(table) if self._dialect == "postgres" else None
        if arrays is not None:
            values = tuple(list(column) for column in zip(*rows, strict=True))
            self._session.execute_on(self._state.target, arrays, values)
            return
        width = len(table.columns)
        step = rows_per_statement(self._dialect, width, self._max_parameters)
        for start in range(0, len(rows), step):
            batch = rows[start : start + step]
            sql = self._upsert(table, len(batch))
            params = tuple(value for row in batch for value in row)
            self._session.execute_on(self._state.target, sql, params)

    def _array_upsert(self, table: MovedTable) -> str | None:
        """The table's ``upsert_arrays`` statement, or None when a column is of an array
        or composite type (asked of the target's catalog once per table)."""
        name = (table.target, table.target_schema)
        if name not in self._arrays:
            relation = ".".join(
                quote_identifier(part, "postgres")
                for part in (*((table.target_schema,) if table.target_schema else ()), table.target)
            )
            found = query_on(self._session, self._state.target)(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory"
                " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped",
                (relation,),
            )
            types = {str(column): (str(spelled), str(kind)) for column, spelled, kind in found}
            fits = all(types.get(c, ("", "A"))[1] not in ("A", "C") for c in table.columns)
            self._arrays[name] = (
                upsert_arrays(
                    table.target,
                    table.target_schema,
                    table.columns,
                    table.key,
                    tuple(types[c][0] for c in table.columns),
                )
                if fits
                else None
            )
        return self._arrays[name]

    def _upsert(self, table: MovedTable, rows: int) -> str:
        key = (table.target, table.target_schema, rows)
        sql = self._upserts.get(key)
        if sql is None:
            sql = upsert(
                self._dialect, table.target, table.target_schema, table.columns, table.key, rows
            )
            self._upserts[key] = sql
        return sql

    def _apply_keys(
        self,
        table: MovedTable,
        keys: Sequence[tuple[object, ...]],
        current: Sequence[Sequence[object]],
    ) -> None:
        """Each changed key as the source has it now: its row written, or deleted."""
        width = len(table.key)
        present = {tuple(row[:width]): row for row in current}
        delete = delete_by_key(self._dialect, table.target, table.target_schema, table.key)
        for key in keys:
            row = present.get(key)
            if row is None:
                self._session.execute_on(self._state.target, delete, key)
        self._write_rows(table, list(present.values()))

    def _differences(self, table: MovedTable) -> set[tuple[object, ...]]:
        found: set[tuple[object, ...]] = set()

        def collect(run: str, diff: ChunkDiff, source_rows: Sequence[Sequence[object]]) -> int:
            found.update(diff.mismatched + diff.extra_source + diff.extra_target)
            return 0  # nothing repaired: the keys are only collected

        verify_copies(
            self._copy_of(table, "source"), self._copy_of(table, "target"), repair=collect
        )
        return found

    def _changed_keys(self, table: MovedTable, capture: Capture) -> list[tuple[object, ...]]:
        """Keys of changes waiting, or applied in a round after the last verify started."""
        rows = self._read((capture.changed_since(), (table.verified_from,)))
        return [tuple(row) for row in rows]

    def _delete_tenant_rows(self, table: MovedTable, side: str) -> None:
        datasource = self._state.source if side == "source" else self._state.target
        shape = self._shape(table, side)
        where = "" if shape.where is None else f" WHERE {shape.where}"
        self._session.execute_on(
            datasource, f"DELETE FROM {shape.qualified}{where}", shape.where_params
        )


_MARKED_PER_STATEMENT = 500  # changes marked applied by one UPDATE (SQLite's 999 limit)


def _sqlite_parameter_limit() -> int | None:
    """999 when the SQLite library this process links is older than 3.32 (its limit then),
    else None (the default bound holds). Imported here: only a SQLite cluster loads it."""
    import sqlite3

    return 999 if sqlite3.sqlite_version_info < (3, 32) else None
