"""``BreakerSettings``: safe defaults, and every impossible value refused with its name."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from tenantdb.core.breaker import BreakerSettings


def test_the_defaults_are_conservative_and_on() -> None:
    settings = BreakerSettings()
    assert settings.enabled
    assert settings.window == "count"
    assert settings.window_size == 100
    assert settings.minimum_calls == 20
    assert settings.failure_rate_percent == 50.0
    assert settings.slow_call_rate_percent == 100.0
    assert settings.slow_call_s == 10.0
    assert settings.open_wait_s == 10.0
    assert settings.permitted_probes == 3


def test_settings_are_frozen_slotted_and_keyword_only() -> None:
    settings = BreakerSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.open_wait_s = 1.0  # type: ignore[misc]
    assert not hasattr(settings, "__dict__")
    with pytest.raises(TypeError):
        BreakerSettings("time")  # type: ignore[call-arg]


def test_the_extremes_of_every_range_are_accepted() -> None:
    BreakerSettings(window_size=1, minimum_calls=1, permitted_probes=1)
    BreakerSettings(window_size=100_000, minimum_calls=100_000)
    BreakerSettings(window="time", window_size=3600, minimum_calls=1_000_000)
    BreakerSettings(window="time", window_size=1)
    BreakerSettings(failure_rate_percent=100.0, slow_call_rate_percent=1e-9)
    BreakerSettings(failure_rate_percent=100, slow_call_s=1e-6, open_wait_s=1e-6)
    BreakerSettings(enabled=False)


@pytest.mark.parametrize(
    ("changes", "named", "allowed"),
    [
        ({"window": "sliding"}, "window", "'count' or 'time'"),
        ({"window_size": 0}, "window_size", "from 1 to 100000 (calls)"),
        ({"window_size": 100_001}, "window_size", "from 1 to 100000"),
        ({"window_size": 2.5}, "window_size", "integer"),
        ({"window_size": True}, "window_size", "integer"),
        ({"window": "time", "window_size": 3601}, "window_size", "from 1 to 3600 (seconds)"),
        ({"window": "time", "window_size": 0}, "window_size", "(seconds)"),
        ({"minimum_calls": 0}, "minimum_calls", ">= 1"),
        ({"window_size": 10, "minimum_calls": 11}, "minimum_calls", "<= window_size (10)"),
        ({"failure_rate_percent": 0.0}, "failure_rate_percent", "(0, 100]"),
        ({"failure_rate_percent": -5.0}, "failure_rate_percent", "(0, 100]"),
        ({"failure_rate_percent": 100.5}, "failure_rate_percent", "(0, 100]"),
        ({"failure_rate_percent": math.nan}, "failure_rate_percent", "(0, 100]"),
        ({"slow_call_rate_percent": 0}, "slow_call_rate_percent", "(0, 100]"),
        ({"slow_call_rate_percent": 101}, "slow_call_rate_percent", "(0, 100]"),
        ({"slow_call_s": 0.0}, "slow_call_s", "positive finite"),
        ({"slow_call_s": math.inf}, "slow_call_s", "positive finite"),
        ({"open_wait_s": -1.0}, "open_wait_s", "positive finite"),
        ({"open_wait_s": math.nan}, "open_wait_s", "positive finite"),
        ({"permitted_probes": 0}, "permitted_probes", ">= 1"),
        ({"enabled": "yes"}, "enabled", "true or false"),
    ],
)
def test_impossible_values_are_refused_naming_field_and_range(
    changes: dict[str, Any], named: str, allowed: str
) -> None:
    with pytest.raises(ValueError, match=named) as raised:
        BreakerSettings(**changes)
    assert allowed in str(raised.value)


def test_a_time_window_may_ask_for_more_calls_than_it_has_seconds() -> None:
    # Only a count window caps minimum_calls: a time window holds any number of calls.
    assert BreakerSettings(window="time", window_size=10, minimum_calls=500).minimum_calls == 500
