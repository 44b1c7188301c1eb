"""What both fronts' drivers share, written once by hand: driver exceptions translated into
tenantdb's, connect-timeout errors naming the endpoint, psycopg_pool's log held while
tenantdb reports a failure itself, SQLite's URL paths and WAL switch, and the error that
names a ``time_range`` period table never created."""

from __future__ import annotations

from ._connect import connect_timed_out, endpoint, is_timeout, still_connecting
from ._missing_period import missing_period
from ._pool_log import ConnectFailureLog
from ._sqlite_file import enable_wal, sqlite_path
from ._translate import (
    ErrorKinds,
    error_kinds,
    is_undefined_table,
    pool_closed,
    pool_timeout,
    scrub_password,
    translate,
    unreachable,
)

__all__ = [
    "ConnectFailureLog",
    "ErrorKinds",
    "connect_timed_out",
    "enable_wal",
    "endpoint",
    "error_kinds",
    "is_timeout",
    "is_undefined_table",
    "missing_period",
    "pool_closed",
    "pool_timeout",
    "scrub_password",
    "sqlite_path",
    "still_connecting",
    "translate",
    "unreachable",
]
