"""``CircuitBreaker``: each transition by example, the contract around permits, and status."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tenantdb.core.breaker import (
    BreakerSettings,
    CircuitBreaker,
    Outcome,
    Permit,
    Rejected,
    Transition,
)

FAST = 0.01  # seconds: a call well under slow_call_s
SLOW = 10.0  # exactly the default slow_call_s: slow, as the threshold is inclusive


def _breaker(**changes: object) -> CircuitBreaker:
    options: dict[str, object] = {"window_size": 4, "minimum_calls": 4, "open_wait_s": 5.0}
    options.update(changes)
    return CircuitBreaker(BreakerSettings(**options), name="ds0 primary")  # type: ignore[arg-type]


def _permit(breaker: CircuitBreaker, now: float) -> Permit:
    result = breaker.acquire(now)
    assert isinstance(result, Permit), result
    return result


def _call(
    breaker: CircuitBreaker, outcome: Outcome, now: float, duration_s: float = FAST
) -> Transition | None:
    return breaker.record(_permit(breaker, now), outcome, duration_s, now)


def _open(breaker: CircuitBreaker, now: float) -> Transition:
    """Fail calls at ``now`` until the breaker opens."""
    for _ in range(breaker.settings.window_size):
        transition = _call(breaker, "failure", now)
        if transition is not None:
            return transition
    raise AssertionError(f"{breaker!r} did not open")


# closed


def test_a_closed_breaker_permits_and_counts() -> None:
    breaker = _breaker()
    assert breaker.state(0.0) == "closed"
    assert _call(breaker, "success", 0.0) is None
    assert _call(breaker, "failure", 0.1) is None
    snapshot = breaker.snapshot(0.2)
    assert (snapshot["calls_in_window"], snapshot["failure_rate_percent"]) == (2, 50.0)


def test_a_closed_breaker_ignores_failures_below_minimum_calls() -> None:
    breaker = _breaker(window_size=10, minimum_calls=5)
    for i in range(4):
        assert _call(breaker, "failure", float(i)) is None
    assert breaker.state(4.0) == "closed"
    # the fifth call reaches minimum_calls with the rate already at 100 %
    transition = _call(breaker, "failure", 4.0)
    assert transition is not None
    assert (transition.from_state, transition.to_state) == ("closed", "open")


def test_the_failure_threshold_is_reached_at_exactly_the_rate() -> None:
    # 50 % of 4 calls is 2 failures: the breaker opens on the second, not after it.
    breaker = _breaker(failure_rate_percent=50.0)
    assert [_call(breaker, o, 1.0) for o in ("success", "failure", "success")] == [None] * 3
    transition = _call(breaker, "failure", 2.0)
    assert transition is not None
    assert transition == Transition("closed", "open", 2.0, transition.reason)
    assert "failure rate 50% >= 50% over the last 4 calls" in transition.reason
    # One failure fewer never opens, however long it runs.
    other = _breaker(failure_rate_percent=50.0)
    for i in range(40):
        assert _call(other, "failure" if i % 4 == 0 else "success", float(i)) is None


def test_a_success_that_brings_the_window_to_minimum_calls_can_open_it() -> None:
    breaker = _breaker(failure_rate_percent=75.0)
    for _ in range(3):
        assert _call(breaker, "failure", 0.0) is None
    transition = _call(breaker, "success", 0.0)  # 3 of 4 = 75 %
    assert transition is not None
    assert transition.to_state == "open"


def test_the_slow_call_rate_opens_a_breaker_whose_calls_succeed() -> None:
    breaker = _breaker(slow_call_rate_percent=50.0, failure_rate_percent=100.0)
    assert _call(breaker, "success", 0.0, SLOW) is None
    assert _call(breaker, "success", 0.0, SLOW - 0.001) is None  # just under: not slow
    assert _call(breaker, "success", 0.0) is None
    transition = _call(breaker, "success", 0.0, SLOW * 3)
    assert transition is not None
    assert "slow-call rate 50% >= 50%" in transition.reason
    assert "failure rate" not in transition.reason


def test_a_slow_failure_counts_toward_both_rates() -> None:
    breaker = _breaker()
    for _ in range(2):
        assert _call(breaker, "failure", 0.0, SLOW) is None
    snapshot = breaker.snapshot(0.0)
    assert snapshot["failure_rate_percent"] == snapshot["slow_call_rate_percent"] == 100.0


def test_old_failures_leave_a_count_window() -> None:
    breaker = _breaker(failure_rate_percent=50.0)
    # F S S S S S ...: the failure slides out and the rate falls to 0
    assert _call(breaker, "failure", 0.0) is None
    for i in range(6):
        assert _call(breaker, "success", float(i)) is None
    assert breaker.snapshot(9.0)["failure_rate_percent"] == 0.0


def test_failures_older_than_a_time_window_never_open_it() -> None:
    breaker = _breaker(window="time", window_size=10, minimum_calls=3)
    assert _call(breaker, "failure", 100.0) is None
    assert _call(breaker, "failure", 105.0) is None
    # second 100 left the window at 110: two calls, under minimum_calls
    assert _call(breaker, "failure", 110.0) is None
    assert breaker.snapshot(110.0)["calls_in_window"] == 2
    transition = _call(breaker, "failure", 111.0)
    assert transition is not None
    assert "3 calls in the last 10 s" in transition.reason


def test_ignored_outcomes_never_count() -> None:
    breaker = _breaker(minimum_calls=1, window_size=1)
    for i in range(50):
        assert _call(breaker, "ignored", float(i), SLOW) is None
    snapshot = breaker.snapshot(50.0)
    assert snapshot["state"] == "closed"
    assert snapshot["calls_in_window"] == 0


def test_an_unknown_outcome_is_refused() -> None:
    breaker = _breaker()
    with pytest.raises(ValueError, match="'failed'"):
        breaker.record(_permit(breaker, 0.0), "failed", FAST, 0.0)  # type: ignore[arg-type]


# open


def test_an_open_breaker_rejects_at_once_until_the_wait_is_over() -> None:
    breaker = _breaker(open_wait_s=5.0)
    opened = _open(breaker, 10.0)
    assert opened.at == 10.0
    for now in (10.0, 12.0, 14.999):
        rejected = breaker.acquire(now)
        assert isinstance(rejected, Rejected)
        assert rejected.retry_at == 15.0
        assert rejected.state == "open"
        assert "ds0 primary is open" in rejected.reason
        assert opened.reason in rejected.reason
        assert breaker.state(now) == "open"
    assert breaker.rejected_count == 3
    assert breaker.opened_count == 1
    assert breaker.snapshot(12.0)["retry_at"] == 15.0


def test_after_the_wait_the_first_acquire_moves_to_half_open() -> None:
    breaker = _breaker(open_wait_s=5.0)
    _open(breaker, 10.0)
    assert breaker.state(15.0) == "half_open"  # what an acquire would meet
    assert breaker.half_opened_count == 0  # ...but nothing moved yet
    probe = _permit(breaker, 15.5)
    assert probe.transition is not None
    assert probe.transition == Transition("open", "half_open", 15.5, probe.transition.reason)
    assert breaker.half_opened_count == 1
    assert _permit(breaker, 15.6).transition is None


# half-open


def _half_open(breaker: CircuitBreaker, now: float = 0.0) -> list[Permit]:
    """Open the breaker at ``now`` and take every probe once the wait is over."""
    _open(breaker, now)
    later = now + breaker.settings.open_wait_s
    return [_permit(breaker, later) for _ in range(breaker.settings.permitted_probes)]


def test_half_open_admits_exactly_the_permitted_probes() -> None:
    breaker = _breaker(permitted_probes=3)
    probes = _half_open(breaker)
    assert len({p.probe for p in probes}) == 3
    rejected = breaker.acquire(5.0)
    assert isinstance(rejected, Rejected)
    assert rejected.state == "half_open"
    assert rejected.retry_at == 5.0
    assert "3 of 3 probes in flight" in rejected.reason
    assert breaker.rejected_count == 1
    assert breaker.snapshot(5.0)["probes_in_flight"] == 3


def test_successful_probes_close_the_breaker_with_an_empty_window() -> None:
    breaker = _breaker(permitted_probes=2)
    first, second = _half_open(breaker)
    assert breaker.record(first, "success", FAST, 6.0) is None
    # one success and one in flight: the round is full
    assert isinstance(breaker.acquire(6.0), Rejected)
    closed = breaker.record(second, "success", FAST, 7.0)
    assert closed == Transition("half_open", "closed", 7.0, "2 half-open probes succeeded")
    assert breaker.closed_count == 1
    assert breaker.snapshot(7.0)["calls_in_window"] == 0
    # the failures that opened it are forgotten: minimum_calls counts afresh
    for _ in range(3):
        assert _call(breaker, "failure", 8.0) is None
    assert _call(breaker, "failure", 8.0) is not None


@pytest.mark.parametrize(("outcome", "duration_s"), [("failure", FAST), ("success", SLOW)])
def test_a_failed_or_slow_probe_opens_the_breaker_again(
    outcome: Outcome, duration_s: float
) -> None:
    breaker = _breaker(permitted_probes=3, open_wait_s=5.0)
    first, second, third = _half_open(breaker)
    assert breaker.record(first, "success", FAST, 5.1) is None
    transition = breaker.record(second, outcome, duration_s, 6.0)
    assert transition is not None
    assert (transition.from_state, transition.to_state) == ("half_open", "open")
    assert ("slow" in transition.reason) == (outcome == "success")
    rejected = breaker.acquire(6.0)
    assert isinstance(rejected, Rejected)
    assert rejected.retry_at == 11.0
    # the third probe belongs to the round that ended: it changes nothing now
    assert breaker.record(third, "success", FAST, 7.0) is None
    assert breaker.record(third, "failure", FAST, 7.0) is None
    assert breaker.opened_count == 2
    assert isinstance(breaker.acquire(10.9), Rejected)


def test_an_ignored_probe_releases_its_place_and_counts_nothing() -> None:
    breaker = _breaker(permitted_probes=1)
    (probe,) = _half_open(breaker)
    assert breaker.record(probe, "ignored", SLOW, 5.0) is None
    assert breaker.state(5.0) == "half_open"
    again = _permit(breaker, 5.0)
    assert breaker.record(again, "success", FAST, 5.0) is not None
    assert breaker.state(5.0) == "closed"


def test_cancelled_probes_free_their_places() -> None:
    breaker = _breaker(permitted_probes=2)
    probes = _half_open(breaker)
    assert isinstance(breaker.acquire(5.0), Rejected)
    for probe in probes:
        breaker.cancel(probe)
        breaker.cancel(probe)  # twice is harmless
    assert breaker.snapshot(5.0)["probes_in_flight"] == 0
    fresh = [_permit(breaker, 5.0) for _ in range(2)]
    assert isinstance(breaker.acquire(5.0), Rejected)
    # a cancelled probe recorded late counts nothing and frees nothing
    assert breaker.record(probes[0], "failure", FAST, 5.0) is None
    assert isinstance(breaker.acquire(5.0), Rejected)
    assert breaker.record(fresh[0], "success", FAST, 5.0) is None
    assert breaker.record(fresh[1], "success", FAST, 5.0) is not None


def test_a_probe_recorded_twice_counts_once() -> None:
    breaker = _breaker(permitted_probes=2)
    first, _ = _half_open(breaker)
    assert breaker.record(first, "success", FAST, 5.0) is None
    assert breaker.record(first, "success", FAST, 5.0) is None
    assert breaker.state(5.0) == "half_open"


# permits that outlive their state


def test_a_call_permitted_while_closed_cannot_touch_the_states_after() -> None:
    breaker = _breaker(permitted_probes=1)
    late = _permit(breaker, 0.0)
    _open(breaker, 0.0)
    # finishing while open, then while half-open: dropped both times
    assert breaker.record(late, "failure", FAST, 1.0) is None
    (probe,) = [_permit(breaker, 5.0)]
    assert breaker.record(late, "failure", FAST, 5.0) is None
    breaker.cancel(late)
    assert breaker.state(5.0) == "half_open"
    assert breaker.record(probe, "success", FAST, 5.0) is not None
    # and once closed again it does not enter the new window
    assert breaker.record(late, "failure", FAST, 6.0) is None
    assert breaker.snapshot(6.0)["calls_in_window"] == 0


def test_closed_permits_are_one_shared_value_per_closed_period() -> None:
    breaker = _breaker(permitted_probes=1)
    assert breaker.acquire(0.0) is breaker.acquire(0.0)


# disabled


def test_a_disabled_breaker_permits_everything_and_counts_nothing() -> None:
    breaker = _breaker(enabled=False, minimum_calls=1, window_size=1)
    for i in range(20):
        assert _call(breaker, "failure", float(i), SLOW) is None
    snapshot = breaker.snapshot(20.0)
    assert snapshot["state"] == "disabled"
    assert snapshot["calls_in_window"] == 0
    assert breaker.opened_count == 0
    assert "disabled" in repr(breaker)


# status


def test_snapshot_is_json_ready_and_tells_the_story() -> None:
    breaker = _breaker()
    opened = _open(breaker, 3.0)
    snapshot = breaker.snapshot(4.0)
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["name"] == "ds0 primary"
    assert snapshot["state"] == "open"
    assert snapshot["since"] == 3.0
    assert snapshot["reason"] == opened.reason
    assert snapshot["retry_at"] == 8.0
    assert snapshot["calls_in_window"] == 4
    assert snapshot["failure_rate_percent"] == 100.0
    assert snapshot["opened_count"] == 1
    fresh = _breaker().snapshot(0.0)
    assert fresh["failure_rate_percent"] is None
    assert fresh["since"] is None
    assert fresh["retry_at"] is None


def test_repr_shows_the_state() -> None:
    breaker = _breaker(permitted_probes=2)
    assert repr(breaker).startswith("<CircuitBreaker 'ds0 primary' [closed, 0 calls")
    _open(breaker, 0.0)
    assert "[open until 5:" in repr(breaker)
    _permit(breaker, 5.0)
    assert "[half_open, 1 probes in flight, 0 of 2 succeeded]" in repr(breaker)


# threads


class _YieldingSet(set[int]):
    """A set that hands the interpreter to another thread whenever it is measured or
    grown, so that a check-then-act race in the breaker, if it had one, would show."""

    def __len__(self) -> int:
        time.sleep(0)
        return super().__len__()

    def add(self, element: int) -> None:
        time.sleep(0)
        super().add(element)


def test_threads_never_hold_more_probes_than_permitted() -> None:
    breaker = _breaker(permitted_probes=3, open_wait_s=1.0)
    _open(breaker, 0.0)
    breaker._probes = _YieldingSet()  # the breaker's probe set, instrumented (see above)
    lock = threading.Lock()
    held: list[int] = []
    granted: list[int] = []
    most = [0]
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=30)
        for _ in range(1_000):
            result = breaker.acquire(5.0)
            if isinstance(result, Rejected):
                continue
            with lock:
                held.append(result.probe)
                granted.append(result.probe)
                most[0] = max(most[0], len(held))
            with lock:
                held.remove(result.probe)
            breaker.cancel(result)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most[0] <= 3
    assert len(granted) == len(set(granted))  # every probe permit is its own
    assert breaker.snapshot(5.0)["probes_in_flight"] == 0
