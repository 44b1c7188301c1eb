"""The MySQL/MariaDB driver: ``AsyncMySQLConnection`` and ``AsyncMySQLStream`` for ``mysql:`` URLs.

Written once as asyncio code; the thread front's copy in ``tenantdb._sync`` is generated
from it. This front's driver package is ``asyncmy`` (the thread front runs on PyMySQL, the
asyncio front on the driver of the ``mysql-async`` extra).

URL: ``mysql://user:password@host:port/database`` (``mariadb://`` is the same), with
optional query parameters ``unix_socket``, ``charset``, ``connect_timeout``,
``read_timeout``, ``write_timeout``, ``ssl_ca``, ``ssl_cert``, ``ssl_key``. One URL serves
both fronts: ``write_timeout`` only matters on the thread front (asyncio writes never block).

Connections run in autocommit mode with ``utf8mb4`` and the ``FOUND_ROWS`` flag, so an
UPDATE's row count is the rows it matched, as on PostgreSQL and SQLite (MySQL would
otherwise count only the rows whose value changed). ``begin()`` is the driver's ``begin()``
(``BEGIN``); ``in_transaction`` is the server's own flag, so an implicit commit (DDL) ends
it as it ends the transaction.

Streams: one connection can read only one unbuffered result at a time, so of the
statements given to ``open_streams`` all but the last are read into memory at once, and
the last streams (``SSCursor``). No other statement may run while that last stream is
unread; ``commit``, ``rollback`` and the pool's release first close it. Closing a stream
early must read the rest of its result off the wire: outside a transaction, after
``_DRAIN_LIMIT`` rows the connection is dropped instead (and replaced by the pool).

Interrupted exchanges (a cancelled task; on threads, KeyboardInterrupt; an error the driver
did not expect): the driver is left mid-way through the protocol, and the server would go
on running the statement, holding its locks, after the caller has gone. The connection is
then ``broken`` (its pool discards it) and its server thread is ended with ``KILL`` from a
second connection, opened with the same parameters, before the interruption propagates.
"""

from __future__ import annotations

import contextlib
import logging
import math
import operator
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import asyncmy
import asyncmy.cursors
from asyncmy import errors as driver_errors  # sync: from pymysql import err as driver_errors
from asyncmy.constants import CLIENT, SERVER_STATUS

from .._concurrency import AsyncWatchdog, atimeout
from ..config import redact_url
from ..drivers import connect_timed_out, endpoint, error_kinds, is_timeout, translate, unreachable
from ..errors import ConfigError, Error, InterfaceError, OperationalError, ProgrammingError
from ..telemetry import ThrottledLog
from ._driver import (
    AsyncStream,
    Deadline,
    Description,
    Outcome,
    Row,
    failed_by_timeout,
    timed_out,
)

T = TypeVar("T")

RawConnection = asyncmy.Connection
# Its constructor (taking connect_params' keywords) and the server's id for a connection,
# typed here: one driver's stubs leave them untyped.
_new_connection: Callable[..., RawConnection] = asyncmy.Connection
_thread_id: Callable[[RawConnection], int] = operator.methodcaller("thread_id")

_LOG = logging.getLogger("tenantdb.timeouts")
# One per endpoint and minute: a server that cannot be reached fails every cancel.
_CANCEL_FAILURES = ThrottledLog(_LOG)
_KINDS = error_kinds(driver_errors)
# Client and server codes that mean the connection is gone: can't connect (2003), server
# gone away (2006), lost during query (2013, 2055), killed (1927), shutting down (1053),
# disconnected for inactivity (4031, MySQL 8).
_CONNECTION_LOST = frozenset({2003, 2006, 2013, 2055, 1927, 1053, 4031})
# MySQL quotes the duplicated key value; PostgreSQL and SQLite do not (and must not).
_DUPLICATE_VALUE = re.compile(r"Duplicate entry '.*' for key")
_QUERY_PARAMS = {
    "unix_socket": str,
    "charset": str,
    "connect_timeout": int,
    "read_timeout": int,
    "write_timeout": int,
    "ssl_ca": str,
    "ssl_cert": str,
    "ssl_key": str,
}
# Query parameters this front's driver has no keyword for, accepted so that one URL serves
# both fronts. On the asyncio front that is write_timeout: writes go to the event loop's
# transport, which buffers them, so a write never blocks (a server that stops reading shows
# as a read that never ends).
_UNUSED_PARAMS = frozenset({"write_timeout"})  # sync: _UNUSED_PARAMS: frozenset[str] = frozenset()
_DRAIN_LIMIT = 10_000
_COM_RESET_CONNECTION = 0x1F  # MySQL 5.7.3+, MariaDB 10.2.4+; the drivers have no name for it
_DRAIN_BATCH = 1_000
# What a statement stopped by KILL QUERY (or by the server's own execution time limit)
# ends with: query interrupted (1317), MySQL's max_execution_time exceeded (3024),
# MariaDB's max_statement_time exceeded (1969).
_INTERRUPTED = frozenset({1317, 3024, 1969})
# Statement timeouts: the process's watchdog (its one thread, on the thread front).
_WATCHDOG = AsyncWatchdog.shared()
# KILL QUERY's own connection waits at most this long to connect and to be answered.
_KILL_TIMEOUT_S = 5


def connect_params(url: str, *, timeout: float) -> dict[str, Any]:
    """Return the driver's connect keyword arguments for ``url``.

    ``timeout`` (seconds, the pool timeout) bounds connecting unless the URL sets
    ``connect_timeout``. Raises ``ConfigError`` for a malformed URL or an unknown query
    parameter (naming the parameter, never the password).
    """
    problem = f"invalid MySQL URL {redact_url(url)!r}"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{problem}: {exc}") from exc
    params: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": port or 3306,
        "user": urllib.parse.unquote(parts.username) if parts.username else None,
        "password": urllib.parse.unquote(parts.password) if parts.password else "",
        "database": urllib.parse.unquote(parts.path.lstrip("/")) or None,
        "autocommit": True,
        "charset": "utf8mb4",
        "client_flag": CLIENT.FOUND_ROWS,
        "connect_timeout": max(1, math.ceil(timeout)),
    }
    ssl: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        convert = _QUERY_PARAMS.get(key)
        if convert is None:
            allowed = ", ".join(_QUERY_PARAMS)
            raise ConfigError(f"{problem}: unknown parameter {key!r}; use one of: {allowed}")
        try:
            converted = convert(value)
            if convert is int and converted < 1:  # the drivers refuse 0 and less
                raise ValueError(value)
        except ValueError as exc:
            raise ConfigError(
                f"{problem}: {key} must be a whole number of seconds, at least 1"
            ) from exc
        if key.startswith("ssl_"):
            ssl[key.removeprefix("ssl_")] = converted
        elif key not in _UNUSED_PARAMS:
            params[key] = converted
    if ssl:
        # What PyMySQL makes of its ssl_ca/ssl_cert/ssl_key keywords, spelled out as the
        # ssl mapping both drivers take: TLS required, the client certificate presented,
        # the server's certificate not verified.
        params["ssl"] = {"ca": None, "check_hostname": False, "verify_mode": False, **ssl}
    return params


async def connect(
    url: str, params: dict[str, Any], *, datasource: str, role: str = "primary"
) -> AsyncMySQLConnection:
    """Open one connection with ``params`` from ``connect_params(url)``.

    Raises ``ShardUnavailableError`` when the server cannot be reached, refuses the login
    (the message shows ``url`` redacted) or does not answer within ``connect_timeout``.
    """
    limit = params["connect_timeout"]
    raw = _new_connection(**params)  # sync: raw = _new_connection(**params, defer_connect=True)
    try:
        # The driver bounds only the TCP connect by connect_timeout; the handshake and login
        # reads use its read timeout (none by default), so a server that accepts and never
        # answers would hold the caller forever. Bound those reads by connect_timeout too,
        # then give the connection the URL's read_timeout for its statements. (The asyncio
        # front also puts a deadline over the whole connect, TLS set-up included; a thread
        # cannot be interrupted, so there the read timeout is the bound.)
        setattr(raw, "_read_timeout", min(limit, params.get("read_timeout") or limit))  # noqa: B010
        async with atimeout(limit):
            await raw.connect()
        setattr(raw, "_read_timeout", params.get("read_timeout"))  # noqa: B010
    except (driver_errors.Error, OSError) as exc:
        if is_timeout(exc):
            raise connect_timed_out(
                datasource=datasource, role=role, address=endpoint(url), seconds=limit, exc=exc
            ) from exc
        reason = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise unreachable(
            exc, datasource=datasource, role=role, url=url, reason=str(reason)
        ) from exc
    return AsyncMySQLConnection(raw, url, params, datasource=datasource, role=role)


class AsyncMySQLConnection:
    """One driver connection of a datasource; see ``_driver.AsyncConnection`` and the module
    docstring for what streams can and cannot do here."""

    __slots__ = (
        "_aborted",
        "_broken",
        "_datasource",
        "_dirty",
        "_lost",
        "_params",
        "_raw",
        "_role",
        "_streams",
        "_thread_id",
        "_unbuffered",
        "_url",
        "deadline",
        "timed_out",
    )

    def __init__(
        self,
        raw: RawConnection,
        url: str,
        params: dict[str, Any],
        *,
        datasource: str,
        role: str,
    ) -> None:
        self._raw = raw
        # What connecting set up, for the reset to set up again (and for KILL's connection).
        self._url = url
        self._params = params
        self._thread_id = _thread_id(raw)
        self._datasource = datasource
        self._role = role
        self._broken = False
        # The server connection was lost (not cut short by us): counts for the breaker.
        self._lost = False
        self._streams: set[AsyncMySQLStream] = set()
        self._unbuffered: AsyncMySQLStream | None = None  # the stream reading off the wire
        self._dirty = False
        self.deadline: Deadline | None = None
        """Bounds the next calls (see ``_driver.AsyncConnection``); set by the session."""
        self.timed_out = False
        """A statement of this checkout ran past its deadline (cleared by ``reset``)."""
        # A statement timed out inside the open transaction: the transaction is failed.
        self._aborted = False

    @property
    def broken(self) -> bool:
        """True once the connection was lost, interrupted, or dropped by an early stream
        close."""
        connected: bool = self._raw.connected  # sync: connected: bool = self._raw.open
        return self._broken or not connected

    @property
    def lost(self) -> bool:
        return self._lost

    @property
    def in_transaction(self) -> bool:
        """The server's "in transaction" flag, as of its last reply."""
        # The driver keeps the status flags of the last reply in server_status (the type
        # stubs leave it out); no public method says whether a transaction is open.
        status: int = getattr(self._raw, "server_status", 0) or 0
        return bool(status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    async def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``%s`` placeholders) and fetch all its rows."""
        self._check_idle()
        if self.deadline is not None or self._aborted:
            return await self._within(sql, self._execute, sql, params)
        return await self._execute(sql, params)

    async def _execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        cursor = self._raw.cursor()
        try:
            await cursor.execute(sql, params)
            if cursor.description is None:
                return Outcome(None, [], _rowcount(cursor), cursor.lastrowid or None)
            rows: list[Row] = list(await cursor.fetchall())
            return Outcome(_describe(cursor), rows, len(rows), None)
        except driver_errors.Error as exc:
            raise self._error(exc, sql) from exc
        except (TypeError, ValueError) as exc:
            raise self._parameter_error(exc, sql) from exc
        except BaseException:
            await self._interrupted()
            raise
        finally:
            await cursor.close()

    async def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple (the driver batches an INSERT … VALUES into
        multi-row INSERTs); return the summed row count."""
        self._check_idle()
        if not seq_of_params:
            return 0
        if self.deadline is not None or self._aborted:
            return await self._within(sql, self._executemany, sql, seq_of_params)
        return await self._executemany(sql, seq_of_params)

    async def _executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        cursor = self._raw.cursor()
        try:
            await cursor.executemany(sql, seq_of_params)
            return _rowcount(cursor)
        except driver_errors.Error as exc:
            raise self._error(exc, sql) from exc
        except (TypeError, ValueError) as exc:
            raise self._parameter_error(exc, sql) from exc
        except BaseException:
            await self._interrupted()
            raise
        finally:
            await cursor.close()

    async def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        """Buffer all statements but the last, stream the last; see the module docstring."""
        self._check_idle()
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        if (self.deadline is not None or self._aborted) and statements:
            first = statements[0][0]
            return await self._within(first, self._open_streams, statements, batch_size)
        return await self._open_streams(statements, batch_size)

    async def _open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        streams: list[AsyncStream] = []
        last = len(statements) - 1
        for index, (sql, params) in enumerate(statements):
            unbuffered = index == last
            cursor: asyncmy.cursors.Cursor = (
                self._raw.cursor(asyncmy.cursors.SSCursor)
                if unbuffered
                else self._raw.cursor(asyncmy.cursors.Cursor)
            )
            try:
                await cursor.execute(sql, params)
            except (driver_errors.Error, TypeError, ValueError) as exc:
                error = (
                    self._error(exc, sql)
                    if isinstance(exc, driver_errors.Error)
                    else self._parameter_error(exc, sql)
                )
                with contextlib.suppress(Error):  # the statement's error is the one to report
                    for stream in streams:
                        await stream.close()
                raise error from exc
            except BaseException:
                await self._interrupted()
                raise
            stream = AsyncMySQLStream(self, cursor, sql, batch_size, unbuffered=unbuffered)
            self._streams.add(stream)
            if unbuffered:
                self._unbuffered = stream
            streams.append(stream)
        return streams

    async def begin(self) -> None:
        """Start a transaction (``BEGIN``)."""
        self._check_idle()
        if self.in_transaction:
            raise InterfaceError(
                f"a transaction is already open on datasource {self._datasource!r}",
                datasource=self._datasource,
                role=self._role,
            )
        self._aborted = False
        if self.deadline is not None and self.deadline.passed():
            raise self._timeout(self.deadline, "BEGIN", sent=False)
        try:
            await self._raw.begin()
        except driver_errors.Error as exc:
            raise self._error(exc, "BEGIN") from exc
        except BaseException:
            await self._interrupted()
            raise

    async def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one.

        A transaction failed by a timed-out statement is rolled back instead, and
        ``OperationalError`` says so (MySQL itself only undoes the killed statement)."""
        if self._aborted:
            await self.rollback()
            raise OperationalError(
                f"datasource {self._datasource!r} ({self._role}): the transaction was failed "
                "by a statement that ran past its timeout and has been rolled back; nothing "
                "was committed",
                datasource=self._datasource,
                role=self._role,
                statement="COMMIT",
            )
        await self._end(self._raw.commit, "COMMIT")

    async def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one."""
        self._aborted = False
        await self._end(self._raw.rollback, "ROLLBACK")

    async def _end(self, finish: Callable[[], Awaitable[None]], statement: str) -> None:
        await self._close_streams()
        if self.in_transaction:
            try:
                await finish()
            except driver_errors.Error as exc:
                raise self._error(exc, statement) from exc
            except BaseException:
                await self._interrupted()
                raise

    def mark_dirty(self) -> None:
        """See ``_driver.AsyncConnection.mark_dirty``."""
        self._dirty = True

    async def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this).

        After a session that may have changed state, ``COM_RESET_CONNECTION`` too (session
        variables back to the global values, user variables, temporary tables, prepared
        statements, GET_LOCK locks and LAST_INSERT_ID dropped), then what connecting set
        up, from the parameters it was given: the URL's database (the reset keeps a
        ``USE``), the character set and autocommit (``connect_params`` sets no sql_mode or
        init_command).
        """
        await self.rollback()
        self.timed_out = False
        if not self._dirty:
            return
        raw, params = self._raw, self._params
        try:
            await getattr(raw, "_execute_command")(_COM_RESET_CONNECTION, b"")  # noqa: B009
            await getattr(raw, "_read_ok_packet")()  # noqa: B009
            if params.get("database"):
                await raw.select_db(params["database"])
            async with raw.cursor() as cursor:
                # One round trip; the driver reads the autocommit flag back from the reply.
                await cursor.execute("SET NAMES %s, autocommit = 1", (params["charset"],))
        except (driver_errors.Error, OSError) as exc:
            self._broken = True
            raise self._error(exc, "COM_RESET_CONNECTION") from exc
        except BaseException:
            await self._interrupted()
            raise
        self._dirty = False

    async def close(self) -> None:
        """Close the connection (abandoning any unread streamed result). Never raises."""
        if self._unbuffered is not None and self._unbuffered._cursor is not None:
            _abandon_result(self._unbuffered._cursor)
        self._streams.clear()
        self._unbuffered = None
        if self._raw.connected:  # sync: if self._raw.open:
            with contextlib.suppress(driver_errors.Error, OSError):
                await self._raw.ensure_closed()  # sync: self._raw.close()

    async def _interrupted(self) -> None:
        # An exchange was cut short (see the module docstring): give the connection up and
        # end its server thread from a second connection, so that no statement of it keeps
        # running. Failing to do so is not reported: the interruption is what propagates.
        self._broken = True
        with contextlib.suppress(Error, driver_errors.Error, OSError):
            await self._kill("KILL %s", self._params)

    async def _kill(self, command: str, params: dict[str, Any]) -> None:
        """Run ``command`` (``KILL`` or ``KILL QUERY``) on this connection's server thread,
        from a second connection opened with ``params``."""
        killer = await connect(self._url, params, datasource=self._datasource, role=self._role)
        try:
            limit = params["connect_timeout"]
            async with atimeout(limit), killer._raw.cursor() as cursor:
                await cursor.execute(command, (self._thread_id,))
        finally:
            await killer.close()

    async def _within(self, sql: str, run: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``run(*args)`` under ``self.deadline``: not started once it has passed; stopped
        with ``KILL QUERY`` (from the watchdog, on a connection of its own) when it passes
        meanwhile, which leaves this connection usable. A killed statement raises
        ``StatementTimeoutError`` even when the server ended it with a result (``SLEEP``
        returns 1): its result cannot be trusted. Refused in a failed transaction."""
        if self._aborted:
            raise failed_by_timeout(datasource=self._datasource, role=self._role, statement=sql)
        deadline = self.deadline
        if deadline is None:
            return await run(*args)
        if deadline.passed():
            raise self._timeout(deadline, sql, sent=False)
        alarm = _WATCHDOG.arm(deadline.at, self._kill_query)
        try:
            result = await run(*args)
        except Error as exc:
            fired = await alarm.disarm()
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if fired and code in _INTERRUPTED and not self.broken:
                raise self._timeout(deadline, sql, sent=True, orig=exc.orig) from exc.orig
            raise
        except BaseException:
            await alarm.disarm()
            raise
        if await alarm.disarm():
            raise self._timeout(deadline, sql, sent=True)
        return result

    async def _kill_query(self) -> None:
        # The watchdog calls this once a deadline passed. KILL QUERY ends the statement,
        # not the connection; one that lands after the statement ended is dropped by the
        # server when the next starts (and the watchdog's disarm waits for this call).
        params = {**self._params, "connect_timeout": _KILL_TIMEOUT_S}
        params["read_timeout"] = _KILL_TIMEOUT_S
        try:
            await self._kill("KILL QUERY %s", params)
        except (Error, driver_errors.Error, OSError) as exc:
            _CANCEL_FAILURES.warning(
                f"{self._datasource}/{self._role}",
                "could not stop a timed-out statement on datasource %r (%s): %s",
                self._datasource,
                self._role,
                exc,
            )

    def _timeout(
        self, deadline: Deadline, sql: str, *, sent: bool, orig: BaseException | None = None
    ) -> Error:
        self.timed_out = True
        if sent and self.in_transaction:
            self._aborted = True
        return timed_out(
            deadline,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            sent=sent,
            orig=orig,
        )

    def _check_idle(self) -> None:
        if self._unbuffered is not None:
            raise InterfaceError(
                f"close the streamed result open on datasource {self._datasource!r} "
                "before running another statement: MySQL reads one result at a time",
                datasource=self._datasource,
                role=self._role,
            )

    async def _close_streams(self) -> None:
        for stream in list(self._streams):
            await stream.close()

    def _forget(self, stream: AsyncMySQLStream) -> None:
        self._streams.discard(stream)
        if self._unbuffered is stream:
            self._unbuffered = None

    async def _drop(self) -> None:
        # Give up the connection (an abandoned stream's rest is not worth reading).
        self._broken = True
        await self.close()

    def _error(self, exc: BaseException, sql: str) -> Error:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        cut = (
            isinstance(exc, driver_errors.InterfaceError)
            or code in _CONNECTION_LOST
            # An InternalError without a server error number is the client's: it lost its
            # place in the protocol (a packet out of sequence), and the connection with it.
            or (isinstance(exc, driver_errors.InternalError) and code is None)
        )
        if cut and not self._broken:  # not the aftermath of an interruption of ours
            self._lost = True
        lost = cut or self.broken
        if lost:
            self._broken = True
        text = _DUPLICATE_VALUE.sub("Duplicate entry for key", text)
        message = f"{text} (MySQL error {code})" if code else text or type(exc).__name__
        return translate(
            exc,
            _KINDS,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            message=message,
            connection_lost=lost,
        )

    def _parameter_error(self, exc: BaseException, sql: str) -> Error:
        # The driver fills placeholders with Python's % operator, which raises TypeError or
        # ValueError when the parameters do not fit the statement.
        return translate(
            exc,
            _KINDS,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            message=f"the parameters do not match the statement's placeholders ({exc})",
            kind=ProgrammingError,
        )

    def __repr__(self) -> str:
        state = "in transaction" if self.in_transaction else "idle"
        return f"<AsyncMySQLConnection {self._datasource} ({self._role}) {state}>"


class AsyncMySQLStream:
    """A result read ``batch_size`` rows at a time, from memory or (the last) the wire."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_sql", "_unbuffered")

    def __init__(
        self,
        connection: AsyncMySQLConnection,
        cursor: asyncmy.cursors.Cursor,
        sql: str,
        batch_size: int,
        *,
        unbuffered: bool,
    ) -> None:
        self._connection = connection
        self._cursor: asyncmy.cursors.Cursor | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._unbuffered = unbuffered
        self._description = _describe(cursor)

    @property
    def description(self) -> Description | None:
        return self._description

    async def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the result is exhausted: the stream closes itself.
        """
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = list(await cursor.fetchmany(self._batch_size))
        except driver_errors.Error as exc:
            error = self._connection._error(exc, self._sql)
            self._cursor = None
            self._connection._forget(self)
            if self._connection.broken:
                _abandon_result(cursor)
            raise error from exc
        except BaseException:
            self._cursor = None
            self._connection._forget(self)
            _abandon_result(cursor)
            await self._connection._interrupted()
            raise
        if len(rows) < self._batch_size:
            await self.close()
        return rows

    async def close(self) -> None:
        """Release the result, reading off (or dropping, see the module docstring) what is
        left of a streamed one. Idempotent."""
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            return
        self._connection._forget(self)
        if self._connection.broken:
            _abandon_result(cursor)
            return
        try:
            if self._unbuffered and not await self._drain(cursor):
                _abandon_result(cursor)
                await self._connection._drop()
                return
            await cursor.close()
        except driver_errors.Error as exc:
            raise self._connection._error(exc, self._sql) from exc
        except BaseException:
            _abandon_result(cursor)
            await self._connection._interrupted()
            raise

    async def _drain(self, cursor: asyncmy.cursors.Cursor) -> bool:
        # Read the rest of a streamed result; False when it is too long to be worth it
        # outside a transaction (dropping the connection then costs less than reading).
        drained = 0
        while await cursor.fetchmany(_DRAIN_BATCH):
            drained += _DRAIN_BATCH
            if drained >= _DRAIN_LIMIT and not self._connection.in_transaction:
                return False
        return True


def _abandon_result(cursor: asyncmy.cursors.Cursor) -> None:
    # The driver's result object deals with its unread rows when garbage-collected (one
    # driver reads them, which fails once the connection is closed; the other closes the
    # connection); tell it there is nothing left to read. (_result is the driver's own
    # attribute; if it ever goes away the cost is a warning at collection.)
    result: Any = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False


def _rowcount(cursor: asyncmy.cursors.Cursor) -> int:
    # The row count of the cursor's last statement (the type stubs of one driver leave
    # its type open).
    count: int = cast(Any, cursor.rowcount)
    return count


def _describe(cursor: asyncmy.cursors.Cursor) -> Description | None:
    # The type stubs declare description loosely; both drivers give 7-tuples.
    description = cast("Description | None", cursor.description)
    return None if description is None else tuple(tuple(column) for column in description)
