"""The README's tour must stay true: run its configuration and check what it claims."""

from __future__ import annotations

import ast
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


def _python_block(after: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block after {after!r}"
    return match.group(1)


def _leading_literal(comment: str) -> object:
    """The longest prefix of ``comment`` that is a Python literal (``[(1, 30)]``, ``'ds1'``)."""
    for end in range(len(comment), 0, -1):
        text = comment[:end].strip()
        if text.endswith(","):  # "[...], merged from ..." is not a tuple
            continue
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue
    raise AssertionError(f"no literal at the start of {comment!r}")


def test_readme_session_tour_runs(tmp_path: Path) -> None:
    """The tour's session block runs as written on the tour's tables (SQLite files instead
    of the PostgreSQL URLs), and every ``expression  # value`` comment in it is true."""
    config = tour_config()
    config["dialect"] = "sqlite"
    config["datasources"] = {
        name: {"url": f"sqlite:///{tmp_path / name}.db"} for name in ("ds0", "ds1")
    }
    lines = _python_block("Running statements").splitlines()
    checked = 0
    for number, line in enumerate(lines):
        expression, hash_, comment = line.partition("#")
        stated = comment.strip()[:1]
        if not hash_ or "=" in expression or not stated or stated not in "['0123456789":
            continue
        indent = expression[: len(expression) - len(expression.lstrip())]
        expected = _leading_literal(comment)
        lines[number] = (
            f"{indent}_value = {expression.strip()}; "
            f"assert _value == {expected!r}, ({expression.strip()!r}, _value)"
        )
        checked += 1
    namespace: dict[str, object] = {"cluster": tenantdb.connect(config)}
    exec("\n".join(lines), namespace)
    assert checked >= 4
