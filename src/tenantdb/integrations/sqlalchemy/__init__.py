"""SQLAlchemy 2 dialects over tenantdb: ``create_engine("tenantdb+postgresql:///?config=
tenantdb.toml")`` (also ``tenantdb+mysql``, ``tenantdb+sqlite``, and ``create_async_engine``
with the same URLs).

SQL compilation, types and DDL are the backend's own SQLAlchemy dialect; tenantdb supplies
the connection (one cluster per engine, closed by ``engine.dispose()``), answers the
server probes and reflects logical tables. Which tenant a statement runs for follows the
precedence documented in ``_scope`` (execution options ``tenantdb_tenant`` /
``tenantdb_admin``, then ``tenantdb.tenant_context()``).
"""

from __future__ import annotations

from ._dialect import TenantdbDialect
from ._logical import PhysicalTable
from ._logical_reflection import missing_tables
from ._mysql import MySQLDialect
from ._postgresql import PostgreSQLDialect
from ._scope import ADMIN_OPTION, TENANT_OPTION
from ._sqlite import SQLiteDialect

__all__ = [
    "ADMIN_OPTION",
    "MySQLDialect",
    "PhysicalTable",
    "PostgreSQLDialect",
    "SQLiteDialect",
    "TENANT_OPTION",
    "TenantdbDialect",
    "missing_tables",
]
