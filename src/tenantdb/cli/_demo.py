"""``tenantdb demo``: the README's main job, rendered for a terminal.

The work happens in ``tenantdb.demo.run_demo``; this module parses the options and prints
the returned result with rich.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..demo import MAX_SECONDS, MAX_THREADS, DemoOptions, DemoResult, run_demo
from ..errors import Error
from ._explain import format_plan

OUTCOMES = {
    "checkout": (("placed", "placed"), ("out_of_stock", "out of stock")),
    "resend": (
        ("resend_duplicate", "deduplicated"),
        ("resend_placed", "placed"),
        ("resend_out_of_stock", "out of stock"),
        ("resend_applied_twice", "APPLIED TWICE"),
    ),
}


def demo_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the configuration and the shard files.")
    ] = Path("tenantdb-demo"),
    tenants: Annotated[int, typer.Option(min=1, max=9999, help="Tenants to provision.")] = 300,
    seconds: Annotated[
        float, typer.Option(min=0.1, max=MAX_SECONDS, help="How long the workload runs.")
    ] = 4.0,
    threads: Annotated[
        int, typer.Option(min=1, max=MAX_THREADS, help="Worker threads sending requests.")
    ] = 8,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the request mix (default: random).")
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Delete the folder's demo files and start over.")
    ] = False,
) -> None:
    """Run a mixed SaaS workload on an embedded cluster of four SQLite shards and check it.

    Running it again reuses the folder: data accumulates and the checks cover all of it.
    Exits with status 1 when a check fails.
    """
    # Piped or captured output is not wrapped at 80 columns: lines stay whole for grep.
    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    try:
        options = DemoOptions(
            directory=directory,
            tenants=tenants,
            seconds=seconds,
            threads=threads,
            seed=seed,
            reset=reset,
        )
        result = run_demo(options, progress=lambda line: console.print(line, style="dim"))
    except Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    render(console, result)
    if not result.passed:
        raise typer.Exit(1)


def render(console: Console, result: DemoResult) -> None:
    """Print the demo report: cluster, workload, rows per shard, plans, checks."""
    options = result.options
    stats = result.workload
    files = list(result.datasource_files.items())
    console.print()
    console.print(Text(f"tenantdb demo · run {result.run} · {options.directory}/", style="bold"))
    console.print(
        f"{len(files)} SQLite datasources ("
        + ", ".join(f"{name} {file}" for name, file in files)
        + f") · {options.tenants} tenants (static [tenants.*] entries in "
        f"{result.config_path.name}, round-robin) · "
        f"{len(result.tables)} logical → {result.physical_tables} physical tables · "
        f"provisioned in {result.provisioning_seconds:.2f} s ({result.restocked:,} stock "
        "rows created or topped up)",
        markup=False,
    )
    console.print()
    console.print(
        Text("Workload", style="bold"),
        f"{stats.threads} threads for {stats.seconds:.1f} s, seed {options.seed}",
    )
    console.print(
        f"{stats.statements.count:,} statements → [bold]{stats.statements_per_second:,.0f} "
        f"statements/s[/] · statement latency p50 {_ms(stats.statements.p50)}, "
        f"p99 {_ms(stats.statements.p99)}"
    )
    console.print(_requests_table(result))
    console.print()
    console.print(Text("Rows per physical table", style="bold"))
    console.print(_rows_table(result))
    _print_top_tenants(console, result)
    console.print()
    console.print(Text("Route plans (what `tenantdb explain` prints)", style="bold"))
    for example in result.plans:
        console.print(Text(f"▸ {example.title}", style="italic"))
        console.print(Text(format_plan(example.plan)))
    console.print()
    console.print(Text("Checks (over every row in the folder, all runs)", style="bold"))
    for check in result.checks:
        verdict = (
            Text("PASS", style="bold green") if check.passed else Text("FAIL", style="bold red")
        )
        console.print(verdict, Text(f"{check.name}: {check.detail}"))
    console.print()
    if result.passed:
        console.print(
            f"All {len(result.checks)} checks passed. Run it again to add data "
            "(--reset starts over), or explore:",
            markup=False,
        )
    else:
        failed = sum(1 for check in result.checks if not check.passed)
        console.print(Text(f"{failed} check(s) FAILED.", style="bold red"))
    console.print(
        Text(f"  tenantdb shell -c {result.config_path} --tenant {result.example_tenant}")
    )


def _requests_table(result: DemoResult) -> Table:
    stats = result.workload
    table = Table(box=None, padding=(0, 1), pad_edge=False)
    table.add_column("request")
    table.add_column("count", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p99", justify="right")
    table.add_column("outcomes")
    order = [
        "checkout",
        "resend",
        "order_lookup",
        "order_events",
        "stock_read",
        "revenue_report",
        "events_scan",
    ]
    for kind in sorted(stats.requests, key=lambda k: order.index(k) if k in order else 99):
        summary = stats.requests[kind]
        outcomes = " · ".join(
            f"{stats.outcomes[key]:,} {label}"
            for key, label in OUTCOMES.get(kind, ())
            if stats.outcomes[key]
        )
        table.add_row(
            kind, f"{summary.count:,}", _ms(summary.p50), _ms(summary.p99), Text(outcomes)
        )
    errors = sum(stats.errors.values())
    if errors:
        table.add_row(Text("errors", style="red"), f"{errors:,}", "", "", "")
    return table


def _rows_table(result: DemoResult) -> Table:
    names = list(result.datasource_files)
    table = Table(box=None, padding=(0, 1), pad_edge=False)
    table.add_column("table")
    table.add_column("placement")
    for name in names:
        table.add_column(name, justify="right")
    for rows in result.tables:
        # Row k holds the k-th physical table of each datasource: events_0..3, events_4..7.
        depth = max(len(counts) for counts in rows.counts.values())
        for k in range(depth):
            cells = [rows.counts.get(name, [])[k : k + 1] for name in names]
            physical = [cell[0][0] for cell in cells if cell]
            label = physical[0] if len(set(physical)) == 1 else f"{physical[0]}…{physical[-1]}"
            table.add_row(
                Text(label),
                rows.placement if k == 0 else "",
                *(f"{cell[0][1]:,}" if cell else "—" for cell in cells),
            )
    return table


def _print_top_tenants(console: Console, result: DemoResult) -> None:
    console.print()
    console.print(
        Text("Top tenants by revenue", style="bold"),
        "(one admin query over every datasource, merged)",
    )
    table = Table(box=None, padding=(0, 1), pad_edge=False)
    table.add_column("tenant")
    table.add_column("orders", justify="right")
    table.add_column("revenue", justify="right")
    for tenant, orders, revenue in result.top_tenants:
        table.add_row(Text(str(tenant)), f"{orders:,}", f"{revenue / 100:,.2f}")
    console.print(table)
    kinds = " · ".join(f"{kind} {count:,}" for kind, count in result.events_by_kind)
    console.print(Text(f"Events by kind (all 8 shards): {kinds or 'none'}"))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"
