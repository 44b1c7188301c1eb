"""``AsyncBreakerPool``: the pool of one datasource endpoint behind its circuit breaker.

For the breaker (``core.breaker``) one call is one checkout, from ``acquire`` to ``release``:
a session holds its connection for its statements on that datasource, so for an
application that opens a session per request a checkout is a request's work there.

- An ``acquire`` that cannot reach the server (``ShardUnavailableError``: refused, timed
  out) is a failure, and so is a checkout whose connection comes back ``lost`` (the server
  connection reset or closed while in use) or one that ran a statement past its statement
  timeout. A connection the caller interrupted (a cancelled task) is discarded by the
  pool but counts as a success: the endpoint answered.
- Every other checkout is a success, slow when getting its connection took ``slow_call``
  or longer (a server that accepts connections slowly is in trouble before it refuses).
- An acquire that ends otherwise (the pool is full until its timeout, the caller is
  cancelled, the pool is closed) says nothing about the endpoint: its permit is handed
  back uncounted, so a cancelled half-open probe never keeps the breaker half-open.

While the breaker is open, ``acquire`` raises ``CircuitOpenError`` at once, naming the
endpoint and when it will be tried again, instead of waiting for a connect timeout. A
replica's rejection reaches the session like any unreachable replica: the read goes to
another replica or the primary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..config import BreakerConfig
from ..core.breaker import BreakerSettings, CircuitBreaker, Permit, Rejected, Transition
from ..errors import CircuitOpenError, ShardUnavailableError
from ._driver import AsyncConnection, AsyncPool, PoolStats

_LOG = logging.getLogger("tenantdb.breaker")


class AsyncBreakerPool:
    """``pool`` with ``breaker`` in front (see the module docstring); the other pool calls
    pass through. ``breaker`` is shared by every session of the process."""

    __slots__ = ("_clock", "_out", "_pool", "breaker")

    def __init__(
        self,
        pool: AsyncPool,
        breaker: CircuitBreaker,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pool = pool
        self.breaker = breaker
        self._clock = clock
        # Checked-out connection → (its permit, seconds its acquire took). A dict's single
        # assignments and pops are atomic, so threads share it without a lock.
        self._out: dict[AsyncConnection, tuple[Permit, float]] = {}

    @property
    def name(self) -> str:
        return self._pool.name

    @property
    def role(self) -> str:
        role: str = getattr(self._pool, "role", "primary")
        return role

    @property
    def in_use(self) -> int:
        return self._pool.in_use

    def stats(self) -> PoolStats:
        return self._pool.stats()

    @property
    def pool(self) -> AsyncPool:
        """The pool behind the breaker."""
        return self._pool

    async def acquire(self) -> AsyncConnection:
        """The pool's ``acquire``, refused with ``CircuitOpenError`` while the breaker is
        open (or half-open with every probe out)."""
        clock = self._clock
        started = clock()
        permit = self.breaker.acquire(started)
        if type(permit) is Rejected:
            raise self._refusal(permit, started)
        assert isinstance(permit, Permit)
        if permit.transition is not None:
            _log(self.breaker.name, permit.transition)
        try:
            connection = await self._pool.acquire()
        except ShardUnavailableError:
            now = clock()
            self._record(permit, "failure", now - started, now)
            raise
        except BaseException:
            self.breaker.cancel(permit)
            raise
        self._out[connection] = (permit, clock() - started)
        return connection

    async def release(self, connection: AsyncConnection) -> None:
        """The pool's ``release``; the checkout counts as failed if the connection broke."""
        checkout = self._out.pop(connection, None)
        # A lost connection, or a statement that ran past its timeout, counts against the
        # endpoint; one the caller interrupted (a cancelled task) does not.
        broken = connection.lost or connection.timed_out
        try:
            await self._pool.release(connection)
        finally:
            if checkout is not None:
                permit, took = checkout
                self._record(permit, "failure" if broken else "success", took, self._clock())

    async def resize(self, min_size: int, max_size: int, timeout: float) -> None:
        await self._pool.resize(min_size, max_size, timeout)

    async def close(self) -> None:
        await self._pool.close()

    def _record(self, permit: Permit, outcome: Any, took: float, now: float) -> None:
        transition = self.breaker.record(permit, outcome, took, now)
        if transition is not None:
            _log(self.breaker.name, transition)

    def _refusal(self, rejected: Rejected, now: float) -> CircuitOpenError:
        wait = max(0.0, rejected.retry_at - now)
        name, role = self._pool.name, self.role
        return CircuitOpenError(
            f"datasource {name!r} ({role}) is not sent statements for now: {rejected.reason};"
            f" it will be tried again in {wait:.1f} s",
            datasource=name,
            role=role,
            retry_after=wait,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._pool!r} {self.breaker!r}>"


def breaker_pool(pool: AsyncPool, config: BreakerConfig, *, endpoint: str) -> AsyncPool:
    """``pool`` behind a new breaker with ``config``'s settings, named ``endpoint`` (e.g.
    ``"ds0 primary"``, ``"ds0/replica1"``); ``pool`` itself when the breaker is disabled."""
    if not config.enabled:
        return pool
    settings = BreakerSettings(
        window=config.window,
        window_size=config.window_size,
        minimum_calls=config.minimum_calls,
        failure_rate_percent=config.failure_rate,
        slow_call_rate_percent=config.slow_call_rate,
        slow_call_s=config.slow_call,
        open_wait_s=config.open_wait,
        permitted_probes=config.permitted_probes,
    )
    return AsyncBreakerPool(pool, CircuitBreaker(settings, name=endpoint))


def breaker_snapshot(pool: AsyncPool, now: float) -> dict[str, Any] | None:
    """The state of ``pool``'s breaker for ``status()``, where the endpoint's name is the
    key it sits under; None for a pool without one."""
    if not isinstance(pool, AsyncBreakerPool):
        return None
    snapshot = pool.breaker.snapshot(now)
    del snapshot["name"]
    return snapshot


def _log(endpoint: str, transition: Transition) -> None:
    level = logging.WARNING if transition.to_state == "open" else logging.INFO
    _LOG.log(
        level,
        "circuit breaker of %s: %s -> %s: %s",
        endpoint,
        transition.from_state,
        transition.to_state,
        transition.reason,
    )
