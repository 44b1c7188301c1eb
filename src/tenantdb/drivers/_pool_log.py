"""psycopg_pool's "error connecting" warnings, held while tenantdb reports the failure itself.

psycopg_pool's workers log every failed connection attempt (logger ``psycopg.pool``). While a
caller waits in ``PostgresPool.acquire``, the same failure reaches that caller as one
``ShardUnavailableError`` with the server's reason, so the pool's lines only repeat it. Each
pool's ``ConnectFailureLog`` holds those records while callers wait on it: it drops them when a
caller gets a ``ShardUnavailableError``, and passes them on to the logger's handlers when the
waits end otherwise (the pool recovered: the failure was never reported). Attempts made
while nobody waits (background reconnection) are logged as psycopg_pool logs them.
"""

from __future__ import annotations

import logging
import threading
import weakref

from ..errors import ShardUnavailableError

_LOGGER = logging.getLogger("psycopg.pool")
_MESSAGE = "error connecting in %r: %s"  # psycopg_pool's text for a failed attempt
_RELEASED = "_tenantdb_released"

_lock = threading.Lock()
_by_pool_name: dict[str, weakref.WeakSet[ConnectFailureLog]] = {}


class ConnectFailureLog:
    """The held connect-failure records of one psycopg pool (by its ``name``).

    ``with log.waiting():`` (or ``with log:``) goes around a caller's wait for a connection.
    It is on every acquire, so it is a plain context manager with a lock of its own (the
    module's lock only guards which logs exist and is taken only when psycopg_pool logs).
    """

    __slots__ = ("__weakref__", "_held", "_lock", "_pool_name", "_waiting")

    def __init__(self, pool_name: str) -> None:
        self._pool_name = pool_name
        self._lock = threading.Lock()  # guards _waiting and _held
        self._waiting = 0
        self._held: list[logging.LogRecord] = []
        with _lock:
            _by_pool_name.setdefault(pool_name, weakref.WeakSet()).add(self)
        _install()

    def waiting(self) -> ConnectFailureLog:
        """Around a caller's wait for a connection of this pool."""
        return self

    def __enter__(self) -> None:
        with self._lock:
            self._waiting += 1

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        release: list[logging.LogRecord] = []
        with self._lock:
            if kind is not None and issubclass(kind, ShardUnavailableError):
                self._held.clear()  # the caller gets the failure with the server's reason
            self._waiting -= 1
            if not self._waiting and self._held:
                release, self._held = self._held, []
        for record in release:
            setattr(record, _RELEASED, True)
            _LOGGER.handle(record)

    def close(self) -> None:
        with _lock:
            group = _by_pool_name.get(self._pool_name)
            if group is not None:
                group.discard(self)
                if not group:
                    del _by_pool_name[self._pool_name]

    def _hold(self, record: logging.LogRecord) -> bool:
        with self._lock:
            if not self._waiting:
                return False
            self._held.append(record)
            return True


class _HoldWhileWaiting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != _MESSAGE or getattr(record, _RELEASED, False):
            return True
        args = record.args
        if not isinstance(args, tuple) or not args or not isinstance(args[0], str):
            return True
        with _lock:
            for log in _by_pool_name.get(args[0], ()):
                if log._hold(record):
                    return False
        return True


_FILTER = _HoldWhileWaiting()


def _install() -> None:
    if _FILTER not in _LOGGER.filters:
        _LOGGER.addFilter(_FILTER)
