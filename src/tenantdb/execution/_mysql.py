"""The MySQL/MariaDB driver (PyMySQL): ``Connection`` and ``Stream`` for ``mysql:`` URLs.

URL: ``mysql://user:password@host:port/database`` (``mariadb://`` is the same), with
optional query parameters ``unix_socket``, ``charset``, ``connect_timeout``,
``read_timeout``, ``write_timeout``, ``ssl_ca``, ``ssl_cert``, ``ssl_key``.

Connections run in autocommit mode with ``utf8mb4`` and the ``FOUND_ROWS`` flag, so an
UPDATE's row count is the rows it matched, as on PostgreSQL and SQLite (MySQL would
otherwise count only the rows whose value changed). ``begin()`` is PyMySQL's ``begin()``
(``BEGIN``); ``in_transaction`` is the server's own flag, so an implicit commit (DDL) ends
it as it ends the transaction.

Streams: one connection can read only one unbuffered result at a time, so of the
statements given to ``open_streams`` all but the last are read into memory at once, and
the last streams (``SSCursor``). No other statement may run while that last stream is
unread; ``commit``, ``rollback`` and the pool's release first close it. Closing a stream
early must read the rest of its result off the wire: outside a transaction, after
``_DRAIN_LIMIT`` rows the connection is dropped instead (and replaced by the pool).
"""

from __future__ import annotations

import contextlib
import math
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

import pymysql
import pymysql.cursors
from pymysql.constants import CLIENT, SERVER_STATUS

from ..config import redact_url
from ..drivers import connect_timed_out, endpoint, error_kinds, is_timeout, translate, unreachable
from ..errors import ConfigError, Error, InterfaceError, ProgrammingError
from ._driver import Description, Outcome, Row, Stream

if TYPE_CHECKING:  # generic in the type stubs only
    RawConnection = pymysql.connections.Connection[pymysql.cursors.Cursor]

_KINDS = error_kinds(pymysql.err)
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
_DRAIN_LIMIT = 10_000
_COM_RESET_CONNECTION = 0x1F  # MySQL 5.7.3+, MariaDB 10.2.4+; PyMySQL has no name for it
_DRAIN_BATCH = 1_000


def connect_params(url: str, *, timeout: float) -> dict[str, Any]:
    """Return the ``pymysql.connect`` keyword arguments for ``url``.

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
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        convert = _QUERY_PARAMS.get(key)
        if convert is None:
            allowed = ", ".join(_QUERY_PARAMS)
            raise ConfigError(f"{problem}: unknown parameter {key!r}; use one of: {allowed}")
        try:
            params[key] = convert(value)
        except ValueError as exc:
            raise ConfigError(f"{problem}: {key} must be a whole number of seconds") from exc
    return params


def connect(
    url: str, params: dict[str, Any], *, datasource: str, role: str = "primary"
) -> MySQLConnection:
    """Open one connection with ``params`` from ``connect_params(url)``.

    Raises ``ShardUnavailableError`` when the server cannot be reached, refuses the login
    (the message shows ``url`` redacted) or does not answer within ``connect_timeout``.
    """
    limit = params["connect_timeout"]
    try:
        raw = pymysql.connect(**params, defer_connect=True)
        # PyMySQL bounds only the TCP connect by connect_timeout; the handshake and login
        # reads use read_timeout (none by default), so a server that accepts and never
        # answers would hold the caller forever. Bound them by connect_timeout too, then
        # give the connection the URL's read_timeout for its statements.
        setattr(raw, "_read_timeout", min(limit, params.get("read_timeout") or limit))  # noqa: B010
        raw.connect()
        setattr(raw, "_read_timeout", params.get("read_timeout"))  # noqa: B010
    except (pymysql.err.Error, OSError) as exc:
        if is_timeout(exc):
            raise connect_timed_out(
                datasource=datasource, role=role, address=endpoint(url), seconds=limit, exc=exc
            ) from exc
        reason = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise unreachable(
            exc, datasource=datasource, role=role, url=url, reason=str(reason)
        ) from exc
    return MySQLConnection(raw, datasource=datasource, role=role)


class MySQLConnection:
    """One PyMySQL connection of a datasource; see ``_driver.Connection`` and the module
    docstring for what streams can and cannot do here."""

    __slots__ = ("_broken", "_datasource", "_dirty", "_raw", "_role", "_streams", "_unbuffered")

    def __init__(self, raw: RawConnection, *, datasource: str, role: str) -> None:
        self._raw = raw
        self._datasource = datasource
        self._role = role
        self._broken = False
        self._streams: set[MySQLStream] = set()
        self._unbuffered: MySQLStream | None = None  # the stream reading off the wire
        self._dirty = False

    @property
    def broken(self) -> bool:
        """True once the connection was lost (or dropped by an early stream close)."""
        return self._broken or not self._raw.open

    @property
    def in_transaction(self) -> bool:
        """The server's "in transaction" flag, as of its last reply."""
        # PyMySQL keeps the status flags of the last reply in server_status (the type
        # stubs leave it out); no public method says whether a transaction is open.
        status: int = getattr(self._raw, "server_status", 0) or 0
        return bool(status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)

    def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``%s`` placeholders) and fetch all its rows."""
        self._check_idle()
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql, params)
            if cursor.description is None:
                return Outcome(None, [], cursor.rowcount, cursor.lastrowid or None)
            rows: list[Row] = list(cursor.fetchall())
            return Outcome(_describe(cursor), rows, len(rows), None)
        except pymysql.err.Error as exc:
            raise self._error(exc, sql) from exc
        except (TypeError, ValueError) as exc:
            raise self._parameter_error(exc, sql) from exc
        finally:
            cursor.close()

    def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple (PyMySQL batches an INSERT … VALUES into
        multi-row INSERTs); return the summed row count."""
        self._check_idle()
        if not seq_of_params:
            return 0
        cursor = self._raw.cursor()
        try:
            cursor.executemany(sql, seq_of_params)
            return cursor.rowcount
        except pymysql.err.Error as exc:
            raise self._error(exc, sql) from exc
        except (TypeError, ValueError) as exc:
            raise self._parameter_error(exc, sql) from exc
        finally:
            cursor.close()

    def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[Stream]:
        """Buffer all statements but the last, stream the last; see the module docstring."""
        self._check_idle()
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        streams: list[Stream] = []
        last = len(statements) - 1
        for index, (sql, params) in enumerate(statements):
            unbuffered = index == last
            cursor: pymysql.cursors.Cursor = (
                self._raw.cursor(pymysql.cursors.SSCursor)
                if unbuffered
                else self._raw.cursor(pymysql.cursors.Cursor)
            )
            try:
                cursor.execute(sql, params)
            except (pymysql.err.Error, TypeError, ValueError) as exc:
                error = (
                    self._error(exc, sql)
                    if isinstance(exc, pymysql.err.Error)
                    else self._parameter_error(exc, sql)
                )
                with contextlib.suppress(Error):  # the statement's error is the one to report
                    for stream in streams:
                        stream.close()
                raise error from exc
            stream = MySQLStream(self, cursor, sql, batch_size, unbuffered=unbuffered)
            self._streams.add(stream)
            if unbuffered:
                self._unbuffered = stream
            streams.append(stream)
        return streams

    def begin(self) -> None:
        """Start a transaction (``BEGIN``)."""
        self._check_idle()
        if self.in_transaction:
            raise InterfaceError(
                f"a transaction is already open on datasource {self._datasource!r}",
                datasource=self._datasource,
                role=self._role,
            )
        try:
            self._raw.begin()
        except pymysql.err.Error as exc:
            raise self._error(exc, "BEGIN") from exc

    def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one."""
        self._end(self._raw.commit, "COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one."""
        self._end(self._raw.rollback, "ROLLBACK")

    def _end(self, finish: Callable[[], None], statement: str) -> None:
        self._close_streams()
        if self.in_transaction:
            try:
                finish()
            except pymysql.err.Error as exc:
                raise self._error(exc, statement) from exc

    def mark_dirty(self) -> None:
        """See ``_driver.Connection.mark_dirty``."""
        self._dirty = True

    def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this).

        After a session that may have changed state, ``COM_RESET_CONNECTION`` too (session
        variables back to the global values, user variables, temporary tables, prepared
        statements, GET_LOCK locks and LAST_INSERT_ID dropped), then what connecting set
        up: the URL's database (the reset keeps a ``USE``), the character set, sql_mode,
        init_command and autocommit.
        """
        self.rollback()
        if not self._dirty:
            return
        raw = self._raw
        try:
            getattr(raw, "_execute_command")(_COM_RESET_CONNECTION, b"")  # noqa: B009
            getattr(raw, "_read_ok_packet")()  # noqa: B009
            if raw.db:
                raw.select_db(raw.db)
            raw.set_character_set(raw.charset, raw.collation)
            with raw.cursor() as cursor:
                if raw.sql_mode is not None:
                    cursor.execute("SET sql_mode=%s", (raw.sql_mode,))
                if raw.init_command is not None:
                    cursor.execute(raw.init_command)
            raw.autocommit(True)
        except (pymysql.err.Error, OSError) as exc:
            self._broken = True
            raise self._error(exc, "COM_RESET_CONNECTION") from exc
        self._dirty = False

    def close(self) -> None:
        """Close the connection (abandoning any unread streamed result). Never raises."""
        if self._unbuffered is not None and self._unbuffered._cursor is not None:
            _abandon_result(self._unbuffered._cursor)
        self._streams.clear()
        self._unbuffered = None
        if self._raw.open:
            with contextlib.suppress(pymysql.err.Error, OSError):
                self._raw.close()

    def _check_idle(self) -> None:
        if self._unbuffered is not None:
            raise InterfaceError(
                f"close the streamed result open on datasource {self._datasource!r} "
                "before running another statement: MySQL reads one result at a time",
                datasource=self._datasource,
                role=self._role,
            )

    def _close_streams(self) -> None:
        for stream in list(self._streams):
            stream.close()

    def _forget(self, stream: MySQLStream) -> None:
        self._streams.discard(stream)
        if self._unbuffered is stream:
            self._unbuffered = None

    def _drop(self) -> None:
        # Give up the connection (an abandoned stream's rest is not worth reading).
        self._broken = True
        self.close()

    def _error(self, exc: BaseException, sql: str) -> Error:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        lost = (
            isinstance(exc, pymysql.err.InterfaceError)
            or code in _CONNECTION_LOST
            or not self._raw.open
        )
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
        # PyMySQL fills placeholders with Python's % operator, which raises TypeError or
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
        return f"<MySQLConnection {self._datasource} ({self._role}) {state}>"


class MySQLStream:
    """A result read ``batch_size`` rows at a time, from memory or (the last) the wire."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_sql", "_unbuffered")

    def __init__(
        self,
        connection: MySQLConnection,
        cursor: pymysql.cursors.Cursor,
        sql: str,
        batch_size: int,
        *,
        unbuffered: bool,
    ) -> None:
        self._connection = connection
        self._cursor: pymysql.cursors.Cursor | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._unbuffered = unbuffered
        self._description = _describe(cursor)

    @property
    def description(self) -> Description | None:
        return self._description

    def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the result is exhausted: the stream closes itself.
        """
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = list(cursor.fetchmany(self._batch_size))
        except pymysql.err.Error as exc:
            error = self._connection._error(exc, self._sql)
            self._cursor = None
            self._connection._forget(self)
            if self._connection.broken:
                _abandon_result(cursor)
            raise error from exc
        if len(rows) < self._batch_size:
            self.close()
        return rows

    def close(self) -> None:
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
            if self._unbuffered and not self._drain(cursor):
                _abandon_result(cursor)
                self._connection._drop()
                return
            cursor.close()
        except pymysql.err.Error as exc:
            raise self._connection._error(exc, self._sql) from exc

    def _drain(self, cursor: pymysql.cursors.Cursor) -> bool:
        # Read the rest of a streamed result; False when it is too long to be worth it
        # outside a transaction (dropping the connection then costs less than reading).
        drained = 0
        while cursor.fetchmany(_DRAIN_BATCH):
            drained += _DRAIN_BATCH
            if drained >= _DRAIN_LIMIT and not self._connection.in_transaction:
                return False
        return True


def _abandon_result(cursor: pymysql.cursors.Cursor) -> None:
    # PyMySQL's result object reads its unread rows when garbage-collected, which fails
    # once the connection is closed; tell it there is nothing left to read. (_result is
    # PyMySQL's own attribute; if it ever goes away the cost is a warning at collection.)
    result: Any = getattr(cursor, "_result", None)
    if result is not None:
        result.unbuffered_active = False


def _describe(cursor: pymysql.cursors.Cursor) -> Description | None:
    # The type stubs declare description as a tuple of names; PyMySQL gives 7-tuples.
    description = cast("Description | None", cursor.description)
    return None if description is None else tuple(tuple(column) for column in description)
