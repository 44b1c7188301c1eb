"""Merge variants: how a SELECT is rewritten to run on many shards and how the rows combine.

Each shard runs a variant of the statement whose rows can be merged exactly:
ORDER BY keys, GROUP BY keys and the COUNT that AVG needs are appended as hidden columns
when the select list lacks them; AVG becomes SUM (its COUNT hidden beside it); LIMIT n
OFFSET m becomes LIMIT n+m with no OFFSET, except for grouped queries, which return every
group. Shapes that cannot be merged exactly (HAVING, window functions, aggregates inside
expressions, COUNT(DISTINCT ...)) raise UnsupportedSQLError instead of answering wrongly.

Names resolve as the databases resolve them (PostgreSQL, MariaDB and SQLite agree): a bare
name in GROUP BY is a column of the FROM tables before it is an output alias; a bare name in
ORDER BY is an output column first; names inside ORDER BY expressions are input columns.
Without a catalog tenantdb knows a name is a column only when the statement uses it as one
(in the select list, WHERE, ON, USING, or qualified); GROUP BY of an alias that shadows no
known column but is not that bare column itself is refused, since the database may group by
a column of that name.

``FETCH FIRST n ROWS WITH TIES`` (PostgreSQL) runs on each shard as ``FETCH FIRST
offset+n ROWS WITH TIES``: every shard returns its rows tied with its last one, so the merge
can keep every row tied with the n-th.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from ...errors import UnsupportedSQLError
from ._dialects import sqlglot_dialect
from ._placeholders import scan
from ._predicates import ValueRef, value_ref
from ._render import Rendered, check_round_trip, render_tree

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
    """How to combine ``row[column]`` across shards; AVG also names its hidden COUNT and SUM.

    An AVG column holds each shard's own AVG (so the result keeps the database's name and
    type); the merged value is ``row[sum_column] / row[count_column]``, typed like it.
    """

    column: int
    kind: AggregateKind
    count_column: int | None = None
    sum_column: int | None = None


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
    with_ties: bool = False
    """``FETCH ... WITH TIES``: rows tied (on ``order_by``) with the last one are kept too."""


def merge_shape(
    marked: exp.Expr,
    dialect: str,
    sql: str | None = None,
    *,
    rewrite: Callable[[exp.Expr], object] | None = None,
) -> MergeShape:
    """Build the multi-shard variant of a SELECT or set operation tree (with markers).

    ``sql``: the statement's text, so that select items the variant spells differently
    keep the column name the database derives from the text (MariaDB and SQLite name an
    unaliased expression by its text: ``count(*)``, not ``COUNT(*)``).

    ``rewrite`` changes the finished variant tree in place before it is rendered (the
    merge recipe is decided before it runs, so it must keep every column where it is).
    """
    tree = marked.copy()
    if isinstance(tree, exp.SetOperation):
        return _set_operation(tree, dialect, rewrite)
    if not isinstance(tree, exp.Select):
        raise UnsupportedSQLError("only SELECT statements can be merged across shards")
    names = _written_names(tree, sql, dialect) if sql is not None else {}
    return _Select(tree, dialect, names, rewrite).build()


def _with_ties(node: exp.Expr, dialect: str) -> bool:
    """Whether the statement ends with ``FETCH ... WITH TIES``; refuses what cannot merge."""
    fetch = node.args.get("limit")
    options = fetch.args.get("limit_options") if isinstance(fetch, exp.Fetch) else None
    if options is None:
        return False
    if options.args.get("percent"):
        raise UnsupportedSQLError(
            "FETCH ... PERCENT cannot be merged across shards (the share of each shard is not "
            "the share of all rows); fetch a number of rows"
        )
    if not options.args.get("with_ties"):
        return False
    if dialect != "postgres":
        raise UnsupportedSQLError(
            "FETCH ... WITH TIES is merged across shards on PostgreSQL only; on this "
            "database order by a unique column too and use LIMIT, or add a sharding-key "
            "condition so one shard answers"
        )
    if not isinstance(node.args.get("order"), exp.Order):
        raise UnsupportedSQLError("FETCH ... WITH TIES needs an ORDER BY")
    return True


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


def _push_limit(
    node: exp.Expr, limit: ValueRef | None, offset: ValueRef | None, with_ties: bool = False
) -> bool:
    """Replace LIMIT/OFFSET by ``LIMIT limit+offset``; return whether a limit slot was left."""
    node.set("offset", None)
    if limit is None:
        node.set("limit", None)
        return False
    slot = exp.Var(this="__tdb_limit__")
    if with_ties:
        # Each shard keeps its own ties with its (offset+limit)-th row.
        node.args["limit"].set("count", slot)
    else:
        node.set("limit", exp.Limit(expression=slot))
    return True


def _set_operation(
    tree: exp.SetOperation, dialect: str, rewrite: Callable[[exp.Expr], object] | None
) -> MergeShape:
    order = tree.args.get("order")
    with_ties = _with_ties(tree, dialect)
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
    shard_limit = _push_limit(tree, limit, offset, with_ties)
    if rewrite is not None:
        rewrite(tree)
    return MergeShape(
        rendered=render_tree(tree, dialect, check_round_trip(tree, dialect)),
        order_by=tuple(keys),
        group_by=None,
        aggregates=(),
        distinct=bool(tree.args.get("distinct")),
        hidden_columns=0,
        limit=limit,
        offset=offset,
        shard_limit=shard_limit,
        with_ties=with_ties,
    )


class _Select:
    def __init__(
        self,
        tree: exp.Select,
        dialect: str,
        names: dict[int, str],
        rewrite: Callable[[exp.Expr], object] | None = None,
    ) -> None:
        self.tree = tree
        self.dialect = dialect
        self.names = names
        self.rewrite = rewrite
        self.items: list[exp.Expr] = list(tree.expressions)
        self.original_count = len(self.items)
        self.known_columns = _known_columns(tree)
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
        with_ties = _with_ties(tree, self.dialect)
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
                    # The shard's AVG stays (its name and type are the database's); the
                    # merge divides the hidden SUM by the hidden COUNT.
                    item = self.items[position]
                    avg = item.this if isinstance(item, exp.Alias) else item
                    assert isinstance(avg, exp.Avg)
                    hidden.append(
                        exp.alias_(exp.Sum(this=avg.this.copy()), f"tdb_hidden_{len(hidden)}")
                    )
                    hidden.append(
                        exp.alias_(exp.Count(this=avg.this.copy()), f"tdb_hidden_{len(hidden)}")
                    )
                    total_at = self.original_count + len(hidden) - 2
                    agg_specs.append(AggregateColumn(position, "avg", total_at + 1, total_at))
                else:
                    agg_specs.append(AggregateColumn(position, kind))
            for expression in group_exprs:
                found = self._find_group_item(expression)
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
        for position, name in self.names.items():
            item = self.items[position]
            if not isinstance(item, exp.Alias) and _needs_name(item, name, self.dialect):
                if self.dialect == "postgres":
                    name = name.partition("(")[0].strip().lower()
                self.items[position] = exp.alias_(item, name, quoted=True)
        tree.set("expressions", self.items + hidden)
        if grouped:
            tree.set("order", None)
            tree.set("limit", None)
            tree.set("offset", None)
            shard_limit = False
        else:
            shard_limit = _push_limit(tree, limit, offset, with_ties)
        total = len(self.items) + len(hidden)
        if self.rewrite is not None:
            self.rewrite(tree)
        return MergeShape(
            rendered=render_tree(tree, self.dialect, check_round_trip(tree, self.dialect)),
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
                    None if a.sum_column is None else _fix_index(a.sum_column, total, self.star_at),
                )
                for a in agg_specs
            ),
            distinct=distinct,
            hidden_columns=len(hidden),
            limit=limit,
            offset=offset,
            shard_limit=shard_limit,
            with_ties=with_ties,
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

    def _find_group_item(self, expression: exp.Expr) -> int | None:
        """The select item a GROUP BY expression is; ``None``: group by a hidden column.

        A bare name is a column of the FROM tables before it is an output alias.
        """
        if isinstance(expression, exp.Column) and not expression.table:
            name = expression.name.lower()
            shadowing = [
                item
                for item in self.items[: self.original_count]
                if isinstance(item, exp.Alias)
                and item.alias.lower() == name
                and not _is_bare_column(item.this, name)
            ]
            if shadowing:
                if name not in self.known_columns:
                    written = shadowing[0].sql(self.dialect)[:60]
                    raise UnsupportedSQLError(
                        f"GROUP BY {expression.name} names the output column {written}, and "
                        f"the database groups by a table column {expression.name} instead if "
                        "one exists, which tenantdb cannot see across shards; write the "
                        "expression itself or its position (GROUP BY 1) to group by the "
                        f"output column, or qualify the table column (GROUP BY "
                        f"t.{expression.name})"
                    )
                # The table column: the item that is that bare column, else a hidden one.
                for position, item in enumerate(self.items[: self.original_count]):
                    if _is_bare_column(_unaliased(item), name):
                        return position
                return None
        return self._find_item(expression, "GROUP BY")

    def _find_item(self, expression: exp.Expr, clause: str = "ORDER BY") -> int | None:
        """The select item an ORDER BY expression is: a bare name is an output column first."""
        if isinstance(expression, exp.Literal) and not expression.is_string:
            position = int(str(expression.this)) - 1
            if not 0 <= position < self.original_count:
                raise UnsupportedSQLError(f"{clause} position {position + 1} is out of range")
            return position
        items = self.items[: self.original_count]
        if isinstance(expression, exp.Column) and not expression.table:
            name = expression.name.lower()
            named = [p for p, item in enumerate(items) if _output_name(item) == name]
            if len(named) > 1 and len({_unaliased(items[p]) for p in named}) > 1:
                raise UnsupportedSQLError(
                    f"{clause} {expression.name} is ambiguous: several output columns have "
                    "that name; use an alias or a position"
                )
            if named:
                return named[0]
        for position, item in enumerate(items):
            if _unaliased(item) == expression:
                return position
        return None


_SELECT_LIST_END = frozenset({TokenType.COMMA, TokenType.FROM, TokenType.SEMICOLON})
_SUBQUERY_KEYWORDS = frozenset({TokenType.SELECT, TokenType.DISTINCT, TokenType.ALL})


def _written_names(tree: exp.Select, sql: str, dialect: str) -> dict[int, str]:
    """Select item → its text as written, for unaliased expressions (not bare columns).

    Positions come from the parser's token offsets in the scanned text (placeholders
    already replaced by markers; items containing one are left out: the database names
    them from the bound value).
    """
    unnamed = [
        (position, item)
        for position, item in enumerate(tree.expressions)
        if not isinstance(item, exp.Alias | exp.Star | exp.Column)
        and not any(True for _ in item.find_all(exp.Placeholder))
    ]
    if not unnamed:
        return {}  # nothing to name: no need to tokenize the text again
    text = scan(sql, dialect).text
    try:
        tokens = sqlglot_dialect(dialect).tokenize(text)
    except Exception:  # names are cosmetic here; never fail a statement over them
        return {}
    by_start = {token.start: index for index, token in enumerate(tokens)}
    names: dict[int, str] = {}
    for position, item in unnamed:
        starts = [n.meta["start"] for n in item.walk() if "start" in n.meta]
        index = by_start.get(min(starts)) if starts else None
        if index is None:
            continue
        # A scalar subquery starts at its parenthesis: its SELECT (and DISTINCT) keywords
        # carry no node position.
        if isinstance(item, exp.Subquery):
            back = index
            while back > 0 and tokens[back - 1].token_type in _SUBQUERY_KEYWORDS:
                back -= 1
            if back > 0 and tokens[back - 1].token_type == TokenType.L_PAREN:
                index = back
        # An opening parenthesis before the first node with a position belongs to the item.
        while index > 0 and tokens[index - 1].token_type == TokenType.L_PAREN:
            index -= 1
        depth = 0
        last = index
        for at in range(index, len(tokens)):
            kind = tokens[at].token_type
            if depth == 0 and kind in _SELECT_LIST_END:
                break
            if kind == TokenType.L_PAREN:
                depth += 1
            elif kind == TokenType.R_PAREN:
                depth -= 1
                if depth < 0:
                    break
            last = at
        names[position] = text[tokens[index].start : tokens[last].end + 1]
    return names


def _needs_name(item: exp.Expr, written: str, dialect: str) -> bool:
    """Whether the variant's spelling of ``item`` would give its column another name."""
    if dialect != "postgres":
        return item.sql(sqlglot_dialect(dialect)) != written  # the name is the text itself
    # PostgreSQL names a function call after the function: only a renamed call differs.
    if not isinstance(item, exp.Func):
        return False
    generated = item.sql(sqlglot_dialect(dialect))
    return generated.partition("(")[0].lower() != written.partition("(")[0].lower()


def _unaliased(item: exp.Expr) -> exp.Expr:
    return item.this if isinstance(item, exp.Alias) else item


def _output_name(item: exp.Expr) -> str | None:
    """The name a select item's output column has (lowercase), if any."""
    if isinstance(item, exp.Alias):
        return item.alias.lower()
    if isinstance(item, exp.Column) and not isinstance(item.this, exp.Star):
        return item.name.lower()
    return None


def _is_bare_column(node: exp.Expr, name: str) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() == name


def _known_columns(tree: exp.Select) -> frozenset[str]:
    """Names the statement itself uses as columns of its FROM tables (lowercase).

    The select list, WHERE and ON cannot name an output alias in PostgreSQL and MariaDB
    (SQLite's WHERE can, but prefers a column), USING names columns, and a qualified name
    is a column wherever it stands. Subqueries are left out: their names may be their own.
    """
    names: set[str] = set()
    parts: list[exp.Expr] = list(tree.expressions)
    where = tree.args.get("where")
    if where is not None:
        parts.append(where)
    for join in tree.args.get("joins") or ():
        if join.args.get("on") is not None:
            parts.append(join.args["on"])
        for used in join.args.get("using") or ():
            names.add(used.name.lower())
    for part in parts:
        for found in part.find_all(exp.Column):
            if not _inside_subquery(found, part) and not isinstance(found.this, exp.Star):
                names.add(found.name.lower())
    for clause in (tree.args.get("group"), tree.args.get("order")):
        if clause is None:
            continue
        for found in clause.find_all(exp.Column):
            if found.table and not _inside_subquery(found, clause):
                names.add(found.name.lower())
    return frozenset(names)


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
