"""One front of the I/O shell. The asyncio front is written by hand; the thread-based
front is generated from it by ``scripts/async_to_sync.py`` (edit the asyncio one only)."""

from __future__ import annotations

from ._datasources import AsyncDatasources, Retired
from ._driver import AsyncConnection, AsyncPool, AsyncStream, Description, Outcome, Row
from ._merge import merge_rows
from ._pool import AsyncConnectionPool, AsyncPooledConnection
from ._pool_factory import connect_mysql, connect_postgres, open_pool
from ._replica_set import AsyncReplicaSet
from ._result import AsyncResult
from ._scatter import (
    ScatterError,
    Work,
    WriteOutcome,
    close_all,
    failures,
    fetch_round_trips,
    group_targets,
    open_streams,
    run_writes,
    trip_work,
)
from ._session import AsyncSession
from ._streams import iter_rows, stream_rows

__all__ = [
    "AsyncConnection",
    "AsyncConnectionPool",
    "AsyncDatasources",
    "AsyncPool",
    "AsyncPooledConnection",
    "AsyncReplicaSet",
    "AsyncResult",
    "AsyncSession",
    "AsyncStream",
    "Description",
    "Outcome",
    "Retired",
    "Row",
    "ScatterError",
    "Work",
    "WriteOutcome",
    "close_all",
    "connect_mysql",
    "connect_postgres",
    "failures",
    "fetch_round_trips",
    "group_targets",
    "iter_rows",
    "merge_rows",
    "open_pool",
    "open_streams",
    "run_writes",
    "stream_rows",
    "trip_work",
]
