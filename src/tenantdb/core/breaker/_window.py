"""Sliding windows of call outcomes with running totals: O(1) per recorded call.

Neither window is thread-safe: the breaker that owns one changes it only under its lock.
``calls``, ``failures`` and ``slow`` are the totals over the window as of the last ``add`` or
``expire``; a slow failure counts in both ``failures`` and ``slow``.
"""

from __future__ import annotations

import math
from collections import deque


class CountWindow:
    """The outcomes of the last ``size`` calls, in a ring of one byte per call."""

    __slots__ = ("_next", "_ring", "calls", "failures", "size", "slow")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a count window needs size >= 1, got {size}")
        self.size = size
        self.calls = 0
        self.failures = 0
        self.slow = 0
        # Bit 0: failed, bit 1: slow. Slots at and after _next are unused until the ring
        # has filled once.
        self._ring = bytearray(size)
        self._next = 0

    def add(self, failed: bool, slow: bool, now: float) -> None:
        """Count one finished call (``now`` is unused: only the order of calls matters)."""
        position = self._next
        ring = self._ring
        if self.calls == self.size:
            old = ring[position]
            if old:
                self.failures -= old & 1
                self.slow -= old >> 1
        else:
            self.calls += 1
        if failed or slow:  # most calls are plain successes: skip the no-op additions
            ring[position] = failed | (slow << 1)
            self.failures += failed
            self.slow += slow
        else:
            ring[position] = 0
        position += 1
        self._next = position if position < self.size else 0

    def expire(self, now: float) -> None:
        """Nothing to do: a count window forgets a call only when a newer one arrives."""

    def reset(self) -> None:
        """Forget every call."""
        self.calls = self.failures = self.slow = 0
        self._next = 0

    def __repr__(self) -> str:
        return (
            f"<CountWindow last {self.size} calls [{self.calls} calls: {self.failures} failed, "
            f"{self.slow} slow]>"
        )


class TimeWindow:
    """The outcomes of the calls in the current second and the ``size_s - 1`` seconds
    before it, kept as one bucket per second that saw a call.

    Seconds are ``floor(now)`` of the owner's monotonic clock. Buckets leave the window
    lazily, on the next ``add`` or ``expire``; each bucket is created by a call and removed
    once, so the cost is O(1) per call amortised, and memory at most ``size_s`` buckets.
    A ``now`` older than one seen before (threads that read the clock, then raced for the
    lock) counts in the newest second, so the window never moves backwards.
    """

    __slots__ = ("_buckets", "_second", "calls", "failures", "size_s", "slow")

    def __init__(self, size_s: int) -> None:
        if size_s < 1:
            raise ValueError(f"a time window needs size_s >= 1, got {size_s}")
        self.size_s = size_s
        self.calls = 0
        self.failures = 0
        self.slow = 0
        # [second, calls, failures, slow], oldest first; only the last one still grows.
        self._buckets: deque[list[int]] = deque()
        self._second: int | None = None

    def add(self, failed: bool, slow: bool, now: float) -> None:
        """Count one call that finished at ``now`` (monotonic seconds, finite)."""
        second = self._advance(now)
        buckets = self._buckets
        self.calls += 1
        if buckets and buckets[-1][0] == second:
            bucket = buckets[-1]
            bucket[1] += 1
            if failed or slow:  # most calls are plain successes: skip the no-op additions
                bucket[2] += failed
                bucket[3] += slow
        else:
            buckets.append([second, 1, int(failed), int(slow)])
        if failed or slow:
            self.failures += failed
            self.slow += slow

    def expire(self, now: float) -> None:
        """Drop the calls that fell out of the window by ``now``."""
        self._advance(now)

    def reset(self) -> None:
        """Forget every call (the clock reading is kept: time still never goes back)."""
        self._buckets.clear()
        self.calls = self.failures = self.slow = 0

    def _advance(self, now: float) -> int:
        second = math.floor(now)
        if self._second is not None and second < self._second:
            second = self._second
        self._second = second
        horizon = second - self.size_s
        buckets = self._buckets
        while buckets and buckets[0][0] <= horizon:
            _, calls, failures, slow = buckets.popleft()
            self.calls -= calls
            self.failures -= failures
            self.slow -= slow
        return second

    def __repr__(self) -> str:
        return (
            f"<TimeWindow last {self.size_s} s [{self.calls} calls: {self.failures} failed, "
            f"{self.slow} slow]>"
        )
