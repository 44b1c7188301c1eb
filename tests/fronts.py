"""Run the behaviour suites on both fronts: a blocking face for the asyncio front.

tenantdb has two fronts written once (``src/tenantdb/_async``, with the thread front
generated from it), and both must pass the same behaviour tests. Rather than keeping an
async copy of every integration suite, the suites are written in the thread front's style
and take the ``front`` fixture (``tests/integration/conftest.py``): ``front.connect(config)``
returns either ``tenantdb.connect(config)`` or ``BlockingCluster(tenantdb.connect_async(
config))``.

``BlockingCluster`` is only a change of calling style. The asyncio code really runs: each
call that returns a coroutine is run to completion on the cluster's own event loop (one
``asyncio.Runner`` per adapted cluster, so its pools stay on the loop that opened them),
through the real async drivers (psycopg's ``AsyncConnection``, asyncmy, SQLite on a
thread of its own per connection). What a call returns is wrapped by its type:

- an ``AsyncSession`` becomes a ``BlockingSession`` and an ``AsyncResult`` a
  ``BlockingResult``, whose methods do the same to what they return;
- an async context manager (``session.transaction()``) becomes a plain one, entered and
  left on the loop;
- anything else (``rowcount``, ``targets``, ``explain``, ``status()``, ``tenants``,
  ``force_primary``, ...) passes through unchanged.

Iterating a ``BlockingResult`` calls ``fetchone`` until it returns None, ``with`` on a
session closes it (``AsyncSession.__aexit__``) and ``BlockingCluster.close`` awaits
``AsyncCluster.aclose`` and then closes the loop. Each call runs in a copy of the caller's
``contextvars`` context, so ``tenantdb.tenant_context`` set by the test is seen.

The loop runs only inside a call. Background tasks the asyncio front starts (psycopg_pool's
workers, for one) therefore progress only while some call runs, and an adapted cluster
serves one thread at a time: two threads calling it at once get asyncio's "This event loop
is already running". Tests that drive one cluster from several threads at once stay on the
thread front.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

import tenantdb
from tenantdb import AsyncCluster, AsyncResult, AsyncSession


class _Blocking:
    """Wraps one asyncio-front object; attribute reads pass through, coroutine results run
    on the runner and are wrapped by type (see the module docstring)."""

    __slots__ = ("_runner", "_target")

    def __init__(self, target: Any, runner: asyncio.Runner) -> None:
        self._target = target
        self._runner = runner

    @property
    def wrapped(self) -> Any:
        """The asyncio-front object itself."""
        return self._target

    def _run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self._runner.run(coroutine, context=contextvars.copy_context())

    def _wrap(self, value: Any) -> Any:
        if asyncio.iscoroutine(value):
            return self._wrap(self._run(value))
        wrapper = _WRAPPERS.get(type(value))
        if wrapper is not None:
            return wrapper(value, self._runner)
        if hasattr(value, "__aenter__") and not hasattr(value, "__enter__"):
            return _BlockingContext(value, self._runner)
        return value

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or inspect.isclass(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(value(*args, **kwargs))

        call.__name__ = name
        call.__doc__ = value.__doc__
        return call

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._target!r}>"


class _BlockingContext(_Blocking):
    """An async context manager (``transaction()``) entered and left on the loop."""

    __slots__ = ()

    def __enter__(self) -> Any:
        return self._wrap(self._target.__aenter__())

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._run(self._target.__aexit__(*exc_info))


class BlockingResult(_Blocking):
    """An ``AsyncResult`` read without ``await``: ``fetchone/fetchmany/fetchall/scalar/
    close/materialize`` return their values; iteration reads with ``fetchone``."""

    __slots__ = ()

    def __iter__(self) -> Iterator[Any]:
        while (row := self._wrap(self._target.fetchone())) is not None:
            yield row


class BlockingSession(_Blocking):
    """An ``AsyncSession`` used without ``await``; ``with`` closes it."""

    __slots__ = ()

    def __enter__(self) -> BlockingSession:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._run(self._target.__aexit__(*exc_info))


class BlockingCluster(_Blocking):
    """An ``AsyncCluster`` with the thread front's calling style, owning the event loop its
    pools live on (see the module docstring). ``close()`` (or leaving ``with``) awaits
    ``aclose()`` and closes the loop; idempotent."""

    __slots__ = ("_open",)

    def __init__(self, cluster: AsyncCluster) -> None:
        super().__init__(cluster, asyncio.Runner())
        self._open = True

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            self._run(self._target.aclose())
        finally:
            self._runner.close()

    def __enter__(self) -> BlockingCluster:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


_WRAPPERS: dict[type, Callable[[Any, asyncio.Runner], _Blocking]] = {
    AsyncSession: BlockingSession,
    AsyncResult: BlockingResult,
}


class Front:
    """One front, as the ``front`` fixture gives it: ``name`` is ``"sync"`` or ``"async"``;
    ``connect`` takes ``tenantdb.connect``'s arguments and returns a ``Cluster`` or a
    ``BlockingCluster`` over ``tenantdb.connect_async``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if name not in FRONTS:
            raise ValueError(f"no front {name!r}; fronts: {', '.join(FRONTS)}")
        self.name = name

    def connect(self, config: Any, **kwargs: Any) -> Any:
        if self.name == "sync":
            return tenantdb.connect(config, **kwargs)
        return BlockingCluster(tenantdb.connect_async(config, **kwargs))

    def __repr__(self) -> str:
        return f"<Front {self.name}>"


FRONTS = ("sync", "async")
SYNC = Front("sync")
"""The thread front, for fixtures whose test does not take ``front``."""

sync_only = pytest.mark.parametrize("front", ["sync"], indirect=True)
"""Mark a test of a ``front``-parametrized suite to run on the thread front only (say why
beside it): e.g. it drives one cluster from several threads at once."""
