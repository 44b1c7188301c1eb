"""The tenant column as an admin scan reads it in a schema-isolated tenant's tables.

A schema-isolated tenant's rows live in its own schema; rows it stored before tenantdb
filled the tenant column in for such tenants hold NULL there. In the targets of an admin
scan that visit such a schema, every reference to the tenant column of a ``tenant`` table
(in the select list, WHERE, JOIN ... ON, GROUP BY, HAVING, ORDER BY, subqueries, and the
values an UPDATE assigns) reads ``COALESCE(<column>, <that schema's tenant>)`` instead, so
``GROUP BY tenant_id`` makes one group per tenant and ``WHERE tenant_id = 'beta'`` finds
all of beta's rows. ``*`` is not expanded (there is no catalog): it shows the stored value.

References are resolved as the databases resolve them, from the tree with tenantdb's table
markers (``__tdb_t<i>__``, ``__tdb_q<i>__``): a qualified column by the name of a source in
its scope or an enclosing one, a bare column by the innermost scope that has sources. A
bare name that could belong to a table tenantdb cannot see into (in a subquery with other
sources, inside a scope over a ``tenant`` table) is refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlglot import exp

from ...errors import UnsupportedSQLError
from ._merge_variants import merge_shape
from ._placeholders import MARKER_PREFIX
from ._predicates import identifier_name
from ._render import PLACEHOLDER, Rendered, render_tree
from ._template import Template

_TABLE_MARKER = re.compile(r"__tdb_t(\d+)__")
_QUALIFIER_MARKER = re.compile(r"__tdb_q(\d+)__")
_SCOPES = (exp.Select, exp.Update, exp.Delete, exp.Insert)


def coalesced_rendering(
    template: Template, refs: Collection[int], column: str, *, merged: bool
) -> Rendered | None:
    """The statement with the tenant column of ``refs`` read through COALESCE, for the
    targets of an admin scan in schema-isolated tenants' schemas; None when the statement
    names no such column (those targets run the plain text).

    The tenant takes placeholder index ``template.param_count`` (bind the statement's
    values, then the tenant id; :func:`owner_literal` says when to write it as text).
    ``merged``: the multi-target variant of a SELECT (see ``merge_shape``), whose merge
    recipe is the plain variant's: only column references change, never the row shape.

    Raises UnsupportedSQLError for references that cannot be resolved without a catalog.
    """
    if template.kind == "ddl" or not refs:
        return None
    chosen = frozenset(refs)
    marker = template.param_count
    probe = template.marked.copy()
    if not coalesce_tenant_column(probe, chosen, column, marker, template.dialect):
        return None
    if not merged:
        return render_tree(probe, template.dialect)

    def rewrite(tree: exp.Expr) -> None:
        coalesce_tenant_column(tree, chosen, column, marker, template.dialect)

    return merge_shape(template.marked, template.dialect, template.sql, rewrite=rewrite).rendered


def owner_literal(tenant_id: str, dialect: str) -> str | None:
    """How the schema's tenant is written into the statement: SQL text, or None to pass it
    as a bound parameter.

    PostgreSQL binds parameters on the server, where ``COALESCE(t, $1)`` in the select list
    and ``COALESCE(t, $2)`` in GROUP BY are different expressions (the statement is
    refused): the id is written as a string literal. The MySQL drivers interpolate
    parameters into the text themselves, escaping for the server's mode, so every
    occurrence becomes the same literal there.
    """
    if dialect != "postgres":
        return None
    quoted = tenant_id.replace("'", "''")
    # E'' reads backslash escapes whatever standard_conforming_strings says.
    escaped = "E'" + quoted.replace("\\", "\\\\") + "'"
    text = escaped if "\\" in tenant_id else f"'{quoted}'"
    return text.replace("%", "%%") if PLACEHOLDER[dialect] == "%s" else text


def coalesce_tenant_column(
    tree: exp.Expr, refs: frozenset[int], column: str, marker: int, dialect: str
) -> int:
    """Rewrite ``tree`` (a marked statement tree) in place: each reference to ``column`` of
    a table reference in ``refs`` becomes ``COALESCE(<ref>.<column>, :<marker>)`` (a bare
    select item keeps its name with an alias). Returns how many were rewritten.

    Assignment targets (``SET tenant_id = ...``) are left alone: they name the column to
    write, not a value. Raises UnsupportedSQLError for ``JOIN ... USING (<column>)`` over
    such a table (the join would compare the stored NULLs) and for bare references whose
    table cannot be told.
    """
    resolver = _Resolver(refs, column, dialect)
    for join in list(tree.find_all(exp.Join)):
        resolver.check_using(join)
    found = [col for col in tree.find_all(exp.Column) if resolver.ours(col)]
    for col in found:
        value = exp.Coalesce(
            this=col.copy(), expressions=[exp.Placeholder(this=f"{MARKER_PREFIX}{marker}")]
        )
        parent = col.parent
        if isinstance(parent, exp.Select | exp.Returning) and col.arg_key == "expressions":
            col.replace(exp.Alias(this=value, alias=col.this.copy()))
        else:
            col.replace(value)
    return len(found)


@dataclass(frozen=True, slots=True)
class _Source:
    """A relation a scope reads: a marked table reference (``ref``) or anything else."""

    name: str | None
    ref: int | None


class _Resolver:
    def __init__(self, refs: frozenset[int], column: str, dialect: str) -> None:
        self.refs = refs
        self.column = column
        self.dialect = dialect
        self._sources: dict[int, list[_Source]] = {}

    def check_using(self, join: exp.Join) -> None:
        names = [self._name(u) for u in join.args.get("using") or []]
        if self.column not in names:
            return
        scope = _scope_of(join)
        if scope is not None and any(s.ref in self.refs for s in self.sources(scope)):
            raise UnsupportedSQLError(
                f"JOIN ... USING ({self.column}) in an admin scan over schema-isolated tenants "
                f"would not join their rows stored without {self.column}; write the join "
                f"condition with ON (a.{self.column} = b.{self.column})"
            )

    def ours(self, col: exp.Column) -> bool:
        """Whether ``col`` is the tenant column of one of ``refs``, read as a value."""
        if isinstance(col.this, exp.Star) or self._name(col.this) != self.column:
            return False
        if _assignment_target(col):
            return False
        scope = _scope_of(col)
        if scope is None:
            return False  # a UNION's ORDER BY names its output columns
        table = col.args.get("table")
        if table is None:
            if _output_name_in_order_by(col, scope):
                return False
            return self._bare(col, scope)
        if not isinstance(table, exp.Identifier) or col.args.get("db") is not None:
            return False
        marked = _QUALIFIER_MARKER.fullmatch(str(table.this))
        if marked is not None:
            return int(marked.group(1)) in self.refs
        name = identifier_name(table)
        current: exp.Expr | None = scope
        while current is not None:
            matches = [s for s in self.sources(current) if s.name == name]
            if matches:
                # A marked reference wins over a name MySQL's DELETE repeats (DELETE o ...).
                return any(s.ref in self.refs for s in matches)
            current = _scope_of(current)
        return False

    def _bare(self, col: exp.Column, scope: exp.Expr) -> bool:
        crossed: exp.Expr | None = None
        current: exp.Expr | None = scope
        while current is not None:
            sources = self.sources(current)
            if any(s.ref in self.refs for s in sources):
                if crossed is not None:
                    raise UnsupportedSQLError(
                        f"{self.column} without a table name in a subquery: in an admin "
                        "scan over schema-isolated tenants tenantdb must know whether it is "
                        "the tenant table's (read with the schema's tenant) or another "
                        f"table's; qualify it (o.{self.column})"
                    )
                return True
            if sources:
                crossed = current
            current = _scope_of(current)
        return False

    def sources(self, scope: exp.Expr) -> list[_Source]:
        found = self._sources.get(id(scope))
        if found is None:
            found = [self._source(node) for node in _relations(scope)]
            self._sources[id(scope)] = found
        return found

    def _source(self, node: exp.Expr) -> _Source:
        alias = node.args.get("alias")
        alias_name = (
            identifier_name(alias.this)
            if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier)
            else None
        )
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            marked = _TABLE_MARKER.fullmatch(str(node.this.this))
            if marked is not None:
                # Unaliased: its columns carry the qualifier marker, not a name.
                return _Source(alias_name, int(marked.group(1)))
            return _Source(alias_name or identifier_name(node.this), None)
        return _Source(alias_name, None)

    def _name(self, node: exp.Expr) -> str:
        if not isinstance(node, exp.Identifier):
            return str(node.name).lower()
        if self.dialect != "postgres":
            return str(node.this).lower()  # SQLite and MySQL: column names ignore case
        return identifier_name(node)


def _relations(scope: exp.Expr) -> list[exp.Expr]:
    """What a SELECT/UPDATE/DELETE/INSERT reads rows from: FROM, JOINs, the written
    table, DELETE ... USING (with the joins that hang on each)."""
    found: list[exp.Expr] = []

    def add(node: object) -> None:
        if isinstance(node, exp.Schema):
            node = node.this
        if not isinstance(node, exp.Expr):
            return
        found.append(node)
        for join in node.args.get("joins") or []:
            add(join.this)

    if isinstance(scope, exp.Update | exp.Delete | exp.Insert):
        add(scope.this)
    source = scope.args.get("from_") or scope.args.get("from")
    if isinstance(source, exp.From):
        add(source.this)
    for join in scope.args.get("joins") or []:
        add(join.this)
    using = scope.args.get("using") if isinstance(scope, exp.Delete) else None
    for node in using if isinstance(using, list) else []:
        add(node)
    return found


def _scope_of(node: exp.Expr) -> exp.Expr | None:
    """The SELECT/UPDATE/DELETE/INSERT ``node`` is evaluated in (None when a set
    operation's own clause comes first: its ORDER BY names output columns)."""
    child: exp.Expr = node
    current = node.parent
    while current is not None:
        if isinstance(current, _SCOPES):
            return current
        if isinstance(current, exp.SetOperation) and child.arg_key not in ("this", "expression"):
            return None
        child, current = current, current.parent
    return None


def _assignment_target(col: exp.Column) -> bool:
    """``SET <col> = ...`` (or ``SET (a, <col>) = ...``) of an UPDATE or upsert."""
    child: exp.Expr = col
    current = col.parent
    while isinstance(current, exp.Tuple | exp.Paren):
        child, current = current, current.parent
    return (
        isinstance(current, exp.EQ)
        and current.this is child
        and isinstance(current.parent, exp.Update | exp.OnConflict)
        and current.arg_key == "expressions"
    )


def _output_name_in_order_by(col: exp.Column, scope: exp.Expr) -> bool:
    """A bare ``ORDER BY name`` that names another output column (an alias): the
    databases take the output column first, which is not the tenant column."""
    ordered = col.parent
    if not (
        isinstance(ordered, exp.Ordered)
        and isinstance(ordered.parent, exp.Order)
        and ordered.parent.parent is scope
        and isinstance(scope, exp.Select)
    ):
        return False
    name = col.name.lower()
    return any(
        isinstance(item, exp.Alias)
        and item.alias.lower() == name
        and not (isinstance(item.this, exp.Column) and item.this.name.lower() == name)
        for item in scope.expressions
    )


__all__ = ["coalesce_tenant_column", "coalesced_rendering", "owner_literal"]
