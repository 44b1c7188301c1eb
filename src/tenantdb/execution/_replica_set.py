"""The replicas of one datasource at run time: their pools, health, choice and lag monitor.

The decisions live in ``tenantdb.core.replication`` (pure); this module adds the I/O: a pool per
replica for reads, one dedicated connection per server for the monitor's probes (so a busy
application pool never delays a lag reading), and the SQL each dialect answers positions
with.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import DatasourceConfig, Dialect
from ..core.replication import (
    DegradeSwitch,
    ReplicaSelector,
    ReplicaState,
    parse_pg_lsn,
)
from ..core.retry import Backoff
from ..errors import Error, ReplicaLagError
from ._driver import Connection, Pool
from ._lag_monitor import LagMonitor, ReplicaReading
from ._pool_factory import open_pool

log = logging.getLogger("tenantdb.replication")

_PG_PRIMARY_POSITION = "SELECT pg_current_wal_lsn()::text"
# A server that is not in recovery (a promoted replica, or a primary listed as a replica)
# has replayed everything it has written.
_PG_REPLAYED = (
    "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END)::text"
)


class ReplicaSet:
    """Read replicas of datasource ``name``: choose one per read, track their health.

    Thread-safe. ``ReplicaState`` objects are changed only under ``_lock`` (by the monitor
    thread, and by sessions reporting a failed read); ``choose`` reads them under the same
    lock through the selector.
    """

    def __init__(
        self,
        name: str,
        config: DatasourceConfig,
        dialect: Dialect,
        switch: DegradeSwitch,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.dialect = dialect
        self.fallback = config.on_replica_lag
        self._clock = clock
        self._lock = threading.Lock()
        self._backoff = Backoff()
        weights = config.replica_weights or (1.0,) * len(config.replicas)
        self.states = tuple(
            ReplicaState(index=i, name=f"{name}/replica{i}", weight=w, since=clock())
            for i, w in enumerate(weights)
        )
        self._selector = ReplicaSelector(self.states, config.replica_policy, lock=self._lock)
        self._pools: list[Pool] = [
            open_pool(name, url, config.pool, role="replica") for url in config.replicas
        ]
        timeout = min(config.pool.timeout, max(2.0, 5 * config.lag_check_interval))
        self._primary_probe = _Probe(_connector(dialect, config.url, name, "primary", timeout))
        self._replica_probes = [
            _Probe(_connector(dialect, url, name, "replica", timeout)) for url in config.replicas
        ]
        self._monitor = LagMonitor(
            datasource=name,
            replicas=self.states,
            lock=self._lock,
            probe_primary=self._primary_position,
            probe_replica=self._replica_reading,
            interval_s=config.lag_check_interval,
            max_lag_s=config.max_replication_lag,
            cooldown_s=config.lag_cooldown,
            backoff=self._backoff,
            switch=switch,
            clock=clock,
        )
        self._monitor.start()

    # -- the hot path -------------------------------------------------------------------

    def choose(self, min_position: int | None, exclude: int | None = None) -> ReplicaState | None:
        """The replica for the next read, or None: read the primary.

        Raises ReplicaLagError when ``on_replica_lag = "error"`` and no replica is serving
        at all (a replica that is merely behind a session's own write sends that read to
        the primary, whatever the setting: the primary has the write).
        """
        choice = self._selector.choose(min_position, exclude)
        if (
            choice is None
            and self.fallback == "error"
            and exclude is None
            and not any(state.serving for state in self.states)
        ):
            raise ReplicaLagError(
                f"no replica of {self.name} is within max_replication_lag and "
                "on_replica_lag is 'error'; retry later, read with primary=True, or set "
                'on_replica_lag = "primary"',
                datasource=self.name,
                role="replica",
            )
        return choice

    def pool(self, index: int) -> Pool:
        return self._pools[index]

    def report_failure(self, index: int, error: Error) -> None:
        """A session's read found replica ``index`` unreachable: take it out now; the
        monitor probes it again after the backoff."""
        state = self.states[index]
        with self._lock:
            changed = state.record_failure(error.message, self._clock(), backoff=self._backoff)
        if changed:
            log.warning("replica %s is out of service: %s", state.name, error.message)

    def write_position(self, connection: Connection) -> int | None:
        """The primary's write position right after a commit, read on ``connection`` (the
        session's own): later reads must see at least this. None when the dialect has no
        comparable position (MySQL): the session then reads that datasource's primary."""
        if self.dialect != "postgres":
            return None
        try:
            outcome = connection.execute(_PG_PRIMARY_POSITION, ())
            return parse_pg_lsn(str(outcome.rows[0][0]))
        except (Error, ValueError, IndexError):
            return None

    # -- status and lifetime ---------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [state.snapshot() for state in self.states]

    def close(self) -> None:
        self._monitor.close()
        for probe in (self._primary_probe, *self._replica_probes):
            probe.close()
        for pool in self._pools:
            pool.close()

    def __repr__(self) -> str:
        states = ", ".join(f"{s.name} {s.state}" for s in self.states)
        return f"<ReplicaSet {self.name} [{states}]>"

    # -- probes (monitor thread) -----------------------------------------------------

    def _primary_position(self) -> int | None:
        if self.dialect != "postgres":
            return None
        return parse_pg_lsn(str(self._primary_probe.value(_PG_PRIMARY_POSITION)))

    def _replica_reading(self, index: int) -> ReplicaReading:
        probe = self._replica_probes[index]
        if self.dialect == "postgres":
            return ReplicaReading(replayed=parse_pg_lsn(str(probe.value(_PG_REPLAYED))))
        status = probe.row("SHOW SLAVE STATUS", "Seconds_Behind_Master")
        if status is None:
            return ReplicaReading(lag_s=0.0)  # not a replica: nothing to wait for
        # NULL: replication is stopped or broken; the replica is as stale as it gets.
        return ReplicaReading(lag_s=math.inf if status is _NULL else float(str(status)))


_NULL = object()


class _Probe:
    """One connection kept for the monitor's queries; reopened after any failure."""

    def __init__(self, connect: Callable[[], Connection]) -> None:
        self._connect = connect
        self._connection: Connection | None = None

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
                connection.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        self._discard()


def _connector(
    dialect: Dialect, url: str, name: str, role: str, timeout: float
) -> Callable[[], Connection]:
    if dialect == "postgres":
        from . import _postgres

        return lambda: _postgres.connect(url, datasource=name, role=role, timeout=timeout)
    if dialect == "mysql":
        from .._sync import connect_mysql

        return lambda: connect_mysql(url, datasource=name, role=role, timeout=timeout)
    raise ValueError(f"{dialect} datasources have no replicas")


__all__ = ["ReplicaSet"]
