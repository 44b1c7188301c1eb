"""tenantdb config check / schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantdb.cli import app

SAMPLE = Path(__file__).parents[3] / "src" / "tenantdb" / "examples" / "sample.toml"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_valid_file_prints_a_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "check", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{SAMPLE}: valid (sqlite; 2 datasources, 10 tables, 3 tenants)\n"
    assert result.stderr == ""


def test_check_invalid_file_lists_every_problem_on_stderr(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[datasources.ds0]\nurl = "redis://:hunter2@cache/0"\n'
        '[tables.users]\nstrategy = "mod"\nshard = 4\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}: 2 problems"
    assert lines[1].startswith("  datasources.ds0.url: unsupported URL scheme 'redis'")
    assert lines[2].startswith("  tables.users.shard: unknown key 'shard'; did you mean 'shards'?")
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_check_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(tmp_path / "none.toml")])
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[1] == f"  configuration file not found: {tmp_path / 'none.toml'}"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_check_reads_the_environment(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.toml"
    path.write_text('[datasources.ds0]\nurl = "${TENANTDB_TEST_URL}"\n', encoding="utf-8")
    monkeypatch.setenv("TENANTDB_TEST_URL", "mysql://app:pw@db/app")
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "(mysql; 1 datasource, 0 tables, 0 tenants)" in result.stdout


def test_schema_prints_indented_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "datasources" in schema["properties"]
    assert '\n  "$defs": {' in result.stdout


def test_config_without_a_command_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config"])
    assert "check" in result.output
    assert "schema" in result.output
