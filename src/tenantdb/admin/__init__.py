"""Admin jobs above sessions: DDL and period precreation, placement and tenant-column checks,
the log of online tenant moves, verify (chunked checksums of two copies of a table) and the
repair of broadcast copies.

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
from ._move import (
    MoveListener,
    MoveSettings,
    abort_move,
    cleanup_due,
    cleanup_later,
    cleanup_move,
    move_status,
    resume_move,
    start_move,
)
from ._move_handle import MoveHandle, MoveProgress, MoveStoppedError
from ._move_log import MoveConflictError, MoveLog
from ._repair import REPAIR_LOG, LoggedRepair
from ._tenant_columns import ColumnFinding, audit_tenant_columns
from ._tenant_rows import placement, refuse_orphaning, same_placement, tenant_tables_with_rows
from ._verify import (
    ChunkListener,
    LagReading,
    Repair,
    TableCopy,
    progress_path,
    report_data,
    run_id,
    verify_copies,
    verify_keys,
)
from ._verify_jobs import primary_copy, table_shape, verify_broadcast, verify_replicas
from ._view import ClusterView, admin_session

__all__ = [
    "AutoPrecreator",
    "ChunkListener",
    "ClusterView",
    "ColumnFinding",
    "DdlError",
    "DdlProgress",
    "DdlReport",
    "LagReading",
    "LoggedRepair",
    "MoveConflictError",
    "MoveHandle",
    "MoveListener",
    "MoveLog",
    "MoveProgress",
    "MoveSettings",
    "MoveStoppedError",
    "REPAIR_LOG",
    "Repair",
    "TableCopy",
    "abort_move",
    "admin_session",
    "apply_schema",
    "audit_tenant_columns",
    "cleanup_due",
    "cleanup_later",
    "cleanup_move",
    "create_tenant_schema",
    "move_status",
    "placement",
    "plan_periods",
    "plan_schema",
    "precreate",
    "primary_copy",
    "progress_path",
    "refuse_orphaning",
    "report_data",
    "resume_move",
    "run_id",
    "same_placement",
    "start_move",
    "table_shape",
    "tenant_tables_with_rows",
    "verify_broadcast",
    "verify_copies",
    "verify_keys",
    "verify_replicas",
]
