"""Syntax errors say where the statement stops parsing, in tenantdb's words; parsing leaves
the application's logging of sqlglot alone."""

from __future__ import annotations

import logging

import pytest
import sqlglot

from tenantdb.core.sql._template import parse_template
from tenantdb.errors import ProgrammingError, SQLSyntaxError, UnsupportedSQLError


def _message(sql: str, dialect: str = "postgres") -> str:
    with pytest.raises(SQLSyntaxError) as info:
        parse_template(sql, dialect)  # type: ignore[arg-type]
    return str(info.value)


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_a_syntax_error_names_line_column_and_text_not_parser_classes(dialect: str) -> None:
    message = _message("SELEC * FROM orders", dialect)
    assert "sqlglot" not in message
    assert "<class" not in message
    assert "line 1, column 9" in message
    assert "'FROM'" in message
    assert "SELEC * FROM orders" in message


def test_the_position_is_in_the_text_as_written_with_its_placeholders() -> None:
    message = _message("SELECT a FROM t\nWHERE a = %(x)s = = 1")
    assert "line 2, column 19" in message
    assert "%(x)s" in message
    assert "tdbp" not in message
    message = _message("SELECT a FROM t WHERE a = %s AND b = ")
    assert "%s" in message
    assert "tdbp" not in message


def test_expected_tokens_and_token_errors_read_plainly() -> None:
    assert "expected ')'" in _message("SELECT * FROM t WHERE (a = 1")
    assert "expected table name" in _message("SELECT * FROM")
    assert "Token" not in _message("SELECT * FROM")
    assert "unclosed quote or comment" in _message("SELECT /* x FROM t")


def test_importing_tenantdb_leaves_the_sqlglot_logger_level_alone() -> None:
    assert logging.getLogger("sqlglot").level == logging.NOTSET


def test_only_tenantdb_parses_are_quiet(caplog: pytest.LogCaptureFixture) -> None:
    # A text sqlglot parses as a raw command logs a warning: the application's own parse
    # keeps it, tenantdb's parse of the same text does not.
    text = "VACUUM FULL orders"
    with caplog.at_level(logging.WARNING, logger="sqlglot"):
        sqlglot.parse(text, read="postgres")
        own = [r for r in caplog.records if r.name == "sqlglot"]
        caplog.clear()
        with pytest.raises(UnsupportedSQLError):
            parse_template(text, "postgres")
        ours = [r for r in caplog.records if r.name == "sqlglot"]
    assert own, "sqlglot no longer warns on this text; pick another one"
    assert ours == []


def test_text_the_parser_trips_over_is_a_clear_refusal() -> None:
    # sqlglot raised a bare TypeError here (a JSONB operator with nothing after it).
    text = "%\n?\nHAVING\nAS\n0\n''\nREPLACE\nALL\n\n\norder_id\nsleep(\nINTO\n1e9\nTABLE"
    text += "\nOFFSET\nEND\n+\npg_class\nRETURNING"
    assert "cannot parse the statement" in _message(text)


@pytest.mark.parametrize("sql", ["SELEC * FROM orders", "", "  ", "hello world", "SELECT 'a"])
def test_syntax_errors_are_programming_errors_not_refusals(sql: str) -> None:
    # PEP 249: a syntax error is a ProgrammingError; NotSupportedError (UnsupportedSQLError)
    # is kept for statements tenantdb reads and refuses on purpose.
    with pytest.raises(SQLSyntaxError) as info:
        parse_template(sql, "postgres")
    assert isinstance(info.value, ProgrammingError)
    assert not isinstance(info.value, UnsupportedSQLError)
