"""The asyncio dialects: ``create_async_engine("tenantdb+postgresql:///?config=...")``
reaches them through each sync dialect's ``get_async_dialect_cls``. One AsyncCluster per
engine (``tenantdb.connect_async``), closed by ``await engine.dispose()``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import pool
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError
from sqlalchemy.util import await_only

from ..._cluster import AsyncCluster, ConfigSource, connect_async
from ._async_connection import AsyncAdaptedConnection
from ._mysql import MySQLDialect
from ._postgresql import PostgreSQLDialect
from ._sqlite import SQLiteDialect


class _AsyncFront:
    """What an asyncio dialect changes in its sync twin: the cluster and the connection."""

    is_async = True
    supports_server_side_cursors = False

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        cluster: AsyncCluster = self.tenantdb_cluster(cparams)  # type: ignore[attr-defined]
        return AsyncAdaptedConnection(cluster)

    def _given_cluster(self, cluster: Any) -> Any:
        if not isinstance(cluster, AsyncCluster):
            raise ArgumentError(
                "an asyncio engine's connect_args cluster= takes a tenantdb.AsyncCluster "
                f"(tenantdb.connect_async), not {type(cluster).__name__}"
            )
        return cluster

    def _open_cluster(self, config: ConfigSource) -> Any:
        return connect_async(config)

    def _close_cluster(self, cluster: Any) -> None:
        await_only(cluster.aclose())  # engine_disposed runs in AsyncEngine.dispose()'s greenlet


class AsyncPostgreSQLDialect(_AsyncFront, PostgreSQLDialect):
    supports_statement_cache = True


class AsyncMySQLDialect(_AsyncFront, MySQLDialect):
    supports_statement_cache = True


class AsyncSQLiteDialect(_AsyncFront, SQLiteDialect):  # type: ignore[misc]
    supports_statement_cache = True
