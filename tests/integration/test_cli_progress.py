"""Progress of ``tenantdb ddl --precreate`` on a pseudo-terminal (a bar) and in a pipe (one
line per period table), on real SQLite datasources."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from tenantdb.cli import app

from .terminal import run_on_a_terminal

CONFIG = """
dialect = "sqlite"
[datasources.ds0]
url = "sqlite:///{dir}/ds0.db"
[tables.events]
strategy = "time_range"
key = "created_at"
interval = "day"
start = "2026-01-01"
pre_create = 3
datasources = ["ds0"]
"""


def files(tmp_path: Path) -> list[str]:
    config = tmp_path / "tenantdb.toml"
    config.write_text(CONFIG.format(dir=tmp_path.as_posix()), encoding="utf-8")
    schema = tmp_path / "schema.sql"
    schema.write_text("CREATE TABLE events (id INT, tenant_id TEXT, created_at TEXT);\n")
    return ["ddl", "-c", str(config), "--precreate", str(schema), "--today", "2026-03-01"]


def test_precreate_on_a_terminal_shows_a_bar(tmp_path: Path) -> None:
    output = run_on_a_terminal(files(tmp_path))
    assert "\x1b[" in output
    assert "━" in output
    assert "63/63" in output  # 2026-01-01 through 2026-03-04
    assert "applied 63, skipped 0, failed 0" in output
    assert re.search(r"\[\s*\d+/63\] applied", output) is None  # no plain step lines


def test_precreate_in_a_pipe_prints_a_line_per_table(tmp_path: Path) -> None:
    env = {"FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}
    result = CliRunner().invoke(app, files(tmp_path), env=env)
    assert result.exit_code == 0, result.output
    steps = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert steps[0] == "[ 1/63] applied ds0 events_20260101 (created from the schema file)"
    assert steps[-1] == "[63/63] applied ds0 events_20260304 (created from the schema file)"
    assert len(steps) == 63
    assert "\x1b" not in result.stdout
