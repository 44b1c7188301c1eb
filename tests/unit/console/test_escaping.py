"""Everything the console renders is escaped: tenant ids, SQL, reasons, errors, attributes.
A value shaped like markup comes out as text, never as a tag or an attribute."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest

import tenantdb
from tenantdb.console._html import Markup, el, esc, join

from .conftest import SCRIPT_ID, Client, text

HOSTILE = [
    SCRIPT_ID,
    '"><img src=x onerror=alert(1)>',
    "'onmouseover='alert(1)",
    "</textarea><script>alert(1)</script>",
    "&lt;already escaped&gt;",
]


def _no_markup_from(value: str, page: str) -> None:
    """``value`` appears in ``page`` only escaped: no raw tag, no unescaped quote."""
    assert value not in page
    assert html.escape(value, quote=True) in page


@pytest.mark.parametrize("value", HOSTILE)
def test_el_escapes_text_and_attribute_values(value: str) -> None:
    rendered = el("td", value, title=value, data_x=value)
    assert rendered.count("<") == 2  # <td ...> and </td>, nothing from the value
    assert html.unescape(re.sub(r"<[^>]*>", "", rendered)) == value
    assert f'title="{esc(value)}"' in rendered
    assert '"' not in esc(value)


def test_only_markup_built_here_passes_unescaped() -> None:
    assert el("p", el("b", "x")) == "<p><b>x</b></p>"
    assert el("p", "<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>"
    assert join(["<a>", el("br")], "<sep>") == "&lt;a&gt;&lt;sep&gt;<br>"
    assert esc(Markup("<i>ok</i>")) == "<i>ok</i>"
    assert el("input", checked=True, disabled=False, value=None) == "<input checked>"


def test_a_tenant_id_with_a_script_is_text_on_the_tenants_page(script: Client) -> None:
    page = text(script.get("/tenants"))
    _no_markup_from(SCRIPT_ID, page)
    assert "<script" not in page.lower()
    assert f"<code>{html.escape(SCRIPT_ID)}</code>" in page


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_search_is_text(script: Client, value: str) -> None:
    page = text(script.get("/tenants", query=urllib.parse.urlencode({"q": value})))
    _no_markup_from(value, page)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_explain_input_is_text(script: Client, value: str) -> None:
    form = {
        "sql": f"SELECT '{value}' FROM orders",
        "params": "",
        "tenant": value,
        "csrf": script.csrf("/explain"),
    }
    page = text(script.post("/explain", form))
    _no_markup_from(value, page)
    assert "<script" not in page.lower()


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_switch_reason_is_text(
    script: Client, cluster: tenantdb.Cluster, value: str
) -> None:
    form = {"datasource": "ds0", "reason": value, "csrf": script.csrf()}
    assert script.post("/switch/force", form).status == 303
    assert cluster.status()["datasources"]["ds0"]["forced"] == value
    page = text(script.get("/"))
    _no_markup_from(value, page)


def test_a_hostile_path_is_text_on_the_404_page(script: Client) -> None:
    path = "/<script>alert(1)</script>"
    page = text(script.get(path))
    _no_markup_from(path, page)
