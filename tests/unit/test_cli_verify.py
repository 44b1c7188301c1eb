"""``tenantdb verify`` refuses a wrong combination of options before opening anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenantdb.cli import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --replicas"),
        (["--replicas", "ds0", "--broadcast", "t"], "give exactly one of"),
        (["--replicas", "ds0", "--repair"], "--repair and --source go with --broadcast only"),
        (["--broadcast", "t", "--table", "x"], "--table goes with --replicas"),
    ],
)
def test_wrong_option_combinations_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    config = tmp_path / "missing.toml"  # never read: the options are checked first
    result = CliRunner().invoke(app, ["verify", "-c", str(config), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
