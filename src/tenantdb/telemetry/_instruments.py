"""``OtelInstruments``: a cluster's metrics as OpenTelemetry instruments (``otel_metrics``).

What the Prometheus collector exposes, under OpenTelemetry names: the database semantic
conventions' where one exists (``db.client.connection.count`` with
``db.client.connection.state`` ``idle`` / ``used``, ``db.client.connection.max``,
``db.client.connection.pending_requests``, each by ``db.client.connection.pool.name``),
``tenantdb.*`` otherwise, units in UCUM. Figures read from state (pools, replicas,
breakers, limits, counters) are observable instruments whose callbacks take a reading
(``_readings``) when the application's reader collects; the two figures that are
distributions are synchronous histograms fed as events happen: the fan-out width of each
statement and the registry's change-propagation delay. (``db.client.operation.duration``
is recorded by ``Telemetry`` itself.)

An OpenTelemetry meter keeps the first instrument of a name and ignores the callbacks of
a second, so instruments are made once per meter provider and their callbacks ask every
cluster attached to that provider; a cluster stops being asked when it closes.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ._logs import ThrottledLog
from ._metrics import FAN_OUT_BUCKETS, PROPAGATION_BUCKETS_S
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

log = logging.getLogger("tenantdb.telemetry")
_FAILURES = ThrottledLog(log)
_METER_NAME = "tenantdb"  # the scope Telemetry records db.client.operation.duration in

Attributes = dict[str, Any]
Rows = Iterator[tuple[float, Attributes]]


class OtelInstruments:
    """One cluster's figures on one meter provider; made by ``attach_instruments``.

    ``close()`` (the cluster calls it when it closes) stops its callbacks from reading
    the cluster. Thread-safe.
    """

    def __init__(self, cluster: ObservedCluster, shared: _Shared) -> None:
        self._cluster = cluster
        self._shared = shared
        self._telemetry = cluster.datasources.telemetry
        self.closed = False

    def record_fan_out(self, width: int) -> None:
        """One statement's number of targets (StatementMetrics calls it)."""
        self._shared.fan_out.record(width)

    def record_propagation(self, delay_s: float) -> None:
        """One registry change's propagation delay (the registry calls it)."""
        self._shared.propagation.record(delay_s)

    def close(self) -> None:
        self.closed = True
        self._shared.detach(self)

    def __repr__(self) -> str:
        return f"<OtelInstruments {'closed' if self.closed else 'attached'}>"

    # -- statements ----------------------------------------------------------------------

    def statements(self) -> Rows:
        reading = read_statements(self._telemetry.metrics)
        if reading is None:
            return
        system = self._telemetry.system
        for (operation, datasource, role, outcome), count in reading.statements.items():
            yield (
                count,
                {
                    "db.system.name": system,
                    "db.operation.name": operation.upper(),
                    "tenantdb.datasource": datasource,
                    "tenantdb.role": role,
                    "tenantdb.outcome": outcome,
                },
            )

    def tenant_statements(self) -> Rows:
        reading = read_statements(self._telemetry.metrics)
        if reading is None or reading.tenants is None:
            return
        for tenant, count in reading.tenants.items():
            yield count, {"tenantdb.tenant": tenant}

    # -- pools ---------------------------------------------------------------------------

    def connections(self) -> Rows:
        for pool in read_pools(self._cluster.status()):
            attributes = self._pool(pool.pool_name, pool.datasource)
            yield pool.in_use, {**attributes, "db.client.connection.state": "used"}
            yield pool.idle, {**attributes, "db.client.connection.state": "idle"}

    def connection_max(self) -> Rows:
        for pool in read_pools(self._cluster.status()):
            yield pool.max_size, self._pool(pool.pool_name, pool.datasource)

    def pending_requests(self) -> Rows:
        for pool in read_pools(self._cluster.status()):
            yield pool.waiting, self._pool(pool.pool_name, pool.datasource)

    def _pool(self, name: str, datasource: str) -> Attributes:
        return {
            "db.system.name": self._telemetry.system,
            "db.client.connection.pool.name": name,
            "tenantdb.datasource": datasource,
        }

    # -- replicas, breakers, switches ----------------------------------------------------

    def replica_lag(self) -> Rows:
        for replica in read_replicas(self._cluster.status()):
            if replica.lag_s is not None:
                yield replica.lag_s, _replica(replica.datasource, replica.replica)

    def replica_state(self) -> Rows:
        for replica in read_replicas(self._cluster.status()):
            attributes = _replica(replica.datasource, replica.replica)
            for state in REPLICA_STATES:
                yield (
                    float(replica.state == state),
                    {**attributes, "tenantdb.replica.state": state},
                )

    def breaker_state(self) -> Rows:
        for breaker in read_breakers(self._cluster.status()):
            attributes = _endpoint(breaker.datasource, breaker.endpoint)
            for state in BREAKER_STATES:
                yield (
                    float(breaker.state == state),
                    {**attributes, "tenantdb.breaker.state": state},
                )

    def breaker_transitions(self) -> Rows:
        for breaker in read_breakers(self._cluster.status()):
            attributes = _endpoint(breaker.datasource, breaker.endpoint)
            for state, count in breaker.transitions.items():
                yield count, {**attributes, "tenantdb.breaker.state": state}

    def breaker_rejections(self) -> Rows:
        for breaker in read_breakers(self._cluster.status()):
            yield breaker.rejected, _endpoint(breaker.datasource, breaker.endpoint)

    def forced_to_primary(self) -> Rows:
        for datasource, forced in read_forced(self._cluster.status()).items():
            yield float(forced), {"tenantdb.datasource": datasource}

    # -- tenant limits -------------------------------------------------------------------

    def limit_counter(self, figure: str) -> Callable[[], Rows]:
        """The rows of one figure of ``LimitReading.counters``."""

        def rows() -> Rows:
            reading = read_limits(self._cluster.status())
            for (name, limit), count in reading.counters.items():
                if name == figure:
                    yield count, {} if limit is None else {"tenantdb.limit": limit}

        return rows

    def quota_in_flight(self) -> Rows:
        yield read_limits(self._cluster.status()).in_flight, {}

    def quota_queued(self) -> Rows:
        yield read_limits(self._cluster.status()).queued, {}

    # -- registry and template cache -----------------------------------------------------

    def template_lookups(self) -> Rows:
        hits, misses = read_templates(self._cluster)
        yield hits, {"tenantdb.template_cache.result": "hit"}
        yield misses, {"tenantdb.template_cache.result": "miss"}

    def registry_tenants(self) -> Rows:
        yield read_registry(self._cluster).cached, {}

    def registry_generation(self) -> Rows:
        yield read_registry(self._cluster).generation, {}

    def registry_age(self) -> Rows:
        yield read_registry(self._cluster).changed_s_ago, {}

    def registry_feed(self) -> Rows:
        feed = read_registry(self._cluster).feed
        if feed != "off":  # static tenants have no feed to follow
            yield float(feed == "live"), {}


def _replica(datasource: str, replica: str) -> Attributes:
    return {"tenantdb.datasource": datasource, "tenantdb.replica": replica}


def _endpoint(datasource: str, endpoint: str) -> Attributes:
    return {"tenantdb.datasource": datasource, "tenantdb.endpoint": endpoint}


@dataclass(frozen=True, slots=True)
class _Spec:
    """One observable instrument: its kind (``counter``, ``updown``, ``gauge``), name,
    unit, description, and the rows each attached cluster gives it."""

    kind: str
    name: str
    unit: str
    description: str
    rows: Callable[[OtelInstruments], Callable[[], Rows]]


_LIMITS = (
    (
        "rate_limit_refusals",
        "tenantdb.rate_limit.refusals",
        "Statements refused by a tenant's rate limit or concurrency quota.",
    ),
    (
        "quota_queue_waits",
        "tenantdb.quota.queue.waits",
        "Statements that waited in a tenant's concurrency queue.",
    ),
    (
        "quota_queue_timeouts",
        "tenantdb.quota.queue.timeouts",
        "Statements that gave up waiting in a tenant's concurrency queue.",
    ),
    (
        "shadow_refusals",
        "tenantdb.shadow.refusals",
        "Statements shadow mode would have refused (nothing was refused).",
    ),
)


def _limit_rows(figure: str) -> Callable[[OtelInstruments], Callable[[], Rows]]:
    return lambda instruments: instruments.limit_counter(figure)


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "counter",
        "tenantdb.statements",
        "{statement}",
        "Statements by operation, the datasource and role they ran on, and outcome.",
        lambda o: o.statements,
    ),
    _Spec(
        "counter",
        "tenantdb.tenant.statements",
        "{statement}",
        "Statements per tenant: the busiest by name, the rest as __other__.",
        lambda o: o.tenant_statements,
    ),
    _Spec(
        "updown",
        "db.client.connection.count",
        "{connection}",
        "Open connections of each pool, by state.",
        lambda o: o.connections,
    ),
    _Spec(
        "updown",
        "db.client.connection.max",
        "{connection}",
        "Most connections each pool may open.",
        lambda o: o.connection_max,
    ),
    _Spec(
        "updown",
        "db.client.connection.pending_requests",
        "{request}",
        "Callers waiting for a connection of each pool.",
        lambda o: o.pending_requests,
    ),
    _Spec(
        "gauge",
        "tenantdb.replica.lag",
        "s",
        "Replication lag last measured.",
        lambda o: o.replica_lag,
    ),
    _Spec(
        "gauge",
        "tenantdb.replica.state",
        "1",
        "1 for the state each replica is in (serving, lagging, down).",
        lambda o: o.replica_state,
    ),
    _Spec(
        "gauge",
        "tenantdb.breaker.state",
        "1",
        "1 for the state each endpoint's circuit breaker is in.",
        lambda o: o.breaker_state,
    ),
    _Spec(
        "counter",
        "tenantdb.breaker.transitions",
        "{transition}",
        "Changes of state of each circuit breaker, by the state entered.",
        lambda o: o.breaker_transitions,
    ),
    _Spec(
        "counter",
        "tenantdb.breaker.rejections",
        "{statement}",
        "Statements a circuit breaker refused without sending them.",
        lambda o: o.breaker_rejections,
    ),
    _Spec(
        "gauge",
        "tenantdb.reads.forced_to_primary",
        "1",
        "1 when the datasource's reads go to its primary by hand or automatically.",
        lambda o: o.forced_to_primary,
    ),
    *(
        _Spec("counter", name, "{statement}", description, _limit_rows(figure))
        for figure, name, description in _LIMITS
    ),
    _Spec(
        "updown",
        "tenantdb.quota.in_flight",
        "{statement}",
        "Statements holding a tenant concurrency slot.",
        lambda o: o.quota_in_flight,
    ),
    _Spec(
        "updown",
        "tenantdb.quota.queued",
        "{statement}",
        "Statements waiting for a tenant concurrency slot.",
        lambda o: o.quota_queued,
    ),
    _Spec(
        "counter",
        "tenantdb.template_cache.lookups",
        "{lookup}",
        "Statement-template cache lookups (a miss parses the SQL).",
        lambda o: o.template_lookups,
    ),
    _Spec(
        "updown",
        "tenantdb.registry.tenants",
        "{tenant}",
        "Tenants held in the in-process registry.",
        lambda o: o.registry_tenants,
    ),
    _Spec(
        "gauge",
        "tenantdb.registry.generation",
        "{generation}",
        "How many times this process's tenant snapshot took changes or was reloaded.",
        lambda o: o.registry_generation,
    ),
    _Spec(
        "gauge",
        "tenantdb.registry.last_change.age",
        "s",
        "Seconds since this process's tenant snapshot last took a change.",
        lambda o: o.registry_age,
    ),
    _Spec(
        "gauge",
        "tenantdb.registry.feed.live",
        "1",
        "1 while the registry follows its store's change feed, 0 while it reconnects.",
        lambda o: o.registry_feed,
    ),
)

INSTRUMENT_NAMES = (
    *(spec.name for spec in _SPECS),
    "tenantdb.fan_out.width",
    "tenantdb.registry.propagation.duration",
)
"""Every instrument tenantdb makes besides ``db.client.operation.duration``."""


class _Shared:
    """The instruments of one meter provider and the clusters they ask."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry.metrics import Observation

        self._observation = Observation
        self._lock = threading.Lock()
        self._attached: list[OtelInstruments] = []  # replaced whole: callbacks read it unlocked
        meter = provider.get_meter(_METER_NAME)
        makers = {
            "counter": meter.create_observable_counter,
            "updown": meter.create_observable_up_down_counter,
            "gauge": meter.create_observable_gauge,
        }
        for spec in _SPECS:
            makers[spec.kind](
                spec.name,
                callbacks=[self._callback(spec)],
                unit=spec.unit,
                description=spec.description,
            )
        self.fan_out = meter.create_histogram(
            "tenantdb.fan_out.width",
            unit="{target}",
            description="Targets per statement (physical statements it became).",
            explicit_bucket_boundaries_advisory=list(FAN_OUT_BUCKETS),
        )
        self.propagation = meter.create_histogram(
            "tenantdb.registry.propagation.duration",
            unit="s",
            description="Seconds from another process writing a tenant change to this process"
            " applying it (by the two processes' wall clocks: approximate).",
            explicit_bucket_boundaries_advisory=list(PROPAGATION_BUCKETS_S),
        )

    def attach(self, instruments: OtelInstruments) -> None:
        with self._lock:
            self._attached = [*self._attached, instruments]

    def detach(self, instruments: OtelInstruments) -> None:
        with self._lock:
            self._attached = [other for other in self._attached if other is not instruments]

    def _callback(self, spec: _Spec) -> Callable[[Any], Iterable[Any]]:
        def observe(options: Any) -> list[Any]:
            observations = []
            for instruments in self._attached:
                if instruments.closed:
                    continue
                try:
                    for value, attributes in spec.rows(instruments)():
                        observations.append(self._observation(value, attributes))
                except Exception as exc:  # one cluster's failure must not hide the others'
                    _FAILURES.warning(
                        spec.name, "reading %s for OpenTelemetry failed: %s", spec.name, exc
                    )
            return observations

        return observe


# Meter provider → its instruments. Weak: a provider the application drops is forgotten.
_BY_PROVIDER: weakref.WeakKeyDictionary[Any, _Shared] = weakref.WeakKeyDictionary()
_BY_PROVIDER_LOCK = threading.Lock()


def attach_instruments(cluster: ObservedCluster, meter_provider: Any = None) -> OtelInstruments:
    """Export ``cluster``'s metrics through ``meter_provider`` (None: the global one, which
    may be set later: OpenTelemetry binds the instruments when it is). Keeps statement
    metrics from now on. Requires ``opentelemetry-api`` (``pip install 'tenantdb[otel]'``);
    the application brings the SDK."""
    try:
        from opentelemetry import metrics
    except ImportError as exc:
        raise ImportError(
            "[telemetry] otel_metrics = true needs OpenTelemetry: pip install 'tenantdb[otel]'"
            " (and the SDK your application exports with), or set otel_metrics = false"
        ) from exc
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    with _BY_PROVIDER_LOCK:
        shared = _BY_PROVIDER.get(provider)
        if shared is None:
            shared = _BY_PROVIDER[provider] = _Shared(provider)
    instruments = OtelInstruments(cluster, shared)
    shared.attach(instruments)
    cluster.datasources.telemetry.keep_metrics().fan_out_listener = instruments.record_fan_out
    return instruments
