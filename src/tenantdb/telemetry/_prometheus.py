"""``prometheus_collector``: a cluster's metrics for ``prometheus_client``, read at scrape time.

Statement counters and histograms come from the cluster's ``StatementMetrics`` (kept from
the moment the collector is made); pools, replicas, breakers, tenant limits, the registry
and the template cache are read from ``cluster.status()`` and friends when Prometheus
scrapes, so nothing but the statement counters costs anything between scrapes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._metrics import OTHER_TENANTS, Histogram
from ._readings import (
    BREAKER_STATES,
    REPLICA_STATES,
    ObservedCluster,
    read_breakers,
    read_forced,
    read_limits,
    read_pools,
    read_registry,
    read_replicas,
    read_statements,
    read_templates,
)

# Figure of a LimitReading → (name, help, label of the limit or None).
_LIMIT_FAMILIES = {
    "rate_limit_refusals": (
        "tenantdb_rate_limit_refusals",
        "Statements refused by a tenant's rate limit or concurrency quota.",
        "limit",
    ),
    "quota_queue_waits": (
        "tenantdb_quota_queue_waits",
        "Statements that waited in a tenant's concurrency queue.",
        None,
    ),
    "quota_queue_timeouts": (
        "tenantdb_quota_queue_timeouts",
        "Statements that gave up waiting in a tenant's concurrency queue.",
        None,
    ),
    "shadow_refusals": (
        "tenantdb_shadow_refusals",
        "Statements shadow mode would have refused (nothing was refused).",
        "limit",
    ),
}


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
        yield from self._datasources(status)
        yield from self._limits(status)
        yield from self._registry_and_templates()

    # -- statements ------------------------------------------------------------------

    def _statements(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        reading = read_statements(self._telemetry.metrics)
        if reading is None:
            return
        statements = CounterMetricFamily(
            "tenantdb_statements",
            "Statements by operation, the datasource and role they ran on, and outcome.",
            labels=("operation", "datasource", "role", "outcome"),
        )
        for key, count in sorted(reading.statements.items()):
            statements.add_metric(key, count)
        yield statements
        durations = HistogramMetricFamily(
            "db_client_operation_duration_seconds",
            "Duration of database client operations (whole tenantdb calls).",
            labels=("db_system_name", "db_operation_name", "route", "outcome"),
            unit="seconds",
        )
        system = self._telemetry.system
        for (operation, route, outcome), histogram in sorted(reading.durations.items()):
            durations.add_metric(
                (system, operation.upper(), route, outcome),
                _buckets(histogram),
                histogram.sum,
            )
        yield durations
        width = HistogramMetricFamily(
            "tenantdb_fan_out_width", "Targets per statement (physical statements it became)."
        )
        width.add_metric((), _buckets(reading.fan_out), reading.fan_out.sum)
        yield width
        if reading.tenants is not None:
            per_tenant = CounterMetricFamily(
                "tenantdb_tenant_statements",
                f"Statements per tenant: the busiest by name, the rest as {OTHER_TENANTS}.",
                labels=("tenant",),
            )
            for tenant, count in reading.tenants.items():
                per_tenant.add_metric((tenant,), count)
            yield per_tenant

    # -- pools, replicas, breakers ---------------------------------------------------

    def _datasources(self, status: Mapping[str, Any]) -> Iterator[Any]:
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
        for pool in read_pools(status):
            key = (pool.datasource, pool.endpoint)
            connections.add_metric((*key, "in_use"), pool.in_use)
            connections.add_metric((*key, "idle"), pool.idle)
            max_size.add_metric(key, pool.max_size)
            waiting.add_metric(key, pool.waiting)
        yield from (connections, max_size, waiting)
        lag = GaugeMetricFamily(
            "tenantdb_replica_lag_seconds", "Replication lag last measured.", labels=labels
        )
        replica_state = GaugeMetricFamily(
            "tenantdb_replica_state",
            "1 for the state each replica is in (serving, lagging, down).",
            labels=(*labels, "state"),
        )
        for replica in read_replicas(status):
            key = (replica.datasource, replica.replica)
            if replica.lag_s is not None:
                lag.add_metric(key, replica.lag_s)
            for state in REPLICA_STATES:
                replica_state.add_metric((*key, state), float(replica.state == state))
        yield from (lag, replica_state)
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
        for breaker in read_breakers(status):
            key = (breaker.datasource, breaker.endpoint)
            for state in BREAKER_STATES:
                breaker_state.add_metric((*key, state), float(breaker.state == state))
            for state, count in breaker.transitions.items():
                transitions.add_metric((*key, state), count)
            rejected.add_metric(key, breaker.rejected)
        yield from (breaker_state, transitions, rejected)
        forced = GaugeMetricFamily(
            "tenantdb_reads_forced_to_primary",
            "1 when the datasource's reads go to its primary by hand or automatically.",
            labels=("datasource",),
        )
        for name, is_forced in read_forced(status).items():
            forced.add_metric((name,), float(is_forced))
        yield forced

    # -- tenant limits ---------------------------------------------------------------

    def _limits(self, status: Mapping[str, Any]) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families = {
            figure: CounterMetricFamily(name, help_text, labels=() if label is None else (label,))
            for figure, (name, help_text, label) in _LIMIT_FAMILIES.items()
        }
        reading = read_limits(status)
        for (figure, limit), count in reading.counters.items():
            families[figure].add_metric(() if limit is None else (limit,), count)
        yield from families.values()
        running = GaugeMetricFamily(
            "tenantdb_quota_in_flight", "Statements holding a tenant concurrency slot."
        )
        running.add_metric((), reading.in_flight)
        waiting = GaugeMetricFamily(
            "tenantdb_quota_queued", "Statements waiting for a tenant concurrency slot."
        )
        waiting.add_metric((), reading.queued)
        yield running
        yield waiting

    # -- registry and template cache -------------------------------------------------

    def _registry_and_templates(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        hits, misses = read_templates(self._cluster)
        lookups = CounterMetricFamily(
            "tenantdb_template_cache_lookups",
            "Statement-template cache lookups (a miss parses the SQL).",
            labels=("result",),
        )
        lookups.add_metric(("hit",), hits)
        lookups.add_metric(("miss",), misses)
        yield lookups
        registry = read_registry(self._cluster)
        cached = GaugeMetricFamily(
            "tenantdb_registry_tenants_cached", "Tenants held in the in-process registry."
        )
        cached.add_metric((), registry.cached)
        yield cached
        generation = GaugeMetricFamily(
            "tenantdb_registry_generation",
            "How many times this process's tenant snapshot took changes or was reloaded.",
        )
        generation.add_metric((), registry.generation)
        yield generation
        age = GaugeMetricFamily(
            "tenantdb_registry_last_change_age_seconds",
            "Seconds since this process's tenant snapshot last took a change.",
        )
        age.add_metric((), registry.changed_s_ago)
        yield age
        propagation = HistogramMetricFamily(
            "tenantdb_registry_propagation_seconds",
            "Seconds from another process writing a tenant change to this process applying"
            " it (by the two processes' wall clocks: approximate).",
            unit="seconds",
        )
        propagation.add_metric((), _buckets(registry.propagation), registry.propagation.sum)
        yield propagation
        if registry.feed != "off":  # static tenants have no feed to follow
            feed = GaugeMetricFamily(
                "tenantdb_registry_feed_live",
                "1 while the registry follows its store's change feed, 0 while it reconnects.",
            )
            feed.add_metric((), float(registry.feed == "live"))
            yield feed


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    from prometheus_client.utils import floatToGoString

    return [
        (floatToGoString(bound), count)  # type: ignore[no-untyped-call]
        for bound, count in histogram.cumulative()
    ]
