"""The row count a write reports: logical rows, whatever number of physical statements ran.

A statement the router spread over several targets reports what the application would see
from one database holding the logical table:

- a write over shards (an admin UPDATE or DELETE of a sharded table, a multi-row INSERT
  split by key) touched disjoint rows, so the shards' counts add up;
- a write to a ``broadcast`` table ran once per copy, and every copy holds the same rows,
  so one copy's count is the answer. The copies must agree: copies that changed different
  numbers of rows had drifted apart before the statement (or the statement made them
  drift), and reporting either count would hide it. That raises IntegrityError; inside the
  implicit transaction of a statement outside ``transaction()`` every copy is rolled back;
- DDL reports -1, as PEP 249 asks when there is no row count (PyMySQL says 0 for DDL,
  sqlite3 and psycopg -1: tenantdb says -1 everywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ...errors import IntegrityError
from ..sql import StatementKind

NO_ROWCOUNT = -1
"""PEP 249's row count for a statement that has none (DDL)."""


def write_rowcount(
    kind: StatementKind,
    counts: Mapping[str, int],
    *,
    copies: bool,
    tables: Iterable[str] = (),
) -> int:
    """The logical row count of a write whose datasources reported ``counts``
    (datasource → rows, each already summed over that datasource's statements).

    ``copies``: every target wrote a copy of the same broadcast rows (``tables`` names the
    logical tables, for the message). Raises IntegrityError when copies disagree.
    """
    if kind == "ddl":
        return NO_ROWCOUNT
    if not copies:
        return sum(max(count, 0) for count in counts.values())
    distinct = sorted({max(count, 0) for count in counts.values()})
    if len(distinct) > 1:
        per_copy = ", ".join(f"{name}: {counts[name]}" for name in sorted(counts))
        names = ", ".join(sorted(set(tables))) or "the broadcast table"
        raise IntegrityError(
            f"the copies of {names} disagree: this {kind.upper()} changed a different number "
            f"of rows in each ({per_copy}), so they held different rows; roll back (a "
            "statement outside transaction() has been rolled back already), make the copies "
            "equal again, then retry"
        )
    return distinct[0] if distinct else 0


__all__ = ["NO_ROWCOUNT", "write_rowcount"]
