"""Where an isolated tenant may live: the rules the configuration and the registry share.

A database-isolated tenant's statements carry no tenant condition, and a schema-isolated
tenant's tenant tables are only qualified with its schema. Both are safe only when nothing
else lives there:

- a database-isolated tenant needs an explicit datasource (the hash ring places tenants
  that share datasources, so it never chooses one for it) used by no other tenant, of any
  isolation, and holding no rows that no single tenant owns. A datasource holds such rows
  when it is the ``default_datasource`` (single tables default there, undeclared tables
  live there) or is listed by a ``single`` table or a sharded table (mod, hash_mod,
  consistent_hash, range, time_range). ``broadcast`` tables do not count: they copy the
  same reference data into every datasource, a tenant's own one included;
- a schema-isolated tenant's schema is none of the database's system schemas, not the
  schema unqualified names resolve to on its datasource (``public`` or the URL's search
  path, MySQL's database, SQLite's ``main``), not the registry's schema when the registry
  shares that database, and no other tenant's schema (compared without case).

Everything here is pure: the registry and the configuration checks call it with what they
know about the other tenants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ._endpoints import SYSTEM_SCHEMAS, endpoint, is_system_schema
from ._models import Config, DatasourceConfig, TableConfig

_OWNERLESS = ("single", "mod", "hash_mod", "consistent_hash", "range", "time_range")
_LISTED = 3
_KIND_NAMES = {"postgres": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite"}


@dataclass(frozen=True, slots=True)
class TenantRules:
    """What the configuration says about where isolated tenants may live.

    ``ownerless`` maps a datasource to what holds rows there that no single tenant owns;
    ``reserved`` maps a datasource to the lower-cased schemas a schema tenant may not use
    there (besides the system schemas), each with the reason. ``kind`` is the cluster's
    dialect (None: every kind's system schemas apply).
    """

    kind: str | None = None
    ownerless: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    reserved: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, config: Config) -> TenantRules:
        registry = config.registry.url if config.registry is not None else None
        return cls.build(
            config.dialect,
            config.default_datasource,
            config.datasources,
            config.tables,
            registry,
        )

    @classmethod
    def build(
        cls,
        kind: str | None,
        default_datasource: str | None,
        datasources: Mapping[str, DatasourceConfig],
        tables: Mapping[str, TableConfig],
        registry_url: str | None,
    ) -> TenantRules:
        ownerless: dict[str, list[str]] = {}
        if default_datasource is not None:
            ownerless[default_datasource] = [
                "it is the default_datasource (single tables and undeclared tables live there)"
            ]
        for name, table in tables.items():
            if table.strategy in _OWNERLESS:
                for listed in table.datasources:
                    ownerless.setdefault(listed, []).append(
                        f"{table.strategy} table {name} keeps rows there"
                    )
        registry = endpoint(registry_url) if registry_url else None
        reserved: dict[str, Mapping[str, str]] = {}
        for name, datasource in datasources.items():
            here = endpoint(datasource.url)
            schemas: dict[str, str] = {}
            if here is not None:
                for schema in here.schemas:
                    schemas[schema] = (
                        f"unqualified table names resolve to it on datasource {name!r}"
                    )
                if registry is not None and registry.same_database(here):
                    ownerless.setdefault(name, []).append(
                        "the tenant registry keeps its table there"
                    )
                    for schema in registry.schemas:
                        schemas.setdefault(schema, "the tenant registry's table is there")
            reserved[name] = MappingProxyType(schemas)
        return cls(
            kind,
            MappingProxyType({k: tuple(v) for k, v in ownerless.items()}),
            MappingProxyType(reserved),
        )

    # -- one tenant on its own -----------------------------------------------------------

    def own_problem(
        self, tenant_id: str, isolation: str, datasource: str | None, schema: str | None
    ) -> str | None:
        """What is wrong with this tenant's placement whatever the other tenants are."""
        if isolation == "database":
            if datasource is None:
                return (
                    f"tenant {tenant_id!r} has isolation 'database' but no datasource; name"
                    " the datasource it owns alone (the hash ring only places tenants that"
                    " share datasources)"
                )
            reasons = self.ownerless.get(datasource)
            if reasons:
                return (
                    f"tenant {tenant_id!r} has isolation 'database', but datasource"
                    f" {datasource!r} holds rows no single tenant owns ({_listed(reasons)});"
                    " a database-isolated tenant reads without a tenant condition, so give it"
                    " a datasource of its own that no table lists and no other tenant uses"
                )
        if isolation == "schema" and schema is not None:
            why = self.schema_reason(datasource, schema)
            if why is not None:
                return (
                    f"tenant {tenant_id!r}: schema {schema!r} holds rows no single tenant owns"
                    f" ({why}); a schema-isolated tenant needs a schema of its own"
                )
        return None

    def schema_reason(self, datasource: str | None, schema: str) -> str | None:
        """Why ``schema`` is not a tenant's own on ``datasource`` (None: it may be)."""
        folded = schema.lower()
        kinds = [self.kind] if self.kind is not None else list(SYSTEM_SCHEMAS)
        for kind in kinds:
            if is_system_schema(kind, folded):
                return f"a system schema of {_KIND_NAMES[kind]}"
        if datasource is not None and datasource in self.reserved:
            return self.reserved[datasource].get(folded)
        # Not placed yet (or unknown here): refuse what any datasource reserves.
        for names in self.reserved.values():
            if folded in names:
                return names[folded]
        return None


def company_problem(tenant_id: str, datasource: str, others: Iterable[str]) -> str:
    """The message for a database-isolated tenant whose datasource other tenants use."""
    names = sorted(others)
    shown = ", ".join(repr(name) for name in names[:_LISTED])
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return (
        f"tenant {tenant_id!r} has isolation 'database', but datasource {datasource!r} is also"
        f" used by tenant{'s' if len(names) > 1 else ''} {shown}{more}; a database-isolated"
        " tenant reads without a tenant condition, so it needs a datasource no other tenant"
        " uses: move those tenants or give it another datasource"
    )


def claimed_problem(tenant_id: str, datasource: str, owner: str) -> str:
    """The message for a tenant placed on a database-isolated tenant's datasource."""
    return (
        f"tenant {tenant_id!r} cannot be placed on datasource {datasource!r}: it belongs to"
        f" tenant {owner!r}, which has isolation 'database' and must be its only tenant;"
        " choose another datasource (or leave datasource out to let the hash ring choose)"
    )


def schema_taken_problem(tenant_id: str, schema: str, owner: str) -> str:
    """The message for a schema tenant whose schema another tenant already has."""
    return (
        f"tenant {tenant_id!r}: schema {schema!r} is already the schema of tenant {owner!r};"
        " every schema-isolated tenant needs a schema of its own"
    )


def _listed(reasons: tuple[str, ...]) -> str:
    more = f"; and {len(reasons) - _LISTED} more" if len(reasons) > _LISTED else ""
    return "; ".join(reasons[:_LISTED]) + more


__all__ = ["TenantRules", "claimed_problem", "company_problem", "schema_taken_problem"]
