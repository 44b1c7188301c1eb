"""Confinement: the tree rewrite that keeps a tenant session inside its tenant's rows.

Given the table references of a statement that belong to tenant-scoped tables, it adds
``<reference>.<tenant column> = <tenant>`` as a conjunct where that reference's rows enter
the query (its scope's WHERE, or the ON of the join that brings it in), fills the tenant
column into INSERTs, and keeps upserts from touching rows of other tenants. The tenant is a
new placeholder after the statement's own, so it always travels as a bound parameter.

Only shapes whose meaning stays exact with the predicate added are rewritten; the rest are
refused (UnsupportedSQLError / TenantIsolationError) with what to write instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from ..errors import TenantIsolationError, UnsupportedSQLError
from ._placeholders import MARKER_PREFIX
from ._predicates import ValueRef, identifier_name, value_ref

_OUTER_SIDES = frozenset({"RIGHT", "FULL"})


def confine(
    tree: exp.Expr,
    nodes: Sequence[exp.Table],
    scopes: Sequence[exp.Expr],
    column: str,
    marker: int,
) -> tuple[ValueRef, ...]:
    """Rewrite ``tree`` in place so ``nodes`` (tenant-scoped references) see one tenant.

    ``scopes[i]`` is the SELECT/UPDATE/DELETE/INSERT whose FROM brings ``nodes[i]`` in;
    ``marker`` is the placeholder index the tenant id takes. Returns the values the
    statement itself writes into the tenant column (literals or placeholders), which the
    caller must check against the tenant at bind time.
    """
    written: list[ValueRef] = []
    for node, scope in zip(nodes, scopes, strict=True):
        if isinstance(scope, exp.Insert) and _insert_target(scope) is node:
            written.extend(_fill_insert(scope, node, column, marker))
        else:
            _add_predicate(node, scope, column, marker)
    return tuple(written)


def _predicate(node: exp.Table, column: str, marker: int) -> exp.Expr:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
        qualifier = exp.Column(this=exp.to_identifier(column), table=alias.this.copy())
    else:
        db = node.args.get("db")
        qualifier = exp.Column(
            this=exp.to_identifier(column),
            table=node.this.copy(),
            db=db.copy() if db is not None else None,
        )
    return exp.EQ(this=qualifier, expression=exp.Placeholder(this=f"{MARKER_PREFIX}{marker}"))


def _conjoin(existing: exp.Expr | None, predicate: exp.Expr) -> exp.Expr:
    """``(existing) AND predicate``: parenthesised, so an OR in ``existing`` cannot widen it."""
    if existing is None:
        return predicate
    if not isinstance(existing, exp.Predicate | exp.And | exp.Paren):
        existing = exp.Paren(this=existing)
    return exp.And(this=existing, expression=predicate)


def _add_predicate(node: exp.Table, scope: exp.Expr, column: str, marker: int) -> None:
    name = _display(node)
    joins = scope.args.get("joins") or []
    if isinstance(scope.this, exp.Table):  # MySQL UPDATE a JOIN b ...: joins hang on the table
        joins = [*joins, *(scope.this.args.get("joins") or [])]
    if any(str(join.args.get("side") or "").upper() in _OUTER_SIDES for join in joins):
        raise UnsupportedSQLError(
            f"RIGHT and FULL joins are not supported with tenant table {name} in a tenant "
            "session (the tenant condition would change which rows are kept); write the join "
            "as a LEFT JOIN from the other side"
        )
    parent = node.parent
    if isinstance(parent, exp.Join):
        side = str(parent.args.get("side") or "").upper()
        on = parent.args.get("on")
        if on is not None:
            parent.set("on", _conjoin(on, _predicate(node, column, marker)))
            return
        if side == "LEFT":
            raise UnsupportedSQLError(
                f"LEFT JOIN {name} with USING or NATURAL is not supported in a tenant session; "
                "write the join condition with ON"
            )
    elif (
        parent is not scope
        and not isinstance(parent, exp.From | exp.Update | exp.Delete)
        and not (isinstance(scope, exp.Delete) and node in (scope.args.get("using") or []))
    ):
        raise UnsupportedSQLError(
            f"tenant table {name} appears where tenantdb cannot add the tenant condition; "
            "name it in a FROM or JOIN clause"
        )
    if not isinstance(scope, exp.Select | exp.Update | exp.Delete):
        raise UnsupportedSQLError(
            f"tenant table {name} appears where tenantdb cannot add the tenant condition"
        )
    where = scope.args.get("where")
    condition = where.this if isinstance(where, exp.Where) else None
    scope.set("where", exp.Where(this=_conjoin(condition, _predicate(node, column, marker))))


def _insert_target(insert: exp.Insert) -> exp.Expr | None:
    target: exp.Expr | None = insert.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target


def _fill_insert(insert: exp.Insert, node: exp.Table, column: str, marker: int) -> list[ValueRef]:
    name = _display(node)
    if insert.args.get("alternative") or insert.args.get("overwrite"):
        raise TenantIsolationError(
            f"INSERT OR {str(insert.args.get('alternative') or 'OVERWRITE').upper()} into "
            f"{name} is refused in a tenant session: it may delete another tenant's "
            "conflicting row; use INSERT ... ON CONFLICT DO UPDATE"
        )
    schema = insert.this
    if not isinstance(schema, exp.Schema):
        raise TenantIsolationError(
            f"INSERT into {name} must name its columns in a tenant session, so tenantdb can "
            f"set {column}; write INSERT INTO {name} (col, ...) VALUES (...)"
        )
    names = [
        identifier_name(c) if isinstance(c, exp.Identifier) else c.name.lower()
        for c in schema.expressions
    ]
    tenant = exp.Placeholder(this=f"{MARKER_PREFIX}{marker}")
    source = insert.args.get("expression")
    branches = _select_branches(source) if not isinstance(source, exp.Values) else None
    if isinstance(source, exp.Values):
        rows = [
            row.expressions if isinstance(row, exp.Tuple) else [row] for row in source.expressions
        ]
    elif branches is not None:
        rows = [branch.expressions for branch in branches]
    else:
        raise UnsupportedSQLError(
            f"this INSERT into {name} cannot be confined to the tenant; insert VALUES rows or "
            "the result of a SELECT"
        )
    written: list[ValueRef] = []
    if column in names:
        position = names.index(column)
        for row in rows:
            item = row[position] if position < len(row) else None
            ref = value_ref(item) if item is not None and not isinstance(item, exp.Star) else None
            if ref is None or any(isinstance(e, exp.Star) for e in row[:position]):
                raise TenantIsolationError(
                    f"INSERT into {name} sets {column} to an expression; in a tenant session "
                    f"leave {column} out (tenantdb fills it in) or pass the tenant's own id"
                )
            written.append(ref)
    else:
        schema.append("expressions", exp.to_identifier(column))
        if isinstance(source, exp.Values):
            for row in source.expressions:
                if isinstance(row, exp.Tuple):
                    row.append("expressions", tenant.copy())
                else:
                    row.replace(exp.Tuple(expressions=[row.copy(), tenant.copy()]))
        else:
            assert branches is not None
            for branch in branches:
                branch.append("expressions", tenant.copy())
    _confine_upsert(insert, node, column, marker)
    return written


def _select_branches(source: exp.Expr | None) -> list[exp.Select] | None:
    """Each SELECT whose rows an INSERT ... SELECT inserts (every UNION branch)."""
    if isinstance(source, exp.Subquery):
        return _select_branches(source.this)
    if isinstance(source, exp.Select):
        return [source]
    if isinstance(source, exp.SetOperation):
        left = _select_branches(source.this)
        right = _select_branches(source.expression)
        return None if left is None or right is None else left + right
    return None


def _confine_upsert(insert: exp.Insert, node: exp.Table, column: str, marker: int) -> None:
    conflict = insert.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict):
        return
    assignments = conflict.expressions or []
    for assignment in assignments:
        target = assignment.this if isinstance(assignment, exp.EQ) else None
        if isinstance(target, exp.Column) and identifier_name(target.this) == column:
            raise TenantIsolationError(
                f"the upsert assigns {column}; a row cannot move to another tenant, so leave "
                f"{column} out of the UPDATE part"
            )
    if not assignments:
        return  # DO NOTHING: inserts A's row or nothing
    # The conflicting row may be another tenant's (a key unique across tenants): update it
    # only when it is this tenant's, else leave it as it is.
    if conflict.args.get("duplicate"):
        # MySQL ON DUPLICATE KEY UPDATE has no WHERE: each assignment keeps the old value
        # unless the row is the tenant's.
        for assignment in assignments:
            if not isinstance(assignment, exp.EQ):
                raise UnsupportedSQLError("this ON DUPLICATE KEY UPDATE clause is not supported")
            assignment.set(
                "expression",
                exp.If(
                    this=_predicate(node, column, marker),
                    true=assignment.expression.copy(),
                    false=assignment.this.copy(),
                ),
            )
        return
    where = conflict.args.get("where")
    condition = where.this if isinstance(where, exp.Where) else None
    conflict.set("where", exp.Where(this=_conjoin(condition, _predicate(node, column, marker))))
    # sqlglot writes conflict keys as ordered terms (``id NULLS LAST``), which SQLite refuses.
    keys = conflict.args.get("conflict_keys") or []
    conflict.set(
        "conflict_keys",
        [
            key.this if isinstance(key, exp.Ordered) and not key.args.get("desc") else key
            for key in keys
        ],
    )


def assigned_columns(tree: exp.Expr) -> list[str]:
    """Column names an UPDATE (or an upsert's UPDATE part) assigns."""
    found: list[str] = []
    assignments: list[exp.Expr] = []
    if isinstance(tree, exp.Update):
        assignments = list(tree.expressions)
    conflict = tree.args.get("conflict") if isinstance(tree, exp.Insert) else None
    if isinstance(conflict, exp.OnConflict):
        assignments += list(conflict.expressions or [])
    for assignment in assignments:
        target = assignment.this if isinstance(assignment, exp.EQ) else None
        if isinstance(target, exp.Column):
            found.append(identifier_name(target.this))
    return found


def session_variables(tree: exp.Expr) -> bool:
    """Whether the statement reads or writes server variables (``@@x``, ``@x := ...``)."""
    return any(True for _ in tree.find_all(exp.SessionParameter, exp.Parameter, exp.PropertyEQ))


def _display(node: exp.Table) -> str:
    return str(node.this.this) if isinstance(node.this, exp.Identifier) else "the table"


__all__ = ["assigned_columns", "confine", "session_variables"]
