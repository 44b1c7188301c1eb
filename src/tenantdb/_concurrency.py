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
- ``AsyncTicket`` / ``Ticket``: one waiter's wake-up call (a future or a thread event),
  handed to the pure concurrency quota as the token it returns to whoever must be woken.
- ``asleep`` / ``sleep``.
- ``AsyncWatchdog`` / ``Watchdog``: calls a cancel callback when a deadline passes, unless
  it was disarmed first (statement timeouts). The asyncio form is a ``call_later`` timer
  that runs the callback as a task; the thread form is one daemon thread per process over
  a heap of deadlines.
- ``AsyncWorker`` / ``Worker``: where a blocking driver's calls run. The asyncio form owns
  a daemon thread and hops each call to it; the thread form runs the call in the caller.
- ``AsyncLoopBinding`` / ``LoopBinding``: the asyncio form remembers the event loop of an
  object's first use and refuses any other (its pools and sockets belong to that loop); a
  thread has no loop to check.
- ``AsyncFrontGuard`` / ``FrontGuard``: mixins that turn the other front's way of using an
  object (``with`` on an asyncio session, ``await`` or ``async with`` on a thread one) into
  an error naming the right call, instead of a bare TypeError or a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from typing import Any, NoReturn, TypeVar, TypeVarTuple

from .errors import InterfaceError

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_LOG = logging.getLogger("tenantdb.timeouts")


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


class AsyncTicket:
    """One waiter's wake-up call for an event loop: ``wake()`` (from a task of the same
    loop) ends ``await ticket.wait(timeout)`` with True, or it ends with False after
    ``timeout`` seconds. Waking before the wait starts counts; waking twice is harmless.
    A cancelled wait raises CancelledError as usual."""

    __slots__ = ("_future",)

    def __init__(self) -> None:
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self, timeout: float | None) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._future), timeout)
        except TimeoutError:
            return False
        return True


class Ticket:
    """One waiter's wake-up call for threads (``AsyncTicket``'s interface): ``wake()`` from
    any thread ends ``wait(timeout)`` with True.

    A held plain lock rather than a ``threading.Event``: a ticket is made for every
    statement of a tenant with a concurrency limit, and an Event (a Condition and two
    locks) costs several microseconds to build where a lock costs a tenth of one.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # woken already: the lock is free
            self._lock.release()

    def wait(self, timeout: float | None) -> bool:
        return self._lock.acquire(timeout=-1 if timeout is None else timeout)


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


# After a cancelled call, how often its ``on_cancel`` is repeated while it still runs (one
# call may start just after an interrupt that found nothing running), and for how long.
_INTERRUPT_EVERY_S = 0.01
_CANCEL_GRACE_S = 1.0


class _Call:
    """One call queued for a worker's thread.

    ``cancelled`` is written on the event loop's thread and read on the worker's: a call
    cancelled before its turn is skipped; a stale read only lets it start, and the
    canceller's repeated ``on_cancel`` then stops it. ``done`` and ``after`` are only
    touched on the loop's thread.
    """

    __slots__ = ("after", "args", "cancelled", "done", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any] | None,
    ) -> None:
        self.fn = fn
        self.args = args
        self.loop = loop
        self.future = future  # None: nobody waits for the outcome
        self.cancelled = False
        self.done = False
        self.after: asyncio.Future[None] | None = None  # set by a canceller waiting for the end


def _serve(calls: queue.SimpleQueue[_Call | None]) -> None:
    """The body of a worker's thread: run the queued calls in order until ``None`` comes.

    It holds no reference to the worker (only to the queue), so a worker nobody references
    any more is collected, and its finalizer sends the ``None`` that ends this thread.
    """
    while (call := calls.get()) is not None:
        ok, value = True, None
        if not call.cancelled:
            try:
                value = call.fn(*call.args)
            except BaseException as exc:  # handed to the caller, which raises it
                ok, value = False, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            call.loop.call_soon_threadsafe(_settle, call, ok, value)
        # Not kept while waiting for the next call: the call's function may reference the
        # worker's owner, which must stay collectable.
        del call, value


def _settle(call: _Call, ok: bool, value: Any) -> None:
    """On the loop's thread: deliver a call's outcome to whoever still waits for it."""
    call.done = True
    future = call.future
    if future is not None and not future.done():  # a cancelled caller no longer waits
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
    if call.after is not None and not call.after.done():
        call.after.set_result(None)


class AsyncWorker:
    """A daemon thread of its own for one blocking resource (an ``sqlite3`` connection).

    ``await worker.call(fn, *args)`` runs ``fn(*args)`` on that thread and returns its value
    or raises its exception; calls run one at a time, in the order they were made, so the
    resource is only ever touched by that thread. The thread is a daemon and holds no
    reference to the worker: a worker never closed cannot hold the interpreter's exit, and
    one that is garbage-collected ends its thread.

    Cancellation: when the task awaiting ``call`` is cancelled, the worker is ``broken`` for
    good (later calls raise ``InterfaceError``; the owner should be discarded). A call not
    started yet is skipped; a running one is asked to stop by calling ``on_cancel`` (on the
    loop's thread, so it must be safe to call from any thread, as
    ``sqlite3.Connection.interrupt`` is), again every 10 ms until the call ends, for up to
    1 s; then the cancellation propagates. A call that ``on_cancel`` cannot stop in that
    time is abandoned: the thread finishes it on its own, then runs what was queued after.
    """

    __slots__ = ("__weakref__", "_broken", "_calls", "_closed", "_name", "_stop", "on_cancel")

    def __init__(self, name: str) -> None:
        """``name`` says what the worker serves, in errors and in the thread's name."""
        self._name = name
        self._broken = False
        self._closed = False
        # Stops the running call from another thread; the owner sets it once the resource
        # exists (an sqlite3 connection is opened by a call on this worker).
        self.on_cancel: Callable[[], None] | None = None
        calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._calls = calls
        self._stop = weakref.finalize(self, calls.put, None)
        threading.Thread(target=_serve, args=(calls,), name=f"tenantdb {name}", daemon=True).start()

    @property
    def broken(self) -> bool:
        """True once a call was cancelled: the resource may be mid-way through it."""
        return self._broken

    async def call(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run ``fn(*args)`` on the worker's thread; its value, or its exception raised here.

        Raises ``InterfaceError`` once the worker is broken or closed. See the class for
        what a cancellation does.
        """
        if self._broken or self._closed:
            state = "broken by a cancelled call" if self._broken else "closed"
            raise InterfaceError(
                f"{self._name} is {state}: release it to its pool and acquire another"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call(fn, args, loop, future)
        self._calls.put(call)
        try:
            return await future
        except asyncio.CancelledError:
            self._broken = True
            call.cancelled = True
            await self._halt(call)
            raise

    async def _halt(self, call: _Call) -> None:
        """Stop the call whose caller was cancelled, or give up on it after the grace time.
        A second cancellation meanwhile gives up at once."""
        if call.done:
            return
        loop = call.loop
        after: asyncio.Future[None] = loop.create_future()
        call.after = after
        deadline = loop.time() + _CANCEL_GRACE_S
        while not call.done:
            if self.on_cancel is not None:
                self.on_cancel()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return  # abandoned: the thread finishes the call on its own
            await asyncio.wait((after,), timeout=min(_INTERRUPT_EVERY_S, remaining))

    async def aclose(self, final: Callable[[], None] | None = None) -> None:
        """Run ``final()`` on the thread after every call already queued (even when broken:
        it must be safe then, like closing an ``sqlite3`` connection), then end the thread.

        Waits for ``final`` unless the worker is broken (an abandoned call may still run
        before it; the thread runs ``final`` when that call ends). A cancelled wait leaves
        ``final`` to run all the same. Idempotent: later calls do nothing.
        """
        if self._closed:
            return
        self._closed = True
        waiter: asyncio.Future[None] | None = None
        if final is not None:
            loop = asyncio.get_running_loop()
            waiter = None if self._broken else loop.create_future()
            self._calls.put(_Call(final, (), loop, waiter))
        self._stop()
        if waiter is not None:
            await waiter

    def __repr__(self) -> str:
        state = "broken" if self._broken else "closed" if self._closed else "open"
        return f"<AsyncWorker {self._name} {state}>"


class Worker:
    """The thread front's twin of ``AsyncWorker``: ``call(fn, *args)`` runs ``fn(*args)`` at
    once in the calling thread (a connection there is used by one thread at a time, lent
    by its pool): no hop, no lock. It is never broken, and ``close`` only runs ``final``.
    On a statement's path the generated drivers skip even this call (a pragma in the
    asyncio source calls the work itself), so the thread front pays nothing for it."""

    __slots__ = ("on_cancel",)

    broken = False  # a class attribute, not a property: read on every rollback

    def __init__(self, name: str) -> None:
        self.on_cancel: Callable[[], None] | None = None  # never called: nothing is cancelled

    def call(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return fn(*args)

    def close(self, final: Callable[[], None] | None = None) -> None:
        if final is not None:
            final()

    def __repr__(self) -> str:
        return "<Worker (the calling thread)>"


class AsyncLoopBinding:
    """The event loop an asyncio-front object belongs to: the loop of its first ``check``.

    ``check`` raises InterfaceError outside a running loop, or on another loop than the
    first: pools and connections are bound to the loop that opened them, and using them
    from another one fails in the driver or hangs.
    """

    __slots__ = ("_loop", "_what")

    def __init__(self, what: str) -> None:
        self._what = what
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop of the first ``check``; None before it."""
        return self._loop

    def check(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise InterfaceError(
                f"{self._what} belongs to the asyncio front: await its calls inside a running "
                "event loop, or use tenantdb.connect() in threads"
            ) from None
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise InterfaceError(
                f"{self._what} was first used on another event loop, and its connections "
                "belong to that loop: create one cluster per event loop (in the "
                "application's startup) and use it only there"
            )


class LoopBinding:
    """The thread front's twin of ``AsyncLoopBinding``: there is no loop; ``check`` passes."""

    __slots__ = ()

    def __init__(self, what: str) -> None:
        pass

    @property
    def loop(self) -> None:
        """Threads have no loop."""
        return None

    def check(self) -> None:
        return None


class AsyncFrontGuard:
    """Mixin for the asyncio front's context managers: a plain ``with`` raises an error that
    names ``async with`` (and the thread front), not a bare TypeError."""

    __slots__ = ()

    def __enter__(self) -> NoReturn:
        raise InterfaceError(
            f"{type(self).__name__} belongs to the asyncio front: use `async with`, or "
            "tenantdb.connect() for the thread front"
        )

    def __exit__(self, *exc_info: object) -> None:
        return None


class FrontGuard:
    """Mixin for the thread front's context managers: ``async with`` and ``await`` raise an
    error that names ``with`` and ``tenantdb.connect_async()``, instead of blocking the
    event loop or failing with a bare TypeError."""

    __slots__ = ()

    async def __aenter__(self) -> NoReturn:
        raise InterfaceError(
            f"{type(self).__name__} belongs to the thread front: use `with`, or "
            "tenantdb.connect_async() in asyncio code"
        )

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    def __await__(self) -> NoReturn:
        raise InterfaceError(
            f"{type(self).__name__} belongs to the thread front and is not awaitable: drop "
            "the await, or use tenantdb.connect_async() in asyncio code"
        )


class AsyncAlarm:
    """One armed deadline of ``AsyncWatchdog``: see there."""

    __slots__ = ("_callback", "_handle", "_task", "fired")

    def __init__(self, delay_s: float, callback: Callable[[], Awaitable[None]]) -> None:
        self._callback = callback
        self.fired = False
        """True once the deadline passed before ``disarm``: the callback ran or runs."""
        self._task: asyncio.Task[None] | None = None
        self._handle = asyncio.get_running_loop().call_later(delay_s, self._fire)

    def _fire(self) -> None:
        self.fired = True
        self._task = asyncio.get_running_loop().create_task(_quietly(self._callback))

    async def disarm(self) -> bool:
        """Stop the alarm; whether it fired. A callback still running is waited for (even
        when this wait is cancelled, the callback finishes), so whatever it cancels on the
        server is done before the caller's next statement can start."""
        self._handle.cancel()
        task = self._task
        if task is not None and not task.done():
            await asyncio.shield(task)
        return self.fired


class AsyncWatchdog:
    """Deadlines over statements on an event loop: ``arm(at, callback)`` runs
    ``await callback()`` in a task of the running loop once ``time.monotonic()`` reaches
    ``at`` (seconds), unless ``await alarm.disarm()`` came first. The callback must not
    raise (what it raises is logged). One ``call_later`` timer per armed deadline: the
    loop's own heap is the watchdog."""

    __slots__ = ()

    @staticmethod
    def shared() -> AsyncWatchdog:
        """The process's watchdog (stateless here: each loop keeps its own timers)."""
        return _ASYNC_WATCHDOG

    def arm(self, at: float, callback: Callable[[], Awaitable[None]]) -> AsyncAlarm:
        return AsyncAlarm(max(0.0, at - time.monotonic()), callback)


_ASYNC_WATCHDOG = AsyncWatchdog()


async def _quietly(callback: Callable[[], Awaitable[None]]) -> None:
    try:
        await callback()
    except Exception:  # a failed cancel must not go unseen, nor kill the loop's task
        _LOG.exception("a statement timeout's cancel callback failed")


_ARMED, _FIRING, _FIRED, _DISARMED = range(4)


class Alarm:
    """One armed deadline of ``Watchdog``: see there. Its state changes under the
    watchdog's lock only."""

    __slots__ = ("_callback", "_done", "_state", "_watchdog")

    def __init__(self, callback: Callable[[], None], watchdog: Watchdog) -> None:
        self._callback = callback
        self._watchdog = watchdog
        self._state = _ARMED
        self._done: threading.Event | None = None  # set by the watchdog once the callback ran

    @property
    def fired(self) -> bool:
        """True once the deadline passed before ``disarm``: the callback ran or runs."""
        return self._state in (_FIRING, _FIRED)

    def disarm(self) -> bool:
        """Stop the alarm; whether it fired. A callback still running is waited for, so
        whatever it cancels on the server is done before the caller's next statement."""
        watchdog = self._watchdog
        with watchdog._lock:
            if self._state == _ARMED:
                self._state = _DISARMED
                watchdog._disarmed += 1
                return False
            done = self._done
        if done is not None:
            done.wait()
        return True


class Watchdog:
    """Deadlines over blocking statements: ``arm(at, callback)`` calls ``callback()`` on
    the watchdog's thread once ``time.monotonic()`` reaches ``at`` (seconds), unless
    ``alarm.disarm()`` came first.

    One daemon thread per watchdog (started on the first ``arm``), over a heap of
    (deadline, alarm): arming is one push, and a disarmed alarm is dropped when it reaches
    the top (or when disarmed alarms make up most of a large heap). Callbacks run outside
    the lock, one at a time, so one that blocks (a cancel request to a slow server) delays
    the alarms behind it: it must bound its own wait. What a callback raises is logged.
    """

    __slots__ = ("_disarmed", "_heap", "_lock", "_order", "_started", "_wake")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        # (deadline, arming order, alarm); only touched under _lock.
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._disarmed = 0  # disarmed alarms still in the heap
        self._started = False

    @staticmethod
    def shared() -> Watchdog:
        """The process's watchdog: one thread for every statement timeout of the process."""
        return _WATCHDOG

    def arm(self, at: float, callback: Callable[[], None]) -> Alarm:
        alarm = Alarm(callback, self)
        with self._lock:
            heap = self._heap
            heapq.heappush(heap, (at, next(self._order), alarm))
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="tenantdb watchdog", daemon=True).start()
            elif heap[0][2] is alarm:
                self._wake.notify()
            elif self._disarmed > 512 and self._disarmed * 2 > len(heap):
                # Disarmed alarms with far deadlines would pile up until then.
                self._heap = [entry for entry in heap if entry[2]._state != _DISARMED]
                heapq.heapify(self._heap)
                self._disarmed = 0
        return alarm

    def _next(self) -> Alarm:
        """Under the lock: wait for the first alarm whose deadline has come, mark it firing."""
        while True:
            heap = self._heap
            while heap and heap[0][2]._state == _DISARMED:
                heapq.heappop(heap)
                self._disarmed = max(0, self._disarmed - 1)
            if heap:
                left = heap[0][0] - time.monotonic()
                if left <= 0:
                    alarm = heapq.heappop(heap)[2]
                    alarm._state = _FIRING
                    alarm._done = threading.Event()
                    return alarm
                self._wake.wait(left)
            else:
                self._wake.wait()

    def _run(self) -> None:
        while True:
            with self._lock:
                alarm = self._next()
            try:
                alarm._callback()
            except Exception:
                _LOG.exception("a statement timeout's cancel callback failed")
            finally:
                with self._lock:
                    alarm._state = _FIRED
                    done = alarm._done
                assert done is not None
                done.set()

    def __repr__(self) -> str:
        return f"<Watchdog {len(self._heap)} armed>"


_WATCHDOG = Watchdog()
