"""``sqlite:///path.db`` — the embedded default store: two tables in one SQLite file.

``tenantdb_tenants(id, version, data)`` holds the records (``data`` is the JSON of the
other fields); ``tenantdb_tenant_changes(seq, id, version)`` is a change log written in the
same transaction. SQLite has no notifications, so a watcher polls the log for rows after the
last one it saw, every ``poll_interval`` seconds (URL query, default 0.05). The log keeps
its newest ``_LOG_KEEP`` rows; a watcher that falls further behind misses nothing, because
every (re)start of a watch is followed by a resync by version.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ...drivers import enable_wal, sqlite_path
from ...errors import RegistryUnavailableError
from ._base import Change, Record
from ._codec import decode_record, encode_fields
from ._url import StoreUrl

DEFAULT_POLL_INTERVAL_S = 0.05
_LOG_KEEP = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS tenantdb_tenants (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tenantdb_tenant_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    version INTEGER
);
"""


class SQLiteStore:
    """Tenant records in a SQLite file, safe to share between processes."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        parsed = StoreUrl.parse(url)
        parsed.refuse_options(["poll_interval"], store="a SQLite store URL")
        self.url = url
        self.poll_interval_s = parsed.seconds("poll_interval", DEFAULT_POLL_INTERVAL_S)
        self._path = sqlite_path(parsed.without("poll_interval"))
        self._timeout_s = timeout_s
        self._lock = threading.Lock()  # one connection, used by one thread at a time
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    # -- reads --------------------------------------------------------------------------

    def load(self, tenant_id: str) -> Record | None:
        rows = self._query(
            "SELECT id, version, data FROM tenantdb_tenants WHERE id = ?", (tenant_id,)
        )
        return decode_record(*rows[0]) if rows else None

    def load_all(self) -> Iterator[Record]:
        # A connection of its own, read in batches: 100,000 tenants never sit in memory as
        # rows and dicts at once, and the shared connection stays free meanwhile.
        conn = self._connect()
        try:
            cursor = conn.execute("SELECT id, version, data FROM tenantdb_tenants")
            while rows := cursor.fetchmany(1000):
                for row in rows:
                    yield decode_record(*row)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        finally:
            conn.close()

    def versions(self) -> dict[str, int]:
        return dict(self._query("SELECT id, version FROM tenantdb_tenants", ()))

    # -- writes -------------------------------------------------------------------------

    def write(self, record: Record, *, expected_version: int) -> bool:
        tenant_id, version = record["id"], record["version"]

        def change(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT version FROM tenantdb_tenants WHERE id = ?", (tenant_id,)
            ).fetchone()
            if (row[0] if row else 0) != expected_version:
                return False
            conn.execute(
                "INSERT INTO tenantdb_tenants (id, version, data) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data",
                (tenant_id, version, encode_fields(record)),
            )
            self._log(conn, tenant_id, version)
            return True

        return self._transaction(change)

    def remove(self, tenant_id: str) -> bool:
        def change(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute("DELETE FROM tenantdb_tenants WHERE id = ?", (tenant_id,))
            if deleted.rowcount == 0:
                return False
            self._log(conn, tenant_id, None)
            return True

        return self._transaction(change)

    # -- changes ------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        conn = self._connect()
        try:
            seen = self._last_seq(conn)
            on_ready()
            while not stop.wait(self.poll_interval_s):
                try:
                    rows = conn.execute(
                        "SELECT seq, id, version FROM tenantdb_tenant_changes WHERE seq > ?"
                        " ORDER BY seq",
                        (seen,),
                    ).fetchall()
                except sqlite3.Error as exc:
                    raise self._unavailable(exc) from exc
                for seq, tenant_id, version in rows:
                    seen = seq
                    on_change(Change(tenant_id, version))
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"<SQLiteStore {self._path}>"

    # -- helpers ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            if self._path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(self._path)), exist_ok=True)
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=self._timeout_s
            )
            enable_wal(conn, self._timeout_s)
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise self._unavailable(exc) from exc
        return conn

    def _connection(self) -> sqlite3.Connection:
        """Under _lock: the shared connection, opened on first use."""
        if self._closed:
            raise RegistryUnavailableError(f"tenant store {self.url} is closed")
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc

    def _transaction(self, change: Callable[[sqlite3.Connection], bool]) -> bool:
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    done = change(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            return done

    @staticmethod
    def _log(conn: sqlite3.Connection, tenant_id: str, version: int | None) -> None:
        cursor = conn.execute(
            "INSERT INTO tenantdb_tenant_changes (id, version) VALUES (?, ?)", (tenant_id, version)
        )
        seq = cursor.lastrowid or 0
        if seq % 1000 == 0:
            conn.execute("DELETE FROM tenantdb_tenant_changes WHERE seq <= ?", (seq - _LOG_KEEP,))

    @staticmethod
    def _last_seq(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM tenantdb_tenant_changes").fetchone()
        return int(row[0])

    def _unavailable(self, exc: BaseException) -> RegistryUnavailableError:
        return RegistryUnavailableError(f"tenant store {self.url}: {exc}", orig=exc)
