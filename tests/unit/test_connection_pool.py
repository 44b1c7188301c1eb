"""The connection pool on both fronts (the asyncio one, and the thread one generated from
it): limits, waiting, timeouts, cancellation, discarding. The pooled objects are plain
stand-ins: the pool's logic needs no database."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import pytest

from tenantdb import PoolTimeoutError
from tenantdb._async import AsyncConnectionPool
from tenantdb._sync import ConnectionPool
from tenantdb.errors import InterfaceError

HANG_GUARD_S = 30.0


@dataclass(eq=False)
class Thing:
    number: int
    broken: bool = False
    closed: bool = False
    resets: int = 0

    def reset(self) -> None:
        self.resets += 1

    def close(self) -> None:
        self.closed = True


@dataclass(eq=False)
class AsyncThing(Thing):
    async def reset(self) -> None:  # type: ignore[override]
        self.resets += 1

    async def close(self) -> None:  # type: ignore[override]
        self.closed = True


@dataclass
class Factory:
    made: list[Thing] = field(default_factory=list)

    def __call__(self) -> Thing:
        self.made.append(Thing(len(self.made)))
        return self.made[-1]

    async def make_async(self) -> AsyncThing:
        self.made.append(AsyncThing(len(self.made)))
        return self.made[-1]  # type: ignore[return-value]


# -- threads ------------------------------------------------------------------------------


def test_threads_reuse_the_most_recent_idle_connection_and_reset_it() -> None:
    factory = Factory()
    pool = ConnectionPool("ds0", factory, min_size=0, max_size=2, timeout=HANG_GUARD_S)
    first = pool.acquire()
    second = pool.acquire()
    pool.release(first)
    pool.release(second)
    assert pool.acquire() is second
    assert second.resets == 1
    assert len(factory.made) == 2


def test_a_thread_waits_for_a_release_and_a_full_pool_times_out() -> None:
    factory = Factory()
    pool = ConnectionPool("ds0", factory, min_size=0, max_size=1, timeout=HANG_GUARD_S)
    held = pool.acquire()
    got: list[Thing] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    pool.release(held)
    waiter.join(HANG_GUARD_S)
    assert got == [held]
    short = ConnectionPool("ds1", Factory(), min_size=0, max_size=1, timeout=0.01)
    short.acquire()
    with pytest.raises(PoolTimeoutError, match="ds1"):
        short.acquire()


def test_a_broken_connection_is_closed_on_release_and_a_double_release_refused() -> None:
    pool = ConnectionPool("ds0", Factory(), min_size=0, max_size=1, timeout=HANG_GUARD_S)
    connection = pool.acquire()
    connection.broken = True
    pool.release(connection)
    assert connection.closed
    with pytest.raises(InterfaceError, match="released twice"):
        pool.release(connection)
    pool.close()
    with pytest.raises(InterfaceError):
        pool.acquire()


# -- asyncio ------------------------------------------------------------------------------


def test_tasks_wait_in_order_and_each_release_wakes_one() -> None:
    async def main() -> list[int]:
        factory = Factory()
        pool = AsyncConnectionPool(
            "ds0", factory.make_async, min_size=0, max_size=1, timeout=HANG_GUARD_S
        )
        held = await pool.acquire()
        order: list[int] = []

        async def user(number: int) -> None:
            connection = await pool.acquire()
            order.append(number)
            await asyncio.sleep(0)
            await pool.release(connection)

        users = [asyncio.create_task(user(n)) for n in range(5)]
        await asyncio.sleep(0.01)  # every user is waiting now
        await pool.release(held)
        await asyncio.wait_for(asyncio.gather(*users), HANG_GUARD_S)
        assert len(factory.made) == 1
        return order

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_a_cancelled_or_timed_out_waiter_leaves_no_wake_up_behind() -> None:
    async def main() -> None:
        pool = AsyncConnectionPool(
            "ds0", Factory().make_async, min_size=0, max_size=1, timeout=HANG_GUARD_S
        )
        held = await pool.acquire()
        cancelled = asyncio.create_task(pool.acquire())
        behind = asyncio.create_task(pool.acquire())
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await pool.release(held)  # must reach ``behind``, not the cancelled waiter
        connection = await asyncio.wait_for(behind, HANG_GUARD_S)
        assert connection is held
        assert cancelled.cancelled()
        assert pool.in_use == 1
        await pool.release(connection)
        assert pool.in_use == 0
        assert pool.idle == 1

    asyncio.run(main())


def test_an_async_full_pool_times_out_with_the_datasource_named() -> None:
    async def main() -> None:
        pool = AsyncConnectionPool(
            "ds7", Factory().make_async, min_size=0, max_size=1, timeout=0.01
        )
        await pool.acquire()
        with pytest.raises(PoolTimeoutError, match="ds7"):
            await pool.acquire()

    asyncio.run(main())


def test_a_release_cancelled_mid_reset_frees_the_slot_and_closes_the_connection() -> None:
    class SlowReset(AsyncThing):
        async def reset(self) -> None:  # type: ignore[override]
            await asyncio.sleep(HANG_GUARD_S)

    async def main() -> None:
        async def make() -> SlowReset:
            return SlowReset(0)

        pool = AsyncConnectionPool("ds0", make, min_size=0, max_size=1, timeout=HANG_GUARD_S)
        connection = await pool.acquire()
        releasing = asyncio.create_task(pool.release(connection))
        await asyncio.sleep(0.01)
        releasing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await releasing
        assert connection.closed
        assert pool.in_use == 0
        again = await asyncio.wait_for(pool.acquire(), HANG_GUARD_S)  # the slot is free
        assert again is not connection

    asyncio.run(main())


# -- resizing (a configuration reload) -----------------------------------------------------


def test_a_smaller_pool_closes_idle_extras_now_and_the_rest_as_they_come_back() -> None:
    factory = Factory()
    pool = ConnectionPool("ds0", factory, min_size=0, max_size=4, timeout=HANG_GUARD_S)
    held = [pool.acquire() for _ in range(4)]
    pool.release(held[0])
    pool.release(held[1])
    pool.resize(0, 1, HANG_GUARD_S)
    assert [thing.closed for thing in held] == [True, True, False, False]  # idle ones go now
    pool.release(held[2])
    assert held[2].closed  # still over the new size when it came back
    pool.release(held[3])
    assert not held[3].closed  # the one connection the pool keeps
    assert pool.stats() == {"size": 1, "in_use": 0, "idle": 1, "waiting": 0, "max_size": 1}


def test_a_bigger_pool_lets_a_waiting_thread_open_a_connection() -> None:
    factory = Factory()
    pool = ConnectionPool("ds0", factory, min_size=0, max_size=1, timeout=HANG_GUARD_S)
    pool.acquire()
    got: list[Thing] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()), daemon=True)
    waiter.start()
    pause = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.01)):
        if pool.stats()["waiting"] == 1:
            break
        pause.wait(0.01)
    pool.resize(0, 2, HANG_GUARD_S)
    waiter.join(HANG_GUARD_S)
    assert got == [factory.made[1]]
    with pytest.raises(ValueError, match="min_size <= max_size"):
        pool.resize(3, 2, HANG_GUARD_S)


def test_an_async_pool_resizes_like_the_thread_one() -> None:
    async def scenario() -> list[bool]:
        factory = Factory()
        pool = AsyncConnectionPool(
            "ds0", factory.make_async, min_size=0, max_size=2, timeout=HANG_GUARD_S
        )
        first, second = await pool.acquire(), await pool.acquire()
        await pool.resize(0, 1, HANG_GUARD_S)
        await pool.release(first)
        await pool.release(second)
        return [thing.closed for thing in factory.made]

    assert asyncio.run(scenario()) == [True, False]
