"""Limits: per-tenant rate limits and concurrency quotas (pure state; the shell waits).

The guards run before a statement reaches a pool, rate limit first. Neither waits, sleeps
or wakes anyone: they change their state under a short lock and return a decision, and the
I/O shell (the same code on both fronts) acts on it.

**Rate limit.** One ``LocalRateLimiter`` per process, keyed by tenant, with the tenant's
current ``RateLimit`` passed on every check::

    decision = limiter.check(tenant_id, limit, clock())      # clock: time.monotonic
    if not decision.allowed:
        if shadow:
            shadow_refusals += 1                              # count it, send it anyway
        else:
            raise RateLimitedError(tenant, limit, retry_after=decision.retry_after_s)

A refused check consumes nothing, so a shadow count is what enforcing would have refused.
The cluster-wide limiter on Redis returns the same ``RateDecision``.
"""

from __future__ import annotations

from ._gcra import DEFAULT_MAX_KEYS, LocalRateLimiter
from ._rate import ADMITTED, RateDecision, RateLimit

__all__ = [
    "ADMITTED",
    "DEFAULT_MAX_KEYS",
    "LocalRateLimiter",
    "RateDecision",
    "RateLimit",
]
