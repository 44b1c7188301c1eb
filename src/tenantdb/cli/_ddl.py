"""``tenantdb ddl``: apply a schema file to every physical table, pre-create period tables."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from .._cluster import Cluster, connect
from ..admin import (
    DdlError,
    DdlProgress,
    DdlReport,
    apply_schema,
    plan_periods,
    plan_schema,
    precreate,
)
from ..errors import Error
from ._opened import ConfigOption
from ._progress import ProgressDisplay


def ddl_command(
    config: ConfigOption,
    schema: Annotated[
        Path | None,
        typer.Argument(
            help="SQL file of CREATE TABLE / CREATE INDEX / ALTER TABLE / DROP TABLE "
            "statements on logical tables.",
            metavar="SCHEMA.sql",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    precreate_periods: Annotated[
        bool,
        typer.Option(
            "--precreate",
            help="Create the missing period tables of every time_range table, through today "
            "plus pre_create periods (from SCHEMA.sql when given, else by copying the newest "
            "existing period table).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the physical statements; connect to nothing."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    today: Annotated[
        str | None, typer.Option("--today", hidden=True, help="Pretend today is YYYY-MM-DD.")
    ] = None,
) -> None:
    """Apply SCHEMA.sql to every physical table, or pre-create time tables.

    Safe to run again: work already done is skipped (tables, indexes and
    columns that exist, tables already dropped). Stops at the first failure,
    names the tables changed before it, and exits with status 1.
    """
    if schema is None and not precreate_periods:
        raise typer.BadParameter(
            "pass SCHEMA.sql, --precreate, or both", param_hint="SCHEMA.sql / --precreate"
        )
    clock = _clock(today)
    script = _read(schema) if schema is not None else None
    console = Console(highlight=False, markup=False, soft_wrap=True)
    try:
        with connect(config, today=clock) as cluster:
            if dry_run:
                _dry_run(cluster, script, precreate_periods, console, as_json)
                return
            report = _run(cluster, script, precreate_periods, console, as_json)
    except DdlError as exc:
        _finish(console, exc.report, as_json, error=str(exc), precreate_periods=precreate_periods)
        raise typer.Exit(1) from None
    except Error as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}, indent=2))
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _finish(console, report, as_json, error=None, precreate_periods=precreate_periods)


def _clock(today: str | None) -> Any:
    if today is None:
        return datetime.date.today
    try:
        day = datetime.date.fromisoformat(today)
    except ValueError:
        raise typer.BadParameter(
            f"{today!r} is not a date; write YYYY-MM-DD", param_hint="'--today'"
        ) from None
    return lambda: day


def _read(schema: Path) -> str:
    try:
        return schema.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {schema}: {exc}", param_hint="SCHEMA") from None


def _run(
    cluster: Cluster,
    script: str | None,
    precreate_periods: bool,
    console: Console,
    as_json: bool,
) -> DdlReport:
    def work(callback: Any) -> DdlReport:
        if precreate_periods:
            return precreate(cluster, script=script, progress=callback)
        assert script is not None
        return apply_schema(cluster, script, progress=callback)

    if as_json:
        return work(None)
    with ProgressDisplay(console, "working") as display:

        def advance(event: DdlProgress) -> None:
            step = event.step
            display.update(
                event.done,
                total=event.total,
                label=f"{step.datasource} {', '.join(step.tables)}",
                note=_line(event),
            )

        return work(advance)


def _line(event: DdlProgress) -> str:
    step = event.step
    width = len(str(event.total))
    text = (
        f"[{event.done:>{width}}/{event.total}] {step.outcome:<7} {step.datasource} "
        f"{', '.join(step.tables)}"
    )
    if step.detail and step.outcome != "failed":
        text += f" ({step.detail})"
    return text


def _finish(
    console: Console,
    report: DdlReport,
    as_json: bool,
    *,
    error: str | None,
    precreate_periods: bool,
) -> None:
    if as_json:
        data = report.to_dict()
        if error is not None:
            data["ok"] = False
            data["error"] = error
        typer.echo(json.dumps(data, indent=2))
    elif report.statements:
        console.print(_summary(report))
        console.print(f"applied {report.applied}, skipped {report.skipped}, failed {report.failed}")
    elif error is None:
        console.print(
            "nothing to do: no time_range tables in the configuration"
            if precreate_periods
            else "nothing to do: the schema file has no statements"
        )
    if error is not None:
        typer.echo(f"error: {error}", err=True)


def _summary(report: DdlReport) -> Table:
    table = Table(title="tenantdb ddl")
    table.add_column("#", justify="right")
    table.add_column("statement", overflow="fold")
    table.add_column("applied", justify="right")
    table.add_column("skipped", justify="right")
    table.add_column("failed", justify="right")
    for statement in report.statements:
        table.add_row(
            str(statement.number),
            _headline(statement.sql),
            str(statement.applied),
            str(statement.skipped),
            str(statement.failed),
        )
    return table


def _dry_run(
    cluster: Cluster,
    script: str | None,
    precreate_periods: bool,
    console: Console,
    as_json: bool,
) -> None:
    if precreate_periods:
        periods = plan_periods(cluster, script)
        if as_json:
            data = {
                "dry_run": True,
                "precreate": {
                    name: [
                        {
                            "datasource": p.datasource,
                            "table": p.physical,
                            "period_start": p.starts.isoformat(),
                            "from": "schema" if p.scripted else "copy",
                            "sql": [_plain(cluster, t.sql) for t in p.statements]
                            if p.scripted
                            else [],
                        }
                        for p in items
                    ]
                    for name, items in periods.items()
                },
            }
            typer.echo(json.dumps(data, indent=2))
            return
        if not periods:
            console.print("no time_range tables in the configuration; nothing to pre-create")
        for name, items in periods.items():
            console.print(
                f"-- {name}: {len(items)} period tables; the missing ones would be created"
            )
            for p in items:
                if p.scripted:
                    for target in p.statements:
                        console.print(f"[{p.datasource}] {_plain(cluster, target.sql)};")
                else:
                    console.print(
                        f"[{p.datasource}] {p.physical}: if missing, copied from the newest "
                        "existing period table"
                    )
        return
    assert script is not None
    planned = plan_schema(cluster, script)
    if as_json:
        statements = [
            {
                "number": statement.number,
                "sql": statement.sql,
                "kind": statement.kind,
                "targets": [
                    dict(t.to_dict(), sql=_plain(cluster, t.sql)) for t in statement.targets
                ],
            }
            for statement in planned
        ]
        typer.echo(json.dumps({"dry_run": True, "statements": statements}, indent=2))
        return
    for statement in planned:
        console.print(f"-- statement {statement.number}: {_headline(statement.sql)}")
        for target in statement.targets:
            console.print(f"[{target.datasource}] {_plain(cluster, target.sql)};")


def _plain(cluster: Cluster, sql: str) -> str:
    """A physical statement as it reads in SQL (drivers with %s placeholders see % doubled)."""
    return sql if cluster.topology.dialect == "sqlite" else sql.replace("%%", "%")


def _headline(sql: str) -> str:
    line = " ".join(sql.split())
    return line if len(line) <= 70 else line[:67] + "..."
