"""The PostgreSQL driver (psycopg 3) and its pool (psycopg_pool), for ``postgresql:`` URLs.

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
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import psycopg_pool
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow

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
from ._driver import Connection, Description, Outcome, Row, Stream

RawConnection = psycopg.Connection[TupleRow]

_KINDS = error_kinds(psycopg)
_IDLE = pq.TransactionStatus.IDLE
_INERROR = pq.TransactionStatus.INERROR
_UNKNOWN = pq.TransactionStatus.UNKNOWN
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

# acquire() waits in slices that double from _FIRST_WAIT_S up to _MAX_WAIT_S, looking
# between slices for failed connection attempts, so a server that refuses connections is
# reported at once instead of after the whole pool timeout.
_FIRST_WAIT_S = 0.05
_MAX_WAIT_S = 1.0


def connect_kwargs(url: str, timeout: float) -> dict[str, Any]:
    """Return the keyword arguments of every ``psycopg.connect`` for ``url``.

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


def connect(
    url: str, *, datasource: str, role: str = "primary", timeout: float = 30.0
) -> PostgresConnection:
    """Open one connection outside any pool (raises ``ShardUnavailableError``); the caller
    closes it with ``close()``."""
    kwargs = connect_kwargs(url, timeout)
    try:
        raw = psycopg.connect(url, **kwargs)
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
    return PostgresConnection(raw, datasource=datasource, role=role)


class PostgresConnection:
    """One psycopg connection of a datasource; see ``_driver.Connection``.

    A pool hands out a new ``PostgresConnection`` around its psycopg connection on every
    acquire; after release the wrapper refuses further use.
    """

    __slots__ = (
        "_datasource",
        "_dirty",
        "_owner",
        "_raw",
        "_released",
        "_role",
        "_stream_seq",
        "_stream_transaction",
        "_streams",
    )

    def __init__(
        self, raw: RawConnection, *, datasource: str, role: str, owner: object = None
    ) -> None:
        self._raw = raw
        self._owner = owner  # the PostgresPool it came from, None outside a pool
        self._datasource = datasource
        self._role = role
        self._streams: set[PostgresStream] = set()
        self._stream_seq = 0
        self._stream_transaction = False  # the open transaction is the streams' own
        self._released = False
        self._dirty = False

    @property
    def broken(self) -> bool:
        """True once psycopg has lost the connection (``closed``)."""
        return self._raw.closed

    @property
    def in_transaction(self) -> bool:
        """True while the server has a transaction open (also a streams' read transaction)."""
        return self._raw.info.transaction_status not in (_IDLE, _UNKNOWN)

    def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``%s`` placeholders) and fetch all its rows."""
        self._check_usable()
        try:
            with self._raw.cursor() as cursor:
                cursor.execute(sql, params)
                description = cursor.description
                if description is None:
                    return Outcome(None, [], cursor.rowcount, None)
                rows: list[Row] = cursor.fetchall()
                return Outcome(_describe(description), rows, len(rows), None)
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple; return the summed row count."""
        self._check_usable()
        if not seq_of_params:
            return 0
        try:
            with self._raw.cursor() as cursor:
                cursor.executemany(sql, seq_of_params)
                return cursor.rowcount
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[Stream]:
        """Declare one named cursor per statement; see the module docstring."""
        self._check_usable()
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        if not statements:
            return []
        if not self.in_transaction:
            self._command(_STREAM_BEGIN)
            self._stream_transaction = True
        streams: list[Stream] = []
        for sql, params in statements:
            self._stream_seq += 1
            cursor = self._raw.cursor(name=f"tenantdb_stream_{self._stream_seq}")
            cursor.itersize = batch_size
            try:
                cursor.execute(sql, params)
            except psycopg.Error as exc:
                error = self._error(exc, sql)
                # Clean up what can be; the statement's error is the one to report.
                with contextlib.suppress(psycopg.Error, Error):
                    cursor.close()
                    for stream in streams:
                        stream.close()
                    if self._stream_transaction and not self._streams:
                        self._end_stream_transaction()
                raise error from exc
            stream = PostgresStream(self, cursor, sql, batch_size)
            self._streams.add(stream)
            streams.append(stream)
        return streams

    def begin(self) -> None:
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
        self._command("BEGIN")

    def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one.

        A transaction aborted by an earlier error cannot commit (PostgreSQL would roll it
        back silently): it is rolled back and ``OperationalError`` says so.
        """
        self._check_usable()
        self._close_streams()
        if self._raw.info.transaction_status == _INERROR:
            self.rollback()
            raise OperationalError(
                f"datasource {self._datasource!r} ({self._role}): the transaction was aborted "
                "by an earlier error and has been rolled back; nothing was committed",
                datasource=self._datasource,
                role=self._role,
                statement="COMMIT",
            )
        try:
            self._raw.commit()
        except psycopg.Error as exc:
            raise self._error(exc, "COMMIT") from exc

    def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one."""
        self._check_usable()
        self._close_streams()
        try:
            self._raw.rollback()
        except psycopg.Error as exc:
            raise self._error(exc, "ROLLBACK") from exc

    def mark_dirty(self) -> None:
        """See ``_driver.Connection.mark_dirty``."""
        self._dirty = True

    def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this);
        after a session that may have changed state, ``_RESET_SESSION`` too (see there)."""
        self.rollback()
        if self._dirty:
            try:
                self._raw.execute(_RESET_SESSION, prepare=False)
            except psycopg.Error as exc:
                raise self._error(exc, _RESET_SESSION) from exc
            self._dirty = False

    def close(self) -> None:
        """Close a connection opened by ``connect``. Never raises."""
        self._streams.clear()
        self._raw.close()

    def _release(self) -> RawConnection:
        # Called by PostgresPool.release: clean up, then refuse any further use.
        if not self._raw.closed:
            try:
                self.reset()
            except Error:
                self._raw.close()  # the pool discards closed connections
        self._released = True
        self._streams.clear()
        return self._raw

    def _check_usable(self) -> None:
        if self._released:
            raise InterfaceError(
                f"this connection of datasource {self._datasource!r} was released to its pool",
                datasource=self._datasource,
                role=self._role,
            )

    def _command(self, sql: str) -> None:
        try:
            self._raw.execute(sql)
        except psycopg.Error as exc:
            raise self._error(exc, sql) from exc

    def _close_streams(self) -> None:
        for stream in list(self._streams):
            stream.close()

    def _forget(self, stream: PostgresStream) -> None:
        # The last stream of a read transaction opened for streams ends that transaction.
        self._streams.discard(stream)
        if self._stream_transaction and not self._streams:
            self._end_stream_transaction()

    def _end_stream_transaction(self) -> None:
        self._stream_transaction = False
        if not self._raw.closed:
            try:
                self._raw.rollback()  # read only: rolling back loses nothing
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
        return f"<PostgresConnection {self._datasource} ({self._role}) {status}>"


class PostgresStream:
    """A result read ``batch_size`` rows at a time from a named cursor."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_sql")

    def __init__(
        self,
        connection: PostgresConnection,
        cursor: psycopg.ServerCursor[TupleRow],
        sql: str,
        batch_size: int,
    ) -> None:
        self._connection = connection
        self._cursor: psycopg.ServerCursor[TupleRow] | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._description = _describe(cursor.description)

    @property
    def description(self) -> Description | None:
        return self._description

    def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the cursor is exhausted: it is closed at once (and the read
        transaction with it, if it was the last stream).
        """
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = cursor.fetchmany(self._batch_size)
        except psycopg.Error as exc:
            error = self._connection._error(exc, self._sql)
            self._close_quietly()
            raise error from exc
        if len(rows) < self._batch_size:
            self.close()
        return rows

    def close(self) -> None:
        """Close the cursor (and the streams' read transaction after the last). Idempotent."""
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        try:
            cursor.close()
        except psycopg.Error as exc:
            self._connection._forget(self)
            raise self._connection._error(exc, f"CLOSE {cursor.name}") from exc
        self._connection._forget(self)

    def _close_quietly(self) -> None:
        # After a failed fetch the connection is in error or gone: release what can be.
        with contextlib.suppress(Error):
            self.close()


def _describe(description: Sequence[psycopg.Column] | None) -> Description | None:
    if description is None:
        return None
    # psycopg's Column objects are already PEP 249 7-item sequences, detached from the
    # cursor; turning them into tuples would cost more than a point query's own parsing.
    return tuple(description)


class PostgresPool:
    """The connections of one PostgreSQL URL, kept by a ``psycopg_pool.ConnectionPool``.

    Nothing is opened at construction: the psycopg pool (with its worker threads) starts
    on the first ``acquire``, which then waits for psycopg_pool to open ``min_size``
    connections in the background. psycopg_pool also closes connections idle for 10
    minutes (down to ``min_size``) and replaces them after an hour.

    ``acquire`` waits in slices of up to a second and, when psycopg_pool has recorded failed
    connection attempts meanwhile, connects once itself: a server that refuses gives
    ``ShardUnavailableError`` at once, with the server's reason. Between slices a waiting
    caller rejoins the end of psycopg_pool's queue, so under a full pool the wait order is
    first come, first served only to within a second.
    """

    def __init__(self, name: str, url: str, config: PoolConfig, *, role: str = "primary") -> None:
        self._name = name
        self._role = role
        self._url = url
        self._timeout = config.timeout
        self._max_size = config.max_size
        self._kwargs = connect_kwargs(url, config.timeout)
        self._address = endpoint(url)
        self._pool: psycopg_pool.ConnectionPool[RawConnection] = psycopg_pool.ConnectionPool(
            url,
            kwargs=self._kwargs,
            min_size=config.min_size,
            max_size=config.max_size,
            timeout=config.timeout,
            open=False,
            name=f"{name}/{role}",
            # Workers only open connections; one spare keeps a slow connect from
            # blocking the others.
            num_workers=2,
        )
        # psycopg_pool's own "error connecting" lines repeat what acquire() reports.
        self._failure_log = ConnectFailureLog(f"{name}/{role}")
        self._lock = threading.Lock()
        self._opened = False  # only changed under _lock
        self._closed = False
        self._in_use = 0  # connections handed out and not yet released; under _lock

    @property
    def name(self) -> str:
        """The datasource name, used in every error."""
        return self._name

    @property
    def role(self) -> str:
        return self._role

    def acquire(self) -> PostgresConnection:
        """Return a connection; see ``_driver.Pool.acquire`` and the class docstring."""
        with self._failure_log.waiting():
            return self._acquire()

    def _acquire(self) -> PostgresConnection:
        self._open()
        deadline = time.monotonic() + self._timeout
        failures = self._connect_failures()
        wait = _FIRST_WAIT_S
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise psycopg_pool.PoolTimeout()
                raw = self._pool.getconn(timeout=min(wait, remaining))
            except psycopg_pool.PoolClosed:
                raise pool_closed(datasource=self._name, role=self._role) from None
            except psycopg_pool.PoolTimeout:
                left = deadline - time.monotonic()
                if self._connect_failures() > failures and left > 0:
                    # Raises ShardUnavailableError when the server refuses or times out.
                    self._probe(left)
                    failures = self._connect_failures()
                if time.monotonic() >= deadline:
                    raise self._timeout_error() from None
                wait = min(wait * 2, _MAX_WAIT_S)
                continue
            with self._lock:
                self._in_use += 1
            return PostgresConnection(raw, datasource=self._name, role=self._role, owner=self)

    def release(self, connection: Connection) -> None:
        """Give a connection back: streams closed, transaction rolled back, and discarded if
        broken (psycopg_pool then opens a replacement in the background)."""
        if (
            not isinstance(connection, PostgresConnection)
            or connection._owner is not self
            or connection._released
        ):
            raise InterfaceError(
                f"this connection is not checked out of the pool of datasource "
                f"{self._name!r} ({self._role}); was it released twice?",
                datasource=self._name,
                role=self._role,
            )
        raw = connection._release()
        with self._lock:
            self._in_use -= 1
        self._pool.putconn(raw)

    def close(self) -> None:
        """Close every idle connection and stop the pool's threads; connections still out
        are closed on release. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            opened = self._opened
        self._failure_log.close()
        if opened:
            self._pool.close()

    def _open(self) -> None:
        with self._lock:
            if self._closed:
                raise pool_closed(datasource=self._name, role=self._role)
            if not self._opened:
                self._pool.open(wait=False)
                self._opened = True

    def _timeout_error(self) -> Error:
        with self._lock:
            in_use = self._in_use
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

    def _probe(self, left: float) -> None:
        # Connect once outside the pool: its error says why the pool cannot. Within what is
        # left of the caller's wait (libpq's minimum is 2 s), unless the URL sets its own.
        kwargs = dict(self._kwargs)
        if "connect_timeout" in kwargs:
            kwargs["connect_timeout"] = max(2, min(kwargs["connect_timeout"], math.ceil(left)))
        try:
            with psycopg.connect(self._url, **kwargs):
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
        state = f"{self._in_use} in use, {idle} idle, max {self._max_size}"
        if self._closed:
            state += ", closed"
        role = "" if self._role == "primary" else f" {self._role}"
        return f"<Pool {self._name}{role} [{state}]>"
