"""The console's pages, rendered on the server from the cluster's status, registry and
plans. They show configuration, state and plans, never a table's rows: the console runs
no statement.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import redact_url
from ._html import Markup, Node, el, join
from ._vantage import Switches, Vantage

NAV = (
    ("topology", "/", "Topology"),
    ("tenants", "/tenants", "Tenants"),
    ("slow", "/slow", "Slow statements"),
    ("explain", "/explain", "Explain"),
)
TENANT_PAGE_SIZE = 200
STATUSES = (("active", "Activate"), ("read_only", "Set read-only"), ("suspended", "Suspend"))
_REFUSAL_COUNTERS = (
    "refused_rate",
    "refused_concurrency",
    "timed_out_in_queue",
    "shadow_rate",
    "shadow_concurrency",
)


@dataclass(frozen=True, slots=True)
class View:
    """What every page needs besides its data: the mount point links start with, the
    CSRF token its forms carry, where the console stands, and one message to show."""

    root: str
    csrf: str
    vantage: Vantage
    flash: str | None = None
    error: str | None = None

    def url(self, path: str) -> str:
        return f"{self.root}{path}"


def document(title: str, root: str, *body: Node) -> Markup:
    """A whole HTML page; its only stylesheet comes from the console itself."""
    head = el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("meta", name="referrer", content="same-origin"),
        el("title", f"{title} · tenantdb console"),
        el("link", rel="stylesheet", href=f"{root}/console.css"),
    )
    return Markup("<!doctype html>\n" + el("html", head, el("body", *body), lang="en"))


def layout(view: View, here: str, title: str, *content: Node) -> Markup:
    """A signed-in page: navigation, where the console stands, messages, content."""
    links = [
        el("a", label, href=view.url(path), class_="here" if key == here else None)
        for key, path, label in NAV
    ]
    header = el(
        "header",
        el("span", "tenantdb console", class_="brand"),
        el("nav", links),
        form(view, "/logout", el("button", "Sign out", type="submit")),
    )
    messages = [
        el("div", view.flash, class_="flash", role="status") if view.flash else None,
        el("div", view.error, class_="error", role="alert") if view.error else None,
    ]
    main = el("main", el("h1", title), banner(view.vantage), messages, *content)
    return document(title, view.root, header, main)


def banner(vantage: Vantage) -> Markup:
    if vantage.standalone:
        return el(
            "div",
            el("strong", f"Standalone console (pid {vantage.pid}). "),
            "It sees the configuration, the tenant registry and replica lag, which its own"
            " monitors measure. It cannot see the pools, circuit breakers, rate limits and"
            " slow statements of the application's processes: those live inside each"
            " process. Mount tenantdb.console in the application to see them.",
            class_="banner outside",
            id="vantage",
        )
    return el(
        "div",
        el("strong", f"Mounted in the application (pid {vantage.pid}). "),
        "Pools, breakers, limits and slow statements are this process's own.",
        class_="banner",
        id="vantage",
    )


def form(view: View, path: str, *content: Node, inline: bool = True, **fields: str) -> Markup:
    """A POST form to ``path`` carrying the CSRF token and ``fields`` as hidden inputs."""
    hidden = [el("input", type="hidden", name=k, value=v) for k, v in fields.items()]
    csrf = el("input", type="hidden", name="csrf", value=view.csrf)
    return el(
        "form",
        csrf,
        hidden,
        *content,
        method="post",
        action=view.url(path),
        class_="inline" if inline else None,
    )


def login_page(root: str, *, error: str | None = None) -> Markup:
    body = el(
        "main",
        el(
            "section",
            el("h1", "tenantdb console"),
            el("div", error, class_="error", role="alert") if error else None,
            el(
                "form",
                el("label", "Console token", for_="token"),
                el(
                    "input",
                    type="password",
                    id="token",
                    name="token",
                    autocomplete="current-password",
                    required=True,
                    autofocus=True,
                ),
                el("p", el("button", "Sign in", type="submit")),
                method="post",
                action=f"{root}/login",
            ),
            el(
                "p",
                "Scripts may send the token as Authorization: Bearer <token> instead.",
                class_="note",
            ),
            class_="card login",
        ),
    )
    return document("Sign in", root, body)


def message_page(view: View, title: str, text: str) -> Markup:
    return layout(view, "", title, el("div", text, class_="error", role="alert"))


# -- topology ------------------------------------------------------------------------------


def topology_page(view: View) -> Markup:
    vantage = view.vantage
    status = vantage.status()
    switches = vantage.switches()
    sections = [cluster_switch_section(view, status, switches)]
    for name, entry in vantage.config.datasources.items():
        sections.append(
            datasource_section(view, name, entry, status["datasources"].get(name, {}), switches)
        )
    sections.append(registry_section(vantage))
    if not vantage.standalone:
        sections.append(limits_section(status.get("limits") or {}))
    return layout(view, "topology", "Topology", sections)


def cluster_switch_section(view: View, status: Mapping[str, Any], switches: Switches) -> Markup:
    forced = switches.cluster
    state = (
        el("span", f"forced to primaries: {forced}", class_="badge bad")
        if forced
        else el("span", "each datasource decides", class_="badge good")
    )
    if forced:
        action = form(
            view,
            "/switch/release",
            el("button", "Release: let replicas serve reads", type="submit", class_="secondary"),
            datasource="",
        )
    else:
        action = form(
            view,
            "/switch/force",
            el("input", type="text", name="reason", placeholder="reason", required=True),
            el("button", "Force all reads to primaries", type="submit", class_="danger"),
            datasource="",
        )
    return el(
        "section",
        el("h2", "Reads of the whole cluster"),
        el("p", state, id="cluster-switch"),
        switch_error(switches),
        action,
        el("p", view.vantage.switch_reach(), class_="note"),
        class_="card",
        id="cluster",
    )


def switch_error(switches: Switches) -> Markup | None:
    return el("div", switches.error, class_="error") if switches.error else None


def datasource_section(
    view: View, name: str, entry: Any, status: Mapping[str, Any], switches: Switches
) -> Markup:
    vantage = view.vantage
    replicas = list(status.get("replicas") or [])
    rows = [endpoint_row(vantage, "primary", "primary", entry.url, None, status)]
    for index, replica in enumerate(replicas):
        url = entry.replicas[index] if index < len(entry.replicas) else ""
        rows.append(endpoint_row(vantage, replica["name"], "replica", url, replica, status))
    table = el(
        "table",
        el(
            "tr",
            [el("th", h) for h in ("endpoint", "url", "state", "lag", "breaker", "pool", "detail")],
        ),
        rows,
    )
    return el(
        "section",
        el("h2", f"Datasource {name}"),
        el("p", reads_of(name, status, switches, bool(entry.replicas)), class_="reads"),
        table,
        datasource_switch(view, name, switches) if entry.replicas else None,
        class_="card datasource",
        id=f"ds-{name}",
    )


def reads_of(name: str, status: Mapping[str, Any], switches: Switches, replicated: bool) -> Node:
    if not replicated:
        return el("span", "no replicas: the primary serves every read", class_="muted")
    if switches.cluster:
        return el("span", f"reads forced to the primary: {switches.cluster}", class_="badge bad")
    own = switches.datasources.get(name)
    if own:
        return el("span", f"reads forced to the primary: {own}", class_="badge bad")
    if status.get("automatic"):
        reason = status.get("automatic_reason") or "no replica qualifies"
        return el("span", f"reads on the primary (automatic): {reason}", class_="badge warn")
    return el("span", "replicas serve reads", class_="badge good")


def datasource_switch(view: View, name: str, switches: Switches) -> Markup:
    if name in switches.datasources:
        return form(
            view,
            "/switch/release",
            el("button", f"Release {name}", type="submit", class_="secondary"),
            datasource=name,
        )
    return form(
        view,
        "/switch/force",
        el("input", type="text", name="reason", placeholder="reason", required=True),
        el("button", f"Force reads of {name} to its primary", type="submit", class_="danger"),
        datasource=name,
    )


def endpoint_row(
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
        state = [
            state_badge(str(replica.get("state"))),
            since(replica.get("state_for_s")),
        ]
        lag = seconds(replica.get("lag_s"))
        detail = replica_detail(replica)
    if vantage.standalone:
        breaker: Node = el("span", "per process", class_="muted")
        pool: Node = el("span", "per process", class_="muted")
    else:
        breaker = breaker_cell((status.get("breakers") or {}).get(endpoint))
        pool = pool_cell(status, endpoint)
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


def state_badge(state: str) -> Markup:
    tone = {"serving": "good", "lagging": "warn", "down": "bad"}.get(state, "muted")
    return el("span", state, class_=f"badge {tone}")


def since(value: object) -> Node:
    if not isinstance(value, int | float):
        return None
    return el("span", f" for {value:.1f} s", class_="muted")


def seconds(value: object) -> str:
    return f"{value:.3f} s" if isinstance(value, int | float) else "—"


def replica_detail(replica: Mapping[str, Any]) -> Node:
    parts: list[Node] = []
    if replica.get("error"):
        parts.append(el("div", replica["error"], class_="bad"))
    if replica.get("retry_in_s") is not None:
        parts.append(el("div", f"next probe in {replica['retry_in_s']:.1f} s", class_="muted"))
    if replica.get("weight") not in (None, 1, 1.0):
        parts.append(el("div", f"weight {replica['weight']}", class_="muted"))
    return parts


def breaker_cell(breaker: Mapping[str, Any] | None) -> Node:
    if breaker is None:
        return el("span", "not used yet", class_="muted")
    state = str(breaker.get("state"))
    tone = {"closed": "good", "half_open": "warn", "open": "bad"}.get(state, "muted")
    rate = breaker.get("failure_rate_percent")
    return [
        el("span", state, class_=f"badge {tone}"),
        el("div", f"{rate:.0f}% failed" if isinstance(rate, int | float) else "", class_="muted"),
        el("div", breaker.get("reason") or "", class_="muted"),
    ]


def pool_cell(status: Mapping[str, Any], endpoint: str) -> Node:
    pool = (status.get("pools") or {}).get(endpoint)
    if pool is None:
        return el("span", "not open", class_="muted")
    figures = [
        f"{key.replace('_', ' ')} {pool[key]}"
        for key in ("size", "in_use", "idle", "waiting", "max_size")
        if pool.get(key) is not None
    ]
    return el("span", ", ".join(figures), class_="mono")


def registry_section(vantage: Vantage) -> Markup:
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
        "section", el("h2", "Tenant registry"), definitions(rows), class_="card", id="registry"
    )


def limits_section(limits: Mapping[str, Any]) -> Markup:
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
        definitions(rows),
        class_="card",
        id="limits",
    )


def definitions(rows: Iterable[tuple[str, object]]) -> Markup:
    return el("dl", [(el("dt", k), el("dd", "—" if v is None else str(v))) for k, v in rows])


# -- tenants -------------------------------------------------------------------------------


def tenants_page(view: View, query: str) -> Markup:
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
    shown = matches[:TENANT_PAGE_SIZE]
    summary = f"{len(matches)} of {len(tenants)} tenants match"
    if len(matches) > len(shown):
        summary += f"; the first {len(shown)} are shown, narrow the search for the others"
    headings = ("id", "placement", "isolation", "status", "limits", "version", "refusals", "")
    writable, reach = vantage.tenant_writes()
    rows = [tenant_row(view, tenant, counters.get(tenant.id), query, writable) for tenant in shown]
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
            el("table", el("tr", [el("th", h) for h in headings]), rows, id="tenants"),
            el("p", refusals_note, class_="note"),
            el("p", reach, class_="note" if writable else "error", id="tenant-writes"),
            class_="card",
        ),
    )


def tenant_row(
    view: View, tenant: Any, counters: Mapping[str, Any] | None, query: str, writable: bool
) -> Markup:
    limits = {k: v for k, v in _limits_of(tenant).items() if v is not None}
    isolation = tenant.isolation + (f" ({tenant.schema})" if tenant.schema else "")
    tone = {"active": "good", "read_only": "warn", "suspended": "bad"}.get(tenant.status, "")
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
        for status, label in STATUSES
        if status != tenant.status and writable
    ]
    return el(
        "tr",
        el("td", el("code", tenant.id), class_="tenant-id"),
        el("td", tenant.datasource or "—"),
        el("td", isolation),
        el("td", el("span", tenant.status, class_=f"badge {tone}"), class_="tenant-status"),
        el("td", join((f"{k} {v}" for k, v in limits.items()), ", ") or "none", class_="mono"),
        el("td", tenant.version),
        el("td", refusals(counters)),
        el("td", actions),
        data_tenant=tenant.id,
    )


def _limits_of(tenant: Any) -> dict[str, Any]:
    return {f.name: getattr(tenant.limits, f.name) for f in dataclasses.fields(tenant.limits)}


def refusals(counters: Mapping[str, Any] | None) -> Node:
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


# -- slow statements -----------------------------------------------------------------------


def slow_page(view: View) -> Markup:
    vantage = view.vantage
    if vantage.standalone:
        body: Node = el(
            "p",
            "The slow-statement log is kept by each application process; a standalone console"
            " has none. Mount tenantdb.console in the application to read it.",
            class_="note",
        )
    else:
        body = [slow_threshold(vantage.config), slow_table(vantage.slow_statements() or [])]
    return layout(view, "slow", "Slow statements", el("section", body, class_="card"))


def slow_threshold(config: Any) -> Markup:
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


def slow_table(entries: Sequence[Mapping[str, Any]]) -> Markup:
    if not entries:
        return el("p", "No slow statement has been logged.", class_="note")
    headings = ("at (UTC)", "duration", "tenant", "route", "targets", "statement", "error")
    rows = [
        el(
            "tr",
            el("td", when(entry.get("at")), class_="mono"),
            el("td", seconds(entry.get("duration_s"))),
            el("td", el("code", entry.get("tenant") or "—")),
            el("td", entry.get("route") or ""),
            el("td", join((target_label(t) for t in entry.get("targets") or ()), ", ")),
            el(
                "td",
                el("pre", entry.get("sql") or ""),
                el("div", "params: " + json.dumps(entry["params"], default=str), class_="mono")
                if entry.get("params") is not None
                else None,
            ),
            el("td", entry.get("error") or "", class_="bad"),
        )
        for entry in entries
    ]
    return el("table", el("tr", [el("th", h) for h in headings]), rows, id="slow")


def when(at: object) -> str:
    if not isinstance(at, int | float):
        return "—"
    moment = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def target_label(target: Mapping[str, Any]) -> str:
    return f"{target.get('datasource')} ({target.get('role')})"


# -- explain -------------------------------------------------------------------------------


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
        result = el("div", problem, class_="error", role="alert", id="explain-error")
    elif plan is not None:
        result = plan_section(plan)
    return layout(view, "explain", "Explain", el("section", box, class_="card"), result)


def plan_section(plan: Mapping[str, Any]) -> Markup:
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
    headings = ("datasource", "role", "physical SQL", "params", "tables")
    return el(
        "section",
        el(
            "h2",
            f"{str(plan.get('kind', '')).upper()} ({who}) → {len(targets)} target"
            f"{'s' if len(targets) != 1 else ''}",
        ),
        el("table", el("tr", [el("th", h) for h in headings]), rows, id="plan-targets"),
        el("h2", "Plan as JSON"),
        el("pre", json.dumps(plan, indent=2, default=str), id="plan-json"),
        class_="card",
        id="plan",
    )


__all__ = [
    "STATUSES",
    "ExplainForm",
    "View",
    "explain_page",
    "login_page",
    "message_page",
    "slow_page",
    "tenants_page",
    "topology_page",
]
