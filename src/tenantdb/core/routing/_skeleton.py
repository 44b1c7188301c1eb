"""Plan skeletons: the targets of a routed statement without their parameters, cached.

Routing a scan over thousands of physical tables spends its time naming tables and joining
SQL text, and none of that depends on the statement's parameters: it depends on the shards
reached (which the parameters and the clock decide), the tenant's schema and whether the
rows are merged. A skeleton keeps that part; every call re-binds it with its own
parameters (and LIMIT), so nothing of one call's values survives into another's plan.

The cache is keyed by the template's compiled program (one per topology snapshot), the
exact tuple of shards reached and the datasource the statement is pinned to, so a new
topology, a new period (the clock moving: ``all_shards`` grows) or other key values give a
new entry. It holds at most ``max_targets`` cached targets, least recently used first out.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from ._plan import Role, Target
from .strategies import ShardId

LIMIT = -1
"""Recipe entry: the per-shard LIMIT (limit + offset) of a merged read."""
OWNER = -2
"""Recipe entry: the tenant whose schema an admin scan's target reads (see ``_owner``)."""

Recipe = tuple[int, ...]
"""Where each parameter of a target's text comes from: a value index, LIMIT or OWNER."""

_new_target = functools.partial(tuple.__new__, Target)
"""A Target from its five fields, without the named tuple's Python-level ``__new__``."""


class Part(NamedTuple):
    """One target of a skeleton: everything but the parameter values (a named tuple:
    a scan over thousands of tables builds one per table)."""

    datasource: str
    role: Role
    sql: str
    tables: Mapping[str, str]
    recipe: Recipe
    owner: str | None = None


class Skeleton:
    """The targets of one plan, in order, to be bound with each call's parameters."""

    __slots__ = ("_columns", "_parts", "_shared", "layout")

    def __init__(self, parts: Sequence[Part], layout: object = None) -> None:
        self._parts = tuple(parts)
        self.layout = layout
        """The schema layout the targets were built for (admin scans of schema tenants)."""
        parts = self._parts
        recipes = {(p.recipe, p.owner) for p in parts}
        # The common case, one recipe for every target and no schema's tenant among the
        # parameters: bound once per call, and the targets are built in C.
        one = next(iter(recipes)) if len(recipes) == 1 else None
        self._shared: Recipe | None = one[0] if one is not None and one[1] is None else None
        self._columns = (
            tuple([p.datasource for p in parts]),
            tuple([p.role for p in parts]),
            tuple([p.sql for p in parts]),
            tuple([p.tables for p in parts]),
        )

    @property
    def parts(self) -> tuple[Part, ...]:
        return self._parts

    def __repr__(self) -> str:
        binding = "one parameter list" if self._shared is not None else "per-target parameters"
        return f"<Skeleton [{len(self._parts)} targets | {binding}]>"

    def bind(self, values: tuple[object, ...], limit: int | None) -> tuple[Target, ...]:
        """The targets with this call's parameter values (``limit``: the per-shard LIMIT)."""
        if self._shared is not None:
            shared = bind_recipe(self._shared, values, limit)
            datasources, roles, sqls, tables = self._columns
            return tuple(map(_new_target, zip(datasources, roles, sqls, repeat(shared), tables)))
        made: dict[tuple[Recipe, str | None], tuple[object, ...]] = {}
        targets: list[Target] = []
        for part in self._parts:
            key = (part.recipe, part.owner)
            params = made.get(key)
            if params is None:
                params = made[key] = bind_recipe(part.recipe, values, limit, part.owner)
            targets.append(_new_target((part.datasource, part.role, part.sql, params, part.tables)))
        return tuple(targets)


def bind_recipe(
    recipe: Recipe, values: tuple[object, ...], limit: int | None, owner: str | None = None
) -> tuple[object, ...]:
    """The parameters ``recipe`` asks for, taken from ``values``, ``limit`` and ``owner``."""
    if len(recipe) == len(values) and recipe == tuple(range(len(values))):
        return values
    return tuple(values[i] if i >= 0 else limit if i == LIMIT else owner for i in recipe)


@dataclass(slots=True)
class Spread:
    """The shards one statement reaches, as (shard, datasource), checked for placement;
    with the skeletons built for them (per tenant schema, merged or not, layout)."""

    shards: tuple[tuple[ShardId, str], ...]
    skeletons: dict[object, Skeleton] = field(default_factory=dict)


class SpreadCache:
    """A bounded, thread-safe LRU of spreads keyed by (program, shards, pinned datasource).

    Bounded by the number of targets held (a daily table scan holds thousands); a hit is a
    dict read. Entries are built outside the lock: two threads may build the same one, and
    the last one stored wins (they are equal).
    """

    def __init__(self, max_targets: int = 100_000) -> None:
        self.max_targets = max_targets
        self._items: OrderedDict[object, Spread] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: object) -> Spread | None:
        spread = self._items.get(key)
        if spread is not None:
            try:  # noqa: SIM105 - suppress() would double the cost of a hit
                self._items.move_to_end(key)
            except KeyError:  # evicted meanwhile; the spread itself is still valid
                pass
        return spread

    def put(self, key: object, spread: Spread) -> None:
        size = len(spread.shards)
        if size > self.max_targets:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._held -= len(old.shards)
            self._items[key] = spread
            self._held += size
            while self._held > self.max_targets:
                _, evicted = self._items.popitem(last=False)
                self._held -= len(evicted.shards)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<SpreadCache [{len(self._items)} plans | {self._held}/{self.max_targets} targets]>"


__all__ = ["LIMIT", "OWNER", "Part", "Recipe", "Skeleton", "Spread", "SpreadCache", "bind_recipe"]
