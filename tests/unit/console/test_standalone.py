"""The standalone console says what it cannot see or do, and ``tenantdb console`` takes
its token only from a file or the environment. (Serving it, and its switch file reaching
another process, are tested in Chromium: tests/integration/replication.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app
from tenantdb.console._console import Console
from tenantdb.console._vantage import Outside

from .conftest import CONFIG, TOKEN, Client, text

# No replicas: building the standalone vantage starts no monitor and connects nowhere.
UNREPLICATED: dict[str, Any] = {
    **CONFIG,
    "datasources": {name: {"url": entry["url"]} for name, entry in CONFIG["datasources"].items()},
}


@pytest.fixture
def outside() -> Iterator[Client]:
    with tenantdb.connect(UNREPLICATED) as cluster:
        yield Client(Console(Outside(cluster), token=TOKEN), bearer=True)


def test_every_page_says_it_stands_outside(outside: Client) -> None:
    for path in ("/", "/tenants", "/slow", "/explain"):
        page = text(outside.get(path))
        assert "Standalone console" in page
        assert "cannot see the pools, circuit breakers, rate limits and slow statements" in page


def test_topology_shows_no_per_process_figures(outside: Client) -> None:
    page = text(outside.get("/"))
    assert "per process" in page
    assert "Tenant limits in this process" not in page
    assert "has no switch_file" in page


def test_without_a_switch_file_the_switch_is_refused(outside: Client) -> None:
    form = {"datasource": "", "reason": "drill", "csrf": outside.csrf()}
    response = outside.post("/switch/force", form)
    assert response.status == 400
    assert "switch_file" in text(response)


def test_without_a_registry_url_tenants_cannot_change(outside: Client) -> None:
    page = text(outside.get("/tenants"))
    assert "cannot change them" in page
    assert 'action="/tenants/status"' not in page  # no buttons
    form = {"tenant": "acme", "status": "suspended", "csrf": outside.csrf()}
    response = outside.post("/tenants/status", form)
    assert response.status == 409
    assert outside.console.vantage.cluster.tenants.get("acme").status == "active"


def test_slow_statements_are_not_visible_from_outside(outside: Client) -> None:
    assert "a standalone console has none" in text(outside.get("/slow"))


def test_the_command_needs_a_token_from_a_file_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("TENANTDB_CONSOLE_TOKEN", raising=False)
    config = tmp_path / "never-read.toml"
    result = CliRunner().invoke(app, ["console", "-c", str(config)])
    assert result.exit_code == 1
    assert "TENANTDB_CONSOLE_TOKEN" in result.output
    assert "--token-file" in result.output
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    result = CliRunner().invoke(app, ["console", "-c", str(config), "--token-file", str(empty)])
    assert result.exit_code == 1
    assert "is empty" in result.output


def test_the_command_takes_no_token_on_its_command_line() -> None:
    result = CliRunner().invoke(app, ["console", "-c", "x.toml", "--token", TOKEN])
    assert result.exit_code == 2  # no such option: other users could read it in `ps`
