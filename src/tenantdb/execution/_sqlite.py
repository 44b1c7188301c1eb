"""The SQLite driver (stdlib ``sqlite3``): ``Connection`` and ``Stream`` for ``sqlite:`` URLs.

URLs: ``sqlite:///relative/path.db`` (relative to the working directory),
``sqlite:////abs/path.db`` (absolute), ``sqlite:///:memory:`` (every connection opens its
own private, empty database: useful for tests, useless for sharing data). The parent
directory of a database file is created when missing.

Each connection runs in autocommit mode (``isolation_level=None``) with WAL journaling,
foreign keys on and a busy timeout equal to the pool timeout; ``begin()`` is
``BEGIN IMMEDIATE``, which takes the write lock up front so two transactions cannot
deadlock upgrading read locks. SQLite connections never become ``broken``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

from ..drivers import error_kinds, translate, unreachable
from ..errors import ConfigError, Error, InterfaceError, ProgrammingError
from ._driver import Description, Outcome, Row, Stream

_KINDS = error_kinds(sqlite3)
# sqlite3 files every SQL error (syntax, unknown table or column) as OperationalError with
# the generic SQLITE_ERROR code; PostgreSQL and MySQL call those ProgrammingError.
_SQLITE_ERROR = 1
# sqlite3 reports the last inserted rowid after any statement; only an INSERT or REPLACE
# has one of its own.
_INSERT = re.compile(r"\s*(?:insert|replace)\b", re.IGNORECASE)


def sqlite_path(url: str) -> str:
    """Return the file path of a ``sqlite:`` URL (``:memory:`` for an in-memory database).

    Raises ``ConfigError`` for a URL with a host or query part, which SQLite does not use.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "sqlite" or parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"invalid SQLite URL {url!r}: use 'sqlite:///relative/path.db', "
            "'sqlite:////absolute/path.db' or 'sqlite:///:memory:'"
        )
    path = urllib.parse.unquote(parts.path[1:])
    if not path:
        raise ConfigError(f"invalid SQLite URL {url!r}: it names no database file")
    return path


def connect(
    url: str, *, datasource: str, role: str = "primary", timeout: float = 30.0
) -> SQLiteConnection:
    """Open one connection to the database file of ``url``.

    ``timeout`` (seconds) is how long a statement waits for another connection's lock.
    Raises ``ShardUnavailableError`` when the file cannot be created or opened.
    """
    path = sqlite_path(url)
    try:
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    except (OSError, sqlite3.Error) as exc:
        raise unreachable(exc, datasource=datasource, role=role, url=url, reason=str(exc)) from exc
    try:
        enable_wal(raw, timeout)
        raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        raw.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raw.close()
        raise unreachable(exc, datasource=datasource, role=role, url=url, reason=str(exc)) from exc
    return SQLiteConnection(raw, datasource=datasource, role=role)


def enable_wal(raw: sqlite3.Connection, timeout: float) -> None:
    """Put the database file in WAL mode (once per file; later calls only read the mode).

    Switching needs the file to itself, and SQLite answers "database is locked" at once,
    without waiting on the busy timeout, while another connection uses it: so the switch
    is retried until ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                raw.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class SQLiteConnection:
    """One ``sqlite3`` connection of a datasource; see ``_driver.Connection``.

    Streams are plain cursors: SQLite steps several statements of one connection
    independently, so they can be read interleaved, inside or outside a transaction.
    """

    __slots__ = ("_closed", "_datasource", "_dirty", "_raw", "_role", "_streams")

    def __init__(self, raw: sqlite3.Connection, *, datasource: str, role: str) -> None:
        self._raw = raw
        self._datasource = datasource
        self._role = role
        self._streams: set[SQLiteStream] = set()
        self._dirty = False
        self._closed = False

    @property
    def broken(self) -> bool:
        """False until a dirty connection's reset closed it: an SQLite connection has no
        server to lose."""
        return self._closed

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``?`` placeholders) and fetch all its rows."""
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql, params)
            description: Description | None = cursor.description
            if description is None:
                lastrowid = cursor.lastrowid if _INSERT.match(sql) else None
                return Outcome(None, [], cursor.rowcount, lastrowid)
            rows: list[Row] = cursor.fetchall()
            lastrowid = cursor.lastrowid if _INSERT.match(sql) else None
            return Outcome(description, rows, len(rows), lastrowid)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple; return the summed row count."""
        if not seq_of_params:
            return 0
        cursor = self._raw.cursor()
        try:
            cursor.executemany(sql, seq_of_params)
            return cursor.rowcount
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[Stream]:
        """Open one cursor per statement; see ``_driver.Connection.open_streams``."""
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        streams: list[Stream] = []
        for sql, params in statements:
            cursor = self._raw.cursor()
            try:
                cursor.execute(sql, params)
            except sqlite3.Error as exc:
                cursor.close()
                for stream in streams:
                    stream.close()
                raise self._error(exc, sql) from exc
            stream = SQLiteStream(self, cursor, sql, batch_size)
            self._streams.add(stream)
            streams.append(stream)
        return streams

    def begin(self) -> None:
        """Start a transaction with ``BEGIN IMMEDIATE`` (takes the write lock now)."""
        if self._raw.in_transaction:
            raise InterfaceError(
                f"a transaction is already open on datasource {self._datasource!r}",
                datasource=self._datasource,
                role=self._role,
            )
        self._command("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one."""
        self._close_streams()
        if self._raw.in_transaction:
            self._command("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one."""
        self._close_streams()
        if self._raw.in_transaction:
            self._command("ROLLBACK")

    def mark_dirty(self) -> None:
        """See ``_driver.Connection.mark_dirty``."""
        self._dirty = True

    def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this).
        After a session that may have changed state (PRAGMAs, ATTACH, temporary tables)
        the connection is closed instead, so the pool opens a fresh one: SQLite has no
        single command that resets a connection, and opening a file is cheap."""
        self.rollback()
        if self._dirty:
            self.close()
            self._closed = True

    def close(self) -> None:
        """Close the connection. Never raises."""
        self._streams.clear()
        with contextlib.suppress(sqlite3.Error):  # nothing more could be released
            self._raw.close()

    def _command(self, sql: str) -> None:
        try:
            self._raw.execute(sql)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc

    def _close_streams(self) -> None:
        for stream in list(self._streams):
            stream.close()

    def _error(self, exc: sqlite3.Error, sql: str) -> Error:
        name = getattr(exc, "sqlite_errorname", None)
        message = f"{exc} ({name})" if name else str(exc)
        sql_error = (
            isinstance(exc, sqlite3.OperationalError)
            and getattr(exc, "sqlite_errorcode", None) == _SQLITE_ERROR
        )
        return translate(
            exc,
            _KINDS,
            datasource=self._datasource,
            role=self._role,
            statement=sql,
            message=message,
            kind=ProgrammingError if sql_error else None,
        )

    def _forget(self, stream: SQLiteStream) -> None:
        self._streams.discard(stream)

    def __repr__(self) -> str:
        state = "in transaction" if self._raw.in_transaction else "idle"
        return f"<SQLiteConnection {self._datasource} ({self._role}) {state}>"


class SQLiteStream:
    """A result read ``batch_size`` rows at a time from an ``sqlite3`` cursor."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_sql")

    def __init__(
        self, connection: SQLiteConnection, cursor: sqlite3.Cursor, sql: str, batch_size: int
    ) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._description: Description | None = cursor.description

    @property
    def description(self) -> Description | None:
        return self._description

    def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the result is exhausted, so the cursor is closed right away.
        """
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = cursor.fetchmany(self._batch_size)
        except sqlite3.Error as exc:
            self.close()
            raise self._connection._error(exc, self._sql) from exc
        if len(rows) < self._batch_size:
            self.close()
        return rows

    def close(self) -> None:
        """Release the cursor. Idempotent."""
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            self._connection._forget(self)
            cursor.close()
