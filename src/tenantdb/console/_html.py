"""Building HTML where every value is escaped unless it is markup built here.

``el("td", tenant.id)`` escapes the id; only ``Markup`` (what ``el`` and ``join``
return) passes through unchanged, so a tenant id, an SQL text or an error message can
never become a tag or an attribute. The console's pages use nothing else to make HTML.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Union

Node = Union["Markup", str, int, float, None, Iterable["Node"]]


class Markup(str):
    """HTML text that is already safe to send as is."""

    __slots__ = ()


def esc(value: object) -> Markup:
    """``value`` as HTML text: markup stays, everything else is escaped (quotes too)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def render(node: Node) -> Markup:
    """A node (text, markup, a number, None for nothing, or an iterable of nodes) as HTML."""
    if node is None:
        return Markup("")
    if isinstance(node, str | int | float):
        return esc(node)
    return Markup("".join(render(child) for child in node))


_VOID = frozenset({"br", "hr", "input", "link", "meta"})


def el(tag: str, *children: Node, **attributes: str | int | bool | None) -> Markup:
    """``<tag attributes>children</tag>``. Attribute names are written with ``_`` for
    ``-`` and a trailing ``_`` dropped (``class_``, ``aria_label``); True writes the bare
    name, False and None leave the attribute out; values are escaped."""
    parts = [tag]
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        written = name.rstrip("_").replace("_", "-")
        parts.append(written if value is True else f'{written}="{esc(value)}"')
    opening = f"<{' '.join(parts)}>"
    if tag in _VOID:
        return Markup(opening)
    return Markup(f"{opening}{render(children)}</{tag}>")


def join(nodes: Iterable[Node], separator: Node = "") -> Markup:
    """The nodes as HTML, with ``separator`` between them."""
    return Markup(render(separator).join(render(node) for node in nodes))


STYLESHEET = """\
:root { --ink: #1d2330; --muted: #5b6577; --line: #d9dee7; --bg: #f6f7f9; --card: #fff;
  --ok: #1f7a3d; --warn: #9a6200; --bad: #b3261e; --accent: #2b5fd9; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem;
  background: var(--ink); color: #fff; }
header .brand { font-weight: 700; letter-spacing: .02em; }
header nav a { color: #cfd6e4; text-decoration: none; margin-right: 1rem; }
header nav a.here { color: #fff; border-bottom: 2px solid #fff; }
header form { margin-left: auto; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.35rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px;
  padding: 1rem; margin-bottom: 1rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace;
  font-size: .85rem; }
pre { background: var(--bg); border: 1px solid var(--line); padding: .5rem;
  white-space: pre-wrap; word-break: break-word; margin: .2rem 0; }
.note { color: var(--muted); }
.banner { border-left: 4px solid var(--accent); background: #eef3ff; padding: .6rem .8rem;
  margin-bottom: 1rem; border-radius: 4px; }
.banner.outside { border-color: var(--warn); background: #fff6e5; }
.flash { border-left: 4px solid var(--ok); background: #e9f7ee; padding: .6rem .8rem;
  margin-bottom: 1rem; border-radius: 4px; }
.error { border-left: 4px solid var(--bad); background: #fdeceb; padding: .6rem .8rem;
  margin-bottom: 1rem; border-radius: 4px; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem;
  font-weight: 600; border: 1px solid currentColor; }
.good { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.muted { color: var(--muted); }
td.figure { white-space: nowrap; }
form.inline { display: inline-flex; gap: .3rem; align-items: center; margin: .1rem .3rem .1rem 0; }
input[type=text], input[type=password], input[type=search], textarea {
  font: inherit; padding: .3rem .45rem; border: 1px solid var(--line); border-radius: 4px; }
textarea { width: 100%; min-height: 6rem; font-family: ui-monospace, Menlo, monospace; }
button { font: inherit; padding: .3rem .7rem; border-radius: 4px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { border-color: var(--bad); background: var(--bad); }
header button { background: transparent; border-color: #8d97aa; color: #fff; }
label { display: block; margin: .5rem 0 .2rem; font-weight: 600; }
label.check { display: inline-flex; gap: .3rem; font-weight: 400; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: .6rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.login { max-width: 26rem; margin: 4rem auto; }
"""


__all__ = ["STYLESHEET", "Markup", "Node", "el", "esc", "join", "render"]
