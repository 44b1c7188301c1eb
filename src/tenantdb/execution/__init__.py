"""Execution: drivers and pools, sessions and transactions, scatter-gather and result merge.

Driver modules (``_sqlite``, ``_postgres``, ``_mysql``) are not imported here: ``open_pool``
imports each on first use, so the core install works without the driver extras.
"""

from __future__ import annotations

from ._datasources import Datasources
from ._ddl import DdlError, DdlReport, apply_schema, create_tenant_schema, precreate
from ._driver import Connection, Description, Outcome, Pool, Row, Stream
from ._merge import merge_rows
from ._pool import ConnectionPool, PooledConnection
from ._pools import open_pool
from ._result import Result
from ._session import Session
from ._tenant_columns import audit_tenant_columns
from ._tenant_rows import placement, same_placement, tenant_tables_with_rows

__all__ = [
    "Connection",
    "ConnectionPool",
    "Datasources",
    "DdlError",
    "DdlReport",
    "Description",
    "Outcome",
    "Pool",
    "PooledConnection",
    "Result",
    "Row",
    "Session",
    "Stream",
    "apply_schema",
    "audit_tenant_columns",
    "create_tenant_schema",
    "merge_rows",
    "open_pool",
    "placement",
    "precreate",
    "same_placement",
    "tenant_tables_with_rows",
]
