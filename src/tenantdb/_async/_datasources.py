"""The runtime side of the configured datasources: one lazily opened pool per datasource,
and the replicas (pools, health, lag monitor) of those that have them.

Building it opens nothing: a pool is created on the first statement that needs its
datasource, and the pool itself connects on its first ``acquire``; a datasource's replica
set (and its monitor thread) starts with the first read or write that concerns it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from .._concurrency import AsyncLoopBinding
from ..config import Config, DatasourceConfig
from ..core.replication import DegradeSwitch
from ..errors import InterfaceError
from ..monitoring import SwitchFileWatcher
from ..telemetry import Telemetry
from ._breaker_pool import AsyncBreakerPool, breaker_pool, breaker_snapshot
from ._driver import AsyncPool
from ._guards import AsyncTenantGuards
from ._pool_factory import open_pool
from ._replica_set import AsyncReplicaSet


class AsyncDatasources:
    """Pools by datasource name, the replica sets, and (thread front) the worker threads
    that run one statement's datasources at once.

    Pools and replica sets are created under ``_lock`` (a thread lock, never held across an
    await) on first use. On the asyncio front every pool belongs to the event loop of the
    first statement (``loop``): another loop is refused with a clear error.
    """

    def __init__(self, config: Config, *, max_workers: int | None = None) -> None:
        self._config = config
        self._pools: dict[str, AsyncPool] = {}
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._max_workers = max_workers or min(32, 4 * max(1, len(config.datasources)))
        self._closed = False
        self.loop = AsyncLoopBinding("this AsyncCluster")
        """The event loop every pool belongs to (checked by sessions before each call)."""
        self.switch = DegradeSwitch(config.datasources)
        """Manual and automatic read-to-primary switches, per datasource and cluster-wide."""
        self._replica_sets: dict[str, AsyncReplicaSet] = {}
        self._switch_file: SwitchFileWatcher | None = None
        self.guards = AsyncTenantGuards(config.limits)
        """Every tenant's rate limits and concurrency quotas, shared by the sessions."""
        self.telemetry = Telemetry(config, version=__version__)
        """Tracing, metrics and the slow-statement log of this front's statements."""
        self.write_hold_s = config.moves.write_hold
        """How long a write of a tenant being moved waits for the cut-over (``[moves]``)."""

    def pool(self, name: str) -> AsyncPool:
        """The primary pool of datasource ``name`` (created, not connected, on first use)."""
        pool = self._pools.get(name)
        if pool is not None:
            return pool
        with self._lock:
            self._refuse_closed()
            pool = self._pools.get(name)
            if pool is None:
                entry = self._entry(name)
                pool = breaker_pool(
                    open_pool(
                        name, entry.url, entry.pool, role="primary", create_dirs=entry.create_dirs
                    ),
                    entry.breaker,
                    endpoint=f"{name} primary",
                )
                self._pools[name] = pool
        return pool

    def replicas(self, name: str) -> AsyncReplicaSet | None:
        """The replica set of datasource ``name`` (started on first use), None without
        replicas."""
        replicas = self._replica_sets.get(name)
        if replicas is not None or not self._entry(name).replicas:
            return replicas
        with self._lock:
            self._refuse_closed()
            replicas = self._replica_sets.get(name)
            if replicas is None:
                entry = self._entry(name)
                replicas = AsyncReplicaSet(name, entry, self._config.dialect, self.switch)
                self._replica_sets[name] = replicas
                self._watch_switch_file(entry.lag_check_interval)
        return replicas

    def _entry(self, name: str) -> DatasourceConfig:
        entry = self._config.datasources.get(name)
        if entry is None:
            # Only a session opened before a reload that removed it can still name it.
            raise InterfaceError(
                f"datasource {name!r} was removed by a configuration reload while this"
                " statement was routed; run it again to route it with the new configuration",
                datasource=name,
            )
        return entry

    def reconfigure(self, config: Config) -> Retired:
        """Follow ``config``, a hot-safe change of the configuration in use (see
        ``tenantdb.config.diff_configs``), and return what the caller must then ``settle``.

        Does no I/O and never waits: new datasources get their pools on first use; a
        removed datasource's pools and replica set, and the replica set of a datasource
        whose replicas or their settings changed, are taken out of use (sessions that hold
        their connections keep them until they release them); pools whose sizes changed
        are resized by ``settle``; a changed breaker starts over with its new settings.
        """
        retired = Retired()
        with self._lock:
            old, self._config = self._config, config
            for name, before in old.datasources.items():
                after = config.datasources.get(name)
                replicas = self._replica_sets.get(name)
                if replicas is not None and (after is None or _replicas_changed(before, after)):
                    retired.replica_sets.append(self._replica_sets.pop(name))
                pool = self._pools.get(name)
                if pool is None:
                    continue
                if after is None or before.pool.connect_timeout != after.pool.connect_timeout:
                    retired.pools.append(self._pools.pop(name))
                    continue
                if before.pool != after.pool:
                    retired.resized.append((pool, after))
                if before.breaker != after.breaker:
                    # The same connections behind a breaker with the new settings; a session
                    # releases to the wrapper it acquired from, which forwards to them.
                    inner = pool.pool if isinstance(pool, AsyncBreakerPool) else pool
                    self._pools[name] = breaker_pool(
                        inner, after.breaker, endpoint=f"{name} primary"
                    )
        self.guards.set_defaults(config.limits)
        self.telemetry.reconfigure(config)
        self.write_hold_s = config.moves.write_hold
        return retired

    async def settle(self, retired: Retired) -> None:
        """Resize and close what ``reconfigure`` returned: retired pools close their idle
        connections now and the others as their sessions release them."""
        for pool, entry in retired.resized:
            await pool.resize(entry.pool.min_size, entry.pool.max_size, entry.pool.timeout)
        for replicas in retired.replica_sets:
            await replicas.close()
        for pool in retired.pools:
            await pool.close()

    def _refuse_closed(self) -> None:
        if self._closed:
            raise InterfaceError(
                "the cluster is closed; create a new one with tenantdb.connect_async()"
            )

    def _watch_switch_file(self, interval_s: float) -> None:
        """Follow the switch file once the first replica set starts (under ``_lock``)."""
        path = self._config.switch_file
        if path is not None and self._switch_file is None:
            self._switch_file = SwitchFileWatcher(path, self.switch, interval_s=interval_s)
            self._switch_file.start()

    def status(self) -> dict[str, Any]:
        """Roles, lag, health and switches of every datasource, as plain data (see
        ``Cluster.status``)."""
        switches = self.switch.snapshot()
        now = time.monotonic()
        datasources: dict[str, Any] = {}
        for name, entry in self._config.datasources.items():
            own = switches["datasources"].get(name, {})
            replicas = self._replica_sets.get(name)
            pool = self._pools.get(name)
            datasources[name] = {
                "breakers": {
                    "primary": breaker_snapshot(pool, now) if pool is not None else None,
                    **(replicas.breakers(now) if replicas is not None else {}),
                },
                "pools": {
                    "primary": pool.stats() if pool is not None else None,
                    **(
                        replicas.pool_stats()
                        if replicas is not None
                        else {f"{name}/replica{i}": None for i, _ in enumerate(entry.replicas)}
                    ),
                },
                "forced": self.switch.forced(name),
                "automatic": bool(own.get("automatic")),
                "automatic_reason": own.get("automatic_reason"),
                "replicas": (
                    [_replica_status(state, now) for state in replicas.snapshot()]
                    if replicas is not None
                    else [
                        {"name": f"{name}/replica{i}", "state": "not started"}
                        for i, _ in enumerate(entry.replicas)
                    ]
                ),
            }
        return {"switch": {"forced": switches["cluster"]["reason"]}, "datasources": datasources}

    @property
    def executor(self) -> Executor | None:
        """Where one statement's datasources run at once: tasks of the event loop on the
        asyncio front (None), worker threads on the thread front."""
        return None  # sync: return self._worker_threads()

    def _worker_threads(self) -> ThreadPoolExecutor:
        threads = self._threads
        if threads is not None:
            return threads
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(
                    self._max_workers, thread_name_prefix="tenantdb-scatter"
                )
            return self._threads

    async def close(self) -> None:
        """Close every pool and stop the background threads. Safe to call more than once."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
            threads, self._threads = self._threads, None
            replica_sets = list(self._replica_sets.values())
            self._replica_sets.clear()
            watcher, self._switch_file = self._switch_file, None
        # Closed outside the lock: closing connections is I/O.
        if watcher is not None:
            watcher.close()
        if threads is not None:
            threads.shutdown(wait=True)
        for replicas in replica_sets:
            await replicas.close()
        for pool in pools:
            await pool.close()
        await self.guards.aclose()

    def __repr__(self) -> str:
        pools = ", ".join(repr(pool) for pool in self._pools.values()) or "no pool open"
        return f"<{type(self).__name__} {len(self._config.datasources)} configured: {pools}>"


@dataclass(slots=True)
class Retired:
    """What ``AsyncDatasources.reconfigure`` took out of use, for ``settle``."""

    pools: list[AsyncPool] = field(default_factory=list)
    replica_sets: list[AsyncReplicaSet] = field(default_factory=list)
    resized: list[tuple[AsyncPool, DatasourceConfig]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.pools or self.replica_sets or self.resized)


def _replicas_changed(before: DatasourceConfig, after: DatasourceConfig) -> bool:
    """Whether a datasource's replica set must start over: anything it was built from
    but the primary's URL and the placement weight changed."""
    ignored = {"url", "weight"}
    return before.model_dump(exclude=ignored) != after.model_dump(exclude=ignored)


def _replica_status(state: dict[str, Any], now: float) -> dict[str, Any]:
    """A replica's snapshot with monotonic times turned into durations from now."""
    shown = {k: v for k, v in state.items() if k not in ("since", "retry_at")}
    shown["state_for_s"] = round(now - state["since"], 3)
    retry_at = state.get("retry_at")
    shown["retry_in_s"] = (
        round(max(0.0, retry_at - now), 3) if retry_at and state["state"] == "down" else None
    )
    return shown


__all__ = ["AsyncDatasources", "Retired"]
