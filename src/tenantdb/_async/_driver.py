"""The driver interface: what the executor needs from one database connection and its pool.

Written once for both fronts (the thread front's is generated from this module). Three
implementations sit behind it: SQLite, PostgreSQL (psycopg 3 with psycopg_pool) and
MySQL/MariaDB. The executor never touches a driver module directly, and every method here
raises tenantdb errors only (driver errors are translated in one place, ``tenantdb.drivers``,
with ``orig``, ``datasource``, ``role`` and ``statement`` set).

Statements arrive already in the driver's own placeholder style (``?`` for SQLite, ``%s``
elsewhere, with literal ``%`` doubled): the router renders them that way. ``params`` is
always a tuple, never None, so ``%%`` is unescaped consistently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypedDict, overload, runtime_checkable

from ..core.merge import Row as Row
from ..errors import OperationalError, StatementTimeoutError

Description = Sequence[Sequence[Any]]
"""PEP 249 ``cursor.description``: one 7-item sequence per column (a tuple, or the
driver's own column object where building tuples would cost more than the query), in a
tuple or a ``LazyDescription``."""


class LazyDescription(Sequence[Sequence[Any]]):
    """A description built on first use: most callers read the rows and never look at it,
    and a driver's column objects can cost as much as a point query's own parsing
    (psycopg builds a ``Column`` per column). Reads like the tuple ``build()`` returns, and
    compares equal to it; ``build`` runs at most once and is dropped after."""

    __slots__ = ("_build", "_columns")

    def __init__(self, build: Callable[[], Sequence[Sequence[Any]]]) -> None:
        self._build: Callable[[], Sequence[Sequence[Any]]] | None = build
        self._columns: tuple[Sequence[Any], ...] = ()

    def _resolved(self) -> tuple[Sequence[Any], ...]:
        build = self._build
        if build is not None:
            self._columns = tuple(build())
            self._build = None
        return self._columns

    @overload
    def __getitem__(self, index: int) -> Sequence[Any]: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Sequence[Any], ...]: ...

    def __getitem__(self, index: int | slice) -> Sequence[Any] | tuple[Sequence[Any], ...]:
        return self._resolved()[index]

    def __len__(self) -> int:
        return len(self._resolved())

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return iter(self._resolved())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyDescription):
            other = other._resolved()
        return self._resolved() == other

    __hash__ = None  # type: ignore[assignment]  # like a list: equal to a tuple, not hashable

    def __repr__(self) -> str:
        return repr(self._resolved())


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a call must be over: ``at`` is a ``time.monotonic()`` reading (seconds), and
    ``timeout_s`` the statement timeout it was set from (for errors and for the server's own
    limit)."""

    at: float
    timeout_s: float

    @classmethod
    def after(cls, timeout_s: float) -> Deadline:
        """The deadline ``timeout_s`` seconds from now."""
        return cls(time.monotonic() + timeout_s, timeout_s)

    def passed(self) -> bool:
        return time.monotonic() >= self.at


def timed_out(
    deadline: Deadline,
    *,
    datasource: str | None,
    role: str | None,
    statement: str | None,
    sent: bool,
    orig: BaseException | None = None,
) -> StatementTimeoutError:
    """The error for a call that ran past ``deadline``: cancelled on the server when it
    was ``sent``, else never sent."""
    where = "" if datasource is None else f" on datasource {datasource!r} ({role})"
    what = (
        "the statement was cancelled on the server (a write outside a transaction may or may"
        " not have been applied; inside one, roll the transaction back)"
        if sent
        else "nothing was sent"
    )
    return StatementTimeoutError(
        f"statement timeout of {deadline.timeout_s:g} s passed{where}: {what}. Make the"
        " statement cheaper, or pass a larger timeout= (or raise limits.statement_timeout)",
        timeout=deadline.timeout_s,
        datasource=datasource,
        role=role,
        statement=statement,
        orig=orig,
    )


def failed_by_timeout(*, datasource: str, role: str, statement: str) -> OperationalError:
    """The error of a statement in a transaction that a timed-out statement failed: MySQL
    and SQLite do not fail the transaction themselves, so their drivers refuse the rest of
    it, as PostgreSQL does."""
    return OperationalError(
        f"datasource {datasource!r} ({role}): the current transaction was failed by a "
        "statement that ran past its timeout; roll it back",
        datasource=datasource,
        role=role,
        statement=statement,
    )


class Outcome(NamedTuple):
    """What one eagerly executed statement returned."""

    description: Description | None
    """None for statements that return no rows."""
    rows: list[Row]
    """Every row (empty for statements that return none)."""
    rowcount: int
    """Rows changed for writes, rows returned for reads, -1 when the driver cannot tell."""
    lastrowid: int | None


class AsyncStream(Protocol):
    """An open result read in batches (a server-side cursor where the driver has one)."""

    @property
    def description(self) -> Description | None: ...

    async def fetch(self) -> list[Row]:
        """Return the next batch of at most the stream's batch size; ``[]`` once exhausted."""
        ...

    async def close(self) -> None:
        """Release the cursor (and any read transaction it opened). Idempotent."""
        ...


class AsyncConnection(Protocol):
    """One open connection of a datasource, in autocommit mode unless inside ``begin()``.

    Used by one caller at a time (the executor guarantees that).

    ``deadline`` (set by the session for the calls of one ``execute`` with a statement
    timeout, None otherwise) bounds ``execute``, ``executemany``, ``open_streams`` and
    ``begin``: a statement still running when it passes is cancelled on the server and
    raises ``StatementTimeoutError``; one not started by then is not sent. ``timed_out``
    is True once that happened during the current checkout (the circuit breaker counts the
    checkout as failed).
    """

    deadline: Deadline | None

    @property
    def timed_out(self) -> bool: ...

    @property
    def broken(self) -> bool:
        """True once a connection-level failure happened; the pool then discards it."""
        ...

    @property
    def lost(self) -> bool:
        """True once the server connection was lost (reset, closed, unreachable): a
        checkout that ends so counts against the endpoint's breaker. A connection the
        caller interrupted (a cancelled task) is ``broken`` but not ``lost``."""
        ...

    @property
    def in_transaction(self) -> bool: ...

    async def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement and fetch all its rows."""
        ...

    async def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement once per parameter tuple; return the summed row count."""
        ...

    async def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        """Open one stream per statement, all readable at the same time on this connection.

        SQLite: plain cursors. PostgreSQL: named (server-side) cursors, inside a read
        transaction opened here when none is active and closed with the last stream.
        MySQL/MariaDB cannot keep two unbuffered results open on one connection: a single
        statement streams (``SSCursor``); with several, all but the last are buffered
        (documented limit: bounded by the shard LIMIT when the statement has one).
        """
        ...

    async def begin(self) -> None:
        """Start a transaction (SQLite: ``BEGIN DEFERRED``; its first write takes the lock)."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    def mark_dirty(self) -> None:
        """The session may have changed connection state (settings, roles, temporary
        objects, locks): the pool's release then resets the server session fully
        (PostgreSQL ``DISCARD ALL`` but its DEALLOCATE ALL, MySQL ``COM_RESET_CONNECTION``,
        SQLite reconnects) instead of only rolling back. See ``core.session``."""
        ...


@runtime_checkable
class AsyncCopyConnection(Protocol):
    """What a connection whose server has ``COPY`` adds (PostgreSQL only): bulk data moved
    in the server's own formats, never converted to Python values. Both run in the open
    transaction, if any, like ``execute``; neither is bounded by ``deadline``."""

    async def copy_out(self, sql: str, params: tuple[Any, ...]) -> tuple[bytes, int]:
        """Run ``COPY (...) TO STDOUT`` (``%s`` placeholders, bound on the client); return
        every byte it sent and the number of rows."""
        ...

    async def copy_in(self, sql: str, data: bytes) -> int:
        """Run ``COPY ... FROM STDIN`` fed with ``data`` (what a ``copy_out`` of the same
        format returned); return the number of rows written."""
        ...


class PoolStats(TypedDict):
    """One pool's occupancy: ``size`` open connections (``in_use`` + ``idle``, plus any
    being opened), ``waiting`` callers queued in ``acquire``, ``max_size`` its cap."""

    size: int
    in_use: int
    idle: int
    waiting: int
    max_size: int


class AsyncPool(Protocol):
    """The connections of one datasource URL (primary or one replica)."""

    @property
    def name(self) -> str:
        """The datasource name, used in every error."""
        ...

    @property
    def in_use(self) -> int:
        """Connections handed out by ``acquire`` and not yet released."""
        ...

    def stats(self) -> PoolStats:
        """How full the pool is now, for ``status()`` and metrics; cheap, never waits."""
        ...

    async def acquire(self) -> AsyncConnection:
        """Return a connection; PoolTimeoutError after the pool timeout, ShardUnavailableError
        when the server refuses connections (both naming the datasource)."""
        ...

    async def release(self, connection: AsyncConnection) -> None:
        """Give a connection back: rolled back if it is still in a transaction, discarded if
        ``broken``."""
        ...

    async def resize(self, min_size: int, max_size: int, timeout: float) -> None:
        """Take new sizes and a new acquire timeout (a configuration reload): a pool over
        the new ``max_size`` closes connections as they come back until it is under it."""
        ...

    async def close(self) -> None:
        """Close every idle connection; connections still out are closed on release."""
        ...
