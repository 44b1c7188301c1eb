"""``BreakerSettings``: when a circuit breaker opens, how long it stays open, how it probes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

WindowKind = Literal["count", "time"]
"""``count``: the last ``window_size`` calls; ``time``: the calls of the last
``window_size`` seconds."""

# Upper bounds keep a window's memory small (one byte per call, one bucket per second) and
# catch unit mistakes such as a time window given in milliseconds.
MAX_COUNT_WINDOW = 100_000
MAX_TIME_WINDOW_S = 3_600


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerSettings:
    """The thresholds of one circuit breaker (one per datasource endpoint).

    The breaker watches a sliding window of finished calls. It opens when the window holds
    at least ``minimum_calls`` calls and either rate has reached its threshold:

    - failure rate: ``100 * failures / calls >= failure_rate_percent``;
    - slow-call rate: ``100 * slow / calls >= slow_call_rate_percent``, where a call is slow
      when it took ``slow_call_s`` seconds or longer, whether it succeeded or failed.

    Both comparisons are inclusive ("reached", not "passed"), so ``failure_rate_percent=50``
    opens at 10 failures out of 20 calls. The default slow-call threshold of 100 % opens
    only when every call in the window is slow.

    ``window="count"`` keeps the last ``window_size`` calls (1 to 100 000). ``window="time"``
    keeps one bucket per second and counts the calls of the current second and the
    ``window_size - 1`` seconds before it (1 to 3600 seconds; so the window spans between
    ``window_size - 1`` and ``window_size`` seconds). For a count window ``minimum_calls``
    may not exceed ``window_size``: the breaker could never open.

    Once open, the breaker refuses every call for ``open_wait_s`` seconds, then lets
    ``permitted_probes`` calls through (half-open): it closes when that many probes have
    succeeded without being slow, and opens again on the first probe that fails or is slow.
    ``enabled=False`` makes a breaker that permits everything and counts nothing.

    The defaults are conservative, for a first run: 100 calls, at least 20 of them, half
    failing, or all of them slower than 10 s; 10 s open, 3 probes.

    Raises ValueError naming the field and its allowed range for a value out of range.
    """

    window: WindowKind = "count"
    window_size: int = 100
    minimum_calls: int = 20
    failure_rate_percent: float = 50.0
    slow_call_rate_percent: float = 100.0
    slow_call_s: float = 10.0
    open_wait_s: float = 10.0
    permitted_probes: int = 3
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.window not in ("count", "time"):
            raise ValueError(f"window must be 'count' or 'time', got {self.window!r}")
        limit = MAX_COUNT_WINDOW if self.window == "count" else MAX_TIME_WINDOW_S
        unit = "calls" if self.window == "count" else "seconds"
        _check_int("window_size", self.window_size, 1, limit, f" ({unit})")
        _check_int("minimum_calls", self.minimum_calls, 1, None, "")
        if self.window == "count" and self.minimum_calls > self.window_size:
            raise ValueError(
                f"minimum_calls must be <= window_size ({self.window_size}) for a count "
                f"window, got {self.minimum_calls}: the breaker could never open"
            )
        _check_percent("failure_rate_percent", self.failure_rate_percent)
        _check_percent("slow_call_rate_percent", self.slow_call_rate_percent)
        _check_seconds("slow_call_s", self.slow_call_s)
        _check_seconds("open_wait_s", self.open_wait_s)
        _check_int("permitted_probes", self.permitted_probes, 1, None, "")
        if not isinstance(self.enabled, bool):
            raise ValueError(f"enabled must be true or false, got {self.enabled!r}")


def _check_int(field: str, value: object, low: int, high: int | None, unit: str) -> None:
    # bool is an int subclass; "window_size = true" is a mistake, not 1.
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    ):
        return
    allowed = f"an integer from {low} to {high}" if high is not None else f"an integer >= {low}"
    raise ValueError(f"{field} must be {allowed}{unit}, got {value!r}")


def _check_percent(field: str, value: float) -> None:
    if not (_is_number(value) and 0.0 < value <= 100.0):
        raise ValueError(f"{field} must be a percentage in (0, 100], got {value!r}")


def _check_seconds(field: str, value: float) -> None:
    if not (_is_number(value) and 0.0 < value < math.inf):
        raise ValueError(f"{field} must be a positive finite number of seconds, got {value!r}")


def _is_number(value: object) -> bool:
    # NaN fails every range comparison, so the callers' checks refuse it too.
    return isinstance(value, int | float) and not isinstance(value, bool)
