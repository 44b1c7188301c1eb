"""Admin jobs above sessions: DDL and period precreation, placement and tenant-column checks,
the log of online tenant moves.

Every job takes a ``ClusterView`` (``tenantdb.Cluster`` is one) and runs its statements in
an admin session (``admin_session``), never on a pool of its own.
"""

from __future__ import annotations

from ._auto_precreate import AutoPrecreator
from ._ddl import (
    DdlError,
    DdlProgress,
    DdlReport,
    apply_schema,
    create_tenant_schema,
    plan_periods,
    plan_schema,
    precreate,
)
from ._move_log import MoveConflictError, MoveLog
from ._tenant_columns import ColumnFinding, audit_tenant_columns
from ._tenant_rows import placement, refuse_orphaning, same_placement, tenant_tables_with_rows
from ._view import ClusterView, admin_session

__all__ = [
    "AutoPrecreator",
    "ClusterView",
    "ColumnFinding",
    "DdlError",
    "DdlProgress",
    "DdlReport",
    "MoveConflictError",
    "MoveLog",
    "admin_session",
    "apply_schema",
    "audit_tenant_columns",
    "create_tenant_schema",
    "placement",
    "plan_periods",
    "plan_schema",
    "precreate",
    "refuse_orphaning",
    "same_placement",
    "tenant_tables_with_rows",
]
