"""The README's tour must stay true: run its configuration and check what it claims."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import tenantdb

README = Path(__file__).resolve().parents[2] / "README.md"


def tour_config() -> dict[str, object]:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"```toml\n# tenantdb.toml\n(.*?)```", text, re.S)
    assert match, "the README tour lost its configuration block"
    return tomllib.loads(match.group(1))


def test_readme_opens_with_the_two_commands() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    commands = [line.split("#")[0].strip() for line in lines[2:6] if line.startswith("make")]
    assert commands == ["make demo", "make test"]


def test_readme_tour_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "s3cret")
    cluster = tenantdb.connect(tour_config())
    plan = cluster.explain(
        "SELECT a.name, l.amount FROM accounts a JOIN ledger l ON l.account_id = a.account_id "
        "WHERE a.account_id = %s",
        [6],
    )
    target = plan.targets[0]
    assert target.datasource == "ds0"
    assert "FROM accounts_2 a JOIN ledger_2 l" in target.sql
    assert dict(target.tables) == {"accounts": "accounts_2", "ledger": "ledger_2"}
    assert "s3cret" not in str(plan.to_dict())
    assert (
        cluster.explain("SELECT * FROM orders WHERE id = %s", [1], tenant="acme")
        .targets[0]
        .datasource
        == "ds1"
    )
    with pytest.raises(tenantdb.RoutingError, match=r"without account_id would touch 4 shards"):
        cluster.explain("DELETE FROM accounts WHERE name = 'x'")
