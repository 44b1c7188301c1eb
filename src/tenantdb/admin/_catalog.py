"""Catalog lookups: which tables, indexes and columns a database already has.

The schema runner decides from these answers whether a DDL statement still has work to do;
it never guesses from a database's error messages. One implementation per dialect, each
reading the database's own catalog (SQLite ``sqlite_master`` / ``pragma_table_info``,
PostgreSQL ``information_schema`` / ``pg_indexes``, MySQL ``information_schema``), plus the
few queries that copy one physical table's definition to another.

Name matching follows the databases: PostgreSQL compares exactly (names arrive already
folded the way the server folds unquoted names); SQLite and MySQL compare case-insensitively.
Queries are written with ``%s`` placeholders (pyformat, as every statement is) and no
literal ``%``, and run through a session's ``execute_on`` (see ``query_on``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._sync import Session
from ..core.sql import ObjectName, quote_name

Query = Callable[[str, Sequence[object]], list[tuple[Any, ...]]]
"""Runs one query (pyformat ``%s`` placeholders) on one datasource and returns its rows."""


def query_on(session: Session, datasource: str) -> Query:
    """Catalog queries through ``session.execute_on`` on the primary of ``datasource``
    (so they join the session's transaction, where it has one)."""

    def query(sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return session.execute_on(datasource, sql, params).fetchall()

    return query


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    """One index of a table, as the catalog can re-create it.

    ``constraint``: for an index behind a PRIMARY KEY / UNIQUE / EXCLUDE constraint
    (PostgreSQL), the constraint's definition (``PRIMARY KEY (id)``); ``sql``: otherwise
    the ``CREATE INDEX`` statement (SQLite, PostgreSQL). MySQL copies indexes with the
    table and only needs their names.
    """

    name: str
    sql: str | None = None
    constraint: str | None = None


class Catalog(Protocol):
    """Catalog queries of one dialect; every method runs through the ``query`` it is given."""

    dialect: str

    def table_exists(self, query: Query, table: ObjectName) -> bool: ...

    def index_exists(self, query: Query, index: ObjectName, table: ObjectName) -> bool: ...

    def columns(self, query: Query, table: ObjectName) -> set[str]:
        """Column names of ``table``, in the form ``same_name`` compares (empty if missing)."""
        ...

    def table_names(self, query: Query) -> set[str]:
        """Every table of the connection's default schema, in the form ``same_name`` uses."""
        ...

    def tables_with_column(self, query: Query, column: str) -> set[str]:
        """Tables of the default schema that have a column named ``column`` (one query),
        in the form ``same_name`` uses."""
        ...

    def same_name(self, name: str) -> str:
        """``name`` in the form names are compared in (lowercase where the database ignores
        case)."""
        ...

    def table_definition(self, query: Query, table: str) -> str:
        """The CREATE TABLE statement of ``table`` in the default schema (SQLite, MySQL)."""
        ...

    def indexes(self, query: Query, table: str) -> list[IndexDefinition]:
        """The indexes of ``table`` that need re-creating (or renaming) on a copy."""
        ...

    def check_constraints(self, query: Query, table: str) -> list[str]:
        """Names of the CHECK constraints of ``table`` (PostgreSQL; empty elsewhere)."""
        ...


class SQLiteCatalog:
    dialect = "sqlite"

    def same_name(self, name: str) -> str:
        return name.lower()

    def _master(self, schema: str | None) -> str:
        return f"{quote_name(schema, 'sqlite')}.sqlite_master" if schema else "sqlite_master"

    def table_exists(self, query: Query, table: ObjectName) -> bool:
        rows = query(
            f"SELECT 1 FROM {self._master(table.schema)} "
            "WHERE type IN ('table', 'view') AND lower(name) = lower(%s)",
            (table.name,),
        )
        return bool(rows)

    def index_exists(self, query: Query, index: ObjectName, table: ObjectName) -> bool:
        rows = query(
            f"SELECT 1 FROM {self._master(index.schema or table.schema)} "
            "WHERE type = 'index' AND lower(name) = lower(%s)",
            (index.name,),
        )
        return bool(rows)

    def columns(self, query: Query, table: ObjectName) -> set[str]:
        rows = query(
            "SELECT name FROM pragma_table_info(%s, %s)", (table.name, table.schema or "main")
        )
        return {str(row[0]).lower() for row in rows}

    def table_names(self, query: Query) -> set[str]:
        rows = query("SELECT name FROM sqlite_master WHERE type = 'table'", ())
        return {str(row[0]).lower() for row in rows}

    def tables_with_column(self, query: Query, column: str) -> set[str]:
        rows = query(
            "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c "
            "WHERE m.type = 'table' AND lower(c.name) = lower(%s)",
            (column,),
        )
        return {str(row[0]).lower() for row in rows}

    def table_definition(self, query: Query, table: str) -> str:
        rows = query(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND lower(name) = lower(%s)",
            (table,),
        )
        if not rows or rows[0][0] is None:
            raise LookupError(table)
        return str(rows[0][0])

    def indexes(self, query: Query, table: str) -> list[IndexDefinition]:
        # Indexes SQLite makes for PRIMARY KEY / UNIQUE have no SQL: the table re-creates them.
        rows = query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
            "AND lower(tbl_name) = lower(%s) AND sql IS NOT NULL ORDER BY name",
            (table,),
        )
        return [IndexDefinition(str(name), sql=str(sql)) for name, sql in rows]

    def check_constraints(self, query: Query, table: str) -> list[str]:
        return []


class PostgresCatalog:
    dialect = "postgres"

    def same_name(self, name: str) -> str:
        return name

    def table_exists(self, query: Query, table: ObjectName) -> bool:
        rows = query(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = COALESCE(%s::text, current_schema()) AND table_name = %s",
            (table.schema, table.name),
        )
        return bool(rows)

    def index_exists(self, query: Query, index: ObjectName, table: ObjectName) -> bool:
        # An index lives in its table's schema; index names are unique per schema.
        rows = query(
            "SELECT 1 FROM pg_indexes "
            "WHERE schemaname = COALESCE(%s::text, current_schema()) AND indexname = %s",
            (index.schema or table.schema, index.name),
        )
        return bool(rows)

    def columns(self, query: Query, table: ObjectName) -> set[str]:
        rows = query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = COALESCE(%s::text, current_schema()) AND table_name = %s",
            (table.schema, table.name),
        )
        return {str(row[0]) for row in rows}

    def table_names(self, query: Query) -> set[str]:
        rows = query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            (),
        )
        return {str(row[0]) for row in rows}

    def tables_with_column(self, query: Query, column: str) -> set[str]:
        rows = query(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = %s",
            (column,),
        )
        return {str(row[0]) for row in rows}

    def table_definition(self, query: Query, table: str) -> str:
        raise NotImplementedError("PostgreSQL has no CREATE TABLE text in its catalog")

    def indexes(self, query: Query, table: str) -> list[IndexDefinition]:
        rows = query(
            "SELECT ic.relname, pg_get_indexdef(ic.oid), pg_get_constraintdef(con.oid) "
            "FROM pg_index x "
            "JOIN pg_class ic ON ic.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid "
            "LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid "
            "AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u', 'x') "
            "WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace "
            "ORDER BY ic.relname",
            (table,),
        )
        return [
            IndexDefinition(
                str(name),
                sql=None if constraint is not None else str(indexdef),
                constraint=None if constraint is None else str(constraint),
            )
            for name, indexdef, constraint in rows
        ]

    def check_constraints(self, query: Query, table: str) -> list[str]:
        rows = query(
            "SELECT con.conname FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid "
            "WHERE t.relname = %s AND t.relnamespace = current_schema()::regnamespace "
            "AND con.contype = 'c' ORDER BY con.conname",
            (table,),
        )
        return [str(row[0]) for row in rows]


class MySQLCatalog:
    dialect = "mysql"

    def same_name(self, name: str) -> str:
        return name.lower()

    def table_exists(self, query: Query, table: ObjectName) -> bool:
        rows = query(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name = %s",
            (table.schema, table.name),
        )
        return bool(rows)

    def index_exists(self, query: Query, index: ObjectName, table: ObjectName) -> bool:
        # MySQL index names are unique per table.
        rows = query(
            "SELECT 1 FROM information_schema.statistics "
            "WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name = %s "
            "AND index_name = %s",
            (table.schema, table.name, index.name),
        )
        return bool(rows)

    def columns(self, query: Query, table: ObjectName) -> set[str]:
        rows = query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name = %s",
            (table.schema, table.name),
        )
        return {str(row[0]).lower() for row in rows}

    def table_names(self, query: Query) -> set[str]:
        rows = query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
            (),
        )
        return {str(row[0]).lower() for row in rows}

    def tables_with_column(self, query: Query, column: str) -> set[str]:
        rows = query(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND column_name = %s",
            (column,),
        )
        return {str(row[0]).lower() for row in rows}

    def table_definition(self, query: Query, table: str) -> str:
        rows = query(f"SHOW CREATE TABLE {quote_name(table, 'mysql')}", ())
        if not rows:
            raise LookupError(table)
        return str(rows[0][1])

    def indexes(self, query: Query, table: str) -> list[IndexDefinition]:
        rows = query(
            "SELECT DISTINCT index_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = %s AND index_name <> 'PRIMARY' "
            "ORDER BY index_name",
            (table,),
        )
        return [IndexDefinition(str(row[0])) for row in rows]

    def check_constraints(self, query: Query, table: str) -> list[str]:
        return []


def catalog_for(dialect: str) -> Catalog:
    """The catalog queries of ``dialect`` (``sqlite``, ``postgres`` or ``mysql``)."""
    if dialect == "sqlite":
        return SQLiteCatalog()
    if dialect == "postgres":
        return PostgresCatalog()
    return MySQLCatalog()


__all__ = [
    "Catalog",
    "IndexDefinition",
    "MySQLCatalog",
    "PostgresCatalog",
    "Query",
    "SQLiteCatalog",
    "catalog_for",
    "query_on",
]
