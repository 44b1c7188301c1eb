"""What the demo shows after the workload: rows per physical table, example route plans,
and two cross-tenant answers. Reads only; the rendering is the command line's job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._cluster import Cluster
from ..core.routing import RoutePlan, quote_identifier
from ._workload import EVENTS_SCAN, ORDER_EVENTS, ORDER_LOOKUP, REVENUE_REPORT

TABLES = (
    "orders",
    "order_items",
    "inventory",
    "idempotency_keys",
    "events",
    "products",
    "demo_runs",
)


@dataclass(frozen=True, slots=True)
class TableRows:
    """Row counts of one logical table's physical tables, per datasource."""

    table: str
    placement: str
    """``tenant``, ``hash_mod, 8 shards``, ``broadcast`` or ``single``."""
    counts: dict[str, list[tuple[str, int]]]
    """Datasource → [(physical table, rows)]; datasources without the table are absent."""


@dataclass(frozen=True, slots=True)
class ExamplePlan:
    title: str
    plan: RoutePlan


def rows_per_shard(cluster: Cluster) -> list[TableRows]:
    """Count the rows of every physical table of the demo, straight on each datasource."""
    topology = cluster.topology
    today = topology.today()
    located: list[tuple[str, str, list[tuple[str, str]]]] = []
    for name in TABLES:
        placement = topology.table(name)
        if placement.strategy is not None:
            strategy = placement.strategy
            shards = strategy.all_shards(today)
            label = f"{cluster.config.tables[name].strategy}, {len(shards)} shards"
            tables = [
                (strategy.datasource_of(shard), strategy.physical_table(name, shard))
                for shard in shards
            ]
        elif placement.kind == "tenant":
            label, tables = "tenant", [(ds, name) for ds in topology.datasources]
        elif placement.kind == "broadcast":
            label, tables = "broadcast", [(ds, name) for ds in placement.datasources]
        else:
            assert placement.datasource is not None, "a single table has one datasource"
            label, tables = "single", [(placement.datasource, name)]
        located.append((name, label, tables))
    counts = _count(cluster, {pair for _, _, tables in located for pair in tables})
    result = []
    for name, label, tables in located:
        per_datasource: dict[str, list[tuple[str, int]]] = {}
        for datasource, physical in tables:
            per_datasource.setdefault(datasource, []).append(
                (physical, counts[(datasource, physical)])
            )
        result.append(TableRows(name, label, per_datasource))
    return result


def _count(cluster: Cluster, tables: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    # Physical tables are not addressable through a session (sessions speak logical
    # names), so the counts run on the datasources' own pooled connections.
    dialect = cluster.topology.dialect
    counts: dict[tuple[str, str], int] = {}
    for datasource in sorted({ds for ds, _ in tables}):
        pool = cluster.datasources.pool(datasource)
        connection = pool.acquire()
        try:
            for ds, physical in sorted(tables):
                if ds == datasource:
                    outcome = connection.execute(
                        f"SELECT COUNT(*) FROM {quote_identifier(physical, dialect)}", ()
                    )
                    counts[(ds, physical)] = int(outcome.rows[0][0])
        finally:
            pool.release(connection)
    return counts


def example_plans(cluster: Cluster, tenant: str, order_id: int) -> list[ExamplePlan]:
    """Route plans of three statements the workload sends (routing only, nothing runs)."""
    examples: list[tuple[str, str, tuple[Any, ...] | None, str | None, bool]] = [
        (
            f"tenant {tenant} reads an order with its items: tenant tables join on one datasource",
            ORDER_LOOKUP,
            (tenant, order_id),
            tenant,
            False,
        ),
        (
            "an order's events: events is hash_mod on order_id, so one shard answers;"
            " it is tenant-scoped, so tenantdb adds the tenant condition",
            ORDER_EVENTS,
            (order_id,),
            tenant,
            False,
        ),
        (
            "top tenants by revenue: an admin session scans every datasource and merges",
            REVENUE_REPORT,
            None,
            None,
            True,
        ),
    ]
    return [
        ExamplePlan(title, cluster.explain(sql, params, tenant=who, admin=admin))
        for title, sql, params, who, admin in examples
    ]


def top_tenants(cluster: Cluster) -> list[tuple[Any, ...]]:
    """(tenant, orders, revenue in cents) of the five tenants with the most revenue."""
    with cluster.session(admin=True) as session:
        return session.execute(REVENUE_REPORT).fetchall()


def events_by_kind(cluster: Cluster) -> list[tuple[Any, ...]]:
    with cluster.session(admin=True) as session:
        return session.execute(EVENTS_SCAN).fetchall()


def latest_order(cluster: Cluster, tenant: str) -> int | None:
    """The highest order id of ``tenant`` (None when it has no order)."""
    with cluster.session(tenant) as session:
        value = session.execute(
            "SELECT MAX(id) FROM orders WHERE tenant_id = %s", (tenant,)
        ).scalar()
    return None if value is None else int(value)
