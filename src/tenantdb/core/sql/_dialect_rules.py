"""Syntax the cluster's database rejects, refused even though sqlglot reads it.

sqlglot's dialects are lenient: its PostgreSQL reader takes MySQL's ``LIMIT 2, 3``, its
SQLite reader takes ``x::date`` and ``FETCH FIRST``. tenantdb would then run such a
statement with sqlglot's meaning, whenever it regenerates the text (tenant sessions, merge
variants) or routes on what sqlglot understood, while the database itself would have
refused it. So every construct the backend rejects is refused here, naming the construct,
the dialect and what to write instead. Each rule is checked against the real server in
tests/integration/test_dialect_rules.py (the server must reject the spelling).

The rules look at the dialect's tokens, because the trees of the rejected spelling and of
the accepted one are the same (``LIMIT 2, 3`` and ``LIMIT 3 OFFSET 2``). A cheap text
search first keeps statements without any trigger word from being tokenized again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from ...errors import UnsupportedSQLError
from ._dialects import sqlglot_dialect

_TRIGGERS = {
    "postgres": re.compile(r"\blimit\b", re.IGNORECASE),
    "mysql": re.compile(r"::|\bilike\b|\bdistinct\b|\brows?\b|\blimit\s+all\b", re.IGNORECASE),
    "sqlite": re.compile(r"::|\bfetch\b|\brows?\b|\bilike\b|\blimit\s+all\b", re.IGNORECASE),
}

_NAMES = {"postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "sqlite": "SQLite"}

# Tokens that end a LIMIT / OFFSET clause at its own nesting level.
_CLAUSE_END = frozenset(
    {
        TokenType.OFFSET,
        TokenType.FETCH,
        TokenType.FOR,
        TokenType.UNION,
        TokenType.INTERSECT,
        TokenType.EXCEPT,
        TokenType.SEMICOLON,
        TokenType.LIMIT,
    }
)


def check_dialect(text: str, dialect: str, tokens: Sequence[Token] | None = None) -> None:
    """Raise UnsupportedSQLError for syntax the ``dialect``'s database would reject.

    ``text`` is the statement after placeholder scanning (placeholders are ``:tdbp<n>``);
    ``tokens``, its tokens when the caller has them (the parse made them).
    """
    trigger = _TRIGGERS.get(dialect)
    if trigger is None or trigger.search(text) is None:
        return
    if tokens is None:
        try:
            tokens = sqlglot_dialect(dialect).tokenize(text)
        except TokenError:
            return  # the parser has accepted the text; nothing to add here
    name = _NAMES[dialect]
    for i, token in enumerate(tokens):
        kind = token.token_type
        if kind == TokenType.DCOLON and dialect != "postgres":
            _refuse("the :: cast", name, "write CAST(value AS type)")
        if kind == TokenType.ILIKE and dialect != "postgres":
            _refuse(
                "ILIKE",
                name,
                "write LIKE (case-insensitive under the default collation)"
                if dialect == "mysql"
                else "write LIKE (case-insensitive for ASCII letters in SQLite)",
            )
        if kind == TokenType.FETCH and dialect == "sqlite":
            _refuse("FETCH FIRST/NEXT ... ROWS", name, "write LIMIT n")
        if kind == TokenType.IS and dialect == "mysql" and _distinct_from(tokens, i + 1):
            _refuse(
                "IS [NOT] DISTINCT FROM",
                name,
                "write a <=> b for IS NOT DISTINCT FROM, and NOT (a <=> b) for IS DISTINCT FROM",
            )
        if kind == TokenType.LIMIT:
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                dialect != "postgres"
                and following is not None
                and following.token_type == TokenType.ALL
            ):
                _refuse("LIMIT ALL", name, "leave the LIMIT out")
            if dialect == "postgres" and _comma_in_clause(tokens, i + 1):
                _refuse(
                    "LIMIT offset, count", name, "write LIMIT count OFFSET offset (the order flips)"
                )
        if kind == TokenType.OFFSET and _rows_in_clause(tokens, i + 1):
            if dialect == "sqlite":
                _refuse("OFFSET ... ROWS", name, "write LIMIT n OFFSET m, without ROWS")
            if dialect == "mysql" and _limit_before(tokens, i):
                _refuse(
                    "LIMIT ... OFFSET ... ROWS",
                    name,
                    "write LIMIT n OFFSET m, without ROWS",
                )


def _refuse(construct: str, dialect_name: str, instead: str) -> None:
    raise UnsupportedSQLError(
        f"{construct} is not {dialect_name} syntax (the database would reject it); {instead}"
    )


def _distinct_from(tokens: Sequence[Token], i: int) -> bool:
    if i < len(tokens) and tokens[i].token_type == TokenType.NOT:
        i += 1
    return (
        i + 1 < len(tokens)
        and tokens[i].token_type == TokenType.DISTINCT
        and tokens[i + 1].token_type == TokenType.FROM
    )


def _clause(tokens: Sequence[Token], start: int) -> list[Token]:
    """The tokens of a LIMIT/OFFSET clause at its own level (nested parentheses skipped)."""
    depth = 0
    found: list[Token] = []
    for token in tokens[start:]:
        kind = token.token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                break
        elif depth == 0:
            if kind in _CLAUSE_END:
                break
            found.append(token)
    return found


def _comma_in_clause(tokens: Sequence[Token], start: int) -> bool:
    return any(t.token_type == TokenType.COMMA for t in _clause(tokens, start))


def _rows_in_clause(tokens: Sequence[Token], start: int) -> bool:
    clause = _clause(tokens, start)
    # ``OFFSET n ROWS``: ROW/ROWS right after the offset's expression.
    return len(clause) >= 2 and clause[-1].token_type in (TokenType.ROWS, TokenType.ROW)


def _limit_before(tokens: Sequence[Token], offset_at: int) -> bool:
    """Whether a LIMIT of the same level comes before the OFFSET at ``offset_at``."""
    depth = 0
    for token in reversed(tokens[:offset_at]):
        kind = token.token_type
        if kind == TokenType.R_PAREN:
            depth += 1
        elif kind == TokenType.L_PAREN:
            depth -= 1
            if depth < 0:
                return False
        elif depth == 0 and kind == TokenType.LIMIT:
            return True
        elif depth == 0 and kind in (TokenType.SELECT, TokenType.UNION):
            return False
    return False


__all__ = ["check_dialect"]
