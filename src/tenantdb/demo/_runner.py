"""``run_demo``: build (or reuse) the demo folder, run the workload, check and report."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .._cluster import connect
from ..errors import InterfaceError
from ._checks import Check, run_checks
from ._folder import MAX_TENANTS, DemoFolder, tenant_id
from ._latency import WorkloadStats
from ._report import (
    ExamplePlan,
    TableRows,
    events_by_kind,
    example_plans,
    latest_order,
    rows_per_shard,
    top_tenants,
)
from ._schema import create_schema, finish_run, restock, seed_products, start_run
from ._workload import ORDER_IDS_PER_RUN, Workload

MAX_SECONDS = 3600.0
MAX_THREADS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    """What ``tenantdb demo`` does; the defaults are the command's defaults."""

    directory: Path = Path("tenantdb-demo")
    tenants: int = 300
    seconds: float = 4.0
    threads: int = 8
    seed: int | None = None
    """Seeds the request mix (None: a random seed, reported in the result)."""
    reset: bool = False
    """Delete the folder's demo files first (the configuration and the shard files)."""

    def __post_init__(self) -> None:
        if not 1 <= self.tenants <= MAX_TENANTS:
            raise InterfaceError(f"tenants must be 1 to {MAX_TENANTS}, not {self.tenants}")
        if not 0 < self.seconds <= MAX_SECONDS:
            raise InterfaceError(
                f"seconds must be more than 0 and at most {MAX_SECONDS:g}, not {self.seconds}"
            )
        if not 1 <= self.threads <= MAX_THREADS:
            raise InterfaceError(f"threads must be 1 to {MAX_THREADS}, not {self.threads}")


@dataclass(frozen=True, slots=True)
class DemoResult:
    """Everything the demo measured and checked; ``passed`` is the verdict."""

    options: DemoOptions
    """The options used, with the seed filled in."""
    config_path: Path
    run: int
    """1 for a fresh folder, then 2, 3, … (one row per run in ``demo_runs``)."""
    datasource_files: dict[str, str]
    """Datasource → its SQLite file name."""
    provisioning_seconds: float
    restocked: int
    """(tenant, SKU) rows created or topped up before the workload."""
    workload: WorkloadStats
    checks: list[Check]
    tables: list[TableRows]
    plans: list[ExamplePlan]
    top_tenants: list[tuple[Any, ...]]
    events_by_kind: list[tuple[Any, ...]]
    example_tenant: str
    """The tenant of the example plans (the busiest one)."""

    @property
    def physical_tables(self) -> int:
        return sum(len(c) for table in self.tables for c in table.counts.values())

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)


def run_demo(
    options: DemoOptions | None = None, *, progress: Callable[[str], None] | None = None
) -> DemoResult:
    """Run the demo once in ``options.directory`` and return what it measured.

    Creates the folder, its configuration (rewritten every run) and the schema when they
    are missing, tops the inventory up, runs the workload, then checks every row written
    by this and earlier runs. Raises InterfaceError when the folder's ``tenantdb.toml`` was
    not written by the demo, and tenantdb errors from the databases (the workload itself
    records its errors in ``workload.errors`` instead, and the checks fail on them).
    ``progress`` receives a one-line message as each phase starts.
    """
    say = progress or (lambda message: None)
    options = options or DemoOptions()
    if options.seed is None:
        options = replace(options, seed=secrets.randbelow(1_000_000))
    assert options.seed is not None
    folder = DemoFolder(options.directory)
    if options.reset:
        folder.reset()
    config_path = folder.write_config(tenants=options.tenants, pool_size=options.threads + 2)
    tenants = [tenant_id(n) for n in range(1, options.tenants + 1)]
    with connect(config_path) as cluster:
        say(f"Provisioning {options.tenants} tenants in {options.directory} ...")
        began = time.perf_counter()
        create_schema(cluster)
        seed_products(cluster)
        run = start_run(
            cluster,
            tenants=options.tenants,
            threads=options.threads,
            seconds=options.seconds,
            seed=options.seed,
        )
        restocked = restock(cluster, tenants)
        provisioning = time.perf_counter() - began
        say(f"Running the workload: {options.threads} threads for {options.seconds:g} s ...")
        stats = Workload(
            cluster,
            tenants,
            run=run,
            seed=options.seed,
            threads=options.threads,
            seconds=options.seconds,
        ).run()
        finish_run(cluster, run, statements=stats.statements.count)
        say("Checking stock and idempotency over every row in the folder ...")
        checks = run_checks(cluster, stats)
        top = top_tenants(cluster)
        # The busiest tenant, unless a smaller --tenants left it out of the configuration.
        example_tenant = str(top[0][0]) if top and str(top[0][0]) in tenants else tenants[0]
        order = latest_order(cluster, example_tenant) or run * ORDER_IDS_PER_RUN + 1
        return DemoResult(
            options=options,
            config_path=config_path,
            run=run,
            datasource_files={
                name: folder.database_path(index).name
                for index, name in enumerate(cluster.config.datasources)
            },
            provisioning_seconds=provisioning,
            restocked=restocked,
            workload=stats,
            checks=checks,
            tables=rows_per_shard(cluster),
            plans=example_plans(cluster, example_tenant, order),
            top_tenants=top,
            events_by_kind=events_by_kind(cluster),
            example_tenant=example_tenant,
        )
