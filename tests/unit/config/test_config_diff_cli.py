"""tenantdb config diff OLD NEW: each change marked hot or refused; the exit status says
whether a running cluster would take the new document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantdb.cli import app

OLD = """
[datasources.ds0]
url = "postgresql://app:hunter2@h0/db0"

[tables.events]
strategy = "hash_mod"
key = "user_id"
shards = 4
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _files(tmp_path: Path, new: str) -> list[str]:
    (tmp_path / "old.toml").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.toml").write_text(new, encoding="utf-8")
    return [str(tmp_path / "old.toml"), str(tmp_path / "new.toml")]


def test_hot_changes_exit_zero(runner: CliRunner, tmp_path: Path) -> None:
    new = OLD + '\n[tables.orders]\nstrategy = "tenant"\n[datasources.ds0.pool]\nmax_size = 4\n'
    result = runner.invoke(app, ["config", "diff", *_files(tmp_path, new)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "[hot] datasources.ds0.pool.max_size changed: new connections come from a pool of"
        " this size",
        "[hot] tables.orders added: new table; statements route to it from the next session"
        " (rows a table of this name has on 'ds0' stay there)",
        "2 changes: 2 hot, 0 refused",
    ]


def test_a_refused_change_exits_one_and_names_the_reshard(
    runner: CliRunner, tmp_path: Path
) -> None:
    new = OLD.replace("shards = 4", "shards = 8")
    result = runner.invoke(app, ["config", "diff", *_files(tmp_path, new)])
    assert result.exit_code == 1
    assert "[refused] tables.events.shards changed:" in result.stdout
    assert "reshard" in result.stdout


def test_json_output(runner: CliRunner, tmp_path: Path) -> None:
    new = OLD.replace("h0/db0", "h9/db0")
    result = runner.invoke(app, ["config", "diff", "--json", *_files(tmp_path, new)])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["hot_safe"] is False
    [change] = body["changes"]
    assert change["path"] == "datasources.ds0.url"
    assert change["hot"] is False
    assert change["old"] == "postgresql://app:***@h0/db0"
    assert "hunter2" not in result.stdout


def test_no_change(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "diff", *_files(tmp_path, OLD)])
    assert result.exit_code == 0
    assert result.stdout == "no change\n"


def test_an_invalid_document_exits_two_with_its_problems(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "diff", *_files(tmp_path, OLD + "virtual_nodes = 0\n")])
    assert result.exit_code == 2
    assert "new.toml" in result.stderr
    assert "tables.events" in result.stderr
