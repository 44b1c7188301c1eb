"""The resolved configuration: frozen models whose fields need no further defaulting.

``load_config`` builds these after checking the whole document, so every cross-reference
holds and every default is filled in (a ``mod`` table's ``datasources`` lists the cluster's
datasources, a ``single`` table's ``datasource`` is set, and so on). Building a model
directly checks each field's type and range only; pass a mapping to ``load_config`` to get
the whole-document checks.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ._durations import NonNegativeDuration, PositiveDuration
from ._names import SqlIdentifier
from ._urls import DatasourceUrl, Dialect, redact_url

Strategy = Literal[
    "tenant",
    "mod",
    "hash_mod",
    "consistent_hash",
    "range",
    "time_range",
    "broadcast",
    "single",
]
"""Where a logical table's rows live; see the design's "Concepts"."""

Interval = Literal["day", "month", "year"]
"""The period of one physical table of a ``time_range`` table."""

KeyType = Literal["int", "text", "uuid", "date", "datetime"]
"""How the database compares a sharding key; placement uses the value it compares."""

Isolation = Literal["shared", "schema", "database"]
"""How a tenant's rows are kept apart: a tenant column, a schema, or a database of its own."""

TenantStatus = Literal["active", "read_only", "suspended", "moving"]
"""``moving`` is set by an online move while it freezes the tenant: writes are held."""

ReplicaPolicy = Literal["round_robin", "weighted"]
"""How reads are spread over the replicas that qualify."""

LagFallback = Literal["primary", "error"]

Precreate = Literal["manual", "auto"]
"""Who creates time_range period tables: ``tenantdb ddl --precreate``, or also the cluster."""
"""Where a read goes when no replica qualifies: the primary, or a ReplicaLagError."""
"""Whether a tenant may write, only read, or do nothing."""

LimitMode = Literal["enforce", "shadow"]
"""Refuse statements over a tenant's limits, or only count them (to size limits on live
traffic)."""

RedisDown = Literal["fail_open", "fail_closed"]
"""What the cluster-wide rate limiter does while Redis cannot be reached: admit, or refuse."""

BreakerWindow = Literal["count", "time"]
"""A breaker's window: the last ``window_size`` calls, or the calls of the last
``window_size`` seconds."""

Boundary = int | float | str
"""A ``range`` boundary; all boundaries of one table share one of these types."""


def _reject_bool(value: object) -> object:
    # pydantic's lax mode reads true as 1; in a configuration that is always a mistake.
    if isinstance(value, bool):
        raise PydanticCustomError("bool_not_number", "expected a number, not true or false")
    return value


_STORE_SCHEMES = ("sqlite", "postgresql", "postgres", "redis", "rediss", "file", "etcd", "memory")
_CACHE_SCHEMES = ("redis", "rediss")


def _scheme_in(schemes: tuple[str, ...], what: str) -> BeforeValidator:
    def check(value: object) -> object:
        if isinstance(value, str):
            scheme = value.partition(":")[0].lower()
            if scheme not in schemes:
                raise PydanticCustomError(
                    "url_scheme",
                    "{what} must start with one of {schemes}; got '{scheme}:'",
                    {
                        "what": what,
                        "schemes": ", ".join(f"{s}:" for s in schemes),
                        "scheme": scheme,
                    },
                )
        return value

    return BeforeValidator(check)


PositiveInt = Annotated[int, Field(ge=1), BeforeValidator(_reject_bool)]
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(_reject_bool)]
PositiveFloat = Annotated[float, Field(gt=0), BeforeValidator(_reject_bool)]
Percent = Annotated[float, Field(gt=0, le=100), BeforeValidator(_reject_bool)]

ReprArgs = Iterable[tuple[str | None, Any]]

DEFAULT_MAX_STATEMENT_BYTES = 1_048_576
"""1 MiB: ten times a 10,000-value IN list, and parsing it stays well under a second."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PoolConfig(_Model):
    """Connection pool sizes for one datasource (per role: primary, each replica)."""

    min_size: NonNegativeInt = 1
    """Connections kept open even when idle."""
    max_size: PositiveInt = 10
    """Most connections open at once; at least ``min_size``."""
    timeout: PositiveDuration = 30.0
    """Seconds to wait for a free connection before failing."""
    connect_timeout: PositiveDuration | None = None
    """Seconds to wait for a new connection to be made (TCP, TLS, login) before the server
    counts as unreachable; default: ``timeout``. A URL's own ``connect_timeout`` wins."""

    @property
    def connect_timeout_s(self) -> float:
        """``connect_timeout``, else ``timeout``."""
        return self.connect_timeout if self.connect_timeout is not None else self.timeout


class BreakerConfig(_Model):
    """The circuit breaker of each endpoint (the primary, each replica) of one datasource.

    Over its window, once ``minimum_calls`` calls were seen, the breaker opens when the
    share of failed calls reaches ``failure_rate`` percent or the share of calls slower
    than ``slow_call`` reaches ``slow_call_rate`` percent. Only connection failures and
    timeouts count as failures, never a statement the database refused. An open breaker
    refuses statements at once for ``open_wait``, then lets ``permitted_probes`` through:
    it closes when they all succeed and opens again when one fails. On by default.
    """

    enabled: bool = True
    window: BreakerWindow = "count"
    """``count``: the last ``window_size`` calls; ``time``: the last ``window_size`` seconds."""
    window_size: Annotated[int, Field(ge=1, le=100_000), BeforeValidator(_reject_bool)] = 100
    """Calls (count window, at most 100,000) or seconds (time window, at most 3600) the
    rates are measured over."""
    minimum_calls: PositiveInt = 20
    """Calls the window must hold before the rates can open the breaker."""
    failure_rate: Percent = 50.0
    """Percentage of failed calls (0 < x <= 100) that opens the breaker."""
    slow_call_rate: Percent = 100.0
    """Percentage of slow calls (0 < x <= 100) that opens the breaker."""
    slow_call: PositiveDuration = 10.0
    """A call that takes at least this long counts as slow."""
    open_wait: PositiveDuration = 10.0
    """How long an open breaker refuses statements before it lets probes through."""
    permitted_probes: PositiveInt = 3
    """Statements let through at once to probe a half-open endpoint."""


class DatasourceConfig(_Model):
    """One database: a primary URL, its replicas and how to use them.

    ``repr()`` and ``str()`` show URLs with their password replaced by ``***``.
    """

    url: DatasourceUrl
    """Primary URL: ``sqlite:///…``, ``postgresql://…``/``postgres://…``, ``mysql://…``/``mariadb://…``."""
    replicas: tuple[DatasourceUrl, ...] = ()
    """Read replica URLs, same kind of database as ``url``."""
    replica_weights: tuple[PositiveFloat, ...] = ()
    """Share of reads per replica under ``replica_policy = "weighted"`` (one per replica)."""
    replica_policy: ReplicaPolicy = "round_robin"
    """How reads are spread over the replicas that qualify."""
    max_replication_lag: PositiveDuration = 5.0
    """Seconds a replica may lag behind the primary and still serve reads."""
    lag_check_interval: PositiveDuration = 1.0
    """Seconds between two lag measurements of each replica (one monitor thread)."""
    lag_cooldown: NonNegativeDuration = 5.0
    """Seconds a lagging replica must stay under the threshold before it serves again."""
    on_replica_lag: LagFallback = "primary"
    """When no replica qualifies: read the primary, or raise ReplicaLagError."""
    pool: PoolConfig = PoolConfig()
    breaker: BreakerConfig = BreakerConfig()
    weight: PositiveFloat = 1.0
    """Relative share of new tenants placed on this datasource."""
    create_dirs: bool = False
    """SQLite only: create the database file's missing parent directories when it is first
    opened. Off by default, so a mistyped path is an error instead of a new, empty database."""

    @property
    def redacted_url(self) -> str:
        """``url`` with any password replaced by ``***``; safe for logs and messages."""
        return redact_url(self.url)

    def __repr_args__(self) -> ReprArgs:
        for name, value in super().__repr_args__():
            if name == "url":
                yield name, self.redacted_url
            elif name == "replicas":
                yield name, tuple(redact_url(replica) for replica in self.replicas)
            else:
                yield name, value


class TableConfig(_Model):
    """A logical table: its strategy and the resolved settings that strategy uses.

    Settings a strategy does not use keep their defaults (``None``, ``()``, ``{}``, 512, 1).
    """

    strategy: Strategy
    key: SqlIdentifier | None = None
    """Sharding key column; set for mod, hash_mod, consistent_hash, range and time_range."""
    key_type: KeyType | None = None
    """The key column's type, as written; None: undeclared (see the strategies' defaults)."""
    shards: PositiveInt | None = None
    """Number of physical tables for mod, hash_mod and range (``len(boundaries) + 1``)."""
    datasources: tuple[str, ...] = ()
    """Datasources holding the table, in placement order; ``()`` for tenant tables."""
    datasource: str | None = None
    """The one datasource of a ``single`` table."""
    virtual_nodes: PositiveInt = 512
    """Ring points per datasource of a ``consistent_hash`` table."""
    weights: dict[str, PositiveFloat] = {}
    """Ring weight per datasource of a ``consistent_hash`` table (every datasource listed)."""
    boundaries: tuple[Boundary, ...] = ()
    """Strictly ascending boundaries of a ``range`` table: shard i holds keys below boundary i."""
    interval: Interval | None = None
    """Period of one physical table of a ``time_range`` table."""
    start: datetime.date | None = None
    """First period of a ``time_range`` table."""
    pre_create: NonNegativeInt = 1
    """Periods after the current one that a ``time_range`` table creates ahead of time."""
    tenant_scoped: bool = False
    """Rows carry the cluster's tenant column: always for ``tenant`` tables, by default for
    every other strategy but ``broadcast`` (resolved by ``load_config``)."""


# The one limits class: ``TenantConfig.limits`` here and ``Tenant.limits`` in the core hold
# it. A plain frozen, slotted, hashable dataclass, not a model: the ranges below are checked
# where limits come in (a document or a store record, both through TenantConfig), not when
# code builds one; ``put`` turns a Tenant into a record and parses it back, so those are
# checked too. The docstring is the JSON Schema's description.
@dataclass(frozen=True, slots=True, kw_only=True)
class TenantLimits:
    """Per-tenant request limits; None means unlimited."""

    # Read by pydantic when it validates a TenantConfig (unknown keys are refused).
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    requests_per_second: PositiveFloat | None = None
    """Statements per second on average (a token bucket refilled at this rate)."""
    burst: PositiveInt | None = None
    """Statements admitted at once above the rate; default: one second's worth."""
    max_concurrent: PositiveInt | None = None
    """Statements of this tenant running at the same time."""
    max_concurrent_per_datasource: PositiveInt | None = None
    """Statements of this tenant running at the same time on one datasource."""
    max_queued: NonNegativeInt | None = None
    """Statements that may wait for a concurrency slot; more are refused at once."""
    queue_timeout: NonNegativeDuration | None = None
    """Longest wait for a concurrency slot before the statement is refused."""
    statement_timeout: PositiveDuration | None = None
    """Longest a statement may run; the server cancels it after that."""


class TenantConfig(_Model):
    """A static tenant declared in the configuration (``[tenants.<id>]``).

    The document key for ``schema_name`` is ``schema``.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_alias=True,
        validate_by_name=True,
    )

    datasource: str | None = None
    """Where the tenant's rows live; None: the registry or the default datasource decides."""
    isolation: Isolation = "shared"
    schema_name: SqlIdentifier | None = Field(default=None, alias="schema")
    """Schema of a schema-isolated tenant (resolved to the tenant id when not written)."""
    status: TenantStatus = "active"
    limits: TenantLimits = TenantLimits()
    features: dict[str, Any] = {}
    """Feature flags and rollout stages, as written."""


class LimitsConfig(_Model):
    """Every tenant's default limits, and how limits are enforced (``[limits]``).

    A tenant's own ``limits`` override these key by key; nothing is limited until a rate or
    a concurrency is set. ``repr()`` and ``str()`` show ``redis_url`` with its password
    replaced by ``***``.
    """

    mode: LimitMode = "enforce"
    """``enforce`` refuses statements over the limits with RateLimitedError; ``shadow`` runs
    them and only counts them (``cluster.status()``), to size limits on live traffic."""
    requests_per_second: PositiveFloat | None = None
    """Each tenant's statements per second on average; None: no rate limit."""
    burst: PositiveInt | None = None
    """Statements admitted at once above the rate; default: one second's worth."""
    max_concurrent: PositiveInt | None = None
    """Each tenant's statements running at the same time; None: no limit."""
    max_concurrent_per_datasource: PositiveInt | None = None
    """Each tenant's statements running at the same time on one datasource."""
    max_queued: NonNegativeInt = 100
    """Statements of one tenant that may wait for a concurrency slot."""
    queue_timeout: NonNegativeDuration = 1.0
    """Longest wait for a concurrency slot before RateLimitedError."""
    statement_timeout: PositiveDuration | None = None
    """Longest a statement may run (the server cancels it); None: no limit."""
    redis_url: Annotated[str | None, _scheme_in(_CACHE_SCHEMES, "redis_url")] = None
    """Share rate limits between processes through Redis (``redis://…``); omitted: each
    process limits on its own."""
    on_redis_down: RedisDown = "fail_open"
    """While Redis cannot be reached: ``fail_open`` admits statements (one warning),
    ``fail_closed`` refuses them."""

    def __repr_args__(self) -> ReprArgs:
        for name, value in super().__repr_args__():
            yield (
                name,
                redact_url(value) if isinstance(value, str) and name == "redis_url" else value,
            )


def _off_is_none(value: object) -> object:
    """``"off"`` for an optional setting (TOML has no null)."""
    return None if isinstance(value, str) and value.strip().lower() == "off" else value


def _also_off(schema: dict[str, Any]) -> None:
    schema.setdefault("anyOf", []).append({"const": "off"})


class TelemetryConfig(_Model):
    """Traces, metrics and the slow-statement log (``[telemetry]``).

    Spans are made only when OpenTelemetry is installed and the application has set a
    tracer provider; metrics are kept once an exporter is attached (the Prometheus
    collector, or ``otel_metrics``). Parameter values never leave the process unless
    ``slow_statement_params`` says so, and then only in the slow-statement log.
    """

    tracing: bool = True
    """One span per ``execute`` (a child per datasource when a statement fans out) when
    OpenTelemetry has a tracer provider; ``false``: never look."""
    query_text: bool = False
    """Put the SQL text (``db.query.text``, as written, without parameter values) on spans."""
    otel_metrics: bool = False
    """Record ``db.client.operation.duration`` and tenantdb's counters through the
    OpenTelemetry meter provider (the application brings the SDK)."""
    tenant_labels: bool = False
    """Label per-tenant metrics by tenant: only the ``top_tenants`` busiest get their own
    label, the rest share ``__other__``."""
    top_tenants: PositiveInt = 100
    """How many tenants get a label of their own when ``tenant_labels`` is on."""
    slow_statement: Annotated[NonNegativeDuration | None, BeforeValidator(_off_is_none)] = Field(
        1.0, json_schema_extra=_also_off
    )
    """A statement that runs this long or longer is logged (``tenantdb.slow``, WARNING) and
    kept for ``cluster.slow_statements()``; ``"off"`` (None): no slow-statement log."""
    slow_statement_params: bool = False
    """Log the parameter values of slow statements too (they may hold personal data)."""
    slow_statements_kept: PositiveInt = 100
    """How many of the latest slow statements ``cluster.slow_statements()`` returns."""


class RegistryConfig(_Model):
    """Where tenants live beyond the static ones, and how their lookups are cached.

    ``repr()`` and ``str()`` show URLs with their password replaced by ``***``.
    """

    url: Annotated[str | None, _scheme_in(_STORE_SCHEMES, "a tenant store URL")] = None
    """The tenant store (``sqlite:///…``, ``postgresql://…``, ``redis://…``, ``file:///…``,
    ``etcd://…``); omitted: the static tenants, kept in this process."""
    cache_url: Annotated[str | None, _scheme_in(_CACHE_SCHEMES, "cache_url")] = None
    """Optional shared second-level cache (``redis://…``)."""
    negative_ttl: NonNegativeDuration = 5.0
    """Seconds an "unknown tenant" answer is cached."""
    max_cached: PositiveInt = 100_000
    """Most tenants kept in the in-process cache."""

    def __repr_args__(self) -> ReprArgs:
        for name, value in super().__repr_args__():
            yield name, redact_url(value) if isinstance(value, str) else value


class MovesConfig(_Model):
    """How processes behave while a tenant is moved online (``[moves]``)."""

    write_hold: NonNegativeDuration = 10.0
    """Longest a write of a tenant whose status is ``moving`` waits for the move's cut-over
    (reads go on) before it fails with a retryable TenantStatusError; 0: fail at once."""
    cleanup_wait: NonNegativeDuration = 60.0
    """Least time between a move's cut-over and its cleanup (which deletes the tenant's rows
    from the old datasource): a process that has not applied the new placement yet still
    reads there. ``cleanup_move(..., force=True)`` / ``--force`` cleans up sooner."""


class Config(_Model):
    """A whole, validated cluster configuration; build it with ``load_config``."""

    dialect: Dialect
    tenant_column: SqlIdentifier = "tenant_id"
    """Column that carries the tenant id in tenant-scoped tables."""
    default_datasource: str
    """Where ``single`` tables and tables not in the configuration live."""
    datasources: dict[str, DatasourceConfig]
    """Datasources in declaration order."""
    tables: dict[str, TableConfig] = {}
    """Logical tables by name, as written (case kept)."""
    binding_tables: tuple[tuple[str, ...], ...] = ()
    """Groups of co-located tables: a join between tables of one group stays in a shard."""
    allowed_functions: tuple[SqlIdentifier, ...] = ()
    """Functions beyond standard SQL that tenant sessions may call."""
    switch_file: str | None = None
    """JSON file of manual read-to-primary switches, written by ``tenantdb replicas``."""
    max_statement_bytes: PositiveInt = DEFAULT_MAX_STATEMENT_BYTES
    """Longest SQL text (UTF-8 bytes) a statement may have; longer ones are refused unparsed."""
    precreate: Precreate = "manual"
    """``auto``: a background thread creates missing time_range period tables."""
    precreate_interval: PositiveDuration = 3600.0
    """Seconds between two background precreation passes."""
    tenants: dict[str, TenantConfig] = {}
    """Static tenants by id."""
    registry: RegistryConfig | None = None
    limits: LimitsConfig = LimitsConfig()
    """Default tenant limits and how they are enforced."""
    telemetry: TelemetryConfig = TelemetryConfig()
    """Tracing, metrics and the slow-statement log."""
    moves: MovesConfig = MovesConfig()
    """What processes do while a tenant is moved online."""
