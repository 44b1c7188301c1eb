"""Logical tables and the physical tables behind them, for reflection: which physical
tables a logical one maps to today, and how names the catalog reports map back.

Placement comes from routing ``DROP TABLE <name>`` as an admin session would (no I/O):
that is exactly the set of physical tables the DDL fan-out creates and drops, for every
strategy (shards, periods that exist today, broadcast copies, tenant datasources).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ...core.routing import RoutePlan, Topology
from ...core.sql import quote_name

_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")  # needs no quotes on any backend


class Explains(Protocol):
    """What reflection needs of a cluster (``tenantdb.Cluster`` and ``AsyncCluster``)."""

    @property
    def topology(self) -> Topology: ...

    def explain(self, sql: str, params: Any = None, *, admin: bool = False) -> RoutePlan: ...


@dataclass(frozen=True, slots=True)
class PhysicalTable:
    """One physical table of a logical table."""

    datasource: str
    name: str
    schema: str | None = None

    def __str__(self) -> str:
        qualified = self.name if self.schema is None else f"{self.schema}.{self.name}"
        return f"{qualified} on {self.datasource}"


def physical_tables(cluster: Explains, table: str) -> tuple[PhysicalTable, ...]:
    """The physical tables of logical ``table`` (a table the configuration does not name is
    one table on the default datasource). Raises the routing error of an unplaceable name."""
    dialect = cluster.topology.dialect
    # Routed text is pyformat: a % in a quoted name is written %%, and reported so.
    named = table if _PLAIN.fullmatch(table) else quote_name(table, dialect).replace("%", "%%")
    plan = cluster.explain(f"DROP TABLE {named}", admin=True)
    found: list[PhysicalTable] = []
    for target in plan.targets:
        for physical in target.tables.values():
            schema, _, name = physical.replace("%%", "%").rpartition(".")
            found.append(
                PhysicalTable(target.datasource, _unquoted(name) or name, _unquoted(schema))
            )
    return tuple(found)


def _unquoted(name: str) -> str | None:
    """A name as the catalog stores it: a table the configuration does not name keeps the
    quotes it was routed with."""
    if len(name) >= 2 and name[0] == name[-1] and name[0] in '"`':
        quote = name[0]
        return name[1:-1].replace(quote * 2, quote)
    return name or None


def configured_tables(topology: Topology) -> list[str]:
    """The logical tables the configuration names, once each, as configured."""
    return sorted({placement.name for placement in topology.tables.values()})


def logical_name(name: str, physical: str, logical: str) -> str:
    """``name`` (an index or constraint of physical table ``physical``) as it reads for
    the logical table: ``users_0_pkey`` → ``users_pkey``; an index the DDL fan-out
    suffixed with the shard (``ix_users_name_0``) loses the suffix."""
    if physical == logical:
        return name
    if physical in name:
        return name.replace(physical, logical)
    suffix = physical[len(logical) :] if physical.startswith(logical) else ""
    if suffix and name.endswith(suffix):
        return name[: -len(suffix)]
    return name


def rename_reflected(value: Any, physical: str, logical: str, tables: Mapping[str, str]) -> Any:
    """A reflection answer for ``physical`` with names mapped to the logical table:
    ``name`` keys through ``logical_name``, ``referred_table`` through ``tables``
    (physical → logical on the same datasource). Other values are returned as they are."""
    if isinstance(value, list):
        return [rename_reflected(item, physical, logical, tables) for item in value]
    if not isinstance(value, dict):
        return value
    renamed = dict(value)
    if isinstance(renamed.get("name"), str):
        renamed["name"] = logical_name(renamed["name"], physical, logical)
    referred = renamed.get("referred_table")
    if isinstance(referred, str):
        renamed["referred_table"] = tables.get(referred, referred)
    return renamed
