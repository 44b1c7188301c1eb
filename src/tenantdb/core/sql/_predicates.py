"""Predicates on columns, extracted from WHERE and JOIN conditions, in a form the router evaluates.

A predicate is a small boolean formula whose leaves say "column ``q.c`` is constrained by
these values". Anything the extractor cannot read as such a constraint becomes ``ANY``
(no information), so pruning with a predicate can only ever keep too many shards, never
too few. ``NOT`` and functions wrapped around a column yield ``ANY``.

PostgreSQL's ``key = ANY(ARRAY[a, b])`` reads as ``key IN (a, b)``, and ``key = ANY(%s)``
with one array parameter as the op ``in_array``: the keys are the elements of that
parameter's value, known only when the statement is routed.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from typing import Literal as TypingLiteral

from sqlglot import exp

from ._placeholders import MARKER_PREFIX

Op = TypingLiteral["eq", "in", "in_array", "lt", "le", "gt", "ge", "between"]


@dataclass(frozen=True, slots=True)
class Param:
    """The value of the ``index``-th placeholder (text order)."""

    index: int


@dataclass(frozen=True, slots=True)
class Const:
    """A literal written in the SQL text."""

    value: object


ValueRef = Param | Const


@dataclass(frozen=True, slots=True)
class ColumnName:
    """A column reference as written: optional qualifier (alias or table) and name."""

    qualifier: str | None
    name: str


@dataclass(frozen=True, slots=True)
class Atom:
    """``column <op> values``; ``between`` has two values (low, high), ``in`` one or more,
    ``in_array`` one: the array whose elements the column equals one of."""

    column: ColumnName
    op: Op
    values: tuple[ValueRef, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Predicate, ...]


class _Unconstrained:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


ANY = _Unconstrained()
"""No constraint could be read: every shard may hold matching rows."""

Predicate = Atom | AllOf | AnyOf | _Unconstrained

_FLIP: dict[Op, Op] = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq"}
_COMPARISONS: dict[type[exp.Expr], Op] = {
    exp.EQ: "eq",
    exp.LT: "lt",
    exp.LTE: "le",
    exp.GT: "gt",
    exp.GTE: "ge",
}


def identifier_name(node: exp.Identifier | None) -> str:
    """Normalise an identifier the way the databases do for matching: unquoted → lowercase."""
    if node is None:
        return ""
    text = str(node.this)
    return text if node.quoted else text.lower()


def column_name(node: exp.Column) -> ColumnName:
    table = node.args.get("table")
    qualifier = identifier_name(table) if isinstance(table, exp.Identifier) else None
    ident = node.this
    name = identifier_name(ident) if isinstance(ident, exp.Identifier) else str(node.name).lower()
    return ColumnName(qualifier or None, name)


def value_ref(node: exp.Expr) -> ValueRef | None:
    """Read a placeholder or a literal; ``None`` for anything else (an expression, a column)."""
    if isinstance(node, exp.Paren):
        return value_ref(node.this)
    if isinstance(node, exp.Placeholder):
        name = str(node.this or "")
        if name.startswith(MARKER_PREFIX):
            return Param(int(name[len(MARKER_PREFIX) :]))
        return None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return Const(str(node.this))
        return Const(_number(str(node.this)))
    if isinstance(node, exp.Neg):
        inner = value_ref(node.this)
        if isinstance(inner, Const) and isinstance(inner.value, int | float | decimal.Decimal):
            return Const(-inner.value)
        return None
    if isinstance(node, exp.Boolean):
        return Const(bool(node.this))
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal | exp.Placeholder):
        # CAST('2026-01-01' AS DATE), DATE '2026-01-01': the value is the literal itself.
        return value_ref(node.this)
    if isinstance(node, exp.TsOrDsToDate | exp.Date) and isinstance(node.this, exp.Literal):
        return value_ref(node.this)
    return None


def _number(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation:
        return text


def extract(condition: exp.Expr | None) -> Predicate:
    """Turn a WHERE/ON condition into a predicate over column constraints."""
    if condition is None:
        return ANY
    if isinstance(condition, exp.Paren):
        return extract(condition.this)
    if isinstance(condition, exp.And):
        return all_of([extract(part) for part in condition.flatten()])
    if isinstance(condition, exp.Or):
        return any_of([extract(part) for part in condition.flatten()])
    op = _COMPARISONS.get(type(condition))
    if op is not None:
        left, right = condition.this, condition.expression
        if op == "eq" and isinstance(left, exp.Column) and isinstance(right, exp.Any):
            return _equals_any(left, right)
        if isinstance(left, exp.Column):
            value = value_ref(right)
            if value is not None:
                return Atom(column_name(left), op, (value,))
        if isinstance(right, exp.Column):
            value = value_ref(left)
            if value is not None:
                return Atom(column_name(right), _FLIP[op], (value,))
        return ANY
    if isinstance(condition, exp.In):
        target = condition.this
        items = condition.expressions
        if not isinstance(target, exp.Column) or not items or condition.args.get("query"):
            return ANY
        # NULL in an IN list matches no row, so it constrains nothing and prunes nothing.
        values = [value_ref(item) for item in items if not isinstance(item, exp.Null)]
        if any(v is None for v in values):
            return ANY
        return Atom(column_name(target), "in", tuple(v for v in values if v is not None))
    if isinstance(condition, exp.Between):
        target = condition.this
        low = value_ref(condition.args["low"])
        high = value_ref(condition.args["high"])
        if isinstance(target, exp.Column) and low is not None and high is not None:
            return Atom(column_name(target), "between", (low, high))
        return ANY
    return ANY


def _equals_any(column: exp.Column, any_: exp.Any) -> Predicate:
    """``column = ANY(<array>)``: an IN list when the array is written out, ``in_array`` when
    it is one parameter (``%s`` or ``%s::int[]``); anything else (a subquery, a column)
    constrains nothing."""
    inner = any_.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Array):
        items = [item for item in inner.expressions if not isinstance(item, exp.Null)]
        values = [value_ref(item) for item in items]
        if not inner.expressions or any(v is None for v in values):
            return ANY
        return Atom(column_name(column), "in", tuple(v for v in values if v is not None))
    if isinstance(inner, exp.Cast) and inner.to.is_type(exp.DataType.Type.ARRAY):
        inner = inner.this
    value = value_ref(inner) if isinstance(inner, exp.Placeholder) else None
    if isinstance(value, Param):
        return Atom(column_name(column), "in_array", (value,))
    return ANY


def all_of(parts: list[Predicate]) -> Predicate:
    kept = [p for p in parts if p is not ANY]
    if not kept:
        return ANY
    return kept[0] if len(kept) == 1 else AllOf(tuple(kept))


def any_of(parts: list[Predicate]) -> Predicate:
    if not parts or any(p is ANY for p in parts):
        return ANY
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


def conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    """The top-level AND terms of a condition (parentheses unwrapped)."""
    if condition is None:
        return []
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        out: list[exp.Expr] = []
        for part in condition.flatten():
            out.extend(conjuncts(part))
        return out
    ifs = condition.args.get("ifs") if isinstance(condition, exp.Case) else None
    if ifs and len(ifs) == 1 and condition.args.get("default") is None and not condition.this:
        # ``CASE WHEN c THEN t END`` holds exactly when c and t hold (the tenant guard).
        return [*conjuncts(ifs[0].this), *conjuncts(ifs[0].args.get("true"))]
    return [condition]


def literal_value(value: ValueRef, params: tuple[object, ...]) -> object:
    """Resolve a value reference against the statement's parameters."""
    if isinstance(value, Param):
        return params[value.index]
    return value.value


__all__ = [
    "ANY",
    "AllOf",
    "AnyOf",
    "Atom",
    "ColumnName",
    "Const",
    "Param",
    "Predicate",
    "ValueRef",
    "all_of",
    "any_of",
    "column_name",
    "conjuncts",
    "extract",
    "identifier_name",
    "literal_value",
    "value_ref",
]
