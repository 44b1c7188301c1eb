"""The cluster-wide rate limiter on the real Redis, on both fronts (``limiter_front``).

Times that matter to the limiter are read from Redis (``TIME``), the clock the limiter
uses; the tests sleep a few hundred milliseconds at most and never assert how long anything
took. Outages go through ``tests/proxy.py`` (or a port nobody listens on); the limiter's
backoff runs on a fake clock, so "the retry time has come" is a step of the test.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from proxy import TcpProxy
from tenantdb._async._cluster_limiter import (
    EPOCH_S,
    GCRA_SHA,
    TICKS_PER_S,
    AsyncClusterRateLimiter,
)
from tenantdb.core.limits import ADMITTED, RateDecision, RateLimit
from tenantdb.core.retry import Backoff
from tenantdb.errors import InterfaceError

from .conftest import BlockingLimiter, FakeClock, LimiterFront

LOGGER = "tenantdb.limits"
BACKOFF = Backoff(initial_s=1.0, max_s=8.0)
SLOW = RateLimit(0.01, burst=3)  # one statement per 100 s: nothing refills during a test
HANG_GUARD_S = 30.0


def _ticks_now(client: redis.Redis) -> int:
    """Redis's clock in the limiter's documented unit (quarter microseconds since 2024)."""
    seconds, micros = client.time()
    return (seconds - EPOCH_S) * TICKS_PER_S + micros * (TICKS_PER_S // 1_000_000)


def _interval_ticks(limit: RateLimit) -> int:
    """The emission interval, rounded up to whole ticks as the module docstring says."""
    return math.ceil(TICKS_PER_S / limit.rate_per_s)


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        return int(placeholder.getsockname()[1])


def _crc16(data: bytes) -> int:
    """CRC16-CCITT (XModem), the checksum Redis Cluster takes the slot from."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _slot(key: bytes) -> int:
    """The Redis Cluster slot of ``key``: only a non-empty ``{tag}`` is hashed."""
    start = key.find(b"{")
    if start != -1:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            key = key[start + 1 : end]
    return _crc16(key) % 16384


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def _infos(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]


@pytest.fixture
def proxy(redis_url: str) -> Iterator[TcpProxy]:
    parts = redis.connection.parse_url(redis_url)
    with TcpProxy(parts.get("host", "127.0.0.1"), parts.get("port", 6379)) as tcp:
        yield tcp


@pytest.fixture(autouse=True)
def _log_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)


# -- limiting ---------------------------------------------------------------------------


def test_a_burst_is_admitted_then_refused_with_the_exact_wait(
    limiter_front: LimiterFront, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(4.0, burst=5)
    assert [limiter.check("acme", limit) for _ in range(5)] == [ADMITTED] * 5

    key = limiter.key_of("acme")
    stored = redis_client.get(key)
    assert stored is not None
    before = _ticks_now(redis_client)
    refused = limiter.check("acme", limit)
    after = _ticks_now(redis_client)
    assert not refused.allowed
    assert redis_client.get(key) == stored  # a refusal consumes nothing
    # GCRA: the check passes once now >= TAT + cost * I - burst * I; Redis's "now" lies
    # between the two TIME readings around the check.
    due = int(stored) + _interval_ticks(limit) - limit.burst * _interval_ticks(limit)
    assert (due - after) / TICKS_PER_S <= refused.retry_after_s <= (due - before) / TICKS_PER_S
    assert 0.0 < refused.retry_after_s <= limit.interval_s

    time.sleep(refused.retry_after_s)  # at most a quarter of a second
    assert limiter.check("acme", limit) == ADMITTED


def test_admitted_in_a_window_stay_within_rate_times_t_plus_burst(
    limiter_front: LimiterFront, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(20.0, burst=3)
    outer_start = _ticks_now(redis_client)
    admitted = int(limiter.check("acme", limit).allowed)
    inner_start = _ticks_now(redis_client)
    while _ticks_now(redis_client) - inner_start < 0.4 * TICKS_PER_S:
        admitted += limiter.check("acme", limit).allowed
        time.sleep(0.002)
    inner_end = _ticks_now(redis_client)
    admitted += limiter.check("acme", limit).allowed
    outer_end = _ticks_now(redis_client)

    # Every check ran inside [outer_start, outer_end], so the bound holds for that window.
    outer_s = (outer_end - outer_start) / TICKS_PER_S
    assert admitted <= limit.rate_per_s * outer_s + limit.burst
    # And a client asking all the time gets its share: the burst plus one per interval of
    # [inner_start, inner_end] (less one for the polling gap at the end).
    inner_s = (inner_end - inner_start) / TICKS_PER_S
    assert admitted >= math.floor(limit.rate_per_s * inner_s) + limit.burst - 1


def test_a_key_expires_once_its_state_has_drained(
    limiter_front: LimiterFront, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(10.0, burst=4)
    key = limiter.key_of("acme")
    assert limiter.check("acme", limit) == ADMITTED
    assert 0 < redis_client.pttl(key) <= 100 + 1  # one interval of 100 ms, rounded up
    for _ in range(3):
        assert limiter.check("acme", limit) == ADMITTED
    remaining_ms = redis_client.pttl(key)
    assert 0 < remaining_ms <= 400 + 1
    time.sleep(remaining_ms / 1000 + 0.05)
    assert redis_client.exists(key) == 0


def test_two_limiters_share_one_limit(
    limiter_front: LimiterFront, redis_url: str, key_prefix: str
) -> None:
    first = limiter_front.open(redis_url, prefix=key_prefix)
    second = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(0.01, burst=4)
    decisions = [(first if i % 2 else second).check("acme", limit) for i in range(8)]
    assert [d.allowed for d in decisions] == [True] * 4 + [False] * 4
    assert all(d.retry_after_s > 50 for d in decisions[4:])  # one interval is 100 s


def test_cost_charges_several_statements_at_once(
    limiter_front: LimiterFront, redis_url: str, key_prefix: str
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(0.01, burst=5)
    assert limiter.check("acme", limit, cost=3) == ADMITTED
    assert not limiter.check("acme", limit, cost=3).allowed
    assert limiter.check("acme", limit, cost=2) == ADMITTED
    assert not limiter.check("acme", limit).allowed


WEIRD_TENANTS = [
    "acme",
    "a{b}c",
    "{",
    "}",
    "{}",
    "}{",
    "%7B",
    "%",
    "",
    "x}y{z",
    "ünïcødé 租户 🚀",
    "\ud800",  # a lone surrogate, as JSON can spell it
    "t" * 500,
]


def test_weird_tenant_ids_get_a_key_and_a_limit_of_their_own(
    limiter_front: LimiterFront, redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix)
    limit = RateLimit(0.01, burst=2)
    rounds = [[limiter.check(t, limit).allowed for t in WEIRD_TENANTS] for _ in range(3)]
    assert rounds == [[True] * len(WEIRD_TENANTS)] * 2 + [[False] * len(WEIRD_TENANTS)]

    keys = [limiter.key_of(t) for t in WEIRD_TENANTS]
    assert len(set(keys)) == len(keys)
    assert all(redis_client.exists(k) for k in keys)
    other = limiter_front.open(redis_url, prefix="elsewhere:")
    for tenant, key in zip(WEIRD_TENANTS, keys, strict=True):
        assert key.startswith(key_prefix.encode())
        # exactly one tag, at the end and non-empty: Redis Cluster hashes it alone...
        tag = key[len(key_prefix) :]
        assert tag.startswith(b"{"), tenant
        assert tag.endswith(b"}"), tenant
        assert tag.count(b"{") == tag.count(b"}") == 1, tenant
        assert len(tag) > 2, tenant
        assert _slot(key) == _crc16(tag[1:-1]) % 16384
        # ...so every key of this tenant lands in one slot, whatever surrounds the tag.
        assert _slot(key + b":another") == _slot(key) == _slot(other.key_of(tenant))


def test_the_slot_function_is_redis_clusters() -> None:
    assert _crc16(b"123456789") == 0x31C3  # the check value in the Redis Cluster spec
    assert _slot(b"foo") == 12182  # CLUSTER KEYSLOT foo
    assert _slot(b"{user1000}.following") == _slot(b"{user1000}.followers") == _slot(b"user1000")
    assert _slot(b"foo{}{bar}") == _crc16(b"foo{}{bar}") % 16384


def test_a_flushed_script_cache_is_reloaded_transparently(
    limiter_front: LimiterFront,
    redis_url: str,
    redis_client: redis.Redis,
    key_prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = limiter_front.open(redis_url, prefix=key_prefix, on_unavailable="fail_closed")
    assert limiter.check("acme", SLOW) == ADMITTED
    redis_client.script_flush()
    # (Not asserted that the script is gone now: another worker's limiter may load it again
    # at any moment; usually it has not, and this check must load it itself.)
    assert limiter.check("acme", SLOW) == ADMITTED  # not a fail_closed refusal
    assert redis_client.script_exists(GCRA_SHA) == [True]
    assert limiter.check("acme", SLOW) == ADMITTED
    refused = limiter.check("acme", SLOW)
    assert not refused.allowed
    assert refused.retry_after_s > 50  # Redis's answer, not the policy's
    assert limiter.available
    assert _warnings(caplog) == []


# -- when Redis is unavailable ------------------------------------------------------------


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
def test_an_unreachable_redis_answers_per_policy_and_warns_once(
    limiter_front: LimiterFront,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    policy: str,
) -> None:
    url = f"redis://:s3cret@127.0.0.1:{_closed_port()}/0"
    limiter = limiter_front.open(url, on_unavailable=policy, reconnect_backoff=BACKOFF, clock=clock)
    decisions = []
    for step in range(60):
        decisions.append(limiter.check("acme", SLOW))
        if step % 10 == 9:
            clock.advance(BACKOFF.max_s)  # each advance lets one probe through (it fails)
    if policy == "fail_open":
        assert decisions == [ADMITTED] * 60
    else:
        assert not any(d.allowed for d in decisions)
        assert all(0 < d.retry_after_s <= BACKOFF.max_s for d in decisions)
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "127.0.0.1" in message
    assert policy in message
    assert "s3cret" not in message
    assert not limiter.available
    assert "down" in repr(limiter)
    assert "s3cret" not in repr(limiter)


def test_while_down_redis_is_tried_only_when_the_backoff_allows(
    limiter_front: LimiterFront, redis_url: str, proxy: TcpProxy, clock: FakeClock
) -> None:
    limiter = limiter_front.open(proxy.url_for(redis_url), reconnect_backoff=BACKOFF, clock=clock)
    proxy.cut()
    for _ in range(20):
        limiter.check("acme", SLOW)
    assert proxy.accepted == 1  # the call that found Redis gone; then none
    clock.advance(BACKOFF.initial_s)
    for _ in range(20):
        limiter.check("acme", SLOW)
    assert proxy.accepted == 2  # one probe
    clock.advance(BACKOFF.initial_s)  # the backoff has doubled: not yet
    limiter.check("acme", SLOW)
    assert proxy.accepted == 2
    clock.advance(BACKOFF.initial_s)
    limiter.check("acme", SLOW)
    assert proxy.accepted == 3


@pytest.mark.parametrize("policy", ["fail_open", "fail_closed"])
def test_limiting_resumes_when_redis_comes_back_without_a_new_limiter(
    limiter_front: LimiterFront,
    redis_url: str,
    key_prefix: str,
    proxy: TcpProxy,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    policy: str,
) -> None:
    limiter = limiter_front.open(
        proxy.url_for(redis_url),
        prefix=key_prefix,
        on_unavailable=policy,
        reconnect_backoff=BACKOFF,
        clock=clock,
    )
    assert [limiter.check("acme", SLOW).allowed for _ in range(4)] == [True] * 3 + [False]
    assert "[up]" in repr(limiter)

    proxy.cut()
    during = [limiter.check("acme", SLOW) for _ in range(10)]
    if policy == "fail_open":
        assert during == [ADMITTED] * 10  # although the burst is spent
    else:
        assert all(not d.allowed and d.retry_after_s <= BACKOFF.initial_s for d in during)
    assert len(_warnings(caplog)) == 1

    proxy.heal()
    clock.advance(BACKOFF.initial_s)
    back = limiter.check("acme", SLOW)
    assert not back.allowed  # Redis's own refusal: the burst spent before the cut counts
    assert back.retry_after_s > 50
    assert limiter.available
    assert "[up]" in repr(limiter)
    assert len(_infos(caplog)) == 1
    assert "answers again" in _infos(caplog)[0].getMessage()
    assert len(_warnings(caplog)) == 1


def test_a_hung_redis_times_out_into_the_policy(
    limiter_front: LimiterFront,
    redis_url: str,
    key_prefix: str,
    proxy: TcpProxy,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = limiter_front.open(
        proxy.url_for(redis_url),
        prefix=key_prefix,
        on_unavailable="fail_closed",
        socket_timeout_s=0.2,
        reconnect_backoff=BACKOFF,
        clock=clock,
    )
    assert limiter.check("acme", SLOW) == ADMITTED
    proxy.blackhole()
    answers: list[RateDecision] = []
    waiting = threading.Thread(target=lambda: answers.append(limiter.check("acme", SLOW)))
    waiting.start()
    waiting.join(HANG_GUARD_S)
    if waiting.is_alive():  # no timeout at all: free the thread, then fail
        proxy.cut()
        waiting.join(HANG_GUARD_S)
        pytest.fail(f"a check on a hung Redis did not return within {HANG_GUARD_S} s")
    (hung,) = answers
    assert not hung.allowed
    assert hung.retry_after_s <= BACKOFF.initial_s
    assert "Timeout" in _warnings(caplog)[0].getMessage()
    proxy.heal()
    clock.advance(BACKOFF.initial_s)
    assert limiter.check("acme", SLOW) == ADMITTED  # the second of the burst of three
    assert limiter.available


def test_a_cancelled_probe_does_not_block_later_probes(
    redis_url: str, key_prefix: str, proxy: TcpProxy, clock: FakeClock
) -> None:
    async def scenario() -> None:
        limiter = AsyncClusterRateLimiter(
            proxy.url_for(redis_url),
            prefix=key_prefix,
            on_unavailable="fail_closed",
            socket_timeout_s=HANG_GUARD_S,
            reconnect_backoff=BACKOFF,
            clock=clock,
        )
        try:
            proxy.cut()
            assert not (await limiter.check("acme", SLOW)).allowed
            proxy.heal()
            proxy.blackhole()
            clock.advance(BACKOFF.initial_s)
            probe = asyncio.ensure_future(limiter.check("acme", SLOW))
            while proxy.connections == 0:  # the probe is waiting on the hung Redis
                await asyncio.sleep(0.01)
            probe.cancel()
            with pytest.raises(asyncio.CancelledError):
                await probe
            proxy.heal()
            assert await limiter.check("acme", SLOW) == ADMITTED  # probes again
        finally:
            await limiter.aclose()

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S))


# -- arguments and lifecycle ---------------------------------------------------------------


def test_impossible_arguments_are_refused(limiter_front: LimiterFront) -> None:
    redis_url = "redis://127.0.0.1:6379/0"  # nothing here connects
    limiter = limiter_front.open(redis_url)
    limit = RateLimit(5.0, burst=3)
    for cost in (0, -1, 4, True, 1.0):
        with pytest.raises(ValueError, match="cost"):
            limiter.check("acme", limit, cost=cost)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="too slow"):
        limiter.check("acme", RateLimit(1e-9, burst=1))
    for prefix in ("a{", "b}"):
        with pytest.raises(ValueError, match="prefix"):
            limiter_front.open(redis_url, prefix=prefix)
    with pytest.raises(ValueError, match="on_unavailable"):
        limiter_front.open(redis_url, on_unavailable="fail_sometimes")
    with pytest.raises(ValueError, match="socket_timeout_s"):
        limiter_front.open(redis_url, socket_timeout_s=0)


def test_a_closed_limiter_refuses_to_check(limiter_front: LimiterFront) -> None:
    limiter: BlockingLimiter = limiter_front.open("redis://:s3cret@127.0.0.1:6379/0")
    assert repr(limiter).endswith("[up]>")
    assert ":***@" in repr(limiter)
    limiter.close()
    assert "[closed]" in repr(limiter)
    with pytest.raises(InterfaceError, match="closed"):
        limiter.check("acme", SLOW)


def test_concurrent_checks_that_fail_together_count_as_one_failure(
    redis_url: str, proxy: TcpProxy, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Tasks in flight when Redis goes down fail one after another; only the first one
    starts the outage: one warning, one failure counted, the first backoff delay."""

    async def scenario() -> None:
        limiter = AsyncClusterRateLimiter(
            proxy.url_for(redis_url), reconnect_backoff=BACKOFF, clock=clock
        )
        try:
            proxy.cut()
            decisions = await asyncio.gather(*(limiter.check("acme", SLOW) for _ in range(20)))
            assert decisions == [ADMITTED] * 20
            assert proxy.accepted == 20  # all were on their way before any failed
            assert "1 failed, next attempt in 1.0 s" in repr(limiter)
        finally:
            await limiter.aclose()
            await limiter.aclose()  # twice is fine

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S))
    assert len(_warnings(caplog)) == 1
