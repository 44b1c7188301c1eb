"""Rate limits shared by every process of a fleet through Redis (``[limits] redis_url``), seen
from sessions on both fronts: two clusters stand for two processes. Redis is reached through
a TCP proxy (``tests/proxy.py``) the test cuts and heals.
"""

from __future__ import annotations

import logging
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from fronts import Front
from proxy import TcpProxy
from tenantdb import RateLimitedError

HANG_GUARD_S = 60.0


@pytest.fixture
def redis_proxy(redis_url: str) -> Iterator[tuple[TcpProxy, str]]:
    address = urllib.parse.urlsplit(redis_url)
    with TcpProxy(address.hostname or "127.0.0.1", address.port or 6379) as proxy:
        yield proxy, proxy.url_for(redis_url)


def config(path: str, redis_url: str, tenant: str, **limits: Any) -> dict[str, Any]:
    return {
        "dialect": "sqlite",
        "datasources": {"ds0": {"url": f"sqlite:///{path}"}},
        "tables": {"orders": {"strategy": "tenant"}},
        "limits": {"redis_url": redis_url, **limits},
        "tenants": {
            tenant: {"datasource": "ds0", "limits": {"requests_per_second": 0.001, "burst": 3}}
        },
    }


def read(cluster: Any, tenant: str) -> None:
    with cluster.session(tenant=tenant) as session:
        session.execute("SELECT COUNT(*) FROM orders").fetchall()


def create(cluster: Any) -> None:
    with cluster.session(admin=True) as admin:
        admin.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id TEXT)")


def test_two_processes_share_one_tenant_rate(front: Front, redis_url: str, tmp_path: Any) -> None:
    tenant = f"t{secrets.token_hex(6)}"  # a Redis key of its own for this run
    document = config(f"{tmp_path}/shared.db", redis_url, tenant)
    first, second = front.connect(document), front.connect(document)
    try:
        create(first)
        read(first, tenant)
        read(first, tenant)
        read(second, tenant)  # the burst of 3 is spent across both
        for cluster in (first, second):
            with pytest.raises(RateLimitedError) as refused:
                read(cluster, tenant)
            assert refused.value.tenant == tenant
            assert refused.value.retry_after > 900  # 0.001/s: about 1000 s away
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
def test_redis_down_follows_the_policy_warns_once_and_recovers(
    front: Front,
    redis_proxy: tuple[TcpProxy, str],
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    policy: str,
) -> None:
    proxy, url = redis_proxy
    tenant = f"t{secrets.token_hex(6)}"
    cluster = front.connect(config(f"{tmp_path}/down.db", url, tenant, on_redis_down=policy))
    try:
        create(cluster)
        for _ in range(3):
            read(cluster, tenant)
        with pytest.raises(RateLimitedError):
            read(cluster, tenant)  # Redis refuses: the burst is spent
        caplog.set_level(logging.INFO, logger="tenantdb.limits")
        proxy.cut()
        outcomes = []
        for _ in range(20):
            try:
                read(cluster, tenant)
                outcomes.append("admitted")
            except RateLimitedError:
                outcomes.append("refused")
        expected = "admitted" if policy == "fail_open" else "refused"
        assert outcomes == [expected] * 20
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        proxy.heal()
        # Recovery without a restart: once the limiter's backoff lets it try Redis again,
        # Redis's own state (the spent burst) refuses the tenant again.
        pause = threading.Event()
        for _ in range(int(HANG_GUARD_S / 0.05)):
            try:
                read(cluster, tenant)
            except RateLimitedError as refused:
                if refused.retry_after > 900:  # Redis's answer, not the outage policy's
                    break
            pause.wait(0.05)
        else:
            raise AssertionError("the shared limit never came back after Redis did")
    finally:
        cluster.close()
