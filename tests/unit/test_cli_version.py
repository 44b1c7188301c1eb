from __future__ import annotations

from typer.testing import CliRunner

import tenantdb
from tenantdb.cli import app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tenantdb {tenantdb.__version__}"
