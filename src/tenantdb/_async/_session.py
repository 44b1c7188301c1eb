"""Session: one unit of work for one tenant (or an admin), over the connections it touched."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from time import perf_counter
from typing import Any, NamedTuple, NoReturn

from .._concurrency import AsyncFrontGuard, asleep
from ..core.limits import TenantGuard
from ..core.merge import RowOrder
from ..core.replication import ReplicaState
from ..core.routing import (
    MergePlan,
    Params,
    ReadRoundTrips,
    Role,
    RoundTrip,
    RoutePlan,
    Router,
    Target,
    plan_round_trips,
)
from ..core.session import (
    NO_ROWCOUNT,
    GiveUp,
    ReadAttempts,
    ReadPlacement,
    TransactionState,
    WritePositions,
    changes_state_in_tenant_session,
    lost_connection_error,
    may_change_state,
    place_read,
    replica_lost,
    write_rowcount,
)
from ..core.sql import StatementKind, Template, physical_statement
from ..core.tenancy import Tenant
from ..drivers import missing_period
from ..errors import (
    Error,
    InterfaceError,
    NotSupportedError,
    ProgrammingError,
    TenantIsolationError,
    TenantMovedError,
    TenantStatusError,
)
from ..telemetry import StatementWatch
from ._datasources import AsyncDatasources
from ._driver import (
    AsyncConnection,
    AsyncCopyConnection,
    AsyncPool,
    Deadline,
    Description,
    Row,
)
from ._guards import Held
from ._merge import merge_rows
from ._replica_set import AsyncReplicaSet
from ._result import AsyncResult
from ._scatter import (
    ScatterError,
    Work,
    close_all,
    fetch_round_trips,
    group_targets,
    open_streams,
    run_writes,
    trip_work,
)
from ._streams import iter_rows, stream_rows

MOVING_POLL_S = 0.02
"""How often a write held for a tenant's move looks at the registry again (seconds)."""
MOVED_RETRY_MAX_S = 0.5
"""The longest pause between two tries of a statement a moved tenant's old place refused."""


class AsyncSession(AsyncFrontGuard):
    """One unit of work: statements for one tenant, or for an admin, until ``close()``.

    Holds at most one connection per datasource it touched, from first use until the
    session ends, so a sequence of point queries costs one pool checkout per datasource.
    Outside a transaction each statement commits on its own; a statement that writes on
    several shards runs in an implicit transaction over them (all or nothing per datasource,
    PartialCommitError if datasources disagree at commit). ``transaction()`` groups
    statements; inside it everything runs on primaries.

    A session is used by one thread (or one task) at a time; the tenant is an explicit
    argument, never thread-local state. Routing precedence: ``admin=True`` lifts the
    single-tenant and single-shard write restrictions; otherwise tenant tables need the
    session's tenant, and sharded tables are placed by their key.

    With ``lookup`` (the registry's ``get``), the tenant is looked up again before each
    statement outside a transaction, so a placement or status change applies to the next
    statement; a transaction keeps the tenant it began with until it ends. Likewise, with
    ``current_router`` (the cluster's), each call routes with the topology current when it
    starts, so a configuration reload reaches sessions already open; a statement in flight
    finishes on the topology it started with.

    Reads outside a transaction on a datasource with replicas go to a replica that is
    within ``max_replication_lag`` and has replayed this session's own writes there (its
    write position is read right after each commit); otherwise to the primary.
    ``primary=True`` (here, or per ``execute``) always reads primaries;
    ``consistency_token`` (from another session's ``consistency_token()``) carries that
    session's write positions over, so a user's next request reads its own writes too. A
    read whose replica drops while it runs is retried once elsewhere; one whose replica
    cannot be connected to is placed elsewhere at once (``ReadAttempts``); writes are
    never retried.

    This class is the I/O shell: it acquires, executes, commits and releases. What to do
    next is decided by the pure objects of ``core.session``: ``TransactionState`` (what to
    BEGIN, the commit order, what a failed commit or a lost connection means),
    ``WritePositions`` (read-your-writes), ``place_read`` (replica or primary) and
    ``ReadAttempts`` (the one retry policy for a replica that drops).
    """

    def __init__(
        self,
        router: Router,
        datasources: AsyncDatasources,
        *,
        tenant: Tenant | None = None,
        admin: bool = False,
        batch_size: int = 1000,
        lookup: Callable[[str], Tenant] | None = None,
        schema_layout: Callable[[], Mapping[str, Sequence[str]]] | None = None,
        primary: bool = False,
        consistency_token: str | None = None,
        current_router: Callable[[], Router] | None = None,
    ) -> None:
        self.tenant = tenant
        self.primary = primary
        """Read primaries only (no replica reads in this session)."""
        self._positions = WritePositions.from_token(consistency_token)
        self._readers: dict[str, tuple[AsyncConnection, AsyncPool]] = {}
        self._lookup = lookup
        self._schema_layout = schema_layout
        self.admin = admin
        self._router = router
        self._current_router = current_router
        self._dialect = router.topology.dialect
        self._datasources = datasources
        self._guards = datasources.guards
        # Bound once: place_read gets them on every read.
        self._replica_sets = datasources.replicas
        self._switched = datasources.switch.forced
        self._batch_size = batch_size
        self._connections: dict[str, AsyncConnection] = {}
        # The pool each of _connections came from: a reload may replace a datasource's pool
        # while this session holds a connection of the one before.
        self._sources: dict[str, AsyncPool] = {}
        self._transaction: TransactionState | None = None
        self._streaming: list[tuple[AsyncResult, frozenset[str]]] = []
        self._closed = False
        # A statement may have left state on its connections: reset them on release.
        self._dirty = admin
        # The deadline of the call running now, when it has a statement timeout: every
        # connection the call uses gets it (see _connection, _reader).
        self._deadline: Deadline | None = None
        self._telemetry = datasources.telemetry
        # The call being observed now (see tenantdb.telemetry): its fan-outs get child spans.
        self._watch: StatementWatch | None = None

    # -- statements ------------------------------------------------------------------

    async def execute(
        self,
        sql: str,
        params: Params = None,
        *,
        primary: bool = False,
        timeout: float | None = None,
    ) -> AsyncResult:
        """Run one statement and return its Result.

        ``params`` is a sequence for ``%s`` placeholders or a mapping for ``%(name)s``.
        ``primary=True`` reads the primary even where a replica could serve.
        Raises SQLSyntaxError for text that does not parse, and RoutingError /
        UnsupportedSQLError / TenantIsolationError before anything runs when the statement
        cannot be placed safely, and the tenantdb class of the
        driver's error (with ``orig``, ``datasource``, ``role``) when a database refuses it.

        Statement timeout (seconds), in order of precedence: ``timeout`` (must be > 0,
        else ProgrammingError), else the tenant's effective ``limits.statement_timeout``
        (its own, else the cluster's ``[limits]``; tenant sessions only), else none. Admin
        sessions and sessions without a tenant get only ``timeout``. It bounds the whole
        call, the wait in the tenant's concurrency queue included: a statement still
        running when it passes is cancelled on the server (PostgreSQL cancel request, with
        ``SET LOCAL statement_timeout`` inside a transaction as well; MySQL/MariaDB
        ``KILL QUERY``; SQLite interrupt) and the call raises StatementTimeoutError, as it
        does (with nothing sent) when the deadline passes while queued or before a
        statement starts. The connection stays usable; inside ``transaction()`` the
        transaction is failed (the next statement or the commit raises: roll back). The
        rows of a streamed result read after the call are not bounded.
        """
        return await self._observed(self._execute, sql, params, (sql, params, primary, timeout))

    async def _execute(
        self,
        sql: str,
        params: Params,
        primary: bool,
        timeout: float | None,
        watch: StatementWatch | None,
    ) -> AsyncResult:
        held_until: float | None = None
        pause = MOVING_POLL_S
        while True:
            try:
                return await self._execute_once(sql, params, primary, timeout, watch)
            except TenantMovedError:
                # The fenced old place of a moved tenant refused the whole statement
                # (nothing of it ran). Outside a transaction (whose earlier statements ran
                # there) it is routed and run again, backing off, until the registry places
                # the tenant elsewhere or the move is aborted and its fence gone: for up to
                # [moves] write_hold.
                if self._transaction is not None or self.admin:
                    raise
                now = time.monotonic()
                if held_until is None:
                    held_until = now + self._datasources.write_hold_s
                if now >= held_until:
                    raise
                await asleep(min(pause, held_until - now))
                pause = min(pause * 2, MOVED_RETRY_MAX_S)

    async def _execute_once(
        self,
        sql: str,
        params: Params,
        primary: bool,
        timeout: float | None,
        watch: StatementWatch | None,
    ) -> AsyncResult:
        self._check_usable()
        if timeout is not None:
            _check_timeout(timeout)
        tenant = self._current_tenant()
        misses = self._router.templates.misses if watch is not None else 0
        try:
            plan, tenant = await self._route_holding_moves(sql, params, tenant)
        except Error:
            if watch is not None:  # a refused statement is still named by what it is
                with contextlib.suppress(Error):
                    template = self._router.template(sql)
                    watch.refused(
                        template.kind, list(dict.fromkeys(r.table for r in template.refs))
                    )
            raise
        if watch is not None:
            route = self._route_kind(plan.kind, plan.targets)
            # Whether the SQL text was parsed now (approximate when threads share the cache).
            parsed = self._router.templates.misses != misses
            watch.planned(plan.kind, plan.targets, route, cache_hit=not parsed)
        if not self._dirty:
            self._dirty = self._changes_state(sql, tenant)
        guard = self._guard(tenant)
        if timeout is None and guard is not None:
            timeout = guard.statement_timeout_s
        if timeout is not None:
            deadline = Deadline.after(timeout)
            held = await self._admit(guard, tenant, (t.datasource for t in plan.targets), deadline)
            return await self._within(deadline, held, self._execute_plan, plan, primary)
        held = await self._admit(guard, tenant, (t.datasource for t in plan.targets))
        if held is None:
            return await self._execute_plan(plan, primary)
        try:
            return await self._execute_plan(plan, primary)
        finally:
            self._guards.release(held)

    async def _route_holding_moves(
        self, sql: str, params: Params, tenant: Tenant | None
    ) -> tuple[RoutePlan, Tenant | None]:
        """The statement's plan, and the tenant it was made for: a write the router refuses
        because the tenant is being moved is routed again after ``_hold_for_move``."""

        def plan(tenant: Tenant | None) -> RoutePlan:
            schemas = self._schemas(tenant) if self.admin else None
            return self._router.route(sql, params, tenant=tenant, admin=self.admin, schemas=schemas)

        try:
            return plan(tenant), tenant
        except TenantStatusError as exc:
            if exc.status != "moving":
                raise
        tenant = await self._hold_for_move(tenant)
        return plan(tenant), tenant  # refused again while the move goes on

    async def _hold_for_move(self, tenant: Tenant | None) -> Tenant | None:
        """While ``tenant`` is being moved (status ``moving``), wait for the move's
        cut-over, looking at the registry every ``MOVING_POLL_S``, for up to ``[moves]
        write_hold``; the tenant as the registry has it then. Inside a transaction the
        tenant is pinned, so nothing is waited for."""
        if self._transaction is not None:
            return tenant
        held_until = time.monotonic() + self._datasources.write_hold_s
        while tenant is not None and tenant.status == "moving":
            left = held_until - time.monotonic()
            if left <= 0:
                break
            await asleep(min(MOVING_POLL_S, left))
            tenant = self._current_tenant()
        return tenant

    async def _observed(
        self,
        run: Callable[..., Awaitable[AsyncResult]],
        sql: str,
        params: object,
        args: tuple[Any, ...],
    ) -> AsyncResult:
        """``run(*args, watch)`` under the cluster's telemetry (``tenantdb.telemetry``):
        while nothing watches (``quiet_until``) only the slow-statement clock runs."""
        telemetry = self._telemetry
        started = perf_counter()
        watch = (
            None
            if started < telemetry.quiet_until
            else telemetry.begin(started, sql, params, self.tenant)
        )
        if watch is None:
            try:
                result = await run(*args, None)
            except BaseException as exc:
                telemetry.check_slow(started, sql, params, self.tenant, None, exc)
                raise
            if perf_counter() - started >= telemetry.slow_threshold_s:
                telemetry.check_slow(started, sql, params, self.tenant, result.targets, None)
            return result
        self._watch = watch
        try:
            result = await run(*args, watch)
        except BaseException as exc:
            watch.finished(None, exc)
            raise
        finally:
            self._watch = None
        watch.finished(result.targets, None)
        return result

    async def _within(
        self, deadline: Deadline, held: Held | None, call: Any, *args: Any
    ) -> AsyncResult:
        """Run ``call(*args)`` with ``deadline`` on every connection it uses; release
        ``held`` after."""
        self._deadline = deadline
        try:
            result: AsyncResult = await call(*args)
            return result
        finally:
            self._deadline = None
            for connection in self._connections.values():
                connection.deadline = None
            for connection, _ in self._readers.values():
                connection.deadline = None
            if held is not None:
                self._guards.release(held)

    async def _execute_plan(self, plan: RoutePlan, primary: bool) -> AsyncResult:
        targets = plan.targets
        try:
            if len(targets) == 1 and targets[0].role == "primary":
                result = await self._run_on_primary(plan, targets[0])  # _run's common case
            else:
                result = await self._run(plan, primary)
        except Error as exc:
            explained = missing_period(exc, plan.targets, self._router.topology)
            if explained is None:
                raise
            raise explained from exc.__cause__
        if plan.kind == "ddl":
            result.rowcount = NO_ROWCOUNT  # one target or many, whatever the driver said
        return result

    async def _run(self, plan: RoutePlan, primary: bool) -> AsyncResult:
        targets = plan.targets
        if len(targets) == 1:
            target = targets[0]
            if target.role == "replica":
                return await self._read(
                    plan.kind, lambda tries: self._read_one(target, primary, tries)
                )
            return await self._run_on_primary(plan, target)
        if plan.kind == "select":
            return await self._read(plan.kind, lambda tries: self._read_many(plan, primary, tries))
        return await self._write_many(plan)

    async def _run_on_primary(self, plan: RoutePlan, target: Target) -> AsyncResult:
        """A single-target statement on its primary (never retried)."""
        name = target.datasource
        connection = await self._connection(name)
        try:
            outcome = await connection.execute(target.sql, target.params)
        except Error:
            await self._after_error(name)
            raise
        if plan.kind != "select":
            if self._transaction is not None:
                self._transaction.wrote_on((name,))
            else:
                await self._note_write(name)
        return AsyncResult(
            plan.targets, outcome.description, outcome.rows, outcome.rowcount, outcome.lastrowid
        )

    def consistency_token(self) -> str:
        """An opaque string with this session's write positions (and those it started
        from): pass it as ``cluster.session(..., consistency_token=...)`` so a later session
        (the same user's next request) never reads data older than these writes."""
        return self._positions.token()

    async def executemany(
        self, sql: str, seq_of_params: Iterable[Params], *, timeout: float | None = None
    ) -> AsyncResult:
        """Run one write statement once per parameter set, atomically.

        The statements are routed first (nothing runs if any one cannot be placed), then
        sent per datasource and statement text in batches; the whole call runs in one
        transaction (the caller's, or an implicit one). ``rowcount`` is the number of
        logical rows written (a broadcast table's copies count once; see
        ``core.session.write_rowcount``).
        ``timeout`` bounds the whole call as in ``execute`` (same precedence); a timed-out
        call outside a transaction is rolled back whole.
        """
        return await self._observed(self._executemany, sql, None, (sql, seq_of_params, timeout))

    async def _executemany(
        self,
        sql: str,
        seq_of_params: Iterable[Params],
        timeout: float | None,
        watch: StatementWatch | None,
    ) -> AsyncResult:
        self._check_usable()
        if timeout is not None:
            _check_timeout(timeout)
        template = self._router.template(sql)
        if template.kind == "select":
            raise ProgrammingError("executemany() is for writes; run a SELECT with execute()")
        batches: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        served: dict[tuple[str, tuple[tuple[str, str], ...]], Target] = {}
        tenant = await self._hold_for_move(self._current_tenant())  # every row writes
        schemas = self._schemas(tenant)
        if not self._dirty:
            self._dirty = self._changes_state(template, tenant)
        for params in seq_of_params:
            plan = self._router.route(
                template, params, tenant=tenant, admin=self.admin, schemas=schemas
            )
            for target in plan.targets:
                batches.setdefault((target.datasource, target.sql), []).append(target.params)
                served.setdefault((target.datasource, tuple(target.tables.items())), target)
        if watch is not None:
            targets = list(served.values())
            watch.planned(template.kind, targets, self._route_kind(template.kind, targets))
        guard = self._guard(tenant)
        if timeout is None and guard is not None:
            timeout = guard.statement_timeout_s
        if timeout is not None:
            deadline = Deadline.after(timeout)
            held = await self._admit(guard, tenant, (name for name, _ in batches), deadline)
            return await self._within(
                deadline, held, self._write_batches, template.kind, batches, served
            )
        held = await self._admit(guard, tenant, (name for name, _ in batches))
        try:
            return await self._write_batches(template.kind, batches, served)
        finally:
            if held is not None:
                self._guards.release(held)

    async def _write_batches(
        self,
        kind: StatementKind,
        batches: dict[tuple[str, str], list[tuple[Any, ...]]],
        served: dict[tuple[str, tuple[tuple[str, str], ...]], Target],
    ) -> AsyncResult:
        try:
            async with self._implicit_transaction(bool(batches)):
                counts: dict[str, int] = {}
                for (name, statement), rows in batches.items():
                    connection = await self._connection(name)
                    count = await self._guarded(name, connection.executemany, statement, rows)
                    counts[name] = counts.get(name, 0) + max(count, 0)
                    if self._transaction is not None:
                        self._transaction.wrote_on((name,))
                # Inside the implicit transaction: copies that disagree roll back.
                total = self._write_rowcount(kind, counts, served.values())
        except Error as exc:
            explained = missing_period(exc, served.values(), self._router.topology)
            if explained is None:
                raise
            raise explained from exc.__cause__
        return AsyncResult(list(served.values()), None, [], total)

    async def execute_on(self, datasource: str, sql: str, params: Params = None) -> AsyncResult:
        """Admin only: run one physical statement, as written, on the primary of ``datasource``.

        Nothing is routed or rewritten: ``sql`` names physical tables (schema-qualified
        where needed) and takes ``%s`` / ``%(name)s`` placeholders like ``execute``
        (``%%`` is a literal ``%``), sent in the driver's own style. It runs on this
        session's connection to that primary, so it joins ``transaction()``, and the
        connection is reset when the session returns it. Its kind is not known (the text is
        not parsed), so it counts as a write: a transaction commits it last, later reads
        see it. For DDL, catalog lookups and repairs (``tenantdb.admin`` runs through it).

        Raises TenantIsolationError outside an admin session (nothing runs), InterfaceError
        for an unknown datasource, ProgrammingError when ``params`` does not fit the
        placeholders, and the tenantdb class of the driver's error as ``execute`` does.
        """
        self._check_usable()
        if not self.admin:
            raise TenantIsolationError(
                "execute_on() runs SQL on a datasource as written, past routing and tenant "
                "isolation; open the session with cluster.session(admin=True)"
            )
        topology = self._router.topology
        if datasource not in topology.datasources:
            raise InterfaceError(
                f"no datasource {datasource!r}; configured: {', '.join(topology.datasources)}"
            )
        statement = physical_statement(sql, topology.dialect)
        target = Target(datasource, "primary", statement.text, statement.values(params), {})
        self._dirty = True  # the statement may change connection state (SET, temp tables)
        # One primary target: the path of a routed single-target write (the session's
        # connection, its transaction, the write position), not a second one.
        return await self._run(RoutePlan("ddl", (target,), None, None, True), True)

    async def copy_out_on(
        self, datasource: str, sql: str, params: Params = None
    ) -> tuple[bytes, int]:
        """Admin only, PostgreSQL only: run ``COPY (...) TO STDOUT`` as written on the
        primary of ``datasource``, on the connection ``execute_on`` uses (so it joins
        ``transaction()``); return every byte the server sent, in the statement's own
        format, and the number of rows. Placeholders as for ``execute_on`` (bound on the
        client: ``COPY`` takes no server-side parameters). No statement timeout applies.
        For bulk copies between servers (``tenantdb.admin``'s tenant move), with
        ``copy_in_on`` on the other side: the rows are never converted to Python values.

        Raises what ``execute_on`` raises, and NotSupportedError on another backend.
        """
        connection, statement, values = await self._copy_target(datasource, sql, params)
        copied: tuple[bytes, int] = await self._guarded(
            datasource, connection.copy_out, statement, values
        )
        return copied

    async def copy_in_on(self, datasource: str, sql: str, data: bytes) -> int:
        """Admin only, PostgreSQL only: run ``COPY ... FROM STDIN`` as written on the
        primary of ``datasource`` (the connection ``execute_on`` uses, joining
        ``transaction()``), fed with ``data`` (what ``copy_out_on`` returned, in the same
        format); return the number of rows written. It counts as a write, like
        ``execute_on``. Raises what ``copy_out_on`` raises."""
        connection, statement, _ = await self._copy_target(datasource, sql, None)
        count: int = await self._guarded(datasource, connection.copy_in, statement, data)
        if self._transaction is not None:
            self._transaction.wrote_on((datasource,))
        else:
            await self._note_write(datasource)
        return count

    async def _copy_target(
        self, datasource: str, sql: str, params: Params
    ) -> tuple[AsyncCopyConnection, str, tuple[Any, ...]]:
        """The connection, statement and values of a ``copy_*_on`` call, once allowed."""
        self._check_usable()
        if not self.admin:
            raise TenantIsolationError(
                "copy_out_on() / copy_in_on() run COPY on a datasource as written, past routing"
                " and tenant isolation; open the session with cluster.session(admin=True)"
            )
        topology = self._router.topology
        if datasource not in topology.datasources:
            raise InterfaceError(
                f"no datasource {datasource!r}; configured: {', '.join(topology.datasources)}"
            )
        refusal = NotSupportedError(
            f"datasource {datasource!r} is {topology.dialect}: COPY is PostgreSQL's; use"
            " execute_on there"
        )
        if topology.dialect != "postgres":
            raise refusal
        statement = physical_statement(sql, topology.dialect)
        values = statement.values(params)
        self._dirty = True  # as execute_on: the connection is reset when it goes back
        connection = await self._connection(datasource)
        if not isinstance(connection, AsyncCopyConnection):
            raise refusal
        return connection, statement.text, values

    def _current_tenant(self) -> Tenant | None:
        """The tenant for the next statement: refreshed outside a transaction."""
        if self._lookup is not None and self.tenant is not None and self._transaction is None:
            self.tenant = self._lookup(self.tenant.id)
        return self.tenant

    def _route_kind(self, kind: str, targets: Sequence[Target]) -> str:
        """``single``, ``broadcast`` (a write to every copy of broadcast tables) or
        ``scatter``, for telemetry."""
        if len(targets) <= 1:
            return "single"
        table = self._router.topology.table
        if kind != "select" and all(
            table(name).kind == "broadcast" for target in targets for name in target.tables
        ):
            return "broadcast"
        return "scatter"

    def _write_rowcount(
        self, kind: StatementKind, counts: Mapping[str, int], targets: Iterable[Target]
    ) -> int:
        """The logical row count of a multi-target write (``write_rowcount``): a write
        whose every target is a broadcast table's copy counts one copy."""
        targets = list(targets)
        table = self._router.topology.table
        names = [name for target in targets for name in target.tables]
        copies = len(targets) > 1 and all(table(name).kind == "broadcast" for name in names)
        return write_rowcount(kind, counts, copies=copies, tables=names)

    def _guard(self, tenant: Tenant | None) -> TenantGuard | None:
        """What limits the tenant's statements in this session: None for admin sessions and
        sessions without a tenant, which are not limited."""
        if tenant is None or self.admin:
            return None
        return self._guards.guard(tenant)

    async def _admit(
        self,
        guard: TenantGuard | None,
        tenant: Tenant | None,
        datasources: Iterable[str],
        deadline: Deadline | None = None,
    ) -> Held | None:
        """Check the tenant's rate and take its concurrency slots for one call on
        ``datasources`` (``_guards``), waiting in its queue no later than ``deadline``;
        None when no limit applies. Give what it returns to ``self._guards.release``
        when the call ends."""
        if guard is None or tenant is None or not guard.limits_anything:
            return None
        watch = self._watch
        if watch is None:
            return await self._guards.admit(tenant.id, guard, datasources, deadline)
        started = time.perf_counter()
        try:
            return await self._guards.admit(tenant.id, guard, datasources, deadline)
        finally:
            watch.rate_wait_s = time.perf_counter() - started

    def _schemas(self, tenant: Tenant | None) -> Mapping[str, Sequence[str]] | None:
        """For an admin session: where schema-isolated tenants keep their tables."""
        if self.admin and tenant is None and self._schema_layout is not None:
            return self._schema_layout()
        return None

    # -- transactions ----------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Group statements into one transaction, committed when the block ends normally.

        Every datasource the block touches joins the transaction on first use and is
        committed at the end: datasources that only read commit first, so a transaction
        that wrote on one datasource can never commit partially. When writes on several
        datasources disagree at commit, PartialCommitError lists which committed. An
        exception in the block rolls everything back. Nested transactions are refused.
        """
        await self.begin()
        try:
            yield self
        except BaseException:
            await self.rollback()
            raise
        await self.commit()

    @property
    def in_transaction(self) -> bool:
        return self._transaction is not None

    async def begin(self) -> None:
        """Start a transaction (prefer ``async with session.transaction():``). Nothing is
        sent yet: each datasource begins when the transaction first uses it."""
        self._check_usable()
        if self._transaction is not None:
            raise InterfaceError(
                "a transaction is already open in this session; nesting is not supported"
            )
        self._current_tenant()  # the transaction keeps the tenant as it is now
        self._transaction = TransactionState()

    async def commit(self) -> None:
        """Commit the open transaction on every datasource it touched (no-op without one)."""
        transaction, self._transaction = self._transaction, None
        if transaction is None:
            return
        await self._materialize_all()
        if transaction.lost is not None:
            await self._rollback_each(transaction.begun)
            raise lost_connection_error(transaction.lost, rolled_back=True)
        for position, name in enumerate(transaction.commit_order()):
            try:
                await self._connections[name].commit()
            except Error as exc:
                failure = transaction.commit_failed(position)
                await self._rollback_each(failure.roll_back)
                await self._drop_if_broken(name)
                partial = failure.error(exc)
                if partial is None:
                    raise
                raise partial from exc
        for name in transaction.writers():
            await self._note_write(name)

    async def rollback(self) -> None:
        """Roll back the open transaction everywhere it reached (no-op without one)."""
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            await self._materialize_all()
            await self._rollback_each(transaction.begun)

    # -- lifetime --------------------------------------------------------------------

    async def close(self) -> None:
        """Roll back an open transaction, discard unread streamed rows and return every
        connection to its pool. Safe to call more than once.

        Every connection goes back to its pool even when this is interrupted (a cancelled
        task): the pool's release resets the connection, or closes it and frees its slot.
        """
        if self._closed:
            return
        try:
            if self._streaming:
                for result, _ in list(self._streaming):
                    await result.close()
            if self._transaction is not None:
                await self.rollback()
        finally:
            self._closed = True
            self._streaming = []
            self._transaction = None
            connections, self._connections = self._connections, {}
            sources, self._sources = self._sources, {}
            held = [(c, sources[n]) for n, c in connections.items()]
            if self._readers:
                readers, self._readers = self._readers, {}
                held += readers.values()
            await _release_all(held, dirty=self._dirty)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        who = "admin" if self.admin else f"tenant={self.tenant.id}" if self.tenant else "no tenant"
        state = "closed" if self._closed else "in transaction" if self._transaction else "open"
        held = ", ".join([*self._connections, *self._readers]) or "none"
        return f"<{type(self).__name__} {who} {state} connections: {held}>"

    # -- internals -------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise InterfaceError("the session is closed; open a new one with cluster.session()")
        if self._current_router is not None:
            self._router = self._current_router()
        # Threads have no loop to check: the thread front skips even the call.
        self._datasources.loop.check()  # sync: pass

    async def _connection(self, name: str) -> AsyncConnection:
        """This session's connection to ``name``, joined to the open transaction."""
        if self._streaming:
            await self._materialize(name)
        transaction = self._transaction
        refusal = transaction.refusal() if transaction is not None else None
        if refusal is not None:
            raise refusal
        connection = self._connections.get(name)
        if connection is not None and connection.broken:
            await self._drop(name)
            connection = None
            if transaction is not None and transaction.connection_broke(name):
                raise lost_connection_error(name)
        if connection is None:
            pool = self._datasources.pool(name)
            connection = await pool.acquire()
            self._connections[name] = connection
            self._sources[name] = pool
        if self._deadline is not None:
            connection.deadline = self._deadline
        if transaction is not None and transaction.needs_begin(name):
            await self._guarded(name, connection.begin)
            transaction.began(name)
        return connection

    async def _guarded(self, name: str, call: Any, *args: Any) -> Any:
        """Run ``call`` on the connection to ``name``; forget the connection if it broke."""
        try:
            return await call(*args)
        except Error:
            await self._after_error(name)
            raise

    async def _after_error(self, name: str) -> None:
        connection = self._connections.get(name)
        if connection is None or not connection.broken:
            return
        if self._transaction is not None:
            self._transaction.connection_broke(name)
        await self._drop(name)

    async def _drop(self, name: str) -> None:
        connection = self._connections.pop(name)
        pool = self._sources.pop(name)
        if self._dirty:
            connection.mark_dirty()
        await pool.release(connection)

    def _changes_state(self, sql: str | Template, tenant: Tenant | None) -> bool:
        """Whether this statement may leave state on the connection (``_state``)."""
        if tenant is not None and not self.admin and type(sql) is str:
            return changes_state_in_tenant_session(self._dialect, sql, self._router.template)
        template = sql if isinstance(sql, Template) else self._router.template(sql)
        topology = self._router.topology
        return may_change_state(
            template,
            admin=self.admin,
            tenant_session=tenant is not None,
            declared=lambda name: topology.table(name).configured,
        )

    async def _drop_if_broken(self, name: str) -> None:
        connection = self._connections.get(name)
        if connection is not None and connection.broken:
            await self._drop(name)

    async def _rollback_each(self, names: Iterable[str]) -> None:
        for name in names:
            connection = self._connections.get(name)
            if connection is None:
                continue
            try:
                await connection.rollback()
            except Error:
                # A connection that cannot roll back is not reused: its server session
                # ends with it, which rolls the transaction back on the server.
                await self._drop(name)

    @asynccontextmanager
    async def _implicit_transaction(self, needed: bool) -> AsyncIterator[None]:
        if not needed or self._transaction is not None:
            yield
            return
        await self.begin()
        try:
            yield
        except BaseException:
            await self.rollback()
            raise
        await self.commit()

    async def _work(self, targets: tuple[Target, ...]) -> Work:
        return {
            name: (await self._connection(name), indexes)
            for name, indexes in group_targets(targets).items()
        }

    async def _read_many(
        self, plan: RoutePlan, forced: bool, attempts: ReadAttempts
    ) -> AsyncResult:
        """One attempt at a multi-target read, a replica per datasource where one serves."""
        merge = plan.merge
        assert merge is not None, "the router gives every multi-target read a merge plan"
        placed = await self._read_work(plan.targets, forced, attempts)
        trips = plan_round_trips(
            plan._replace(targets=placed.targets), self._router.topology.dialect, self._batch_size
        )
        if trips.mode == "fetch":
            # Each shard returns few rows (plan-proven): fetched whole, the tables of one
            # datasource in one round trip where the backend allows, no cursors.
            return await self._fetch_merged(merge, placed, trips.round_trips)
        return await self._stream_merged(merge, placed, trips)

    async def _fetch_merged(
        self, merge: MergePlan, placed: _PlacedRead, trips: tuple[RoundTrip, ...]
    ) -> AsyncResult:
        try:
            outcomes = await fetch_round_trips(
                self._datasources.executor, trips, placed.work, self._watch
            )
        except ScatterError as failed:
            await self._read_failed(placed, failed)
        runs: list[list[Row]] = [o.rows for o in outcomes]
        if any(trip.needs_sort for trip in trips):
            # A combined statement's rows come in no promised order: each becomes one run
            # in the merge's order, sorted with the merge's own key.
            order = RowOrder(merge.order_by)
            runs = [
                sorted(rows, key=order.key, reverse=order.reverse) if trip.needs_sort else rows
                for trip, rows in zip(trips, runs, strict=True)
            ]
        shards = [iter_rows(rows) for rows in runs]  # sync: shards = runs
        rows = merge_rows(merge, shards)
        merged = [row async for row in rows]  # sync: merged = list(rows)
        description = _visible(
            next((o.description for o in outcomes if o.description is not None), None),
            merge.hidden_columns,
        )
        return AsyncResult(
            placed.targets, description, merged, len(merged), round_trips=_together(trips)
        )

    async def _stream_merged(
        self, merge: MergePlan, placed: _PlacedRead, trips: ReadRoundTrips
    ) -> AsyncResult:
        executor = self._datasources.executor
        streamed, work = trips.round_trips, trip_work(trips.round_trips, placed.work)
        try:
            opened = await open_streams(executor, streamed, work, trips.batch_rows, self._watch)
        except ScatterError as failed:
            await self._read_failed(placed, failed)
        streams = [stream for stream, _ in opened]
        description = _visible(
            next((s.description for s in streams if s.description is not None), None),
            merge.hidden_columns,
        )
        rows = merge_rows(merge, [stream_rows(stream, first) for stream, first in opened])
        names = frozenset(placed.keys.values())
        result: AsyncResult

        async def finish() -> None:
            self._streaming = [entry for entry in self._streaming if entry[0] is not result]
            await close_all(streams)

        result = AsyncResult(
            placed.targets,
            description,
            None,
            -1,
            stream=rows,
            closer=finish,
            round_trips=_together(streamed),
        )
        self._streaming.append((result, names))
        return result

    async def _write_many(self, plan: RoutePlan) -> AsyncResult:
        ddl = plan.kind == "ddl"
        # DDL is not transactional on MySQL and commits implicitly there; it runs as is and
        # a failure says which physical tables already changed.
        async with self._implicit_transaction(not ddl):
            work = await self._work(plan.targets)
            outcomes = await run_writes(self._datasources.executor, plan.targets, work, self._watch)
            if self._transaction is not None:
                self._transaction.wrote_on(work)
            failure: tuple[str, BaseException] | None = None
            for name, outcome in outcomes.items():
                if outcome.error is not None:
                    await self._after_error(name)
                    failure = failure or (name, outcome.error)
            if failure is not None:
                name, error = failure
                if ddl and isinstance(error, Error):
                    applied = [plan.targets[i] for o in outcomes.values() for i in o.applied]
                    raise _ddl_failure(error, applied, len(plan.targets)) from error
                raise error
            # Inside the implicit transaction: copies that disagree roll back.
            counts = {name: outcome.rowcount for name, outcome in outcomes.items()}
            total = self._write_rowcount(plan.kind, counts, plan.targets)
        if ddl:
            for name in work:
                await self._note_write(name)
        return AsyncResult(plan.targets, None, [], total)

    # -- replicas --------------------------------------------------------------------

    async def _read(
        self, kind: str, attempt: Callable[[ReadAttempts], Awaitable[AsyncResult]]
    ) -> AsyncResult:
        """Run ``attempt`` under the one retry policy for reads that may use replicas:
        again, elsewhere, when it lost a replica while running (``ReadAttempts``)."""
        attempts = ReadAttempts(kind)
        while True:
            try:
                return await attempt(attempts)
            except _AttemptFailed as failed:
                step = attempts.failed(failed.error, failed.lost)
            if isinstance(step, GiveUp):
                # The wrapper is only the messenger: show the error with its own cause.
                raise step.error from step.error.__cause__

    async def _read_one(self, target: Target, forced: bool, attempts: ReadAttempts) -> AsyncResult:
        """One attempt at a single-target read that may run on a replica."""
        name = target.datasource
        reader = await self._replica_reader(name, forced, attempts)
        if reader is None:
            connection = await self._connection(name)
            outcome = await self._guarded(name, connection.execute, target.sql, target.params)
            served = target._replace(role="primary")
        else:
            connection, replicas, state = reader
            try:
                outcome = await connection.execute(target.sql, target.params)
            except Error as exc:
                lost = await self._reader_failed(replicas, state.index, state.name, exc)
                raise _AttemptFailed(exc, {name: state.index} if lost else {}) from exc
            served = target
        return AsyncResult(
            (served,), outcome.description, outcome.rows, outcome.rowcount, outcome.lastrowid
        )

    def _replica_for(
        self, name: str, forced: bool, attempts: ReadAttempts | None = None
    ) -> ReadPlacement[AsyncReplicaSet]:
        """Where a read on ``name`` goes (``place_read``): a replica of its set, or the
        primary and why."""
        return place_read(
            name,
            statement_primary=forced,
            session_primary=self.primary,
            in_transaction=self._transaction is not None,
            replicas=self._replica_sets,
            switched=self._switched,
            positions=self._positions,
            attempts=attempts,
        )

    async def _replica_reader(
        self, name: str, forced: bool, attempts: ReadAttempts
    ) -> tuple[AsyncConnection, AsyncReplicaSet, ReplicaState] | None:
        """This session's connection to the replica that serves a read on ``name``, with
        the replica, or None: read the primary. A replica that cannot be reached at
        checkout is reported and ``name`` placed again (``ReadAttempts.checkout_failed``)."""
        while True:
            placement = self._replica_for(name, forced, attempts)
            replicas, state = placement.replicas, placement.replica
            if replicas is None or state is None:
                return None
            try:
                return await self._reader(replicas, state.index, state.name), replicas, state
            except Error as exc:
                if not await self._reader_failed(replicas, state.index, state.name, exc):
                    raise
                attempts.checkout_failed(name, state.index)

    async def _reader(self, replicas: AsyncReplicaSet, index: int, key: str) -> AsyncConnection:
        """This session's connection to replica ``key`` (one per replica, like primaries)."""
        if self._streaming:
            await self._materialize(key)
        held = self._readers.get(key)
        if held is not None and held[0].broken:
            self._readers.pop(key)
            await held[1].release(held[0])
            held = None
        if held is None:
            pool = replicas.pool(index)
            held = (await pool.acquire(), pool)
            self._readers[key] = held
        if self._deadline is not None:
            held[0].deadline = self._deadline
        return held[0]

    async def _reader_failed(
        self, replicas: AsyncReplicaSet, index: int, key: str, exc: Error
    ) -> bool:
        """Forget a broken replica connection; report whether the replica is unreachable
        (then it is taken out of service and the read may go elsewhere)."""
        held = self._readers.get(key)
        broken = held is not None and held[0].broken
        if broken and held is not None:
            self._readers.pop(key)
            await held[1].release(held[0])
        unreachable = replica_lost(exc, broken=broken)
        if unreachable:
            replicas.report_failure(index, exc)
        return unreachable

    async def _read_work(
        self, targets: tuple[Target, ...], forced: bool, attempts: ReadAttempts
    ) -> _PlacedRead:
        """Connections for one attempt at a multi-target read: a replica per datasource
        where one serves, else its primary."""
        work: Work = {}
        keys: dict[str, str] = {}
        readers: dict[str, tuple[AsyncReplicaSet, int]] = {}
        roles: dict[str, Role] = {}
        for name, indexes in group_targets(targets).items():
            reader = None
            if targets[indexes[0]].role == "replica":
                reader = await self._replica_reader(name, forced, attempts)
            if reader is None:
                work[name] = (await self._connection(name), indexes)
                keys[name], roles[name] = name, "primary"
            else:
                connection, replicas, state = reader
                work[name] = (connection, indexes)
                keys[name], roles[name] = state.name, "replica"
                readers[state.name] = (replicas, state.index)
        served = tuple(
            t if t.role == roles[t.datasource] else t._replace(role=roles[t.datasource])
            for t in targets
        )
        return _PlacedRead(served, work, keys, readers)

    async def _read_failed(self, placed: _PlacedRead, failed: ScatterError) -> NoReturn:
        """After a failed multi-target read: forget the connections that broke, and take a
        replica out of service only for its own datasource's error (the others ran on
        other connections, so ds0's lost connection must not be charged to ds1's
        replica). Raises _AttemptFailed with the replicas lost, for ``ReadAttempts``."""
        lost: dict[str, int] = {}
        for name, error in failed.errors.items():
            key = placed.keys[name]
            if key not in placed.readers:
                await self._after_error(key)
            elif isinstance(error, Error):
                replicas, index = placed.readers[key]
                if await self._reader_failed(replicas, index, key, error):
                    lost[name] = index
        raise _AttemptFailed(failed.first, lost) from failed.first

    async def _note_write(self, name: str) -> None:
        """Remember where the primary of ``name`` stood after this session's write."""
        if name not in self._router.topology.replicated:
            return
        replicas = self._datasources.replicas(name)
        connection = self._connections.get(name)
        position = None
        if replicas is not None and connection is not None and not connection.broken:
            position = await replicas.write_position(connection)
        self._positions = self._positions.after_write(name, position)

    async def _materialize(self, name: str) -> None:
        for result, names in list(self._streaming):
            if name in names:
                await result.materialize()

    async def _materialize_all(self) -> None:
        for result, _ in list(self._streaming):
            await result.materialize()


class _PlacedRead(NamedTuple):
    """One attempt at a multi-target read, with its connections."""

    targets: tuple[Target, ...]
    """The plan's targets with the roles that serve them."""
    work: Work
    keys: dict[str, str]
    """Datasource → the key of the connection that serves it: its own name for its
    primary, the replica's name for a replica."""
    readers: dict[str, tuple[AsyncReplicaSet, int]]
    """Replica key → its replica set and index."""


class _AttemptFailed(Exception):
    """Internal: an attempt at a read failed with ``error``, having lost the replicas
    ``lost`` (datasource → index); ``AsyncSession._read`` asks ``ReadAttempts`` what next."""

    def __init__(self, error: BaseException, lost: Mapping[str, int]) -> None:
        super().__init__(str(error))
        self.error = error
        self.lost = lost


def _check_timeout(timeout: object) -> None:
    """Refuse a ``timeout=`` that is not a positive, finite number of seconds."""
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ProgrammingError(
            f"timeout must be a positive number of seconds, not {timeout!r}; pass None "
            "for the tenant's statement_timeout"
        )


def _together(trips: Sequence[RoundTrip]) -> tuple[tuple[int, ...], ...]:
    """Indexes of the result's targets that ran together, one tuple per round trip."""
    return tuple(trip.targets for trip in trips)


def _visible(description: Description | None, hidden: int) -> Description | None:
    if description is None or not hidden:
        return description
    return description[:-hidden]


def _ddl_failure(error: Error, applied: list[Target], total: int) -> Error:
    done = ", ".join(f"{t.datasource}:{'/'.join(t.tables.values())}" for t in applied) or "none"
    message = (
        f"DDL stopped: {error.message} (on {error.datasource}). Applied on {len(applied)} of "
        f"{total} physical tables ({done}); fix the cause and re-run with IF NOT EXISTS / "
        "IF EXISTS, or use `tenantdb ddl`, which skips tables already changed"
    )
    try:
        return type(error)(
            message,
            datasource=error.datasource,
            role=error.role,
            statement=error.statement,
            orig=error.orig,
        )
    except TypeError:  # an error class with its own signature: keep it as it is
        return error


async def _release_all(held: list[tuple[AsyncConnection, AsyncPool]], *, dirty: bool) -> None:
    """Return every connection to its pool; the first failure is raised after the rest are
    returned, so one interrupted release (a cancelled task) never strands the others."""
    failure: BaseException | None = None
    for connection, pool in held:
        if dirty:
            connection.mark_dirty()
        try:
            await pool.release(connection)
        except BaseException as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
