"""Fixtures for the cluster-wide rate limiter's tests, on the real Redis server.

``redis_url``      ``TENANTDB_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``), checked
                   once per session: skipped when it does not answer, failed under
                   ``TENANTDB_REQUIRE_SERVICES=1``.
``redis_client``   a plain redis-py client on it, to look at what the limiter stored.
``key_prefix``     ``<run_id>:rl:<8 hex>:``, fresh per test; its keys are deleted afterwards.
``limiter_front``  parametrized ``"sync"`` / ``"async"``: ``limiter_front.open(url, **kw)``
                   returns a ``BlockingLimiter`` over ``ClusterRateLimiter`` or over
                   ``AsyncClusterRateLimiter`` (run on an event loop of its own), so one
                   sync-written test checks both fronts. Every limiter opened is closed.
``clock``          a ``FakeClock`` for the limiter's backoff bookkeeping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tenantdb._async._cluster_limiter import AsyncClusterRateLimiter
from tenantdb._sync._cluster_limiter import ClusterRateLimiter
from tenantdb.core.limits import RateDecision, RateLimit

from ..conftest import _unavailable

REDIS_URL_ENV = "TENANTDB_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class BlockingLimiter:
    """One limiter of either front, called in the sync style; attributes pass through."""

    def __init__(self, limiter: Any, runner: asyncio.Runner | None) -> None:
        self.wrapped = limiter
        self._runner = runner
        self._closed = False

    def check(self, key: str, limit: RateLimit, *, cost: int = 1) -> RateDecision:
        if self._runner is None:
            decision: RateDecision = self.wrapped.check(key, limit, cost=cost)
            return decision
        return self._runner.run(self.wrapped.check(key, limit, cost=cost))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._runner is None:
            self.wrapped.close()
        else:
            self._runner.run(self.wrapped.aclose())

    def dispose(self) -> None:
        """Close the limiter and, on the asyncio front, its event loop."""
        self.close()
        if self._runner is not None:
            self._runner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)

    def __repr__(self) -> str:
        return repr(self.wrapped)


class LimiterFront:
    def __init__(self, name: str) -> None:
        self.name = name
        self.opened: list[BlockingLimiter] = []

    def open(self, url: str, **kwargs: Any) -> BlockingLimiter:
        if self.name == "sync":
            limiter = BlockingLimiter(ClusterRateLimiter(url, **kwargs), None)
        else:
            limiter = BlockingLimiter(AsyncClusterRateLimiter(url, **kwargs), asyncio.Runner())
        self.opened.append(limiter)
        return limiter


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except Exception as exc:  # any failure to connect means "not reachable"
        _unavailable(f"Redis not reachable at {url}: {exc}")
    finally:
        client.close()
    return url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_timeout=30)
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis, run_id: str) -> Iterator[str]:
    prefix = f"{run_id}:rl:{secrets.token_hex(4)}:"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*", count=1000):
        redis_client.delete(key)


@pytest.fixture(params=["sync", "async"])
def limiter_front(request: pytest.FixtureRequest) -> Iterator[LimiterFront]:
    front = LimiterFront(request.param)
    yield front
    for limiter in front.opened:
        limiter.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
