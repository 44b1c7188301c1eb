"""Execution: drivers, connection pools, and (later) the executor, merge and sessions.

Driver modules (``_sqlite``, ``_postgres``, ``_mysql``) are not imported here: ``open_pool``
imports each on first use, so the core install works without the driver extras.
"""

from __future__ import annotations

from ._driver import Connection, Description, Outcome, Pool, Row, Stream
from ._pool import ConnectionPool, PooledConnection
from ._pools import open_pool

__all__ = [
    "Connection",
    "ConnectionPool",
    "Description",
    "Outcome",
    "Pool",
    "PooledConnection",
    "Row",
    "Stream",
    "open_pool",
]
