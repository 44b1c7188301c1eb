"""Adaptive chunk size and the replica-lag throttle: pure controllers."""

from __future__ import annotations

import pytest

from tenantdb.core.verify import ChunkSizer, LagThrottle


def test_the_chunk_size_moves_towards_half_a_second() -> None:
    sizer = ChunkSizer(rows=1000, target_s=0.5)
    assert sizer.observe(1000, 0.25) == 2000  # twice as fast as wanted: twice the rows
    assert sizer.observe(2000, 1.0) == 1000
    assert sizer.observe(1000, 0.5) == 1000  # on target: unchanged


def test_one_step_changes_the_size_by_at_most_the_step() -> None:
    sizer = ChunkSizer(rows=1000, target_s=0.5, max_step=2.0)
    assert sizer.observe(1000, 50.0) == 500  # a lock wait does not collapse it
    assert sizer.observe(500, 0.0) == 1000  # unmeasurably fast: grow by one step


def test_the_size_stays_within_its_bounds() -> None:
    sizer = ChunkSizer(rows=100, min_rows=80, max_rows=150)
    assert sizer.observe(100, 10.0) == 80
    assert sizer.observe(80, 0.001) == 150


def test_a_short_last_chunk_does_not_shrink_the_size() -> None:
    sizer = ChunkSizer(rows=1000)
    assert sizer.observe(10, 0.4) == 1000


def test_a_fixed_size_never_changes() -> None:
    sizer = ChunkSizer.fixed(7)
    assert sizer.observe(7, 100.0) == 7
    assert sizer.observe(7, 0.0) == 7


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="min_rows <= rows <= max_rows"):
        ChunkSizer(rows=10, min_rows=20)


def test_the_throttle_waits_only_while_the_lag_is_over_the_limit() -> None:
    throttle = LagThrottle(max_lag_s=2.0, poll_s=0.5, give_up_s=60.0)
    assert throttle.pause(None, 0.0) is None
    assert throttle.pause(2.0, 0.0) is None
    assert throttle.pause(2.5, 10.0) == 0.5
    with pytest.raises(TimeoutError, match=r"stayed 3 s behind \(limit 2 s\) for 60 s"):
        throttle.pause(3.0, 60.0)
