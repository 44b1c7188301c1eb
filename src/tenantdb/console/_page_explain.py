"""The explain page: a box for one statement, and the plan the router makes of it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._html import Markup, Node, el, join
from ._layout import View, alert, form, layout, table

_TARGET_HEADINGS = ("datasource", "role", "physical SQL", "params", "tables")


@dataclass(frozen=True, slots=True)
class ExplainForm:
    """What the explain box was filled with (kept when the page shows the plan)."""

    sql: str = ""
    params: str = ""
    tenant: str = ""
    admin: bool = False


def explain_page(
    view: View, filled: ExplainForm, plan: Mapping[str, Any] | None, problem: str | None
) -> Markup:
    """The box as ``filled``, then ``problem`` if given, else ``plan`` (a plan's
    ``to_dict()``) if given."""
    box = form(
        view,
        "/explain",
        el(
            "div",
            el("label", "SQL", for_="sql"),
            el("textarea", filled.sql, id="sql", name="sql", required=True, spellcheck="false"),
            el("label", "Parameters (JSON array or object, optional)", for_="params"),
            el(
                "input",
                type="text",
                id="params",
                name="params",
                value=filled.params,
                placeholder='[1, "a"]',
                size=50,
            ),
            el("label", "Tenant id (optional)", for_="tenant"),
            el("input", type="text", id="tenant", name="tenant", value=filled.tenant, size=40),
            el(
                "p",
                el(
                    "label",
                    el("input", type="checkbox", name="admin", value="1", checked=filled.admin),
                    "admin session",
                    class_="check",
                ),
            ),
            el("p", el("button", "Explain", type="submit")),
            el(
                "p",
                "Explain routes the statement without connecting to any database.",
                class_="note",
            ),
        ),
        inline=False,
    )
    result: Node = None
    if problem is not None:
        result = alert(problem, id="explain-error")
    elif plan is not None:
        result = _plan_section(plan)
    return layout(view, "explain", "Explain", el("section", box, class_="card"), result)


def _plan_section(plan: Mapping[str, Any]) -> Markup:
    who = (
        "admin"
        if plan.get("admin")
        else (f"tenant {plan['tenant']}" if plan.get("tenant") else "no tenant")
    )
    targets = plan.get("targets") or []
    rows = [
        el(
            "tr",
            el("td", target.get("datasource")),
            el("td", target.get("role")),
            el("td", el("pre", target.get("sql") or "")),
            el("td", el("code", json.dumps(target.get("params"), default=str))),
            el(
                "td",
                join((f"{k} → {v}" for k, v in (target.get("tables") or {}).items()), el("br")),
            ),
        )
        for target in targets
    ]
    return el(
        "section",
        el(
            "h2",
            f"{str(plan.get('kind', '')).upper()} ({who}) → {len(targets)} target"
            f"{'s' if len(targets) != 1 else ''}",
        ),
        table(_TARGET_HEADINGS, rows, id="plan-targets"),
        el("h2", "Plan as JSON"),
        el("pre", json.dumps(plan, indent=2, default=str), id="plan-json"),
        class_="card",
        id="plan",
    )


__all__ = ["ExplainForm", "explain_page"]
