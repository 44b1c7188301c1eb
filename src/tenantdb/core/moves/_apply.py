"""How a move writes rows to the target: an upsert by primary key, and a delete by key.

Both the copy and the catch-up write a row the source has as it is there now, so writing
the same row twice must leave the target as writing it once: the copy of a chunk whose
cursor was not recorded before the mover was killed is copied again, and a key changed
twice is applied twice. An upsert (insert, or replace the other columns of the row with
that key) is that write; a key the source no longer has is deleted.
"""

from __future__ import annotations

from ..sql import quote_name


def upsert(
    dialect: str, table: str, schema: str | None, columns: tuple[str, ...], key: tuple[str, ...]
) -> str:
    """One row written by key: ``INSERT`` of ``columns`` (``%s`` placeholders, in
    ``columns`` order) that replaces the non-key columns of an existing row with its key."""
    missing = [k for k in key if k not in columns]
    if missing or not key:
        raise ValueError(f"the written columns must include the whole primary key {key}")

    def q(name: str) -> str:
        return quote_name(name, dialect)

    target = f"{q(schema)}.{q(table)}" if schema else q(table)
    listed = ", ".join(q(c) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    insert = f"INSERT INTO {target} ({listed}) VALUES ({marks})"
    others = [c for c in columns if c not in key]
    if dialect == "mysql":
        # Every column named, key too, so a row that is all key still counts as written.
        sets = ", ".join(f"{q(c)} = VALUES({q(c)})" for c in others or key)
        return f"{insert} ON DUPLICATE KEY UPDATE {sets}"
    if dialect not in ("postgres", "sqlite"):
        raise ValueError(f"no upsert for dialect {dialect!r}")
    conflict = ", ".join(q(k) for k in key)
    if not others:
        return f"{insert} ON CONFLICT ({conflict}) DO NOTHING"
    sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in others)
    return f"{insert} ON CONFLICT ({conflict}) DO UPDATE SET {sets}"


def delete_by_key(dialect: str, table: str, schema: str | None, key: tuple[str, ...]) -> str:
    """The row with a primary key (``%s`` per key column, in key order) deleted."""
    if not key:
        raise ValueError("a delete by key needs the primary key's columns")

    def q(name: str) -> str:
        return quote_name(name, dialect)

    target = f"{q(schema)}.{q(table)}" if schema else q(table)
    return f"DELETE FROM {target} WHERE " + " AND ".join(f"{q(k)} = %s" for k in key)
