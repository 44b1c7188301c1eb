"""Route plans: the pure result of routing one statement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ..sql import AggregateColumn, SortKey, StatementKind

if TYPE_CHECKING:
    from ._round_trips import ReadRoundTrips

Role = Literal["primary", "replica"]


class Target(NamedTuple):
    """One place a statement runs: datasource, role, physical SQL and its parameters.

    An immutable named tuple: plans are built on the hot path, and a tuple is the cheapest
    immutable record Python has.
    """

    datasource: str
    role: Role
    sql: str
    params: tuple[object, ...]
    tables: Mapping[str, str]
    """Logical table name → physical name (schema-qualified for schema-isolated tenants)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "datasource": self.datasource,
            "role": self.role,
            "sql": self.sql,
            "params": [_jsonable(p) for p in self.params],
            "tables": dict(self.tables),
        }


@dataclass(frozen=True, slots=True)
class MergePlan:
    """How the rows of several targets combine into one result.

    Rows are first grouped and aggregated (when ``group_by`` is not None), then
    deduplicated (``distinct``), sorted by ``order_by``, cut by ``offset``/``limit``, and
    finally stripped of ``hidden_columns`` trailing columns.
    """

    order_by: tuple[SortKey, ...] = ()
    group_by: tuple[int, ...] | None = None
    aggregates: tuple[AggregateColumn, ...] = ()
    distinct: bool = False
    limit: int | None = None
    offset: int = 0
    hidden_columns: int = 0
    with_ties: bool = False
    """``FETCH ... WITH TIES``: rows tied on ``order_by`` with the last kept row are kept."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_by": [
                {"column": k.column, "descending": k.descending, "nulls_first": k.nulls_first}
                for k in self.order_by
            ],
            "group_by": None if self.group_by is None else list(self.group_by),
            "aggregates": [
                {"column": a.column, "kind": a.kind, "count_column": a.count_column}
                for a in self.aggregates
            ],
            "distinct": self.distinct,
            "limit": self.limit,
            "offset": self.offset,
            "hidden_columns": self.hidden_columns,
            **({"with_ties": True} if self.with_ties else {}),
        }


class RoutePlan(NamedTuple):
    """Where a statement goes and how its results merge.

    ``merge`` is set for reads with more than one target; writes with several targets
    report the sum of their row counts.
    """

    kind: StatementKind
    targets: tuple[Target, ...]
    merge: MergePlan | None
    tenant: str | None
    admin: bool
    round_trips: ReadRoundTrips | None = None
    """How a multi-target read travels to its datasources (``plan_round_trips``); set
    by ``explain``, None on the plans the router returns (the session decides it itself)."""

    @property
    def is_write(self) -> bool:
        return self.kind != "select"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tenant": self.tenant,
            "admin": self.admin,
            "targets": [t.to_dict() for t in self.targets],
            "merge": None if self.merge is None else self.merge.to_dict(),
            **({} if self.round_trips is None else {"round_trips": self.round_trips.to_dict()}),
        }


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


__all__ = ["MergePlan", "Role", "RoutePlan", "Target"]
