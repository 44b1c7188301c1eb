"""Traces, metrics and logs of tenantdb's statements.

- Tracing: one OpenTelemetry span per ``execute`` / ``executemany`` (a child span per
  datasource when a statement fans out), made only when the application has set a tracer
  provider (tenantdb uses the OpenTelemetry API, never the SDK).
- Metrics: ``StatementMetrics`` kept in process once an exporter is attached:
  ``prometheus_collector(cluster)`` for ``prometheus_client``, or ``otel_metrics = true``
  (``OtelInstruments``: the same figures as OpenTelemetry instruments). Both read them
  through one set of readings (``_readings``).
- Logs: the slow-statement log (``tenantdb.slow``) and ``JsonFormatter`` for operators who
  want one JSON object per line.

Configured by ``[telemetry]`` (``tenantdb.config.TelemetryConfig``).
"""

from __future__ import annotations

from ._instruments import INSTRUMENT_NAMES, OtelInstruments, attach_instruments
from ._logs import JsonFormatter, ThrottledLog
from ._metrics import (
    DURATION_BUCKETS_S,
    FAN_OUT_BUCKETS,
    OTHER_TENANTS,
    PROPAGATION_BUCKETS_S,
    Histogram,
    StatementMetrics,
    TopTenants,
)
from ._prometheus import prometheus_collector
from ._slow_log import SlowStatementLog
from ._telemetry import StatementWatch, Telemetry

__all__ = [
    "DURATION_BUCKETS_S",
    "FAN_OUT_BUCKETS",
    "Histogram",
    "INSTRUMENT_NAMES",
    "JsonFormatter",
    "OTHER_TENANTS",
    "OtelInstruments",
    "PROPAGATION_BUCKETS_S",
    "SlowStatementLog",
    "StatementMetrics",
    "StatementWatch",
    "Telemetry",
    "ThrottledLog",
    "TopTenants",
    "attach_instruments",
    "prometheus_collector",
]
