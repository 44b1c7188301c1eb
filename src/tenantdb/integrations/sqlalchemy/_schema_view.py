"""The schema runner for asyncio engines: ``tenantdb.admin.apply_schema`` needs a thread
front ``ClusterView``; this one lends it an AsyncCluster's configuration, router and tenants
with thread-front pools of its own (opened on the first DDL, closed with the engine), and
runs the runner on a worker thread so the event loop never blocks on DDL."""

from __future__ import annotations

import asyncio
import threading

from ..._cluster import AsyncCluster
from ..._sync import Datasources
from ...admin import DdlReport, apply_schema
from ...config import Config
from ...core.routing import Params, RoutePlan, Router, Topology
from ...tenants import TenantRegistry


class AsyncSchemaView:
    """A ClusterView over an AsyncCluster for the schema runner (see the module docstring)."""

    def __init__(self, cluster: AsyncCluster) -> None:
        self.cluster = cluster
        self._cluster = cluster
        self._datasources: Datasources | None = None
        self._lock = threading.Lock()  # one set of pools, whichever thread asks first

    @property
    def config(self) -> Config:
        return self._cluster.config

    @property
    def topology(self) -> Topology:
        return self._cluster.topology

    @property
    def router(self) -> Router:
        return self._cluster.router

    @property
    def datasources(self) -> Datasources:
        with self._lock:
            if self._datasources is None:
                self._datasources = Datasources(self._cluster.config, max_workers=2)
            return self._datasources

    @property
    def tenants(self) -> TenantRegistry:
        return self._cluster.tenants

    def explain(self, sql: str, params: Params = None, *, admin: bool = False) -> RoutePlan:
        return self._cluster.explain(sql, params, admin=admin)

    async def apply(self, script: str) -> DdlReport:
        """``apply_schema(self, script)`` on a worker thread."""
        return await asyncio.to_thread(apply_schema, self, script)

    def close(self) -> None:
        """Close the thread-front pools, if the runner opened them."""
        with self._lock:
            datasources, self._datasources = self._datasources, None
        if datasources is not None:
            datasources.close()

    def __repr__(self) -> str:
        state = "open" if self._datasources is not None else "not opened"
        return f"<AsyncSchemaView pools {state} over {self._cluster!r}>"
