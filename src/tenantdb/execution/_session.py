"""Session: one unit of work for one tenant (or an admin), over the connections it touched."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from ..core.merge import merge_rows
from ..core.replication import decode_token, encode_token, merge_positions
from ..core.routing import Params, Role, RoutePlan, Router, Target
from ..core.session import may_change_state
from ..core.sql import Template, physical_statement
from ..core.tenancy import Tenant
from ..errors import (
    DatabaseError,
    Error,
    InterfaceError,
    PartialCommitError,
    ProgrammingError,
    ShardUnavailableError,
    TenantIsolationError,
)
from ._datasources import Datasources
from ._driver import Connection, Description, Pool
from ._replica_set import ReplicaSet
from ._result import Result
from ._scatter import (
    ScatterError,
    Work,
    close_all,
    fetch_all,
    group_targets,
    open_streams,
    run_writes,
    stream_rows,
)
from ._translate import missing_period


@dataclass(slots=True)
class _Transaction:
    """Bookkeeping of an open transaction; datasources join it on first use."""

    begun: list[str] = field(default_factory=list)
    """Datasources with BEGIN sent, in order of first use."""
    wrote: set[str] = field(default_factory=set)
    lost: str | None = None
    """A datasource whose connection broke inside the transaction: commit must fail."""


class Session:
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
    statement; a transaction keeps the tenant it began with until it ends.

    Reads outside a transaction on a datasource with replicas go to a replica that is
    within ``max_replication_lag`` and has replayed this session's own writes there (its
    write position is read right after each commit); otherwise to the primary.
    ``primary=True`` (here, or per ``execute``) always reads primaries;
    ``consistency_token`` (from another session's ``consistency_token()``) carries that
    session's write positions over, so a user's next request reads its own writes too. A
    read that finds its replica unreachable is retried once elsewhere; writes never are.
    """

    def __init__(
        self,
        router: Router,
        datasources: Datasources,
        *,
        tenant: Tenant | None = None,
        admin: bool = False,
        batch_size: int = 1000,
        lookup: Callable[[str], Tenant] | None = None,
        schema_layout: Callable[[], Mapping[str, Sequence[str]]] | None = None,
        primary: bool = False,
        consistency_token: str | None = None,
    ) -> None:
        self.tenant = tenant
        self.primary = primary
        """Read primaries only (no replica reads in this session)."""
        self._positions: dict[str, int | None] = (
            decode_token(consistency_token) if consistency_token is not None else {}
        )
        self._readers: dict[str, tuple[Connection, Pool]] = {}
        self._lookup = lookup
        self._schema_layout = schema_layout
        self.admin = admin
        self._router = router
        self._datasources = datasources
        self._batch_size = batch_size
        self._connections: dict[str, Connection] = {}
        self._transaction: _Transaction | None = None
        self._streaming: list[tuple[Result, frozenset[str]]] = []
        self._closed = False
        # A statement may have left state on its connections: reset them on release.
        self._dirty = admin

    # -- statements ------------------------------------------------------------------

    def execute(self, sql: str, params: Params = None, *, primary: bool = False) -> Result:
        """Run one statement and return its Result.

        ``params`` is a sequence for ``%s`` placeholders or a mapping for ``%(name)s``.
        ``primary=True`` reads the primary even where a replica could serve.
        Raises RoutingError / UnsupportedSQLError / TenantIsolationError before anything
        runs when the statement cannot be placed safely, and the tenantdb class of the
        driver's error (with ``orig``, ``datasource``, ``role``) when a database refuses it.
        """
        if self._closed:
            raise InterfaceError("the session is closed; open a new one with cluster.session()")
        tenant = self._current_tenant()
        plan = self._router.route(
            sql, params, tenant=tenant, admin=self.admin, schemas=self._schemas(tenant)
        )
        if not self._dirty:
            self._dirty = self._changes_state(sql, tenant)
        try:
            return self._run(plan, primary)
        except Error as exc:
            explained = missing_period(exc, plan.targets, self._router.topology)
            if explained is None:
                raise
            raise explained from exc.__cause__

    def _run(self, plan: RoutePlan, primary: bool) -> Result:
        targets = plan.targets
        if len(targets) == 1:
            target = targets[0]
            if target.role == "replica":
                return self._read_one(target, primary)
            connection = self._connection(target.datasource)
            outcome = self._guarded(
                target.datasource, connection.execute, target.sql, target.params
            )
            if plan.kind != "select":
                if self._transaction is not None:
                    self._transaction.wrote.add(target.datasource)
                else:
                    self._note_write(target.datasource)
            return Result(
                targets, outcome.description, outcome.rows, outcome.rowcount, outcome.lastrowid
            )
        if plan.kind == "select":
            return self._read_many(plan, primary)
        return self._write_many(plan)

    def consistency_token(self) -> str:
        """An opaque string with this session's write positions (and those it started
        from): pass it as ``cluster.session(..., consistency_token=...)`` so a later session
        (the same user's next request) never reads data older than these writes."""
        return encode_token(self._positions)

    def executemany(self, sql: str, seq_of_params: Iterable[Params]) -> Result:
        """Run one write statement once per parameter set, atomically.

        The statements are routed first (nothing runs if any one cannot be placed), then
        sent per datasource and statement text in batches; the whole call runs in one
        transaction (the caller's, or an implicit one). ``rowcount`` is the total.
        """
        if self._closed:
            raise InterfaceError("the session is closed; open a new one with cluster.session()")
        template = self._router.template(sql)
        if template.kind == "select":
            raise ProgrammingError("executemany() is for writes; run a SELECT with execute()")
        batches: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        served: dict[tuple[str, tuple[tuple[str, str], ...]], Target] = {}
        tenant = self._current_tenant()
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
        try:
            with self._implicit_transaction(bool(batches)):
                total = 0
                for (name, statement), rows in batches.items():
                    connection = self._connection(name)
                    total += self._guarded(name, connection.executemany, statement, rows)
                    if self._transaction is not None:
                        self._transaction.wrote.add(name)
        except Error as exc:
            explained = missing_period(exc, served.values(), self._router.topology)
            if explained is None:
                raise
            raise explained from exc.__cause__
        return Result(list(served.values()), None, [], total)

    def execute_on(self, datasource: str, sql: str, params: Params = None) -> Result:
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
        if self._closed:
            raise InterfaceError("the session is closed; open a new one with cluster.session()")
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
        return self._run(RoutePlan("ddl", (target,), None, None, True), True)

    def _current_tenant(self) -> Tenant | None:
        """The tenant for the next statement: refreshed outside a transaction."""
        if self._lookup is not None and self.tenant is not None and self._transaction is None:
            self.tenant = self._lookup(self.tenant.id)
        return self.tenant

    def _schemas(self, tenant: Tenant | None) -> Mapping[str, Sequence[str]] | None:
        """For an admin session: where schema-isolated tenants keep their tables."""
        if self.admin and tenant is None and self._schema_layout is not None:
            return self._schema_layout()
        return None

    # -- transactions ----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Group statements into one transaction, committed when the block ends normally.

        Every datasource the block touches joins the transaction on first use and is
        committed at the end: datasources that only read commit first, so a transaction
        that wrote on one datasource can never commit partially. When writes on several
        datasources disagree at commit, PartialCommitError lists which committed. An
        exception in the block rolls everything back. Nested transactions are refused.
        """
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    @property
    def in_transaction(self) -> bool:
        return self._transaction is not None

    def begin(self) -> None:
        """Start a transaction (prefer ``with session.transaction():``)."""
        if self._closed:
            raise InterfaceError("the session is closed; open a new one with cluster.session()")
        if self._transaction is not None:
            raise InterfaceError(
                "a transaction is already open in this session; nesting is not supported"
            )
        self._current_tenant()  # the transaction keeps the tenant as it is now
        self._transaction = _Transaction()

    def commit(self) -> None:
        """Commit the open transaction on every datasource it touched (no-op without one)."""
        transaction, self._transaction = self._transaction, None
        if transaction is None:
            return
        self._materialize_all()
        if transaction.lost is not None:
            self._rollback_each(transaction.begun)
            raise _lost(transaction.lost, rolled_back=True)
        # Readers first: their commit cannot lose a write, so only writers can disagree.
        order = [n for n in transaction.begun if n not in transaction.wrote] + [
            n for n in transaction.begun if n in transaction.wrote
        ]
        committed: list[str] = []
        for position, name in enumerate(order):
            try:
                self._connections[name].commit()
            except Error as exc:
                rest = order[position + 1 :]
                # SQLite keeps a transaction open after a failed COMMIT: end it too.
                self._rollback_each([name, *rest])
                self._drop_if_broken(name)
                durable = [n for n in committed if n in transaction.wrote]
                if not durable:
                    raise
                raise PartialCommitError(
                    f"partial commit: committed on {', '.join(durable)}; commit failed on "
                    f"{name} ({exc.message})"
                    + (f"; rolled back on {', '.join(rest)}" if rest else "")
                    + ". The committed changes are durable: reconcile them in the application",
                    committed=durable,
                    failed=[name],
                    rolled_back=rest,
                    datasource=name,
                    role="primary",
                    orig=exc.orig or exc,
                ) from exc
            committed.append(name)
        for name in transaction.wrote:
            self._note_write(name)

    def rollback(self) -> None:
        """Roll back the open transaction everywhere it reached (no-op without one)."""
        transaction, self._transaction = self._transaction, None
        if transaction is not None:
            self._materialize_all()
            self._rollback_each(transaction.begun)

    # -- lifetime --------------------------------------------------------------------

    def close(self) -> None:
        """Roll back an open transaction, discard unread streamed rows and return every
        connection to its pool. Safe to call more than once."""
        if self._closed:
            return
        try:
            for result, _ in list(self._streaming):
                result.close()
            if self._transaction is not None:
                self.rollback()
        finally:
            self._closed = True
            connections, self._connections = self._connections, {}
            for name, connection in connections.items():
                if self._dirty:
                    connection.mark_dirty()
                self._datasources.pool(name).release(connection)
            readers, self._readers = self._readers, {}
            for connection, pool in readers.values():
                if self._dirty:
                    connection.mark_dirty()
                pool.release(connection)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        who = "admin" if self.admin else f"tenant={self.tenant.id}" if self.tenant else "no tenant"
        state = "closed" if self._closed else "in transaction" if self._transaction else "open"
        held = ", ".join([*self._connections, *self._readers]) or "none"
        return f"<Session {who} {state} connections: {held}>"

    # -- internals -------------------------------------------------------------------

    def _connection(self, name: str) -> Connection:
        """This session's connection to ``name``, joined to the open transaction."""
        if self._streaming:
            self._materialize(name)
        transaction = self._transaction
        if transaction is not None and transaction.lost is not None:
            raise _lost(transaction.lost)
        connection = self._connections.get(name)
        if connection is not None and connection.broken:
            self._drop(name)
            connection = None
            if transaction is not None and name in transaction.begun:
                transaction.lost = name
                raise _lost(name)
        if connection is None:
            connection = self._datasources.pool(name).acquire()
            self._connections[name] = connection
        if transaction is not None and name not in transaction.begun:
            self._guarded(name, connection.begin)
            transaction.begun.append(name)
        return connection

    def _guarded(self, name: str, call: Any, *args: Any) -> Any:
        """Run ``call`` on the connection to ``name``; forget the connection if it broke."""
        try:
            return call(*args)
        except Error:
            self._after_error(name)
            raise

    def _after_error(self, name: str) -> None:
        connection = self._connections.get(name)
        if connection is None or not connection.broken:
            return
        transaction = self._transaction
        if transaction is not None and name in transaction.begun:
            transaction.lost = name
        self._drop(name)

    def _drop(self, name: str) -> None:
        connection = self._connections.pop(name)
        if self._dirty:
            connection.mark_dirty()
        self._datasources.pool(name).release(connection)

    def _changes_state(self, sql: str | Template, tenant: Tenant | None) -> bool:
        """Whether this statement may leave state on the connection (``_state``)."""
        template = sql if isinstance(sql, Template) else self._router.template(sql)
        topology = self._router.topology
        return may_change_state(
            template,
            admin=self.admin,
            tenant_session=tenant is not None,
            declared=lambda name: topology.table(name).configured,
        )

    def _drop_if_broken(self, name: str) -> None:
        connection = self._connections.get(name)
        if connection is not None and connection.broken:
            self._drop(name)

    def _rollback_each(self, names: Iterable[str]) -> None:
        for name in names:
            connection = self._connections.get(name)
            if connection is None:
                continue
            try:
                connection.rollback()
            except Error:
                # A connection that cannot roll back is not reused: its server session
                # ends with it, which rolls the transaction back on the server.
                self._drop(name)

    @contextmanager
    def _implicit_transaction(self, needed: bool) -> Iterator[None]:
        if not needed or self._transaction is not None:
            yield
            return
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def _work(self, targets: tuple[Target, ...]) -> Work:
        return {
            name: (self._connection(name), indexes)
            for name, indexes in group_targets(targets).items()
        }

    def _read_many(self, plan: RoutePlan, forced: bool) -> Result:
        try:
            return self._read_many_once(plan, forced)
        except _ReplicaDropped:
            pass  # a replica broke mid-read and is out of service now: once more, elsewhere
        try:
            return self._read_many_once(plan, forced)
        except _ReplicaDropped as dropped:
            raise dropped.error from dropped.error.__cause__

    def _read_many_once(self, plan: RoutePlan, forced: bool) -> Result:
        merge = plan.merge
        assert merge is not None, "the router gives every multi-target read a merge plan"
        targets, work, keys, readers = self._read_work(plan.targets, forced)
        if (
            merge.group_by is None
            and merge.limit is not None
            and merge.offset + merge.limit <= self._batch_size
        ):
            # Each shard returns at most offset + limit rows: one plain fetch per shard
            # costs fewer round trips than cursors, and holds no more rows.
            try:
                outcomes = fetch_all(self._datasources.executor, targets, work)
            except ScatterError as failed:
                self._read_failed(keys, readers, failed)
            merged = list(merge_rows(merge, [outcome.rows for outcome in outcomes]))
            description = _visible(
                next((o.description for o in outcomes if o.description is not None), None),
                merge.hidden_columns,
            )
            return Result(targets, description, merged, len(merged))
        try:
            opened = open_streams(self._datasources.executor, targets, work, self._batch_size)
        except ScatterError as failed:
            self._read_failed(keys, readers, failed)
        streams = [stream for stream, _ in opened]
        description = _visible(
            next((s.description for s in streams if s.description is not None), None),
            merge.hidden_columns,
        )
        rows = merge_rows(merge, [stream_rows(stream, first) for stream, first in opened])
        names = frozenset(keys.values())
        result: Result

        def finish() -> None:
            self._streaming = [entry for entry in self._streaming if entry[0] is not result]
            close_all(streams)

        result = Result(targets, description, None, -1, stream=rows, closer=finish)
        self._streaming.append((result, names))
        return result

    def _write_many(self, plan: RoutePlan) -> Result:
        ddl = plan.kind == "ddl"
        # DDL is not transactional on MySQL and commits implicitly there; it runs as is and
        # a failure says which physical tables already changed.
        with self._implicit_transaction(not ddl):
            work = self._work(plan.targets)
            outcomes = run_writes(self._datasources.executor, plan.targets, work)
            if self._transaction is not None:
                self._transaction.wrote.update(work)
            total = 0
            failure: tuple[str, BaseException] | None = None
            for name, outcome in outcomes.items():
                total += outcome.rowcount
                if outcome.error is not None:
                    self._after_error(name)
                    failure = failure or (name, outcome.error)
            if failure is not None:
                name, error = failure
                if ddl and isinstance(error, Error):
                    applied = [plan.targets[i] for o in outcomes.values() for i in o.applied]
                    raise _ddl_failure(error, applied, len(plan.targets)) from error
                raise error
        if ddl:
            for name in work:
                self._note_write(name)
        return Result(plan.targets, None, [], total)

    # -- replicas --------------------------------------------------------------------

    def _read_one(self, target: Target, forced: bool) -> Result:
        """A single-target read that may run on a replica (retried once elsewhere when the
        replica turns out unreachable)."""
        name = target.datasource
        exclude: int | None = None
        for attempt in range(2):
            replicas, state = self._replica_for(name, forced, exclude)
            if replicas is None or state is None:
                connection = self._connection(name)
                outcome = self._guarded(name, connection.execute, target.sql, target.params)
                served = target._replace(role="primary")
            else:
                try:
                    connection = self._reader(replicas, state.index, state.name)
                    outcome = connection.execute(target.sql, target.params)
                except Error as exc:
                    unreachable = self._reader_failed(replicas, state.index, state.name, exc)
                    if not unreachable or attempt:
                        raise
                    exclude = state.index
                    continue
                served = target
            return Result(
                (served,), outcome.description, outcome.rows, outcome.rowcount, outcome.lastrowid
            )
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _replica_for(
        self, name: str, forced: bool, exclude: int | None = None
    ) -> tuple[ReplicaSet | None, Any]:
        """The replica set and replica for a read on ``name``, or (None, None): primary."""
        if forced or self.primary or self._transaction is not None:
            return None, None
        replicas = self._datasources.replicas(name)
        if replicas is None or self._datasources.switch.forced(name) is not None:
            return None, None
        position = self._positions.get(name, -1)
        if position is None:
            return None, None  # written here with no comparable position: the primary has it
        return replicas, replicas.choose(position if position >= 0 else None, exclude)

    def _reader(self, replicas: ReplicaSet, index: int, key: str) -> Connection:
        """This session's connection to replica ``key`` (one per replica, like primaries)."""
        if self._streaming:
            self._materialize(key)
        held = self._readers.get(key)
        if held is not None and held[0].broken:
            self._readers.pop(key)
            held[1].release(held[0])
            held = None
        if held is None:
            pool = replicas.pool(index)
            held = (pool.acquire(), pool)
            self._readers[key] = held
        return held[0]

    def _reader_failed(self, replicas: ReplicaSet, index: int, key: str, exc: Error) -> bool:
        """Forget a broken replica connection; report whether the replica is unreachable
        (then it is taken out of service and the read may go elsewhere)."""
        held = self._readers.get(key)
        broken = held is not None and held[0].broken
        if broken and held is not None:
            self._readers.pop(key)
            held[1].release(held[0])
        unreachable = broken or isinstance(exc, ShardUnavailableError)
        if unreachable:
            replicas.report_failure(index, exc)
        return unreachable

    def _read_work(
        self, targets: tuple[Target, ...], forced: bool
    ) -> tuple[tuple[Target, ...], Work, dict[str, str], dict[str, tuple[ReplicaSet, int]]]:
        """Connections for a multi-target read: a replica per datasource where one serves.

        Returns the targets with the roles that will serve them, the work, the connection
        key that serves each datasource (its name for its primary, else the replica's
        name), and the replica behind each replica key."""
        work: Work = {}
        keys: dict[str, str] = {}
        readers: dict[str, tuple[ReplicaSet, int]] = {}
        roles: dict[str, Role] = {}
        for name, indexes in group_targets(targets).items():
            connection: Connection | None = None
            if targets[indexes[0]].role == "replica":
                replicas, state = self._replica_for(name, forced)
                if replicas is not None and state is not None:
                    try:
                        connection = self._reader(replicas, state.index, state.name)
                        keys[name] = state.name
                        readers[state.name] = (replicas, state.index)
                        roles[name] = "replica"
                    except Error as exc:
                        if not self._reader_failed(replicas, state.index, state.name, exc):
                            raise
            if connection is None:
                connection = self._connection(name)
                keys[name] = name
                roles[name] = "primary"
            work[name] = (connection, indexes)
        served = tuple(
            t if t.role == roles[t.datasource] else t._replace(role=roles[t.datasource])
            for t in targets
        )
        return served, work, keys, readers

    def _read_failed(
        self,
        keys: Mapping[str, str],
        readers: Mapping[str, tuple[ReplicaSet, int]],
        failed: ScatterError,
    ) -> NoReturn:
        """After a failed multi-target read: forget the connections that broke, and take a
        replica out of service only for its own datasource's error (the others ran on
        other connections, so ds0's lost connection must not be charged to ds1's
        replica). Raises _ReplicaDropped when a replica was unreachable, so the read is
        tried once more elsewhere, else the first error."""
        dropped = False
        for name, error in failed.errors.items():
            key = keys[name]
            if key not in readers:
                self._after_error(key)
            elif isinstance(error, Error):
                replicas, index = readers[key]
                dropped = self._reader_failed(replicas, index, key, error) or dropped
        first = failed.first
        if dropped and isinstance(first, Error):
            raise _ReplicaDropped(first) from first
        # The wrapper is only the messenger: show the error with its own cause.
        raise first from first.__cause__

    def _note_write(self, name: str) -> None:
        """Remember where the primary of ``name`` stood after this session's write."""
        if name not in self._router.topology.replicated:
            return
        replicas = self._datasources.replicas(name)
        connection = self._connections.get(name)
        position = None
        if replicas is not None and connection is not None and not connection.broken:
            position = replicas.write_position(connection)
        self._positions = merge_positions(self._positions, {name: position})

    def _materialize(self, name: str) -> None:
        for result, names in list(self._streaming):
            if name in names:
                result.materialize()

    def _materialize_all(self) -> None:
        for result, _ in list(self._streaming):
            result.materialize()


class _ReplicaDropped(Exception):
    """Internal: a multi-target read lost a replica; ``Session._read_many`` retries it and
    raises ``error`` if the second try loses one too."""

    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error


def _lost(name: str, *, rolled_back: bool = False) -> DatabaseError:
    then = "everything was rolled back" if rolled_back else "roll back and retry the transaction"
    return DatabaseError(
        f"the connection to {name} was lost during the transaction, so its changes there are "
        f"gone; {then}",
        datasource=name,
        role="primary",
    )


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
