"""The lag monitor's probes: one dedicated blocking connection per server of a replicated
datasource, and the SQL each dialect answers positions with.

The probes run on the monitor's thread on both fronts (a busy application pool, or a busy
event loop, never delays a lag reading), so they use the thread front's drivers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from ..config import DatasourceConfig, Dialect
from ..core.replication import GtidPosition, Position, parse_pg_lsn
from ..errors import Error
from ._lag_monitor import ReplicaReading

PG_PRIMARY_POSITION = "SELECT pg_current_wal_lsn()::text"
"""The primary's write position (PostgreSQL), as text for ``parse_pg_lsn``."""
# A server that is not in recovery (a promoted replica, or a primary listed as a replica)
# has replayed everything it has written.
_PG_REPLAYED = (
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END)::text"
)
MARIADB_WRITE_POSITION = "SELECT @@last_gtid, @@gtid_binlog_pos"
"""A MariaDB session's last GTID and the primary's whole position, for ``write_gtid``."""
# What a MariaDB replica has applied. Not a column of SHOW SLAVE STATUS (only of SHOW ALL
# SLAVES STATUS); kept whether or not the replica uses GTIDs to connect.
_MARIADB_APPLIED = "SELECT @@gtid_slave_pos"
# What a MariaDB primary has logged; a query MySQL answers with no row, not an error.
_MARIADB_LOGGED = "SHOW GLOBAL VARIABLES LIKE 'gtid\\_binlog\\_pos'"
_NULL = object()


class ReplicaProbes:
    """The monitor's connections to datasource ``name``'s primary and replicas.

    Used by one thread (the lag monitor's); each connection is opened on first use and
    reopened after any failure.
    """

    def __init__(self, name: str, config: DatasourceConfig, dialect: Dialect) -> None:
        self.dialect = dialect
        timeout = min(config.pool.timeout, max(2.0, 5 * config.lag_check_interval))
        self._primary = _Probe(_connector(dialect, config.url, name, "primary", timeout))
        self._replicas = [
            _Probe(_connector(dialect, url, name, "replica", timeout)) for url in config.replicas
        ]

    def primary_position(self) -> Position | None:
        """The primary's write position: PostgreSQL's WAL LSN, MariaDB's
        ``@@gtid_binlog_pos``; None for MySQL (no such variable: no row) or a MariaDB
        primary that logs nothing yet."""
        if self.dialect == "postgres":
            return parse_pg_lsn(str(self._primary.value(PG_PRIMARY_POSITION)))
        found = self._primary.columns(_MARIADB_LOGGED, ("Value",))
        if found is None or found[0] is _NULL:
            return None
        return _gtid(found[0])

    def replica_reading(self, index: int) -> ReplicaReading:
        """What replica ``index`` has replayed (PostgreSQL: its replay LSN; MariaDB: its
        ``@@gtid_slave_pos``) and, for MySQL and MariaDB, the lag it reports
        (``Seconds_Behind_Master``)."""
        probe = self._replicas[index]
        if self.dialect == "postgres":
            return ReplicaReading(replayed=parse_pg_lsn(str(probe.value(_PG_REPLAYED))))
        status = probe.columns("SHOW SLAVE STATUS", ("Seconds_Behind_Master", "Using_Gtid"))
        if status is None:
            return ReplicaReading(lag_s=0.0)  # not a replica: nothing to wait for
        behind, using_gtid = status
        if using_gtid is None:  # MySQL proper: no MariaDB GTIDs to compare
            # NULL: replication is stopped or broken; the replica is as stale as it gets.
            return ReplicaReading(lag_s=math.inf if behind is _NULL else float(str(behind)))
        # MariaDB: NULL while the SQL thread is stopped; the monitor then measures the lag
        # from what the replica has applied against what the primary has logged.
        return ReplicaReading(
            replayed=_gtid(probe.value(_MARIADB_APPLIED)),
            lag_s=None if behind is _NULL else float(str(behind)),
        )

    def close(self) -> None:
        for probe in (self._primary, *self._replicas):
            probe.close()


class _Probe:
    """One connection kept for the monitor's queries; reopened after any failure."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect
        self._connection: Any = None

    def value(self, sql: str) -> object:
        outcome = self._run(sql)
        return outcome.rows[0][0]

    def columns(self, sql: str, columns: tuple[str, ...]) -> tuple[object, ...] | None:
        """``columns`` of the first row, None when there is no row. A column the result
        lacks is None; an SQL NULL is ``_NULL``."""
        outcome = self._run(sql)
        if not outcome.rows or outcome.description is None:
            return None
        names = [str(d[0]) for d in outcome.description]
        row = outcome.rows[0]
        values: list[object] = []
        for column in columns:
            if column not in names:
                values.append(None)
                continue
            value = row[names.index(column)]
            values.append(_NULL if value is None else value)
        return tuple(values)

    def _run(self, sql: str) -> Any:
        connection = self._connection
        if connection is None or connection.broken:
            self._discard()
            connection = self._connection = self._connect()
        try:
            return connection.execute(sql, ())
        except Error:
            self._discard()
            raise

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # A dead connection may fail to close; it is gone either way.
            with contextlib.suppress(Exception):
                connection.close()

    def close(self) -> None:
        self._discard()


def _gtid(value: object) -> GtidPosition | None:
    """A GTID position the server showed; None (unknown) when empty or unreadable."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    try:
        position = GtidPosition.parse(text)
    except ValueError:
        return None
    return position or None


def _connector(
    dialect: Dialect, url: str, name: str, role: str, timeout: float
) -> Callable[[], Any]:
    # Imported when a probe is built: the thread front imports this package first.
    from .._sync import connect_mysql, connect_postgres

    if dialect == "postgres":
        return lambda: connect_postgres(url, datasource=name, role=role, timeout=timeout)
    if dialect == "mysql":
        return lambda: connect_mysql(url, datasource=name, role=role, timeout=timeout)
    raise ValueError(f"{dialect} datasources have no replicas")


__all__ = ["MARIADB_WRITE_POSITION", "PG_PRIMARY_POSITION", "ReplicaProbes"]
