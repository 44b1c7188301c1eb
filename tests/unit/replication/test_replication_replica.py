"""The replica state machine, driven with plain numbers: no clock, no thread."""

from __future__ import annotations

import math

import pytest

from tenantdb.core.replication import ReplicaState
from tenantdb.core.retry import Backoff

MAX_LAG_S = 2.0
COOLDOWN_S = 10.0


def lag(replica: ReplicaState, lag_s: float | None, now: float, replayed: int | None = 1) -> bool:
    return replica.record_lag(lag_s, replayed, now, max_lag_s=MAX_LAG_S, cooldown_s=COOLDOWN_S)


def make(**kwargs: object) -> ReplicaState:
    return ReplicaState(1, "ds0/replica1", **kwargs)  # type: ignore[arg-type]


def test_a_new_replica_serves() -> None:
    replica = make()
    assert replica.serving
    assert replica.due(0.0)
    assert (replica.lag_s, replica.replayed, replica.failures) == (None, None, 0)


def test_within_max_keeps_serving_and_updates_readings() -> None:
    replica = make()
    assert not lag(replica, 0.5, 1.0, replayed=100)
    assert not lag(replica, MAX_LAG_S, 2.0, replayed=200)  # the limit itself is within
    assert replica.serving
    assert (replica.lag_s, replica.replayed, replica.since) == (MAX_LAG_S, 200, 0.0)


def test_over_max_lags_at_once() -> None:
    replica = make()
    assert lag(replica, 2.5, 7.0)
    assert replica.state == "lagging"
    assert not replica.serving
    assert replica.since == 7.0
    assert not lag(replica, 3.0, 8.0)  # still lagging: no change reported
    assert replica.since == 7.0


def test_an_unreadable_lag_counts_as_over() -> None:
    replica = make()
    assert lag(replica, math.nan, 1.0)
    assert replica.state == "lagging"


def test_a_dip_shorter_than_the_cooldown_does_not_return_it() -> None:
    replica = make()
    lag(replica, 5.0, 0.0)
    for now in (1.0, 4.0, 9.0):
        assert not lag(replica, 0.1, now)
        assert replica.state == "lagging"
    assert not lag(replica, 3.0, 10.0)  # over again before 10 s under
    assert not lag(replica, 0.1, 10.5)
    assert replica.state == "lagging"


def test_a_spike_during_cooldown_restarts_it() -> None:
    replica = make()
    lag(replica, 5.0, 0.0)
    lag(replica, 0.1, 1.0)  # cool-down starts at 1
    lag(replica, 2.1, 6.0)  # spike: starts over
    assert replica.under_since is None
    lag(replica, 0.1, 7.0)  # cool-down starts at 7
    assert not lag(replica, 0.1, 11.0)  # 10 s after the first dip, only 4 after the spike
    assert replica.state == "lagging"
    assert lag(replica, 0.1, 17.0)
    assert replica.serving


def test_returns_after_exactly_the_cooldown() -> None:
    replica = make()
    lag(replica, 5.0, 0.0)
    lag(replica, 0.1, 3.0)
    assert not lag(replica, 0.1, 3.0 + COOLDOWN_S - 0.001)
    assert lag(replica, 0.1, 3.0 + COOLDOWN_S)
    assert replica.serving
    assert replica.since == 3.0 + COOLDOWN_S


def test_no_cooldown_returns_at_the_first_reading_within() -> None:
    replica = make()
    replica.record_lag(5.0, 1, 0.0, max_lag_s=MAX_LAG_S, cooldown_s=0.0)
    assert replica.record_lag(0.1, 1, 1.0, max_lag_s=MAX_LAG_S, cooldown_s=0.0)
    assert replica.serving


def test_an_unknown_lag_keeps_the_state() -> None:
    replica = make()
    lag(replica, 5.0, 0.0)
    assert not lag(replica, None, 100.0, replayed=42)
    assert replica.state == "lagging"
    assert (replica.lag_s, replica.replayed) == (None, 42)
    serving = make()
    assert not lag(serving, None, 1.0)
    assert serving.serving


def test_failures_back_off_doubling_up_to_the_cap() -> None:
    replica = make()
    backoff = Backoff(initial_s=0.5, max_s=5.0)
    now = 100.0
    assert replica.record_failure("connection refused", now, backoff=backoff)
    assert (replica.state, replica.failures, replica.retry_at) == ("down", 1, 100.5)
    assert replica.since == 100.0
    delays = []
    for _ in range(5):
        now = replica.retry_at
        assert not replica.record_failure("connection refused", now, backoff=backoff)
        delays.append(replica.retry_at - now)
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert replica.failures == 6
    assert replica.since == 100.0  # down since the first failure


def test_due_respects_retry_at() -> None:
    replica = make()
    replica.record_failure("refused", 10.0, backoff=Backoff())
    assert not replica.due(10.0)
    assert not replica.due(10.499)
    assert replica.due(10.5)
    assert replica.due(11.0)


def test_recovery_from_down_skips_the_cooldown() -> None:
    replica = make()
    lag(replica, 5.0, 0.0)  # lagging first: recovery from down still needs no cool-down
    replica.record_failure("refused", 1.0, backoff=Backoff())
    replica.record_failure("refused", 2.0, backoff=Backoff())
    assert lag(replica, 0.1, 3.0, replayed=9)
    assert replica.serving
    assert (replica.failures, replica.error, replica.replayed, replica.since) == (0, None, 9, 3.0)
    assert replica.due(3.0)


def test_recovery_over_max_is_lagging_then_needs_the_cooldown() -> None:
    replica = make()
    replica.record_failure("refused", 1.0, backoff=Backoff())
    assert lag(replica, 4.0, 2.0)
    assert replica.state == "lagging"
    lag(replica, 0.1, 3.0)
    assert not replica.serving
    assert lag(replica, 0.1, 3.0 + COOLDOWN_S)


@pytest.mark.parametrize("weight", [-1.0, math.inf, math.nan])
def test_weight_must_be_a_non_negative_number(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        make(weight=weight)


def test_snapshot_and_repr() -> None:
    replica = make(weight=3.0)
    lag(replica, 0.25, 1.0, replayed=(0x16 << 32) | 0xB374D848)
    assert replica.snapshot() == {
        "name": "ds0/replica1",
        "state": "serving",
        "lag_s": 0.25,
        "replayed": (0x16 << 32) | 0xB374D848,
        "since": 0.0,
        "error": None,
        "failures": 0,
        "retry_at": None,
        "weight": 3.0,
    }
    assert repr(replica) == "<ReplicaState ds0/replica1 [serving, lag 0.25s, replayed 16/B374D848]>"
    replica.record_failure("connection refused", 5.0, backoff=Backoff())
    snapshot = replica.snapshot()
    assert (snapshot["state"], snapshot["error"], snapshot["failures"]) == (
        "down",
        "connection refused",
        1,
    )
    assert snapshot["retry_at"] == 5.5
    assert "down" in repr(replica)
    assert "connection refused" in repr(replica)
