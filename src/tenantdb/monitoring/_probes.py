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
from ..core.replication import parse_pg_lsn
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

    def primary_position(self) -> int | None:
        """The primary's write position, None where the dialect has none (MySQL)."""
        if self.dialect != "postgres":
            return None
        return parse_pg_lsn(str(self._primary.value(PG_PRIMARY_POSITION)))

    def replica_reading(self, index: int) -> ReplicaReading:
        """What replica ``index`` has replayed (PostgreSQL) or reports as its lag (MySQL)."""
        probe = self._replicas[index]
        if self.dialect == "postgres":
            return ReplicaReading(replayed=parse_pg_lsn(str(probe.value(_PG_REPLAYED))))
        status = probe.row("SHOW SLAVE STATUS", "Seconds_Behind_Master")
        if status is None:
            return ReplicaReading(lag_s=0.0)  # not a replica: nothing to wait for
        # NULL: replication is stopped or broken; the replica is as stale as it gets.
        return ReplicaReading(lag_s=math.inf if status is _NULL else float(str(status)))

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

    def row(self, sql: str, column: str) -> object:
        """``column`` of the first row (``_NULL`` for SQL NULL), None when there is no row."""
        outcome = self._run(sql)
        if not outcome.rows or outcome.description is None:
            return None
        names = [str(d[0]) for d in outcome.description]
        value = outcome.rows[0][names.index(column)]
        return _NULL if value is None else value

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


__all__ = ["PG_PRIMARY_POSITION", "ReplicaProbes"]
