"""The tenants page: the registry's tenants, searchable, with their refusals and status buttons."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._html import Markup, Node, el, join
from ._layout import View, badge, form, layout, table

PAGE_SIZE = 200
# The status buttons a tenant row may show: (status it sets, label).
_STATUS_BUTTONS = (("active", "Activate"), ("read_only", "Set read-only"), ("suspended", "Suspend"))
_STATUS_TONES = {"active": "good", "read_only": "warn", "moving": "warn", "suspended": "bad"}
_HEADINGS = ("id", "placement", "isolation", "status", "limits", "version", "refusals", "")
_REFUSAL_COUNTERS = (
    "refused_rate",
    "refused_concurrency",
    "timed_out_in_queue",
    "shadow_rate",
    "shadow_concurrency",
)


def tenants_page(view: View, query: str) -> Markup:
    """The tenants whose id contains ``query`` (ignoring case), the first ``PAGE_SIZE`` of
    them, with status buttons where this console can change tenants."""
    vantage = view.vantage
    tenants = vantage.cluster.tenants.list()
    needle = query.casefold()
    matches = [t for t in tenants if needle in t.id.casefold()] if needle else tenants
    counters: Mapping[str, Any] = (
        {} if vantage.standalone else (vantage.status().get("limits") or {}).get("tenants") or {}
    )
    search = el(
        "form",
        el(
            "input",
            type="search",
            name="q",
            value=query,
            placeholder="tenant id contains…",
            aria_label="tenant id contains",
        ),
        el("button", "Search", type="submit"),
        method="get",
        action=view.url("/tenants"),
        class_="inline",
    )
    shown = matches[:PAGE_SIZE]
    summary = f"{len(matches)} of {len(tenants)} tenants match"
    if len(matches) > len(shown):
        summary += f"; the first {len(shown)} are shown, narrow the search for the others"
    writable, reach = vantage.tenant_writes()
    rows = [_tenant_row(view, tenant, counters.get(tenant.id), query, writable) for tenant in shown]
    refusals_note = (
        "Refusals are per process: a standalone console sees none."
        if vantage.standalone
        else "Refusals count since this process started."
    )
    return layout(
        view,
        "tenants",
        "Tenants",
        el(
            "section",
            search,
            el("p", summary, class_="note", id="tenant-count"),
            table(_HEADINGS, rows, id="tenants"),
            el("p", refusals_note, class_="note"),
            el("p", reach, class_="note" if writable else "error", id="tenant-writes"),
            class_="card",
        ),
    )


def _tenant_row(
    view: View, tenant: Any, counters: Mapping[str, Any] | None, query: str, writable: bool
) -> Markup:
    limits = {k: v for k, v in _limits_of(tenant).items() if v is not None}
    isolation = tenant.isolation + (f" ({tenant.schema})" if tenant.schema else "")
    actions = [
        form(
            view,
            "/tenants/status",
            el(
                "button",
                label,
                type="submit",
                class_="danger" if status == "suspended" else "secondary",
            ),
            tenant=tenant.id,
            status=status,
            q=query,
        )
        for status, label in _STATUS_BUTTONS
        if status != tenant.status and writable
    ]
    return el(
        "tr",
        el("td", el("code", tenant.id), class_="tenant-id"),
        el("td", tenant.datasource or "—"),
        el("td", isolation),
        el(
            "td",
            badge(tenant.status, _STATUS_TONES.get(tenant.status, "")),
            class_="tenant-status",
        ),
        el("td", join((f"{k} {v}" for k, v in limits.items()), ", ") or "none", class_="mono"),
        el("td", tenant.version),
        el("td", _refusals(counters)),
        el("td", actions),
        data_tenant=tenant.id,
    )


def _limits_of(tenant: Any) -> dict[str, Any]:
    return {f.name: getattr(tenant.limits, f.name) for f in dataclasses.fields(tenant.limits)}


def _refusals(counters: Mapping[str, Any] | None) -> Node:
    if not counters:
        return el("span", "none", class_="muted")
    parts = [
        f"{name.replace('_', ' ')} {counters[name]}"
        for name in _REFUSAL_COUNTERS
        if counters.get(name)
    ]
    if counters.get("in_flight") or counters.get("queued"):
        parts.append(
            f"now {counters.get('in_flight') or 0} running, {counters.get('queued') or 0} queued"
        )
    return el("span", ", ".join(parts) or "none", class_="mono")


__all__ = ["PAGE_SIZE", "tenants_page"]
