"""DDL shapes: what one physical DDL statement creates, alters or drops.

The schema runner asks the database catalog whether that already happened, so a schema
file can be applied again without failing on the objects it finds (it never parses a
database's error messages for that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ...errors import SQLSyntaxError, UnsupportedSQLError
from ._dialects import sqlglot_dialect

DdlKind = Literal["create_table", "create_index", "alter_table", "drop_table"]


@dataclass(frozen=True, slots=True)
class ObjectName:
    """A table, index or column name as the database stores it.

    PostgreSQL folds unquoted names to lowercase, so ``name`` is folded here for it; SQLite
    and MySQL compare names case-insensitively (tables: as the server is configured), and
    their names are kept as written.
    """

    name: str
    schema: str | None = None
    guarded: bool = False
    """For columns: the action says IF [NOT] EXISTS itself."""


@dataclass(frozen=True, slots=True)
class DdlShape:
    """The objects one DDL statement works on.

    ``tables``: the created, altered or dropped tables (for CREATE INDEX, the indexed
    table). ``guarded``: the statement carries IF [NOT] EXISTS. For ALTER TABLE,
    ``added_columns`` / ``dropped_columns`` list ADD COLUMN / DROP COLUMN actions and
    ``other_actions`` says whether anything else is in the statement; ``renames_table``
    marks ``RENAME TO``.
    """

    kind: DdlKind
    tables: tuple[ObjectName, ...]
    index: ObjectName | None = None
    guarded: bool = False
    added_columns: tuple[ObjectName, ...] = ()
    dropped_columns: tuple[ObjectName, ...] = ()
    other_actions: bool = False
    renames_table: bool = False


def describe_ddl(sql: str, dialect: str) -> DdlShape:
    """Parse one CREATE TABLE, CREATE INDEX, ALTER TABLE or DROP TABLE statement.

    ``sql`` is plain SQL without placeholders. Raises SQLSyntaxError when it does not
    parse, UnsupportedSQLError for any other statement.
    """
    try:
        tree = sqlglot.parse_one(sql, read=sqlglot_dialect(dialect))
    except (ParseError, TokenError) as exc:
        raise SQLSyntaxError(
            f"cannot parse {sql[:80]!r} as {dialect} SQL ({str(exc).strip().splitlines()[0]})"
        ) from None
    kind = str(tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Create) and kind == "TABLE":
        target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
        return DdlShape(
            "create_table", (_table(target, dialect),), guarded=bool(tree.args.get("exists"))
        )
    if isinstance(tree, exp.Create) and kind == "INDEX" and isinstance(tree.this, exp.Index):
        table = _table(tree.this.args.get("table"), dialect)
        name = tree.this.this
        if not isinstance(name, exp.Identifier):
            raise UnsupportedSQLError("CREATE INDEX needs an index name")
        return DdlShape(
            "create_index",
            (table,),
            index=ObjectName(_name(name, dialect), table.schema),
            guarded=bool(tree.args.get("exists")),
        )
    if isinstance(tree, exp.Drop) and kind == "TABLE":
        tables = tree.args.get("tables") or [tree.this]
        return DdlShape(
            "drop_table",
            tuple(_table(t, dialect) for t in tables),
            guarded=bool(tree.args.get("exists")),
        )
    if isinstance(tree, exp.Alter) and kind == "TABLE":
        return _alter(tree, dialect)
    raise UnsupportedSQLError(
        f"{sql[:80]!r} is not CREATE TABLE, CREATE INDEX, ALTER TABLE or DROP TABLE"
    )


def _alter(tree: exp.Alter, dialect: str) -> DdlShape:
    added: list[ObjectName] = []
    dropped: list[ObjectName] = []
    other = False
    renames = False
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef) and isinstance(action.this, exp.Identifier):
            added.append(
                ObjectName(_name(action.this, dialect), guarded=bool(action.args.get("exists")))
            )
        elif isinstance(action, exp.Drop) and str(action.args.get("kind") or "").upper() in (
            "COLUMN",
            "",
        ):
            for column in action.args.get("tables") or [action.this]:
                ident = column.this if isinstance(column, exp.Column) else column
                if not isinstance(ident, exp.Identifier):
                    other = True
                    continue
                dropped.append(
                    ObjectName(_name(ident, dialect), guarded=bool(action.args.get("exists")))
                )
        else:
            renames = renames or isinstance(action, exp.AlterRename)
            other = True
    return DdlShape(
        "alter_table",
        (_table(tree.this, dialect),),
        guarded=bool(tree.args.get("exists")),
        added_columns=tuple(added),
        dropped_columns=tuple(dropped),
        other_actions=other,
        renames_table=renames,
    )


def _table(node: object, dialect: str) -> ObjectName:
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
        raise UnsupportedSQLError("the DDL statement does not name a table")
    db = node.args.get("db")
    schema = _name(db, dialect) if isinstance(db, exp.Identifier) else None
    return ObjectName(_name(node.this, dialect), schema)


def _name(node: exp.Identifier, dialect: str) -> str:
    text = str(node.this)
    return text.lower() if dialect == "postgres" and not node.quoted else text


__all__ = ["DdlKind", "DdlShape", "ObjectName", "describe_ddl"]
