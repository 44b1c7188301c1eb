"""``LocalRateLimiter``: the GCRA guarantees, checked on arbitrary traffic with an injected clock.

Times are plain floats (monotonic seconds) passed as ``now``; nothing here sleeps.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantdb.core.limits import ADMITTED, LocalRateLimiter, RateDecision, RateLimit

# Float tolerance of the window bound, in statements. Times and debts are floats, and the
# limiter forgives rounding (see _gcra.py): up to 8 ulps of the clock per admission, plus
# once per window up to 512 ulps of the clock or the burst's seconds, plus half an ulp per
# addition. With clocks up to 1e5 s, rates up to 1000/s and a few hundred admissions that
# totals under 1e-4 of a statement, so 1e-3 covers it. A real breach (a burst past the
# window, as in aiolimiter #240/#298) admits a whole statement more, which this cannot hide.
WINDOW_EPSILON = 1e-3

limits = st.builds(
    RateLimit,
    rate_per_s=st.floats(min_value=0.5, max_value=1000.0),
    burst=st.integers(min_value=1, max_value=12),
)
starts = st.floats(min_value=0.0, max_value=1e5)


@dataclass(frozen=True, slots=True)
class Arrival:
    gap_s: float  # after the previous arrival (0: same instant, a burst)
    cost: int


def arrivals(max_size: int = 80) -> st.SearchStrategy[list[Arrival]]:
    gaps = st.one_of(
        st.just(0.0),  # bursts
        st.floats(min_value=0.0, max_value=0.01),
        st.floats(min_value=0.0, max_value=3.0),
    )
    costs = st.one_of(st.just(1), st.integers(min_value=1, max_value=4))
    return st.lists(st.builds(Arrival, gaps, costs), min_size=1, max_size=max_size)


def times(start: float, traffic: list[Arrival], limit: RateLimit) -> Iterator[tuple[float, int]]:
    """Each arrival's time and cost (at most the burst: a bigger one is a ValueError)."""
    now = start
    for arrival in traffic:
        now += arrival.gap_s
        yield now, min(arrival.cost, limit.burst)


def assert_window_bound(admitted: list[tuple[float, int]], limit: RateLimit) -> None:
    """Every window [a_i, a_j] between two admissions (so every window that starts at an
    arrival: shrinking it to the admissions inside only makes the bound tighter) holds at
    most rate * (a_j - a_i) + burst statements."""
    for i, (first, _) in enumerate(admitted):
        total = 0
        for last, cost in admitted[i:]:
            total += cost
            bound = limit.rate_per_s * (last - first) + limit.burst
            assert total <= bound + WINDOW_EPSILON, (first, last, total, bound)


# -- the window bound -----------------------------------------------------------------------


@given(limit=limits, start=starts, traffic=arrivals())
@settings(max_examples=300)
def test_no_window_admits_more_than_rate_times_length_plus_burst(
    limit: RateLimit, start: float, traffic: list[Arrival]
) -> None:
    limiter = LocalRateLimiter()
    admitted = [
        (now, cost)
        for now, cost in times(start, traffic, limit)
        if limiter.check("acme", limit, now, cost=cost).allowed
    ]
    assert_window_bound(admitted, limit)


@given(
    segments=st.lists(st.tuples(limits, arrivals(max_size=40)), min_size=2, max_size=4),
    start=starts,
)
@settings(max_examples=300)
def test_a_changed_limit_holds_from_the_next_check(
    segments: list[tuple[RateLimit, list[Arrival]]], start: float
) -> None:
    """The tenant record changes mid-stream; every window inside a stretch of one limit obeys
    that limit, including windows opening right at the change (no debt is forgotten by a
    reset that would let a fresh burst through)."""
    limiter = LocalRateLimiter()
    now = start
    for limit, traffic in segments:
        admitted = []
        for now, cost in times(now, traffic, limit):  # noqa: B020 (the clock runs on across segments)
            if limiter.check("acme", limit, now, cost=cost).allowed:
                admitted.append((now, cost))
        assert_window_bound(admitted, limit)


def test_a_burst_is_admitted_at_once_then_the_rate_holds() -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=10.0, burst=5)
    assert [limiter.check("acme", limit, 50.0).allowed for _ in range(6)] == [True] * 5 + [False]
    # aiolimiter #240: right after a burst, a second burst must not fit in the same window.
    assert not limiter.check("acme", limit, 50.05).allowed
    assert limiter.check("acme", limit, 50.1).allowed
    assert not limiter.check("acme", limit, 50.1).allowed


# -- the steady client ----------------------------------------------------------------------


@given(
    limit=limits,
    start=starts,
    slowness=st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=2.0)),
    count=st.integers(min_value=1, max_value=5_000),
    accumulate=st.booleans(),
)
@settings(max_examples=300)
def test_a_client_at_the_rate_or_slower_is_never_refused(
    limit: RateLimit, start: float, slowness: float, count: int, accumulate: bool
) -> None:
    """From any start time, whether the client schedules ``start + i * gap`` or adds ``gap``
    to its last send time (the two round differently), and with burst 1 (no slack at all).
    Runs of thousands of sends catch rounding that drifts: without the limiter forgiving a
    few ulps of debt at each send, a client at 212.5/s from t=16384 is refused after 608."""
    limiter = LocalRateLimiter()
    gap = limit.interval_s * (1.0 + slowness)
    now = start
    for i in range(count):
        now = now + gap if accumulate and i else start + i * gap
        assert limiter.check("acme", limit, now).allowed, (i, now)


@given(limit=limits, start=starts, before=arrivals(), count=st.integers(1, 100))
def test_a_steady_client_is_never_refused_once_earlier_traffic_has_drained(
    limit: RateLimit, start: float, before: list[Arrival], count: int
) -> None:
    limiter = LocalRateLimiter()
    last = start
    for last, cost in times(start, before, limit):
        limiter.check("acme", limit, last, cost=cost)
    # The debt left is at most one burst: drained a burst window later.
    resume = last + limit.burst * limit.interval_s
    for i in range(count):
        assert limiter.check("acme", limit, resume + i * limit.interval_s).allowed, i


# -- retry_after_s is honest ----------------------------------------------------------------


def retry_after(decision: RateDecision) -> float:
    assert not decision.allowed
    return decision.retry_after_s


def just_before(moment: float, limit: RateLimit) -> float:
    """A moment a few dozen ulps earlier than ``moment``, at the coarser of the magnitudes
    compared (the clock reading, and the debt: at most one burst of intervals): more than
    the rounding of one computation of the debt."""
    return moment - 32 * math.ulp(max(abs(moment), limit.burst * limit.interval_s))


@given(
    segments=st.lists(st.tuples(limits, arrivals(max_size=40)), min_size=1, max_size=3),
    start=starts,
)
@settings(max_examples=300)
def test_retry_after_is_exact(
    segments: list[tuple[RateLimit, list[Arrival]]], start: float
) -> None:
    """Whenever a check is refused, the same check a hair before ``now + retry_after_s`` is
    still refused and the one at ``now + retry_after_s`` is admitted (nothing else arriving
    in between); limits change between segments, so the cap on a carried debt is covered."""
    limiter = LocalRateLimiter()
    now = start
    for limit, traffic in segments:
        for arrival in traffic:
            now += arrival.gap_s  # after a retry, from the retry's time
            cost = min(arrival.cost, limit.burst)
            decision = limiter.check("acme", limit, now, cost=cost)
            if decision.allowed:
                assert decision is ADMITTED
                continue
            retry = decision.retry_after_s
            assert 0.0 < retry < math.inf
            then = now + retry
            before = just_before(then, limit)
            assert not limiter.check("acme", limit, before, cost=cost).allowed
            assert limiter.check("acme", limit, then, cost=cost).allowed
            now = then


def test_retry_after_of_a_simple_refusal() -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=4.0, burst=2)
    assert limiter.check("acme", limit, 10.0, cost=2).allowed
    # Two statements' worth of debt, 0.25 s each, one of which the burst absorbs.
    assert retry_after(limiter.check("acme", limit, 10.0)) == pytest.approx(0.25)
    assert retry_after(limiter.check("acme", limit, 10.1)) == pytest.approx(0.15)
    # Two more need both intervals back.
    assert retry_after(limiter.check("acme", limit, 10.1, cost=2)) == pytest.approx(0.4)


def test_a_refused_check_consumes_nothing() -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=1.0, burst=1)
    assert limiter.check("acme", limit, 0.0).allowed
    for t in (0.1, 0.2, 0.5, 0.9, 0.99):  # a client hammering while refused
        assert not limiter.check("acme", limit, t).allowed
    assert limiter.check("acme", limit, 1.0).allowed


@pytest.mark.parametrize("cost", [0, -1, 4])
def test_a_cost_outside_one_to_burst_is_a_programming_error(cost: int) -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=100.0, burst=3)
    with pytest.raises(ValueError, match=r"1 <= cost <= burst \(3\)"):
        limiter.check("acme", limit, 0.0, cost=cost)
    assert limiter.check("acme", limit, 0.0, cost=3).allowed  # nothing was consumed


# -- limit changes --------------------------------------------------------------------------


def test_a_lowered_limit_caps_the_debt_at_one_burst_of_the_new_limit() -> None:
    limiter = LocalRateLimiter()
    generous, strict = RateLimit(rate_per_s=10.0, burst=100), RateLimit(rate_per_s=1.0, burst=2)
    assert all(limiter.check("acme", generous, 5.0).allowed for _ in range(100))
    # 10 s owed. Under the new limit the key is full (a burst of 2 used), not locked out for
    # 9 s more and not fresh (which would let 2 more in now).
    refused = limiter.check("acme", strict, 5.0)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(strict.interval_s)
    assert limiter.check("acme", strict, 5.0 + refused.retry_after_s).allowed
    assert not limiter.check("acme", strict, 5.0 + refused.retry_after_s).allowed


def test_a_raised_limit_applies_at_the_next_check_without_a_fresh_burst() -> None:
    limiter = LocalRateLimiter()
    slow, fast = RateLimit(rate_per_s=1.0, burst=3), RateLimit(rate_per_s=100.0, burst=3)
    assert all(limiter.check("acme", slow, 0.0).allowed for _ in range(3))
    assert not limiter.check("acme", slow, 0.5).allowed
    # Full under the old limit is full under the new one, which refills 100 times faster.
    assert not limiter.check("acme", fast, 0.5).allowed
    assert limiter.check("acme", fast, 0.5 + fast.interval_s).allowed


# -- keys -----------------------------------------------------------------------------------


@given(
    limit=limits,
    start=starts,
    traffic=st.lists(st.tuples(st.sampled_from("abcd"), st.floats(0.0, 0.5)), max_size=120),
)
@settings(max_examples=200)
def test_keys_are_independent(
    limit: RateLimit, start: float, traffic: list[tuple[str, float]]
) -> None:
    """One limiter for all keys answers each key exactly as a limiter seeing only that key
    would (which also shows that dropping drained keys changes no answer)."""
    shared = LocalRateLimiter()
    alone = {key: LocalRateLimiter() for key in "abcd"}
    now = start
    for key, gap in traffic:
        now += gap
        assert shared.check(key, limit, now) == alone[key].check(key, limit, now), (key, now)


def test_one_key_refused_leaves_another_admitted() -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=1.0, burst=1)
    assert limiter.check("noisy", limit, 0.0).allowed
    assert not limiter.check("noisy", limit, 0.0).allowed
    assert limiter.check("quiet", limit, 0.0).allowed


# -- memory ---------------------------------------------------------------------------------


def test_drained_keys_are_dropped_by_later_admissions() -> None:
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=1.0, burst=2)
    for tenant in ("a", "b", "c"):
        assert limiter.check(tenant, limit, 0.0).allowed  # each owes 1 s
    assert len(limiter) == 3
    assert limiter.check("d", limit, 0.5).allowed
    assert len(limiter) == 4  # nobody has drained yet
    assert limiter.check("e", limit, 1.0).allowed
    assert len(limiter) == 2  # a, b and c drained at 1.0; d owes until 1.5


def test_max_keys_evicts_the_least_recently_admitted_key() -> None:
    limiter = LocalRateLimiter(max_keys=3)
    slow, fast = RateLimit(rate_per_s=1.0, burst=1), RateLimit(rate_per_s=10.0, burst=1)
    assert limiter.check("a", fast, 0.0).allowed  # a owes until 0.1
    assert limiter.check("b", slow, 0.0).allowed  # b and c owe until 1.0
    assert limiter.check("c", slow, 0.0).allowed
    assert limiter.check("a", fast, 0.5).allowed  # a again: now the most recently admitted
    assert limiter.check("d", slow, 0.5).allowed  # a fourth key: one must go, none drained
    assert len(limiter) == 3
    # b went (least recently admitted, though a was seen first) and is forgiven its debt: the
    # documented price of the bound. The others keep theirs.
    assert limiter.check("b", slow, 0.5).allowed
    assert not limiter.check("a", fast, 0.5).allowed
    assert not limiter.check("d", slow, 0.5).allowed
    assert len(limiter) == 3


def test_many_keys_stay_within_max_keys() -> None:
    limiter = LocalRateLimiter(max_keys=50)
    limit = RateLimit(rate_per_s=0.001, burst=1)  # nothing drains during the test
    for i in range(1_000):
        assert limiter.check(f"t{i}", limit, 0.0).allowed
        assert len(limiter) <= 50


@pytest.mark.parametrize("max_keys", [0, -5])
def test_max_keys_below_one_is_refused(max_keys: int) -> None:
    with pytest.raises(ValueError, match="max_keys"):
        LocalRateLimiter(max_keys=max_keys)


def test_repr_shows_the_keys() -> None:
    limiter = LocalRateLimiter(max_keys=10)
    limiter.check("acme", RateLimit(rate_per_s=1.0), 0.0)
    assert repr(limiter) == "<LocalRateLimiter [1 keys, at most 10]>"
    assert "unbounded" in repr(LocalRateLimiter(max_keys=None))


# -- threads --------------------------------------------------------------------------------


class SwitchingFloat(float):
    """A clock reading whose subtraction runs Python code. CPython 3.11 switches threads
    only at such points, so without this the limiter's arithmetic (no Python calls) would
    be atomic under the GIL by accident, and the test could not tell a missing lock; with
    it, threads interleave in the middle of the read-modify-write as they may on a
    free-threaded build."""

    def __sub__(self, other: float) -> float:
        return float(self) - other


def test_threads_checking_one_key_never_admit_more_than_the_burst() -> None:
    """16 threads check one key at one frozen instant: exactly ``burst`` are admitted."""
    limiter = LocalRateLimiter()
    limit = RateLimit(rate_per_s=1.0, burst=20_000)
    now = SwitchingFloat(7.0)
    admitted = [0] * 16
    barrier = threading.Barrier(16)

    def hammer(slot: int) -> None:
        barrier.wait()
        for _ in range(2_000):
            if limiter.check("acme", limit, now).allowed:
                admitted[slot] += 1

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as finely as the interpreter can
    try:
        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60.0)  # a hang guard, not a timing assertion
    finally:
        sys.setswitchinterval(switch)
    assert sum(admitted) == limit.burst
