"""Script splitting: a SQL file of several statements into one text per statement."""

from __future__ import annotations

import sqlglot
from sqlglot import TokenType
from sqlglot.errors import TokenError

from ...errors import SQLSyntaxError
from ._dialects import sqlglot_dialect


def split_statements(text: str, dialect: str) -> list[str]:
    """Split a SQL script into its statements, each exactly as written in ``text``.

    Statements end at a semicolon that sqlglot's tokenizer for ``dialect`` reads as a
    statement separator, so a semicolon inside a string, a quoted identifier, a comment or a
    PostgreSQL dollar-quoted body does not split. Each returned text runs from the first
    token of the statement to its last one (comments before the first token and the closing
    semicolon are not part of it); empty and comment-only statements are dropped.

    Not understood: client-side delimiter changes (``DELIMITER //`` of the mysql client) and
    ``BEGIN ... END`` trigger bodies that contain semicolons.

    Raises SQLSyntaxError when the text cannot be tokenized (an unterminated string or
    comment), naming the line.
    """
    try:
        tokens = sqlglot.tokenize(text, read=sqlglot_dialect(dialect))
    except TokenError as exc:
        raise SQLSyntaxError(
            f"cannot read the script as {dialect} SQL ({_first_line(str(exc))}); "
            "look for an unterminated string, quoted name or comment"
        ) from None
    statements: list[str] = []
    start: int | None = None
    end = 0
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                statements.append(text[start:end])
            start = None
            continue
        if start is None:
            start = token.start
        end = token.end + 1
    if start is not None:
        statements.append(text[start:end])
    return statements


def _first_line(message: str) -> str:
    stripped = message.strip()
    return stripped.splitlines()[0] if stripped else "tokenizer error"


__all__ = ["split_statements"]
