"""tenant_guard: a tenant's own limits over the cluster's [limits] defaults, key by key."""

from __future__ import annotations

from tenantdb.config import LimitsConfig, TenantLimits
from tenantdb.core.limits import QuotaLimit, RateLimit, tenant_guard


def test_nothing_set_guards_nothing() -> None:
    assert tenant_guard(TenantLimits(), LimitsConfig()) is None


def test_a_tenant_key_overrides_the_cluster_default_and_the_others_fall_through() -> None:
    defaults = LimitsConfig(
        requests_per_second=10.0, burst=5, max_concurrent=4, max_queued=7, queue_timeout=0.5
    )
    guard = tenant_guard(TenantLimits(requests_per_second=100.0), defaults)
    assert guard is not None
    assert guard.rate == RateLimit(100.0, 5)  # own rate, the cluster's burst
    assert guard.quota == QuotaLimit(max_concurrent=4, max_queued=7, queue_timeout_s=0.5)
    assert guard.per_datasource is None
    assert guard.limits_anything


def test_a_rate_without_a_burst_gets_one_seconds_worth() -> None:
    guard = tenant_guard(TenantLimits(requests_per_second=2.5), LimitsConfig())
    assert guard is not None
    assert guard.rate == RateLimit(2.5, 3)
    slow = tenant_guard(TenantLimits(requests_per_second=0.01), LimitsConfig())
    assert slow is not None
    assert slow.rate == RateLimit(0.01, 1)


def test_a_timeout_alone_is_a_guard_that_limits_nothing() -> None:
    guard = tenant_guard(TenantLimits(statement_timeout=2.0), LimitsConfig())
    assert guard is not None
    assert guard.statement_timeout_s == 2.0
    assert not guard.limits_anything
    own = tenant_guard(TenantLimits(max_concurrent_per_datasource=2), LimitsConfig())
    assert own is not None
    assert own.per_datasource == QuotaLimit(max_concurrent=2, max_queued=100, queue_timeout_s=1.0)
    assert own.quota is None
    assert own.limits_anything
