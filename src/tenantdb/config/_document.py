"""The configuration document as written: the input shape that differs from the resolved models.

Only tables and the top level differ; datasources, pools, tenants, limits and the registry
are read with their resolved models directly. These models check single fields (types,
ranges, names); ``_validation`` checks how fields fit together and resolves defaults.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ._durations import PositiveDuration
from ._models import (
    DEFAULT_MAX_STATEMENT_BYTES,
    DatasourceConfig,
    Interval,
    KeyType,
    LimitsConfig,
    MovesConfig,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Precreate,
    RegistryConfig,
    Strategy,
    TelemetryConfig,
    TenantConfig,
)
from ._names import SqlIdentifier, TenantId
from ._urls import Dialect

# Boundaries are checked by hand (one type for all, strictly ascending) so that a bad
# element gives one problem at its index instead of one per member of a union.
_Boundaries = Annotated[
    list[Any],
    WithJsonSchema(
        {"type": "array", "items": {"type": ["integer", "number", "string"]}, "minItems": 1},
        mode="validation",
    ),
]


class TableDocument(BaseModel):
    """A logical table (``[tables.<name>]``): where its rows live."""

    model_config = ConfigDict(extra="forbid", title="Table")

    strategy: Strategy
    """tenant, mod, hash_mod, consistent_hash, range, time_range, broadcast or single."""
    key: SqlIdentifier | None = None
    """Sharding key column (mod, hash_mod, consistent_hash, range, time_range)."""
    key_type: KeyType | None = None
    """The key column's type: int, text or uuid (mod: int; range: int or text), date or
    datetime (time_range). Key values are placed as the database compares them: '05' is 5
    for an int key. Undeclared: values whose placement depends on the type are refused."""
    shards: PositiveInt | None = None
    """Number of shards (mod, hash_mod); a range table has len(boundaries) + 1."""
    datasources: list[str] | None = None
    """Datasources holding the table, in placement order; default: all of them."""
    datasource: str | None = None
    """The datasource of a single table; default: default_datasource."""
    virtual_nodes: PositiveInt | None = None
    """Ring points per datasource (consistent_hash); default 512."""
    weights: dict[str, PositiveFloat] | None = None
    """Ring weight per datasource (consistent_hash); default 1.0 each."""
    boundaries: _Boundaries | None = None
    """Strictly ascending boundaries of one type (range)."""
    interval: Interval | None = None
    """One physical table per day, month or year (time_range)."""
    start: datetime.date | None = None
    """First period, e.g. 2026-01-01 (time_range)."""
    pre_create: NonNegativeInt | None = None
    """Periods created ahead of the current one (time_range); default 1."""
    tenant_scoped: bool | None = None
    """Rows carry the tenant column, so tenant sessions see only their own rows. Default:
    true for every strategy but broadcast (always true for tenant tables); write false
    for a table whose rows every tenant shares."""


class ConfigDocument(BaseModel):
    """A tenantdb cluster: datasources, logical tables, static tenants, tenant registry."""

    # Every key has a default here so that each one can be validated on its own;
    # ``datasources`` is marked required in the exported JSON Schema.
    model_config = ConfigDict(
        extra="forbid",
        title="tenantdb configuration",
        json_schema_extra={"required": ["datasources"]},
    )

    dialect: Dialect | None = None
    """postgres, mysql or sqlite; default: inferred from the datasource URLs."""
    tenant_column: SqlIdentifier = "tenant_id"
    """Column carrying the tenant id in tenant-scoped tables."""
    default_datasource: str | None = None
    """Home of single tables and unlisted tables; default: the first datasource."""
    datasources: Annotated[
        dict[SqlIdentifier, DatasourceConfig], Field(json_schema_extra={"minProperties": 1})
    ] = {}
    """Named databases, in placement order."""
    tables: dict[SqlIdentifier, TableDocument] = {}
    """Logical tables by name."""
    binding_tables: list[list[str]] = []
    """Groups of tables joined on their sharding key, co-located shard by shard."""
    allowed_functions: list[SqlIdentifier] = []
    """Functions beyond standard SQL that tenant sessions may call (e.g. your own)."""
    switch_file: str | None = None
    """JSON file of manual read-to-primary switches that `tenantdb replicas` writes and
    running processes follow (an absolute path: every process must name the same file)."""
    max_statement_bytes: PositiveInt = DEFAULT_MAX_STATEMENT_BYTES
    """Longest SQL text, in UTF-8 bytes, that a statement may have; a longer one is refused
    before it is parsed (parsing costs time and memory in proportion to the text)."""
    precreate: Precreate = "manual"
    """"auto": the cluster creates missing time_range period tables in a background thread
    (when its first session opens, then every precreate_interval), as `tenantdb ddl
    --precreate` does; "manual": only that command creates them."""
    precreate_interval: PositiveDuration = 3600.0
    """Time between two background precreation passes ("1h", "10m", seconds)."""
    tenants: dict[TenantId, TenantConfig] = {}
    """Static tenants by id."""
    registry: RegistryConfig | None = None
    """Where tenants beyond the static ones are stored, and how lookups are cached."""
    limits: LimitsConfig = LimitsConfig()
    """Every tenant's default limits (a tenant's own override them), enforced or shadowed."""
    telemetry: TelemetryConfig = TelemetryConfig()
    """Tracing, metrics and the slow-statement log."""
    moves: MovesConfig = MovesConfig()
    """What processes do while a tenant is moved online (``write_hold``), and how soon a
    move's cleanup may follow its cut-over (``cleanup_wait``)."""


SECTIONS = ("datasources", "tables", "tenants")
"""Top-level keys whose entries are checked one by one."""
