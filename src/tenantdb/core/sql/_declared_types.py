"""The declared types of a query's result columns, for drivers that do not report them.

Python's ``sqlite3`` gives no type in ``cursor.description`` (it does not expose SQLite's
``sqlite3_column_decltype``). A result column that is a plain column of a table has that
column's declared type, which the table's definition says; this module works out, from the
query text alone, which table column each result column is, and asks ``columns_of`` (the
caller's catalog lookup) for the declared types.

Only what can be known for sure is answered: a result column that is an expression, an
aggregate, a column of a subquery or of a WITH query, or a name that more than one table
could own, has no declared type (None). A set operation (UNION ...) answers a type where
every branch has the same one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from ._dialects import sqlglot_dialect
from ._quiet import quiet

ColumnsOf = Callable[[str | None, str], Sequence[tuple[str, str]] | None]
"""``columns_of(schema, table)``: the table's ``(column, declared type)`` pairs in order,
or None when the table is unknown. ``schema`` is None for an unqualified name."""

# (schema, table) of one FROM item, or None for a subquery or WITH query.
_Item = tuple[str | None, str] | None


def declared_types(sql: str, dialect: str, columns_of: ColumnsOf) -> tuple[str | None, ...] | None:
    """The declared type of each result column of the query ``sql`` (None where there is
    no sure answer), or None when the text is not a query this module reads."""
    try:
        with quiet():
            tree: exp.Expr = exp.maybe_parse(sql, dialect=sqlglot_dialect(dialect))
    except (ParseError, TokenError, ValueError):
        return None
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return _query(tree, ctes, columns_of)


def _query(node: exp.Expr, ctes: set[str], columns_of: ColumnsOf) -> tuple[str | None, ...] | None:
    if isinstance(node, exp.Subquery):
        return _query(node.this, ctes, columns_of)
    if isinstance(node, exp.SetOperation):
        left = _query(node.left, ctes, columns_of)
        right = _query(node.right, ctes, columns_of)
        if left is None or right is None or len(left) != len(right):
            return None
        return tuple(a if a == b else None for a, b in zip(left, right, strict=True))
    if isinstance(node, exp.Select):
        return _select(node, ctes, columns_of)
    return None


def _select(
    select: exp.Select, ctes: set[str], columns_of: ColumnsOf
) -> tuple[str | None, ...] | None:
    items: dict[str, _Item] = {}  # alias or name (lower case) → FROM item, in FROM order
    first = select.args.get("from_") or select.args.get("from")  # sqlglot renamed it
    sources = [first, *(select.args.get("joins") or [])]
    for source in sources:
        if source is None:
            continue
        this = source.this
        name = this.alias_or_name.lower()
        if isinstance(this, exp.Table) and name and this.name.lower() not in ctes:
            schema = this.db or None
            items[name] = (schema, this.name)
        else:
            items[name] = None
    known: dict[_Item, list[tuple[str, str]] | None] = {}

    def columns(item: _Item) -> list[tuple[str, str]] | None:
        if item is None:
            return None
        if item not in known:
            found = columns_of(*item)
            known[item] = None if found is None else list(found)
        return known[item]

    out: list[str | None] = []
    for projection in select.expressions:
        target = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(target, exp.Star) or (
            isinstance(target, exp.Column) and isinstance(target.this, exp.Star)
        ):
            qualifier = target.table.lower() if isinstance(target, exp.Column) else ""
            chosen = [items.get(qualifier)] if qualifier else list(items.values())
            if qualifier and qualifier not in items:
                return None
            for item in chosen:
                listed = columns(item)
                if listed is None:
                    return None  # how many columns the star gives is not known
                out.extend(declared or None for _, declared in listed)
            continue
        if not isinstance(target, exp.Column):
            out.append(None)
            continue
        out.append(_column_type(target, items, columns))
    return tuple(out)


def _column_type(
    column: exp.Column,
    items: dict[str, _Item],
    columns: Callable[[_Item], list[tuple[str, str]] | None],
) -> str | None:
    name = column.name.lower()
    qualifier = column.table.lower()
    if qualifier:
        candidates = [items[qualifier]] if qualifier in items else []
    else:
        candidates = list(items.values())
    found: list[str] = []
    for item in candidates:
        listed = columns(item)
        if listed is None:
            return None  # a subquery or unknown table may own the name too
        found += [declared for column_name, declared in listed if column_name.lower() == name]
    if len(found) != 1:
        return None
    return found[0] or None


__all__ = ["ColumnsOf", "declared_types"]
