"""Whole-document validation: check every part, cross-check the parts, resolve defaults.

Each datasource, table and tenant is checked on its own, so one mistake never hides
another; cross-references are then checked between the parts that parsed, and the names an
entry with type errors refers to (datasources, binding tables) are checked too, so a
dangling reference is reported in the same pass as the type errors beside it. The result is a
``Config`` whose fields need no further defaulting, or one ``ConfigError`` listing every
problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ConfigError
from ._document import SECTIONS, ConfigDocument, TableDocument
from ._endpoints import registry_neighbours, registry_tables
from ._interpolation import Interpolated
from ._models import (
    DEFAULT_MAX_STATEMENT_BYTES,
    Config,
    DatasourceConfig,
    LimitsConfig,
    MovesConfig,
    Strategy,
    TableConfig,
    TelemetryConfig,
    TenantConfig,
)
from ._names import IDENTIFIER_HELP, is_identifier, tenant_id_problem
from ._problems import KeyPath, ProblemCollector, describe_kind, join_words
from ._tenant_rules import TenantRules, company_problem
from ._urls import SCHEME_DIALECTS, Dialect, url_dialect

KEYED: tuple[Strategy, ...] = ("mod", "hash_mod", "consistent_hash", "range", "time_range")
"""Strategies that place rows by the value of a key column."""
BINDABLE: tuple[Strategy, ...] = ("mod", "hash_mod", "range", "consistent_hash", "time_range")
"""Strategies whose tables may be declared co-located in ``binding_tables``."""

# Which strategies take each optional table setting.
_TABLE_SETTINGS: dict[str, tuple[Strategy, ...]] = {
    "key": KEYED,
    "key_type": KEYED,
    "shards": ("mod", "hash_mod", "range"),
    "datasources": (*KEYED, "broadcast"),
    "datasource": ("single",),
    "virtual_nodes": ("consistent_hash",),
    "weights": ("consistent_hash",),
    "boundaries": ("range",),
    "interval": ("time_range",),
    "start": ("time_range",),
    "pre_create": ("time_range",),
}
# Settings compared between the tables of a binding group, in the order they are reported.
_BINDING_SETTINGS = (
    "key_type",
    "shards",
    "datasources",
    "boundaries",
    "interval",
    "start",
    "virtual_nodes",
    "weights",
)
_BINDING_RULE = "tables bound together must have the same strategy, shard count and datasources"
_SECTION_EXAMPLES = {
    "datasources": "[datasources.ds0]",
    "tables": "[tables.orders]",
    "tenants": "[tenants.acme]",
}
_LISTED_NAMES = 20
# Key types each keyed strategy can place (the rest make no sense for its placement).
_KEY_TYPES: dict[str, tuple[str, ...]] = {
    "mod": ("int",),
    "hash_mod": ("int", "text", "uuid"),
    "consistent_hash": ("int", "text", "uuid"),
    "range": ("int", "text"),
    "time_range": ("date", "datetime"),
}
_BOUNDARY_KINDS = {int: "integer", float: "number", str: "string"}


def validate_document(document: object, *, interpolated: Interpolated | None = None) -> Config:
    """Check a whole (already interpolated) document and return the resolved Config.

    ``interpolated`` tells which values came from the environment, so messages never show
    them, and carries the interpolation problems to report with the others. Raises
    ``ConfigError`` listing every problem.
    """
    problems = ProblemCollector(
        templates=interpolated.templates if interpolated else None,
        secrets=interpolated.secrets if interpolated else (),
        top_level_keys=ConfigDocument.model_fields,
    )
    for path, message in interpolated.problems if interpolated else ():
        problems.add_unreliable(path, message)
    config = _DocumentChecker(problems).check(document)
    problems.raise_if_any()
    if config is None:  # every check that fails records a problem; this is a safety net
        raise ConfigError("the configuration could not be resolved")
    return config


class _DocumentChecker:
    """One pass over one document; every finding goes to ``problems``."""

    def __init__(self, problems: ProblemCollector) -> None:
        self.problems = problems
        self.declared_datasources: list[str] = []

    def check(self, document: object) -> Config | None:
        if not isinstance(document, Mapping):
            self.problems.add(
                (), f"expected a table of settings at the top, got {describe_kind(document)}"
            )
            return None
        header = self._header(document)
        datasource_entries = self._entries(document, "datasources")
        # Every declared name can be referred to, even if its settings have problems.
        self.declared_datasources = [name for name, _ in datasource_entries]
        datasources = self._datasources(document.get("datasources"), datasource_entries)
        dialect = self._dialect(document, header, datasources)
        default = self._default_datasource(document, header)
        table_entries = self._entries(document, "tables")
        tables = self._tables(table_entries, default)
        declared_tables = {name for name, _ in table_entries}
        binding = self._binding_tables(header.get("binding_tables") or [], declared_tables, tables)
        if "binding_tables" not in header:
            self._binding_references(document.get("binding_tables"), declared_tables)
        registry = header.get("registry")
        registry_url = registry.url if registry is not None else None
        self._registry_tables([name for name, _ in table_entries], registry_url, datasources)
        rules = TenantRules.build(dialect, default, datasources, tables, registry_url)
        tenants = self._tenants(document, rules)
        if len(self.problems) or dialect is None or default is None:
            return None
        return self.problems.parse(
            Config,
            {
                "dialect": dialect,
                "tenant_column": header.get("tenant_column", "tenant_id"),
                "default_datasource": default,
                "datasources": datasources,
                "tables": tables,
                "binding_tables": binding,
                "allowed_functions": header.get("allowed_functions") or (),
                "switch_file": header.get("switch_file"),
                "max_statement_bytes": header.get(
                    "max_statement_bytes", DEFAULT_MAX_STATEMENT_BYTES
                ),
                "precreate": header.get("precreate", "manual"),
                "precreate_interval": header.get("precreate_interval", 3600.0),
                "tenants": tenants,
                "registry": header.get("registry"),
                "limits": header.get("limits", LimitsConfig()),
                "telemetry": header.get("telemetry", TelemetryConfig()),
                "moves": header.get("moves", MovesConfig()),
            },
            (),
        )

    # -- top level -------------------------------------------------------------------

    def _header(self, document: Mapping[Any, Any]) -> dict[str, Any]:
        """Check every top-level key but the sections, each one on its own."""
        values: dict[str, Any] = {}
        for key, value in document.items():
            if not isinstance(key, str):
                self.problems.add((str(key),), "keys must be strings")
                continue
            if key in SECTIONS:
                continue
            parsed = self.problems.parse(ConfigDocument, {key: value}, ())
            if parsed is not None and key in ConfigDocument.model_fields:
                values[key] = getattr(parsed, key)
        return values

    def _entries(self, document: Mapping[Any, Any], section: str) -> list[tuple[str, Any]]:
        """The named entries of a section, in document order."""
        raw = document.get(section)
        if raw is None:
            return []
        if not isinstance(raw, Mapping):
            self.problems.add(
                (section,),
                f"expected a table of named {section} such as {_SECTION_EXAMPLES[section]},"
                f" got {describe_kind(raw)}",
            )
            return []
        entries: list[tuple[str, Any]] = []
        for name, value in raw.items():
            if isinstance(name, str):
                entries.append((name, value))
            else:
                self.problems.add((section, str(name)), "names must be strings")
        return entries

    def _default_datasource(
        self, document: Mapping[Any, Any], header: Mapping[str, Any]
    ) -> str | None:
        given = header.get("default_datasource")
        if given is None:
            if document.get("default_datasource") is not None:
                return None  # present but invalid: already reported
            return self.declared_datasources[0] if self.declared_datasources else None
        if given not in self.declared_datasources:
            self._undefined_datasource(("default_datasource",), given)
            return None
        return str(given)

    # -- datasources -----------------------------------------------------------------

    def _datasources(
        self, section: object, entries: Sequence[tuple[str, Any]]
    ) -> dict[str, DatasourceConfig]:
        if section is None or (isinstance(section, Mapping) and not section):
            self.problems.add(
                ("datasources",),
                "at least one datasource is required, e.g."
                ' [datasources.ds0] url = "sqlite:///data/shard0.db"',
            )
        parsed: dict[str, DatasourceConfig] = {}
        for name, settings in entries:
            path: KeyPath = ("datasources", name)
            if not is_identifier(name):
                self.problems.add(
                    path, f"datasource name '{name}' is not a plain name; use {IDENTIFIER_HELP}"
                )
            datasource = self.problems.parse(DatasourceConfig, settings, path)
            if datasource is not None:
                self._check_datasource(datasource, path)
                parsed[name] = datasource
        return parsed

    def _check_datasource(self, datasource: DatasourceConfig, path: KeyPath) -> None:
        pool = datasource.pool
        if pool.max_size < pool.min_size:
            self.problems.add(
                (*path, "pool", "max_size"),
                f"max_size ({self.problems.show((*path, 'pool', 'max_size'), pool.max_size)})"
                " must be at least min_size"
                f" ({self.problems.show((*path, 'pool', 'min_size'), pool.min_size)});"
                " raise max_size or lower min_size",
            )
        breaker = datasource.breaker
        if breaker.window == "time" and breaker.window_size > 3600:
            at = (*path, "breaker", "window_size")
            self.problems.add(
                at,
                f"a time window holds at most 3600 seconds, not"
                f" {self.problems.show(at, breaker.window_size)}; lower window_size",
            )
        if breaker.window == "count" and breaker.minimum_calls > breaker.window_size:
            at = (*path, "breaker", "minimum_calls")
            self.problems.add(
                at,
                f"minimum_calls ({self.problems.show(at, breaker.minimum_calls)}) is more than"
                f" a count window holds (window_size {breaker.window_size}), so the breaker"
                " could never open; lower minimum_calls or raise window_size",
            )
        primary = url_dialect(datasource.url)
        if datasource.create_dirs and primary != "sqlite":
            self.problems.add(
                (*path, "create_dirs"),
                f"create_dirs is for SQLite files, and this datasource is {primary};"
                " remove create_dirs (create databases on the server)",
            )
        if datasource.replicas and primary == "sqlite":
            self.problems.add(
                (*path, "replicas"),
                "SQLite has no replication, so a sqlite datasource cannot have replicas;"
                " remove replicas",
            )
        weights = datasource.replica_weights
        if weights and len(weights) != len(datasource.replicas):
            self.problems.add(
                (*path, "replica_weights"),
                f"{len(weights)} weights for {len(datasource.replicas)} replicas;"
                " give one weight per replica, in the same order",
            )
        for index, replica in enumerate(datasource.replicas):
            kind = url_dialect(replica)
            if kind != primary:
                self.problems.add(
                    (*path, "replicas", index),
                    f"this replica is a {kind} URL but the primary url is {primary};"
                    " a replica must be the same kind of database as its primary",
                )

    def _dialect(
        self,
        document: Mapping[Any, Any],
        header: Mapping[str, Any],
        datasources: Mapping[str, DatasourceConfig],
    ) -> Dialect | None:
        explicit: Dialect | None = header.get("dialect")
        if explicit is None and document.get("dialect") is not None:
            return None  # present but invalid: already reported
        kinds = {name: url_dialect(datasource.url) for name, datasource in datasources.items()}
        if explicit is not None:
            for name, kind in kinds.items():
                if kind != explicit:
                    self.problems.add(
                        ("datasources", name, "url"),
                        f"this is a {kind} URL but dialect is '{explicit}';"
                        f" use a {_schemes_of(explicit)} URL, or change dialect",
                    )
            return explicit
        distinct = list(dict.fromkeys(kind for kind in kinds.values() if kind is not None))
        if len(distinct) > 1:
            found = ", ".join(f"{name}: {kind}" for name, kind in kinds.items())
            self.problems.add(
                ("dialect",),
                f"cannot infer the dialect: the datasources use different databases ({found});"
                " use one kind of database for every datasource and set dialect to it",
            )
            return None
        return distinct[0] if distinct else None

    def _references(self, settings: object, path: KeyPath, keys: Sequence[str]) -> None:
        """Check the datasource names of an entry whose other settings have problems.

        Its strategy-specific checks cannot run on a half-valid entry, but a name that
        refers to no datasource is wrong whatever the rest says: report it in the same
        pass. Values of the wrong type are left to the type errors already reported.
        """
        if not isinstance(settings, Mapping):
            return
        for key in keys:
            value = settings.get(key)
            if key == "datasource" and isinstance(value, str):
                if value not in self.declared_datasources:
                    self._undefined_datasource((*path, key), value)
            elif key == "datasources" and isinstance(value, list):
                for index, name in enumerate(value):
                    if isinstance(name, str) and name not in self.declared_datasources:
                        self._undefined_datasource((*path, key, index), name)

    def _undefined_datasource(self, path: KeyPath, name: str) -> None:
        self.problems.add(
            path,
            f"datasource {self.problems.show(path, name)} is not defined;"
            f" {_defined(self.declared_datasources, 'datasources')}",
        )

    # -- tables ----------------------------------------------------------------------

    def _tables(
        self, entries: Sequence[tuple[str, Any]], default: str | None
    ) -> dict[str, TableConfig]:
        tables: dict[str, TableConfig] = {}
        by_folded_name: dict[str, str] = {}
        for name, settings in entries:
            path: KeyPath = ("tables", name)
            if not is_identifier(name):
                self.problems.add(
                    path,
                    f"table name '{name}' is not a plain SQL identifier; use {IDENTIFIER_HELP}",
                )
            elif (first := by_folded_name.setdefault(name.lower(), name)) != name:
                self.problems.add(
                    path,
                    f"table name '{name}' differs from '{first}' only in case;"
                    " SQL table names are case-insensitive, so keep one of them",
                )
            document = self.problems.parse(TableDocument, settings, path)
            if document is None:
                self._references(settings, path, ("datasource", "datasources"))
                continue
            before = len(self.problems)
            table = self._table(document, path, default)
            if table is not None and len(self.problems) == before:
                tables[name] = table
        return tables

    def _table(
        self, table: TableDocument, path: KeyPath, default: str | None
    ) -> TableConfig | None:
        """Check one table's settings against its strategy and resolve them."""
        strategy = table.strategy
        for setting, strategies in _TABLE_SETTINGS.items():
            if getattr(table, setting) is not None and strategy not in strategies:
                self.problems.add((*path, setting), _misplaced(setting, strategy, strategies))
        if strategy == "tenant" and table.tenant_scoped is False:
            self.problems.add(
                (*path, "tenant_scoped"),
                "tenant tables are always tenant-scoped; remove tenant_scoped = false",
            )
        if strategy in KEYED and table.key is None:
            self.problems.add(
                (*path, "key"),
                f"strategy '{strategy}' needs the sharding key column, e.g. key = \"user_id\"",
            )
        if strategy in ("mod", "hash_mod") and table.shards is None:
            self.problems.add(
                (*path, "shards"),
                f"strategy '{strategy}' needs the number of shards, e.g. shards = 4",
            )
        if strategy == "time_range":
            if table.interval is None:
                self.problems.add(
                    (*path, "interval"),
                    'strategy \'time_range\' needs interval = "day", "month" or "year"',
                )
            if table.start is None:
                self.problems.add(
                    (*path, "start"),
                    "strategy 'time_range' needs the first period, e.g. start = 2026-01-01",
                )
        resolved: dict[str, Any] = {
            "strategy": strategy,
            "tenant_scoped": _tenant_scoped(strategy, table.tenant_scoped),
        }
        if strategy in KEYED:
            resolved["key"] = table.key
            if table.key_type is not None:
                resolved["key_type"] = self._key_type(table, strategy, (*path, "key_type"))
        if strategy in ("mod", "hash_mod"):
            resolved["shards"] = table.shards
        if strategy == "range":
            boundaries = self._boundaries(table, (*path, "boundaries"))
            resolved["boundaries"] = boundaries
            resolved["shards"] = self._range_shards(table, boundaries, (*path, "shards"))
        if strategy == "time_range":
            resolved.update(interval=table.interval, start=table.start)
            if table.pre_create is not None:
                resolved["pre_create"] = table.pre_create
        if strategy == "single":
            resolved["datasource"] = self._single_datasource(table, path, default)
            resolved["datasources"] = (resolved["datasource"],)
        elif strategy != "tenant":
            resolved["datasources"] = self._table_datasources(table, path)
        if strategy == "consistent_hash":
            if table.virtual_nodes is not None:
                resolved["virtual_nodes"] = table.virtual_nodes
            resolved["weights"] = self._weights(table, resolved["datasources"], path)
        if any(value is None for value in resolved.values()):
            return None  # a required setting is missing: already reported
        return self.problems.parse(TableConfig, resolved, path)

    def _key_type(self, table: TableDocument, strategy: Strategy, path: KeyPath) -> str | None:
        allowed = _KEY_TYPES.get(strategy, ())
        if table.key_type in allowed:
            if strategy == "range" and table.boundaries:
                numbers = not isinstance(table.boundaries[0], str)
                if numbers != (table.key_type == "int"):
                    self.problems.add(
                        path,
                        f'key_type "{table.key_type}" does not match the boundaries; use'
                        ' key_type = "int" with number boundaries and "text" with strings',
                    )
            return table.key_type
        self.problems.add(
            path,
            f"a {strategy} table's key_type is one of"
            f" {join_words([f'{k!r}' for k in allowed])}; got {table.key_type!r}",
        )
        return table.key_type

    def _table_datasources(self, table: TableDocument, path: KeyPath) -> tuple[str, ...]:
        if table.datasources is None:
            return tuple(self.declared_datasources)
        if not table.datasources:
            self.problems.add(
                (*path, "datasources"),
                "needs at least one datasource; omit 'datasources' to use all of them"
                f" ({', '.join(self.declared_datasources)})",
            )
        seen: set[str] = set()
        for index, name in enumerate(table.datasources):
            item_path: KeyPath = (*path, "datasources", index)
            if name not in self.declared_datasources:
                self._undefined_datasource(item_path, name)
            elif name in seen:
                self.problems.add(
                    item_path,
                    f"datasource {self.problems.show(item_path, name)} is listed twice;"
                    " list each datasource once",
                )
            seen.add(name)
        return tuple(table.datasources)

    def _single_datasource(
        self, table: TableDocument, path: KeyPath, default: str | None
    ) -> str | None:
        if table.datasource is None:
            return default  # None when default_datasource is itself wrong: reported there
        if table.datasource not in self.declared_datasources:
            self._undefined_datasource((*path, "datasource"), table.datasource)
        return table.datasource

    def _weights(
        self, table: TableDocument, datasources: Sequence[str], path: KeyPath
    ) -> dict[str, float]:
        weights = table.weights or {}
        for name in weights:
            if name not in datasources:
                weight_path: KeyPath = (*path, "weights", name)
                self.problems.add(
                    weight_path,
                    f"datasource '{name}' is not one of this table's datasources"
                    f" ({', '.join(datasources)}); weights apply to those only",
                )
        # Resolved: every datasource of the ring has a weight, 1.0 unless written.
        return {name: weights.get(name, 1.0) for name in datasources}

    def _boundaries(self, table: TableDocument, path: KeyPath) -> tuple[Any, ...]:
        values = table.boundaries or []
        if not values:
            self.problems.add(
                path,
                "strategy 'range' needs ascending boundaries, e.g. boundaries = [100000, 200000]",
            )
            return ()
        kinds: list[str] = []
        for index, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                self.problems.add(
                    (*path, index),
                    f"expected an integer, a number or a string, got {describe_kind(value)}",
                )
                return ()
            kinds.append(_BOUNDARY_KINDS[type(value)])
        distinct = list(dict.fromkeys(kinds))
        if len(distinct) > 1:
            self.problems.add(
                path,
                f"boundaries must all be of one type, found {join_words(distinct)} values;"
                " write them all as integers, all as numbers or all as strings",
            )
            return ()
        for index in range(1, len(values)):
            previous, current = values[index - 1], values[index]
            if not current > previous:
                self.problems.add(
                    (*path, index),
                    "boundaries must be strictly ascending:"
                    f" {self.problems.show((*path, index), current)} does not come after"
                    f" {self.problems.show((*path, index - 1), previous)}",
                )
        return tuple(values)

    def _range_shards(
        self, table: TableDocument, boundaries: Sequence[Any], path: KeyPath
    ) -> int | None:
        if not boundaries:
            return None
        shards = len(boundaries) + 1
        if table.shards is not None and table.shards != shards:
            self.problems.add(
                path,
                f"a range table with {len(boundaries)} boundaries has {shards} shards, not"
                f" {self.problems.show(path, table.shards)}; remove 'shards' or set"
                f" shards = {shards}",
            )
        return shards

    # -- binding tables --------------------------------------------------------------

    def _binding_tables(
        self,
        groups: Sequence[Sequence[str]],
        declared: set[str],
        tables: Mapping[str, TableConfig],
    ) -> tuple[tuple[str, ...], ...]:
        bound_in: dict[str, int] = {}
        for index, group in enumerate(groups):
            path: KeyPath = ("binding_tables", index)
            complete = len(group) >= 2
            if not complete:
                self.problems.add(
                    path,
                    f"a binding group needs at least two tables, this one has {len(group)};"
                    " list the tables that are joined on their sharding key",
                )
            for position, name in enumerate(group):
                item_path: KeyPath = (*path, position)
                shown = self.problems.show(item_path, name)
                if name not in declared:
                    self.problems.add(
                        item_path,
                        f"table {shown} is not defined; {_defined(sorted(declared), 'tables')}",
                    )
                    complete = False
                elif name in bound_in:
                    where = (
                        "this group"
                        if bound_in[name] == index
                        else f"binding_tables[{bound_in[name]}]"
                    )
                    self.problems.add(
                        item_path,
                        f"table {shown} is already listed in {where};"
                        " a table may belong to one binding group only",
                    )
                    complete = False
                else:
                    bound_in[name] = index
            members = [(name, tables[name]) for name in group if name in tables]
            if complete and len(members) == len(group):
                self._check_binding_group(path, members)
        return tuple(tuple(group) for group in groups)

    def _binding_references(self, groups: object, declared: set[str]) -> None:
        """The table names of binding groups that have type errors: each must be declared."""
        if not isinstance(groups, list):
            return
        for index, group in enumerate(groups):
            for position, name in enumerate(group if isinstance(group, list) else []):
                if isinstance(name, str) and name not in declared:
                    item_path: KeyPath = ("binding_tables", index, position)
                    self.problems.add(
                        item_path,
                        f"table {self.problems.show(item_path, name)} is not defined;"
                        f" {_defined(sorted(declared), 'tables')}",
                    )

    def _check_binding_group(
        self, path: KeyPath, members: Sequence[tuple[str, TableConfig]]
    ) -> None:
        unbindable = [
            (name, table.strategy) for name, table in members if table.strategy not in BINDABLE
        ]
        for name, strategy in unbindable:
            self.problems.add(
                path,
                f"table {name} has strategy '{strategy}', which cannot be bound; only"
                f" {join_words(list(BINDABLE))} tables can (tenant tables are always"
                " co-located per tenant, and broadcast tables join with any table)",
            )
        if unbindable:
            return
        first_name, first = members[0]
        for name, table in members[1:]:
            if table.strategy != first.strategy:
                self.problems.add(
                    path,
                    f"binding tables {first_name} and {name} disagree on strategy"
                    f" ({first.strategy} vs {table.strategy}); {_BINDING_RULE}",
                )
                continue
            for setting in _BINDING_SETTINGS:
                mine, theirs = getattr(first, setting), getattr(table, setting)
                if mine != theirs:
                    self.problems.add(
                        path,
                        f"binding tables {first_name} and {name} disagree on {setting}"
                        f" ({_plain(mine)} vs {_plain(theirs)}); {_BINDING_RULE}",
                    )

    # -- tenants ---------------------------------------------------------------------

    def _tenants(self, document: Mapping[Any, Any], rules: TenantRules) -> dict[str, TenantConfig]:
        tenants: dict[str, TenantConfig] = {}
        schema_owners: dict[str, str] = {}
        for tenant_id, settings in self._entries(document, "tenants"):
            path: KeyPath = ("tenants", tenant_id)
            problem = tenant_id_problem(tenant_id)
            if problem is not None:
                self.problems.add(path, problem)
            tenant = self.problems.parse(TenantConfig, settings, path)
            if tenant is None:
                self._references(settings, path, ("datasource",))
                continue
            before = len(self.problems)
            if tenant.datasource is not None and (
                tenant.datasource not in self.declared_datasources
            ):
                self._undefined_datasource((*path, "datasource"), tenant.datasource)
            schema = self._tenant_schema(tenant_id, tenant, path)
            if schema is not None:
                owner = schema_owners.setdefault(schema.lower(), tenant_id)
                if owner != tenant_id:
                    self.problems.add(
                        (*path, "schema"),
                        f"schema '{schema}' is already the schema of tenant '{owner}';"
                        " every schema-isolated tenant needs a schema of its own",
                    )
            if schema is not None or tenant.isolation == "database":
                own = rules.own_problem(tenant_id, tenant.isolation, tenant.datasource, schema)
                if own is not None:
                    key = "schema" if tenant.isolation == "schema" else "datasource"
                    self.problems.add((*path, key), own)
            if len(self.problems) == before:
                tenants[tenant_id] = tenant.model_copy(update={"schema_name": schema})
        self._database_tenants_alone(tenants)
        return tenants

    def _registry_tables(
        self,
        names: Sequence[str],
        registry_url: str | None,
        datasources: Mapping[str, DatasourceConfig],
    ) -> None:
        """No declared table may name the registry's own table where the registry shares a
        datasource's database: declaring it would open it to tenant sessions."""
        urls = {name: datasource.url for name, datasource in datasources.items()}
        neighbours = registry_neighbours(registry_url, urls)
        if not neighbours or registry_url is None:
            return
        reserved = {table.lower() for table in registry_tables(registry_url)}
        shared = ", ".join(repr(name) for name, _, _ in neighbours)
        for name in names:
            if name.lower() in reserved:
                self.problems.add(
                    ("tables", name),
                    f"table {name!r} is the tenant registry's own table, in the database of"
                    f" datasource {shared}; tenant records must never be reachable through"
                    " the application's tables, so remove this table (and keep the registry"
                    " in its own schema or database with its own role)",
                )

    def _database_tenants_alone(self, tenants: Mapping[str, TenantConfig]) -> None:
        """A database-isolated tenant's datasource is used by no other static tenant."""
        placed: dict[str, list[str]] = {}
        for tenant_id, tenant in tenants.items():
            if tenant.datasource is not None:
                placed.setdefault(tenant.datasource, []).append(tenant_id)
        for tenant_id, tenant in tenants.items():
            if tenant.isolation == "database" and tenant.datasource is not None:
                others = [o for o in placed[tenant.datasource] if o != tenant_id]
                if others:
                    self.problems.add(
                        ("tenants", tenant_id, "datasource"),
                        company_problem(tenant_id, tenant.datasource, others),
                    )

    def _tenant_schema(self, tenant_id: str, tenant: TenantConfig, path: KeyPath) -> str | None:
        """The resolved schema of a schema-isolated tenant; None for other isolations."""
        if tenant.isolation != "schema":
            if tenant.schema_name is not None:
                self.problems.add(
                    (*path, "schema"),
                    "only tenants with isolation = \"schema\" take 'schema'; remove it, or set"
                    f" isolation = \"schema\" (this tenant's isolation is '{tenant.isolation}')",
                )
            return None
        if tenant.schema_name is not None:
            return tenant.schema_name
        if is_identifier(tenant_id):
            return tenant_id
        self.problems.add(
            (*path, "schema"),
            f"tenant id '{tenant_id}' is not a plain SQL identifier, so it cannot name the"
            f' tenant\'s schema; set schema = "..." ({IDENTIFIER_HELP})',
        )
        return None


def _tenant_scoped(strategy: Strategy, written: bool | None) -> bool:
    """Secure by default: a declared table carries the tenant column unless it says not.

    Only broadcast tables (reference data, the same rows for everyone) default to shared;
    a table wrongly left scoped fails loudly on its missing column, while one wrongly left
    shared would be readable across tenants.
    """
    if strategy == "tenant":
        return True
    if written is None:
        return strategy != "broadcast"
    return written


def _schemes_of(dialect: Dialect) -> str:
    return " or ".join(
        f"{scheme}://" for scheme, kind in SCHEME_DIALECTS.items() if kind == dialect
    )


def _defined(names: Sequence[str], what: str) -> str:
    if not names:
        return f"no {what} are defined"
    shown = ", ".join(names[:_LISTED_NAMES])
    more = f" and {len(names) - _LISTED_NAMES} more" if len(names) > _LISTED_NAMES else ""
    return f"defined: {shown}{more}"


def _misplaced(setting: str, strategy: Strategy, strategies: Sequence[Strategy]) -> str:
    if setting == "shards":
        takers = "only mod and hash_mod tables take 'shards' (range tables derive it from"
        return f"{takers} 'boundaries'); remove it from this {strategy} table"
    if setting == "datasources" and strategy == "single":
        return 'a single table lives on one datasource: write datasource = "ds0" instead'
    if setting == "datasources" and strategy == "tenant":
        return (
            "tenant tables live on each tenant's datasource; remove 'datasources' and set"
            " the tenants' datasource instead"
        )
    return (
        f"only {join_words(list(strategies))} tables take '{setting}';"
        f" remove it from this {strategy} table"
    )


def _plain(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(str(item) for item in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items()) or "none"
    return str(value)
