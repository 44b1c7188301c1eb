"""Chunk checksums: the SQL each backend computes one with, and SQLite's own function.

A chunk's summary is ``(row count, checksum)``, computed inside the database over the rows
of one primary-key range, so only two numbers cross the network per chunk and copy. The
checksum is the exact sum of a 64-bit hash of every row's canonical text: a sum does not
depend on the order rows are read in, and an exact (NUMERIC / DECIMAL / Python int) sum
never overflows.

- PostgreSQL: the first 64 bits of ``md5(ROW(c1, c2, ...)::text)``. A record's text
  output quotes every value that needs it and writes NULL as nothing, so NULL and ``''``
  differ (``(,x)`` against ``("",x)``).
- MySQL/MariaDB: the first 64 bits of ``MD5(CONCAT_WS(',', QUOTE(c1), QUOTE(c2), ...))``;
  ``QUOTE`` writes NULL as the bare word ``NULL`` and every value quoted and escaped, so
  NULL, ``''`` and ``'NULL'`` differ, and so do values that would run together across
  the separator. (``CONCAT_WS`` alone skips NULLs, which would make ``(NULL, 'a')`` and
  ``('a', NULL)`` equal; ``GROUP_CONCAT`` is cut at ``group_concat_max_len``.)
- SQLite: the aggregate ``tenantdb_row_hash_sum(c1, c2, ...)``, registered on every
  connection tenantdb's SQLite driver opens (``RowHashSum``): BLAKE2b-64 of each row's
  typed encoding (integer, real, text and blob values are told apart).

Collision odds: a changed chunk goes unnoticed only when its row count is unchanged and the
sum of its rows' 64-bit hashes comes out the same: about 2^-64 per changed chunk with
MD5's (or BLAKE2b's) bits taken as random, and nobody is choosing rows to collide. A
checksum difference is never reported by itself: the rows of a differing chunk are then
compared one by one as typed values (``canonical``), which is what the report counts, so
a representation difference (a column typed ``NUMERIC(10,2)`` on one copy and
``NUMERIC(12,4)`` on the other) costs a row comparison, never a false mismatch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

ROW_HASH_SUM = "tenantdb_row_hash_sum"
"""The name of the SQLite aggregate ``RowHashSum`` is registered under."""


def checksum_select(dialect: str, columns: Sequence[str]) -> str:
    """The select list ``count, checksum`` of one chunk in ``dialect``, over ``columns``
    (already quoted). The checksum comes back as text on every backend (compare it as
    text); it is ``'0'`` for an empty chunk."""
    if not columns:
        raise ValueError("a checksum needs at least one column")
    listed = ", ".join(columns)
    if dialect == "postgres":
        row_hash = f"('x' || left(md5(ROW({listed})::text), 16))::bit(64)::bigint"
        return f"count(*), coalesce(sum({row_hash}), 0)::text"
    if dialect == "mysql":
        quoted = ", ".join(f"QUOTE({column})" for column in columns)
        row_hash = f"CAST(CONV(LEFT(MD5(CONCAT_WS(',', {quoted})), 16), 16, 10) AS UNSIGNED)"
        return f"COUNT(*), CAST(COALESCE(SUM({row_hash}), 0) AS CHAR)"
    if dialect == "sqlite":
        return f"count(*), coalesce({ROW_HASH_SUM}({listed}), '0')"
    raise ValueError(f"no checksum for dialect {dialect!r}; use postgres, mysql or sqlite")


def row_hash(values: Sequence[object]) -> int:
    """The 64-bit hash of one row as SQLite hands it over (None, int, float, str, bytes).

    Every value is written as a type tag, its length and its bytes, so values cannot run
    together and ``1``, ``1.0``, ``'1'`` and ``x'31'`` all differ.
    """
    digest = hashlib.blake2b(digest_size=8)
    for value in values:
        if value is None:
            digest.update(b"n;")
            continue
        if isinstance(value, int):
            tag, payload = b"i", str(value).encode("ascii")
        elif isinstance(value, float):
            tag, payload = b"f", value.hex().encode("ascii")
        elif isinstance(value, str):
            tag, payload = b"s", value.encode("utf-8", "surrogatepass")
        elif isinstance(value, bytes | bytearray | memoryview):
            tag, payload = b"b", bytes(value)
        else:
            raise TypeError(f"no row hash for a value of type {type(value).__name__}")
        digest.update(tag + str(len(payload)).encode("ascii") + b":" + payload)
    return int.from_bytes(digest.digest(), "big")


class RowHashSum:
    """SQLite aggregate: the sum of ``row_hash`` over the rows of a group, as text (a
    Python int, so it never overflows; text, because SQLite's integers stop at 64 bits).
    Returns NULL for no rows. Deterministic: the same rows give the same text in any
    order."""

    __slots__ = ("_total",)

    def __init__(self) -> None:
        self._total: int | None = None

    def step(self, *values: object) -> None:
        self._total = (self._total or 0) + row_hash(values)

    def finalize(self) -> str | None:
        return None if self._total is None else str(self._total)


__all__ = ["ROW_HASH_SUM", "RowHashSum", "checksum_select", "row_hash"]
