"""The primitives whose asyncio and thread forms differ in kind, written here by hand in both.

The I/O shell is written once as asyncio code (``tenantdb._async``) and its thread-based
twin is generated (``scripts/async_to_sync.py`` maps each ``Async…``/``a…`` name below to
its sync partner). Everything that cannot be produced by dropping ``await`` lives here:

- ``AsyncMonitor`` / ``Monitor``: a guard for a small piece of shared state plus a FIFO
  waiting room. Threads need a real lock; the event loop runs one task at a time between
  ``await`` points, so the asyncio guard is a no-op and only waiting needs futures.
- ``arun_each`` / ``run_each``: run one call per datasource concurrently (tasks on the
  event loop, or the cluster's thread pool) and collect each value or exception.
- ``atimeout`` / ``timeout``: a deadline over a block. The asyncio form cancels the block
  when it passes; a thread cannot be interrupted, so there the block must bound its own
  blocking calls (a driver's socket timeouts) and the thread form marks the place only.
- ``asleep`` / ``sleep``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")


class AsyncMonitor:
    """State guard and FIFO waiting room for one event loop.

    ``with monitor:`` marks the code that reads or changes the guarded state; with no
    ``await`` inside it, no other task can run there, so the guard costs nothing.
    ``await monitor.wait(timeout)`` (inside the guard, like ``threading.Condition.wait``)
    sleeps until ``notify`` wakes it (True) or the timeout passes (False). Waiters are
    woken in the order they started waiting, one per ``notify``; a waiter that times out
    or is cancelled leaves no wake-up behind (it is handed to the next waiter).
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()

    def __enter__(self) -> AsyncMonitor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    async def wait(self, timeout: float | None) -> bool:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
            return True
        except TimeoutError:
            return self._abandon(waiter)
        except BaseException:
            self._abandon(waiter)
            raise

    def _abandon(self, waiter: asyncio.Future[None]) -> bool:
        """A waiter gives up: if it was woken meanwhile, pass the wake-up on."""
        if waiter.done():
            self.notify()
            return False
        self._waiters.remove(waiter)
        waiter.cancel()
        return False

    def notify(self, count: int = 1) -> None:
        while count > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def notify_all(self) -> None:
        self.notify(len(self._waiters))


class Monitor:
    """State guard and waiting room for threads: ``threading.Condition`` with a plain lock,
    with ``AsyncMonitor``'s interface (``wait`` returns False on timeout)."""

    __slots__ = ("_condition",)

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())

    def __enter__(self) -> Monitor:
        self._condition.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._condition.release()

    def wait(self, timeout: float | None) -> bool:
        return self._condition.wait(timeout)

    def notify(self, count: int = 1) -> None:
        self._condition.notify(count)

    def notify_all(self) -> None:
        self._condition.notify_all()


async def arun_each(
    executor: Executor | None, calls: Sequence[Callable[[], Awaitable[T]]]
) -> list[T | BaseException]:
    """Run the calls concurrently as tasks of the running loop; each one's value or the
    exception it raised (``Exception`` only: a cancellation cancels the others and
    propagates). One call runs in the caller's task. ``executor`` is unused here (the
    thread form needs it)."""
    if len(calls) == 1:
        try:
            return [await calls[0]()]
        except Exception as exc:
            return [exc]
    tasks = [asyncio.ensure_future(call()) for call in calls]
    try:
        await asyncio.wait(tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    results: list[T | BaseException] = []
    for task in tasks:
        error = task.exception()
        if error is not None and not isinstance(error, Exception):
            raise error
        results.append(error if error is not None else task.result())
    return results


def run_each(
    executor: Executor | None, calls: Sequence[Callable[[], T]]
) -> list[T | BaseException]:
    """Run the calls on the executor's threads, concurrently; each one's value or the
    exception it raised. One call (or no executor) runs on the calling thread."""
    if len(calls) == 1 or executor is None:
        results: list[T | BaseException] = []
        for call in calls:
            try:
                results.append(call())
            except Exception as exc:
                results.append(exc)
        return results
    futures = [executor.submit(call) for call in calls]
    outcomes: list[T | BaseException] = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def atimeout(seconds: float | None) -> asyncio.Timeout:
    """``async with atimeout(s):`` cancels the block after ``s`` seconds (None: never) and
    raises ``TimeoutError`` from it: ``asyncio.timeout``."""
    return asyncio.timeout(seconds)


def timeout(seconds: float | None) -> contextlib.nullcontext[None]:
    """``with timeout(s):`` does nothing: a blocking call cannot be interrupted from its own
    thread, so the block bounds its calls itself (a driver's socket timeouts)."""
    return contextlib.nullcontext()


async def asleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
