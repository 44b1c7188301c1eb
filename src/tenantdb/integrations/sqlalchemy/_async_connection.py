"""The DB-API connection SQLAlchemy's asyncio engines pool: tenantdb AsyncSessions driven
from SQLAlchemy's greenlet with ``await_only``, as SQLAlchemy's own asyncio dialects adapt
their drivers.

The rules are the sync Connection's (``_connection``): the session of a transaction is
chosen by the statement's Scope when the transaction begins and kept until it ends; a
statement for another tenant or for admin inside it is refused. Rows are read whole when a
statement runs (SQLAlchemy's asyncio dialects buffer the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.util import await_only

from ..._cluster import AsyncCluster
from ...core.routing import Params
from ...core.tenancy import current_tenant
from ...errors import InterfaceError, TenantIsolationError
from ._async_schema import apply_schema_async
from ._connection import runs_schema_runner
from ._scope import ROUTED, Scope

if TYPE_CHECKING:
    from ..._async import AsyncSession

Row = tuple[Any, ...]


class AsyncAdaptedConnection(AdaptedConnection):
    """A sync-looking DB-API connection over one AsyncCluster (shared, not owned)."""

    def __init__(self, cluster: AsyncCluster) -> None:
        self._connection = cluster  # type: ignore[assignment]  # what AdaptedConnection wraps
        self.cluster = cluster
        self.autocommit = False
        self._routed: AsyncSession | None = None
        self._admin: AsyncSession | None = None
        self._raw: str | None = None
        self._closed = False

    @property
    def raw_datasource(self) -> str | None:
        return self._raw

    @contextmanager
    def raw(self, datasource: str) -> Iterator[None]:
        """Run the block's statements as written on ``datasource``'s primary (admin)."""
        previous, self._raw = self._raw, datasource
        try:
            yield
        finally:
            self._raw = previous

    def cursor(self, scope: Scope = ROUTED) -> AsyncAdaptedCursor:
        if self._closed:
            raise InterfaceError("the connection is closed; SQLAlchemy's pool opens a new one")
        return AsyncAdaptedCursor(self, scope)

    def commit(self) -> None:
        for session in self._sessions():
            await_only(session.commit())

    def rollback(self) -> None:
        for session in self._sessions():
            await_only(session.rollback())

    def close(self) -> None:
        self._closed = True
        self.release()

    def release(self) -> None:
        """Roll back what is uncommitted and return every physical connection to
        tenantdb's pools; the next statement opens new sessions."""
        sessions = self._sessions()
        self._routed = self._admin = None
        for session in sessions:
            await_only(session.close())

    @property
    def closed(self) -> bool:
        return self._closed

    def session_for(self, scope: Scope) -> AsyncSession:
        """The session a statement of ``scope`` runs in, its transaction begun (unless
        autocommit). Raises TenantIsolationError when it would cross an open transaction."""
        if self._raw is not None:
            return self._admin_session()
        tenant, admin = scope.resolve(current_tenant())
        routed_open = self._routed is not None and self._routed.in_transaction
        admin_open = self._admin is not None and self._admin.in_transaction
        if admin:
            if routed_open:
                raise TenantIsolationError(
                    f"this transaction began for {_who(self._routed)}; an admin statement "
                    "needs a transaction of its own: commit or roll back first"
                )
            session = self._admin_session()
        else:
            if admin_open or (routed_open and _tenant_id(self._routed) != tenant):
                began = "an admin session" if admin_open else _who(self._routed)
                raise TenantIsolationError(
                    f"this transaction began for {began}; a statement for "
                    f"{_describe(tenant)} needs a transaction of its own: commit or roll "
                    "back first"
                )
            session = self._routed_session(tenant)
        if not self.autocommit and not session.in_transaction:
            await_only(session.begin())
        return session

    def _routed_session(self, tenant: str | None) -> AsyncSession:
        current = self._routed
        if current is not None and _tenant_id(current) == tenant:
            return current
        if current is not None:
            await_only(current.close())
        # tenant=None with no context set: a session with no tenant, as resolved.
        self._routed = self.cluster.session(tenant)
        return self._routed

    def _admin_session(self) -> AsyncSession:
        if self._admin is None:
            self._admin = self.cluster.session(admin=True)
        return self._admin

    def _sessions(self) -> list[AsyncSession]:
        return [s for s in (self._routed, self._admin) if s is not None]

    def __repr__(self) -> str:
        return (
            f"<tenantdb SQLAlchemy async connection routed={self._routed!r} admin={self._admin!r}>"
        )


def _tenant_id(session: AsyncSession | None) -> str | None:
    tenant = None if session is None else session.tenant
    return None if tenant is None else tenant.id


def _who(session: AsyncSession | None) -> str:
    return _describe(_tenant_id(session))


def _describe(tenant: str | None) -> str:
    return "no tenant" if tenant is None else f"tenant {tenant!r}"


class AsyncAdaptedCursor:
    """A DB-API cursor whose statement runs to completion (rows buffered) in ``execute``."""

    def __init__(self, connection: AsyncAdaptedConnection, scope: Scope) -> None:
        self.connection = connection
        self.arraysize = 1
        self._scope = scope
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Row] = []

    def execute(self, operation: str, parameters: Params = None) -> AsyncAdaptedCursor:
        self._reset()
        if runs_schema_runner(self._scope, operation, parameters):
            # As on the sync engine: every physical table, skipping those already done, on
            # the runner's own session (the cluster's thread-front admin pools, on a thread).
            script = operation.replace("%%", "%")
            await_only(apply_schema_async(self.connection.cluster, script))
            return self
        session = self.connection.session_for(self._scope)
        raw = self.connection.raw_datasource
        if raw is not None:
            result = await_only(session.execute_on(raw, operation, parameters))
        else:
            result = await_only(session.execute(operation, parameters))
        self._take(result)
        return self

    def executemany(
        self, operation: str, seq_of_parameters: Iterable[Params]
    ) -> AsyncAdaptedCursor:
        self._reset()
        session = self.connection.session_for(self._scope)
        self._take(await_only(session.executemany(operation, seq_of_parameters)))
        return self

    def _take(self, result: Any) -> None:
        self.description = result.description
        self.rowcount = result.rowcount
        self.lastrowid = result.lastrowid
        if result.description is not None:
            self._rows = list(await_only(result.fetchall()))
        await_only(result.close())

    def fetchone(self) -> Row | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Row]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    def fetchall(self) -> list[Row]:
        taken, self._rows = self._rows, []
        return taken

    def setinputsizes(self, sizes: Sequence[Any]) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def close(self) -> None:
        self._reset()

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio results call this when done; rows are already buffered."""

    def _reset(self) -> None:
        self.description = None
        self.rowcount = -1
        self.lastrowid = None
        self._rows = []
