from __future__ import annotations

import pytest

from tenantdb import SQLSyntaxError
from tenantdb.core.sql import split_statements

DIALECTS = ["postgres", "mysql", "sqlite"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_statements_keep_their_own_text(dialect: str) -> None:
    script = "CREATE TABLE a (x INT);\nCREATE  INDEX ix ON a (x)  ;\n\nDROP TABLE b"
    assert split_statements(script, dialect) == [
        "CREATE TABLE a (x INT)",
        "CREATE  INDEX ix ON a (x)",
        "DROP TABLE b",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolons_inside_strings_and_comments_do_not_split(dialect: str) -> None:
    script = (
        "CREATE TABLE a (x TEXT DEFAULT 'a;b'); -- one; two\n"
        "/* three; four */ CREATE TABLE b (y INT);"
    )
    assert split_statements(script, dialect) == [
        "CREATE TABLE a (x TEXT DEFAULT 'a;b')",
        "CREATE TABLE b (y INT)",
    ]


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
def test_semicolon_in_a_double_quoted_identifier(dialect: str) -> None:
    assert split_statements('CREATE TABLE "a;b" (x INT); SELECT 1', dialect) == [
        'CREATE TABLE "a;b" (x INT)',
        "SELECT 1",
    ]


def test_semicolon_in_a_backquoted_identifier_mysql() -> None:
    assert split_statements("CREATE TABLE `a;b` (x INT); SELECT 1", "mysql") == [
        "CREATE TABLE `a;b` (x INT)",
        "SELECT 1",
    ]


def test_postgres_dollar_quoted_body_keeps_its_semicolons() -> None:
    script = "SELECT $$a; b$$; SELECT $tag$c; d$tag$;"
    assert split_statements(script, "postgres") == ["SELECT $$a; b$$", "SELECT $tag$c; d$tag$"]


def test_mysql_hash_comments_and_backslash_escapes() -> None:
    script = "SELECT 'it\\'s; here'; # a; comment\nSELECT 2"
    assert split_statements(script, "mysql") == ["SELECT 'it\\'s; here'", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_empty_and_comment_only_statements_are_dropped(dialect: str) -> None:
    script = ";;\n-- nothing here;\n;/* nor; here */;\nSELECT 1;;"
    assert split_statements(script, dialect) == ["SELECT 1"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_blank_script_has_no_statements(dialect: str) -> None:
    assert split_statements("", dialect) == []
    assert split_statements("  \n -- only a comment\n", dialect) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_last_statement_without_semicolon_and_trailing_comment(dialect: str) -> None:
    assert split_statements("SELECT 1; SELECT 2 -- done", dialect) == ["SELECT 1", "SELECT 2"]


def test_doubled_quotes_inside_a_string() -> None:
    assert split_statements("SELECT 'a'';b'; SELECT 2", "sqlite") == ["SELECT 'a'';b'", "SELECT 2"]


def test_percent_signs_are_kept_as_written() -> None:
    assert split_statements("CREATE TABLE a (x TEXT DEFAULT '50%');", "postgres") == [
        "CREATE TABLE a (x TEXT DEFAULT '50%')"
    ]


def test_unterminated_string_is_a_clear_error() -> None:
    with pytest.raises(SQLSyntaxError, match="unterminated string"):
        split_statements("CREATE TABLE a (x TEXT DEFAULT 'oops);", "sqlite")
