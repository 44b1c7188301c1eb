"""Splitting typed or piped SQL into statements: each ends at a ``;`` outside quotes and
comments. Pure text handling for ``tenantdb shell``; nothing here parses SQL."""

from __future__ import annotations

import re
from typing import NamedTuple

_DOLLAR_TAG = re.compile(r"\$[A-Za-z_]?[A-Za-z0-9_]*\$")


class Split(NamedTuple):
    statements: list[str]
    """Complete statements, without their semicolon and leading comments, stripped."""
    rest: str
    """The text after the last statement's semicolon."""
    pending: bool
    """Whether ``rest`` starts a statement (code, or an unterminated quote or comment)."""


def split_complete(text: str) -> Split:
    """Split ``text`` into complete statements and the incomplete rest.

    A statement ends at a semicolon that is not inside a '…' string, a "…" or `…` quoted
    name, a ``--`` or ``/* */`` comment, or a PostgreSQL ``$tag$…$tag$`` body. Statements
    holding only comments and blanks are dropped.
    """
    statements: list[str] = []
    start = 0
    first: int | None = None  # where the current statement's code begins
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        end: int
        if char in "'\"`":
            end = text.find(char, i + 1)
            # A doubled quote inside a quoted run is an escaped quote: keep scanning.
            while end != -1 and text.startswith(char, end + 1):
                end = text.find(char, end + 2)
            first = i if first is None else first
            if end == -1:
                return Split(statements, text[start:], True)
            i = end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            if end == -1:
                return Split(statements, text[start:], first is not None)
            i = end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                return Split(statements, text[start:], True)
            i = end + 2
        elif char == "$" and (tag := _DOLLAR_TAG.match(text, i)) is not None:
            first = i if first is None else first
            end = text.find(tag.group(), tag.end())
            if end == -1:
                return Split(statements, text[start:], True)
            i = end + len(tag.group())
        elif char == ";":
            if first is not None:
                statements.append(text[first:i].strip())
            start, first, i = i + 1, None, i + 1
        else:
            if first is None and not char.isspace():
                first = i
            i += 1
    return Split(statements, text[start:], first is not None)


class StatementBuffer:
    """Collects input lines; ``feed`` returns the statements each line completes."""

    __slots__ = ("_pending", "_text")

    def __init__(self) -> None:
        self._text = ""
        self._pending = False

    def feed(self, line: str) -> list[str]:
        split = split_complete(self._text + line + "\n")
        self._text, self._pending = split.rest, split.pending
        return split.statements

    @property
    def pending(self) -> bool:
        """True while an unfinished statement waits for more lines."""
        return self._pending

    def take_rest(self) -> str | None:
        """The unfinished statement (at the end of the input), or None; empties the buffer."""
        rest, pending = self._text, self._pending
        self.clear()
        if not pending:
            return None
        statements = split_complete(rest + "\n;").statements
        return statements[0] if statements else rest.strip()

    def clear(self) -> None:
        self._text, self._pending = "", False

    def __repr__(self) -> str:
        return f"<StatementBuffer {len(self._text)} chars pending>"
