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
from ._predicates import ValueRef, value_ref

_OUTER_SIDES = frozenset({"RIGHT", "FULL"})


def confine(
    tree: exp.Expr,
    nodes: Sequence[exp.Table],
    scopes: Sequence[exp.Expr],
    column: str,
    marker: int,
    dialect: str,
) -> tuple[ValueRef, ...]:
    """Rewrite ``tree`` in place so ``nodes`` (tenant-scoped references) see one tenant.

    ``scopes[i]`` is the SELECT/UPDATE/DELETE/INSERT whose FROM brings ``nodes[i]`` in;
    ``marker`` is the placeholder index the tenant id takes. Returns the values the
    statement itself writes into the tenant column (literals or placeholders), which the
    caller must check against the tenant at bind time.
    """
    condition = _Condition(column, marker, dialect)
    written: list[ValueRef] = []
    inserts = []
    for node, scope in zip(nodes, scopes, strict=True):
        if isinstance(scope, exp.Insert) and _insert_target(scope) is node:
            inserts.append((node, scope))
        else:
            _add_predicate(node, scope, condition)
    # After the conditions: the INSERT rewrite moves parts of the tree around.
    for node, scope in inserts:
        written.extend(_fill_insert(scope, node, condition))
    return tuple(written)


class _Condition:
    """``<reference>.<column> = <tenant>`` for one statement."""

    def __init__(self, column: str, marker: int, dialect: str) -> None:
        self.column = column
        self.marker = marker
        # MySQL compares strings with the column's collation, case- and accent-blind by
        # default ('a' = 'A' = 'á'): the tenant id must match byte for byte.
        self.binary = dialect == "mysql"

    def tenant(self) -> exp.Expr:
        return exp.Placeholder(this=f"{MARKER_PREFIX}{self.marker}")

    def on(self, node: exp.Table) -> exp.Expr:
        alias = node.args.get("alias")
        if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
            column = exp.Column(this=exp.to_identifier(self.column), table=alias.this.copy())
        else:
            db = node.args.get("db")
            column = exp.Column(
                this=exp.to_identifier(self.column),
                table=node.this.copy(),
                db=db.copy() if db is not None else None,
            )
        value = self.tenant()
        if self.binary:
            value = exp.Cast(this=value, to=exp.DataType.build("BINARY"))
        return exp.EQ(this=column, expression=value)


def _conjoin(existing: exp.Expr | None, predicate: exp.Expr) -> exp.Expr:
    """``(existing) AND predicate``: parenthesised, so an OR in ``existing`` cannot widen it."""
    if existing is None:
        return predicate
    if not isinstance(existing, exp.Predicate | exp.And | exp.Paren):
        existing = exp.Paren(this=existing)
    return exp.And(this=existing, expression=predicate)


def _add_predicate(node: exp.Table, scope: exp.Expr, condition: _Condition) -> None:
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
            parent.set("on", _conjoin(on, condition.on(node)))
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
    existing = where.this if isinstance(where, exp.Where) else None
    scope.set("where", exp.Where(this=_conjoin(existing, condition.on(node))))


def _insert_target(insert: exp.Insert) -> exp.Expr | None:
    target: exp.Expr | None = insert.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target


def _fill_insert(insert: exp.Insert, node: exp.Table, condition: _Condition) -> list[ValueRef]:
    name = _display(node)
    column = condition.column
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
    # Lowercased: SQLite and MySQL take "TENANT_ID" / `TENANT_ID` for tenant_id.
    names = [
        str(c.this if isinstance(c, exp.Identifier) else c.name).lower() for c in schema.expressions
    ]
    tenant = condition.tenant()
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
    positions = [i for i, n in enumerate(names) if n == column]
    for position in positions:  # every one: a column may be named twice
        for row in rows:
            item = row[position] if position < len(row) else None
            ref = value_ref(item) if item is not None and not isinstance(item, exp.Star) else None
            if ref is None or any(isinstance(e, exp.Star) for e in row[:position]):
                raise TenantIsolationError(
                    f"INSERT into {name} sets {column} to an expression; in a tenant session "
                    f"leave {column} out (tenantdb fills it in) or pass the tenant's own id"
                )
            written.append(ref)
    if not positions:
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
    _confine_upsert(insert, node, condition)
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


def _confine_upsert(insert: exp.Insert, node: exp.Table, condition: _Condition) -> None:
    column = condition.column
    conflict = insert.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict):
        return
    assignments = conflict.expressions or []
    if column in assigned_columns(insert):
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
            # The value moves into the IF (not a copy): a subquery in it is a scope whose
            # tenant condition is added on the node itself.
            value = assignment.expression
            assignment.set(
                "expression",
                exp.If(this=condition.on(node), true=value, false=assignment.this.copy()),
            )
        return
    where = conflict.args.get("where")
    existing = where.this if isinstance(where, exp.Where) else None
    conflict.set("where", exp.Where(this=_conjoin(existing, condition.on(node))))
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
        target = assignment.this if isinstance(assignment, exp.EQ) else assignment
        # ``SET (a, b) = (...)`` assigns every column of the tuple. Names are compared
        # lowercased: SQLite and MySQL match column names without regard to case, quoted
        # or not, so "TENANT_ID" may be tenant_id there.
        columns = [target] if isinstance(target, exp.Column) else target.find_all(exp.Column)
        found.extend(str(column.name).lower() for column in columns)
    return found


def shadowing_names(tree: exp.Expr) -> list[str]:
    """Names (lowercased) that the statement gives to CTEs and that a table alias column
    list renames columns of: in a tenant session a CTE named like a table, or ``t AS
    o(a, b)``, would make "the table" or "its tenant column" mean something else."""
    names = [str(cte.alias).lower() for cte in tree.find_all(exp.CTE)]
    for table in tree.find_all(exp.Table):
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.args.get("columns"):
            names.append(f"{table.name.lower()} AS {alias.name}(...)")
    return names


def session_variables(tree: exp.Expr) -> bool:
    """Whether the statement reads or writes server variables (``@@x``, ``@x := ...``)."""
    return any(True for _ in tree.find_all(exp.SessionParameter, exp.Parameter, exp.PropertyEQ))


def _display(node: exp.Table) -> str:
    return str(node.this.this) if isinstance(node.this, exp.Identifier) else "the table"


__all__ = ["assigned_columns", "confine", "session_variables", "shadowing_names"]
