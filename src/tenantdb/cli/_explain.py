"""``tenantdb explain``: show where a statement would go, without connecting anywhere."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from .._cluster import connect
from ..core.routing import RoutePlan
from ..core.sql import params_from_json
from ..errors import Error
from ._opened import ConfigOption


def explain_command(
    sql: Annotated[
        str, typer.Argument(help="The SQL statement, with %s or %(name)s placeholders.")
    ],
    config: ConfigOption,
    tenant: Annotated[str | None, typer.Option(help="Route as this tenant's session.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Route as an admin session.")] = False,
    params: Annotated[
        str | None,
        typer.Option(help="Parameters as JSON: an array for %s, an object for %(name)s."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the route plan of SQL. Never connects to a database."""
    try:
        parsed = _parse_params(params)
        with connect(config) as cluster:
            plan = cluster.explain(sql, parsed, tenant=tenant, admin=admin)
    except Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(plan.to_dict(), indent=2, default=str))
    else:
        typer.echo(format_plan(plan))


def _parse_params(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return params_from_json(text)
    except ValueError as exc:
        raise Error(f"--params: {exc}") from None


def format_plan(plan: RoutePlan) -> str:
    """A short human-readable rendering of a plan."""
    count = len(plan.targets)
    who = "admin" if plan.admin else (f"tenant {plan.tenant}" if plan.tenant else "no tenant")
    lines = [f"{plan.kind.upper()} ({who}) → {count} target{'s' if count != 1 else ''}"]
    for target in plan.targets:
        tables = ", ".join(f"{k} → {v}" for k, v in target.tables.items())
        lines.append(f"  [{target.datasource} · {target.role}] {target.sql}")
        if target.params:
            lines.append(f"      params: {json.dumps(list(target.params), default=str)}")
        if tables:
            lines.append(f"      tables: {tables}")
    if plan.merge is not None:
        merge = plan.merge
        parts = []
        if merge.group_by is not None:
            parts.append(f"group by columns {list(merge.group_by)}")
        if merge.aggregates:
            parts.append(
                "aggregates " + ", ".join(f"{a.kind}@{a.column}" for a in merge.aggregates)
            )
        if merge.distinct:
            parts.append("distinct")
        if merge.order_by:
            parts.append(
                "order by "
                + ", ".join(f"#{k.column}{' desc' if k.descending else ''}" for k in merge.order_by)
            )
        if merge.limit is not None:
            parts.append(f"limit {merge.limit} offset {merge.offset}")
        if merge.hidden_columns:
            parts.append(f"drop {merge.hidden_columns} hidden column(s)")
        lines.append("  merge: " + ("; ".join(parts) if parts else "concatenate"))
    if plan.round_trips is not None:
        trips = plan.round_trips
        counts = ", ".join(f"{name}: {n}" for name, n in trips.per_datasource().items())
        lines.append(f"  round trips: {len(trips.round_trips)} ({trips.mode}; {counts})")
        together = "; ".join(f"{t.datasource} {list(t.targets)}" for t in trips.round_trips)
        lines.append(f"  together: {together}")
    return "\n".join(lines)
