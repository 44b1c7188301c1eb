"""Rate-limit values shared by the local and the cluster-wide limiter."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``rate_per_s`` statements per second on average, with up to ``burst`` at once.

    Over any window of ``T`` seconds a limiter admits at most ``rate_per_s * T + burst``.
    Raises ValueError unless ``rate_per_s`` is a positive finite number and ``burst >= 1``.
    """

    rate_per_s: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not (0.0 < self.rate_per_s < math.inf):
            raise ValueError(
                f"a rate limit needs a positive finite rate_per_s, got {self.rate_per_s!r}"
            )
        if self.burst < 1:
            raise ValueError(f"a rate limit needs burst >= 1, got {self.burst!r}")

    @property
    def interval_s(self) -> float:
        """Seconds one statement's share of the rate lasts (``1 / rate_per_s``)."""
        return 1.0 / self.rate_per_s


@dataclass(frozen=True, slots=True)
class RateDecision:
    """What a limiter answered for one check.

    ``allowed`` False means the statement must not be sent (in shadow mode the caller counts
    it and sends it anyway); ``retry_after_s`` is then the seconds after which the same check
    would be admitted if nothing else arrived (0.0 when allowed).
    """

    allowed: bool
    retry_after_s: float = 0.0


ADMITTED = RateDecision(True)
"""The shared answer of every admitted check (limiters return it instead of a new value)."""
