"""Names of tables tenantdb does not manage are sent as the statement wrote them: quoted
names keep their doubled quote characters (an identifier never becomes SQL text around
it), schemas keep their quoting, and a three-part name is refused rather than cut."""

from __future__ import annotations

import pytest

import tenantdb

DIALECTS = {
    "postgres": "postgresql://app@db/main",
    "mysql": "mysql://app@db/main",
    "sqlite": "sqlite:///main.db",
}


def physical(dialect: str, sql: str, params: tuple[object, ...] = ()) -> str:
    cluster = tenantdb.connect(
        {"dialect": dialect, "datasources": {"ds0": {"url": DIALECTS[dialect]}}}
    )
    (target,) = cluster.explain(sql, params, admin=True).targets
    return target.sql


DOUBLE_QUOTED = [
    '"quote "" two"',
    '"t"" ; DROP TABLE x; --"',
    '"lower"',
    '"s"" x"."t"',
    '"s; DROP TABLE y; --".t',
    "S.t",
    'plain."q""t"',
]
CASE_KEPT = ['"Mixed"', '"S".t']  # PostgreSQL only: SQLite matches names without case


@pytest.mark.parametrize(
    ("dialect", "name"),
    [(d, n) for d in ("postgres", "sqlite") for n in DOUBLE_QUOTED]
    + [("postgres", n) for n in CASE_KEPT],
)
def test_double_quoted_names_are_sent_as_written(dialect: str, name: str) -> None:
    sql = physical(dialect, f"SELECT id FROM {name} WHERE id = %s", (1,))
    marker = "?" if dialect == "sqlite" else "%s"
    assert sql == f"SELECT id FROM {name} WHERE id = {marker}"


@pytest.mark.parametrize(
    "name", ["`quote `` two`", "`t`` ; DROP TABLE x; -- `", "`s``x`.t", "S.t", "`s x`.`t y`"]
)
def test_backquoted_names_are_sent_as_written(name: str) -> None:
    sql = physical("mysql", f"SELECT id FROM {name} WHERE id = %s", (1,))
    assert sql == f"SELECT id FROM {name} WHERE id = %s"


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_created_table_with_a_quote_in_its_name_keeps_it(dialect: str) -> None:
    quoted = '"a "" b"' if dialect == "postgres" else "`a `` b`"
    sql = physical(dialect, f"CREATE TABLE {quoted} (id INTEGER)")
    assert sql == f"CREATE TABLE {quoted} (id INTEGER)"


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_a_three_part_name_is_refused(dialect: str) -> None:
    with pytest.raises(tenantdb.UnsupportedSQLError, match="three parts"):
        physical(dialect, "SELECT id FROM other.s.t")
