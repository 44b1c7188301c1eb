"""The PostgreSQL driver (psycopg 3) and its pool (psycopg_pool), for ``postgresql:`` URLs.

Written once, in ``tenantdb._async`` on psycopg's and psycopg_pool's asyncio classes; the
thread front's copy in ``tenantdb._sync`` is generated from it on their blocking twins.

Connections run in autocommit mode. ``begin()`` sends ``BEGIN`` and ``commit()`` /
``rollback()`` use psycopg's, which act on the server's transaction status whatever the
autocommit setting; a connection is therefore never switched out of autocommit, and
psycopg never opens a transaction on its own.

Streams are named (server-side) cursors read with ``FETCH FORWARD batch_size``. They only
live inside a transaction: outside one, ``open_streams`` opens
``BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`` (every stream then reads the same
snapshot) and ends it when the last of its streams closes; inside the caller's transaction
the cursors simply share it. While such a read transaction is open, other statements on
the connection run in it too, and writes are refused by the server.

Interrupted statements (a cancelled task; on threads, KeyboardInterrupt). psycopg handles
the interruption itself (``AsyncConnection.wait``, read in psycopg 3.3.9): while a
statement runs it sends the server a cancel request, waits up to 5 s for the statement to
end, and re-raises; the connection is then idle, or in a failed transaction that the
pool's release rolls back. If the statement does not end, or that clean-up is interrupted
again, psycopg 3.3 closes the connection (``broken`` here). Older psycopg (3.0's source
catches KeyboardInterrupt only) left the connection busy with the statement still running
on the server, and psycopg's ``close()`` sends no cancel. So a connection found busy
between calls counts as ``broken`` here, and closing it cancels the statement on the server
first: neither the pool nor the server keeps a half-finished statement.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import psycopg
import psycopg_pool
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

from .._concurrency import AsyncMonitor, AsyncWatchdog
from ..config import PoolConfig, redact_url
from ..drivers import (
    ConnectFailureLog,
    connect_timed_out,
    endpoint,
    error_kinds,
    is_timeout,
    pool_closed,
    pool_timeout,
    still_connecting,
    translate,
    unreachable,
)
from ..errors import ConfigError, Error, InterfaceError, OperationalError
from ..telemetry import ThrottledLog
from ._driver import (
    AsyncConnection,
    AsyncStream,
    Deadline,
    Description,
    LazyDescription,
    Outcome,
    PoolStats,
    Row,
    timed_out,
)

T = TypeVar("T")

RawConnection = psycopg.AsyncConnection[TupleRow]

_LOG = logging.getLogger("tenantdb.timeouts")
# One per endpoint and minute: a server that cannot be reached fails every cancel.
_CANCEL_FAILURES = ThrottledLog(_LOG)

_KINDS = error_kinds(psycopg)
_BAD = pq.ConnStatus.BAD
_IDLE = pq.TransactionStatus.IDLE
_ACTIVE = pq.TransactionStatus.ACTIVE
_INERROR = pq.TransactionStatus.INERROR
_UNKNOWN = pq.TransactionStatus.UNKNOWN
# Results that describe their columns even without any (psycopg's ``description`` rule).
_ROWS_STATUS = (
    pq.ExecStatus.TUPLES_OK,
    pq.ExecStatus.SINGLE_TUPLE,
    pq.ExecStatus.TUPLES_CHUNK,
)
# Up to this many rows, a result keeps its cursor (and the server's copy of the rows) for
# a description built on first use; above, the description is built at once instead.
_LAZY_DESCRIPTION_ROWS = 100
_STREAM_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# DISCARD ALL but DEALLOCATE ALL, in one round trip (outside a transaction, after the
# rollback): settings back to the connection's defaults, SET ROLE / SESSION AUTHORIZATION
# undone, cursors, LISTENs, advisory locks, cached plans, temporary tables and sequence
# state dropped. Prepared statements stay: they are psycopg's own (tenantdb's statements;
# PREPARE is refused), and dropping them behind psycopg's back breaks its next execute.
_RESET_SESSION = (
    "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *;"
    " SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES"
)
# How long closing a connection busy with an interrupted statement waits for the server to
# take the cancel request (psycopg's cancel_safe raises CancellationTimeout after it).
_CANCEL_TIMEOUT_S = 5.0

# Statement timeouts: the process's watchdog (its one thread, on the thread front).
_WATCHDOG = AsyncWatchdog.shared()
# How long a timed-out statement's cancel request may take to reach the server.
_TIMEOUT_CANCEL_S = 2.0

# acquire() waits in slices that double from _FIRST_WAIT_S up to _MAX_WAIT_S, looking
# between slices for failed connection attempts, so a server that refuses connections is
# reported at once instead of after the whole pool timeout.
_FIRST_WAIT_S = 0.05
_MAX_WAIT_S = 1.0


def connect_kwargs(url: str, timeout: float) -> dict[str, Any]:
    """Return the keyword arguments of every psycopg connect for ``url``.

    Autocommit on; ``connect_timeout`` is the pool timeout (at least 2 s, libpq's minimum)
    unless the URL sets one. Raises ``ConfigError`` for a URL libpq cannot parse.
    """
    try:
        written = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ConfigError(f"invalid PostgreSQL URL {redact_url(url)!r}: {exc}") from exc
    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout" not in written:
        kwargs["connect_timeout"] = max(2, math.ceil(timeout))
    return kwargs


async def connect(
    url: str, *, datasource: str, role: str = "primary", timeout: float = 30.0
) -> AsyncPostgresConnection:
    """Open one connection outside any pool (raises ``ShardUnavailableError``); the caller
    closes it with ``close()``."""
    kwargs = connect_kwargs(url, timeout)
    try:
        raw = await psycopg.AsyncConnection.connect(url, **kwargs)
    except psycopg.Error as exc:
        if is_timeout(exc):
            raise connect_timed_out(
                datasource=datasource,
                role=role,
                address=endpoint(url),
                seconds=kwargs.get("connect_timeout") or timeout,
                exc=exc,
            ) from exc
        raise unreachable(exc, datasource=datasource, role=role, url=url, reason=str(exc)) from exc
    return AsyncPostgresConnection(raw, datasource=datasource, role=role)


class AsyncPostgresConnection:
    """One psycopg connection of a datasource; see ``_driver.AsyncConnection``.

    A pool hands out a new ``AsyncPostgresConnection`` around its psycopg connection on
    every acquire; after release the wrapper refuses further use.
    """

    __slots__ = (
        "_cursor",
        "_datasource",
        "_dirty",
        "_local_timeout_ms",
        "_owner",
        "_raw",
        "_released",
        "_role",
        "_stream_seq",
        "_stream_transaction",
        "_streams",
        "deadline",
        "timed_out",
    )

    def __init__(
        self, raw: RawConnection, *, datasource: str, role: str, owner: object = None
    ) -> None:
        self._raw = raw
        self._owner = owner  # the AsyncPostgresPool it came from, None outside a pool
        self._datasource = datasource
        self._role = role
        self._streams: set[AsyncPostgresStream] = set()
        self._stream_seq = 0
        self._stream_transaction = False  # the open transaction is the streams' own
        self._released = False
        self._dirty = False
        # The client-side cursor of execute(), made on first use (see there).
        self._cursor: psycopg.AsyncCursor[TupleRow] | None = None
        self.deadline: Deadline | None = None
        """Bounds the next calls (see ``_driver.AsyncConnection``); set by the session."""
        self.timed_out = False
        """A statement of this checkout ran past its deadline."""
        # The SET LOCAL statement_timeout in force in the open transaction (None: none).
        self._local_timeout_ms: int | None = None

    @property
    def broken(self) -> bool:
        """True once psycopg has lost the connection (``closed``), or while it is still busy
        with a statement between calls (an interrupted one: see the module docstring)."""
        # pgconn, not ``info``: ``info`` builds a new object on every read.
        pgconn = self._raw.pgconn
        return pgconn.status == _BAD or pgconn.transaction_status == _ACTIVE

    @property
    def lost(self) -> bool:
        return bool(self._raw.pgconn.status == _BAD)

    @property
    def in_transaction(self) -> bool:
        """True while the server has a transaction open (also a streams' read transaction)."""
        return self._raw.pgconn.transaction_status not in (_IDLE, _UNKNOWN)

    async def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``%s`` placeholders) and fetch all its rows.

        The description of a small result is built when first read (``LazyDescription``)
        from the server's result, which stays referenced until then. A bigger result's is
        built at once.
        """
        self._check_usable()
        if self.deadline is not None:
            return await self._within(self.deadline, sql, self._execute, sql, params)
        if self._local_timeout_ms is not None:
            await self._drop_local_timeout()
        return await self._execute(sql, params)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        # One client-side cursor per connection, reused: a new psycopg cursor looks its
        # dumpers and loaders up again, which costs a point read about a fifth of its time.
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self._raw.cursor()
        try:
            await cursor.execute(sql, params)
            result = cursor.pgresult
            if result is None or not (result.nfields or result.status in _ROWS_STATUS):
                return Outcome(None, [], cursor.rowcount, None)
            rows: list[Row] = await cursor.fetchall()
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc
        if len(rows) > _LAZY_DESCRIPTION_ROWS:
            return Outcome(_describe(cursor.description), rows, len(rows), None)
        columns = _ResultColumns(result, self._raw.info.encoding, cursor.adapters)
        return Outcome(LazyDescription(columns.build), rows, len(rows), None)

    async def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple; return the summed row count."""
        self._check_usable()
        if not seq_of_params:
            return 0
        if self.deadline is not None:
            return await self._within(self.deadline, sql, self._executemany, sql, seq_of_params)
        if self._local_timeout_ms is not None:
            await self._drop_local_timeout()
        return await self._executemany(sql, seq_of_params)

    async def _executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        try:
            async with self._raw.cursor() as cursor:
                await cursor.executemany(sql, seq_of_params)
                return cursor.rowcount
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    async def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        """Declare one named cursor per statement; see the module docstring."""
        self._check_usable()
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        if not statements:
            return []
        if self.deadline is not None:
            first = statements[0][0]
            return await self._within(
                self.deadline, first, self._open_streams, statements, batch_size
            )
        if self._local_timeout_ms is not None:
            await self._drop_local_timeout()
        return await self._open_streams(statements, batch_size)

    async def _open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        if not self.in_transaction:
            await self._command(_STREAM_BEGIN)
            self._stream_transaction = True
        streams: list[AsyncStream] = []
        for sql, params in statements:
            self._stream_seq += 1
            cursor = self._raw.cursor(name=f"tenantdb_stream_{self._stream_seq}")
            cursor.itersize = batch_size
            try:
                await cursor.execute(sql, params)
            except psycopg.Error as exc:
                error = self._error(exc, sql)
                # Clean up what can be; the statement's error is the one to report.
                with contextlib.suppress(psycopg.Error, Error):
                    await cursor.close()
                    for stream in streams:
                        await stream.close()
                    if self._stream_transaction and not self._streams:
                        await self._end_stream_transaction()
                raise error from exc
            stream = AsyncPostgresStream(self, cursor, sql, batch_size)
            self._streams.add(stream)
            streams.append(stream)
        return streams

    async def begin(self) -> None:
        """Start a transaction (``BEGIN``)."""
        self._check_usable()
        if self._streams and self._stream_transaction:
            raise InterfaceError(
                f"close the open streams on datasource {self._datasource!r} before begin()",
                datasource=self._datasource,
                role=self._role,
            )
        if self.in_transaction:
            raise InterfaceError(
                f"a transaction is already open on datasource {self._datasource!r}",
                datasource=self._datasource,
                role=self._role,
            )
        deadline = self.deadline
        self._local_timeout_ms = None
        if deadline is None:
            await self._command("BEGIN")
            return
        if deadline.passed():
            raise self._timeout(deadline, "BEGIN", sent=False)
        # The server enforces the timeout too, even if this client dies; SET LOCAL ends
        # with the transaction, so a transaction pooler's next client never inherits it.
        milliseconds = _milliseconds(deadline)
        await self._command(f"BEGIN; SET LOCAL statement_timeout = {milliseconds}")
        self._local_timeout_ms = milliseconds

    async def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one.

        A transaction aborted by an earlier error cannot commit (PostgreSQL would roll it
        back silently): it is rolled back and ``OperationalError`` says so.
        """
        self._check_usable()
        await self._close_streams()
        self._local_timeout_ms = None
        if self._raw.info.transaction_status == _INERROR:
            await self.rollback()
            raise OperationalError(
                f"datasource {self._datasource!r} ({self._role}): the transaction was aborted "
                "by an earlier error and has been rolled back; nothing was committed",
                datasource=self._datasource,
                role=self._role,
                statement="COMMIT",
            )
        try:
            await self._raw.commit()
        except psycopg.Error as exc:
            raise self._error(exc, "COMMIT") from exc

    async def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one."""
        self._check_usable()
        await self._close_streams()
        self._local_timeout_ms = None
        try:
            await self._raw.rollback()
        except psycopg.Error as exc:
            raise self._error(exc, "ROLLBACK") from exc

    async def copy_out(self, sql: str, params: tuple[Any, ...]) -> tuple[bytes, int]:
        """See ``_driver.AsyncCopyConnection.copy_out``."""
        self._check_usable()
        if self._local_timeout_ms is not None:
            await self._drop_local_timeout()
        data = bytearray()
        try:
            async with self._raw.cursor() as cursor:
                async with cursor.copy(sql, params) as copy:
                    async for block in copy:
                        data += block
                return bytes(data), cursor.rowcount
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    async def copy_in(self, sql: str, data: bytes) -> int:
        """See ``_driver.AsyncCopyConnection.copy_in``."""
        self._check_usable()
        if self._local_timeout_ms is not None:
            await self._drop_local_timeout()
        try:
            async with self._raw.cursor() as cursor:
                async with cursor.copy(sql) as copy:
                    await copy.write(data)
                return cursor.rowcount
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def mark_dirty(self) -> None:
        """See ``_driver.AsyncConnection.mark_dirty``."""
        self._dirty = True

    async def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this);
        after a session that may have changed state, ``_RESET_SESSION`` too (see there)."""
        if not self._dirty and not self._streams and self._raw.pgconn.transaction_status == _IDLE:
            return  # nothing to undo: what rollback() would find, without psycopg's lock
        await self.rollback()
        if self._dirty:
            try:
                await self._raw.execute(_RESET_SESSION, prepare=False)
            except psycopg.Error as exc:
                raise self._error(exc, _RESET_SESSION) from exc
            self._dirty = False

    async def close(self) -> None:
        """Close a connection opened by ``connect`` (a statement still running is cancelled
        on the server first). Never raises."""
        self._streams.clear()
        await self._discard()

    async def _release(self) -> None:
        # Called by AsyncPostgresPool.release: clean up, then refuse any further use. The
        # pool discards the psycopg connection if it ends closed.
        try:
            if self.broken:
                await self._discard()
            else:
                try:
                    await self.reset()
                except Error:
                    await self._discard()
        except BaseException:
            # Interrupted halfway through the clean-up (the releasing task was cancelled):
            # the session's state is unknown, so the connection goes.
            await self._discard()
            raise
        finally:
            self._released = True
            self._streams.clear()

    async def _discard(self) -> None:
        # psycopg's close() leaves a statement that is still running to the server.
        if self._raw.info.transaction_status == _ACTIVE:
            with contextlib.suppress(psycopg.Error):
                await self._raw.cancel_safe(timeout=_CANCEL_TIMEOUT_S)
        await self._raw.close()

    def _check_usable(self) -> None:
        if self._released:
            raise InterfaceError(
                f"this connection of datasource {self._datasource!r} was released to its pool",
                datasource=self._datasource,
                role=self._role,
            )

    async def _within(
        self,
        deadline: Deadline,
        sql: str,
        run: Callable[..., Awaitable[T]],
        *args: Any,
    ) -> T:
        """``run(*args)`` under ``deadline``: not started once it has passed, cancelled on
        the server (``cancel_safe``, from the watchdog) when it passes meanwhile. The
        QueryCanceled (SQLSTATE 57014) that cancel causes becomes ``StatementTimeoutError``;
        one this deadline did not cause stays what it is. Inside a transaction the server's
        own ``statement_timeout`` is set too (``SET LOCAL``)."""
        if deadline.passed():
            raise self._timeout(deadline, sql, sent=False)
        if self._raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            milliseconds = _milliseconds(deadline)
            if self._local_timeout_ms != milliseconds:
                await self._command(f"SET LOCAL statement_timeout = {milliseconds}")
                self._local_timeout_ms = milliseconds
        alarm = _WATCHDOG.arm(deadline.at, self._cancel_running)
        try:
            result = await run(*args)
        except Error as exc:
            fired = await alarm.disarm()
            cancelled = isinstance(exc.orig, psycopg.errors.QueryCanceled)
            if cancelled and (fired or deadline.passed()):
                raise self._timeout(deadline, sql, sent=True, orig=exc.orig) from exc.orig
            raise
        except BaseException:
            await alarm.disarm()
            raise
        await alarm.disarm()
        return result

    async def _cancel_running(self) -> None:
        # The watchdog calls this once a deadline passed (on the thread front, from its
        # thread: cancel_safe takes no lock of the connection). A cancel that reaches the
        # server after the statement ended finds the session idle, and is ignored there.
        try:
            await self._raw.cancel_safe(timeout=_TIMEOUT_CANCEL_S)
        except psycopg.Error as exc:
            _CANCEL_FAILURES.warning(
                f"{self._datasource}/{self._role}",
                "could not cancel a timed-out statement on datasource %r (%s): %s",
                self._datasource,
                self._role,
                exc,
            )

    def _timeout(
        self, deadline: Deadline, sql: str, *, sent: bool, orig: BaseException | None = None
    ) -> Error:
        self.timed_out = True
        return timed_out(
            deadline,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            sent=sent,
            orig=orig,
        )

    async def _drop_local_timeout(self) -> None:
        # A statement without a deadline, in a transaction where an earlier one set the
        # server's limit: back to the session's own.
        self._local_timeout_ms = None
        if self._raw.pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            await self._command("SET LOCAL statement_timeout TO DEFAULT")

    async def _command(self, sql: str) -> None:
        try:
            await self._raw.execute(sql)
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    async def _close_streams(self) -> None:
        for stream in list(self._streams):
            await stream.close()

    async def _forget(self, stream: AsyncPostgresStream) -> None:
        # The last stream of a read transaction opened for streams ends that transaction.
        self._streams.discard(stream)
        if self._stream_transaction and not self._streams:
            await self._end_stream_transaction()

    async def _end_stream_transaction(self) -> None:
        self._stream_transaction = False
        self._local_timeout_ms = None
        if not self._raw.closed:
            try:
                await self._raw.rollback()  # read only: rolling back loses nothing
            except psycopg.Error as exc:
                raise self._error(exc, "ROLLBACK") from exc

    def _error(self, exc: psycopg.Error, sql: str) -> Error:
        # The primary message only: DETAIL lines may quote row values.
        message = exc.diag.message_primary or str(exc).partition("\n")[0]
        if exc.sqlstate:
            message = f"{message} (SQLSTATE {exc.sqlstate})"
        return translate(
            exc,
            _KINDS,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            message=message,
            connection_lost=self._raw.closed,
        )

    def __repr__(self) -> str:
        status = pq.TransactionStatus(self._raw.info.transaction_status).name.lower()
        return f"<AsyncPostgresConnection {self._datasource} ({self._role}) {status}>"


def _milliseconds(deadline: Deadline) -> int:
    # The whole timeout, not what is left of it: the client's deadline fires first, and
    # one value serves every statement of a transaction under the same timeout.
    return max(1, math.ceil(deadline.timeout_s * 1000))


class AsyncPostgresStream:
    """A result read ``batch_size`` rows at a time from a named cursor."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_sql")

    def __init__(
        self,
        connection: AsyncPostgresConnection,
        cursor: psycopg.AsyncServerCursor[TupleRow],
        sql: str,
        batch_size: int,
    ) -> None:
        self._connection = connection
        self._cursor: psycopg.AsyncServerCursor[TupleRow] | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._description = _describe(cursor.description)

    @property
    def description(self) -> Description | None:
        return self._description

    async def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the cursor is exhausted: it is closed at once (and the read
        transaction with it, if it was the last stream).
        """
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = await cursor.fetchmany(self._batch_size)
        except psycopg.Error as exc:
            error = self._connection._error(exc, self._sql)
            await self._close_quietly()
            raise error from exc
        if len(rows) < self._batch_size:
            await self.close()
        return rows

    async def close(self) -> None:
        """Close the cursor (and the streams' read transaction after the last). Idempotent."""
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        try:
            await cursor.close()
        except psycopg.Error as exc:
            await self._connection._forget(self)
            raise self._connection._error(exc, f"CLOSE {cursor.name}") from exc
        await self._connection._forget(self)

    async def _close_quietly(self) -> None:
        # After a failed fetch the connection is in error or gone: release what can be.
        with contextlib.suppress(Error):
            await self.close()


class _ResultColumns:
    """What psycopg's ``Column`` reads of a cursor, kept from one result: the cursor itself is
    reused by the connection's next statement, which replaces its result. Building the
    columns then touches neither the cursor nor the connection, so it needs no lock on the
    thread front, where the connection may by then run another session's statement."""

    __slots__ = ("_encoding", "adapters", "pgresult")

    def __init__(self, pgresult: pq.abc.PGresult, encoding: str, adapters: Any) -> None:
        self.pgresult = pgresult
        self._encoding = encoding  # the name psycopg's Column reads
        self.adapters = adapters

    def build(self) -> Description:
        view = cast("psycopg.Cursor[TupleRow]", self)
        return tuple(psycopg.Column(view, index) for index in range(self.pgresult.nfields))


def _describe(description: Sequence[psycopg.Column] | None) -> Description | None:
    if description is None:
        return None
    # psycopg's Column objects are already PEP 249 7-item sequences, detached from the
    # cursor; turning them into tuples would cost more than a point query's own parsing.
    return tuple(description)


class AsyncPostgresPool:
    """The connections of one PostgreSQL URL, kept by a ``psycopg_pool.AsyncConnectionPool``.

    Nothing is opened at construction (psycopg_pool warns when an asyncio pool is opened in
    its constructor, and needs a running event loop to open): the psycopg pool and its
    workers start on the first ``acquire``, which then waits for psycopg_pool to open
    ``min_size`` connections in the background. On the asyncio front the pool therefore
    belongs to the event loop of its first ``acquire``. psycopg_pool also closes
    connections idle for 10 minutes (down to ``min_size``) and replaces them after an hour.

    ``acquire`` waits in slices of up to a second and, when psycopg_pool has recorded failed
    connection attempts meanwhile, connects once itself: a server that refuses gives
    ``ShardUnavailableError`` at once, with the server's reason. Between slices a waiting
    caller rejoins the end of psycopg_pool's queue, so under a full pool the wait order is
    first come, first served only to within a second. After a failed probe, every wait
    probes until one connects; then a psycopg pool left with no connection is replaced by a
    fresh one (``_renew``), so traffic resumes as soon as the server answers, not when
    psycopg_pool's reconnect backoff (doubling up to minutes) next tries.
    """

    def __init__(self, name: str, url: str, config: PoolConfig, *, role: str = "primary") -> None:
        self._name = name
        self._role = role
        self._url = url
        self._timeout = config.timeout
        self._max_size = config.max_size
        self._kwargs = connect_kwargs(url, config.connect_timeout_s)
        self._address = endpoint(url)
        self._min_size = config.min_size
        self._pool = self._new_pool()
        # psycopg_pool's own "error connecting" lines repeat what acquire() reports.
        self._failure_log = ConnectFailureLog(f"{name}/{role}")
        self._lock = AsyncMonitor()  # guards the two fields below
        self._opened = False
        self._closed = False
        # The psycopg connections handed out and not yet released, each with the psycopg
        # pool it came from (see _renew): a dict's single assignments and pops are atomic,
        # so acquire and release take no lock for it.
        self._out: dict[RawConnection, psycopg_pool.AsyncConnectionPool[RawConnection]] = {}
        # The first slice of a wait for a connection (see _wait).
        self._first_wait = min(_FIRST_WAIT_S, self._timeout)
        # psycopg_pool's count of failed connection attempts when an acquire last looked.
        self._failures_seen = 0
        # The last probe failed: the next wait probes again, though psycopg_pool has
        # recorded no new failure meanwhile (it may be waiting out its backoff).
        self._unreachable = False

    def _new_pool(self) -> psycopg_pool.AsyncConnectionPool[RawConnection]:
        return psycopg_pool.AsyncConnectionPool(
            self._url,
            kwargs=self._kwargs,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=self._timeout,
            open=False,
            name=f"{self._name}/{self._role}",
            # Workers only open connections; one spare keeps a slow connect from blocking
            # the others.
            num_workers=2,
        )

    @property
    def name(self) -> str:
        """The datasource name, used in every error."""
        return self._name

    @property
    def role(self) -> str:
        return self._role

    @property
    def in_use(self) -> int:
        """Connections handed out and not yet released."""
        return len(self._out)

    def stats(self) -> PoolStats:
        in_use = len(self._out)
        if not self._opened:
            return {"size": 0, "in_use": 0, "idle": 0, "waiting": 0, "max_size": self._max_size}
        psycopg_stats = self._pool.get_stats()
        return {
            "size": psycopg_stats.get("pool_size", in_use),
            "in_use": in_use,
            "idle": psycopg_stats.get("pool_available", 0),
            "waiting": psycopg_stats.get("requests_waiting", 0),
            "max_size": self._max_size,
        }

    async def acquire(self) -> AsyncPostgresConnection:
        """Return a connection; see ``_driver.AsyncPool.acquire`` and the class docstring."""
        with self._failure_log.waiting():
            if not self._opened or self._closed:  # read without the guard: _open() decides
                await self._open()
            # The psycopg pool asked, kept: _renew may replace self._pool meanwhile, and a
            # connection goes back to the pool it came from.
            pool = self._pool
            try:
                # The common case: an idle connection, handed over at once.
                raw = await pool.getconn(timeout=self._first_wait)
            except psycopg_pool.PoolClosed:
                self._refuse_closed(pool)
                raw, pool = await self._wait(self._timeout - self._first_wait)
            except psycopg_pool.PoolTimeout:
                raw, pool = await self._wait(self._timeout - self._first_wait)
            # No suspension point from here on: a cancelled task cannot strand ``raw``.
            self._out[raw] = pool
            return AsyncPostgresConnection(raw, datasource=self._name, role=self._role, owner=self)

    def _refuse_closed(self, pool: psycopg_pool.AsyncConnectionPool[RawConnection]) -> None:
        """After psycopg_pool said ``pool`` is closed: the error, unless ``_renew`` closed
        it (the caller then asks the fresh pool)."""
        if pool is self._pool or self._closed:
            raise pool_closed(datasource=self._name, role=self._role) from None

    async def _wait(
        self, seconds: float
    ) -> tuple[RawConnection, psycopg_pool.AsyncConnectionPool[RawConnection]]:
        """Wait up to ``seconds`` more for a connection, in slices; see the class docstring.
        Returns it with the psycopg pool it came from.

        psycopg_pool's statistics are read here only, once a wait has timed out: never on
        the way to an idle connection. Failures are counted from the last look of any
        acquire, so one older than this wait costs at most a probe that succeeds.
        """
        deadline = time.monotonic() + seconds
        failures = self._failures_seen
        wait = _FIRST_WAIT_S
        while True:
            left = deadline - time.monotonic()
            seen = self._failures_seen = self._connect_failures()
            if (seen > failures or self._unreachable) and left > 0:
                # Raises ShardUnavailableError when the server refuses or times out.
                self._unreachable = True
                await self._probe(left)
                await self._renew()
                self._unreachable = False
                failures = self._failures_seen = self._connect_failures()
            if time.monotonic() >= deadline:
                raise self._timeout_error() from None
            wait = min(wait * 2, _MAX_WAIT_S)
            remaining = deadline - time.monotonic()
            pool = self._pool
            try:
                if remaining <= 0:
                    raise psycopg_pool.PoolTimeout()
                return await pool.getconn(timeout=min(wait, remaining)), pool
            except psycopg_pool.PoolClosed:
                self._refuse_closed(pool)
                continue
            except psycopg_pool.PoolTimeout:
                continue

    async def release(self, connection: AsyncConnection) -> None:
        """Give a connection back: streams closed, transaction rolled back, and discarded if
        broken (psycopg_pool then opens a replacement in the background)."""
        if (
            not isinstance(connection, AsyncPostgresConnection)
            or connection._owner is not self
            or connection._released
        ):
            raise InterfaceError(
                f"this connection is not checked out of the pool of datasource "
                f"{self._name!r} ({self._role}); was it released twice?",
                datasource=self._name,
                role=self._role,
            )
        try:
            await connection._release()
        finally:
            # Even after an interrupted clean-up (the connection is closed then): a psycopg
            # connection never given back would hold its pool slot for good.
            # To the psycopg pool it came from, which closes it if _renew replaced that pool.
            pool = self._out.pop(connection._raw, self._pool)
            await pool.putconn(connection._raw)

    async def resize(self, min_size: int, max_size: int, timeout: float) -> None:
        """Take new sizes and acquire timeout (psycopg_pool's ``resize``: a smaller pool
        closes connections as they come back)."""
        with self._lock:
            self._min_size, self._max_size, self._timeout = min_size, max_size, timeout
            self._first_wait = min(_FIRST_WAIT_S, timeout)
            if not self._opened:
                # Not started yet: a fresh psycopg pool of the new size costs nothing.
                self._pool = self._new_pool()
                return
            pool = self._pool
        await pool.resize(min_size, max_size)

    async def close(self) -> None:
        """Close every idle connection and stop the pool's workers; connections still out
        are closed on release. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            opened = self._opened
        self._failure_log.close()
        if opened:
            await self._pool.close()

    async def _open(self) -> None:
        with self._lock:
            if self._closed:
                raise pool_closed(datasource=self._name, role=self._role)
            if self._opened:
                return
            # On the asyncio front the guard does not hold other tasks out while psycopg_pool
            # opens; its open() is idempotent, so a task racing here is harmless.
            await self._pool.open(wait=False)
            self._opened = True
            racing_close = self._closed
        if racing_close:  # close() ran while psycopg_pool opened, and saw it unopened
            await self._pool.close()
            raise pool_closed(datasource=self._name, role=self._role)

    def _timeout_error(self) -> Error:
        in_use = len(self._out)
        if in_use < self._max_size:
            # Free slots but no connection: psycopg_pool could not open one in time (its
            # attempts wait on a server that does not answer); a bigger pool would not help.
            return still_connecting(
                datasource=self._name,
                role=self._role,
                address=self._address,
                seconds=self._timeout,
                in_use=in_use,
            )
        return pool_timeout(
            datasource=self._name,
            role=self._role,
            timeout=self._timeout,
            max_size=self._max_size,
        )

    def _connect_failures(self) -> int:
        return self._pool.get_stats().get("connections_errors", 0)

    async def _renew(self) -> None:
        """Start a fresh psycopg pool in place of one that failed to connect and holds no
        connection, once a probe has just connected: the server answers again.

        psycopg_pool retries a failed connect after a delay that doubles up to minutes, so
        after a long outage it would keep every caller waiting well past the server's
        return (and past a circuit breaker's probe). A pool with connections out or idle
        is kept: replacing it could open more than ``max_size``. (A connect the old pool
        had under way when it was replaced may still hand one connection out; it is closed
        when released, so the datasource briefly holds at most one more.)
        """
        stale = self._pool
        if stale.get_stats().get("pool_available", 0) or stale in self._out.values():
            return
        fresh = self._new_pool()
        await fresh.open(wait=False)
        with self._lock:
            replaced = self._pool is stale and not self._closed
            if replaced:
                self._pool = fresh
                self._failures_seen = 0
        # Closed outside the guard: closing stops the pool's workers.
        await (stale if replaced else fresh).close(timeout=0)

    async def _probe(self, left: float) -> None:
        # Connect once outside the pool: its error says why the pool cannot. Within what is
        # left of the caller's wait (libpq's minimum is 2 s), unless the URL sets its own.
        kwargs = dict(self._kwargs)
        if "connect_timeout" in kwargs:
            kwargs["connect_timeout"] = max(2, min(kwargs["connect_timeout"], math.ceil(left)))
        try:
            async with await psycopg.AsyncConnection.connect(self._url, **kwargs):
                pass
        except psycopg.Error as exc:
            if is_timeout(exc):
                raise connect_timed_out(
                    datasource=self._name,
                    role=self._role,
                    address=self._address,
                    seconds=kwargs.get("connect_timeout") or self._timeout,
                    exc=exc,
                ) from exc
            raise unreachable(
                exc, datasource=self._name, role=self._role, url=self._url, reason=str(exc)
            ) from exc

    def __repr__(self) -> str:
        idle = self._pool.get_stats().get("pool_available", 0) if self._opened else 0
        state = f"{len(self._out)} in use, {idle} idle, max {self._max_size}"
        if self._closed:
            state += ", closed"
        role = "" if self._role == "primary" else f" {self._role}"
        return f"<Pool {self._name}{role} [{state}]>"
