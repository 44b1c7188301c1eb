"""The ``tenantdb demo`` workload: an embedded SQLite cluster under a mixed SaaS load.

``run_demo(DemoOptions(...))`` builds or reuses a folder of four SQLite shards with a
generated configuration, provisions tenants, tables and stock, runs checkouts (with
idempotency keys and atomic stock decrements), point reads and cross-tenant reports from
several threads, then checks that stock and idempotency held over every row the folder
holds. The command line renders the returned ``DemoResult``.
"""

from __future__ import annotations

from ._checks import Check
from ._latency import LatencySummary, WorkloadStats, percentile
from ._report import ExamplePlan, TableRows
from ._runner import MAX_SECONDS, MAX_THREADS, DemoOptions, DemoResult, run_demo

__all__ = [
    "MAX_SECONDS",
    "MAX_THREADS",
    "Check",
    "DemoOptions",
    "DemoResult",
    "ExamplePlan",
    "LatencySummary",
    "TableRows",
    "WorkloadStats",
    "percentile",
    "run_demo",
]
