"""The shell's statement splitter: semicolons end statements only outside quotes/comments."""

from __future__ import annotations

import pytest

from tenantdb.cli._statements import StatementBuffer, split_complete


@pytest.mark.parametrize(
    ("text", "statements", "rest", "pending"),
    [
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"], "", False),
        ("SELECT 'a;b'; x", ["SELECT 'a;b'"], " x", True),
        ("SELECT 'it''s; fine';", ["SELECT 'it''s; fine'"], "", False),
        ('SELECT "we;ird" FROM t;', ['SELECT "we;ird" FROM t'], "", False),
        ("SELECT `a;b` FROM t;", ["SELECT `a;b` FROM t"], "", False),
        ("SELECT 1 -- one; two\n;", ["SELECT 1 -- one; two"], "", False),
        ("-- lead;\nSELECT /* ; */ 3;", ["SELECT /* ; */ 3"], "", False),
        ("SELECT $$a;b$$; SELECT $f$ ; $f$;", ["SELECT $$a;b$$", "SELECT $f$ ; $f$"], "", False),
        ("; -- nothing\n ;", [], "", False),
        ("-- just a comment\n", [], "-- just a comment\n", False),
        ("SELECT 'open", [], "SELECT 'open", True),
        ("/* open", [], "/* open", True),
        ("SELECT $$ open", [], "SELECT $$ open", True),
        ("SELECT 1 -- no end", [], "SELECT 1 -- no end", True),
    ],
)
def test_split_complete(text: str, statements: list[str], rest: str, pending: bool) -> None:
    split = split_complete(text)
    assert split.statements == statements
    assert split.rest == rest
    assert split.pending is pending


def test_buffer_joins_lines_until_a_semicolon() -> None:
    buffer = StatementBuffer()
    assert buffer.feed("SELECT id,") == []
    assert buffer.pending
    assert buffer.feed("  'x;y' AS t") == []
    assert buffer.feed("FROM t; SELECT 2") == ["SELECT id,\n  'x;y' AS t\nFROM t"]
    assert buffer.pending
    assert buffer.take_rest() == "SELECT 2"
    assert not buffer.pending
    assert buffer.take_rest() is None
    buffer.feed("SELECT 3 -- trailing comment")
    assert buffer.take_rest() == "SELECT 3 -- trailing comment"
    buffer.feed("SELECT 'never")
    buffer.clear()
    assert not buffer.pending
    assert buffer.feed("SELECT 4;") == ["SELECT 4"]
