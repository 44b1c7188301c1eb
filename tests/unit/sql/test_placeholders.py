from __future__ import annotations

import pytest

from tenantdb import ProgrammingError, UnsupportedSQLError
from tenantdb.core.sql import scan


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite"])
def test_positional_placeholders_become_numbered_markers(dialect: str) -> None:
    scanned = scan("SELECT * FROM t WHERE a = %s AND b IN (%s, %s)", dialect)
    assert scanned.text == "SELECT * FROM t WHERE a = :tdbp0  AND b IN (:tdbp1 , :tdbp2 )"
    assert scanned.names == (None, None, None)
    assert not scanned.named


def test_named_placeholders_keep_their_names_per_occurrence() -> None:
    scanned = scan("SELECT %(a)s, %(b)s, %(a)s", "postgres")
    assert scanned.names == ("a", "b", "a")
    assert scanned.named
    assert scanned.count == 3


def test_double_percent_is_a_literal_percent_everywhere() -> None:
    scanned = scan("SELECT a %% 2 FROM t WHERE b LIKE '50%%' AND c = %s", "mysql")
    assert scanned.text == "SELECT a % 2 FROM t WHERE b LIKE '50%' AND c = :tdbp0 "


def test_lone_percent_is_kept() -> None:
    assert scan("SELECT 5 % 2", "postgres").text == "SELECT 5 % 2"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM t WHERE a = '%s'",
        "SELECT * FROM t -- %s\nWHERE a = 1",
        "SELECT * FROM t /* %(x)s */",
    ],
)
def test_placeholder_inside_literal_or_comment_is_refused(sql: str) -> None:
    with pytest.raises(UnsupportedSQLError, match="inside a quoted literal or comment"):
        scan(sql, "postgres")


def test_percent_s_inside_postgres_dollar_quotes_is_refused() -> None:
    with pytest.raises(UnsupportedSQLError):
        scan("SELECT $$ %s $$", "postgres")


def test_mysql_backslash_escaped_quote_does_not_end_the_literal() -> None:
    scanned = scan(r"SELECT 'it\'s %%' , %s", "mysql")
    assert scanned.count == 1
    assert scanned.text.startswith(r"SELECT 'it\'s %'")


def test_mixing_styles_is_refused() -> None:
    with pytest.raises(ProgrammingError, match="mixes"):
        scan("SELECT %s, %(a)s", "postgres")


def test_bad_placeholder_names_are_refused() -> None:
    with pytest.raises(ProgrammingError, match="invalid placeholder name"):
        scan("SELECT %(a-b)s", "postgres")
    with pytest.raises(ProgrammingError, match="unterminated"):
        scan("SELECT %(abc", "postgres")


def test_reserved_marker_prefix_is_refused() -> None:
    with pytest.raises(UnsupportedSQLError, match="reserved"):
        scan("SELECT tdbp0 FROM t", "postgres")
