"""The target writes' SQL: refusals before anything runs, quoting and placeholders. Pure
(the servers' behaviour: tests/integration/test_move_apply.py)."""

from __future__ import annotations

import pytest

from tenantdb.core.moves import delete_by_key, upsert


def test_an_upsert_must_write_the_whole_key() -> None:
    with pytest.raises(ValueError, match="must include the whole primary key"):
        upsert("postgres", "t", None, ("a",), ("a", "b"))
    with pytest.raises(ValueError, match="no upsert for dialect 'oracle'"):
        upsert("oracle", "t", None, ("a",), ("a",))


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_names_are_quoted_and_values_are_placeholders(dialect: str) -> None:
    sql = upsert(dialect, 'we"ird', "acme", ("id", "note"), ("id",))
    quote = "`" if dialect == "mysql" else '"'
    assert sql.startswith(f"INSERT INTO {quote}acme{quote}.")
    assert sql.count("%s") == 2
    delete = delete_by_key(dialect, "t", None, ("a", "b"))
    assert delete.count("%s") == 2
    with pytest.raises(ValueError, match="needs the primary key"):
        delete_by_key(dialect, "t", None, ())
