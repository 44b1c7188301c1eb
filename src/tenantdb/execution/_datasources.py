"""The runtime side of the configured datasources: one lazily opened pool per datasource.

Building it opens nothing: a pool is created on the first statement that needs its
datasource, and the pool itself connects on its first ``acquire``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from ..config import Config
from ..errors import InterfaceError
from ._driver import Pool
from ._pools import open_pool


class Datasources:
    """Pools by datasource name, plus the worker threads that run scatter-gather reads.

    Thread-safe: pools and the executor are created under ``_lock`` on first use.
    """

    def __init__(self, config: Config, *, max_workers: int | None = None) -> None:
        self._config = config
        self._pools: dict[str, Pool] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._max_workers = max_workers or min(32, 4 * max(1, len(config.datasources)))
        self._closed = False

    def pool(self, name: str) -> Pool:
        """The primary pool of datasource ``name`` (created, not connected, on first use)."""
        pool = self._pools.get(name)
        if pool is not None:
            return pool
        with self._lock:
            if self._closed:
                raise InterfaceError(
                    "the cluster is closed; create a new one with tenantdb.connect()"
                )
            pool = self._pools.get(name)
            if pool is None:
                entry = self._config.datasources[name]
                pool = open_pool(name, entry.url, entry.pool, role="primary")
                self._pools[name] = pool
        return pool

    @property
    def executor(self) -> ThreadPoolExecutor:
        """Worker threads for running one statement on several datasources at once."""
        executor = self._executor
        if executor is not None:
            return executor
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self._max_workers, thread_name_prefix="tenantdb-scatter"
                )
            return self._executor

    def close(self) -> None:
        """Close every pool and stop the worker threads. Safe to call more than once."""
        with self._lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
            executor, self._executor = self._executor, None
        # Closed outside the lock: closing connections is I/O.
        if executor is not None:
            executor.shutdown(wait=True)
        for pool in pools:
            pool.close()

    def __repr__(self) -> str:
        pools = ", ".join(repr(pool) for pool in self._pools.values()) or "no pool open"
        return f"<Datasources {len(self._config.datasources)} configured: {pools}>"
