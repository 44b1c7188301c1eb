"""The SQLite driver (stdlib ``sqlite3``): ``AsyncSQLiteConnection`` and ``AsyncSQLiteStream``
for ``sqlite:`` URLs.

Written once, in ``tenantdb._async``; the thread front's copy in ``tenantdb._sync`` is
generated from it.

URLs: ``sqlite:///relative/path.db`` (relative to the working directory),
``sqlite:////abs/path.db`` (absolute), ``sqlite:///:memory:`` (every connection opens its
own private, empty database: useful for tests, useless for sharing data). A missing file
is created (a new, empty database), but a missing parent directory is an error naming it
unless the datasource sets ``create_dirs``: a mistyped path must not quietly start an empty
database.

Each connection runs in autocommit mode (``isolation_level=None``) with WAL journaling,
foreign keys on, a busy timeout equal to the pool timeout and verify's checksum aggregate
registered (``tenantdb_row_hash_sum``, see ``tenantdb.core.verify``).

Transactions: ``begin()`` is ``BEGIN DEFERRED``, which takes no lock, so transactions that
only read run side by side (WAL readers never block each other). A transaction takes the
write lock with its first writing statement, and how that goes depends on what came first:

- the transaction has run nothing yet: the writing statement waits for the write lock
  (up to the busy timeout) exactly as ``BEGIN IMMEDIATE`` would, then reads the latest
  committed data; writers are serialised and no write is lost;
- the transaction has already read: its read snapshot must become a write lock. SQLite
  refuses that at once (it never waits there, so two such transactions cannot deadlock)
  when another connection holds the write lock or has committed since the snapshot was
  taken, as waiting could only end in a stale write. The statement raises
  OperationalError saying so; rolling back and running the transaction again is safe.
  A transaction that must read before it writes and should never fail so can write
  first (e.g. an UPDATE of the row it is about to read).

``BEGIN IMMEDIATE`` for every transaction (tenantdb's first choice) made two transactions
that only read wait for each other until the busy timeout.

Where the work runs: ``sqlite3`` blocks, so on the asyncio front each connection owns a
daemon thread (a worker of ``tenantdb._concurrency``) that does all of its work, and every
driver call is one hop there and back: execute with its fetch, executemany, opening
streams with each one's first batch, a later batch, commit, rollback, close. The thread
front calls the same functions (``_…_now``) directly (each hop's line has its pragma for
the generator), so the worker costs that front nothing on a statement's path.

Interrupted calls (asyncio front): a task cancelled during a call interrupts the running
statement (``sqlite3.Connection.interrupt``) and the connection is ``broken`` from then on,
so the pool closes it on release. A statement waiting for another connection's lock does
not see the interrupt: it ends at the busy timeout on the connection's own thread, after
the cancelled caller has moved on, and the connection is closed after it. Otherwise an
SQLite connection only becomes ``broken`` when a dirty reset closes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .._concurrency import AsyncWatchdog, AsyncWorker
from ..core.sql import declared_types
from ..core.verify import ROW_HASH_SUM, RowHashSum
from ..drivers import enable_wal, error_kinds, sqlite_path, translate, unreachable
from ..errors import Error, InterfaceError, OperationalError, ProgrammingError
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

_KINDS = error_kinds(sqlite3)
# sqlite3 files every SQL error (syntax, unknown table or column) as OperationalError with
# the generic SQLITE_ERROR code; PostgreSQL and MySQL call those ProgrammingError.
_SQLITE_ERROR = 1
# sqlite3 reports the last inserted rowid after any statement; only an INSERT or REPLACE
# has one of its own.
_INSERT = re.compile(r"\s*(?:insert|replace)\b", re.IGNORECASE)
# On the asyncio front a stream reads its first batch as it opens, in the same hop (a hop
# costs more than reading a batch, and every caller fetches it at once); the thread front
# keeps reading it on the first fetch, as it always did.
_PREFETCH = True  # sync: _PREFETCH = False
# Takes no lock: see the module docstring for how the first write takes it.
_BEGIN = "BEGIN DEFERRED"
# sqlite3's error codes for a lock it cannot take: SQLITE_BUSY, and SQLITE_BUSY_SNAPSHOT (a
# read snapshot that another connection's commit made stale cannot become a write).
_SQLITE_BUSY = 5
_SQLITE_BUSY_SNAPSHOT = 517
# sqlite3's error code for a statement stopped by Connection.interrupt().
_SQLITE_INTERRUPT = 9
# Statement timeouts: the process's watchdog (its one thread, on the thread front).
_WATCHDOG = AsyncWatchdog.shared()
# Most statements (and tables) whose declared column types a connection remembers.
_TYPED_MAX = 256


async def connect(
    url: str,
    *,
    datasource: str,
    role: str = "primary",
    timeout: float = 30.0,
    create_dirs: bool = False,
) -> AsyncSQLiteConnection:
    """Open one connection to the database file of ``url``.

    ``timeout`` (seconds) is how long a statement waits for another connection's lock.
    ``create_dirs``: create the file's missing parent directories. Raises
    ``ShardUnavailableError`` when the file cannot be created or opened, and when its
    directory does not exist (naming it) without ``create_dirs``.
    """
    path = sqlite_path(url)
    worker = AsyncWorker(f"the SQLite connection of datasource {datasource!r} ({role})")
    try:
        raw = await worker.call(_open, path, url, datasource, role, timeout, create_dirs)
    except BaseException:
        await worker.aclose()
        raise
    return AsyncSQLiteConnection(raw, worker, datasource=datasource, role=role)


def _open(
    path: str, url: str, datasource: str, role: str, timeout: float, create_dirs: bool
) -> sqlite3.Connection:
    if path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path))
        if not create_dirs and not os.path.isdir(parent):
            raise unreachable(
                FileNotFoundError(parent),
                datasource=datasource,
                role=role,
                url=url,
                reason=(
                    f"the directory {parent} of the database file does not exist; check the "
                    "url, create the directory, or set create_dirs = true on the datasource"
                ),
            )
    try:
        if path != ":memory:" and create_dirs:
            os.makedirs(parent, exist_ok=True)
        # check_same_thread=False: sqlite3's check refuses every thread but the opener's,
        # which guards against two threads using a connection at once; tenantdb rules that
        # out itself. The thread front's pool lends a connection to one thread at a time,
        # not always the same one. The asyncio front opens it on its worker's thread, and
        # only that thread runs statements on it; the event loop's thread reads
        # in_transaction between calls and calls interrupt(), which sqlite3 allows from any
        # thread, and may drop the last reference to a cursor of a broken connection.
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=timeout)
    except (OSError, sqlite3.Error) as exc:
        raise unreachable(exc, datasource=datasource, role=role, url=url, reason=str(exc)) from exc
    try:
        enable_wal(raw, timeout)
        raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        raw.execute("PRAGMA foreign_keys=ON")
        # Verify's chunk checksum (tenantdb.core.verify): SQLite has no hash function.
        # (typeshed wants finalize() -> int; SQLite takes text as well.)
        raw.create_aggregate(ROW_HASH_SUM, -1, RowHashSum)  # type: ignore[arg-type]
    except sqlite3.Error as exc:
        raw.close()
        raise unreachable(exc, datasource=datasource, role=role, url=url, reason=str(exc)) from exc
    return raw


class AsyncSQLiteConnection:
    """One ``sqlite3`` connection of a datasource; see ``_driver.AsyncConnection``.

    Streams are plain cursors: SQLite steps several statements of one connection
    independently, so they can be read interleaved, inside or outside a transaction.
    The ``_…_now`` methods do the work of one driver call and run on the worker.
    """

    __slots__ = (
        "_aborted",
        "_began",
        "_catalog",
        "_closed",
        "_datasource",
        "_dirty",
        "_ran",
        "_raw",
        "_role",
        "_streams",
        "_typed",
        "_worker",
        "deadline",
        "timed_out",
    )

    def __init__(
        self, raw: sqlite3.Connection, worker: AsyncWorker, *, datasource: str, role: str
    ) -> None:
        self._raw = raw
        self._worker = worker
        self._datasource = datasource
        self._role = role
        self._streams: set[AsyncSQLiteStream] = set()
        self._dirty = False
        self._closed = False
        worker.on_cancel = self._interrupt
        self.deadline: Deadline | None = None
        """Bounds the next calls (see ``_driver.AsyncConnection``); set by the session."""
        self.timed_out = False
        """A statement of this checkout ran past its deadline (cleared by ``reset``)."""
        # A statement timed out inside the open transaction: the transaction is failed.
        self._aborted = False
        self._began = False  # begin() ran and no commit or rollback since
        # A statement ran in the open transaction: it holds a read snapshot (or the write
        # lock), so a lock error on a write is a refused upgrade, not a wait that timed out.
        self._ran = False
        # Descriptions with declared types, per statement text (None: none to add), and the
        # tables' (column, declared type) pairs they came from; see _described.
        self._typed: dict[str, Description | None] = {}
        self._catalog: dict[tuple[str | None, str], list[tuple[str, str]] | None] = {}

    @property
    def broken(self) -> bool:
        """True once a dirty connection's reset closed it, or a cancelled call interrupted
        it (asyncio front): an SQLite connection has no server to lose."""
        return self._closed or self._worker.broken

    @property
    def lost(self) -> bool:
        return False  # a file has no server connection to lose

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    async def execute(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        """Run one statement (``?`` placeholders) and fetch all its rows."""
        work = self._execute_now
        if self.deadline is not None or self._aborted:
            return await self._within(sql, work, sql, params)
        return await self._worker.call(work, sql, params)  # sync: return work(sql, params)

    def _execute_now(self, sql: str, params: tuple[Any, ...]) -> Outcome:
        try:
            cursor = self._raw.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        self._ran = self._began
        try:
            description: Description | None = cursor.description
            if description is None:
                lastrowid = cursor.lastrowid if _INSERT.match(sql) else None
                return Outcome(None, [], cursor.rowcount, lastrowid)
            rows: list[Row] = cursor.fetchall()
            lastrowid = cursor.lastrowid if _INSERT.match(sql) else None
            return Outcome(self._described(sql, description), rows, len(rows), lastrowid)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    async def executemany(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        """Run one statement per parameter tuple; return the summed row count."""
        if not seq_of_params:
            return 0
        work, args = self._executemany_now, (sql, seq_of_params)
        if self.deadline is not None or self._aborted:
            return await self._within(sql, work, *args)
        return await self._worker.call(work, *args)  # sync: return work(*args)

    def _executemany_now(self, sql: str, seq_of_params: Sequence[tuple[Any, ...]]) -> int:
        cursor = self._raw.cursor()
        try:
            cursor.executemany(sql, seq_of_params)
            self._ran = self._began
            return cursor.rowcount
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc
        finally:
            cursor.close()

    async def open_streams(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int
    ) -> list[AsyncStream]:
        """Open one cursor per statement; see ``_driver.AsyncConnection.open_streams``.

        On the asyncio front each stream's first batch is read in the same hop (the
        caller's first ``fetch`` returns it without another), so an error in it is raised
        here rather than by that ``fetch``.
        """
        if batch_size < 1:
            raise InterfaceError(f"batch_size must be at least 1, not {batch_size}")
        work, args = self._open_streams_now, (statements, batch_size, _PREFETCH)
        if (self.deadline is not None or self._aborted) and statements:
            first = statements[0][0]
            return await self._within(first, work, *args)
        return await self._worker.call(work, *args)  # sync: return work(*args)

    def _open_streams_now(
        self, statements: Sequence[tuple[str, tuple[Any, ...]]], batch_size: int, prefetch: bool
    ) -> list[AsyncStream]:
        streams: list[AsyncSQLiteStream] = []
        for sql, params in statements:
            cursor = self._raw.cursor()
            try:
                cursor.execute(sql, params)
                self._ran = self._began
                first: list[Row] | None = cursor.fetchmany(batch_size) if prefetch else None
            except sqlite3.Error as exc:
                cursor.close()
                for stream in streams:
                    stream._close_now()
                raise self._error(exc, sql) from exc
            stream = AsyncSQLiteStream(self, cursor, sql, batch_size, first)
            if stream._description is not None:
                stream._description = self._described(sql, stream._description)
            self._streams.add(stream)
            if first is not None and len(first) < batch_size:
                stream._close_now()  # the first batch is the whole result
            streams.append(stream)
        opened: list[AsyncStream] = [*streams]
        return opened

    async def begin(self) -> None:
        """Start a transaction with ``BEGIN DEFERRED``: no lock until its first statement
        (see the module docstring)."""
        if self._raw.in_transaction:
            raise InterfaceError(
                f"a transaction is already open on datasource {self._datasource!r}",
                datasource=self._datasource,
                role=self._role,
            )
        self._aborted = False
        deadline = self.deadline
        if deadline is not None and deadline.passed():
            raise self._timeout(deadline, _BEGIN, sent=False)
        await self._worker.call(self._command, _BEGIN)  # sync: self._command(_BEGIN)
        self._began = True
        self._ran = False

    async def commit(self) -> None:
        """Commit the open transaction (closing open streams first); no-op outside one.

        A transaction failed by a timed-out statement is rolled back instead, and
        ``OperationalError`` says so."""
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
        self._began = self._ran = False
        if self._streams or self._raw.in_transaction:
            await self._worker.call(self._end_now, "COMMIT")  # sync: self._end_now("COMMIT")

    async def rollback(self) -> None:
        """Roll back the open transaction (closing open streams first); no-op outside one.

        On a connection broken by a cancelled call this only forgets its streams: the
        transaction ends when the pool closes the connection."""
        self._aborted = self._began = self._ran = False
        if self._worker.broken:
            self._streams.clear()
        elif self._streams or self._raw.in_transaction:
            await self._worker.call(self._end_now, "ROLLBACK")  # sync: self._end_now("ROLLBACK")

    def _end_now(self, command: str) -> None:
        for stream in list(self._streams):
            stream._close_now()
        if self._raw.in_transaction:
            self._command(command)

    def mark_dirty(self) -> None:
        """See ``_driver.AsyncConnection.mark_dirty``."""
        self._dirty = True

    async def reset(self) -> None:
        """Close open streams and roll back an open transaction (the pool calls this).
        After a session that may have changed state (PRAGMAs, ATTACH, temporary tables)
        the connection is closed instead, so the pool opens a fresh one: SQLite has no
        single command that resets a connection, and opening a file is cheap."""
        await self.rollback()
        self.timed_out = False
        if self._dirty:
            await self.close()
            self._closed = True

    async def close(self) -> None:
        """Close the connection (on the asyncio front, its thread ends after it). Never
        raises."""
        self._streams.clear()
        await self._worker.aclose(self._close_raw)

    def _close_raw(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # nothing more could be released
            self._raw.close()

    def _interrupt(self) -> None:
        # The worker calls this from the event loop's thread while a cancelled call runs.
        with contextlib.suppress(sqlite3.Error):  # already closed: nothing runs
            self._raw.interrupt()

    async def _within(self, sql: str, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` (on the worker) under ``self.deadline``: not started once it has passed,
        interrupted (``sqlite3.Connection.interrupt``, from the watchdog) when it passes
        meanwhile; then ``StatementTimeoutError``. Refused in a failed transaction."""
        if self._aborted:
            raise failed_by_timeout(datasource=self._datasource, role=self._role, statement=sql)
        deadline = self.deadline
        if deadline is None:
            return await self._worker.call(work, *args)  # sync: return work(*args)
        if deadline.passed():
            raise self._timeout(deadline, sql, sent=False)
        alarm = _WATCHDOG.arm(deadline.at, self._interrupt_running)
        try:
            result = await self._worker.call(work, *args)  # sync: result = work(*args)
        except Error as exc:
            fired = await alarm.disarm()
            code = getattr(exc.orig, "sqlite_errorcode", None)
            if fired and code == _SQLITE_INTERRUPT:
                # SQLite rolls back a transaction whose write it interrupted (and goes on in
                # autocommit), and keeps one whose read it interrupted: either way the
                # caller's transaction fails here, as on the servers.
                self._aborted = self._began
                raise self._timeout(deadline, sql, sent=True, orig=exc.orig) from exc.orig
            raise
        except BaseException:
            await alarm.disarm()
            raise
        await alarm.disarm()
        return result

    async def _interrupt_running(self) -> None:
        # The watchdog calls this once a deadline passed; interrupt() is safe from any
        # thread, and one that finds nothing running is forgotten when the next starts
        # (the watchdog's disarm waits for this call first).
        self._interrupt()

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

    def _command(self, sql: str) -> None:
        try:
            self._raw.execute(sql)
        except sqlite3.Error as exc:
            raise self._error(exc, sql) from exc

    def _error(self, exc: sqlite3.Error, sql: str) -> Error:
        name = getattr(exc, "sqlite_errorname", None)
        message = f"{exc} ({name})" if name else str(exc)
        code = getattr(exc, "sqlite_errorcode", None)
        sql_error = isinstance(exc, sqlite3.OperationalError) and code == _SQLITE_ERROR
        if code in (_SQLITE_BUSY, _SQLITE_BUSY_SNAPSHOT) and self._ran and self._raw.in_transaction:
            why = (
                "another connection has committed since this transaction read"
                if code == _SQLITE_BUSY_SNAPSHOT
                else "another connection holds the write lock"
            )
            message = (
                f"{message}: this transaction read before it wrote, and SQLite cannot turn "
                f"its read into a write now ({why}); it refuses at once rather than wait, "
                "so two such transactions never deadlock. Roll back and run the transaction "
                "again, or make its first statement a write (that waits for the lock)"
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

    def _described(self, sql: str, description: Description) -> Description:
        """``description`` with the declared type of each column that is a plain table
        column as its type code (``sqlite3`` gives None for all): PEP 249's type objects in
        ``tenantdb.dbapi`` compare equal to these by SQLite's type affinity rules. Worked
        out once per statement text (``core.sql.declared_types``, the tables' definitions
        read with ``PRAGMA table_info``) and kept as long as the connection: a table
        another connection redefines meanwhile shows its new types on new connections."""
        typed = self._typed.get(sql, description)
        if typed is description:
            types = declared_types(sql, "sqlite", self._columns_of)
            typed = None
            if types is not None and len(types) == len(description) and any(types):
                typed = tuple(
                    (column[0], declared, *column[2:])
                    for column, declared in zip(description, types, strict=True)
                )
            if len(self._typed) >= _TYPED_MAX:
                self._typed.clear()
            self._typed[sql] = typed
        if typed is None or len(typed) != len(description):
            return description
        return typed

    def _columns_of(self, schema: str | None, table: str) -> list[tuple[str, str]] | None:
        key = (schema, table)
        if key in self._catalog:
            return self._catalog[key]
        where = "" if schema is None else '"' + schema.replace('"', '""') + '".'
        name = "'" + table.replace("'", "''") + "'"
        try:
            rows = self._raw.execute(f"PRAGMA {where}table_info({name})").fetchall()
        except sqlite3.Error:
            return None  # not a table this connection can see: no type to give
        found = [(str(row[1]), str(row[2] or "")) for row in rows] or None
        if len(self._catalog) >= _TYPED_MAX:
            self._catalog.clear()
        self._catalog[key] = found
        return found

    def _forget(self, stream: AsyncSQLiteStream) -> None:
        self._streams.discard(stream)

    def __repr__(self) -> str:
        if self.broken:
            state = "broken"
        else:
            state = "in transaction" if self._raw.in_transaction else "idle"
        return f"<AsyncSQLiteConnection {self._datasource} ({self._role}) {state}>"


class AsyncSQLiteStream:
    """A result read ``batch_size`` rows at a time from an ``sqlite3`` cursor."""

    __slots__ = ("_batch_size", "_connection", "_cursor", "_description", "_first", "_sql")

    def __init__(
        self,
        connection: AsyncSQLiteConnection,
        cursor: sqlite3.Cursor,
        sql: str,
        batch_size: int,
        first: list[Row] | None,
    ) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = cursor
        self._sql = sql
        self._batch_size = batch_size
        self._description: Description | None = cursor.description
        self._first = first  # the batch read as the stream opened, until it is fetched

    @property
    def description(self) -> Description | None:
        return self._description

    async def fetch(self) -> list[Row]:
        """Return the next batch of at most ``batch_size`` rows; ``[]`` once exhausted.

        A short batch means the result is exhausted, so the cursor is closed right away.
        """
        first = self._first
        if first is not None:
            self._first = None
            return first
        if self._cursor is None:
            return []
        work = self._fetch_now
        return await self._connection._worker.call(work)  # sync: return work()

    def _fetch_now(self) -> list[Row]:
        cursor = self._cursor
        if cursor is None:
            return []
        try:
            rows: list[Row] = cursor.fetchmany(self._batch_size)
        except sqlite3.Error as exc:
            self._close_now()
            raise self._connection._error(exc, self._sql) from exc
        if len(rows) < self._batch_size:
            self._close_now()
        return rows

    async def close(self) -> None:
        """Release the cursor. Idempotent."""
        self._first = None
        if self._cursor is None:
            return
        connection = self._connection
        if connection._worker.broken:
            # Its thread may still be in an interrupted call; the cursor goes with the
            # connection, which the pool closes.
            self._cursor = None
            connection._forget(self)
            return
        work = self._close_now
        await connection._worker.call(work)  # sync: work()

    def _close_now(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            self._connection._forget(self)
            cursor.close()
