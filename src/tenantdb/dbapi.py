"""A PEP 249 (DB-API 2.0) module over tenantdb, so tools that take a DB-API connection work.

::

    from . import dbapi

    conn = dbapi.connect("tenantdb.toml", tenant="acme")
    cur = conn.cursor()
    cur.execute("SELECT id, amount FROM orders WHERE id = %s", (1,))
    cur.fetchall()
    conn.commit()
    conn.close()

As PEP 249 prescribes, a connection opens a transaction implicitly with its first
statement and keeps it until ``commit()`` or ``rollback()``; pass ``autocommit=True`` (or
set ``conn.autocommit``) to let each statement commit on its own. A commit over several
datasources may raise PartialCommitError. One connection wraps one tenantdb Session: use it
from one thread at a time (``threadsafety = 1``: threads may share the module, not
connections).

With ``tenant=None`` (and not ``admin``) the connection follows
``tenantdb.tenant_context()``: each transaction (each statement in autocommit mode) runs for
the tenant the context names when it starts, so a connection kept in a pool and reused by
another request serves that request's tenant, never the previous one's.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ._cluster import Cluster, ConfigSource
from ._cluster import connect as _connect_cluster
from ._sync import Result, Session
from .core.routing import Params
from .core.tenancy import current_tenant
from .errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)
from .tenants import Tenant

apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"


def connect(
    config: ConfigSource | Cluster,
    tenant: str | Tenant | None = None,
    *,
    admin: bool = False,
    autocommit: bool = False,
) -> Connection:
    """Open a DB-API connection for ``tenant`` (or an admin one) over a tenantdb cluster.

    ``config`` is what ``tenantdb.connect()`` accepts, or an existing Cluster (shared, not
    closed with the connection). A cluster built here is closed with the connection.
    """
    if isinstance(config, Cluster):
        return Connection(config, tenant=tenant, admin=admin, autocommit=autocommit, owns=False)
    return Connection(
        _connect_cluster(config), tenant=tenant, admin=admin, autocommit=autocommit, owns=True
    )


class Connection:
    """A PEP 249 connection: one tenantdb Session plus transaction control."""

    Error = Error
    Warning = Warning
    InterfaceError = InterfaceError
    DatabaseError = DatabaseError
    DataError = DataError
    OperationalError = OperationalError
    IntegrityError = IntegrityError
    InternalError = InternalError
    ProgrammingError = ProgrammingError
    NotSupportedError = NotSupportedError

    def __init__(
        self,
        cluster: Cluster,
        *,
        tenant: str | Tenant | None,
        admin: bool,
        autocommit: bool,
        owns: bool,
    ) -> None:
        self.cluster = cluster
        self.autocommit = autocommit
        self._admin = admin
        # No explicit tenant: the session follows tenant_context() per transaction.
        self._follows_context = tenant is None and not admin
        self._session: Session | None = cluster.session(tenant, admin=admin)
        self._owns = owns

    @property
    def session(self) -> Session:
        """The tenantdb Session behind this connection."""
        if self._session is None:
            raise InterfaceError("the connection is closed")
        return self._session

    def cursor(self) -> Cursor:
        """A new cursor on this connection; InterfaceError once the connection is closed."""
        if self._session is None:
            raise InterfaceError("the connection is closed; open a new one with dbapi.connect()")
        return Cursor(self)

    def commit(self) -> None:
        """Commit the open transaction (nothing to do when none is open)."""
        self.session.commit()

    def rollback(self) -> None:
        """Roll back the open transaction (nothing to do when none is open)."""
        self.session.rollback()

    def close(self) -> None:
        """Roll back anything uncommitted and release the connections. Idempotent."""
        session, self._session = self._session, None
        if session is not None:
            session.close()
            if self._owns:
                self.cluster.close()

    @property
    def closed(self) -> bool:
        return self._session is None

    # -- two-phase commit (PEP 249's optional extension): not supported ----------------

    def xid(self, format_id: int, global_transaction_id: str, branch_qualifier: str) -> Any:
        """PEP 249's transaction id constructor; raises NotSupportedError."""
        raise _no_two_phase_commit()

    def tpc_begin(self, xid: Any) -> None:
        """Raises NotSupportedError: tenantdb does not run two-phase commit."""
        raise _no_two_phase_commit()

    def tpc_prepare(self) -> None:
        """Raises NotSupportedError: tenantdb does not run two-phase commit."""
        raise _no_two_phase_commit()

    def tpc_commit(self, xid: Any = None) -> None:
        """Raises NotSupportedError: tenantdb does not run two-phase commit."""
        raise _no_two_phase_commit()

    def tpc_rollback(self, xid: Any = None) -> None:
        """Raises NotSupportedError: tenantdb does not run two-phase commit."""
        raise _no_two_phase_commit()

    def tpc_recover(self) -> list[Any]:
        """Raises NotSupportedError: tenantdb does not run two-phase commit."""
        raise _no_two_phase_commit()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        # As sqlite3 does: commit on success, roll back on error; the connection stays open.
        if self._session is None:
            return
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def _before_statement(self) -> Session:
        session = self.session
        if self._follows_context and not session.in_transaction:
            session = self._for_current_tenant(session)
        if not self.autocommit and not session.in_transaction:
            session.begin()
        return session

    def _for_current_tenant(self, session: Session) -> Session:
        """The session for the tenant the context names now (a new one when it changed)."""
        wanted = current_tenant()
        if (session.tenant.id if session.tenant is not None else None) == wanted:
            return session
        session.close()
        self._session = self.cluster.session(wanted, admin=self._admin)
        return self._session

    def __repr__(self) -> str:
        return f"<tenantdb.dbapi.Connection {self._session!r}>"


def _no_two_phase_commit() -> NotSupportedError:
    return NotSupportedError(
        "two-phase commit is not supported by tenantdb: use commit(), which commits each "
        "datasource in turn and raises PartialCommitError naming what committed if one fails"
    )


class Cursor:
    """A PEP 249 cursor over tenantdb Results."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._result: Result | None = None
        self._closed = False

    @property
    def description(self) -> Any:
        return None if self._result is None else self._result.description

    @property
    def rowcount(self) -> int:
        return -1 if self._result is None else self._result.rowcount

    @property
    def lastrowid(self) -> int | None:
        return None if self._result is None else self._result.lastrowid

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        """Run one statement; ``%s`` / ``%(name)s`` placeholders (``paramstyle`` pyformat).

        Without ``parameters`` (None, not an empty sequence) the text is taken as written:
        a ``%`` is a percent sign, never a placeholder or half of ``%%``, as psycopg and
        PyMySQL read it (SQLAlchemy's ``no_parameters`` relies on that).
        """
        session = self._session()
        if parameters is None and isinstance(operation, str):
            operation = operation.replace("%", "%%")
        self._replace(session.execute(operation, parameters))
        return self

    def executemany(self, operation: str, seq_of_parameters: Iterable[Params]) -> Cursor:
        """Run one write statement for every parameter set, atomically."""
        session = self._session()
        self._replace(session.executemany(operation, seq_of_parameters))
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows().fetchone()

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._rows().fetchmany(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows().fetchall()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows())

    def setinputsizes(self, sizes: Sequence[Any]) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: int, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def close(self) -> None:
        self._replace(None)
        self._closed = True

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _session(self) -> Session:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        return self.connection._before_statement()

    def _rows(self) -> Result:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        if self._result is None:
            raise ProgrammingError("no statement has been executed on this cursor")
        if self._result.description is None:
            raise ProgrammingError("the last statement returned no rows to fetch")
        return self._result

    def _replace(self, result: Result | None) -> None:
        previous, self._result = self._result, result
        if previous is not None:
            previous.close()


# PEP 249 type objects and constructors.


def Date(year: int, month: int, day: int) -> datetime.date:  # PEP 249 names these functions
    return datetime.date(year, month, day)


def Time(hour: int, minute: int, second: int) -> datetime.time:
    return datetime.time(hour, minute, second)


def Timestamp(
    year: int, month: int, day: int, hour: int, minute: int, second: int
) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second)


def DateFromTicks(ticks: float) -> datetime.date:
    return datetime.date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:
    return datetime.time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:
    return datetime.datetime(*time.localtime(ticks)[:6])


def Binary(value: bytes | bytearray | memoryview) -> bytes:
    return bytes(value)


class _TypeObject:
    """Compares equal to every driver type code of its kind (PEP 249 type objects).

    Type codes differ per driver: psycopg gives OIDs and PyMySQL field type numbers, which
    these objects list; on SQLite tenantdb gives a plain table column's declared type (a
    string such as ``"VARCHAR(64)"``), read by SQLite's type affinity rules
    (``_sqlite_type_kind``), and None for an expression, which equals no type object.
    """

    def __init__(self, name: str, *codes: object) -> None:
        self.name = name
        self._codes = frozenset(codes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return _sqlite_type_kind(other) == self.name
        return other in self._codes

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"<dbapi type {self.name}>"


def _sqlite_type_kind(declared: str) -> str | None:
    """The PEP 249 type object name (``"STRING"``, ``"BINARY"``, ``"NUMBER"``,
    ``"DATETIME"``) of an SQLite column declared ``declared``, None for no declared type.

    SQLite's affinity rules, in their order: a name containing INT is an integer, CHAR,
    CLOB or TEXT a string, BLOB binary, REAL, FLOA or DOUB a number. The rest have NUMERIC
    affinity; of those, names with DATE or TIME (DATE, DATETIME, TIMESTAMP) are DATETIME,
    as applications declare them for dates, the others (NUMERIC, DECIMAL, BOOLEAN) NUMBER.
    """
    name = declared.upper()
    if not name.strip():
        return None
    if "INT" in name:
        return "NUMBER"
    if "CHAR" in name or "CLOB" in name or "TEXT" in name:
        return "STRING"
    if "BLOB" in name:
        return "BINARY"
    if "REAL" in name or "FLOA" in name or "DOUB" in name:
        return "NUMBER"
    if "DATE" in name or "TIME" in name:
        return "DATETIME"
    return "NUMBER"


# psycopg OIDs and PyMySQL FIELD_TYPE numbers for each PEP 249 type kind.
STRING = _TypeObject("STRING", 25, 1043, 1042, 19, 15, 253, 254)
BINARY = _TypeObject("BINARY", 17, 249, 250, 251, 252)
NUMBER = _TypeObject("NUMBER", 20, 21, 23, 700, 701, 1700, 0, 1, 2, 3, 4, 5, 8, 9, 246, 16)
DATETIME = _TypeObject("DATETIME", 1082, 1083, 1114, 1184, 7, 10, 11, 12, 13)
ROWID = _TypeObject("ROWID", 26)

__all__ = [
    "BINARY",
    "DATETIME",
    "NUMBER",
    "ROWID",
    "STRING",
    "Binary",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Date",
    "DateFromTicks",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ProgrammingError",
    "Time",
    "TimeFromTicks",
    "Timestamp",
    "TimestampFromTicks",
    "Warning",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
