"""The schema runner for asyncio engines: ``tenantdb.admin.apply_schema`` over the
AsyncCluster's ``admin_view`` (its thread-front pools, closed with the cluster), on a worker
thread so that the event loop never blocks on DDL."""

from __future__ import annotations

import asyncio

from ..._cluster import AsyncCluster
from ...admin import DdlReport, apply_schema


async def apply_schema_async(cluster: AsyncCluster, script: str) -> DdlReport:
    """``apply_schema(cluster.admin_view, script)`` on a worker thread."""
    return await asyncio.to_thread(apply_schema, cluster.admin_view, script)


__all__ = ["apply_schema_async"]
