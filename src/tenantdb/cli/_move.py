"""``tenantdb move-tenant``: move a tenant to another datasource while it keeps working.

One command, one action per call: ``--to DATASOURCE`` starts a move and runs it to the
cut-over; ``--resume`` runs an unfinished move on from its log; ``--abort`` undoes one
before its cut-over; ``--cleanup`` finishes one after it (deletes the source's rows, no
sooner than ``[moves] cleanup_wait`` after the cut-over unless ``--force``), and
``--cleanup-after DURATION`` with ``--to``/``--resume`` does so by itself after that wait;
``--status`` prints the tenant's moves. Actions that change anything ask for confirmation
unless ``--yes`` (required when stdin is not a terminal). Progress goes to stderr; exit
status 0 when the action did what it says, 1 otherwise (the message says why).
"""

from __future__ import annotations

import datetime
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from ..admin import (
    abort_move,
    cleanup_later,
    cleanup_move,
    move_status,
    resume_move,
    start_move,
)
from ..config import parse_duration
from ..core.moves import MoveState, state_to_record
from ..errors import Error
from ._opened import ConfigOption, opened_cluster
from ._progress import ProgressDisplay


def move_tenant_command(
    config: ConfigOption,
    tenant: Annotated[str, typer.Argument(help="The tenant to move.")],
    to: Annotated[str | None, typer.Option("--to", help="Start a move to this datasource.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Run the tenant's unfinished move on.")
    ] = False,
    abort: Annotated[
        bool, typer.Option("--abort", help="Undo the unfinished move (before its cut-over).")
    ] = False,
    cleanup: Annotated[
        bool,
        typer.Option(
            "--cleanup",
            help="After the cut-over: delete the source's rows (a schema tenant's source"
            " tables and schema are dropped).",
        ),
    ] = False,
    schema: Annotated[
        str | None,
        typer.Option(
            "--schema",
            help="With --to, for a schema tenant: its schema on the target (default: the same"
            " name; MariaDB datasources on one server need another).",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="With --cleanup: clean up before [moves] cleanup_wait has passed since the"
            " cut-over (only once every process has the new placement).",
        ),
    ] = False,
    cleanup_after: Annotated[
        str | None,
        typer.Option(
            "--cleanup-after",
            metavar="DURATION",
            help="With --to or --resume: after the cut-over, wait this long ('10m', '1h')"
            " and clean up.",
        ),
    ] = None,
    status: Annotated[bool, typer.Option("--status", help="Print the tenant's moves.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --status: JSON.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Move a tenant's rows to another datasource of the cluster online (any isolation: a
    schema tenant keeps its schema name, a database tenant needs a datasource of its own)."""
    chosen = [name for name, on in _actions(to, resume, abort, cleanup, status) if on]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --to DATASOURCE, --resume, --abort, --cleanup or --status"
        )
    action = chosen[0]
    if as_json and action != "status":
        raise typer.BadParameter("--json goes with --status")
    if force and action != "cleanup":
        raise typer.BadParameter("--force goes with --cleanup")
    if schema is not None and action != "start":
        raise typer.BadParameter("--schema goes with --to")
    wait_s = _cleanup_wait(cleanup_after, action)
    with opened_cluster(config) as cluster:
        if action == "status":
            _print_status(move_status(cluster, tenant), as_json)
            return
        _confirm(action, tenant, to, yes)
        errors = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
        if action == "abort":
            _report(abort_move(cluster, tenant))
        elif action == "cleanup":
            _report(cleanup_move(cluster, tenant, force=force))
        else:
            with ProgressDisplay(errors, "rows copied") as display:
                follow = _Follower(display)
                if action == "start":
                    assert to is not None
                    state = start_move(cluster, tenant, to, schema=schema, on_step=follow)
                else:
                    state = resume_move(cluster, tenant, on_step=follow)
            if wait_s is not None and state.phase in ("cleaning", "unfencing"):
                _report(state)
                errors.print(f"cleaning up in {wait_s:g} s (--cleanup-after)")
                state = cleanup_later(cluster, state, wait_s)
            _report(state)


def _cleanup_wait(cleanup_after: str | None, action: str) -> float | None:
    if cleanup_after is None:
        return None
    if action not in ("start", "resume"):
        raise typer.BadParameter("--cleanup-after goes with --to or --resume")
    try:
        seconds = parse_duration(cleanup_after)
    except ValueError as exc:
        raise typer.BadParameter(f"--cleanup-after: {exc}") from None
    if seconds < 0:
        raise typer.BadParameter("--cleanup-after: give a duration of 0 or more")
    return seconds


def _actions(
    to: str | None, resume: bool, abort: bool, cleanup: bool, status: bool
) -> list[tuple[str, bool]]:
    return [
        ("start", to is not None),
        ("resume", resume),
        ("abort", abort),
        ("cleanup", cleanup),
        ("status", status),
    ]


_QUESTIONS = {
    "start": "move tenant {tenant!r} to {to}? Its writes are held for a moment at the cut-over",
    "resume": "resume the unfinished move of tenant {tenant!r}?",
    "abort": "abort the move of tenant {tenant!r}? Its rows copied so far are deleted",
    "cleanup": "delete tenant {tenant!r}'s rows from the datasource it moved away from?",
}


def _confirm(action: str, tenant: str, to: str | None, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise Error(
            f"not running --{'to' if action == 'start' else action} for tenant {tenant!r}:"
            " stdin is not a terminal, so it cannot be confirmed; pass --yes"
        )
    typer.confirm(_QUESTIONS[action].format(tenant=tenant, to=to), abort=True)


class _Follower:
    """Feeds the progress display from the move's steps."""

    def __init__(self, display: ProgressDisplay) -> None:
        self._display = display

    def __call__(self, step: str, state: MoveState) -> None:
        copied = sum(t.copied_rows for t in state.tables)
        if step.startswith("phase "):
            phase = step.removeprefix("phase ")
            self._display.update(copied, label=phase, note=f"move {state.move_id}: {phase}")
        elif step == "chunk copied":
            self._display.update(copied)


def _report(state: MoveState) -> None:
    copied = sum(t.copied_rows for t in state.tables)
    what = {
        "cleaning": (
            f"tenant {state.tenant!r} is served from {state.target} now ({copied} rows"
            f" copied); once every process has the new placement ([moves] cleanup_wait"
            f" after the cut-over), run --cleanup to delete its rows from {state.source}"
        ),
        "unfencing": (
            f"tenant {state.tenant!r}'s rows are gone from {state.source}; run --cleanup"
            " again to take the fence down"
        ),
        "done": f"move {state.move_id} is done: {state.source} holds no row of the tenant",
        "aborted": (
            f"move {state.move_id} aborted: tenant {state.tenant!r} stays on {state.source},"
            f" nothing of the move is left on {state.target}"
        ),
    }
    typer.echo(what.get(state.phase, f"move {state.move_id} is {state.phase}"))


def _print_status(states: list[MoveState], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([_public(s) for s in states], indent=2, default=str))
        return
    if not states:
        typer.echo("no move recorded for this tenant")
        return
    for state in states:
        started = _when(state.history[0][1]) if state.history else "?"
        copied = sum(t.copied_rows for t in state.tables)
        typer.echo(
            f"{state.move_id}: {state.source} -> {state.target}, {state.phase}"
            f" (started {started}, {copied} rows copied, {state.freeze_attempts} freezes"
            " abandoned)"
        )


def _public(state: MoveState) -> dict[str, Any]:
    record = state_to_record(state)
    record.pop("format", None)
    return record


def _when(at: float) -> str:
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


__all__ = ["move_tenant_command"]
