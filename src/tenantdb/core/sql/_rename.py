"""Renaming the object a CREATE TABLE / CREATE INDEX statement makes, keeping the rest as is.

Used to copy one physical table's definition (read back from the database catalog) to a
new physical table: the statement's own text is kept and only the names are replaced at
the positions sqlglot's tokenizer reports, so column types, constraints and options reach
the database exactly as the catalog wrote them.
"""

from __future__ import annotations

import sqlglot
from sqlglot import Token, TokenType
from sqlglot.errors import TokenError

from ...errors import SQLSyntaxError, UnsupportedSQLError
from ._dialects import sqlglot_dialect

# Words that may sit between CREATE and the name; anything else there is not understood.
_TABLE_PREFIX = frozenset({"TEMP", "TEMPORARY", "UNLOGGED", "IF", "NOT", "EXISTS"})
_INDEX_PREFIX = frozenset({"UNIQUE", "FULLTEXT", "SPATIAL", "CONCURRENTLY", "IF", "NOT", "EXISTS"})


def quote_name(name: str, dialect: str) -> str:
    """``name`` as a quoted identifier of ``dialect`` (exact spelling, case kept)."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def rename_created(sql: str, dialect: str, *, table: str, index: str | None = None) -> str:
    """Return ``sql`` with the created table (or the index and its table) renamed.

    ``sql`` is one ``CREATE [TEMP] TABLE [IF NOT EXISTS] [schema.]name ...`` or
    ``CREATE [UNIQUE] INDEX [IF NOT EXISTS] [schema.]name ON [ONLY] [schema.]table ...``
    statement. For CREATE TABLE the table name becomes ``table``; for CREATE INDEX the
    index name becomes ``index`` and the table after ON becomes ``table``. A schema
    qualifier is kept. New names are always quoted, so they keep their exact spelling.

    Raises SQLSyntaxError for text that cannot be tokenized, UnsupportedSQLError for text
    that is not such a statement.
    """
    try:
        tokens = sqlglot.tokenize(sql, read=sqlglot_dialect(dialect))
    except TokenError as exc:
        raise SQLSyntaxError(f"cannot read the definition {sql[:80]!r}: {exc}") from None
    words = [_word(t) for t in tokens]
    if not words or words[0] != "CREATE":
        raise _not_understood(sql)
    position = 1
    while position < len(words) and words[position] in _TABLE_PREFIX | _INDEX_PREFIX:
        position += 1
    if position >= len(words) or words[position] not in ("TABLE", "INDEX"):
        raise _not_understood(sql)
    kind = words[position]
    position += 1
    while position < len(words) and words[position] in ("IF", "NOT", "EXISTS"):
        position += 1
    name_token, position = _qualified_name_end(tokens, position, sql)
    replacements: list[tuple[Token, str]] = []
    if kind == "TABLE":
        replacements.append((name_token, table))
    else:
        if index is None:
            raise UnsupportedSQLError("renaming a CREATE INDEX statement needs the new index name")
        replacements.append((name_token, index))
        if position >= len(words) or words[position] != "ON":
            raise _not_understood(sql)
        position += 1
        if position < len(words) and words[position] == "ONLY":
            position += 1
        table_token, position = _qualified_name_end(tokens, position, sql)
        replacements.append((table_token, table))
    out: list[str] = []
    cursor = 0
    for token, new_name in replacements:
        out.append(sql[cursor : token.start])
        out.append(quote_name(new_name, dialect))
        cursor = token.end + 1
    out.append(sql[cursor:])
    return "".join(out)


def _word(token: Token) -> str | None:
    """The upper-cased keyword a token spells, or None for a quoted identifier or a string."""
    if token.token_type in (TokenType.IDENTIFIER, TokenType.STRING):
        return None
    return token.text.upper()


def _qualified_name_end(tokens: list[Token], position: int, sql: str) -> tuple[Token, int]:
    """The last part of the dotted name starting at ``position`` and the index after it."""
    if position >= len(tokens) or not _is_name(tokens[position]):
        raise _not_understood(sql)
    last = tokens[position]
    position += 1
    while (
        position + 1 < len(tokens)
        and tokens[position].token_type == TokenType.DOT
        and _is_name(tokens[position + 1])
    ):
        last = tokens[position + 1]
        position += 2
    return last, position


def _is_name(token: Token) -> bool:
    return token.token_type not in (
        TokenType.DOT,
        TokenType.L_PAREN,
        TokenType.R_PAREN,
        TokenType.COMMA,
        TokenType.SEMICOLON,
        TokenType.STRING,
        TokenType.ON,
    )


def _not_understood(sql: str) -> UnsupportedSQLError:
    return UnsupportedSQLError(
        f"cannot rename the definition {sql[:80]!r}: expected CREATE TABLE name ... or "
        "CREATE INDEX name ON table ..."
    )


__all__ = ["quote_name", "rename_created"]
