"""What every console page is made of: the View, the signed-in frame, and the shared pieces."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._html import Markup, Node, el
from ._vantage import Vantage

NAV = (
    ("topology", "/", "Topology"),
    ("tenants", "/tenants", "Tenants"),
    ("slow", "/slow", "Slow statements"),
    ("explain", "/explain", "Explain"),
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
    """A signed-in page: navigation (``here`` is the NAV key shown as current), where the
    console stands, the view's messages, then ``content``."""
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
        alert(view.error) if view.error else None,
    ]
    main = el("main", el("h1", title), _banner(view.vantage), messages, *content)
    return document(title, view.root, header, main)


def message_page(view: View, title: str, text: str) -> Markup:
    """A signed-in page that says only ``text`` (a page not found, an action not done)."""
    return layout(view, "", title, alert(text))


def _banner(vantage: Vantage) -> Markup:
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


def alert(text: Node, **attributes: str) -> Markup:
    """An error message, announced to screen readers."""
    return el("div", text, class_="error", role="alert", **attributes)


def table(headings: Iterable[str], rows: Node, **attributes: str) -> Markup:
    """A table with one row of ``headings`` above ``rows``."""
    return el("table", el("tr", [el("th", h) for h in headings]), rows, **attributes)


def badge(text: str, tone: str) -> Markup:
    """``text`` in a pill; ``tone`` is a class of the stylesheet (good, warn, bad, muted)."""
    return el("span", text, class_=f"badge {tone}")


def seconds(value: object) -> str:
    """A duration in seconds to the millisecond, or a dash when there is none."""
    return f"{value:.3f} s" if isinstance(value, int | float) else "—"


__all__ = [
    "NAV",
    "View",
    "alert",
    "badge",
    "document",
    "form",
    "layout",
    "message_page",
    "seconds",
    "table",
]
