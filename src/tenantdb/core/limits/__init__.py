"""Limits: per-tenant rate limits and concurrency quotas (pure state; the shell waits).

Both guards run before a statement reaches a pool, rate limit first. Neither waits, sleeps
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

**Concurrency quota.** One ``ConcurrencyQuota`` per tenant (and one per tenant and
datasource, acquired after it). The token is what the waiter blocks on: an
``asyncio.Future`` on the async front, a ``threading.Event`` (or an object holding one) on
the sync front. The async front, where ``wake(t)`` is ``t.set_result(None)`` unless ``t`` is
done::

    token = loop.create_future()
    decision = quota.acquire(token)
    if isinstance(decision, Refused):
        raise RateLimitedError(...)                          # nothing is held
    if isinstance(decision, Queued):
        try:
            await asyncio.wait_for(asyncio.shield(token), queue_timeout_s)
        except BaseException:                                # timeout or cancellation
            if (nxt := quota.cancel(token)) is not None:     # a permit handed over in the
                wake(nxt)                                    # race passes on, never leaks
            raise
    try:
        ...                                                  # run the statement
    finally:
        if (nxt := quota.release()) is not None:
            wake(nxt)

The sync front is the same with ``event.wait(queue_timeout_s)`` returning False in place
of the timeout, and ``wake(t)`` being ``t.set()``. Whoever gets a token back from
``release``, ``cancel`` or ``set_limit`` wakes exactly that waiter (each token is returned
once), outside any lock of its own; the woken waiter already holds the permit. ``cancel``
is called once, only by a waiter that got ``Queued`` and will not run. After the tenant
record changes, the shell calls ``set_limit`` and wakes every returned token in order.
"""

from __future__ import annotations

from ._gcra import DEFAULT_MAX_KEYS, LocalRateLimiter
from ._quota import GRANTED, ConcurrencyQuota, Granted, Queued, QuotaLimit, Refused
from ._rate import ADMITTED, RateDecision, RateLimit
from ._tenant import TenantGuard, tenant_guard

__all__ = [
    "ADMITTED",
    "ConcurrencyQuota",
    "DEFAULT_MAX_KEYS",
    "GRANTED",
    "Granted",
    "LocalRateLimiter",
    "Queued",
    "QuotaLimit",
    "RateDecision",
    "RateLimit",
    "Refused",
    "TenantGuard",
    "tenant_guard",
]
