"""The sliding windows keep exact running totals, checked against plain lists of calls."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tenantdb.core.breaker import CountWindow, TimeWindow

# (failed, slow) of one call
calls = st.tuples(st.booleans(), st.booleans())


def _totals(window: CountWindow | TimeWindow) -> tuple[int, int, int]:
    return window.calls, window.failures, window.slow


def _reference(outcomes: list[tuple[bool, bool]]) -> tuple[int, int, int]:
    return (
        len(outcomes),
        sum(1 for failed, _ in outcomes if failed),
        sum(1 for _, slow in outcomes if slow),
    )


@given(size=st.integers(1, 12), outcomes=st.lists(calls, max_size=60))
def test_a_count_window_totals_exactly_the_last_n_calls(
    size: int, outcomes: list[tuple[bool, bool]]
) -> None:
    window = CountWindow(size)
    for i, (failed, slow) in enumerate(outcomes):
        window.add(failed, slow, now=float(i))
        assert _totals(window) == _reference(outcomes[: i + 1][-size:])


@given(
    size=st.integers(1, 8),
    before=st.lists(calls, max_size=20),
    after=st.lists(calls, max_size=20),
)
def test_a_reset_count_window_starts_from_nothing(
    size: int, before: list[tuple[bool, bool]], after: list[tuple[bool, bool]]
) -> None:
    window = CountWindow(size)
    for failed, slow in before:
        window.add(failed, slow, 0.0)
    window.reset()
    assert _totals(window) == (0, 0, 0)
    for i, (failed, slow) in enumerate(after):
        window.add(failed, slow, 0.0)
        assert _totals(window) == _reference(after[: i + 1][-size:])


def test_a_time_window_keeps_the_current_second_and_the_ones_before() -> None:
    window = TimeWindow(3)
    window.add(True, False, 10.2)  # second 10
    window.add(False, True, 11.9)  # second 11
    window.add(True, True, 12.0)  # second 12
    assert _totals(window) == (3, 2, 2)
    window.expire(12.999)
    assert _totals(window) == (3, 2, 2)
    window.expire(13.0)  # second 10 leaves
    assert _totals(window) == (2, 1, 2)
    window.expire(15.5)  # 11 and 12 leave
    assert _totals(window) == (0, 0, 0)
    window.add(False, False, 15.6)
    assert _totals(window) == (1, 0, 0)


def test_a_time_window_forgets_everything_after_a_long_quiet_spell() -> None:
    window = TimeWindow(60)
    for i in range(200):
        window.add(i % 2 == 0, False, 1000.0 + i * 0.25)
    assert window.calls == 200
    window.add(False, True, 1000.0 + 50 + 60 + 1)
    assert _totals(window) == (1, 0, 1)


def test_an_older_clock_reading_counts_in_the_newest_second() -> None:
    # Two threads read the clock, then the later reading took the lock first.
    window = TimeWindow(2)
    window.add(True, False, 20.5)
    window.add(True, False, 19.2)
    window.expire(21.0)
    assert window.calls == 2  # both still in: the 19.2 call went into second 20
    window.expire(22.0)
    assert window.calls == 0


def test_racing_clock_readings_never_add_buckets_beyond_the_window() -> None:
    # Alternating older and newer readings must not open a bucket per call: memory stays
    # at one bucket per second of the window, however the threads interleave.
    window = TimeWindow(3)
    for i in range(1_000):
        window.add(False, False, 50.0 + (i % 2) * 0.9 - (i % 2) * 1.5 + i * 1e-4)
    assert window.calls == 1_000
    assert len(window._buckets) <= 3  # the private deque: its size is the memory bound


@given(
    size=st.integers(1, 6),
    steps=st.lists(
        st.tuples(st.floats(0.0, 4.0, allow_nan=False), st.booleans(), calls), max_size=50
    ),
)
def test_a_time_window_totals_exactly_the_calls_of_its_seconds(
    size: int, steps: list[tuple[float, bool, tuple[bool, bool]]]
) -> None:
    """Reference: every call with the second it finished in; the window holds those whose
    second is after ``floor(now) - size``."""
    window = TimeWindow(size)
    seen: list[tuple[int, bool, bool]] = []
    now = 100.0
    for step, add, (failed, slow) in steps:
        now += step
        if add:
            window.add(failed, slow, now)
            seen.append((math.floor(now), failed, slow))
        else:
            window.expire(now)
        current = math.floor(now)
        inside = [(f, s) for second, f, s in seen if second > current - size]
        assert _totals(window) == _reference(inside)
