"""Merge variants: how a SELECT is rewritten to run on many shards and how the rows combine.

Each shard runs a variant of the statement whose rows can be merged exactly:
ORDER BY keys, GROUP BY keys and the COUNT that AVG needs are appended as hidden columns
when the select list lacks them; AVG becomes SUM (its COUNT hidden beside it); LIMIT n
OFFSET m becomes LIMIT n+m with no OFFSET, except for grouped queries, which return every
group. Shapes that cannot be merged exactly (HAVING, window functions, aggregates inside
expressions, COUNT(DISTINCT ...)) raise UnsupportedSQLError instead of answering wrongly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlglot import exp

from ..errors import UnsupportedSQLError
from ._predicates import ValueRef, value_ref
from ._render import Rendered, render_tree

AggregateKind = Literal["count", "sum", "min", "max", "avg", "any"]

_AGGREGATES: dict[type[exp.Expr], AggregateKind] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Min: "min",
    exp.Max: "max",
    exp.Avg: "avg",
}


@dataclass(frozen=True, slots=True)
class SortKey:
    """Sort by ``row[column]`` (negative: counted from the end of the row)."""

    column: int
    descending: bool
    nulls_first: bool


@dataclass(frozen=True, slots=True)
class AggregateColumn:
    """How to combine ``row[column]`` across shards; AVG also names its hidden COUNT."""

    column: int
    kind: AggregateKind
    count_column: int | None = None


@dataclass(frozen=True, slots=True)
class MergeShape:
    """A SELECT's multi-shard variant and the recipe for merging its rows."""

    rendered: Rendered
    order_by: tuple[SortKey, ...]
    group_by: tuple[int, ...] | None
    """Group key columns; ``()``: aggregates without GROUP BY; ``None``: not grouped."""
    aggregates: tuple[AggregateColumn, ...]
    distinct: bool
    hidden_columns: int
    """Trailing columns added for the merge, dropped before rows reach the caller."""
    limit: ValueRef | None
    offset: ValueRef | None
    shard_limit: bool
    """Whether each shard gets ``LIMIT limit+offset`` (the ``limit`` slot)."""


def merge_shape(marked: exp.Expr, dialect: str) -> MergeShape:
    """Build the multi-shard variant of a SELECT or set operation tree (with markers)."""
    tree = marked.copy()
    if isinstance(tree, exp.SetOperation):
        return _set_operation(tree, dialect)
    if not isinstance(tree, exp.Select):
        raise UnsupportedSQLError("only SELECT statements can be merged across shards")
    return _Select(tree, dialect).build()


def _limit_values(node: exp.Expr) -> tuple[ValueRef | None, ValueRef | None]:
    limit_node = node.args.get("limit")
    offset_node = node.args.get("offset")
    limit: ValueRef | None = None
    offset: ValueRef | None = None
    if limit_node is not None:
        inner = limit_node.args.get("count") if isinstance(limit_node, exp.Fetch) else None
        inner = inner if inner is not None else limit_node.args.get("expression")
        limit = value_ref(inner) if inner is not None else None
        if limit is None:
            raise UnsupportedSQLError(
                "across shards LIMIT must be a number or a parameter, not an expression"
            )
    if offset_node is not None:
        offset = value_ref(offset_node.args.get("expression") or offset_node.this)
        if offset is None:
            raise UnsupportedSQLError(
                "across shards OFFSET must be a number or a parameter, not an expression"
            )
    return limit, offset


def _push_limit(node: exp.Expr, limit: ValueRef | None, offset: ValueRef | None) -> bool:
    """Replace LIMIT/OFFSET by ``LIMIT limit+offset``; return whether a limit slot was left."""
    node.set("offset", None)
    if limit is None:
        node.set("limit", None)
        return False
    node.set("limit", exp.Limit(expression=exp.Var(this="__tdb_limit__")))
    return True


def _set_operation(tree: exp.SetOperation, dialect: str) -> MergeShape:
    order = tree.args.get("order")
    limit, offset = _limit_values(tree)
    first = tree
    while isinstance(first, exp.SetOperation):
        first = first.this
    while isinstance(first, exp.Subquery):
        first = first.this
    names = (
        [item.alias_or_name.lower() for item in first.expressions]
        if isinstance(first, exp.Select)
        else []
    )
    keys: list[SortKey] = []
    for ordered in order.expressions if isinstance(order, exp.Order) else []:
        target = ordered.this
        if isinstance(target, exp.Literal) and not target.is_string:
            index = int(str(target.this)) - 1
        elif isinstance(target, exp.Column) and target.name.lower() in names:
            index = names.index(target.name.lower())
        else:
            raise UnsupportedSQLError(
                "ORDER BY on a UNION across shards must name an output column or its position"
            )
        keys.append(
            SortKey(index, bool(ordered.args.get("desc")), bool(ordered.args.get("nulls_first")))
        )
    shard_limit = _push_limit(tree, limit, offset)
    return MergeShape(
        rendered=render_tree(tree, dialect),
        order_by=tuple(keys),
        group_by=None,
        aggregates=(),
        distinct=bool(tree.args.get("distinct")),
        hidden_columns=0,
        limit=limit,
        offset=offset,
        shard_limit=shard_limit,
    )


class _Select:
    def __init__(self, tree: exp.Select, dialect: str) -> None:
        self.tree = tree
        self.dialect = dialect
        self.items: list[exp.Expr] = list(tree.expressions)
        self.original_count = len(self.items)
        self.star_at = next(
            (
                i
                for i, item in enumerate(self.items)
                if isinstance(item, exp.Star)
                or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star))
            ),
            None,
        )

    def build(self) -> MergeShape:
        tree = self.tree
        if tree.args.get("having") is not None:
            raise UnsupportedSQLError(
                "HAVING cannot be merged across shards; filter the groups in your code, "
                "or add a sharding-key condition so one shard answers"
            )
        if any(True for _ in tree.find_all(exp.Window)) and self._window_at_top():
            raise UnsupportedSQLError(
                "window functions cannot be merged across shards; add a sharding-key condition "
                "so one shard answers"
            )
        distinct = tree.args.get("distinct") is not None
        if isinstance(tree.args.get("distinct"), exp.Distinct) and tree.args["distinct"].args.get(
            "on"
        ):
            raise UnsupportedSQLError("DISTINCT ON cannot be merged across shards")
        limit, offset = _limit_values(tree)
        group = tree.args.get("group")
        group_exprs = list(group.expressions) if isinstance(group, exp.Group) else []
        aggregates = self._aggregate_items()
        grouped = bool(group_exprs) or bool(aggregates)
        hidden: list[exp.Expr] = []
        agg_specs: list[AggregateColumn] = []
        group_keys: list[int] = []
        if grouped:
            if self.star_at is not None:
                raise UnsupportedSQLError("SELECT * cannot be combined with aggregates")
            if distinct:
                raise UnsupportedSQLError("DISTINCT with aggregates cannot be merged across shards")
            for position, kind in aggregates.items():
                if kind == "avg":
                    item = self.items[position]
                    avg = item.this if isinstance(item, exp.Alias) else item
                    assert isinstance(avg, exp.Avg)
                    replacement: exp.Expr = exp.Sum(this=avg.this.copy())
                    if isinstance(item, exp.Alias):
                        replacement = exp.alias_(replacement, item.alias)
                    self.items[position] = replacement
                    hidden.append(
                        exp.alias_(exp.Count(this=avg.this.copy()), f"tdb_hidden_{len(hidden)}")
                    )
                    agg_specs.append(
                        AggregateColumn(position, "avg", (self.original_count + len(hidden) - 1))
                    )
                else:
                    agg_specs.append(AggregateColumn(position, kind))
            for expression in group_exprs:
                found = self._find_item(expression)
                if found is None:
                    hidden.append(exp.alias_(expression.copy(), f"tdb_hidden_{len(hidden)}"))
                    found = self.original_count + len(hidden) - 1
                group_keys.append(found)
            self._check_plain_items(aggregates, group_exprs)
        order = tree.args.get("order")
        keys: list[SortKey] = []
        for ordered in order.expressions if isinstance(order, exp.Order) else []:
            found = self._find_item(ordered.this)
            if found is None:
                if distinct:
                    raise UnsupportedSQLError(
                        "with SELECT DISTINCT across shards, ORDER BY must use selected columns"
                    )
                order_kind = _AGGREGATES.get(type(ordered.this))
                if (
                    grouped
                    and order_kind is None
                    and self._find_group(ordered.this, group_exprs) is None
                ):
                    raise UnsupportedSQLError(
                        "across shards, ORDER BY of a grouped query must use a group key or an "
                        "aggregate"
                    )
                if grouped and order_kind is not None:
                    if order_kind == "avg" or (
                        _is_distinct_aggregate(ordered.this) and order_kind not in ("min", "max")
                    ):
                        raise UnsupportedSQLError(
                            "ORDER BY AVG(...) or COUNT(DISTINCT ...) across shards: select the "
                            "aggregate and order by its alias"
                        )
                    hidden.append(exp.alias_(ordered.this.copy(), f"tdb_hidden_{len(hidden)}"))
                    found = self.original_count + len(hidden) - 1
                    agg_specs.append(AggregateColumn((found), order_kind))
                else:
                    hidden.append(exp.alias_(ordered.this.copy(), f"tdb_hidden_{len(hidden)}"))
                    found = self.original_count + len(hidden) - 1
            keys.append(
                SortKey(
                    (found),
                    bool(ordered.args.get("desc")),
                    bool(ordered.args.get("nulls_first")),
                )
            )
        tree.set("expressions", self.items + hidden)
        if grouped:
            tree.set("order", None)
            tree.set("limit", None)
            tree.set("offset", None)
            shard_limit = False
        else:
            shard_limit = _push_limit(tree, limit, offset)
        total = len(self.items) + len(hidden)
        return MergeShape(
            rendered=render_tree(tree, self.dialect),
            order_by=tuple(_fix(k, total, self.star_at) for k in keys),
            group_by=tuple(_fix_index(g, total, self.star_at) for g in group_keys)
            if grouped
            else None,
            aggregates=tuple(
                AggregateColumn(
                    _fix_index(a.column, total, self.star_at),
                    a.kind,
                    None
                    if a.count_column is None
                    else _fix_index(a.count_column, total, self.star_at),
                )
                for a in agg_specs
            ),
            distinct=distinct,
            hidden_columns=len(hidden),
            limit=limit,
            offset=offset,
            shard_limit=shard_limit,
        )

    def _window_at_top(self) -> bool:
        return any(any(True for _ in item.find_all(exp.Window)) for item in self.items)

    def _aggregate_items(self) -> dict[int, AggregateKind]:
        found: dict[int, AggregateKind] = {}
        for position, item in enumerate(self.items):
            inner = item.this if isinstance(item, exp.Alias) else item
            kind = _AGGREGATES.get(type(inner))
            if kind is not None:
                if _is_distinct_aggregate(inner) and kind not in ("min", "max"):
                    raise UnsupportedSQLError(
                        f"{kind.upper()}(DISTINCT ...) cannot be merged across shards (a value "
                        "may repeat on several shards); add a sharding-key condition so one "
                        "shard answers"
                    )
                found[position] = kind
                continue
            if any(True for _ in _aggregates_in(inner)):
                raise UnsupportedSQLError(
                    f"an aggregate inside an expression ({item.sql(self.dialect)[:60]}) cannot be "
                    "merged across shards; select the aggregate alone and compute in your code"
                )
        return found

    def _check_plain_items(
        self, aggregates: dict[int, AggregateKind], group_exprs: list[exp.Expr]
    ) -> None:
        for position, item in enumerate(self.items):
            if position in aggregates:
                continue
            inner = item.this if isinstance(item, exp.Alias) else item
            if self._find_group(inner, group_exprs, position) is None and any(
                True for _ in inner.find_all(exp.Column)
            ):
                raise UnsupportedSQLError(
                    f"{inner.sql(self.dialect)[:60]} is neither grouped nor aggregated; "
                    "add it to GROUP BY"
                )

    def _find_group(
        self, expression: exp.Expr, group_exprs: list[exp.Expr], position: int | None = None
    ) -> exp.Expr | None:
        """The GROUP BY expression that ``expression`` (select item ``position``) is."""
        item = self.items[position] if position is not None else None
        alias = item.alias.lower() if isinstance(item, exp.Alias) else None
        for candidate in group_exprs:
            if candidate == expression:
                return candidate
            if (
                position is not None
                and isinstance(candidate, exp.Literal)
                and not candidate.is_string
                and int(str(candidate.this)) - 1 == position
            ):
                return candidate  # GROUP BY 1
            if (
                isinstance(candidate, exp.Column)
                and not candidate.table
                and alias is not None
                and candidate.name.lower() == alias
            ):
                return candidate  # GROUP BY the item's alias
            if (
                isinstance(candidate, exp.Column)
                and isinstance(expression, exp.Column)
                and candidate.name.lower() == expression.name.lower()
                and (
                    not candidate.table
                    or not expression.table
                    or candidate.table.lower() == expression.table.lower()
                )
            ):
                # One side unqualified: valid SQL makes the bare name unambiguous.
                return candidate
        return None

    def _find_item(self, expression: exp.Expr) -> int | None:
        if isinstance(expression, exp.Literal) and not expression.is_string:
            position = int(str(expression.this)) - 1
            if not 0 <= position < self.original_count:
                raise UnsupportedSQLError(f"ORDER BY position {position + 1} is out of range")
            return position
        for position, item in enumerate(self.items[: self.original_count]):
            inner = item.this if isinstance(item, exp.Alias) else item
            if inner == expression:
                return position
            if (
                isinstance(item, exp.Alias)
                and isinstance(expression, exp.Column)
                and not expression.table
                and item.alias.lower() == expression.name.lower()
            ):
                return position
        return None


def _aggregates_in(node: exp.Expr) -> list[exp.Expr]:
    return [n for n in node.find_all(exp.AggFunc) if not _inside_subquery(n, node)]


def _inside_subquery(node: exp.Expr, root: exp.Expr) -> bool:
    current = node.parent
    while current is not None and current is not root:
        if isinstance(current, exp.Subquery | exp.Select):
            return True
        current = current.parent
    return False


def _is_distinct_aggregate(node: exp.Expr) -> bool:
    return isinstance(node, exp.AggFunc) and isinstance(node.this, exp.Distinct)


def _fix_index(position: int, total: int, star_at: int | None) -> int:
    """Positions after a ``*`` are only known from the end of the row."""
    if star_at is not None and position > star_at:
        return position - total
    return position


def _fix(key: SortKey, total: int, star_at: int | None) -> SortKey:
    return SortKey(_fix_index(key.column, total, star_at), key.descending, key.nulls_first)


__all__ = ["AggregateColumn", "AggregateKind", "MergeShape", "SortKey", "merge_shape"]
