"""``Telemetry``: what one cluster front observes of its statements, and ``StatementWatch``,
one statement being observed.

A session reads ``time.perf_counter()`` at the start of ``execute`` / ``executemany``; while
it is before ``quiet_until`` nothing but the slow-statement log looks at the statement (no
tracer provider found at the last look, no metrics), and the session compares its duration
with ``slow_threshold_s`` itself: two clock reads and two comparisons. Otherwise it asks
``begin()``, which looks for a tracer (at most once a second while there is none) and
returns a watch or None. The watch opens the statement's span (made current, so the
application's own spans and driver instrumentation nest under it), learns the plan
(``planned``), wraps each datasource's part of a fan-out in a child span (``fan_out``, on
the thread that runs it) and, in ``finished``, ends the span, records the metrics and
checks the slow-statement threshold.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..config import Config, TelemetryConfig
from ..core.routing import Target
from ..core.tenancy import Tenant
from ._metrics import DURATION_BUCKETS_S, StatementMetrics, outcome_of
from ._slow_log import SlowStatementLog
from ._tracing import (
    SYSTEM_NAMES,
    Endpoint,
    TracerLookup,
    endpoints,
    error_attributes,
    logical_tables,
    summary,
    target_attributes,
)


class Telemetry:
    """Tracing, metrics and the slow-statement log of one cluster front (shared by its
    sessions); built from ``config.telemetry``."""

    def __init__(self, config: Config, *, version: str) -> None:
        settings = config.telemetry
        self._config = config
        self.system = SYSTEM_NAMES[config.dialect]
        self.query_text = settings.query_text
        self._tracers = TracerLookup(version) if settings.tracing else None
        # Sessions skip ``begin`` for statements started before this perf_counter() time:
        # -inf while a tracer or metrics watch, +inf when nothing ever could, else the next
        # look for a tracer. Written under ``_lock``; read without it (one float).
        self.quiet_until = -math.inf if settings.tracing else math.inf
        self._endpoints: dict[tuple[str, str], Endpoint | None] = endpoints(config)
        self.slow_log = _slow_log(settings)
        self.slow_threshold_s = self.slow_log.threshold_s if self.slow_log is not None else math.inf
        self.metrics: StatementMetrics | None = None
        self._otel_duration: Any = None
        self._meter_provider: Any = None
        self._lock = threading.Lock()
        if settings.otel_metrics:
            self.keep_metrics()

    def reconfigure(self, config: Config) -> None:
        """Follow a reloaded configuration: the datasources' endpoints, ``query_text`` and
        the slow-statement log's settings (the log starts over when they change). Tracing,
        metrics and their labels stay as built (a reload refuses changing them)."""
        settings = config.telemetry
        with self._lock:
            before = self._config.telemetry
            self._config = config
            self._endpoints = endpoints(config)
            self.query_text = settings.query_text
            if _slow_settings(before) != _slow_settings(settings):
                slow_log = _slow_log(settings)
                self.slow_log = slow_log
                self.slow_threshold_s = slow_log.threshold_s if slow_log is not None else math.inf

    def use_providers(self, *, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Use these OpenTelemetry providers rather than the global ones (None: global)."""
        if tracer_provider is not None and self._tracers is not None:
            with self._lock:
                self._tracers.use(tracer_provider)
                self.quiet_until = -math.inf
        if meter_provider is not None:
            self._meter_provider = meter_provider
            self._otel_duration = None

    def keep_metrics(self) -> StatementMetrics:
        """Start keeping statement metrics (an exporter was attached); idempotent."""
        with self._lock:
            if self.metrics is None:
                settings = self._config.telemetry
                self.metrics = StatementMetrics(
                    tenant_labels=settings.tenant_labels, top_tenants=settings.top_tenants
                )
            self.quiet_until = -math.inf
            return self.metrics

    def begin(
        self, started: float, sql: str, params: object, tenant: Tenant | None
    ) -> StatementWatch | None:
        """A watch for one statement started at ``started`` (its ``time.perf_counter()``),
        or None when neither a tracer nor metrics would look at it (the caller then times
        it for the slow-statement log alone: ``check_slow``)."""
        tracer = self._tracers.tracer(started) if self._tracers is not None else None
        if tracer is None and self.metrics is None:
            with self._lock:  # at most once a second, and never over keep_metrics' -inf
                if self.metrics is None and self._tracers is not None:
                    self.quiet_until = self._tracers.next_look
            return None
        return StatementWatch(self, tracer, started, sql, params, tenant.id if tenant else None)

    def check_slow(
        self,
        started: float,
        sql: str,
        params: object,
        tenant: Tenant | None,
        served: Sequence[Target] | None,
        error: BaseException | None,
    ) -> None:
        """A statement nothing else watched ended: log it if it ran ``slow_statement`` or
        longer (``started``: its ``time.perf_counter()`` at the start)."""
        slow = self.slow_log
        duration = time.perf_counter() - started
        if slow is None or duration < slow.threshold_s:
            return
        targets = served or ()
        slow.record(
            sql=sql,
            params=params,
            tenant=tenant.id if tenant is not None else None,
            duration_s=duration,
            route="single" if len(targets) <= 1 else "scatter",
            targets=targets,
            error=error,
        )

    def slow_statements(self) -> list[dict[str, Any]]:
        return [] if self.slow_log is None else self.slow_log.entries()

    def endpoint(self, datasource: str, role: str) -> Endpoint | None:
        return self._endpoints.get((datasource, role))

    def otel_duration(self) -> Any:
        """The OpenTelemetry ``db.client.operation.duration`` histogram, once the
        application has set a meter provider and ``otel_metrics`` is on; else None."""
        if not self._config.telemetry.otel_metrics:
            return None
        if self._otel_duration is None:
            provider = self._meter_provider
            if provider is None:
                module = sys.modules.get("opentelemetry.metrics")
                if module is None:
                    return None
                provider = module.get_meter_provider()
                if type(provider).__name__.startswith(("_Proxy", "NoOp")):
                    return None  # no SDK yet: look again next time
            meter = provider.get_meter("tenantdb")
            self._otel_duration = meter.create_histogram(
                "db.client.operation.duration",
                unit="s",
                description="Duration of database client operations.",
                explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S),
            )
        return self._otel_duration


def _slow_settings(settings: TelemetryConfig) -> tuple[object, ...]:
    return (
        settings.slow_statement,
        settings.slow_statements_kept,
        settings.slow_statement_params,
    )


def _slow_log(settings: TelemetryConfig) -> SlowStatementLog | None:
    if settings.slow_statement is None:
        return None
    return SlowStatementLog(
        settings.slow_statement,
        kept=settings.slow_statements_kept,
        with_params=settings.slow_statement_params,
    )


class StatementWatch:
    """One statement under observation (see the module docstring). Not thread-safe but for
    ``fan_out``, whose spans may start on worker threads."""

    __slots__ = (
        "_route",
        "_span",
        "_started",
        "_telemetry",
        "_token",
        "_tracer",
        "kind",
        "params",
        "rate_wait_s",
        "sql",
        "targets",
        "tenant",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        tracer: Any,
        started: float,
        sql: str,
        params: object,
        tenant: str | None,
    ) -> None:
        self._telemetry = telemetry
        self._tracer = tracer
        self.sql = sql
        self.params = params
        self.tenant = tenant
        self.kind = "statement"
        self.targets: Sequence[Target] = ()
        self.rate_wait_s = 0.0
        self._route = "single"
        self._span: Any = None
        self._token: object = None
        self._started = started
        if tracer is not None:
            trace = sys.modules["opentelemetry.trace"]
            attributes: dict[str, Any] = {"db.system.name": telemetry.system}
            if tenant is not None:
                attributes["tenantdb.tenant"] = tenant
            if telemetry.query_text:
                attributes["db.query.text"] = sql
            self._span = tracer.start_span(
                "tenantdb", kind=trace.SpanKind.CLIENT, attributes=attributes
            )
            context = sys.modules["opentelemetry.context"]
            self._token = context.attach(trace.set_span_in_context(self._span))

    def planned(
        self,
        kind: str,
        targets: Sequence[Target],
        route: str,
        *,
        cache_hit: bool | None = None,
    ) -> None:
        """The statement was routed: ``kind`` (select, insert, ...), its targets, its route
        (single, scatter, broadcast) and whether its SQL text was parsed before
        (``cache_hit``; None: not known)."""
        self.kind = kind
        self.targets = targets
        self._route = route
        self._name(kind, logical_tables(targets))
        span = self._span
        if span is not None:
            span.set_attribute("tenantdb.route", route)
            span.set_attribute("tenantdb.target_count", len(targets))
            if cache_hit is not None:
                span.set_attribute("tenantdb.template_cache_hit", cache_hit)

    def refused(self, kind: str, tables: Sequence[str]) -> None:
        """Routing refused the statement: it is still named by its ``kind`` and the
        logical ``tables`` it names."""
        self.kind = kind
        self._name(kind, tables)

    def _name(self, kind: str, tables: Sequence[str]) -> None:
        span = self._span
        if span is None:
            return
        operation, collection, query_summary = summary(kind, tables)
        span.update_name(query_summary)
        span.set_attribute("db.operation.name", operation)
        span.set_attribute("db.query.summary", query_summary)
        if collection is not None:
            span.set_attribute("db.collection.name", collection)

    @contextmanager
    def fan_out(self, datasource: str) -> Iterator[None]:
        """A child span around ``datasource``'s part of a fan-out, current on the thread
        (or task) that runs it."""
        if self._span is None:
            yield
            return
        trace = sys.modules["opentelemetry.trace"]
        targets = [target for target in self.targets if target.datasource == datasource]
        role = targets[0].role if targets else "primary"
        tables = [name for target in targets for name in target.tables.values()]
        operation = self.kind.upper()
        attributes = target_attributes(
            self._telemetry.system,
            self._telemetry.endpoint(datasource, role),
            datasource,
            role,
            tables,
        )
        attributes["db.operation.name"] = operation
        span = self._tracer.start_span(
            f"{operation} {datasource}",
            context=trace.set_span_in_context(self._span),
            kind=trace.SpanKind.CLIENT,
            attributes=attributes,
        )
        with trace.use_span(span, end_on_exit=True, record_exception=False):
            try:
                yield
            except BaseException as exc:
                span.set_attributes(error_attributes(exc))
                span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))
                raise

    def finished(self, served: Sequence[Target] | None, error: BaseException | None) -> None:
        """The call returned (``served``: the targets its result says served it) or
        raised ``error``: end the span, record metrics, log it if slow."""
        duration = time.perf_counter() - self._started
        telemetry = self._telemetry
        places = served if served is not None else self.targets
        span = self._span
        if span is not None:
            try:
                self._end_span(span, places, error)
            finally:
                sys.modules["opentelemetry.context"].detach(self._token)
        outcome = outcome_of(error)
        metrics = telemetry.metrics
        if metrics is not None:
            metrics.record(
                self.kind,
                self._route,
                {(t.datasource, t.role) for t in places},
                outcome,
                duration,
                self.tenant,
                len(self.targets),
            )
        histogram = telemetry.otel_duration()
        if histogram is not None:
            attributes: dict[str, Any] = {
                "db.system.name": telemetry.system,
                "db.operation.name": self.kind.upper(),
            }
            if error is not None:
                attributes.update(error_attributes(error))
            histogram.record(duration, attributes)
        slow = telemetry.slow_log
        if slow is not None and duration >= slow.threshold_s:
            slow.record(
                sql=self.sql,
                params=self.params,
                tenant=self.tenant,
                duration_s=duration,
                route=self._route,
                targets=places,
                error=error,
            )

    def _end_span(self, span: Any, places: Sequence[Target], error: BaseException | None) -> None:
        trace = sys.modules["opentelemetry.trace"]
        if len(self.targets) <= 1 and places:
            target = places[0]
            span.set_attributes(
                target_attributes(
                    self._telemetry.system,
                    self._telemetry.endpoint(target.datasource, target.role),
                    target.datasource,
                    target.role,
                    target.tables.values(),
                )
            )
        elif places:
            span.set_attribute("tenantdb.role", sorted({t.role for t in places}))
            span.set_attribute(
                "tenantdb.physical_tables",
                sorted({name for t in places for name in t.tables.values()}),
            )
        if self.rate_wait_s:
            span.set_attribute("tenantdb.rate_limit_wait_s", self.rate_wait_s)
        if error is not None:
            span.set_attributes(error_attributes(error))
            span.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
        span.end()
