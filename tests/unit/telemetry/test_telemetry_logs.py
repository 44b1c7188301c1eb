"""ThrottledLog and JsonFormatter: pure logging helpers, no I/O."""

from __future__ import annotations

import json
import logging

import pytest

import tenantdb
from tenantdb.telemetry import JsonFormatter, ThrottledLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_warning_is_written_once_per_interval_and_counts_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    throttled = ThrottledLog(logging.getLogger("tenantdb.test"), interval_s=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="tenantdb.test"):
        written = [throttled.warning("k", "cache %s failed", "c1") for _ in range(1_000)]
        assert written == [True] + [False] * 999
        assert throttled.warning("other", "another %s", "key")  # keys are independent
        clock.now += 60
        assert throttled.warning("k", "cache %s failed", "c1")
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "cache c1 failed",
        "another key",
        "cache c1 failed (999 more like this since the last one)",
    ]


def test_json_lines_carry_tenantdb_fields_the_context_tenant_and_the_exception() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "tenantdb.slow", logging.WARNING, __file__, 1, "slow %s", ("x",), None
    )
    record.tenantdb = {"datasource": "ds0", "duration_s": 1.5, "role": None}
    with tenantdb.tenant_context("acme"):
        line = json.loads(formatter.format(record))
    assert line["message"] == "slow x"
    assert line["logger"] == "tenantdb.slow"
    assert line["level"] == "WARNING"
    assert line["datasource"] == "ds0"
    assert line["duration_s"] == 1.5
    assert "role" not in line  # None fields are left out
    assert line["tenant"] == "acme"
    assert line["time"].endswith("+00:00")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("t", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    assert "ValueError: boom" in json.loads(formatter.format(failed))["exception"]


def test_json_lines_carry_the_current_span_ids() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    record = logging.LogRecord("tenantdb.x", logging.INFO, __file__, 1, "m", (), None)
    with tracer.start_as_current_span("s") as span:
        line = json.loads(JsonFormatter().format(record))
    context = span.get_span_context()
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"
    assert "trace_id" not in json.loads(JsonFormatter().format(record))
