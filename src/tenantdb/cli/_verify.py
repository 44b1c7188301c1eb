"""``tenantdb verify``: compare copies of tables with chunked checksums; repair broadcast
copies.

Two forms: ``--replicas DATASOURCE`` (its primary against each replica, every table or
those named with ``--table``), and ``--broadcast TABLE`` (the copy on ``--source``, default
the table's first datasource, against every other; ``--repair`` brings them to it). The
report goes to stdout (``--json``: one JSON object), progress to stderr. Exit status 0
when every copy is equal (with ``--repair``: once every difference found was repaired),
1 otherwise, or on an error (the message on stderr says which).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..admin import report_data, verify_broadcast, verify_replicas
from ..core.verify import KeyRange, TableReport
from ._opened import ConfigOption, opened_cluster
from ._progress import ProgressDisplay

DEFAULT_PROGRESS_DIR = Path(".tenantdb-verify")


def verify_command(
    config: ConfigOption,
    replicas: Annotated[
        str | None,
        typer.Option("--replicas", help="Compare this datasource's primary with its replicas."),
    ] = None,
    tables: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="With --replicas: only this table (repeatable)."),
    ] = None,
    broadcast: Annotated[
        str | None,
        typer.Option("--broadcast", help="Compare the copies of this broadcast table."),
    ] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="With --broadcast: the copy the others must equal."),
    ] = None,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="With --broadcast: bring the other copies to --source."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    chunk_rows: Annotated[
        int | None,
        typer.Option("--chunk-rows", min=1, help="Rows per chunk (default: adaptive, ~0.5 s)."),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Sample keys kept of each kind.")
    ] = 10,
    progress_dir: Annotated[
        Path,
        typer.Option(
            "--progress-dir", help="Where runs record progress; a killed run resumes from it."
        ),
    ] = DEFAULT_PROGRESS_DIR,
) -> None:
    """Compare copies of tables chunk by chunk; exit 0 only when they are equal."""
    if (replicas is None) == (broadcast is None):
        raise typer.BadParameter("give exactly one of --replicas DATASOURCE or --broadcast TABLE")
    if broadcast is None and (repair or source is not None):
        raise typer.BadParameter("--repair and --source go with --broadcast only")
    if broadcast is not None and tables:
        raise typer.BadParameter("--table goes with --replicas; --broadcast names its table")
    errors = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    with (
        opened_cluster(config) as cluster,
        ProgressDisplay(errors, "rows compared") as display,
    ):
        counted = _Counter(display)
        try:
            if replicas is not None:
                reports = verify_replicas(
                    cluster,
                    replicas,
                    tables=tables or (),
                    progress_dir=progress_dir,
                    chunk_rows=chunk_rows,
                    sample_limit=samples,
                    on_chunk=counted,
                )
            else:
                assert broadcast is not None
                reports = verify_broadcast(
                    cluster,
                    broadcast,
                    source=source,
                    repair=repair,
                    progress_dir=progress_dir,
                    chunk_rows=chunk_rows,
                    sample_limit=samples,
                    on_chunk=counted,
                )
        except (ValueError, TimeoutError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    data = report_data(reports)
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        _print_reports(reports, repair)
    settled = all(r.equal or (repair and r.repaired == r.differences) for r in reports)
    raise typer.Exit(0 if settled else 1)


class _Counter:
    """Feeds the progress display with rows compared, across the tables of one run."""

    def __init__(self, display: ProgressDisplay) -> None:
        self._display = display
        self._base = 0
        self._current: tuple[str, str, str] | None = None
        self._seen = 0

    def __call__(self, report: TableReport, keys: KeyRange) -> None:
        which = (report.table, report.source, report.target)
        if which != self._current:
            self._base += self._seen
            self._current = which
        self._seen = report.processed
        self._display.update(
            self._base + self._seen, label=f"{report.table}: {report.source} -> {report.target}"
        )


def _print_reports(reports: list[TableReport], repair: bool) -> None:
    console = Console(highlight=False, markup=False, soft_wrap=True)
    table = Table(title="verify")
    headers = ["table", "source", "target", "processed", "matching", "mismatched"]
    headers += ["extra in source", "extra in target", *(["repaired"] if repair else [])]
    for header in headers:
        table.add_column(header, overflow="fold")
    for report in reports:
        row = [report.table, report.source, report.target]
        row += [str(report.processed), str(report.matching), str(report.mismatched)]
        row += [str(report.extra_source), str(report.extra_target)]
        table.add_row(*row, *([str(report.repaired)] if repair else []))
    console.print(table)
    for report in reports:
        for kind, keys in report.to_dict()["samples"].items():
            if keys:
                shown = ", ".join(json.dumps(key, default=str) for key in keys)
                console.print(f"{report.table} {report.target} {kind}: {shown}")
    equal = all(r.equal for r in reports)
    console.print("copies are equal" if equal else "copies differ")


__all__ = ["verify_command"]
