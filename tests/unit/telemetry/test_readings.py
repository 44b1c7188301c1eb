"""The readings both exporters take from ``cluster.status()``: pure, no I/O."""

from __future__ import annotations

from typing import Any

from tenantdb.telemetry._readings import (
    BreakerReading,
    PoolReading,
    ReplicaReading,
    read_breakers,
    read_forced,
    read_limits,
    read_pools,
    read_replicas,
)

POOL = {"size": 2, "in_use": 1, "idle": 1, "waiting": 3, "max_size": 5}
BREAKER = {
    "state": "half_open",
    "opened_count": 2,
    "half_opened_count": 1,
    "closed_count": 1,
    "rejected_count": 7,
}
STATUS: dict[str, Any] = {
    "datasources": {
        "ds1": {
            "pools": {"primary": POOL, "ds1/replica0": None},
            "breakers": {"primary": None, "ds1/replica0": BREAKER},
            "forced": None,
            "automatic": True,
            "replicas": [{"name": "ds1/replica0", "state": "not started"}],
        },
        "ds0": {
            "pools": {"primary": None, "ds0/replica0": POOL},
            "breakers": {},
            "forced": "by hand",
            "automatic": False,
            "replicas": [{"name": "ds0/replica0", "state": "lagging", "lag_s": 4.5}],
        },
    },
    "limits": {
        "mode": "enforce",
        "tenants": {
            "a": {"in_flight": 2, "queued": None, "refused_rate": 3, "waited_in_queue": 1},
            "b": {
                "in_flight": None,
                "queued": 4,
                "refused_rate": 1,
                "refused_concurrency": 5,
                "shadow_rate": 2,
                "timed_out_in_queue": 0,
            },
        },
    },
}


def test_pools_are_the_opened_ones_each_with_a_name_unique_in_the_process() -> None:
    pools = read_pools(STATUS)
    assert pools == [
        PoolReading("ds0", "ds0/replica0", 1, 1, 5, 3),
        PoolReading("ds1", "primary", 1, 1, 5, 3),
    ]
    assert [pool.pool_name for pool in pools] == ["ds0/replica0", "ds1/primary"]


def test_replicas_breakers_and_switches() -> None:
    assert read_replicas(STATUS) == [
        ReplicaReading("ds0", "ds0/replica0", 4.5, "lagging"),
        ReplicaReading("ds1", "ds1/replica0", None, "not started"),
    ]
    transitions = {"open": 2, "half_open": 1, "closed": 1}
    assert read_breakers(STATUS) == [
        BreakerReading("ds1", "ds1/replica0", "half_open", transitions, 7)
    ]
    # Forced by hand, or automatically (no replica qualifies).
    assert read_forced(STATUS) == {"ds0": True, "ds1": True}


def test_tenant_limits_are_summed_over_tenants_by_figure_and_limit() -> None:
    reading = read_limits(STATUS)
    assert dict(reading.counters) == {
        ("rate_limit_refusals", "requests_per_second"): 4,
        ("rate_limit_refusals", "max_concurrent"): 5,
        ("quota_queue_waits", None): 1,
        ("quota_queue_timeouts", None): 0,
        ("shadow_refusals", "requests_per_second"): 2,
    }
    assert (reading.in_flight, reading.queued) == (2, 4)
