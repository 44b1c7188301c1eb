"""The topology: an immutable snapshot of where every logical table lives.

Built once from a validated configuration (no I/O, no per-table work beyond constructing
each strategy, so thousands of physical tables cost nothing at start-up) and replaced
whole when the configuration changes.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from .strategies import (
    ConsistentHashStrategy,
    HashModStrategy,
    ModStrategy,
    RangeStrategy,
    Strategy,
    TimeRangeStrategy,
)

if TYPE_CHECKING:
    from ...config import Config, TableConfig

PlacementKind = Literal["sharded", "tenant", "broadcast", "single"]


@dataclass(frozen=True, slots=True)
class TablePlacement:
    """Where one logical table lives."""

    name: str
    kind: PlacementKind
    strategy: Strategy | None = None
    key: str | None = None
    """Sharding key column (lowercase), for sharded tables."""
    datasources: tuple[str, ...] = ()
    """Broadcast copies, or the datasources a sharded table spreads over."""
    datasource: str | None = None
    """The one datasource of a ``single`` table."""
    tenant_scoped: bool = False
    configured: bool = True
    """False for tables the configuration does not name (``single`` on the default)."""

    def describe(self) -> str:
        if self.kind == "sharded":
            return f"{self.name} (sharded by {self.key})"
        return f"{self.name} ({self.kind})"


@dataclass(frozen=True, slots=True, eq=False)
class Topology:
    """Datasources and table placements; immutable, shared by every statement."""

    dialect: Literal["postgres", "mysql", "sqlite"]
    tenant_column: str
    default_datasource: str
    datasources: tuple[str, ...]
    tables: Mapping[str, TablePlacement]
    today: Callable[[], datetime.date] = datetime.date.today
    """The clock that decides which time-range periods exist; injectable for tests."""
    allowed_functions: frozenset[str] = frozenset()
    """Lowercase names of non-standard functions tenant sessions may call."""
    replicated: frozenset[str] = frozenset()
    """Datasources with read replicas: reads planned there are marked role "replica"."""
    max_statement_bytes: int = 1_048_576
    """Longest SQL text (UTF-8 bytes) routed; longer statements are refused unparsed."""

    def table(self, name: str) -> TablePlacement:
        """The placement of logical table ``name``; tables not configured are ``single``."""
        placement = self.tables.get(name) or self.tables.get(name.lower())
        if placement is not None:
            return placement
        return TablePlacement(
            name=name, kind="single", datasource=self.default_datasource, configured=False
        )

    @classmethod
    def from_config(
        cls, config: Config, *, today: Callable[[], datetime.date] = datetime.date.today
    ) -> Topology:
        tables: dict[str, TablePlacement] = {}
        for name, table in config.tables.items():
            placement = _placement(name, table, config.dialect)
            tables[name] = placement
            tables.setdefault(name.lower(), placement)
        return cls(
            dialect=config.dialect,
            tenant_column=config.tenant_column.lower(),
            default_datasource=config.default_datasource,
            datasources=tuple(config.datasources),
            tables=MappingProxyType(tables),
            today=today,
            allowed_functions=frozenset(name.lower() for name in config.allowed_functions),
            replicated=frozenset(n for n, ds in config.datasources.items() if ds.replicas),
            max_statement_bytes=config.max_statement_bytes,
        )

    def physical_table_count(self) -> int:
        """How many physical tables the configured tables map to today."""
        today = self.today()
        count = 0
        seen: set[str] = set()
        for placement in self.tables.values():
            if placement.name in seen:
                continue
            seen.add(placement.name)
            if placement.strategy is not None:
                count += len(placement.strategy.all_shards(today))
            elif placement.kind == "broadcast":
                count += len(placement.datasources)
            else:
                count += 1
        return count

    def __repr__(self) -> str:
        names = {p.name for p in self.tables.values()}
        return (
            f"<Topology {self.dialect} [datasources: {', '.join(self.datasources)} | "
            f"tables: {len(names)}]>"
        )


def _placement(
    name: str, table: TableConfig, dialect: Literal["postgres", "mysql", "sqlite"]
) -> TablePlacement:
    key = table.key.lower() if table.key else None
    # How key strings are read: the declared type, converted the way this backend does.
    keys: dict[str, Any] = {"key_type": table.key_type, "backend": dialect}
    strategy: Strategy | None = None
    if table.strategy == "mod":
        assert key is not None and table.shards is not None
        strategy = ModStrategy(
            table=name, key=key, shards=table.shards, datasources=table.datasources, **keys
        )
    elif table.strategy == "hash_mod":
        assert key is not None and table.shards is not None
        strategy = HashModStrategy(
            table=name, key=key, shards=table.shards, datasources=table.datasources, **keys
        )
    elif table.strategy == "range":
        assert key is not None
        strategy = RangeStrategy(
            table=name,
            key=key,
            boundaries=table.boundaries,
            datasources=table.datasources,
            **keys,
        )
    elif table.strategy == "time_range":
        assert key is not None and table.interval is not None and table.start is not None
        strategy = TimeRangeStrategy(
            table=name,
            key=key,
            interval=table.interval,
            start=table.start,
            pre_create=table.pre_create,
            datasources=table.datasources,
            **keys,
        )
    elif table.strategy == "consistent_hash":
        assert key is not None
        strategy = ConsistentHashStrategy(
            table=name,
            key=key,
            datasources=table.datasources,
            virtual_nodes=table.virtual_nodes,
            weights=dict(table.weights) or None,
            **keys,
        )
    if strategy is not None:
        return TablePlacement(
            name=name,
            kind="sharded",
            strategy=strategy,
            key=key,
            datasources=table.datasources,
            tenant_scoped=table.tenant_scoped,
        )
    if table.strategy == "tenant":
        return TablePlacement(name=name, kind="tenant", tenant_scoped=True)
    if table.strategy == "broadcast":
        return TablePlacement(
            name=name,
            kind="broadcast",
            datasources=table.datasources,
            tenant_scoped=table.tenant_scoped,
        )
    return TablePlacement(
        name=name,
        kind="single",
        datasource=table.datasource,
        datasources=table.datasources,
        tenant_scoped=table.tenant_scoped,
    )


_SAFE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Words that stop being identifiers in at least one of the three dialects.
_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "between",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "initially",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "key",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "primary",
        "references",
        "replace",
        "returning",
        "right",
        "row",
        "rows",
        "select",
        "session_user",
        "set",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ]
)


def quote_identifier(name: str, dialect: str) -> str:
    """Render a physical name as an identifier, quoting only when the bare name would not do."""
    bare = _SAFE.match(name) is not None and name.lower() not in _RESERVED
    if bare and (dialect != "postgres" or name == name.lower()):
        return name
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


__all__ = ["PlacementKind", "TablePlacement", "Topology", "quote_identifier"]
