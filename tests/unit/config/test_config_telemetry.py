"""The ``[telemetry]`` section: defaults, "off", and refusals that name the key."""

from __future__ import annotations

from typing import Any

import pytest

from tenantdb.config import TelemetryConfig, load_config
from tenantdb.errors import ConfigError


def config(**telemetry: Any) -> dict[str, Any]:
    return {"datasources": {"ds0": {"url": "sqlite:///x.db"}}, "telemetry": telemetry}


def test_defaults_are_safe_for_a_first_run() -> None:
    settings = load_config(config()).telemetry
    assert settings == TelemetryConfig()
    assert settings.tracing is True
    assert settings.query_text is False  # SQL text on spans only when asked
    assert settings.tenant_labels is False  # no per-tenant series unless asked
    assert settings.slow_statement == 1.0
    assert settings.slow_statement_params is False


@pytest.mark.parametrize("off", ["off", "OFF", " off "])
def test_the_slow_statement_log_turns_off(off: str) -> None:
    assert load_config(config(slow_statement=off)).telemetry.slow_statement is None


def test_durations_are_read_like_every_other_duration() -> None:
    assert load_config(config(slow_statement="250ms")).telemetry.slow_statement == 0.25


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("top_tenants", 0, "telemetry.top_tenants"),
        ("slow_statement", "-1s", "telemetry.slow_statement"),
        ("slow_statement", "sometimes", "telemetry.slow_statement"),
        ("slow_statements_kept", 0, "telemetry.slow_statements_kept"),
        ("tracing", "maybe", "telemetry.tracing"),
        ("exporter", "otlp", "telemetry.exporter: unknown key"),
    ],
)
def test_bad_values_are_refused_with_the_key_path(key: str, value: Any, says: str) -> None:
    with pytest.raises(ConfigError, match=says.replace(".", r"\.")):
        load_config(config(**{key: value}))
