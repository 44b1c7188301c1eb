"""The tenantdb exception tree, rooted in PEP 249 so ``except tenantdb.DatabaseError`` works.

::

    Error
    ├── InterfaceError
    ├── ConfigError                  the configuration is invalid (every problem listed)
    ├── UnknownTenantError           no tenant with that id
    ├── InvalidTenantError           a tenant record or change is malformed (field named)
    └── DatabaseError
        ├── OperationalError
        │   ├── ShardUnavailableError    a datasource refused or dropped the connection
        │   │   └── CircuitOpenError     its circuit breaker is open: nothing was sent
        │   ├── PoolTimeoutError         no pooled connection became free in time
        │   ├── RegistryUnavailableError the tenant store cannot be reached
        │   ├── PartialCommitError       some datasources committed, others did not
        │   ├── RateLimitedError         over the tenant's rate or concurrency limit
        │   ├── StatementTimeoutError    the call's deadline passed: cancelled on the server
        │   ├── ReplicaLagError
        │   ├── TenantStatusError        the tenant is suspended, or read-only and this writes
        │   └── TenantMovedError         the tenant moved away from where this write went: retry
        ├── ProgrammingError
        │   ├── SQLSyntaxError       the SQL text cannot be parsed (says where it stops)
        │   ├── RoutingError         the statement cannot be placed; the message says why
        │   └── TenantIsolationError the statement would cross a tenant boundary
        ├── NotSupportedError
        │   └── UnsupportedSQLError  a SQL shape tenantdb refuses rather than answer wrongly
        ├── IntegrityError
        ├── DataError
        └── InternalError

Every exception is picklable (its message is its only required argument) and may carry
``datasource``, ``role`` and ``statement`` context plus the driver's original error in
``orig``. Messages never contain parameter values or passwords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING


class Error(Exception):
    """Base class of every tenantdb error (PEP 249 ``Error``)."""

    def __init__(
        self,
        message: str,
        *,
        datasource: str | None = None,
        role: str | None = None,
        statement: str | None = None,
        orig: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.datasource = datasource
        self.role = role
        self.statement = statement
        self.orig = orig

    def __reduce__(self) -> tuple[object, ...]:
        # Keep keyword context across pickling (multiprocessing, logging handlers).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[Error], message: str, state: dict[str, object]) -> Error:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class Warning(Exception):
    """PEP 249 ``Warning``."""


class InterfaceError(Error):
    """Misuse of the tenantdb interface itself (closed session, wrong argument types)."""


class DatabaseError(Error):
    """An error related to the database or to a statement sent to it."""


class OperationalError(DatabaseError):
    """A problem with a datasource's operation, not with the statement."""


class ShardUnavailableError(OperationalError):
    """A datasource needed by the statement could not be reached."""


class CircuitOpenError(ShardUnavailableError):
    """The circuit breaker of the endpoint (``datasource``, ``role``) is open after recent
    connection failures: the statement was refused at once and nothing was sent.
    ``retry_after`` is the number of seconds until the breaker lets probes through."""

    def __init__(
        self,
        message: str,
        *,
        datasource: str | None = None,
        role: str | None = None,
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(message, datasource=datasource, role=role)
        self.retry_after = retry_after


class PoolTimeoutError(OperationalError):
    """Every connection of a datasource's pool stayed busy for the whole pool timeout.

    Raise ``pool.max_size`` for the datasource, shorten transactions, or lower concurrency.
    """


class PartialCommitError(OperationalError):
    """A transaction over several datasources committed on some and failed on others.

    ``committed`` lists the datasources whose commit succeeded (their changes are durable),
    ``failed`` the one whose commit raised (its changes are lost; ``orig`` says why) and
    ``rolled_back`` those not yet committed, which were rolled back. The application must
    reconcile: tenantdb does not run two-phase commit.
    """

    def __init__(
        self,
        message: str,
        *,
        committed: Sequence[str] = (),
        failed: Sequence[str] = (),
        rolled_back: Sequence[str] = (),
        datasource: str | None = None,
        role: str | None = None,
        statement: str | None = None,
        orig: BaseException | None = None,
    ) -> None:
        super().__init__(message, datasource=datasource, role=role, statement=statement, orig=orig)
        self.committed = tuple(committed)
        self.failed = tuple(failed)
        self.rolled_back = tuple(rolled_back)


class RegistryUnavailableError(OperationalError):
    """The tenant registry's store cannot be reached (refused, lost, timed out).

    Only raised where the registry has no answer of its own: tenants already known keep
    being served from the last good snapshot while the store is down.
    """


class RateLimitedError(OperationalError):
    """The tenant is over one of its limits: nothing was sent to a database.

    ``tenant`` is the tenant id, ``limit`` names the limit (``"requests_per_second"``,
    ``"max_concurrent"``, ``"max_concurrent_per_datasource"``) and ``retry_after`` is the
    number of seconds after which the same statement would be admitted (for a rate limit;
    for a concurrency limit, an estimate: 0.0 when unknown).
    """

    def __init__(
        self,
        message: str,
        *,
        tenant: str | None = None,
        limit: str | None = None,
        retry_after: float = 0.0,
        datasource: str | None = None,
    ) -> None:
        super().__init__(message, datasource=datasource)
        self.tenant = tenant
        self.limit = limit
        self.retry_after = retry_after


class StatementTimeoutError(OperationalError):
    """A call ran past its statement timeout (``timeout`` seconds: the per-call argument,
    else the tenant's ``limits.statement_timeout``).

    The statement was cancelled on the server (PostgreSQL cancel request, MySQL/MariaDB
    ``KILL QUERY``, SQLite interrupt), or never sent when the deadline passed before it
    could start (``datasource`` is then None when it passed in the tenant's queue). A write
    outside a transaction may or may not have been applied when the deadline fell as it
    finished. Inside a transaction the transaction is failed: roll it back. ``statement``
    is the physical statement, without parameter values.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float = 0.0,
        datasource: str | None = None,
        role: str | None = None,
        statement: str | None = None,
        orig: BaseException | None = None,
    ) -> None:
        super().__init__(message, datasource=datasource, role=role, statement=statement, orig=orig)
        self.timeout = timeout


class ReplicaLagError(OperationalError):
    """No replica is fresh enough and falling back to the primary is disabled."""


class TenantStatusError(OperationalError):
    """The tenant's status forbids the statement: suspended (nothing runs) or read_only
    (no writes). ``status`` is the tenant's status."""

    def __init__(self, message: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.status = status


class TenantMovedError(OperationalError):
    """A datasource refused a write because the tenant has moved to another datasource
    (the move fenced its old place). Nothing was written; retry the statement: the tenant
    registry routes it to the new place once this process has the new placement."""


class ProgrammingError(DatabaseError):
    """The statement is wrong for this cluster: bad SQL, bad parameters, bad routing."""


class SQLSyntaxError(ProgrammingError):
    """The SQL text cannot be read as one statement of the cluster's dialect: a syntax
    error, an unclosed quote or comment, an empty statement. The message says where
    reading stopped. (A statement that parses but has a shape tenantdb refuses on purpose
    is an UnsupportedSQLError instead.)"""


class RoutingError(ProgrammingError):
    """The statement cannot be sent anywhere without risking a wrong answer."""


class TenantIsolationError(ProgrammingError):
    """The statement would read or change another tenant's data."""


class NotSupportedError(DatabaseError):
    """PEP 249 ``NotSupportedError``."""


class UnsupportedSQLError(NotSupportedError):
    """A statement kind or SQL shape tenantdb refuses to run."""


class IntegrityError(DatabaseError):
    """A constraint was violated (unique key, foreign key, not null)."""


class DataError(DatabaseError):
    """A value was out of range or of the wrong type."""


class InternalError(DatabaseError):
    """The database reported an internal error."""


class UnknownTenantError(Error):
    """No tenant with this id exists: ``tenant_id`` names it.

    Raised on the registry's negative-hit path, a fresh instance each time, so building
    one is cheap: ``BaseException``'s own C constructor keeps ``(tenant_id[, message])``
    in ``args``, and the message is formatted only when it is read. It carries no
    datasource, role, statement or driver error (the class-level Nones below).
    """

    if TYPE_CHECKING:

        def __init__(self, tenant_id: str, message: str | None = None) -> None: ...

    else:
        __init__ = Exception.__init__

    datasource: str | None = None
    role: str | None = None
    statement: str | None = None
    orig: BaseException | None = None

    @property
    def tenant_id(self) -> str:
        tenant_id: str = self.args[0]
        return tenant_id

    @property
    def message(self) -> str:  # type: ignore[override]
        if len(self.args) > 1 and self.args[1]:
            given: str = self.args[1]
            return given
        return f"unknown tenant {self.args[0]!r}"

    def __reduce__(self) -> tuple[object, ...]:
        # Error's own rebuild passes the message as the first argument; this one takes
        # the id first, so it is rebuilt from ``args`` like a plain exception.
        return (type(self), self.args, self.__dict__.copy())


class InvalidTenantError(Error, ValueError):
    """A tenant record, or a change given to ``cluster.tenants.put``, is malformed.

    ``tenant_id`` names the tenant (None when the id itself is missing), ``field`` the
    offending field when there is one; the message says what to change.
    """

    def __init__(
        self, message: str, *, tenant_id: str | None = None, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.tenant_id = tenant_id
        self.field = field


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration: where it is (dotted key path) and what to change."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Error):
    """The configuration is invalid. ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: Sequence[ConfigProblem] | str) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem("", problems)]
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        count = len(self.problems)
        header = f"invalid configuration ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


__all__ = [
    "CircuitOpenError",
    "ConfigError",
    "ConfigProblem",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "InvalidTenantError",
    "NotSupportedError",
    "OperationalError",
    "PartialCommitError",
    "PoolTimeoutError",
    "ProgrammingError",
    "RateLimitedError",
    "RegistryUnavailableError",
    "ReplicaLagError",
    "RoutingError",
    "SQLSyntaxError",
    "ShardUnavailableError",
    "StatementTimeoutError",
    "TenantIsolationError",
    "UnknownTenantError",
    "UnsupportedSQLError",
    "Warning",
]
