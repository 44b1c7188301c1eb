"""Execution, the I/O shell: drivers and pools, sessions and transactions, scatter-gather.

Driver modules for the extras (``_postgres``, ``_mysql``) are not imported here:
``open_pool`` imports each on first use, so the core install works without the driver
extras. SQLite's (stdlib ``sqlite3``) is always there.
"""

from __future__ import annotations

from .._sync import ConnectionPool, PooledConnection
from ..drivers import scrub_password
from ._datasources import Datasources
from ._driver import Connection, Description, Outcome, Pool, Stream
from ._lag_monitor import LagMonitor, ReplicaReading
from ._pool_factory import open_pool
from ._result import Result
from ._session import Session
from ._switch_file import read_switches, write_switches

__all__ = [
    "Connection",
    "ConnectionPool",
    "Datasources",
    "Description",
    "LagMonitor",
    "Outcome",
    "Pool",
    "PooledConnection",
    "ReplicaReading",
    "Result",
    "Session",
    "Stream",
    "open_pool",
    "read_switches",
    "scrub_password",
    "write_switches",
]
