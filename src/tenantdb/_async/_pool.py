"""A small connection pool for SQLite and MySQL/MariaDB datasources (and the PostgreSQL
tenant store), written once: ``tenantdb._async._pool`` shares one event loop's tasks, the
generated ``tenantdb._sync._pool`` is thread-safe.

PostgreSQL datasources have their own pool built on psycopg_pool
(``_postgres.PostgresPool``); both keep the ``AsyncPool`` contract of ``_driver.py``.

State changes happen inside the monitor's guard (a lock for threads); connecting and
closing (I/O) happen outside it: a caller reserves a slot inside the guard, connects
without it, and hands the connection back inside it again. Connections are opened by the
callers that need them, so a datasource that refuses connections fails the caller's
``acquire`` at once with its own error, rather than after the pool timeout.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from .._concurrency import AsyncMonitor
from ..drivers import pool_closed, pool_timeout, still_connecting
from ..errors import Error, InterfaceError
from ._driver import PoolStats


class AsyncPooledConnection(Protocol):
    """What a pool needs from a connection: the driver connections of ``_driver.py``, and
    any other connection a component pools (the PostgreSQL tenant store's)."""

    @property
    def broken(self) -> bool:
        """True once the connection can no longer be used (the pool closes it)."""
        ...

    async def reset(self) -> None:
        """Close open streams and roll back an open transaction (and reset the server
        session when it was marked dirty); raise a tenantdb error, or end ``broken``, if the
        connection cannot be made clean (the pool then discards it)."""
        ...

    async def close(self) -> None:
        """Close the connection. Never raises."""
        ...


C = TypeVar("C", bound=AsyncPooledConnection)


class AsyncConnectionPool(Generic[C]):
    """Up to ``max_size`` connections made by ``connect``, shared by concurrent callers.

    Nothing is opened at construction. The first ``acquire`` opens ``min_size`` connections
    (at least one) and keeps the extra ones idle; later acquires reuse an idle connection
    (the most recently used first) or open a new one while fewer than ``max_size`` exist,
    and otherwise wait up to ``timeout`` seconds for one to be released. Idle connections
    unused for ``max_idle`` seconds are closed instead of being handed out (servers and
    firewalls drop idle connections; this keeps most stale ones from reaching a statement).
    """

    def __init__(
        self,
        name: str,
        connect: Callable[[], Awaitable[C]],
        *,
        role: str = "primary",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
        max_idle: float | None = 600.0,
        endpoint: str | None = None,
    ) -> None:
        if max_size < 1 or min_size < 0 or min_size > max_size:
            raise ValueError(
                f"need 0 <= min_size <= max_size and max_size >= 1, got {min_size}, {max_size}"
            )
        self._name = name
        self._role = role
        self._connect = connect
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._max_idle = max_idle
        self._endpoint = endpoint  # host:port for errors; None for a local file
        # Only read or changed inside the monitor's guard.
        self._cond = AsyncMonitor()
        self._idle: deque[tuple[C, float]] = deque()  # (connection, released at), oldest first
        self._in_use: set[C] = set()
        self._opening = 0  # slots reserved by callers that are connecting right now
        self._waiting = 0  # callers waiting for a connection to be released
        self._warmed = False
        self._closed = False

    @property
    def name(self) -> str:
        """The datasource name, used in every error."""
        return self._name

    @property
    def role(self) -> str:
        """``"primary"`` or ``"replica"``."""
        return self._role

    async def acquire(self) -> C:
        """Return a connection for the caller's exclusive use until ``release``.

        Raises ``PoolTimeoutError`` when all ``max_size`` connections stay in use for
        ``timeout`` seconds, the connect function's error (``ShardUnavailableError``) when
        a new connection cannot be opened, ``ShardUnavailableError`` too when the wait
        ends while other callers are still connecting (the server is not answering, the
        pool is not full), ``InterfaceError`` after ``close()``.
        """
        deadline: float | None = None
        while True:
            stale: C | None = None
            with self._cond:
                if self._closed:
                    raise pool_closed(datasource=self._name, role=self._role)
                if self._idle:
                    connection, since = self._idle.pop()
                    if self._max_idle is not None and time.monotonic() - since > self._max_idle:
                        stale = connection  # closed below, outside the lock; then retry
                    else:
                        self._in_use.add(connection)
                        return connection
                elif self._size() < self._max_size:
                    count = 1
                    if not self._warmed:
                        self._warmed = True
                        count = max(1, min(self._min_size, self._max_size - self._size()))
                    self._opening += count
                    break
                else:
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + self._timeout
                    if now >= deadline:
                        raise self._timeout_error()
                    self._waiting += 1
                    try:
                        await self._cond.wait(deadline - now)
                    finally:
                        self._waiting -= 1
            if stale is not None:
                await stale.close()
                with self._cond:
                    self._cond.notify()
        return await self._open(count)

    def _timeout_error(self) -> Error:
        # Called inside the guard. Slots held by callers still connecting are not "in use":
        # the server is slow to accept connections, and a bigger pool would not help.
        if len(self._in_use) < self._max_size and self._opening:
            return still_connecting(
                datasource=self._name,
                role=self._role,
                address=self._endpoint or "its address",
                seconds=self._timeout,
                waiting=self._opening,
                in_use=len(self._in_use),
            )
        return pool_timeout(
            datasource=self._name,
            role=self._role,
            timeout=self._timeout,
            max_size=self._max_size,
        )

    async def _open(self, count: int) -> C:
        # Runs outside the guard, holding ``count`` reserved slots.
        opened: list[C] = []
        try:
            for _ in range(count):
                # One at a time, so those opened before a failure can be closed below.
                opened.append(await self._connect())  # noqa: PERF401
        except BaseException:
            with self._cond:
                self._opening -= count
                if count > 1:
                    self._warmed = False  # the warm-up failed: let a later acquire retry it
                self._cond.notify(count)
            for connection in opened:
                await connection.close()
            raise
        first, extra = opened[0], opened[1:]
        with self._cond:
            self._opening -= count
            closed = self._closed
            if not closed:
                self._in_use.add(first)
                now = time.monotonic()
                self._idle.extend((connection, now) for connection in extra)
                self._cond.notify(len(extra))
        if closed:
            for connection in opened:
                await connection.close()
            raise pool_closed(datasource=self._name, role=self._role)
        return first

    async def release(self, connection: object) -> None:
        """Give back a connection from ``acquire``.

        A connection in a transaction is rolled back and its open streams are closed; one
        that is ``broken``, or cannot be reset, or comes back after ``close()``, is closed.
        Raises ``InterfaceError`` for a connection that is not checked out of this pool.
        """
        with self._cond:
            if connection not in self._in_use:  # typed object, wider than the Pool protocol
                raise InterfaceError(
                    f"this connection is not checked out of the pool of datasource "
                    f"{self._name!r} ({self._role}); was it released twice?",
                    datasource=self._name,
                    role=self._role,
                )
        # From here on ``connection`` is a C: it was found in _in_use.
        discard = connection.broken
        if not discard:
            try:
                await connection.reset()
                discard = connection.broken  # a reset may end in a fresh start instead
            except Error:
                discard = True
            except BaseException:
                # Interrupted mid-reset (a cancelled task, Ctrl-C): the connection's state
                # is unknown, so it is closed, and its slot is freed before re-raising.
                await self._forget(connection)
                raise
        with self._cond:
            self._in_use.discard(connection)
            # Over max_size after a resize: the pool shrinks as connections come back.
            discard = discard or self._closed or self._size() >= self._max_size
            if not discard:
                self._idle.append((connection, time.monotonic()))
            self._cond.notify()
        if discard:
            await connection.close()

    async def _forget(self, connection: C) -> None:
        with self._cond:
            self._in_use.discard(connection)
            self._cond.notify()
        await connection.close()

    async def resize(self, min_size: int, max_size: int, timeout: float) -> None:
        """Take new sizes and acquire timeout; idle connections over ``max_size`` are
        closed now, connections out over it when released. Raises ValueError like the
        constructor."""
        if max_size < 1 or min_size < 0 or min_size > max_size:
            raise ValueError(
                f"need 0 <= min_size <= max_size and max_size >= 1, got {min_size}, {max_size}"
            )
        extra: list[C] = []
        with self._cond:
            self._min_size, self._max_size, self._timeout = min_size, max_size, timeout
            while self._idle and self._size() > max_size:
                extra.append(self._idle.popleft()[0])  # the oldest go first
            self._cond.notify_all()  # a bigger pool lets waiters open connections
        for connection in extra:
            await connection.close()

    async def close(self) -> None:
        """Close every idle connection; connections still out are closed on release.

        Later ``acquire`` calls raise ``InterfaceError``. Idempotent.
        """
        with self._cond:
            self._closed = True
            idle = [connection for connection, _ in self._idle]
            self._idle.clear()
            self._cond.notify_all()
        for connection in idle:
            await connection.close()

    @property
    def in_use(self) -> int:
        """Connections checked out right now."""
        with self._cond:
            return len(self._in_use)

    @property
    def idle(self) -> int:
        """Open connections waiting in the pool."""
        with self._cond:
            return len(self._idle)

    def stats(self) -> PoolStats:
        with self._cond:
            return {
                "size": self._size(),
                "in_use": len(self._in_use),
                "idle": len(self._idle),
                "waiting": self._waiting,
                "max_size": self._max_size,
            }

    def _size(self) -> int:
        return len(self._idle) + len(self._in_use) + self._opening

    def __repr__(self) -> str:
        with self._cond:
            state = f"{len(self._in_use)} in use, {len(self._idle)} idle, max {self._max_size}"
            if self._closed:
                state += ", closed"
        role = "" if self._role == "primary" else f" {self._role}"
        return f"<Pool {self._name}{role} [{state}]>"
