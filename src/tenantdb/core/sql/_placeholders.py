"""Placeholder scanning: pyformat (``%s`` / ``%(name)s``) text to parseable SQL and back.

sqlglot cannot parse ``%s`` in its mysql and sqlite dialects, so before parsing every
placeholder is replaced by a named marker ``:tdbp<n>`` (``n`` counts placeholders in text
order). ``%%`` stands for a literal ``%`` as it does for the DB-API drivers; any other ``%``
is kept as is (``a % b``, ``LIKE '50%'``). A placeholder inside a string literal or a
comment is refused: drivers would substitute into the literal, which is never what the
author meant and cannot be routed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...errors import ProgrammingError, UnsupportedSQLError

# Characters where a placeholder, literal, quoted name or comment may start, per dialect.
_SPECIAL = {
    "postgres": re.compile(r"[%'\"`/$-]"),
    "mysql": re.compile(r"[%'\"`/#-]"),
    "sqlite": re.compile(r"[%'\"`/-]"),
}

# MySQL string literals: the quote or a backslash (which escapes the next character).
_BACKSLASH_STOPS = {"'": re.compile(r"['\\]"), '"': re.compile(r'["\\]')}

MARKER_PREFIX = "tdbp"
"""Name prefix of the parse-time placeholder markers; reserved in user SQL."""


@dataclass(frozen=True, slots=True)
class ScannedSQL:
    """SQL text with placeholders replaced by ``:tdbp<n>`` markers."""

    text: str
    names: tuple[str | None, ...]
    """One entry per placeholder in text order: ``None`` for ``%s``, the name for ``%(name)s``."""

    @property
    def count(self) -> int:
        return len(self.names)

    @property
    def named(self) -> bool:
        return bool(self.names) and self.names[0] is not None


def scan(sql: str, dialect: str) -> ScannedSQL:
    """Replace pyformat placeholders in ``sql`` by parse markers.

    Raises UnsupportedSQLError for a placeholder inside a literal or comment and
    ProgrammingError when ``%s`` and ``%(name)s`` are mixed in one statement.
    """
    if MARKER_PREFIX in sql.lower() or "__tdb_" in sql.lower():
        raise UnsupportedSQLError(
            f"the SQL contains the reserved prefix {MARKER_PREFIX!r} or '__tdb_'; "
            "rename the identifier"
        )
    out: list[str] = []
    names: list[str | None] = []
    i = 0
    n = len(sql)
    backslash_escapes = dialect == "mysql"
    special = _SPECIAL[dialect]
    while i < n:
        # Jump over plain text in one step: a per-character loop costs seconds on a
        # statement of a few megabytes.
        found = special.search(sql, i)
        if found is None:
            out.append(sql[i:])
            break
        if found.start() > i:
            out.append(sql[i : found.start()])
            i = found.start()
        ch = sql[i]
        if ch == "%":
            nxt = sql[i + 1] if i + 1 < n else ""
            if nxt == "%":
                out.append("%")
                i += 2
                continue
            if nxt == "s":
                out.append(f":{MARKER_PREFIX}{len(names)} ")
                names.append(None)
                i += 2
                continue
            if nxt == "(":
                close = sql.find(")s", i + 2)
                if close == -1:
                    raise ProgrammingError(
                        f"unterminated named placeholder at offset {i}: write %(name)s"
                    )
                name = sql[i + 2 : close]
                if not name.isidentifier():
                    raise ProgrammingError(
                        f"invalid placeholder name {name!r} at offset {i}: "
                        "names must be Python identifiers"
                    )
                out.append(f":{MARKER_PREFIX}{len(names)} ")
                names.append(name)
                i = close + 2
                continue
            out.append("%")
            i += 1
            continue
        end = _skip_quoted(sql, i, dialect, backslash_escapes)
        if end != i:
            chunk = sql[i:end]
            if "%s" in chunk.replace("%%", "") or "%(" in chunk.replace("%%", ""):
                raise UnsupportedSQLError(
                    f"a placeholder sits inside a quoted literal or comment at offset {i}; "
                    "pass the whole value as a parameter instead"
                )
            out.append(chunk.replace("%%", "%"))
            i = end
            continue
        out.append(ch)
        i += 1
    if names and len({name is None for name in names}) > 1:
        raise ProgrammingError(
            "the statement mixes %s and %(name)s placeholders; use one style per statement"
        )
    return ScannedSQL("".join(out), tuple(names))


def _skip_quoted(sql: str, i: int, dialect: str, backslash_escapes: bool) -> int:
    """Return the end offset of a literal, quoted identifier or comment starting at ``i``.

    Returns ``i`` itself when nothing quoted starts there.
    """
    ch = sql[i]
    if ch in "'\"`":
        quote = ch
        stops = _BACKSLASH_STOPS.get(quote) if backslash_escapes else None
        j = i + 1
        n = len(sql)
        while j < n:
            # str.find / a compiled search skip the literal's body without a Python loop.
            if stops is None:
                j = sql.find(quote, j)
                if j == -1:
                    return n
            else:
                found = stops.search(sql, j)
                if found is None:
                    return n
                j = found.start()
                if sql[j] == "\\":
                    j += 2
                    continue
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        return n
    if sql.startswith("--", i) or (ch == "#" and dialect == "mysql"):
        end = sql.find("\n", i)
        return len(sql) if end == -1 else end
    if sql.startswith("/*", i):
        end = sql.find("*/", i + 2)
        return len(sql) if end == -1 else end + 2
    if ch == "$" and dialect == "postgres":
        tag_end = sql.find("$", i + 1)
        tag = sql[i : tag_end + 1] if tag_end != -1 else ""
        if tag and (tag == "$$" or tag[1:-1].isidentifier()):
            end = sql.find(tag, tag_end + 1)
            return len(sql) if end == -1 else end + len(tag)
    return i


def bind_values(
    names: Sequence[str | None], params: Sequence[object] | Mapping[str, object] | None
) -> tuple[object, ...]:
    """The value of every placeholder occurrence, in text order: ``names`` has one entry
    per occurrence, ``None`` for ``%s`` and the name for ``%(name)s`` (``ScannedSQL.names``).

    The one binding rule for routed and physical statements. Raises ProgrammingError when
    ``params`` does not match the placeholders.
    """
    count = len(names)
    kind = type(params)
    if (kind is tuple or kind is list) and count and names[0] is None:
        # The common case, checked without the (slow) ABC isinstance tests below.
        if len(params) == count:  # type: ignore[arg-type]
            return tuple(params)  # type: ignore[arg-type]
        raise ProgrammingError(
            f"the statement has {count} placeholders but {len(params)} parameters were given"  # type: ignore[arg-type]
        )
    if count == 0:
        if params:
            raise ProgrammingError(
                f"the statement has no placeholders but {len(params)} parameters were given"
            )
        return ()
    if names[0] is not None:
        if not isinstance(params, Mapping):
            raise ProgrammingError(
                "the statement uses %(name)s placeholders; pass the parameters as a mapping"
            )
        try:
            return tuple(params[name] for name in names if name is not None)
        except KeyError as exc:
            raise ProgrammingError(
                f"parameter {exc.args[0]!r} is missing; the statement needs "
                + ", ".join(sorted({n for n in names if n is not None}))
            ) from None
    if params is None or isinstance(params, str | bytes | Mapping):
        raise ProgrammingError(
            f"the statement has {count} %s placeholders; pass a sequence of {count} parameters"
        )
    values = tuple(params)
    if len(values) != count:
        raise ProgrammingError(
            f"the statement has {count} placeholders but {len(values)} parameters were given"
        )
    return values


def params_from_json(text: str) -> list[object] | dict[str, object]:
    """Statement parameters written as JSON (``explain``'s command line and the console's
    explain box): an array for ``%s`` placeholders, an object for ``%(name)s`` ones.
    Raises ValueError saying what to write instead."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f'the parameters are not valid JSON ({exc.msg}); write an array like [1, "a"]'
        ) from None
    if not isinstance(value, list | dict):
        raise ValueError("the parameters must be a JSON array (for %s) or object (for %(name)s)")
    return value
