"""Physical statements: SQL sent to one database as its author wrote it, with no routing.

Admin jobs (DDL, catalog lookups, placement checks) write SQL against physical tables in
the same pyformat style as every other statement (``%s`` / ``%(name)s``, ``%%`` for a
literal ``%``). The text is not parsed: placeholders are found by the same scanner the
router uses, and the driver's placeholders are spliced in exactly as the router renders
them, so the database receives the author's text with only the placeholders replaced.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ._placeholders import MARKER_PREFIX, bind_values, scan
from ._render import PLACEHOLDER, SlotKind, splice_text
from ._template import Dialect

# scan() writes each marker with one space after it; the space is its own, not the author's.
_MARKER = re.compile(rf":{MARKER_PREFIX}(\d+) ")


@dataclass(frozen=True, slots=True)
class PhysicalStatement:
    """One statement in the driver's own placeholder style, and what its placeholders need."""

    text: str
    """What the driver receives: ``?`` for SQLite, ``%s`` elsewhere (literal ``%`` doubled)."""
    names: tuple[str | None, ...]
    """One entry per placeholder in text order: ``None`` for ``%s``, the name for ``%(name)s``."""

    def values(self, params: Sequence[object] | Mapping[str, object] | None) -> tuple[object, ...]:
        """The value of each placeholder in text order (``bind_values``: the router's rule).

        Raises ProgrammingError when ``params`` does not fit the placeholders: a sequence
        of the right length for ``%s``, a mapping with every name for ``%(name)s``.
        """
        return bind_values(self.names, params)


# Memoized: admin jobs send the same texts again and again (a move's chunk upsert has
# thousands of placeholders, and scanning it cost more than running it).
@functools.lru_cache(maxsize=256)
def physical_statement(sql: str, dialect: Dialect) -> PhysicalStatement:
    """``sql`` (pyformat) in ``dialect``'s driver placeholder style; no parse, no rewrite.

    Raises UnsupportedSQLError for a placeholder inside a literal or comment (and for the
    reserved ``tdbp`` / ``__tdb_`` prefixes) and ProgrammingError for malformed or mixed
    placeholders, as ``execute`` does.
    """
    scanned = scan(sql, dialect)
    param: SlotKind = "param"
    spans = [
        (match.start(), match.end(), param, int(match.group(1)))
        for match in _MARKER.finditer(scanned.text)
    ]
    rendered = splice_text(scanned.text, spans, dialect)
    return PhysicalStatement(PLACEHOLDER[dialect].join(rendered.pieces), scanned.names)


__all__ = ["PhysicalStatement", "physical_statement"]
