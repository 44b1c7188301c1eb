"""``tenantdb replicas``: replica lag and health, and the read-to-primary switch.

``status`` measures every replica once (its own connections, a few seconds at most) and
prints state and lag. ``force-primary`` and ``release`` edit the cluster's ``switch_file``;
every running process of the cluster applies the change within one lag-check interval.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from .._cluster import Cluster
from ..monitoring import read_switches, write_switches
from ._opened import ConfigOption, opened_cluster
from ._progress import waiting

replicas_app = typer.Typer(
    help="Replica lag and health; send reads to primaries (the degrade switch).",
    no_args_is_help=True,
)

DatasourceOption = Annotated[
    str | None,
    typer.Option("--datasource", "-d", help="One datasource (default: the whole cluster)."),
]

_MEASURE_S = 5.0  # longest wait for a first lag reading of every replica


@replicas_app.command("status")
def status_command(
    config: ConfigOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Measure every replica once and print its state, lag and the switches."""
    with opened_cluster(config) as cluster:
        _measure(cluster)
        status = cluster.status()
    if as_json:
        typer.echo(json.dumps(status, indent=2, default=str))
        return
    table = Table(title="replicas")
    for column in ("datasource", "replica", "state", "lag", "breaker", "error"):
        table.add_column(column, overflow="fold")
    for name, entry in status["datasources"].items():
        reads = f"reads forced to primary: {entry['forced']}" if entry.get("forced") else ""
        for replica in entry["replicas"]:
            lag = replica.get("lag_s")
            breaker = entry.get("breakers", {}).get(replica["name"])
            table.add_row(
                name,
                replica["name"],
                replica["state"],
                "" if lag is None else f"{lag:.2f}s",
                "off" if breaker is None else breaker["state"],
                replica.get("error") or reads,
            )
    Console().print(table)
    typer.echo(
        "breaker states are this command's own (a fresh process): a running application's"
        " are in its cluster.status()"
    )
    if status["switch"]["forced"]:
        typer.echo(f"all reads forced to primaries: {status['switch']['forced']}")


@replicas_app.command("force-primary")
def force_primary_command(
    config: ConfigOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in logs and status).")],
    datasource: DatasourceOption = None,
) -> None:
    """Send reads to primaries in every process of this cluster, until `release`."""
    if not reason.strip():
        _fail("--reason must say why reads go to the primary")
    path = _switch_file(config, datasource)
    switches = read_switches(path)
    if datasource is None:
        switches["cluster"] = reason
    else:
        switches["datasources"][datasource] = reason
    write_switches(path, switches)
    typer.echo(f"reads of {datasource or 'every datasource'} go to primaries ({path})")


@replicas_app.command("release")
def release_command(config: ConfigOption, datasource: DatasourceOption = None) -> None:
    """Let replicas serve reads again (undo `force-primary`)."""
    path = _switch_file(config, datasource)
    switches = read_switches(path)
    if datasource is None:
        switches["cluster"] = None
    else:
        switches["datasources"].pop(datasource, None)
    write_switches(path, switches)
    typer.echo(f"reads of {datasource or 'every datasource'} may use replicas again ({path})")


def _measure(cluster: Cluster) -> None:
    """Start every replica set and wait until each replica has one reading (or is down),
    saying so on stderr while it waits (a spinner on a terminal, one line otherwise)."""
    sets = [cluster.datasources.replicas(name) for name in cluster.config.datasources]

    def measured() -> bool:
        states = [s for replicas in sets if replicas is not None for s in replicas.snapshot()]
        return all(s["state"] == "down" or s["lag_s"] is not None for s in states)

    if measured():
        return
    deadline = time.monotonic() + _MEASURE_S
    console = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
    with waiting(console, f"waiting for a lag reading of every replica (at most {_MEASURE_S:g} s)"):
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if measured():
                return


def _switch_file(config: str, datasource: str | None) -> str:
    with opened_cluster(config) as cluster:
        if datasource is not None and datasource not in cluster.config.datasources:
            _fail(
                f"no datasource {datasource!r}; configured: "
                + ", ".join(cluster.config.datasources)
            )
        path = cluster.config.switch_file
    if path is None:
        _fail(
            "this configuration has no switch_file, so running processes cannot hear the "
            'switch: add switch_file = "/var/lib/tenantdb/switches.json" (an absolute path '
            "every process can read) at the top of the configuration"
        )
    return path


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


__all__ = ["replicas_app"]
