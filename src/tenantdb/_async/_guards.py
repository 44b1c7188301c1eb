"""``AsyncTenantGuards``: the per-tenant rate limits and concurrency quotas of one cluster.

Shared by every session of a cluster's front. Before a tenant session's statement reaches a
pool, ``admit`` checks the tenant's rate (one check per ``execute`` or ``executemany``
call) and takes a slot of the tenant's concurrency quota, then one of each datasource's
quota the statement runs on (in name order, so two statements never wait on each other's
slots); ``release`` gives the slots back when the call returns. A streamed result keeps no
slot: its rows are read after the call.

Decisions are the pure state machines of ``core.limits``; this shell only waits on them
(``AsyncTicket``: a future here, a thread event on the sync front) and raises
``RateLimitedError``. With ``mode = "shadow"`` nothing is refused and nothing waits: what
would have been refused or queued is counted for ``status()``.

A tenant's limits are read from its record on every statement, so a changed record
applies to the next statement: a raised concurrency limit lets waiters in at once, a
lowered one lets running statements finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._concurrency import AsyncTicket
from ..config import LimitsConfig
from ..core.limits import (
    ConcurrencyQuota,
    LocalRateLimiter,
    Queued,
    QuotaLimit,
    RateLimit,
    Refused,
    TenantGuard,
    tenant_guard,
)
from ..core.tenancy import Tenant
from ..errors import RateLimitedError
from ._driver import Deadline, timed_out

if TYPE_CHECKING:
    from ._cluster_limiter import AsyncClusterRateLimiter

Quota = ConcurrencyQuota[AsyncTicket]
Held = list[Quota]

# In shadow mode quotas only count statements in flight: nothing may wait on them.
_UNBOUNDED = QuotaLimit(max_concurrent=2**62)
# Tenants whose limits are remembered; beyond this the memo starts over (it is a cache).
_REMEMBERED = 100_000
_COUNTERS = ("refused_rate", "refused_concurrency", "waited_in_queue", "timed_out_in_queue")
_SHADOW_COUNTERS = ("shadow_rate", "shadow_concurrency")


class AsyncTenantGuards:
    """Rate limits and concurrency quotas of every tenant, for one front of a cluster."""

    def __init__(
        self,
        defaults: LimitsConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._defaults = defaults
        self.shadow = defaults.mode == "shadow"
        self._clock = clock
        self._local = LocalRateLimiter()
        self._cluster: AsyncClusterRateLimiter | None = None
        if defaults.redis_url is not None:
            # Imported here: redis-py is loaded only by clusters that share their limits.
            from ._cluster_limiter import AsyncClusterRateLimiter

            self._cluster = AsyncClusterRateLimiter(
                defaults.redis_url, on_unavailable=defaults.on_redis_down
            )
        self._lock = threading.Lock()  # guards creating quotas and the counters
        # tenant id → (the limits object it was computed from, its guard): identity decides.
        self._guards: dict[str, tuple[object, TenantGuard | None]] = {}
        self._quotas: dict[str, Quota] = {}
        self._datasource_quotas: dict[str, dict[str, Quota]] = {}
        self._counts: dict[str, dict[str, int]] = {}

    def set_defaults(self, defaults: LimitsConfig) -> None:
        """Take new default limits and mode (a configuration reload): each tenant's guard is
        worked out again on its next statement, and its quotas take the new limits then.
        The shared limiter (``redis_url``, ``on_redis_down``) stays as it was built."""
        with self._lock:
            self._defaults = defaults
            self.shadow = defaults.mode == "shadow"
            self._guards = {}  # replaced whole: guard() reads it without the lock

    def guard(self, tenant: Tenant) -> TenantGuard | None:
        """What limits ``tenant``'s statements now; None when nothing does."""
        cached = self._guards.get(tenant.id)
        if cached is not None and cached[0] is tenant.limits:
            return cached[1]
        guard = tenant_guard(tenant.limits, self._defaults)
        if len(self._guards) >= _REMEMBERED:
            self._guards.clear()
        self._guards[tenant.id] = (tenant.limits, guard)
        self._apply_limits(tenant.id, guard)
        return guard

    async def admit(
        self,
        tenant: str,
        guard: TenantGuard,
        datasources: Iterable[str],
        deadline: Deadline | None = None,
    ) -> Held:
        """Check the rate and take the quota slots of one call on ``datasources``; pass what
        it returns to ``release`` when the call ends, however it ends. Raises
        RateLimitedError (holding nothing) when the tenant is over a limit.

        With ``deadline`` (the call's statement timeout), a queue wait lasts at most
        ``min(queue_timeout, time left)``; a wait cut short by the deadline raises
        StatementTimeoutError (the caller's timeout passed, nothing was sent), one that
        reaches ``queue_timeout`` first raises RateLimitedError as without a deadline."""
        rate = guard.rate
        if rate is not None:
            cluster = self._cluster
            if cluster is None:
                decision = self._local.check(tenant, rate, self._clock())
            else:
                decision = await cluster.check(tenant, rate)
            if not decision.allowed:
                self._over_rate(tenant, rate, decision.retry_after_s)
        held: Held = []
        try:
            limit = guard.quota
            if limit is not None:
                quota = self._quotas.get(tenant) or self._quota(tenant, limit)
                # A free slot is taken at once; a ticket is made only to wait for one.
                if self.shadow or not quota.try_acquire():
                    await self._enter(quota, limit, tenant, "max_concurrent", None, deadline)
                held.append(quota)
            limit = guard.per_datasource
            if limit is not None:
                for name in sorted(set(datasources)):
                    quota = self._datasource_quota(tenant, name, limit)
                    if self.shadow or not quota.try_acquire():
                        await self._enter(
                            quota, limit, tenant, "max_concurrent_per_datasource", name, deadline
                        )
                    held.append(quota)
        except BaseException:
            self.release(held)
            raise
        return held

    def release(self, held: Held) -> None:
        """Give back the slots ``admit`` took; each freed slot passes to the first waiter."""
        for quota in reversed(held):
            waiter = quota.release()
            if waiter is not None:
                waiter.wake()

    def snapshot(self) -> dict[str, Any]:
        """Mode and, per tenant that met a limit, statements in flight and waiting and the
        refusal counters, as plain data for ``cluster.status()``."""
        with self._lock:
            tenants: dict[str, Any] = {}
            for tenant in sorted({*self._quotas, *self._datasource_quotas, *self._counts}):
                quota = self._quotas.get(tenant)
                tenants[tenant] = {
                    "in_flight": quota.in_use if quota is not None else None,
                    "queued": quota.queued if quota is not None else None,
                    "datasources": {
                        name: {"in_flight": q.in_use, "queued": q.queued}
                        for name, q in sorted(self._datasource_quotas.get(tenant, {}).items())
                    },
                    **self._counts.get(tenant, {}),
                }
        cluster = self._cluster
        return {
            "mode": self._defaults.mode,
            "shared": (
                None if cluster is None else {"url": repr(cluster), "available": cluster.available}
            ),
            "tenants": tenants,
        }

    async def aclose(self) -> None:
        if self._cluster is not None:
            await self._cluster.aclose()

    # -- internals ---------------------------------------------------------------------

    def _over_rate(self, tenant: str, rate: RateLimit, retry_after_s: float) -> None:
        """A check refused ``tenant``: counted in shadow mode, else RateLimitedError."""
        if self.shadow:
            self._count(tenant, "shadow_rate")
            return
        self._count(tenant, "refused_rate")
        raise RateLimitedError(
            f"tenant {tenant!r} is over its rate limit of {rate.rate_per_s:g} statements per"
            f" second (burst {rate.burst}); nothing was sent. Retry in {retry_after_s:.3f} s,"
            " or raise limits.requests_per_second (or burst) for this tenant",
            tenant=tenant,
            limit="requests_per_second",
            retry_after=retry_after_s,
        )

    async def _enter(
        self,
        quota: Quota,
        limit: QuotaLimit,
        tenant: str,
        name: str,
        datasource: str | None,
        deadline: Deadline | None,
    ) -> None:
        """Take one slot of ``quota`` (``limit`` as configured), waiting in its queue until
        ``queue_timeout`` or ``deadline``, whichever comes first."""
        where = "" if datasource is None else f" on datasource {datasource!r}"
        if self.shadow:
            if quota.in_use >= limit.max_concurrent:
                self._count(tenant, "shadow_concurrency")
            quota.acquire(AsyncTicket())
            return
        ticket = AsyncTicket()
        decision = quota.acquire(ticket)
        if isinstance(decision, Refused):
            self._count(tenant, "refused_concurrency")
            raise RateLimitedError(
                f"tenant {tenant!r} has {decision.in_use} statements running{where} (limit"
                f" {name} = {decision.max_concurrent}) and {decision.queued} waiting (limit"
                f" max_queued = {decision.max_queued}); nothing was sent. Retry later, or"
                f" raise limits.{name} or max_queued for this tenant",
                tenant=tenant,
                limit=name,
                datasource=datasource,
            )
        if not isinstance(decision, Queued):
            return
        self._count(tenant, "waited_in_queue")
        wait = limit.queue_timeout_s
        cut_short = False
        if deadline is not None:
            left = max(0.0, deadline.at - time.monotonic())
            if wait is None or left < wait:
                wait, cut_short = left, True
        try:
            woken = await ticket.wait(wait)
        except BaseException:
            self._leave(quota, ticket)
            raise
        if woken:
            return
        self._leave(quota, ticket)
        self._count(tenant, "timed_out_in_queue")
        if cut_short and deadline is not None:
            raise timed_out(deadline, datasource=datasource, role=None, statement=None, sent=False)
        raise RateLimitedError(
            f"tenant {tenant!r} waited {limit.queue_timeout_s:g} s (queue_timeout) for one of"
            f" its {limit.max_concurrent} concurrent statement slots{where} ({name});"
            " nothing was sent. Retry later, or raise the limit or queue_timeout for this"
            " tenant",
            tenant=tenant,
            limit=name,
            datasource=datasource,
        )

    def _leave(self, quota: Quota, ticket: AsyncTicket) -> None:
        # A slot handed to this waiter just before it gave up passes on, never leaks.
        waiter = quota.cancel(ticket)
        if waiter is not None:
            waiter.wake()

    def _quota(self, tenant: str, limit: QuotaLimit) -> Quota:
        quota = self._quotas.get(tenant)
        if quota is None:
            with self._lock:
                quota = self._quotas.setdefault(tenant, ConcurrencyQuota(self._enforced(limit)))
        return quota

    def _datasource_quota(self, tenant: str, datasource: str, limit: QuotaLimit) -> Quota:
        quota = self._datasource_quotas.get(tenant, {}).get(datasource)
        if quota is None:
            with self._lock:
                own = self._datasource_quotas.setdefault(tenant, {})
                quota = own.setdefault(datasource, ConcurrencyQuota(self._enforced(limit)))
        return quota

    def _enforced(self, limit: QuotaLimit) -> QuotaLimit:
        return _UNBOUNDED if self.shadow else limit

    def _apply_limits(self, tenant: str, guard: TenantGuard | None) -> None:
        """A tenant's limits changed: its quotas take the new ones (waiters let in now)."""
        changes: list[tuple[Quota, QuotaLimit]] = []
        quota = self._quotas.get(tenant)
        if quota is not None:
            changes.append(
                (quota, guard.quota if guard is not None and guard.quota else _UNBOUNDED)
            )
        per_datasource = guard.per_datasource if guard is not None else None
        changes += [
            (quota, per_datasource or _UNBOUNDED)
            for quota in self._datasource_quotas.get(tenant, {}).values()
        ]
        for quota, limit in changes:
            for waiter in quota.set_limit(self._enforced(limit)):
                waiter.wake()

    def _count(self, tenant: str, counter: str) -> None:
        with self._lock:
            counts = self._counts.get(tenant)
            if counts is None:
                names = _SHADOW_COUNTERS if self.shadow else _COUNTERS
                counts = self._counts[tenant] = dict.fromkeys(names, 0)
            counts[counter] = counts.get(counter, 0) + 1

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} mode={self._defaults.mode} "
            f"tenants with quotas: {len(self._quotas)}>"
        )
