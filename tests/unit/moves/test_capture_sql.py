"""What ``capture_for`` refuses before any SQL reaches a server, and how it names and
qualifies what it creates (the servers' behaviour is tested in
tests/integration/test_move_capture.py). Pure."""

from __future__ import annotations

import pytest

from tenantdb.core.moves import PREFIX, capture_for


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"move_id": "Bad-Id"}, "use 1 to 16 lowercase letters and digits"),
        ({"key": ()}, "has no primary key: it cannot be moved online"),
        ({"tenant_column": "tenant_id"}, "tenant_column needs the tenant"),
        ({"tenant_column": "tenant_id", "tenant": "a\x00b"}, "NUL"),
    ],
)
def test_refusals_say_why(arguments: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "move_id": "m1",
        "index": 0,
        "table": "orders",
        "schema": None,
        "key": ("id",),
    }
    with pytest.raises(ValueError, match=message):
        capture_for("postgres", **{**base, **arguments})  # type: ignore[arg-type]


def test_an_unknown_dialect_is_refused() -> None:
    with pytest.raises(ValueError, match="no change capture for dialect 'oracle'"):
        capture_for("oracle", move_id="m1", index=0, table="t", schema=None, key=("id",))


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_every_object_is_named_with_the_prefix_and_lives_beside_its_table(dialect: str) -> None:
    capture = capture_for(
        dialect, move_id="m1", index=2, table="orders", schema="acme", key=("a", "b")
    )
    quote = "`" if dialect == "mysql" else '"'
    assert capture.changes == f"{quote}acme{quote}.{quote}{PREFIX}m1_2{quote}"
    for statement in capture.install[2 if dialect != "sqlite" else 1 :]:
        assert f"{PREFIX}m1_2" in statement
    assert all(f"{PREFIX}m1_2" in statement for statement in capture.remove + capture.unfence)
    assert all(statement.startswith("DROP ") for statement in capture.remove + capture.unfence)
    assert capture.remove[-1].startswith("DROP TABLE IF EXISTS")
    assert capture.key == (f"{quote}a{quote}", f"{quote}b{quote}")
    # Waiting changes, not a position: a late commit's lower number still waits.
    assert "tenantdb_done" in capture.pending()
    assert "IS NULL" in capture.pending()
    assert capture.pending().count("%s") == 1
    assert capture.mark(3).count("%s") == 4  # the round, then the three changes
    assert capture.changed_since().count("%s") == 1
    assert any(
        "ADD COLUMN" in statement and "tenantdb_done" in statement for statement in capture.install
    )


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_a_tenant_of_its_own_tables_has_every_row_captured_and_is_named_by_the_fence(
    dialect: str,
) -> None:
    own = capture_for(
        dialect, move_id="m1", index=0, table="orders", schema="s", key=("id",), tenant="acme"
    )
    shared = capture_for(
        dialect,
        move_id="m1",
        index=0,
        table="orders",
        schema=None,
        key=("id",),
        tenant_column="tenant_id",
        tenant="acme",
    )
    assert not any("tenant_id" in statement for statement in own.install + own.fence)
    assert any("tenant_id" in statement for statement in shared.install)
    assert any("(tenant acme)" in statement for statement in own.fence)
