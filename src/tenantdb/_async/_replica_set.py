"""The replicas of one datasource at run time: their pools, health, choice and lag monitor.

The decisions live in ``tenantdb.core.replication`` (pure); this module adds the I/O: a pool
per replica for this front's reads, and the lag monitor, a thread with its own probe
connections (``tenantdb.monitoring``) on both fronts, so a busy pool or event loop never
delays a lag reading.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import DatasourceConfig, Dialect
from ..core.replication import (
    DegradeSwitch,
    Position,
    ReplicaSelector,
    ReplicaState,
    parse_pg_lsn,
    write_gtid,
)
from ..core.retry import Backoff
from ..errors import Error, ReplicaLagError
from ..monitoring import MARIADB_WRITE_POSITION, PG_PRIMARY_POSITION, LagMonitor, ReplicaProbes
from ._breaker_pool import breaker_pool, breaker_snapshot
from ._driver import AsyncConnection, AsyncPool, PoolStats
from ._pool_factory import open_pool

log = logging.getLogger("tenantdb.replication")


class AsyncReplicaSet:
    """Read replicas of datasource ``name``: choose one per read, track their health.

    ``ReplicaState`` objects are changed only under ``_lock`` (a thread lock: the monitor
    thread and sessions reporting a failed read both change them); ``choose`` reads them
    under the same lock through the selector. Nothing here awaits while holding it.
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
        self._pools: list[AsyncPool] = [
            breaker_pool(
                open_pool(name, url, config.pool, role="replica"),
                config.breaker,
                endpoint=state.name,
            )
            for url, state in zip(config.replicas, self.states, strict=True)
        ]
        self._probes = ReplicaProbes(name, config, dialect)
        self._monitor = LagMonitor(
            datasource=name,
            replicas=self.states,
            lock=self._lock,
            probe_primary=self._probes.primary_position,
            probe_replica=self._probes.replica_reading,
            interval_s=config.lag_check_interval,
            max_lag_s=config.max_replication_lag,
            cooldown_s=config.lag_cooldown,
            backoff=self._backoff,
            switch=switch,
            clock=clock,
        )
        self._monitor.start()

    # -- the hot path -------------------------------------------------------------------

    def choose(
        self, min_position: Position | None, exclude: int | None = None
    ) -> ReplicaState | None:
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

    def pool(self, index: int) -> AsyncPool:
        return self._pools[index]

    def report_failure(self, index: int, error: Error) -> None:
        """A session's read found replica ``index`` unreachable: take it out now; the
        monitor probes it again after the backoff."""
        state = self.states[index]
        with self._lock:
            changed = state.record_failure(error.message, self._clock(), backoff=self._backoff)
        if changed:
            log.warning("replica %s is out of service: %s", state.name, error.message)

    async def write_position(self, connection: AsyncConnection) -> Position | None:
        """The primary's write position right after a commit, read on ``connection`` (the
        session's own): later reads must see at least this. PostgreSQL: the WAL LSN.
        MariaDB: the GTID of the session's last transaction (``write_gtid``). None when
        there is no comparable position (MySQL, whose GTIDs are not MariaDB's; a MariaDB
        primary without a binary log): the session then reads that datasource's primary.

        MariaDB's read-your-writes compares this GTID with each replica's
        ``@@gtid_slave_pos`` as the lag monitor last read it, exactly as PostgreSQL's
        compares LSNs, rather than running ``MASTER_GTID_WAIT`` on the replica: that would
        add a round trip to every read after a write and hold a replica connection while
        it waits, where the comparison costs nothing and a replica not there yet simply
        sends the read to the primary (for at most one monitor interval after the replica
        applies the write).
        """
        try:
            if self.dialect == "postgres":
                outcome = await connection.execute(PG_PRIMARY_POSITION, ())
                return parse_pg_lsn(str(outcome.rows[0][0]))
            if self.dialect == "mysql":
                outcome = await connection.execute(MARIADB_WRITE_POSITION, ())
                return write_gtid(*outcome.rows[0][:2])
        except (Error, ValueError, IndexError, TypeError):
            # MySQL proper refuses @@last_gtid: a position it cannot tell is None.
            return None
        return None

    # -- status and lifetime ---------------------------------------------------------

    def breakers(self, now: float) -> dict[str, dict[str, Any] | None]:
        """Each replica's breaker state by replica name (None: no breaker)."""
        return {
            state.name: breaker_snapshot(pool, now)
            for state, pool in zip(self.states, self._pools, strict=True)
        }

    def pool_stats(self) -> dict[str, PoolStats]:
        """Each replica's pool occupancy by replica name."""
        return {
            state.name: pool.stats() for state, pool in zip(self.states, self._pools, strict=True)
        }

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [state.snapshot() for state in self.states]

    async def close(self) -> None:
        self._monitor.close()
        self._probes.close()
        for pool in self._pools:
            await pool.close()

    def __repr__(self) -> str:
        states = ", ".join(f"{s.name} {s.state}" for s in self.states)
        return f"<{type(self).__name__} {self.name} [{states}]>"


__all__ = ["AsyncReplicaSet"]
