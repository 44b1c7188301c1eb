"""``AsyncWorker`` / ``Worker`` (``tenantdb._concurrency``): where a blocking driver's calls
run. Plain Python functions stand in for the driver; no database. Waits sit under a hang
guard; no test asserts how fast something is."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from tenantdb._concurrency import AsyncWorker, Worker
from tenantdb.errors import InterfaceError

HANG_GUARD_S = 30.0
T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(main(), HANG_GUARD_S)

    return asyncio.run(guarded())


def thread_named(name: str) -> threading.Thread | None:
    return next((t for t in threading.enumerate() if t.name == f"tenantdb {name}"), None)


async def joined(thread: threading.Thread) -> None:
    while thread.is_alive():
        await asyncio.sleep(0.005)


def fail(message: str) -> None:
    raise ValueError(message)


@pytest.mark.parametrize("front", ["asyncio", "thread"])
def test_call_returns_the_value_or_raises_the_error_and_close_runs_final(front: str) -> None:
    async def done(value: Any) -> Any:
        return await value if front == "asyncio" else value

    async def main() -> list[str]:
        worker: AsyncWorker | Worker
        if front == "asyncio":
            worker = AsyncWorker("w")
            close: Callable[[Callable[[], None]], Any] = worker.aclose
        else:
            worker = Worker("w")
            close = worker.close
        assert await done(worker.call(divmod, 7, 2)) == (3, 1)
        with pytest.raises(ValueError, match="bad input"):
            await done(worker.call(fail, "bad input"))
        assert not worker.broken
        finals: list[str] = []
        await done(close(lambda: finals.append("final")))
        return finals

    assert run(main) == ["final"]


def test_the_thread_form_runs_calls_in_the_calling_thread() -> None:
    worker = Worker("w")
    assert worker.call(threading.get_ident) == threading.get_ident()
    assert not worker.broken


def test_calls_run_in_order_on_one_daemon_thread_that_aclose_ends() -> None:
    async def main() -> None:
        worker = AsyncWorker("ordered")
        thread = thread_named("ordered")
        assert thread is not None
        assert thread.daemon
        seen: list[tuple[int, int]] = []

        def record(n: int) -> None:
            seen.append((n, threading.get_ident()))

        await asyncio.gather(*(worker.call(record, n) for n in range(20)))
        assert [n for n, _ in seen] == list(range(20))
        assert {ident for _, ident in seen} == {thread.ident}
        assert thread.ident != threading.get_ident()
        finals: list[int] = []
        await worker.aclose(lambda: finals.append(threading.get_ident()))
        assert finals == [thread.ident]
        await joined(thread)
        await worker.aclose()  # idempotent
        with pytest.raises(InterfaceError, match="ordered is closed"):
            await worker.call(record, 99)
        assert "closed" in repr(worker)

    run(main)


def test_a_cancelled_call_is_stopped_with_on_cancel_repeated_and_breaks_the_worker() -> None:
    async def main() -> None:
        worker = AsyncWorker("interrupted")
        started, stop = threading.Event(), threading.Event()
        cancels: list[int] = []

        def on_cancel() -> None:
            cancels.append(1)
            if len(cancels) == 3:  # the first ones "miss", as an interrupt may
                stop.set()

        worker.on_cancel = on_cancel

        def long_call() -> str:
            started.set()
            stop.wait(HANG_GUARD_S)
            return "ended"

        task = asyncio.ensure_future(worker.call(long_call))
        while not started.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The cancellation came back only once the call had ended.
        assert len(cancels) == 3
        assert worker.broken
        assert "broken" in repr(worker)
        with pytest.raises(InterfaceError, match="broken by a cancelled call"):
            await worker.call(long_call)
        thread = thread_named("interrupted")
        assert thread is not None
        await worker.aclose()
        await joined(thread)

    run(main)


def test_a_call_cancelled_before_its_turn_never_runs() -> None:
    async def main() -> None:
        worker = AsyncWorker("queued")
        thread = thread_named("queued")
        assert thread is not None
        release = threading.Event()
        ran: list[str] = []
        first = asyncio.ensure_future(worker.call(release.wait, HANG_GUARD_S))
        second = asyncio.ensure_future(worker.call(ran.append, "second"))
        await asyncio.sleep(0)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second  # gives up on it after the grace time: it never started
        release.set()
        assert await first is True
        finals: list[str] = []
        await worker.aclose(lambda: finals.append("final"))  # broken: does not wait
        await joined(thread)
        assert finals == ["final"]
        assert ran == []

    run(main)


def test_a_call_on_cancel_cannot_stop_is_abandoned_and_final_runs_after_it() -> None:
    async def main() -> None:
        worker = AsyncWorker("stubborn")
        started, stop = threading.Event(), threading.Event()
        order: list[str] = []

        def stubborn() -> None:
            started.set()
            stop.wait(HANG_GUARD_S)
            order.append("call")

        worker.on_cancel = lambda: None  # cannot stop it
        task = asyncio.ensure_future(worker.call(stubborn))
        while not started.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert worker.broken
        assert order == []  # the caller moved on; the call still runs
        await worker.aclose(lambda: order.append("final"))  # returns without waiting
        assert order == []
        stop.set()
        thread = thread_named("stubborn")
        assert thread is not None
        await joined(thread)
        assert order == ["call", "final"]

    run(main)


def test_a_worker_nobody_references_ends_its_thread() -> None:
    async def main() -> None:
        worker = AsyncWorker("forgotten")
        assert await worker.call(sum, [1, 2]) == 3
        thread = thread_named("forgotten")
        assert thread is not None
        del worker
        gc.collect()
        await joined(thread)

    run(main)
