"""``tenantdb move-tenant``: one action per call, confirmation unless --yes, the status
in words or JSON, and a clear error when nothing can be done. SQLite, a registry file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import tenantdb
from tenantdb.cli import app

from .conftest import Backend
from .test_move_tenant import ORDERS, rows


def plain(output: str) -> str:
    """``output`` without the frame rich draws around usage errors, one space apart."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())


def move(config: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["move-tenant", "-c", str(config), *args])


def world(backend: Backend, tmp_path: Path, rows: int) -> tuple[list[str], Path]:
    """Two SQLite databases with ``orders``, acme on the first with ``rows`` rows; their
    URLs and the configuration file."""
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, ORDERS)
    document = {
        "dialect": "sqlite",
        "datasources": {"ds0": {"url": urls[0]}, "ds1": {"url": urls[1]}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        "registry": {"url": f"sqlite:///{tmp_path}/registry.db"},
    }
    config = tmp_path / "tenantdb.json"
    config.write_text(json.dumps(document))
    with tenantdb.connect(config) as cluster, cluster.session(tenant="acme") as session:
        session.executemany("INSERT INTO orders (id) VALUES (%s)", [(i,) for i in range(rows)])
    return urls, config


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_move_from_the_command_line(backend: Backend, tmp_path: Path) -> None:
    urls, config = world(backend, tmp_path, 50)
    unconfirmed = move(config, "acme", "--to", "ds1")  # CliRunner's stdin is no terminal
    assert unconfirmed.exit_code == 1
    assert "cannot be confirmed; pass --yes" in unconfirmed.output
    assert move(config, "acme", "--status").output.strip() == "no move recorded for this tenant"

    moved = move(config, "acme", "--to", "ds1", "--yes")
    assert moved.exit_code == 0, moved.output
    assert "tenant 'acme' is served from ds1 now (50 rows copied)" in moved.output
    assert "run --cleanup" in moved.output

    status = move(config, "acme", "--status", "--json")
    (state,) = json.loads(status.output)
    assert (state["phase"], state["source"], state["target"]) == ("cleaning", "ds0", "ds1")
    assert "ds0 -> ds1, cleaning" in move(config, "acme", "--status").output

    refused = move(config, "acme", "--abort", "--yes")
    assert refused.exit_code == 1
    assert "served from ds1 now; move it back instead of aborting" in refused.output

    early = move(config, "acme", "--cleanup", "--yes")  # [moves] cleanup_wait: 60 s
    assert early.exit_code == 1
    assert "cut over less than [moves] cleanup_wait (60 s) ago" in early.output
    assert "force it (--force)" in early.output
    assert len(rows(backend, urls[0], "acme")) == 50  # nothing deleted

    cleaned = move(config, "acme", "--cleanup", "--force", "--yes")
    assert cleaned.exit_code == 0, cleaned.output
    assert "is done: ds0 holds no row of the tenant" in cleaned.output
    assert rows(backend, urls[0], "acme") == []
    assert len(rows(backend, urls[1], "acme")) == 50

    nothing = move(config, "acme", "--resume", "--yes")
    assert nothing.exit_code == 1
    assert "tenant 'acme' has no unfinished move" in nothing.output
    elsewhere = move(config, "acme", "--to", "ds1", "--yes")
    assert elsewhere.exit_code == 1
    assert "tenant 'acme' is on ds1 already" in elsewhere.output


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_cleanup_after_cleans_up_by_itself(backend: Backend, tmp_path: Path) -> None:
    urls, config = world(backend, tmp_path, 5)

    moved = move(config, "acme", "--to", "ds1", "--cleanup-after", "0.2s", "--yes")
    assert moved.exit_code == 0, moved.output
    assert "cleaning up in 0.2 s (--cleanup-after)" in moved.output
    assert "is done: ds0 holds no row of the tenant" in moved.output
    assert rows(backend, urls[0], "acme") == []
    assert len(rows(backend, urls[1], "acme")) == 5

    wrong = move(config, "acme", "--status", "--cleanup-after", "1m")
    assert wrong.exit_code != 0
    assert "--cleanup-after goes with --to or --resume" in wrong.output
    unreadable = move(config, "acme", "--to", "ds0", "--cleanup-after", "soon", "--yes")
    assert unreadable.exit_code != 0
    assert "--cleanup-after: expected a duration" in unreadable.output
    forced = move(config, "acme", "--status", "--force")
    assert "--force goes with --cleanup" in forced.output
    schema = move(config, "acme", "--resume", "--schema", "s2", "--yes")
    assert "--schema goes with --to" in schema.output
    shared = move(config, "acme", "--to", "ds0", "--schema", "s2", "--yes")
    assert shared.exit_code == 1
    assert "only a schema-isolated" in shared.output


def test_one_action_per_call(tmp_path: Path) -> None:
    config = tmp_path / "unused.json"
    both = move(config, "acme", "--to", "ds1", "--abort")
    assert both.exit_code == 2
    assert "exactly one of --to DATASOURCE, --resume, --abort, --cleanup or --status" in (
        plain(both.output)
    )
    assert move(config, "acme", "--resume", "--json").exit_code == 2
