"""``AsyncClusterRateLimiter``: one rate limit per tenant shared by every process, in Redis.

The limiter is GCRA (the generic cell rate algorithm) run inside Redis by one Lua script, so
every check is one round trip (EVALSHA) and every process of a fleet sees the same state.

The arithmetic
--------------
A limit of ``rate_per_s`` with ``burst`` is kept as one number per tenant: the *theoretical
arrival time* ``TAT``, the moment at which the tenant's admitted statements would have been
paid off had they arrived evenly at the rate. With the emission interval ``I = 1 / rate``,
a check of ``cost`` statements at time ``now`` computes::

    tat      = max(TAT, now)            # an idle tenant owes nothing
    new_tat  = tat + cost * I
    allow_at = new_tat - burst * I      # (tolerance (burst - 1) * I, plus this one's I)
    admitted  iff  allow_at <= now      # then TAT := new_tat; else TAT is left alone

*Bound.* Take any window ``[a, b]`` of length ``T`` and let ``k`` statements be admitted
in it. ``tat`` is at least ``a`` at the window's first admission and only ever grows by
``I`` per admitted statement, so after the last one ``TAT >= a + k * I``; that admission
passed ``new_tat - burst * I <= now <= b``. Hence ``k * I <= T + burst * I``, that is
``k <= rate * T + burst``. A refused check writes nothing, so it consumes nothing.

*retry_after.* A refusal answers ``allow_at - now``. With ``1 <= cost <= burst`` (checked)
a refusal implies ``TAT > now``, and at ``now + retry_after = TAT + (cost - burst) * I <=
TAT`` the same check computes the same ``allow_at`` and passes: the wait is exact, not an
estimate, provided nothing else was admitted meanwhile.

*Units.* Lua numbers are doubles, exact for integers below 2**53. Time is therefore counted
in integer *ticks* of a quarter microsecond since 2024-01-01 (``now`` from Redis's own
``TIME``, never a client clock), which stays below 2**53 until about 2086 with room for a
tolerance of 2**50 ticks (about 9 years). ``I`` is rounded *up* to whole ticks: the limit
can only get stricter, by at most a quarter microsecond per statement (0.025 % at 1,000
statements per second), so the bound above holds exactly. The state is written as an
integer string, so nothing is lost between checks.

*Memory.* Once ``TAT <= now`` the stored state means the same as no state, so every write
sets the key to expire then (``SET … PX``): an idle tenant costs nothing, an active one one
short string. Changing a tenant's limit needs no migration: ``TAT`` is a time, not a count.

Keys
----
``<prefix>{<tag>}``, ``prefix`` default ``tenantdb:rl:``. Redis Cluster hashes only the part
between the first ``{`` and the next ``}``, so the tag must be exactly the tenant: the id is
escaped (``%`` → ``%25``, ``{`` → ``%7B``, ``}`` → ``%7D``; an empty id is the tag ``%``,
which no escaped id can be). The mapping is injective (two tenants never share a key), the
tag never contains ``}`` (so an id like ``a}b`` cannot end the tag early and slide other
tenants onto its slot) and is never empty (an empty tag makes Redis hash the whole key,
which would scatter one tenant's keys once there is more than one). A prefix containing a
brace is refused: its ``{`` would open the tag.

When Redis fails
----------------
Any Redis error, refused connection or timeout (``socket_timeout_s``, for connecting and
for each reply) answers per ``on_unavailable``: ``"fail_open"`` admits, ``"fail_closed"``
refuses with ``retry_after_s`` the time until the next connection attempt. The first failure
logs one warning on logger ``tenantdb.limits``; while Redis is down the checks skip it
(no I/O) until a backoff delay has passed, then exactly one check probes it (the others keep
skipping); the probe that gets an answer logs one info line and limiting resumes, with the
state Redis still holds. The backoff's bookkeeping uses the injected monotonic ``clock``.
A probe is an ordinary check, so the statement that makes it may wait up to the timeout.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any, Final, Literal

from redis.asyncio import Redis  # sync: from redis import Redis
from redis.asyncio.retry import Retry  # sync: from redis.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, RedisError

from .._concurrency import AsyncMonitor
from ..config import redact_url
from ..core.limits import ADMITTED, RateDecision, RateLimit
from ..core.retry import Backoff
from ..drivers import scrub_password
from ..errors import InterfaceError

log = logging.getLogger("tenantdb.limits")

OnUnavailable = Literal["fail_open", "fail_closed"]

DEFAULT_PREFIX: Final = "tenantdb:rl:"
TICKS_PER_S: Final = 4_000_000  # a tick is a quarter microsecond (see the module docstring)
EPOCH_S: Final = 1_704_067_200  # 2024-01-01T00:00:00Z, where ticks start
MAX_TOLERANCE_TICKS: Final = 2**50  # burst * I must stay below this (about 9 years)
DEFAULT_RECONNECT = Backoff(initial_s=0.5, max_s=10.0)

# KEYS[1]: the tenant's key. ARGV: cost * I, burst * I (ticks), EPOCH_S, ticks per µs.
# Returns {1, 0} when admitted, {0, ticks to wait} when refused. TIME before any write is
# fine on Redis >= 5, which replicates a script's effects rather than the script.
GCRA_SCRIPT: Final = """
local clock = redis.call('TIME')
local now = (tonumber(clock[1]) - tonumber(ARGV[3])) * 1000000 * tonumber(ARGV[4])
    + tonumber(clock[2]) * tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored)
if not tat or tat < now then
    tat = now
end
local new_tat = tat + tonumber(ARGV[1])
local allow_at = new_tat - tonumber(ARGV[2])
if allow_at > now then
    return {0, allow_at - now}
end
local ticks_per_ms = 1000 * tonumber(ARGV[4])
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
    'PX', math.ceil((new_tat - now) / ticks_per_ms))
return {1, 0}
"""
GCRA_SHA: Final = hashlib.sha1(GCRA_SCRIPT.encode("utf-8")).hexdigest()
_TICKS_PER_US: Final = TICKS_PER_S // 1_000_000


class AsyncClusterRateLimiter:
    """Per-tenant rate limits shared through one Redis server (see the module docstring).

    ``url`` is a redis-py URL (``redis://[:password@]host:port/db``, ``rediss://``,
    ``unix://``). Nothing connects until the first check. Safe to share between the
    tasks of one event loop (on the thread front, between threads): the state kept here (up
    or down, the next attempt) changes only under ``_monitor`` (a lock on the thread front),
    never while Redis is being waited on. Raises ValueError for an unknown
    ``on_unavailable``, a prefix with a brace in it or a ``socket_timeout_s`` that is not
    positive. Call ``aclose`` when done.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_unavailable: OnUnavailable = "fail_open",
        socket_timeout_s: float = 0.25,
        reconnect_backoff: Backoff = DEFAULT_RECONNECT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if on_unavailable not in ("fail_open", "fail_closed"):
            raise ValueError(
                f"on_unavailable must be 'fail_open' or 'fail_closed', got {on_unavailable!r}"
            )
        if "{" in prefix or "}" in prefix:
            raise ValueError(
                f"a rate-limit key prefix must not contain '{{' or '}}' (it would become the "
                f"Redis Cluster hash tag), got {prefix!r}"
            )
        if not (0.0 < socket_timeout_s < math.inf):
            raise ValueError(f"socket_timeout_s must be positive seconds, got {socket_timeout_s}")
        self.url = redact_url(url)
        self.prefix = prefix
        self.on_unavailable: OnUnavailable = on_unavailable
        self._secret_url = url
        self._prefix_bytes = prefix.encode("utf-8")
        self._clock = clock
        self._monitor = AsyncMonitor()
        self._state = _Availability(reconnect_backoff)
        self._closed = False
        # No retries inside redis-py: a retried EVALSHA whose reply was lost would charge
        # the tenant twice, and the backoff above decides when to try again.
        self._client = Redis.from_url(
            url,
            socket_timeout=socket_timeout_s,
            socket_connect_timeout=socket_timeout_s,
            retry=Retry(NoBackoff(), 0),
        )

    @property
    def available(self) -> bool:
        """False from a failed call until a probe gets an answer from Redis again."""
        return self._state.up

    def key_of(self, tenant: str) -> bytes:
        """The Redis key holding ``tenant``'s state: ``prefix + b"{" + tag + b"}"``."""
        return self._prefix_bytes + b"{" + hash_tag(tenant) + b"}"

    async def check(self, key: str, limit: RateLimit, *, cost: int = 1) -> RateDecision:
        """Charge ``cost`` statements of tenant ``key`` against ``limit``; one round trip.

        Returns ``ADMITTED``, or ``RateDecision(False, retry_after_s)`` with the exact wait
        (seconds, counted from Redis's clock at the check) after which the same check would
        pass if nothing else were admitted meanwhile; a refusal consumes nothing. When
        Redis cannot answer, the ``on_unavailable`` policy answers instead (see the module
        docstring); no Redis error propagates. Raises ValueError unless ``1 <= cost <=
        limit.burst`` (a larger cost could never pass) and the limit's tolerance fits
        (``burst / rate_per_s`` under about 9 years); InterfaceError after ``aclose``.
        """
        increment, tolerance = _ticks(limit, cost)
        if self._closed:
            raise InterfaceError(f"{self!r} is closed")
        with self._monitor:
            route = self._state.route(self._clock())
        if route == "skip":
            return self._policy()
        try:
            reply = await self._evaluate(self.key_of(key), increment, tolerance)
        except (RedisError, OSError) as exc:
            with self._monitor:
                went_down = self._state.failed(route, self._clock())
            self._report_failure(exc, went_down)
            return self._policy()
        except BaseException:
            with self._monitor:  # a cancelled probe must not leave the probe slot taken
                self._state.abandoned(route)
            raise
        with self._monitor:
            came_back = self._state.succeeded(route)
        if came_back:
            log.info(
                "cluster-wide rate limiter: Redis at %s answers again; limiting resumes", self.url
            )
        allowed, wait_ticks = int(reply[0]), int(reply[1])
        if allowed:
            return ADMITTED
        return RateDecision(False, retry_after_s=wait_ticks / TICKS_PER_S)

    async def aclose(self) -> None:
        """Close the connections; later checks raise InterfaceError. Idempotent."""
        self._closed = True
        await self._client.aclose()

    def __repr__(self) -> str:
        if self._closed:
            state = "closed"
        elif self._state.up:
            state = "up"
        else:
            remaining = max(0.0, self._state.retry_at - self._clock())
            state = f"down, {self._state.failures} failed, next attempt in {remaining:.1f} s"
        name = type(self).__name__
        return f"<{name} {self.url} prefix={self.prefix!r} {self.on_unavailable} [{state}]>"

    # -- helpers ------------------------------------------------------------------------

    async def _evaluate(self, key: bytes, increment: int, tolerance: int) -> Any:
        args = (increment, tolerance, EPOCH_S, _TICKS_PER_US)
        # execute_command, not evalsha(): the same call on both fronts, where evalsha's
        # declared type (a str or an awaitable of one) fits neither; redis-py leaves
        # execute_command untyped.
        command = self._client.execute_command
        try:
            return await command("EVALSHA", GCRA_SHA, 1, key, *args)  # type: ignore[no-untyped-call]
        except NoScriptError:
            # Redis lost its script cache (restart, failover, SCRIPT FLUSH); the script did
            # not run, so sending it whole is safe, and EVAL caches it for the next EVALSHA.
            return await command("EVAL", GCRA_SCRIPT, 1, key, *args)  # type: ignore[no-untyped-call]

    def _policy(self) -> RateDecision:
        if self.on_unavailable == "fail_open":
            return ADMITTED
        with self._monitor:
            remaining = self._state.retry_at - self._clock()
        wait_s = remaining if remaining > 0 else self._state.backoff.initial_s
        return RateDecision(False, retry_after_s=wait_s)

    def _report_failure(self, exc: BaseException, went_down: bool) -> None:
        reason = scrub_password(f"{type(exc).__name__}: {exc}", self._secret_url)
        if not went_down:
            log.debug("cluster-wide rate limiter: Redis at %s still down (%s)", self.url, reason)
            return
        effect = (
            "statements are admitted without the cluster-wide limit"
            if self.on_unavailable == "fail_open"
            else "statements are refused"
        )
        log.warning(
            "cluster-wide rate limiter: Redis at %s is unavailable (%s); %s (%s) until it "
            "answers again, retrying with backoff",
            self.url,
            reason,
            effect,
            self.on_unavailable,
        )


_Route = Literal["call", "probe", "skip"]


class _Availability:
    """Whether Redis is taken to be up and, while it is down, when to try it again.

    No I/O and no clock of its own: the limiter passes ``now`` and holds its monitor around
    every call. While up, every check calls Redis (``"call"``). The first failure marks it
    down; then checks are ``"skip"`` until ``retry_at``, when exactly one becomes the
    ``"probe"``. Only a probe's answer ends an outage and only a probe's failure lengthens
    the backoff, so calls that were in flight when Redis went down change nothing.
    """

    __slots__ = ("_probing", "backoff", "failures", "retry_at", "up")

    def __init__(self, backoff: Backoff) -> None:
        self.backoff = backoff
        self.up = True
        self.failures = 0  # failed attempts since the outage began
        self.retry_at = 0.0
        self._probing = False

    def route(self, now: float) -> _Route:
        if self.up:
            return "call"
        if self._probing or now < self.retry_at:
            return "skip"
        self._probing = True
        return "probe"

    def succeeded(self, route: _Route) -> bool:
        """Record an answer; True when it ends an outage."""
        if route != "probe":
            return False
        self._probing = False
        self.up = True
        self.failures = 0
        return True

    def failed(self, route: _Route, now: float) -> bool:
        """Record a failure at ``now``; True when it begins an outage."""
        if route == "call" and not self.up:
            return False  # in flight when another call already saw the outage
        began = self.up
        self._probing = False
        self.up = False
        self.retry_at = now + self.backoff.delay(self.failures)
        self.failures += 1
        return began

    def abandoned(self, route: _Route) -> None:
        """A call ended without an answer or a failure (cancelled): free the probe slot."""
        if route == "probe":
            self._probing = False


def hash_tag(tenant: str) -> bytes:
    """``tenant`` escaped for the inside of a Redis Cluster hash tag (module docstring):
    never empty, never containing ``{`` or ``}``, different for different tenants."""
    if not tenant:
        return b"%"
    escaped = tenant.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    # surrogatepass: a str with a lone surrogate still gets a key of its own
    return escaped.encode("utf-8", "surrogatepass")


def _ticks(limit: RateLimit, cost: int) -> tuple[int, int]:
    """``(cost * I, burst * I)`` in ticks; raises ValueError for a cost or limit the
    script cannot honour (``check``'s docstring)."""
    if isinstance(cost, bool) or not isinstance(cost, int) or not 1 <= cost <= limit.burst:
        raise ValueError(
            f"cost must be an integer from 1 to the limit's burst ({limit.burst}), got {cost!r}"
        )
    interval = _interval_ticks(limit.rate_per_s)
    tolerance = limit.burst * interval
    if tolerance > MAX_TOLERANCE_TICKS:
        raise ValueError(
            f"{limit} is too slow for the cluster-wide limiter: burst / rate_per_s must be "
            f"under {MAX_TOLERANCE_TICKS // TICKS_PER_S} seconds"
        )
    return cost * interval, tolerance


@functools.lru_cache(maxsize=1024)
def _interval_ticks(rate_per_s: float) -> int:
    # Exact rational arithmetic: a float quotient could round 1/rate down, loosening the limit.
    return max(1, math.ceil(Fraction(TICKS_PER_S) / Fraction(rate_per_s)))
