"""examples/sqlalchemy_orm.py runs as written: each tenant sees only its own order."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sqlalchemy_orm.py"


def test_the_orm_example_runs(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, str(EXAMPLE), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "{'acme': [(1, ['tea'])], 'globex': [(2, ['tea'])]}"
    assert (tmp_path / "shard0.db").exists()
    assert (tmp_path / "shard1.db").exists()
