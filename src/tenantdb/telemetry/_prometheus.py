"""``prometheus_collector``: a cluster's metrics for ``prometheus_client``, read at scrape time.

Statement counters and histograms come from the cluster's ``StatementMetrics`` (kept from
the moment the collector is made); pools, replicas, breakers, tenant limits, the registry
and the template cache are read from ``cluster.status()`` and friends when Prometheus
scrapes, so nothing but the statement counters costs anything between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from ._metrics import OTHER_TENANTS, Histogram
from ._telemetry import Telemetry

_BREAKER_STATES = ("closed", "open", "half_open")
_REPLICA_STATES = ("serving", "lagging", "down")
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


class _Datasources(Protocol):
    @property
    def telemetry(self) -> Telemetry: ...


class ObservedCluster(Protocol):
    """What the collector reads of a ``Cluster`` or ``AsyncCluster``."""

    @property
    def datasources(self) -> _Datasources: ...

    @property
    def router(self) -> _Router: ...

    @property
    def tenants(self) -> _Registry: ...

    def status(self) -> dict[str, Any]: ...


def prometheus_collector(cluster: ObservedCluster) -> Any:
    """A ``prometheus_client`` collector of ``cluster``'s metrics; register it with
    ``prometheus_client.REGISTRY.register(collector)`` (or a registry of your own).

    Statement metrics are kept from this call on. Requires ``prometheus_client``
    (``pip install 'tenantdb[prometheus]'``)."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError(
            "prometheus_collector needs prometheus_client: pip install 'tenantdb[prometheus]'"
        ) from exc
    cluster.datasources.telemetry.keep_metrics()
    return _Collector(cluster)


class _Collector:
    def __init__(self, cluster: ObservedCluster) -> None:
        self._cluster = cluster
        self._telemetry = cluster.datasources.telemetry

    def describe(self) -> list[Any]:
        return []  # unchecked collector: registering it does not scrape

    def collect(self) -> Iterator[Any]:
        yield from self._statements()
        status = self._cluster.status()
        yield from self._datasources(status["datasources"])
        yield from self._limits(status["limits"])
        yield from self._registry_and_templates()

    # -- statements ------------------------------------------------------------------

    def _statements(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        metrics = self._telemetry.metrics
        if metrics is None:
            return
        snapshot = metrics.snapshot()
        statements = CounterMetricFamily(
            "tenantdb_statements",
            "Statements by operation, the datasource and role they ran on, and outcome.",
            labels=("operation", "datasource", "role", "outcome"),
        )
        for (operation, datasource, role, outcome), count in sorted(snapshot["statements"].items()):
            statements.add_metric((operation, datasource, role, outcome), count)
        yield statements
        durations = HistogramMetricFamily(
            "db_client_operation_duration_seconds",
            "Duration of database client operations (whole tenantdb calls).",
            labels=("db_system_name", "db_operation_name", "route", "outcome"),
            unit="seconds",
        )
        system = self._telemetry.system
        for (operation, route, outcome), histogram in sorted(snapshot["durations"].items()):
            durations.add_metric(
                (system, operation.upper(), route, outcome),
                _buckets(histogram),
                histogram.sum,
            )
        yield durations
        fan_out: Histogram = snapshot["fan_out"]
        width = HistogramMetricFamily(
            "tenantdb_fan_out_width", "Targets per statement (physical statements it became)."
        )
        width.add_metric((), _buckets(fan_out), fan_out.sum)
        yield width
        tenants = snapshot["tenants"]
        if tenants is not None:
            per_tenant = CounterMetricFamily(
                "tenantdb_tenant_statements",
                f"Statements per tenant: the busiest by name, the rest as {OTHER_TENANTS}.",
                labels=("tenant",),
            )
            for tenant, count in tenants.items():
                per_tenant.add_metric((tenant,), count)
            yield per_tenant

    # -- pools, replicas, breakers ---------------------------------------------------

    def _datasources(self, datasources: Mapping[str, Any]) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = ("datasource", "endpoint")
        connections = GaugeMetricFamily(
            "tenantdb_pool_connections",
            "Open connections of each endpoint's pool, by state.",
            labels=(*labels, "state"),
        )
        max_size = GaugeMetricFamily(
            "tenantdb_pool_max_size", "Most connections each pool may open.", labels=labels
        )
        waiting = GaugeMetricFamily(
            "tenantdb_pool_waiting", "Callers waiting for a connection.", labels=labels
        )
        lag = GaugeMetricFamily(
            "tenantdb_replica_lag_seconds", "Replication lag last measured.", labels=labels
        )
        replica_state = GaugeMetricFamily(
            "tenantdb_replica_state",
            "1 for the state each replica is in (serving, lagging, down).",
            labels=(*labels, "state"),
        )
        breaker_state = GaugeMetricFamily(
            "tenantdb_breaker_state",
            "1 for the state each endpoint's circuit breaker is in.",
            labels=(*labels, "state"),
        )
        transitions = CounterMetricFamily(
            "tenantdb_breaker_transitions",
            "Changes of state of each circuit breaker, by the state entered.",
            labels=(*labels, "to"),
        )
        rejected = CounterMetricFamily(
            "tenantdb_breaker_rejections",
            "Statements a circuit breaker refused without sending them.",
            labels=labels,
        )
        forced = GaugeMetricFamily(
            "tenantdb_reads_forced_to_primary",
            "1 when the datasource's reads go to its primary by hand or automatically.",
            labels=("datasource",),
        )
        for name, entry in sorted(datasources.items()):
            for endpoint, stats in sorted(entry.get("pools", {}).items()):
                if stats is None:
                    continue
                key = (name, endpoint)
                connections.add_metric((*key, "in_use"), stats["in_use"])
                connections.add_metric((*key, "idle"), stats["idle"])
                max_size.add_metric(key, stats["max_size"])
                waiting.add_metric(key, stats["waiting"])
            for replica in entry.get("replicas", []):
                key = (name, replica["name"])
                if replica.get("lag_s") is not None:
                    lag.add_metric(key, replica["lag_s"])
                for state in _REPLICA_STATES:
                    replica_state.add_metric((*key, state), float(replica["state"] == state))
            for endpoint, breaker in sorted(entry.get("breakers", {}).items()):
                if breaker is None:
                    continue
                key = (name, endpoint)
                for state in _BREAKER_STATES:
                    breaker_state.add_metric((*key, state), float(breaker["state"] == state))
                transitions.add_metric((*key, "open"), breaker["opened_count"])
                transitions.add_metric((*key, "half_open"), breaker["half_opened_count"])
                transitions.add_metric((*key, "closed"), breaker["closed_count"])
                rejected.add_metric(key, breaker["rejected_count"])
            forced.add_metric((name,), float(bool(entry.get("forced") or entry.get("automatic"))))
        yield from (connections, max_size, waiting, lag, replica_state, breaker_state)
        yield from (transitions, rejected, forced)

    # -- tenant limits ---------------------------------------------------------------

    def _limits(self, limits: Mapping[str, Any]) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families: dict[str, Any] = {
            "rate_limit_refusals": CounterMetricFamily(
                "tenantdb_rate_limit_refusals",
                "Statements refused by a tenant's rate limit or concurrency quota.",
                labels=("limit",),
            ),
            "quota_queue_waits": CounterMetricFamily(
                "tenantdb_quota_queue_waits",
                "Statements that waited in a tenant's concurrency queue.",
            ),
            "quota_queue_timeouts": CounterMetricFamily(
                "tenantdb_quota_queue_timeouts",
                "Statements that gave up waiting in a tenant's concurrency queue.",
            ),
            "shadow_refusals": CounterMetricFamily(
                "tenantdb_shadow_refusals",
                "Statements shadow mode would have refused (nothing was refused).",
                labels=("limit",),
            ),
        }
        totals: dict[tuple[str, str | None], int] = {}
        in_flight = queued = 0
        for counters in limits.get("tenants", {}).values():
            in_flight += counters.get("in_flight") or 0
            queued += counters.get("queued") or 0
            for counter, (family, limit) in _LIMIT_COUNTERS.items():
                if counter in counters:
                    totals[(family, limit)] = totals.get((family, limit), 0) + counters[counter]
        for (family, limit), count in sorted(totals.items(), key=str):
            families[family].add_metric(() if limit is None else (limit,), count)
        yield from families.values()
        running = GaugeMetricFamily(
            "tenantdb_quota_in_flight", "Statements holding a tenant concurrency slot."
        )
        running.add_metric((), in_flight)
        waiting = GaugeMetricFamily(
            "tenantdb_quota_queued", "Statements waiting for a tenant concurrency slot."
        )
        waiting.add_metric((), queued)
        yield running
        yield waiting

    # -- registry and template cache -------------------------------------------------

    def _registry_and_templates(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        templates = self._cluster.router.templates
        lookups = CounterMetricFamily(
            "tenantdb_template_cache_lookups",
            "Statement-template cache lookups (a miss parses the SQL).",
            labels=("result",),
        )
        lookups.add_metric(("hit",), templates.hits)
        lookups.add_metric(("miss",), templates.misses)
        yield lookups
        registry = self._cluster.tenants.status()
        cached = GaugeMetricFamily(
            "tenantdb_registry_tenants_cached", "Tenants held in the in-process registry."
        )
        cached.add_metric((), registry["cached"])
        yield cached
        generation = GaugeMetricFamily(
            "tenantdb_registry_generation",
            "How many times this process's tenant snapshot took changes or was reloaded.",
        )
        generation.add_metric((), registry["generation"])
        yield generation
        age = GaugeMetricFamily(
            "tenantdb_registry_last_change_age_seconds",
            "Seconds since this process's tenant snapshot last took a change.",
        )
        age.add_metric((), registry["changed_s_ago"])
        yield age
        if registry["feed"] != "off":  # static tenants have no feed to follow
            feed = GaugeMetricFamily(
                "tenantdb_registry_feed_live",
                "1 while the registry follows its store's change feed, 0 while it reconnects.",
            )
            feed.add_metric((), float(registry["feed"] == "live"))
            yield feed


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    from prometheus_client.utils import floatToGoString

    return [
        (floatToGoString(bound), count)  # type: ignore[no-untyped-call]
        for bound, count in histogram.cumulative()
    ]
