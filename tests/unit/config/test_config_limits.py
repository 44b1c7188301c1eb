"""Tenant limits, the cluster's [limits] section and each datasource's breaker settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import BreakerConfig, LimitsConfig, TenantLimits, load_config

Doc = dict[str, Any]
ProblemAt = Callable[..., str]


def test_limits_are_off_and_breakers_on_by_default(doc: Doc) -> None:
    config = load_config(doc, env={})
    assert config.limits == LimitsConfig()
    limits = config.limits
    assert (limits.requests_per_second, limits.max_concurrent, limits.statement_timeout) == (
        None,
        None,
        None,
    )
    assert (limits.mode, limits.on_redis_down, limits.redis_url) == ("enforce", "fail_open", None)
    breaker = config.datasources["ds0"].breaker
    assert breaker == BreakerConfig()
    assert breaker.enabled
    assert 0 < breaker.minimum_calls <= breaker.window_size


def test_cluster_limits_and_breakers_are_read(doc: Doc) -> None:
    doc["limits"] = {
        "mode": "shadow",
        "requests_per_second": 50,
        "burst": 10,
        "max_concurrent": 4,
        "max_queued": 0,
        "queue_timeout": "250ms",
        "statement_timeout": "2s",
        "redis_url": "redis://:secret@127.0.0.1:6379/0",
        "on_redis_down": "fail_closed",
    }
    doc["datasources"]["ds1"]["breaker"] = {
        "window": "time",
        "window_size": 30,
        "minimum_calls": 50,
        "failure_rate": 25,
        "open_wait": "1.5s",
        "permitted_probes": 1,
    }
    config = load_config(doc, env={})
    assert config.limits.mode == "shadow"
    assert (config.limits.queue_timeout, config.limits.statement_timeout) == (0.25, 2.0)
    assert "secret" not in repr(config.limits)
    breaker = config.datasources["ds1"].breaker
    # A time window counts seconds, so more calls than its size are fine there.
    assert (breaker.window, breaker.minimum_calls, breaker.failure_rate) == ("time", 50, 25.0)
    assert breaker.open_wait == 1.5
    assert config.datasources["ds0"].breaker == BreakerConfig()


def test_tenant_limits_take_the_new_keys(doc: Doc) -> None:
    doc["tenants"] = {
        "acme": {
            "limits": {
                "requests_per_second": 0.5,
                "burst": 1,
                "max_concurrent_per_datasource": 2,
                "max_queued": 3,
                "queue_timeout": 0,
                "statement_timeout": "30s",
            }
        }
    }
    limits = load_config(doc, env={}).tenants["acme"].limits
    assert limits == TenantLimits(
        requests_per_second=0.5,
        burst=1,
        max_concurrent_per_datasource=2,
        max_queued=3,
        queue_timeout=0.0,
        statement_timeout=30.0,
    )


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("limits", "requests_per_second", -1),
        ("limits", "requests_per_second", 0),
        ("limits", "burst", 0),
        ("limits", "max_concurrent", 0),
        ("limits", "max_queued", -1),
        ("limits", "queue_timeout", "-1s"),
        ("limits", "statement_timeout", 0),
        ("limits", "mode", "log"),
        ("limits", "on_redis_down", "retry"),
        ("limits", "redis_url", "http://127.0.0.1:6379"),
        ("limits", "requests_per_second", True),
        ("breaker", "permitted_probes", 0),
        ("breaker", "failure_rate", 0),
        ("breaker", "failure_rate", 100.5),
        ("breaker", "slow_call_rate", -5),
        ("breaker", "window", "sliding"),
        ("breaker", "window_size", 0),
        ("breaker", "open_wait", 0),
        ("tenant", "burst", 0),
        ("tenant", "requests_per_second", -2.5),
        ("tenant", "max_queued", -1),
        ("tenant", "statement_timeout", "0s"),
    ],
)
def test_impossible_values_are_refused_at_their_key(
    doc: Doc, problem_at: ProblemAt, section: str, key: str, value: object
) -> None:
    if section == "limits":
        doc["limits"] = {key: value}
        path = f"limits.{key}"
    elif section == "breaker":
        doc["datasources"]["ds0"]["breaker"] = {key: value}
        path = f"datasources.ds0.breaker.{key}"
    else:
        doc["tenants"] = {"acme": {"limits": {key: value}}}
        path = f"tenants.acme.limits.{key}"
    assert problem_at(doc, path)


def test_window_sizes_the_breaker_can_keep(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds0"]["breaker"] = {"window": "time", "window_size": 3601}
    assert "at most 3600 seconds" in problem_at(doc, "datasources.ds0.breaker.window_size")
    doc["datasources"]["ds0"]["breaker"] = {"window_size": 100_001}
    assert problem_at(doc, "datasources.ds0.breaker.window_size")
    doc["datasources"]["ds0"]["breaker"] = {"window": "time", "window_size": 3600}
    assert load_config(doc, env={}).datasources["ds0"].breaker.window_size == 3600


def test_a_count_window_must_hold_minimum_calls(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds0"]["breaker"] = {"window_size": 10, "minimum_calls": 11}
    message = problem_at(doc, "datasources.ds0.breaker.minimum_calls")
    assert "could never open" in message
    assert "lower minimum_calls or raise window_size" in message


def test_unknown_keys_are_refused(doc: Doc, problem_at: ProblemAt) -> None:
    doc["limits"] = {"rps": 5}
    assert problem_at(doc, "limits.rps")
    doc["limits"] = {}
    doc["datasources"]["ds0"]["breaker"] = {"threshold": 5}
    assert problem_at(doc, "datasources.ds0.breaker.threshold")
