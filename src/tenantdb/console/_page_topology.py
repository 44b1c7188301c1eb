"""The topology page: datasources, their endpoints and read switches, the registry, limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..config import redact_url
from ._html import Markup, Node, el
from ._layout import View, badge, form, layout, seconds, table
from ._vantage import Switches, Vantage

_ENDPOINT_HEADINGS = ("endpoint", "url", "state", "lag", "breaker", "pool", "detail")
_REPLICA_TONES = {"serving": "good", "lagging": "warn", "down": "bad"}
_BREAKER_TONES = {"closed": "good", "half_open": "warn", "open": "bad"}


def topology_page(view: View) -> Markup:
    """The whole cluster as this console sees it (the limits only when mounted in-process)."""
    vantage = view.vantage
    status = vantage.status()
    switches = vantage.switches()
    sections = [_cluster_switch_section(view, switches)]
    for name, entry in vantage.config.datasources.items():
        sections.append(
            _datasource_section(view, name, entry, status["datasources"].get(name, {}), switches)
        )
    sections.append(_registry_section(vantage))
    if not vantage.standalone:
        sections.append(_limits_section(status.get("limits") or {}))
    return layout(view, "topology", "Topology", sections)


def _cluster_switch_section(view: View, switches: Switches) -> Markup:
    forced = switches.cluster
    state = (
        badge(f"forced to primaries: {forced}", "bad")
        if forced
        else badge("each datasource decides", "good")
    )
    return el(
        "section",
        el("h2", "Reads of the whole cluster"),
        el("p", state, id="cluster-switch"),
        el("div", switches.error, class_="error") if switches.error else None,
        _switch_form(
            view,
            "",
            bool(forced),
            release="Release: let replicas serve reads",
            force="Force all reads to primaries",
        ),
        el("p", view.vantage.switch_reach(), class_="note"),
        class_="card",
        id="cluster",
    )


def _switch_form(view: View, datasource: str, forced: bool, *, release: str, force: str) -> Markup:
    """The button that releases a forced switch, or the reason box and button that force
    it; ``datasource`` "" is the whole cluster."""
    if forced:
        return form(
            view,
            "/switch/release",
            el("button", release, type="submit", class_="secondary"),
            datasource=datasource,
        )
    return form(
        view,
        "/switch/force",
        el("input", type="text", name="reason", placeholder="reason", required=True),
        el("button", force, type="submit", class_="danger"),
        datasource=datasource,
    )


def _datasource_section(
    view: View, name: str, entry: Any, status: Mapping[str, Any], switches: Switches
) -> Markup:
    vantage = view.vantage
    replicas = list(status.get("replicas") or [])
    rows = [_endpoint_row(vantage, "primary", "primary", entry.url, None, status)]
    for index, replica in enumerate(replicas):
        url = entry.replicas[index] if index < len(entry.replicas) else ""
        rows.append(_endpoint_row(vantage, replica["name"], "replica", url, replica, status))
    switch = (
        _switch_form(
            view,
            name,
            name in switches.datasources,
            release=f"Release {name}",
            force=f"Force reads of {name} to its primary",
        )
        if entry.replicas
        else None
    )
    return el(
        "section",
        el("h2", f"Datasource {name}"),
        el("p", _reads_of(name, status, switches, bool(entry.replicas)), class_="reads"),
        table(_ENDPOINT_HEADINGS, rows),
        switch,
        class_="card datasource",
        id=f"ds-{name}",
    )


def _reads_of(name: str, status: Mapping[str, Any], switches: Switches, replicated: bool) -> Node:
    """Who serves the datasource's reads, the cluster-wide switch taking precedence."""
    if not replicated:
        return el("span", "no replicas: the primary serves every read", class_="muted")
    forced = switches.cluster or switches.datasources.get(name)
    if forced:
        return badge(f"reads forced to the primary: {forced}", "bad")
    if status.get("automatic"):
        reason = status.get("automatic_reason") or "no replica qualifies"
        return badge(f"reads on the primary (automatic): {reason}", "warn")
    return badge("replicas serve reads", "good")


def _endpoint_row(
    vantage: Vantage,
    endpoint: str,
    role: str,
    url: str,
    replica: Mapping[str, Any] | None,
    status: Mapping[str, Any],
) -> Markup:
    if replica is None:
        state: Node = el("span", "primary", class_="muted")
        lag: Node = ""
        detail: Node = ""
    else:
        state_name = str(replica.get("state"))
        state = [
            badge(state_name, _REPLICA_TONES.get(state_name, "muted")),
            _since(replica.get("state_for_s")),
        ]
        lag = seconds(replica.get("lag_s"))
        detail = _replica_detail(replica)
    if vantage.standalone:
        breaker: Node = el("span", "per process", class_="muted")
        pool: Node = el("span", "per process", class_="muted")
    else:
        breaker = _breaker_cell((status.get("breakers") or {}).get(endpoint))
        pool = _pool_cell(status, endpoint)
    return el(
        "tr",
        el("td", el("code", endpoint)),
        el("td", el("code", redact_url(url)), class_="mono"),
        el("td", state),
        el("td", lag, class_="figure"),
        el("td", breaker),
        el("td", pool),
        el("td", detail),
        data_endpoint=endpoint,
        data_role=role,
    )


def _since(value: object) -> Node:
    if not isinstance(value, int | float):
        return None
    return el("span", f" for {value:.1f} s", class_="muted")


def _replica_detail(replica: Mapping[str, Any]) -> Node:
    parts: list[Node] = []
    if replica.get("error"):
        parts.append(el("div", replica["error"], class_="bad"))
    if replica.get("retry_in_s") is not None:
        parts.append(el("div", f"next probe in {replica['retry_in_s']:.1f} s", class_="muted"))
    if replica.get("weight") not in (None, 1, 1.0):
        parts.append(el("div", f"weight {replica['weight']}", class_="muted"))
    return parts


def _breaker_cell(breaker: Mapping[str, Any] | None) -> Node:
    if breaker is None:
        return el("span", "not used yet", class_="muted")
    state = str(breaker.get("state"))
    rate = breaker.get("failure_rate_percent")
    return [
        badge(state, _BREAKER_TONES.get(state, "muted")),
        el("div", f"{rate:.0f}% failed" if isinstance(rate, int | float) else "", class_="muted"),
        el("div", breaker.get("reason") or "", class_="muted"),
    ]


def _pool_cell(status: Mapping[str, Any], endpoint: str) -> Node:
    pool = (status.get("pools") or {}).get(endpoint)
    if pool is None:
        return el("span", "not open", class_="muted")
    figures = [
        f"{key.replace('_', ' ')} {pool[key]}"
        for key in ("size", "in_use", "idle", "waiting", "max_size")
        if pool.get(key) is not None
    ]
    return el("span", ", ".join(figures), class_="mono")


def _registry_section(vantage: Vantage) -> Markup:
    try:
        status = vantage.cluster.tenants.status()
        count = len(vantage.cluster.tenants)
    except Exception as exc:  # the page still shows the rest when the store is down
        return el(
            "section",
            el("h2", "Tenant registry"),
            el("div", str(exc), class_="error"),
            class_="card",
            id="registry",
        )
    rows = [
        ("store", status.get("store")),
        ("shared cache", status.get("shared_cache") or "none"),
        ("tenants held", f"{count} ({status.get('mode')})"),
        ("change feed", status.get("feed")),
        ("refused placements", status.get("refused")),
        ("last error", status.get("last_error") or "none"),
    ]
    return el(
        "section", el("h2", "Tenant registry"), _definitions(rows), class_="card", id="registry"
    )


def _limits_section(limits: Mapping[str, Any]) -> Markup:
    shared = limits.get("shared")
    rows = [
        ("mode", limits.get("mode")),
        (
            "shared rate limits",
            "off (per process)"
            if shared is None
            else f"{shared.get('url')} ({'available' if shared.get('available') else 'down'})",
        ),
        ("tenants that met a limit", len(limits.get("tenants") or {})),
    ]
    return el(
        "section",
        el("h2", "Tenant limits in this process"),
        _definitions(rows),
        class_="card",
        id="limits",
    )


def _definitions(rows: Iterable[tuple[str, object]]) -> Markup:
    return el("dl", [(el("dt", k), el("dd", "—" if v is None else str(v))) for k, v in rows])


__all__ = ["topology_page"]
