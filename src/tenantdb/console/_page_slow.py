"""The slow statements page: this process's slow-statement log and the threshold that fills it."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._html import Markup, Node, el, join
from ._layout import View, layout, seconds, table

_HEADINGS = ("at (UTC)", "duration", "tenant", "route", "targets", "statement", "error")


def slow_page(view: View) -> Markup:
    """The log, newest first; a standalone console says it has none."""
    vantage = view.vantage
    if vantage.standalone:
        body: Node = el(
            "p",
            "The slow-statement log is kept by each application process; a standalone console"
            " has none. Mount tenantdb.console in the application to read it.",
            class_="note",
        )
    else:
        body = [_threshold(vantage.config), _log(vantage.slow_statements() or [])]
    return layout(view, "slow", "Slow statements", el("section", body, class_="card"))


def _threshold(config: Any) -> Markup:
    telemetry = config.telemetry
    if telemetry.slow_statement is None:
        return el(
            "p",
            'The slow-statement log is off: set [telemetry] slow_statement (e.g. "500ms")'
            " in the configuration to keep statements that run longer.",
            class_="error",
            id="slow-threshold",
        )
    params = (
        "with their parameter values (slow_statement_params)"
        if telemetry.slow_statement_params
        else "without parameter values"
    )
    return el(
        "p",
        f"The latest {telemetry.slow_statements_kept} statements of this process that ran"
        f" {telemetry.slow_statement:g} s or longer, newest first, {params}.",
        class_="note",
        id="slow-threshold",
    )


def _log(entries: Sequence[Mapping[str, Any]]) -> Markup:
    if not entries:
        return el("p", "No slow statement has been logged.", class_="note")
    rows = [
        el(
            "tr",
            el("td", _when(entry.get("at")), class_="mono"),
            el("td", seconds(entry.get("duration_s"))),
            el("td", el("code", entry.get("tenant") or "—")),
            el("td", entry.get("route") or ""),
            el("td", join((_target_label(t) for t in entry.get("targets") or ()), ", ")),
            el(
                "td",
                el("pre", entry.get("sql") or ""),
                el("div", "params: " + json.dumps(entry["params"], default=str), class_="mono")
                if entry.get("params") is not None
                else None,
                _plan(entry.get("targets") or ()),
            ),
            el("td", entry.get("error") or "", class_="bad"),
        )
        for entry in entries
    ]
    return table(_HEADINGS, rows, id="slow")


def _when(at: object) -> str:
    """A Unix time as a UTC date and time to the millisecond, or a dash."""
    if not isinstance(at, int | float):
        return "—"
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _plan(targets: Sequence[Mapping[str, Any]]) -> Markup | None:
    """Each target's physical statement, folded: what the log kept of the plan."""
    shown = [t for t in targets if t.get("sql")]
    if not shown:
        return None
    return el(
        "details",
        el("summary", "plan"),
        [el("div", _target_label(t), el("pre", t["sql"]), class_="plan") for t in shown],
    )


def _target_label(target: Mapping[str, Any]) -> str:
    return f"{target.get('datasource')} ({target.get('role')})"


__all__ = ["slow_page"]
