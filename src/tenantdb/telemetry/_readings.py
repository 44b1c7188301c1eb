"""Readings: what a cluster's metrics say at one moment, read once for every exporter.

The Prometheus collector and the OpenTelemetry instruments export the same figures under
their own names; both take them from here, so what a figure means (which status field it
comes from, how tenant limit counters add up, which pool name an endpoint has) is decided
in one place. Each ``read_*`` function reads one part, so an OpenTelemetry callback reads
only what its instrument shows. Nothing here imports an exporter library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ._metrics import Histogram, StatementMetrics

BREAKER_STATES = ("closed", "open", "half_open")
REPLICA_STATES = ("serving", "lagging", "down")
# Counter of a tenant's limit snapshot → (the figure it adds to, the limit it names).
_LIMIT_COUNTERS = {
    "refused_rate": ("rate_limit_refusals", "requests_per_second"),
    "refused_concurrency": ("rate_limit_refusals", "max_concurrent"),
    "waited_in_queue": ("quota_queue_waits", None),
    "timed_out_in_queue": ("quota_queue_timeouts", None),
    "shadow_rate": ("shadow_refusals", "requests_per_second"),
    "shadow_concurrency": ("shadow_refusals", "max_concurrent"),
}


class _Templates(Protocol):
    hits: int
    misses: int


class _Router(Protocol):
    @property
    def templates(self) -> _Templates: ...


class _Registry(Protocol):
    def status(self) -> dict[str, Any]: ...

    def propagation(self) -> Histogram: ...


class _Telemetry(Protocol):
    @property
    def metrics(self) -> StatementMetrics | None: ...

    @property
    def system(self) -> str: ...

    def keep_metrics(self) -> StatementMetrics: ...


class _Datasources(Protocol):
    @property
    def telemetry(self) -> _Telemetry: ...


class ObservedCluster(Protocol):
    """What the exporters read of a ``Cluster`` or ``AsyncCluster``."""

    @property
    def datasources(self) -> _Datasources: ...

    @property
    def router(self) -> _Router: ...

    @property
    def tenants(self) -> _Registry: ...

    def status(self) -> dict[str, Any]: ...


# -- statements --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementReading:
    """``StatementMetrics.snapshot()``, typed: counts by (operation, datasource, role,
    outcome), duration histograms by (operation, route, outcome), the fan-out width
    histogram, and per-tenant counts (None unless tenant labels are on)."""

    statements: Mapping[tuple[str, str, str, str], int]
    durations: Mapping[tuple[str, str, str], Histogram]
    fan_out: Histogram
    tenants: Mapping[str, int] | None


def read_statements(metrics: StatementMetrics | None) -> StatementReading | None:
    """The statement metrics, or None while none are kept."""
    if metrics is None:
        return None
    snapshot = metrics.snapshot()
    return StatementReading(
        snapshot["statements"], snapshot["durations"], snapshot["fan_out"], snapshot["tenants"]
    )


# -- pools, replicas, breakers, switches -------------------------------------------------


@dataclass(frozen=True, slots=True)
class PoolReading:
    """One endpoint's pool (``endpoint``: ``primary`` or the replica's name)."""

    datasource: str
    endpoint: str
    in_use: int
    idle: int
    max_size: int
    waiting: int

    @property
    def pool_name(self) -> str:
        """A name unique in the process: ``ds0/primary``, ``ds0/replica0``."""
        prefix = f"{self.datasource}/"
        return self.endpoint if self.endpoint.startswith(prefix) else prefix + self.endpoint


@dataclass(frozen=True, slots=True)
class ReplicaReading:
    """One replica: its lag (None until measured) and state (``REPLICA_STATES``, or
    ``not started`` before its datasource's first statement)."""

    datasource: str
    replica: str
    lag_s: float | None
    state: str


@dataclass(frozen=True, slots=True)
class BreakerReading:
    """One endpoint's circuit breaker: its state and how often it entered each state
    (``transitions``: state → count), and the statements it refused."""

    datasource: str
    endpoint: str
    state: str
    transitions: Mapping[str, int]
    rejected: int


def read_pools(status: Mapping[str, Any]) -> list[PoolReading]:
    """Every opened pool of ``cluster.status()`` (an endpoint not used yet has none)."""
    found = []
    for name, entry in sorted(status["datasources"].items()):
        for endpoint, stats in sorted(entry.get("pools", {}).items()):
            if stats is not None:
                found.append(
                    PoolReading(
                        name,
                        endpoint,
                        stats["in_use"],
                        stats["idle"],
                        stats["max_size"],
                        stats["waiting"],
                    )
                )
    return found


def read_replicas(status: Mapping[str, Any]) -> list[ReplicaReading]:
    return [
        ReplicaReading(name, replica["name"], replica.get("lag_s"), replica["state"])
        for name, entry in sorted(status["datasources"].items())
        for replica in entry.get("replicas", [])
    ]


def read_breakers(status: Mapping[str, Any]) -> list[BreakerReading]:
    """Every endpoint's breaker that exists (one is made at its endpoint's first
    statement, never when breakers are disabled)."""
    found = []
    for name, entry in sorted(status["datasources"].items()):
        for endpoint, breaker in sorted(entry.get("breakers", {}).items()):
            if breaker is not None:
                transitions = {
                    "open": breaker["opened_count"],
                    "half_open": breaker["half_opened_count"],
                    "closed": breaker["closed_count"],
                }
                found.append(
                    BreakerReading(
                        name, endpoint, breaker["state"], transitions, breaker["rejected_count"]
                    )
                )
    return found


def read_forced(status: Mapping[str, Any]) -> dict[str, bool]:
    """Datasource → whether its reads go to its primary (by hand or automatically)."""
    return {
        name: bool(entry.get("forced") or entry.get("automatic"))
        for name, entry in sorted(status["datasources"].items())
    }


# -- tenant limits -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LimitReading:
    """Tenant limits summed over tenants (never per tenant: the tenants with limits are
    unbounded). ``counters``: (figure, limit or None) → count, where figure is one of
    ``rate_limit_refusals``, ``quota_queue_waits``, ``quota_queue_timeouts``,
    ``shadow_refusals`` and limit ``requests_per_second`` or ``max_concurrent``."""

    counters: Mapping[tuple[str, str | None], int]
    in_flight: int
    queued: int


def read_limits(status: Mapping[str, Any]) -> LimitReading:
    """The ``limits`` part of ``cluster.status()``, summed."""
    counters: dict[tuple[str, str | None], int] = {}
    in_flight = queued = 0
    for tenant in status["limits"].get("tenants", {}).values():
        in_flight += tenant.get("in_flight") or 0
        queued += tenant.get("queued") or 0
        for counter, key in _LIMIT_COUNTERS.items():
            if counter in tenant:
                counters[key] = counters.get(key, 0) + tenant[counter]
    return LimitReading(dict(sorted(counters.items(), key=str)), in_flight, queued)


# -- registry and template cache ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistryReading:
    """This process's tenant registry: tenants held, snapshot generation and seconds
    since it last changed, the feed (``live``, ``reconnecting``, ``off`` for static
    tenants only) and the change-propagation delays observed."""

    cached: int
    generation: int
    changed_s_ago: float
    feed: str
    propagation: Histogram


def read_registry(cluster: ObservedCluster) -> RegistryReading:
    """Starts the registry if nothing has yet (as a session would)."""
    registry = cluster.tenants
    status = registry.status()
    return RegistryReading(
        status["cached"],
        status["generation"],
        status["changed_s_ago"],
        status["feed"],
        registry.propagation(),
    )


def read_templates(cluster: ObservedCluster) -> tuple[int, int]:
    """(hits, misses) of the statement-template cache."""
    templates = cluster.router.templates
    return templates.hits, templates.misses
