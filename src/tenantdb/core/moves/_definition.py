"""How a move makes a table on its target that only the source has: statements built from
the source's own definition, as its catalog gives it.

A tenant with a schema or a database of its own may find no table of its own on the
target: the move creates each missing one like its source table before it installs the
capture. What the catalogs give differs by backend, so each has its builder here, pure
over the catalog's rows:

- PostgreSQL keeps no CREATE TABLE text: ``postgres_table`` writes one from the columns
  (type as ``format_type`` prints it, collation, default, NOT NULL), the constraints
  (``pg_get_constraintdef``) and the other indexes (``pg_get_indexdef``, its table's name
  made unqualified by ``postgres_index``). The names are left unqualified: the mover reads
  the source and runs these on the target with the search path set to the tenant's schema
  for the transaction (``SET LOCAL``), so the schema of every name resolves alike on both
  sides.
- MariaDB/MySQL print the whole table (``SHOW CREATE TABLE``, indexes included):
  ``mysql_table`` only puts the target's schema before the table's name.
- SQLite keeps the text of the table and of each index: ``sqlite_table`` runs them as
  they are (SQLite tenants have no schemas; a database tenant's tables are unqualified).

Refused (``ValueError``, naming the table and the reason), because a copy made from them
would not behave like the source: foreign keys (the referenced table must exist first,
and its rows before the referencing ones), and on PostgreSQL columns whose values come
from a sequence (``serial``, identity) or are generated (the copy writes every column).
Such a table is created on the target by hand, with the definition the application
uses, before the move; a move uses a table it finds there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..sql import quote_name


class PostgresColumn(NamedTuple):
    """One column as ``pg_attribute`` describes it."""

    name: str
    type: str
    """As ``format_type(atttypid, atttypmod)`` prints it."""
    not_null: bool
    default: str | None
    """``pg_get_expr`` of its default (of its expression, for a generated column)."""
    identity: str = ""
    """``attidentity``: ``a`` / ``d`` for identity columns, empty otherwise."""
    generated: str = ""
    """``attgenerated``: ``s`` for a stored generated column, empty otherwise."""
    collation: str | None = None
    """The column's collation when it is not its type's default, else None."""


class PostgresConstraint(NamedTuple):
    """One table constraint as ``pg_constraint`` describes it."""

    name: str
    kind: str
    """``contype``: ``p`` primary key, ``u`` unique, ``c`` check, ``x`` exclusion,
    ``f`` foreign key."""
    definition: str
    """``pg_get_constraintdef``."""


def postgres_table(
    table: str,
    columns: Sequence[PostgresColumn],
    constraints: Sequence[PostgresConstraint],
    indexes: Sequence[str],
) -> tuple[str, ...]:
    """The statements that make ``table`` (unqualified: see the module docstring) with
    these columns, constraints and further indexes (``pg_get_indexdef`` of each index
    no constraint owns). ValueError for what a copy cannot reproduce."""
    if not columns:
        raise ValueError(f"table {table!r} has no columns to create")

    def q(name: str) -> str:
        return quote_name(name, "postgres")

    parts: list[str] = []
    for column in columns:
        if column.identity or column.generated:
            kind = "an identity column" if column.identity else "a generated column"
            raise ValueError(f"table {table!r}: column {column.name!r} is {kind}")
        if column.default is not None and "nextval(" in column.default.lower():
            raise ValueError(
                f"table {table!r}: column {column.name!r} takes its default from a sequence"
            )
        spelled = f"{q(column.name)} {column.type}"
        if column.collation is not None:
            spelled += f" COLLATE {q(column.collation)}"
        if column.default is not None:
            spelled += f" DEFAULT {column.default}"
        if column.not_null:
            spelled += " NOT NULL"
        parts.append(spelled)
    for constraint in sorted(constraints, key=lambda c: ("pucxf".find(c.kind), c.name)):
        if constraint.kind == "f":
            raise ValueError(f"table {table!r} has a foreign key ({constraint.name})")
        if constraint.kind not in ("p", "u", "c", "x"):
            continue  # e.g. a constraint trigger's entry: nothing a table definition holds
        parts.append(f"CONSTRAINT {q(constraint.name)} {constraint.definition}")
    create = f"CREATE TABLE {q(table)} ({', '.join(parts)})"
    return (create, *indexes)


def postgres_index(definition: str, printed: str, table: str) -> str:
    """``pg_get_indexdef``'s ``definition`` of an index on ``table`` with the table's name
    left unqualified: the catalog prints it schema-qualified (``printed``, as
    ``quote_ident(schema) || '.' || quote_ident(table)`` spells it) whatever the search
    path, and the target's schema may have another name. ValueError when the text does
    not name the table so once."""
    for on in (" ON ONLY ", " ON "):
        marker = f"{on}{printed} "
        if definition.count(marker) == 1:
            return definition.replace(marker, f"{on}{quote_name(table, 'postgres')} ")
    raise ValueError(f"table {table!r}: unexpected index definition {definition[:80]!r}")


def mysql_table(definition: str, table: str, schema: str | None) -> tuple[str, ...]:
    """``SHOW CREATE TABLE``'s ``definition`` of ``table`` made to create it in ``schema``
    (None: the connection's database). ValueError for a foreign key, or a text that does
    not start as ``SHOW CREATE TABLE`` prints it."""
    head = f"CREATE TABLE {quote_name(table, 'mysql')} ("
    if not definition.startswith(head):
        raise ValueError(f"table {table!r}: unexpected definition {definition[:60]!r}")
    if "FOREIGN KEY" in definition.upper():
        raise ValueError(f"table {table!r} has a foreign key")
    if schema is None:
        return (definition,)
    qualified = f"{quote_name(schema, 'mysql')}.{quote_name(table, 'mysql')}"
    return (f"CREATE TABLE {qualified} (" + definition[len(head) :],)


def sqlite_table(table: str, definition: str, indexes: Sequence[str]) -> tuple[str, ...]:
    """The table's stored ``definition`` and its indexes' (those it did not make itself).
    ValueError for a foreign key."""
    if "REFERENCES" in definition.upper():
        raise ValueError(f"table {table!r} has a foreign key")
    return (definition, *indexes)
