"""The DB-API connection SQLAlchemy's pool holds: tenantdb.dbapi connections, one per kind
of session, chosen per transaction by the statement's Scope.

SQLAlchemy pools one object per "connection" and reuses it across requests (and tenants),
so this object never fixes a tenant: a routed ``tenantdb.dbapi`` connection that follows
the tenant context (its session is replaced when a transaction begins for another tenant)
and, when first asked for, an admin one. Only one of them holds a transaction at a time,
and both are released (their physical connections back in tenantdb's pools) when
SQLAlchemy's pool takes the connection back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ... import dbapi
from ..._cluster import Cluster
from ..._sync import Result
from ...admin import apply_schema
from ...core.routing import Params
from ...core.tenancy import current_tenant, tenant_context
from ...errors import InterfaceError, ProgrammingError, TenantIsolationError
from ._scope import ROUTED, Scope

Row = tuple[Any, ...]

# Schema statements tenantdb's schema runner makes idempotent (it skips a physical table
# whose work the catalog shows done), so a create_all() that stopped half way can re-run.
_SCHEMA_RUNNER = re.compile(
    r"\s*(CREATE\s+(UNIQUE\s+)?INDEX|CREATE\s+TABLE|DROP\s+TABLE|ALTER\s+TABLE)\b",
    re.IGNORECASE,
)


def runs_schema_runner(scope: Scope, operation: str, parameters: Params) -> bool:
    """Whether ``operation`` goes to tenantdb's schema runner: a SQLAlchemy schema construct
    the runner handles, without parameters, in an admin scope (no tenant named)."""
    if not scope.ddl or parameters or not _SCHEMA_RUNNER.match(operation):
        return False
    _, admin = scope.resolve(current_tenant())
    return admin


class Connection:
    """A DB-API connection for SQLAlchemy over one tenantdb Cluster (shared, not owned).

    ``cursor(scope)`` takes the Scope SQLAlchemy's execution context computed from the
    statement's options; ``cursor()`` (SQLAlchemy's own probes) is the routed scope.
    ``raw(datasource)`` sends every statement of a block, as written, to that datasource's
    primary (server probes and catalog reflection on physical names; nothing is routed).
    ``release()`` (on SQLAlchemy's pool check-in) returns the physical connections to
    tenantdb's pools, so idle pooled objects hold none.
    """

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._routed: dbapi.Connection | None = None
        self._admin: dbapi.Connection | None = None
        self._autocommit = False
        self._raw: str | None = None
        self._closed = False

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._autocommit = value
        for connection in self._open():
            connection.autocommit = value

    @property
    def raw_datasource(self) -> str | None:
        """The datasource of an open ``raw()`` block, else None."""
        return self._raw

    @contextmanager
    def raw(self, datasource: str) -> Iterator[None]:
        """Run the block's statements as written on ``datasource``'s primary (admin)."""
        previous, self._raw = self._raw, datasource
        try:
            yield
        finally:
            self._raw = previous

    def cursor(self, scope: Scope = ROUTED) -> Cursor:
        if self._closed:
            raise InterfaceError("the connection is closed; SQLAlchemy's pool opens a new one")
        return Cursor(self, scope)

    def commit(self) -> None:
        for connection in self._open():
            connection.commit()

    def rollback(self) -> None:
        for connection in self._open():
            connection.rollback()

    def close(self) -> None:
        """Roll back what is uncommitted and release the sessions (the cluster stays)."""
        self._closed = True
        self.release()

    def release(self) -> None:
        """Roll back what is uncommitted and return every physical connection to
        tenantdb's pools; the next statement opens new sessions (sessions connect lazily)."""
        connections = self._open()
        self._routed = self._admin = None
        for connection in connections:
            connection.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def routed(self) -> dbapi.Connection:
        """The tenantdb.dbapi connection of routed (non-admin) statements."""
        if self._routed is None:
            self._routed = dbapi.connect(self.cluster, autocommit=self._autocommit)
        return self._routed

    def execute_raw(self, datasource: str, sql: str, params: Params) -> Result:
        """One statement as written on ``datasource``'s primary, in the admin session."""
        if self.cluster.topology.dialect == "sqlite" and params and "?" in sql:
            # SQLAlchemy's SQLite reflection writes its few parameterised catalog queries
            # with sqlite3's "?" markers (and no quoted "?"); tenantdb takes pyformat.
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self._admin_connection().session.execute_on(datasource, sql, params)

    def connection_for(self, scope: Scope) -> tuple[dbapi.Connection, str | None]:
        """The tenantdb.dbapi connection a statement of ``scope`` runs on, and the tenant
        to set as context around it. Raises TenantIsolationError when a transaction open
        on the other connection (or for another tenant) would be crossed."""
        tenant, admin = scope.resolve(current_tenant())
        routed_open = self._routed is not None and self._routed.session.in_transaction
        admin_open = self._admin is not None and self._admin.session.in_transaction
        if admin:
            if routed_open:
                raise TenantIsolationError(
                    f"this transaction began for {_who(self.routed)}; an admin statement "
                    "needs a transaction of its own: commit or roll back first"
                )
            return self._admin_connection(), None
        if admin_open:
            raise TenantIsolationError(
                f"this transaction began in an admin session; a statement for "
                f"{_describe(tenant)} needs a transaction of its own: commit or roll back first"
            )
        if routed_open and _tenant_id(self.routed) != tenant:
            raise TenantIsolationError(
                f"this transaction began for {_who(self.routed)}; a statement for "
                f"{_describe(tenant)} needs a transaction of its own: commit or roll back first"
            )
        return self.routed, tenant

    def _admin_connection(self) -> dbapi.Connection:
        if self._admin is None:
            self._admin = dbapi.connect(self.cluster, admin=True, autocommit=self._autocommit)
        return self._admin

    def _open(self) -> list[dbapi.Connection]:
        return [c for c in (self._routed, self._admin) if c is not None and not c.closed]

    def __repr__(self) -> str:
        return f"<tenantdb SQLAlchemy connection routed={self._routed!r} admin={self._admin!r}>"


def _tenant_id(connection: dbapi.Connection) -> str | None:
    tenant = connection.session.tenant
    return None if tenant is None else tenant.id


def _who(connection: dbapi.Connection) -> str:
    return _describe(_tenant_id(connection))


def _describe(tenant: str | None) -> str:
    return "no tenant" if tenant is None else f"tenant {tenant!r}"


class Cursor:
    """A DB-API cursor whose statements run in the session its Scope selects."""

    def __init__(self, connection: Connection, scope: Scope) -> None:
        self.connection = connection
        self.arraysize = 1
        self._scope = scope
        self._cursor: dbapi.Cursor | None = None
        self._result: Result | None = None

    @property
    def description(self) -> Any:
        if self._result is not None:
            return self._result.description
        return None if self._cursor is None else self._cursor.description

    @property
    def rowcount(self) -> int:
        if self._result is not None:
            return self._result.rowcount
        return -1 if self._cursor is None else self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        if self._result is not None:
            return self._result.lastrowid
        return None if self._cursor is None else self._cursor.lastrowid

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        self._reset()
        datasource = self.connection.raw_datasource
        if datasource is not None:
            self._result = self.connection.execute_raw(datasource, operation, parameters)
            return self
        if runs_schema_runner(self._scope, operation, parameters):
            # The schema runner's own admin session, committed there (as DDL is on MySQL
            # anyway): every physical table, skipping those already done. It joins no
            # open transaction, so none is crossed. SQLAlchemy wrote %% for each % (the
            # pyformat escape); the runner takes the text as plain SQL.
            apply_schema(self.connection.cluster, operation.replace("%%", "%"))
            return self
        target, tenant = self.connection.connection_for(self._scope)
        self._cursor = target.cursor()
        with tenant_context(tenant):
            self._cursor.execute(operation, parameters)
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Params]) -> Cursor:
        self._reset()
        if self.connection.raw_datasource is not None:
            raise ProgrammingError("executemany() is not available in a raw catalog block")
        target, tenant = self.connection.connection_for(self._scope)
        self._cursor = target.cursor()
        with tenant_context(tenant):
            self._cursor.executemany(operation, seq_of_parameters)
        return self

    def fetchone(self) -> Row | None:
        if self._result is not None:
            return self._result.fetchone()
        return self._rows().fetchone()

    def fetchmany(self, size: int | None = None) -> list[Row]:
        count = self.arraysize if size is None else size
        if self._result is not None:
            return self._result.fetchmany(count)
        return self._rows().fetchmany(count)

    def fetchall(self) -> list[Row]:
        if self._result is not None:
            return self._result.fetchall()
        return self._rows().fetchall()

    def setinputsizes(self, sizes: Sequence[Any]) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def close(self) -> None:
        self._reset()

    def _rows(self) -> dbapi.Cursor:
        if self._cursor is None:
            raise ProgrammingError("no statement has been executed on this cursor")
        return self._cursor

    def _reset(self) -> None:
        cursor, self._cursor = self._cursor, None
        result, self._result = self._result, None
        if cursor is not None:
            cursor.close()
        if result is not None:
            result.close()
