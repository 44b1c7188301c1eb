"""physical_statement: pyformat SQL in the driver's placeholder style, text otherwise as written."""

from __future__ import annotations

import pytest

from tenantdb import ProgrammingError, UnsupportedSQLError
from tenantdb.core.sql import physical_statement

SQL = "SELECT  a % 2 FROM t  WHERE b LIKE '50%%' AND c = %s AND d IN (%s,%s)"


def test_sqlite_gets_question_marks_and_single_percents() -> None:
    statement = physical_statement(SQL, "sqlite")
    assert statement.text == "SELECT  a % 2 FROM t  WHERE b LIKE '50%' AND c = ? AND d IN (?,?)"
    assert statement.values((1, 2, 3)) == (1, 2, 3)


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_percent_drivers_get_every_literal_percent_doubled(dialect: str) -> None:
    statement = physical_statement(SQL, dialect)  # type: ignore[arg-type]
    assert statement.text == (
        "SELECT  a %% 2 FROM t  WHERE b LIKE '50%%' AND c = %s AND d IN (%s,%s)"
    )


def test_text_that_sqlglot_cannot_parse_passes_unchanged() -> None:
    sql = "SELECT 1 FROM t WHERE t.relnamespace = current_schema()::regnamespace AND x = %s"
    assert physical_statement(sql, "postgres").text == sql
    show = "SHOW CREATE TABLE `events_202612`"
    assert physical_statement(show, "mysql").text == show


def test_named_placeholders_take_a_mapping_per_occurrence() -> None:
    statement = physical_statement("SELECT %(a)s, %(b)s, %(a)s", "sqlite")
    assert statement.text == "SELECT ?, ?, ?"
    assert statement.values({"a": 1, "b": 2}) == (1, 2, 1)
    with pytest.raises(ProgrammingError, match="'b' is missing"):
        statement.values({"a": 1})
    with pytest.raises(ProgrammingError, match="as a mapping"):
        statement.values((1, 2, 1))


def test_positional_values_must_match_the_placeholders() -> None:
    statement = physical_statement("SELECT %s, %s", "postgres")
    assert statement.values([1, 2]) == (1, 2)
    with pytest.raises(ProgrammingError, match="2 placeholders but 3"):
        statement.values((1, 2, 3))
    with pytest.raises(ProgrammingError, match="sequence of 2"):
        statement.values("ab")
    assert physical_statement("SELECT 1", "mysql").values(None) == ()


def test_a_placeholder_inside_a_literal_is_refused_as_execute_refuses_it() -> None:
    with pytest.raises(UnsupportedSQLError, match="inside a quoted literal"):
        physical_statement("SELECT 1 WHERE a = '%s'", "sqlite")
