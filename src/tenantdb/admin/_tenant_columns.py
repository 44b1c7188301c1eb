"""Does each declared table carry the tenant column exactly when the configuration says so?

``tenant_scoped`` is a promise about the rows: a table marked (or defaulted) tenant-scoped
must have the tenant column, or tenant sessions fail on it; a table marked shared must
not have it, or every tenant session reads every tenant's rows of it. Only the live
catalog can tell, so ``tenantdb config check --live`` asks each datasource once (which
tables exist, which of them have the column) and ``judge_tenant_columns`` compares the
answers with the topology without further I/O.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..drivers import sqlite_path
from ._catalog import catalog_for, query_on
from ._view import ClusterView, admin_session

if TYPE_CHECKING:
    from ..core.routing import Topology

Severity = Literal["error", "warning"]

_SHOWN = 3


@dataclass(frozen=True, slots=True)
class Observed:
    """What one datasource's default schema holds, names as its catalog compares them."""

    tables: frozenset[str]
    with_column: frozenset[str]
    """The tables among ``tables`` that have the tenant column."""


@dataclass(frozen=True, slots=True)
class ColumnFinding:
    """One disagreement between a table's ``tenant_scoped`` and its physical tables."""

    table: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"tables.{self.table}: {self.message}"


def physical_tables(topology: Topology, name: str) -> list[tuple[str, str]]:
    """(datasource, physical table) of every table ``name`` maps to today.

    A ``tenant`` table is listed under its own name on every datasource: the copies in
    the datasources' default schemas are the ones shared-isolation tenants use.
    """
    placement = topology.table(name)
    if placement.strategy is not None:
        strategy = placement.strategy
        return [
            (strategy.datasource_of(shard), strategy.physical_table(name, shard))
            for shard in strategy.all_shards(topology.today())
        ]
    if placement.kind == "tenant":
        return [(datasource, name) for datasource in topology.datasources]
    if placement.kind == "broadcast":
        return [(datasource, name) for datasource in placement.datasources]
    assert placement.datasource is not None, "a single table has one datasource"
    return [(placement.datasource, name)]


def judge_tenant_columns(
    topology: Topology,
    observed: Mapping[str, Observed],
    same_name: Callable[[str], str],
) -> list[ColumnFinding]:
    """Compare every declared table's ``tenant_scoped`` with what the catalogs hold.

    ``observed`` maps each datasource to its catalog's answer; ``same_name`` folds a name
    the way that catalog compares names. Tables that exist nowhere yet are reported once
    (a warning); physical tables missing next to existing ones are the DDL's business.
    """
    column = topology.tenant_column
    findings: list[ColumnFinding] = []
    for name in _declared(topology):
        placement = topology.table(name)
        existing: list[tuple[str, str]] = []
        carrying: list[tuple[str, str]] = []
        for datasource, physical in physical_tables(topology, name):
            seen = observed.get(datasource)
            if seen is None or same_name(physical) not in seen.tables:
                continue
            existing.append((datasource, physical))
            if same_name(physical) in seen.with_column:
                carrying.append((datasource, physical))
        lacking = [pair for pair in existing if pair not in carrying]
        if not existing:
            findings.append(
                ColumnFinding(
                    name,
                    "warning",
                    "no physical table exists yet, so its tenant column cannot be checked;"
                    " create it (tenantdb ddl) and check again",
                )
            )
        elif placement.kind == "tenant":
            if lacking:
                findings.append(
                    ColumnFinding(
                        name,
                        "warning",
                        f"{_where(lacking)} has no {column} column: sessions of"
                        " shared-isolation tenants placed there fail on it (schema- and"
                        f" database-isolated tenants need none); add {column} to it",
                    )
                )
        elif placement.tenant_scoped and lacking:
            findings.append(
                ColumnFinding(
                    name,
                    "error",
                    f"is tenant-scoped (every declared table but broadcast ones is, unless"
                    f" it says tenant_scoped = false), but {_where(lacking)} has no"
                    f" {column} column, so tenant sessions fail on it; add the column, or"
                    " write tenant_scoped = false if every tenant shares its rows",
                )
            )
        elif not placement.tenant_scoped and carrying:
            why = (
                "broadcast tables are shared by default"
                if placement.kind == "broadcast"
                else "it says tenant_scoped = false"
            )
            findings.append(
                ColumnFinding(
                    name,
                    "warning",
                    f"is not tenant-scoped ({why}), but {_where(carrying)} has a {column}"
                    " column: a tenant session reads every tenant's rows of it; if its rows"
                    " belong to tenants, write tenant_scoped = true",
                )
            )
    return findings


def audit_tenant_columns(cluster: ClusterView) -> list[ColumnFinding]:
    """Read each datasource's catalog (two queries on its primary, in one admin session)
    and judge every declared table. Raises the driver's error (ShardUnavailableError, ...)
    when a datasource cannot be read."""
    topology = cluster.topology
    catalog = catalog_for(topology.dialect)
    observed: dict[str, Observed] = {}
    with admin_session(cluster) as session:
        for datasource in topology.datasources:
            if _missing_sqlite_file(cluster.config.datasources[datasource].url):
                # Connecting would create an empty file; a check must change nothing.
                observed[datasource] = Observed(frozenset(), frozenset())
                continue
            query = query_on(session, datasource)
            observed[datasource] = Observed(
                frozenset(catalog.table_names(query)),
                frozenset(catalog.tables_with_column(query, topology.tenant_column)),
            )
    return judge_tenant_columns(topology, observed, catalog.same_name)


def _missing_sqlite_file(url: str) -> bool:
    if not url.lower().startswith("sqlite:"):
        return False
    path = sqlite_path(url)
    return path != ":memory:" and not os.path.exists(path)


def _declared(topology: Topology) -> list[str]:
    # Placements are registered under the written name and its lowercase form.
    return list(dict.fromkeys(placement.name for placement in topology.tables.values()))


def _where(pairs: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(f"{physical} on {datasource}" for datasource, physical in pairs[:_SHOWN])
    more = len(pairs) - _SHOWN
    return f"{shown} (and {more} more)" if more > 0 else shown


__all__ = [
    "ColumnFinding",
    "Observed",
    "audit_tenant_columns",
    "judge_tenant_columns",
    "physical_tables",
]
