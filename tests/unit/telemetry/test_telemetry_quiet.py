"""When a statement skips ``Telemetry.begin`` (``quiet_until``): only while nothing but the
slow-statement log could look at it, with a look for a tracer at most once a second. Pure:
a Config and the OpenTelemetry SDK in memory, no connection."""

from __future__ import annotations

import math
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from tenantdb.config import load_config
from tenantdb.telemetry import Telemetry


def telemetry(**settings: Any) -> Telemetry:
    document = {
        "datasources": {"ds0": {"url": "sqlite:///never-opened.db"}},
        "telemetry": settings,
    }
    return Telemetry(load_config(document), version="test")


def test_with_tracing_and_the_slow_log_off_every_statement_is_quiet_until_metrics_are_kept() -> (
    None
):
    quiet = telemetry(tracing=False, slow_statement="off")
    assert quiet.quiet_until == math.inf
    assert quiet.slow_threshold_s == math.inf
    quiet.keep_metrics()
    assert quiet.quiet_until == -math.inf
    assert quiet.begin(5.0, "SELECT 1", None, None) is not None


def test_without_a_tracer_provider_the_next_look_is_a_second_later() -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    watching = telemetry()
    assert watching.quiet_until == -math.inf  # the first statement looks
    assert watching.slow_threshold_s == 1.0
    assert watching.begin(100.0, "SELECT 1", None, None) is None
    assert watching.quiet_until == 101.0
    assert watching.begin(100.5, "SELECT 1", None, None) is None  # not looked again
    assert watching.quiet_until == 101.0


def test_a_tracer_provider_given_to_the_cluster_ends_the_quiet_at_once() -> None:
    watching = telemetry()
    assert watching.begin(100.0, "SELECT 1", None, None) is None
    watching.use_providers(tracer_provider=TracerProvider())
    assert watching.quiet_until == -math.inf
    watch = watching.begin(100.1, "SELECT 1", None, None)
    assert watch is not None
    watch.finished((), None)


def test_metrics_kept_while_quiet_are_not_undone_by_a_look() -> None:
    watching = telemetry()
    watching.keep_metrics()
    assert watching.begin(100.0, "SELECT 1", None, None) is not None
    assert watching.quiet_until == -math.inf
