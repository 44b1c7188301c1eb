"""``TenantGuard``: one tenant's limits as enforced, its own settings over the cluster's."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...config import LimitsConfig, TenantLimits
from ._quota import QuotaLimit
from ._rate import RateLimit


@dataclass(frozen=True, slots=True)
class TenantGuard:
    """What guards one tenant's statements: ``rate`` (None: no rate limit), ``quota`` for
    all its statements and ``per_datasource`` for those on one datasource (None: no
    limit), and ``statement_timeout_s`` (None: none)."""

    rate: RateLimit | None
    quota: QuotaLimit | None
    per_datasource: QuotaLimit | None
    statement_timeout_s: float | None
    limits_anything: bool = field(init=False)
    """A rate or a quota is set (read on every statement of the tenant: computed once)."""

    def __post_init__(self) -> None:
        limited = not (self.rate is None and self.quota is None and self.per_datasource is None)
        object.__setattr__(self, "limits_anything", limited)


def tenant_guard(limits: TenantLimits, defaults: LimitsConfig) -> TenantGuard | None:
    """The limits that apply to a tenant with ``limits``: each key the tenant sets, else the
    cluster's ``[limits]`` default. None when nothing is limited and no timeout is set.

    A rate without a burst gets one second's worth (at least 1) as its burst.
    """

    def pick(name: str) -> object:
        own = getattr(limits, name)
        return own if own is not None else getattr(defaults, name)

    rate_per_s = pick("requests_per_second")
    burst = pick("burst")
    rate = None
    if isinstance(rate_per_s, int | float):
        if not isinstance(burst, int):
            burst = max(1, math.ceil(rate_per_s))
        rate = RateLimit(float(rate_per_s), burst)
    queued = pick("max_queued")
    wait = pick("queue_timeout")
    max_queued = queued if isinstance(queued, int) else 0
    queue_timeout_s = float(wait) if isinstance(wait, int | float) else None

    def quota(name: str) -> QuotaLimit | None:
        most = pick(name)
        if not isinstance(most, int):
            return None
        return QuotaLimit(
            max_concurrent=most, max_queued=max_queued, queue_timeout_s=queue_timeout_s
        )

    timeout = pick("statement_timeout")
    guard = TenantGuard(
        rate=rate,
        quota=quota("max_concurrent"),
        per_datasource=quota("max_concurrent_per_datasource"),
        statement_timeout_s=float(timeout) if isinstance(timeout, int | float) else None,
    )
    if not guard.limits_anything and guard.statement_timeout_s is None:
        return None
    return guard
