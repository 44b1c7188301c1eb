"""``postgresql://…?table=NAME`` — tenant records in a PostgreSQL table, changes by NOTIFY.

Layout (created on first use, default ``NAME`` ``tenantdb_tenants``)::

    NAME(id text PRIMARY KEY, version bigint NOT NULL, data text NOT NULL)
    NAME_notify()          trigger function: pg_notify('NAME_changes', '{"id": …, "version": …}')
    trigger NAME_notify    AFTER INSERT OR UPDATE OR DELETE ON NAME FOR EACH ROW

``data`` is the JSON of every field but ``id`` and ``version`` (``_codec``). It is ``text``,
not ``jsonb``, so a record reads back exactly as written (jsonb rewrites numbers such as
``1e20``), and a hand-written value that is not JSON is rejected by the registry rather
than by the column. A notification carries only the id and the new version (``null`` on
delete), never tenant data, and is sent when the writing transaction commits. ``TRUNCATE``
fires no row trigger: the registry's resync catches what notifications miss.

Requests run on a few connections lent to one thread at a time; ``watch`` keeps its own
connection, which LISTENs and also reads the rows of the changes it delivers: one SELECT
for all the notifications that arrived together, on a connection that is always open
(the lent ones are closed after a minute idle, and a fresh connection costs a fork on the
server). The change handler's ``load`` calls for those tenants, on the watching thread,
are answered from that read. Every failure to reach the server, and any other server
error, is raised as RegistryUnavailableError with the URL shown without its password.
"""

from __future__ import annotations

import contextlib
import json
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import psycopg
from psycopg import pq, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.errors import UndefinedTable
from psycopg.rows import TupleRow

from ..._sync import ConnectionPool
from ...config import IDENTIFIER_HELP, is_identifier
from ...drivers import scrub_password
from ...errors import (
    InterfaceError,
    PoolTimeoutError,
    RegistryUnavailableError,
)
from ._base import Change, Record
from ._codec import decode_record, encode_fields
from ._url import StoreUrl

Connection = psycopg.Connection[TupleRow]
T = TypeVar("T")

DEFAULT_TABLE = "tenantdb_tenants"
# PostgreSQL truncates names to 63 bytes; the channel (NAME_changes) must stay whole.
_MAX_TABLE_LENGTH = 63 - len("_changes")
_IDLE = pq.TransactionStatus.IDLE
# How often a watch with nothing to deliver checks ``stop`` and ``close()``. Local only:
# an idle watch sends nothing to the server.
_WATCH_WAKE_S = 0.5
# A row as read: (id, version, data).
_Row = tuple[Any, Any, Any]

# Connection parameters the store sets unless the URL does. Keepalives and
# tcp_user_timeout make a server that vanished without closing the socket (a cut cable,
# a dead VM) an error within about half a minute instead of a watch that waits forever.
_CONNECT_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
    "application_name": "tenantdb-registry",
}

_NOTIFY_FUNCTION_BODY = """
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify(TG_ARGV[0], json_build_object('id', OLD.id, 'version', NULL)::text);
    ELSE
        PERFORM pg_notify(
            TG_ARGV[0], json_build_object('id', NEW.id, 'version', NEW.version)::text
        );
    END IF;
    RETURN NULL;
END
"""


class PostgresStore:
    """Tenant records in one PostgreSQL table, shared by every process that names it.

    Opens nothing until first used. Thread-safe: each request borrows a connection of its
    own (at most ``max_connections`` at once).
    """

    def __init__(self, url: str, *, max_connections: int = 8) -> None:
        parsed = StoreUrl.parse(url)
        self.url = parsed.redacted
        self.table, conninfo = _split_table(parsed)
        self.channel = f"{self.table}_changes"
        try:
            written = conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            message = scrub_password(str(exc), url)
            raise parsed.problem(f"not a PostgreSQL URL: {message}") from exc
        self._conninfo = conninfo
        self._connect_kwargs = {k: v for k, v in _CONNECT_DEFAULTS.items() if k not in written}
        self._connect_kwargs["autocommit"] = True
        # The project's ConnectionPool: opens on first use, a refused connect fails the
        # caller at once, idle connections older than a minute are replaced.
        self._pool: ConnectionPool[_Pooled] = ConnectionPool(
            "tenant registry",
            self._open_pooled,
            min_size=0,
            max_size=max_connections,
            timeout=float(self._connect_kwargs.get("connect_timeout", 5)),
            max_idle=60.0,
        )
        self._lock = threading.Lock()  # guards _closed, _schema_ready
        self._closed = False
        self._schema_ready = False
        # Per watching thread, while it delivers changes: {id: row or None (no row)}.
        self._delivering = threading.local()

    # -- reads --------------------------------------------------------------------------

    def load(self, tenant_id: str) -> Record | None:
        delivering: dict[str, _Row | None] | None = getattr(self._delivering, "rows", None)
        if delivering is not None and tenant_id in delivering:
            # A change handler reloading a tenant whose row its watch read after the
            # notification arrived: as fresh as a read now would have been then.
            row = delivering[tenant_id]
            return decode_record(*row) if row is not None else None
        query = sql.SQL("SELECT id, version, data FROM {} WHERE id = %s").format(
            sql.Identifier(self.table)
        )
        rows = self._run(lambda conn: conn.execute(query, (tenant_id,)).fetchall(), retry=True)
        return decode_record(*rows[0]) if rows else None

    def load_all(self) -> Iterator[Record]:
        query = sql.SQL("SELECT id, version, data FROM {}").format(sql.Identifier(self.table))
        rows = self._run(lambda conn: conn.execute(query).fetchall(), retry=True)
        return (decode_record(*row) for row in rows)

    def versions(self) -> dict[str, int]:
        query = sql.SQL("SELECT id, version FROM {}").format(sql.Identifier(self.table))
        rows = self._run(lambda conn: conn.execute(query).fetchall(), retry=True)
        return {tenant_id: int(version) for tenant_id, version in rows}

    # -- writes -------------------------------------------------------------------------

    def write(self, record: Record, *, expected_version: int) -> bool:
        table = sql.Identifier(self.table)
        params: tuple[Any, ...]
        if expected_version == 0:
            statement = sql.SQL(
                "INSERT INTO {} (id, version, data) VALUES (%s, %s, %s) ON CONFLICT (id) DO NOTHING"
            ).format(table)
            params = (record["id"], record["version"], encode_fields(record))
        else:
            statement = sql.SQL(
                "UPDATE {} SET version = %s, data = %s WHERE id = %s AND version = %s"
            ).format(table)
            params = (record["version"], encode_fields(record), record["id"], expected_version)
        # Not retried: a write whose connection broke may have been applied.
        return self._run(lambda conn: conn.execute(statement, params).rowcount == 1, retry=False)

    def remove(self, tenant_id: str) -> bool:
        statement = sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(self.table))
        return self._run(
            lambda conn: conn.execute(statement, (tenant_id,)).rowcount > 0, retry=False
        )

    # -- changes ------------------------------------------------------------------------

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """LISTEN on a connection of its own; see TenantStore.watch. Checks ``stop`` and
        ``close()`` every half second.

        Notifications that arrive together are delivered together: their rows are read
        first, in one SELECT on this connection, and ``load`` on this thread answers from
        that read while ``on_change`` runs for each of them, in order. Notifications that
        arrive during the read are kept (a notify handler, set only while it runs) and
        delivered next."""
        conn = self._connect()
        try:
            with self._lock:
                schema_ready = self._schema_ready
            if not schema_ready:
                self._ensure_schema(conn)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            on_ready()
            arrived: list[psycopg.Notify] = []
            while not stop.is_set() and not self._closed:
                if not arrived:
                    # Returns once a packet of notifications arrived, or after the wait.
                    arrived = list(conn.notifies(timeout=_WATCH_WAKE_S, stop_after=1))
                changes = [c for n in arrived if (c := _change_of(n.payload)) is not None]
                arrived = []
                if changes:
                    rows = self._read_rows(conn, [c.tenant_id for c in changes], arrived)
                    self._deliver(changes, rows, on_change, stop)
        except psycopg.Error as exc:
            if isinstance(exc, UndefinedTable):
                with self._lock:  # dropped behind our back: create it again next time
                    self._schema_ready = False
            raise self._unavailable(exc) from exc
        finally:
            conn.close()

    def _read_rows(
        self, conn: Connection, tenant_ids: list[str], arrived: list[psycopg.Notify]
    ) -> dict[str, _Row | None]:
        """The rows of ``tenant_ids`` (None: no row), read on the LISTEN connection;
        notifications that arrive meanwhile are appended to ``arrived``."""
        query = sql.SQL("SELECT id, version, data FROM {} WHERE id = ANY(%s)").format(
            sql.Identifier(self.table)
        )
        wanted = sorted(set(tenant_ids))
        # Only while the query runs: psycopg warns when notifies() and handlers are mixed.
        keep = arrived.append
        conn.add_notify_handler(keep)
        try:
            found = {row[0]: row for row in conn.execute(query, (wanted,)).fetchall()}
        finally:
            conn.remove_notify_handler(keep)
        return {tenant_id: found.get(tenant_id) for tenant_id in wanted}

    def _deliver(
        self,
        changes: list[Change],
        rows: dict[str, _Row | None],
        on_change: Callable[[Change], None],
        stop: threading.Event,
    ) -> None:
        self._delivering.rows = rows
        try:
            for change in changes:
                on_change(change)
                if stop.is_set() or self._closed:
                    break
        finally:
            self._delivering.rows = None

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the idle connections now and lent ones when they come back; a running
        ``watch`` returns within half a second. Later calls raise RegistryUnavailableError."""
        with self._lock:
            self._closed = True
        self._pool.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{self._pool.in_use} in use, {self._pool.idle} idle"
        return f"<PostgresStore {self.url} [{state}]>"

    # -- connections --------------------------------------------------------------------

    def _run(self, work: Callable[[Connection], T], *, retry: bool) -> T:
        """Run ``work`` on a borrowed connection, translating errors.

        With ``retry`` (reads only), a failure on a connection that sat idle is tried once
        more on a fresh one: the server may have restarted since the connection was used.
        """
        retried = False
        while True:
            lent = self._acquire()
            conn, reused = lent.raw, lent.used
            lent.used = True
            try:
                with self._lock:
                    schema_ready = self._schema_ready
                if not schema_ready:
                    self._ensure_schema(conn)
                result = work(conn)
            except psycopg.OperationalError as exc:
                lent.discard = True
                self._pool.release(lent)
                if retry and reused and not retried:
                    retried = True
                    continue
                raise self._unavailable(exc) from exc
            except psycopg.Error as exc:
                if isinstance(exc, UndefinedTable):
                    with self._lock:  # dropped behind our back: create it again next time
                        self._schema_ready = False
                self._pool.release(lent)
                raise self._unavailable(exc) from exc
            except BaseException:
                lent.discard = True
                self._pool.release(lent)
                raise
            self._pool.release(lent)
            return result

    def _acquire(self) -> _Pooled:
        if self._closed:
            raise RegistryUnavailableError(f"tenant store {self.url} is closed")
        try:
            return self._pool.acquire()
        except (PoolTimeoutError, InterfaceError) as exc:  # all busy, or closed meanwhile
            raise RegistryUnavailableError(f"tenant store {self.url}: {exc}", orig=exc) from exc

    def _connect(self) -> Connection:
        try:
            return psycopg.connect(self._conninfo, **self._connect_kwargs)
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    def _open_pooled(self) -> _Pooled:
        return _Pooled(self._connect())

    def _ensure_schema(self, conn: Connection) -> None:
        """Create the table, its trigger function and trigger unless they exist.

        Skipped when both exist, so a role without CREATE rights can use a table an
        operator made. Otherwise runs under a transaction-scoped advisory lock, so
        processes starting together do not race on the catalog.
        """
        table = sql.Identifier(self.table)
        function = sql.Identifier(f"{self.table}_notify")
        exists = sql.SQL(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger"
            " WHERE tgrelid = to_regclass(quote_ident(%s)) AND tgname = %s)"
        )
        names = (self.table, f"{self.table}_notify")
        if not _fetch_bool(conn, exists, names):
            with conn.transaction():
                key = zlib.crc32(f"tenantdb.tenants:{self.table}".encode())
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                if not _fetch_bool(conn, exists, names):
                    conn.execute(
                        sql.SQL(
                            "CREATE TABLE IF NOT EXISTS {} (id text PRIMARY KEY,"
                            " version bigint NOT NULL, data text NOT NULL)"
                        ).format(table)
                    )
                    conn.execute(
                        sql.SQL(
                            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}"
                        ).format(function, sql.Literal(_NOTIFY_FUNCTION_BODY))
                    )
                    conn.execute(
                        sql.SQL(
                            "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {}"
                            " FOR EACH ROW EXECUTE FUNCTION {}({})"
                        ).format(function, table, function, sql.Literal(self.channel))
                    )
        with self._lock:
            self._schema_ready = True

    def _unavailable(self, exc: psycopg.Error) -> RegistryUnavailableError:
        # The primary message only: a DETAIL line may quote row values.
        message = (exc.diag.message_primary if exc.diag else None) or str(exc)
        return RegistryUnavailableError(
            f"tenant store {self.url}: {scrub_password(message.strip(), self._conninfo)}",
            orig=exc,
        )


class _Pooled:
    """A psycopg connection as the pool sees it. ``used``: lent before (a failure on it
    may be a server restart since, worth one retry); ``discard``: close, do not keep."""

    def __init__(self, raw: Connection) -> None:
        self.raw = raw
        self.used = False
        self.discard = False

    @property
    def broken(self) -> bool:
        return self.discard or self.raw.broken or self.raw.info.transaction_status != _IDLE

    def reset(self) -> None:
        pass  # autocommit: a connection that is not idle counts as broken instead

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.raw.close()


def _split_table(parsed: StoreUrl) -> tuple[str, str]:
    """``(table, URL without the table option)``; ConfigError for a bad table name."""
    table = parsed.option("table")
    if table is None:
        table = DEFAULT_TABLE
    if not is_identifier(table) or len(table) > _MAX_TABLE_LENGTH:
        raise parsed.problem(
            f"table {table!r} is not a plain identifier of at most {_MAX_TABLE_LENGTH}"
            f" characters ({IDENTIFIER_HELP}); use for example ?table={DEFAULT_TABLE}"
        )
    return table, parsed.without("table")


def _fetch_bool(conn: Connection, query: sql.SQL, params: tuple[Any, ...]) -> bool:
    row = conn.execute(query, params).fetchone()
    return bool(row and row[0])


def _change_of(payload: str) -> Change | None:
    """The Change a notification carries; None for a payload this store did not send."""
    with contextlib.suppress(ValueError):
        message = json.loads(payload)
        if isinstance(message, dict) and isinstance(message.get("id"), str):
            version = message.get("version")
            if isinstance(version, bool) or not isinstance(version, int):
                version = None
            return Change(message["id"], version)
    return None
