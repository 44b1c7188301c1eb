"""Admin jobs above sessions: DDL and period precreation, placement and tenant-column checks."""

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
from ._tenant_columns import ColumnFinding, audit_tenant_columns
from ._tenant_rows import placement, refuse_orphaning, same_placement, tenant_tables_with_rows

__all__ = [
    "AutoPrecreator",
    "ColumnFinding",
    "DdlError",
    "DdlProgress",
    "DdlReport",
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
