"""The verify jobs: a datasource's primary against its replicas, and a broadcast table's
copies across datasources (with ``repair``); both built on ``verify_copies``.

Primaries are read through an admin session (``execute_on``). A replica is read on a
connection of its own, from a pool opened for the job and closed after it: sessions read
a replica only when routing chooses one, and verify must name each.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

from .._sync import Connection, Session, open_pool
from ..config import Dialect
from ..core.sql import physical_statement
from ..core.verify import TableReport, TableShape
from ..errors import ProgrammingError
from ._catalog import Query, catalog_for, query_on
from ._repair import REPAIR_LOG, LoggedRepair
from ._verify import ChunkListener, LagReading, TableCopy, progress_path, verify_copies
from ._view import ClusterView, admin_session

# Seconds a PostgreSQL standby is behind: 0 when it has replayed all it received (an idle
# primary writes nothing, so the last replayed transaction's age says nothing then).
_PG_LAG = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


def table_shape(
    query: Query,
    dialect: Dialect,
    table: str,
    *,
    schema: str | None = None,
    where: str | None = None,
    where_params: Sequence[object] = (),
) -> TableShape:
    """Read ``table``'s primary key and columns from the catalog of the database ``query``
    runs on. Raises ProgrammingError when the table does not exist, ValueError when it
    has no primary key."""
    names = _catalog_columns(query, dialect, table, schema)
    if not names:
        where_is = f"{schema}.{table}" if schema else table
        raise ProgrammingError(f"no table {where_is!r} to verify; check the table name")
    key = tuple(name for name, position in sorted(names, key=lambda n: n[1]) if position)
    columns = (*key, *(name for name, position in names if not position))
    return TableShape(
        dialect, table, key, columns, schema=schema, where=where, where_params=tuple(where_params)
    )


def _catalog_columns(
    query: Query, dialect: str, table: str, schema: str | None
) -> list[tuple[str, int]]:
    """(column, position in the primary key or 0) in table order."""
    if dialect == "sqlite":
        rows = query("SELECT name, pk FROM pragma_table_info(%s, %s)", (table, schema or "main"))
    elif dialect == "postgres":
        relation = ".".join(
            '"' + part.replace('"', '""') + '"' for part in ((schema,) if schema else ()) + (table,)
        )
        rows = query(
            "SELECT a.attname, coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY "
            "AS k(attnum, n) WHERE k.attnum = a.attnum), 0) "
            "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid "
            "AND i.indisprimary WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum",
            (relation,),
        )
    else:
        rows = query(
            "SELECT c.column_name, coalesce(k.ordinal_position, 0) "
            "FROM information_schema.columns c LEFT JOIN information_schema.key_column_usage k "
            "ON k.table_schema = c.table_schema AND k.table_name = c.table_name "
            "AND k.column_name = c.column_name AND k.constraint_name = 'PRIMARY' "
            "WHERE c.table_schema = coalesce(%s, DATABASE()) AND c.table_name = %s "
            "ORDER BY c.ordinal_position",
            (schema, table),
        )
    return [(str(name), int(position or 0)) for name, position in rows]


def primary_copy(
    session: Session,
    datasource: str,
    table: str,
    *,
    dialect: Dialect,
    schema: str | None = None,
    where: str | None = None,
    where_params: Sequence[object] = (),
) -> TableCopy:
    """The copy of ``table`` on ``datasource``'s primary, read through ``session`` (an
    admin session) in ``dialect`` (the cluster's), rows optionally filtered
    (``where="tenant_id = %s"``, ``where_params=("acme",)``)."""
    query = query_on(session, datasource)
    shape = table_shape(
        query, dialect, table, schema=schema, where=where, where_params=where_params
    )
    return TableCopy(datasource, shape, query)


@contextlib.contextmanager
def _replica_connections(view: ClusterView, datasource: str) -> Iterator[list[Connection]]:
    """One connection to each replica of ``datasource``, from pools closed on exit."""
    entry = view.config.datasources[datasource]
    with contextlib.ExitStack() as stack:
        connections: list[Connection] = []
        for url in entry.replicas:
            pool = open_pool(datasource, url, entry.pool, role="replica")
            stack.callback(pool.close)
            connection = pool.acquire()
            stack.callback(pool.release, connection)
            connections.append(connection)
        yield connections


def _connection_query(connection: Connection, dialect: Dialect) -> Query:
    def query(sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        statement = physical_statement(sql, dialect)
        outcome = connection.execute(statement.text, statement.values(params))
        return [tuple(row) for row in outcome.rows]

    return query


def _lag_reading(connection: Connection, dialect: str) -> LagReading | None:
    if dialect == "postgres":
        return lambda: float(connection.execute(_PG_LAG, ()).rows[0][0])
    if dialect != "mysql":
        return None

    def mysql_lag() -> float | None:
        outcome = connection.execute("SHOW SLAVE STATUS", ())
        if not outcome.rows or outcome.description is None:
            return 0.0  # not a replica
        names = [column[0] for column in outcome.description]
        value = outcome.rows[0][names.index("Seconds_Behind_Master")]
        return math.inf if value is None else float(value)

    return mysql_lag


def verify_replicas(
    view: ClusterView,
    datasource: str,
    *,
    tables: Sequence[str] = (),
    progress_dir: Path | None = None,
    chunk_rows: int | None = None,
    sample_limit: int = 10,
    on_chunk: ChunkListener | None = None,
) -> list[TableReport]:
    """Compare every replica of ``datasource`` with its primary, table by table
    (``tables``, default: every table of the primary's database), and return one report
    per (table, replica).

    Before each chunk verify waits while the replica is more than the datasource's
    ``max_replication_lag`` behind. Raises ``ProgrammingError`` for a datasource without
    replicas or an unknown table, and what ``verify_copies`` raises.
    """
    entry = view.config.datasources.get(datasource)
    if entry is None or not entry.replicas:
        known = ", ".join(n for n, e in view.config.datasources.items() if e.replicas)
        raise ProgrammingError(
            f"datasource {datasource!r} has no replicas to verify; "
            f"datasources with replicas: {known or 'none'}"
        )
    dialect = view.topology.dialect
    reports: list[TableReport] = []
    with admin_session(view) as session, _replica_connections(view, datasource) as replicas:
        query = query_on(session, datasource)
        names = list(tables) or sorted(
            name
            for name in catalog_for(dialect).table_names(query)
            if name != REPAIR_LOG and not name.startswith("sqlite_")
        )
        for table in names:
            source = primary_copy(session, datasource, table, dialect=dialect)
            for index, connection in enumerate(replicas):
                target = TableCopy(
                    f"{datasource}/replica{index}",
                    source.shape,
                    _connection_query(connection, dialect),
                    _lag_reading(connection, dialect),
                )
                reports.append(
                    verify_copies(
                        source,
                        target,
                        progress=_progress(progress_dir, source, target),
                        chunk_rows=chunk_rows,
                        sample_limit=sample_limit,
                        max_lag_s=entry.max_replication_lag,
                        on_chunk=on_chunk,
                    )
                )
    return reports


def verify_broadcast(
    view: ClusterView,
    table: str,
    *,
    source: str | None = None,
    repair: bool = False,
    progress_dir: Path | None = None,
    chunk_rows: int | None = None,
    sample_limit: int = 10,
    on_chunk: ChunkListener | None = None,
) -> list[TableReport]:
    """Compare the copies of broadcast ``table`` on every datasource with the copy on
    ``source`` (default: the table's first datasource); one report per other copy.

    With ``repair``, each other copy is brought to the source's rows as differences are
    found (``LoggedRepair``: one transaction per chunk, each repair logged, none applied
    twice); the reports still count what was found, and ``repaired`` what was changed.
    Raises ``ProgrammingError`` when ``table`` is not a broadcast table or ``source`` does
    not hold it.
    """
    config = view.config.tables.get(table)
    if config is None or config.strategy != "broadcast":
        broadcast = ", ".join(n for n, t in view.config.tables.items() if t.strategy == "broadcast")
        raise ProgrammingError(
            f"{table!r} is not a broadcast table; broadcast tables: {broadcast or 'none'}"
            + ("" if repair else "; to compare other tables use tenantdb.admin.verify_copies")
        )
    holders = list(config.datasources) or list(view.config.datasources)
    chosen = source or holders[0]
    if chosen not in holders:
        raise ProgrammingError(
            f"--source {chosen!r} does not hold {table!r}; it lives on {', '.join(holders)}"
        )
    reports: list[TableReport] = []
    with admin_session(view) as session:
        dialect = view.topology.dialect
        ours = primary_copy(session, chosen, table, dialect=dialect)
        for other in holders:
            if other == chosen:
                continue
            theirs = primary_copy(session, other, table, dialect=dialect)
            reports.append(
                verify_copies(
                    ours,
                    theirs,
                    progress=_progress(progress_dir, ours, theirs),
                    chunk_rows=chunk_rows,
                    sample_limit=sample_limit,
                    repair=LoggedRepair(session, other, theirs.shape) if repair else None,
                    on_chunk=on_chunk,
                )
            )
    return reports


def _progress(directory: Path | None, source: TableCopy, target: TableCopy) -> Path | None:
    return None if directory is None else progress_path(directory, source, target)


__all__ = ["primary_copy", "table_shape", "verify_broadcast", "verify_replicas"]
