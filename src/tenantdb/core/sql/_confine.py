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

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlglot import exp

from ...errors import TenantIsolationError, UnsupportedSQLError
from ._placeholders import MARKER_PREFIX
from ._predicates import Param, ValueRef, conjuncts, identifier_name, value_ref

_OUTER_SIDES = frozenset({"RIGHT", "FULL"})


@dataclass(frozen=True, slots=True)
class Written:
    """What an INSERT of a tenant session writes into the tenant column itself.

    ``values``: each value the statement writes there (a literal or a placeholder); each
    must be the session's tenant, checked when parameters are bound.
    ``fills``: the placeholders among ``values`` where ``None`` stands for the session's
    tenant (a VALUES row, or the one SELECT of an INSERT ... SELECT): the binder puts the
    tenant's id there.
    ``slots``: every placeholder that stands for the tenant column: those of ``fills`` and
    those compared with a column of that name (``ON CONFLICT ... WHERE t.tenant_id =
    %(tenant_id)s``). A named parameter of ``fills`` that is None takes the tenant's id in
    every place it is used, so only when each of them is one of these.
    """

    values: tuple[ValueRef, ...] = ()
    fills: frozenset[int] = frozenset()
    slots: frozenset[int] = frozenset()


def confine(
    tree: exp.Expr,
    nodes: Sequence[exp.Table],
    scopes: Sequence[exp.Expr],
    column: str,
    marker: int,
    dialect: str,
    fill_only: Collection[int] = (),
) -> Written:
    """Rewrite ``tree`` in place so ``nodes`` (tenant-scoped references) see one tenant.

    ``scopes[i]`` is the SELECT/UPDATE/DELETE/INSERT whose FROM brings ``nodes[i]`` in;
    ``marker`` is the placeholder index the tenant id takes. Returns what the statement
    itself writes into the tenant column (``Written``), which the caller must check
    against the tenant, and fill in where a parameter is None, at bind time. A literal
    ``NULL`` or the ``DEFAULT`` keyword written there becomes the tenant in the tree, like
    a column left out.

    ``fill_only`` (positions in ``nodes``) are references whose table the tenant has to
    itself (a schema-isolated tenant's own schema): an INSERT into one gets the tenant
    column filled in like any other, but no condition is added anywhere, so rows stored
    without the column stay the tenant's to read, update and upsert.

    Each tenant condition goes where its reference's rows enter (the WHERE, or the ON of
    the join that brings it in), and every condition of the statement's own that could
    raise an error is evaluated only inside ``CASE WHEN <tenant conditions> THEN ... END``:
    whatever order the database evaluates conditions in, no expression of the statement
    runs on another tenant's row (an error would carry that row's values, or tell by its
    presence what the row holds). Conditions that cannot raise (a column compared with a
    value or another column) stay outside, so indexes still serve them.
    """
    condition = _Condition(column, marker, dialect)
    compared = _compared_with_column(tree, column)
    # MySQL's strict mode makes a string-to-number conversion warning an error in a
    # statement that writes, and the error quotes the row's value.
    strict = dialect == "mysql" and isinstance(tree, exp.Insert | exp.Update | exp.Delete)
    written = Written()
    inserts = []
    by_scope: dict[int, _ScopeRefs] = {}
    for position, (node, scope) in enumerate(zip(nodes, scopes, strict=True)):
        guarded = position not in fill_only
        if isinstance(scope, exp.Insert) and _insert_target(scope) is node:
            inserts.append((node, scope, guarded))
            continue
        if not guarded:
            continue
        join = _placement(node, scope, strict)
        by_scope.setdefault(id(scope), _ScopeRefs(scope)).add(node, join)
    for refs in by_scope.values():
        refs.confine(condition, strict)
    # After the conditions: the INSERT rewrite moves parts of the tree around.
    for node, scope, guarded in inserts:
        one = _fill_insert(scope, node, condition, guarded)
        written = Written(
            written.values + one.values, written.fills | one.fills, written.slots | one.fills
        )
    if written.fills:
        written = Written(written.values, written.fills, written.slots | compared)
    return written


def _compared_with_column(tree: exp.Expr, column: str) -> frozenset[int]:
    """Placeholders compared for equality with a column named ``column`` anywhere in
    ``tree`` (names compared lowercased, as the INSERT column list is)."""
    found: set[int] = set()
    for node in tree.find_all(exp.EQ, exp.NullSafeEQ):
        sides = (node.this, node.expression)
        if not any(
            isinstance(side, exp.Column) and str(side.name).lower() == column for side in sides
        ):
            continue
        for side in sides:
            ref = value_ref(side)
            if isinstance(ref, Param):
                found.add(ref.index)
    return frozenset(found)


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

    def column_of(self, node: exp.Table) -> exp.Column:
        alias = node.args.get("alias")
        if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
            return exp.Column(this=exp.to_identifier(self.column), table=alias.this.copy())
        db = node.args.get("db")
        return exp.Column(
            this=exp.to_identifier(self.column),
            table=node.this.copy(),
            db=db.copy() if db is not None else None,
        )

    def on(self, node: exp.Table) -> exp.Expr:
        value = self.tenant()
        if self.binary:
            value = exp.Cast(this=value, to=exp.DataType.build("BINARY"))
        return exp.EQ(this=self.column_of(node), expression=value)

    def on_nullable(self, node: exp.Table) -> exp.Expr:
        """The condition for a LEFT-joined reference, true on its null-extended rows too
        (its ON already keeps its real rows to the tenant)."""
        return exp.Paren(
            this=exp.Or(
                this=self.on(node),
                expression=exp.Is(this=self.column_of(node), expression=exp.Null()),
            )
        )


def _conjoin(existing: exp.Expr | None, predicate: exp.Expr) -> exp.Expr:
    """``(existing) AND predicate``: parenthesised, so an OR in ``existing`` cannot widen it."""
    if existing is None:
        return predicate
    return exp.And(this=_operand(existing), expression=_operand(predicate))


def _operand(term: exp.Expr) -> exp.Expr:
    """``term`` safe as an operand of AND (an OR, a NOT ... is parenthesised)."""
    if isinstance(term, exp.Predicate | exp.And | exp.Paren | exp.Case):
        return term
    return exp.Paren(this=term)


def _all(terms: Sequence[exp.Expr]) -> exp.Expr | None:
    result: exp.Expr | None = None
    for term in terms:
        result = _conjoin(result, term)
    return result


def _joins_of(scope: exp.Expr) -> list[exp.Join]:
    joins = list(scope.args.get("joins") or [])
    if isinstance(scope.this, exp.Table):  # MySQL UPDATE a JOIN b ...: joins hang on the table
        joins += list(scope.this.args.get("joins") or [])
    return joins


def _placement(node: exp.Table, scope: exp.Expr, strict: bool) -> exp.Join | None:
    """The join whose ON takes ``node``'s tenant condition, or None for the WHERE; refuses
    the shapes where adding it would change the statement's meaning."""
    name = _display(node)
    joins = _joins_of(scope)
    if any(str(join.args.get("side") or "").upper() in _OUTER_SIDES for join in joins):
        raise UnsupportedSQLError(
            f"RIGHT and FULL joins are not supported with tenant table {name} in a tenant "
            "session (the tenant condition would change which rows are kept); write the join "
            "as a LEFT JOIN from the other side"
        )
    if strict and any(join.args.get("using") or join.args.get("method") for join in joins):
        raise UnsupportedSQLError(
            f"JOIN ... USING or NATURAL JOIN with tenant table {name} is not supported in a "
            "tenant session's writes on MySQL; write the join condition with ON"
        )
    if not isinstance(scope, exp.Select | exp.Update | exp.Delete):
        raise UnsupportedSQLError(
            f"tenant table {name} appears where tenantdb cannot add the tenant condition"
        )
    parent = node.parent
    if isinstance(parent, exp.Join):
        side = str(parent.args.get("side") or "").upper()
        if parent.args.get("on") is not None:
            return parent
        if side == "LEFT":
            raise UnsupportedSQLError(
                f"LEFT JOIN {name} with USING or NATURAL is not supported in a tenant session; "
                "write the join condition with ON"
            )
        return None
    if (
        parent is not scope
        and not isinstance(parent, exp.From | exp.Update | exp.Delete)
        and not (isinstance(scope, exp.Delete) and node in (scope.args.get("using") or []))
    ):
        raise UnsupportedSQLError(
            f"tenant table {name} appears where tenantdb cannot add the tenant condition; "
            "name it in a FROM or JOIN clause"
        )
    return None


class _ScopeRefs:
    """The tenant-scoped references of one SELECT/UPDATE/DELETE and where each enters."""

    def __init__(self, scope: exp.Expr) -> None:
        self.scope = scope
        self.nodes: list[exp.Table] = []
        self.joins: dict[int, exp.Join | None] = {}

    def add(self, node: exp.Table, join: exp.Join | None) -> None:
        self.nodes.append(node)
        self.joins[id(node)] = join

    def _nullable(self, node: exp.Table) -> bool:
        parent = node.parent
        return isinstance(parent, exp.Join) and str(parent.args.get("side") or "").upper() == "LEFT"

    def _guard_of(
        self, condition: _Condition, nodes: Sequence[exp.Table], own: exp.Table | None
    ) -> exp.Expr:
        terms = [
            condition.on_nullable(node)
            if node is not own and self._nullable(node)
            else condition.on(node)
            for node in nodes
        ]
        guard = _all(terms)
        assert guard is not None
        return guard

    def confine(self, condition: _Condition, strict: bool) -> None:
        scope = self.scope
        in_where = [node for node in self.nodes if self.joins[id(node)] is None]
        for join in _joins_of(scope):
            owned = [node for node in self.nodes if self.joins[id(node)] is join]
            if not owned:
                on = join.args.get("on")
                if on is None:
                    continue
                seen = self._referenced(on, join)
                if not seen:
                    continue
                join.set("on", _guarded([], on, self._guard_of(condition, seen, None), strict))
                continue
            on = join.args.get("on")
            own = owned[0]
            seen = [n for n in self._referenced(on, join) if n is not own]
            join.set(
                "on",
                _guarded(
                    [condition.on(own)],
                    on,
                    self._guard_of(condition, [own, *seen], own),
                    strict,
                ),
            )
        where = scope.args.get("where")
        existing = where.this if isinstance(where, exp.Where) else None
        tenant = [condition.on(node) for node in in_where]
        if existing is None and not tenant:
            return
        guard = self._guard_of(condition, self.nodes, None)
        scope.set("where", exp.Where(this=_guarded(tenant, existing, guard, strict)))

    def _referenced(self, on: exp.Expr | None, join: exp.Join) -> list[exp.Table]:
        """The tenant references an ON condition may read: those its columns name, and,
        when a column names no table, every reference before the join in its chain."""
        if on is None:
            return []
        names = {_qualifier(node): node for node in self.nodes}
        found: dict[int, exp.Table] = {}
        unqualified = False
        for col in on.find_all(exp.Column):
            if col.find_ancestor(exp.Select, exp.Join) is not join:
                continue  # inside a subquery: its own scope guards it
            table = col.args.get("table")
            if isinstance(table, exp.Identifier):
                node = names.get(identifier_name(table))
                if node is not None:
                    found[id(node)] = node
            else:
                unqualified = True
        if unqualified:
            for node in self._chain_before(join):
                found[id(node)] = node
        return list(found.values())

    def _chain_before(self, join: exp.Join) -> list[exp.Table]:
        """References an ON can see: the joins before it back to a comma join, and the
        FROM table when no comma join intervenes (PostgreSQL scoping, the narrowest)."""
        joins = _joins_of(self.scope)
        position = next(i for i, j in enumerate(joins) if j is join)
        visible: list[exp.Expr] = [join.this]
        for earlier in reversed(joins[:position]):
            visible.append(earlier.this)
            if earlier.args.get("on") is None and not earlier.args.get("using"):
                break
        else:
            source = self.scope.args.get("from") or self.scope.args.get("from_")
            if isinstance(source, exp.From):
                visible.append(source.this)
            if isinstance(self.scope.this, exp.Table) and join in (
                self.scope.this.args.get("joins") or []
            ):
                visible.append(self.scope.this)
        return [node for node in self.nodes if any(node is v for v in visible)]


def _qualifier(node: exp.Table) -> str:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and isinstance(alias.this, exp.Identifier):
        return identifier_name(alias.this)
    return identifier_name(node.this) if isinstance(node.this, exp.Identifier) else ""


def _guarded(
    tenant: Sequence[exp.Expr], existing: exp.Expr | None, guard: exp.Expr, strict: bool
) -> exp.Expr:
    """``tenant AND <error-free terms> AND CASE WHEN guard THEN (<other terms>) END``."""
    terms = [*tenant]
    risky: list[exp.Expr] = []
    for term in conjuncts(existing):
        (terms if _error_free(term, strict) else risky).append(term)
    rest = _all(risky)
    if rest is not None:
        terms.append(exp.Case(ifs=[exp.If(this=guard, true=exp.Paren(this=rest))]))
    result = _all(terms)
    assert result is not None
    return result


_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)


def _error_free(term: exp.Expr, strict: bool) -> bool:
    """Whether evaluating ``term`` on any row can raise no error: comparisons of a column
    with a value or another column (and AND/OR/NOT of those). A constant's own conversion
    error does not depend on the row. Under MySQL's strict writes a string column compared
    with a number raises per row, so only comparisons with strings qualify there."""
    if isinstance(term, exp.Paren):
        return _error_free(term.this, strict)
    if isinstance(term, exp.And | exp.Or):
        return _error_free(term.this, strict) and _error_free(term.expression, strict)
    if isinstance(term, exp.Not):
        return _error_free(term.this, strict)
    if isinstance(term, exp.Is):
        return isinstance(term.this, exp.Column) and isinstance(term.expression, exp.Null)
    if isinstance(term, _COMPARISONS):
        sides = (term.this, term.expression)
        if all(isinstance(side, exp.Column) for side in sides):
            return not strict
        return any(isinstance(side, exp.Column) for side in sides) and all(
            isinstance(side, exp.Column) or _safe_value(side, strict) for side in sides
        )
    if isinstance(term, exp.In):
        values = term.expressions
        return (
            isinstance(term.this, exp.Column)
            and not term.args.get("query")
            and bool(values)
            and all(_safe_value(v, strict) for v in values)
        )
    if isinstance(term, exp.Between):
        return isinstance(term.this, exp.Column) and all(
            _safe_value(term.args.get(k), strict) for k in ("low", "high")
        )
    return False


def _safe_value(value: exp.Expr | None, strict: bool) -> bool:
    if isinstance(value, exp.Null):
        return True
    if isinstance(value, exp.Literal):
        return value.is_string or not strict
    if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
        return not value.this.is_string and not strict
    if isinstance(value, exp.Placeholder):
        return not strict
    if isinstance(value, exp.Boolean):
        return not strict
    return False


def _insert_target(insert: exp.Insert) -> exp.Expr | None:
    target: exp.Expr | None = insert.this
    if isinstance(target, exp.Schema):
        target = target.this
    return target


def _fill_insert(
    insert: exp.Insert, node: exp.Table, condition: _Condition, guarded: bool
) -> Written:
    """Put the tenant into the tenant column of every row; ``guarded``: the table holds
    other tenants' rows too, so a conflict may meet one of theirs.

    Where the statement names the column, a literal NULL or DEFAULT becomes the tenant and
    a placeholder is recorded for the binder (``Written``), in VALUES rows and in the one
    SELECT of an INSERT ... SELECT. In a UNION's branches NULL is refused: with UNION
    (distinct) a branch's NULL row and another branch's tenant row would merge once the
    NULL became the tenant, so fewer rows would be inserted than the statement says."""
    name = _display(node)
    column = condition.column
    if guarded and (insert.args.get("alternative") or insert.args.get("overwrite")):
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
    # NULL (or None) may stand for the tenant where it is one row's value: VALUES rows, or
    # the one SELECT whose rows are inserted (see the docstring for a UNION).
    fillable = isinstance(source, exp.Values) or (
        branches is not None and len(branches) == 1 and not isinstance(source, exp.SetOperation)
    )
    written: list[ValueRef] = []
    fills: set[int] = set()
    positions = [i for i, n in enumerate(names) if n == column]
    for position in positions:  # every one: a column may be named twice
        for row in rows:
            item = row[position] if position < len(row) else None
            if any(isinstance(e, exp.Star) for e in row[: position + 1]):
                item = None
            value = item.this if isinstance(item, exp.Alias) else item
            if value is not None and _means_tenant(value, isinstance(source, exp.Values)):
                if not fillable:
                    raise TenantIsolationError(
                        f"INSERT into {name} sets {column} to NULL in a UNION, where tenantdb "
                        f"cannot fill in the tenant exactly; leave {column} out of the column "
                        "list (tenantdb fills it in) or select the tenant's own id"
                    )
                value.replace(tenant.copy())
                continue
            ref = value_ref(value) if value is not None else None
            if ref is None:
                raise TenantIsolationError(
                    f"INSERT into {name} sets {column} to an expression; in a tenant session "
                    f"leave {column} out (tenantdb fills it in), write NULL or DEFAULT, or "
                    "pass the tenant's own id"
                )
            written.append(ref)
            if fillable and isinstance(ref, Param):
                fills.add(ref.index)
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
    _confine_upsert(insert, node, condition, guarded)
    return Written(tuple(written), frozenset(fills))


def _means_tenant(value: exp.Expr, in_values: bool) -> bool:
    """A literal NULL, or (in a VALUES row) the DEFAULT keyword: the session's tenant."""
    while isinstance(value, exp.Paren):
        value = value.this
    if isinstance(value, exp.Null):
        return True
    return in_values and isinstance(value, exp.Var) and str(value.this).upper() == "DEFAULT"


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


def _confine_upsert(
    insert: exp.Insert, node: exp.Table, condition: _Condition, guarded: bool
) -> None:
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
    _plain_conflict_keys(conflict)
    if not guarded:
        return  # every row the conflict can meet is the tenant's own
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
    # The conflicting row is evaluated before anything proves it the tenant's: guard the
    # statement's own condition like a WHERE.
    where = conflict.args.get("where")
    existing = where.this if isinstance(where, exp.Where) else None
    confined = _guarded([condition.on(node)], existing, condition.on(node), strict=False)
    conflict.set("where", exp.Where(this=confined))


def _plain_conflict_keys(conflict: exp.OnConflict) -> None:
    """sqlglot writes conflict keys as ordered terms (``id NULLS LAST``), which SQLite
    refuses; a regenerated upsert names them plainly."""
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


def written_qualifiers(tree: exp.Expr) -> set[str] | None:
    """For a MySQL multi-table UPDATE or DELETE: the names (aliases or tables, lowercased)
    whose rows it writes, or None when a written column names no table."""
    if isinstance(tree, exp.Delete):
        tables = tree.args.get("tables") or [tree.this]
        return {str(t.name).lower() for t in tables if isinstance(t, exp.Table)}
    if not isinstance(tree, exp.Update):
        return set()
    found: set[str] = set()
    for assignment in tree.expressions:
        target = assignment.this if isinstance(assignment, exp.EQ) else assignment
        for column in [target] if isinstance(target, exp.Column) else target.find_all(exp.Column):
            if not column.table:
                return None
            found.add(str(column.table).lower())
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


def plan_hints(tree: exp.Expr) -> list[str]:
    """Index and optimizer hints the statement gives (``FORCE INDEX``, ``INDEXED BY``,
    ``NOT INDEXED``, ``STRAIGHT_JOIN``, ``/*+ ... */``): levers on the plan, and so on the
    order in which the database evaluates conditions."""
    found: list[str] = []
    for node in tree.walk():
        if isinstance(node, exp.Hint):
            found.append("/*+ ... */")
        elif isinstance(node, exp.Table):
            if node.args.get("hints"):
                found.append("index hints (USE/FORCE/IGNORE INDEX)")
            if node.args.get("indexed") is not None:
                found.append("INDEXED BY / NOT INDEXED")
        found.extend(str(m.name).upper() for m in node.args.get("operation_modifiers") or [])
        if any(str(comment).lstrip().startswith("+") for comment in node.comments or []):
            found.append("/*+ ... */")
    return found


def session_variables(tree: exp.Expr) -> bool:
    """Whether the statement reads or writes server variables (``@@x``, ``@x := ...``)."""
    return any(True for _ in tree.find_all(exp.SessionParameter, exp.Parameter, exp.PropertyEQ))


def _display(node: exp.Table) -> str:
    return str(node.this.this) if isinstance(node.this, exp.Identifier) else "the table"


__all__ = [
    "Written",
    "assigned_columns",
    "confine",
    "plan_hints",
    "session_variables",
    "shadowing_names",
    "written_qualifiers",
]
