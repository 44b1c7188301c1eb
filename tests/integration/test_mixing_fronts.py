"""Mixing the two fronts is refused with an error that names the right call, and nothing
hangs: a plain ``with`` on the asyncio front's objects, ``async with`` or ``await`` on the
thread front's, and an asyncio cluster used from a second event loop (or thread)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

import tenantdb

HANG_GUARD_S = 30.0


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    return {
        "datasources": {"ds0": {"url": f"sqlite:///{tmp_path / 'ds0.db'}"}},
        "tables": {"notes": {"strategy": "single", "tenant_scoped": False}},
    }


def test_a_plain_with_on_the_asyncio_front_names_async_with(config: dict[str, Any]) -> None:
    cluster = tenantdb.connect_async(config)
    session = cluster.session()
    with pytest.raises(tenantdb.InterfaceError, match="use `async with`"):
        session.__enter__()
    with pytest.raises(tenantdb.InterfaceError, match=r"AsyncCluster belongs to the asyncio"):
        cluster.__enter__()
    asyncio.run(cluster.aclose())


def test_async_with_or_await_on_the_thread_front_names_with(config: dict[str, Any]) -> None:
    cluster = tenantdb.connect(config)

    async def misuse() -> list[str]:
        messages = []
        with pytest.raises(tenantdb.InterfaceError, match="use `with`") as entered:
            async with cluster.session():
                pass
        messages.append(str(entered.value))
        with pytest.raises(tenantdb.InterfaceError, match="not awaitable") as awaited:
            await cluster.session()  # type: ignore[misc]
        messages.append(str(awaited.value))
        with pytest.raises(tenantdb.InterfaceError, match="connect_async"):
            async with cluster:
                pass
        return messages

    messages = asyncio.run(asyncio.wait_for(misuse(), HANG_GUARD_S))
    assert all("tenantdb.connect_async()" in message for message in messages)
    cluster.close()


def test_an_asyncio_cluster_refuses_a_second_event_loop(config: dict[str, Any]) -> None:
    cluster = tenantdb.connect_async(config)

    async def write(body: str) -> None:
        async with cluster.session(admin=True) as session:
            await session.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER, body TEXT)")
            await session.execute("INSERT INTO notes (id, body) VALUES (1, %s)", (body,))

    asyncio.run(asyncio.wait_for(write("first loop"), HANG_GUARD_S))
    # asyncio.run makes a new loop: the pools belong to the first one.
    with pytest.raises(tenantdb.InterfaceError, match="another event loop"):
        asyncio.run(asyncio.wait_for(write("second loop"), HANG_GUARD_S))

    # The same from another thread with its own loop.
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            asyncio.run(asyncio.wait_for(write("another thread"), HANG_GUARD_S))
        except BaseException as exc:  # checked below
            errors.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert [type(e) for e in errors] == [tenantdb.InterfaceError]
    assert "create one cluster per event loop" in str(errors[0])
    with tenantdb.connect(config) as check, check.session(admin=True) as session:
        assert session.execute("SELECT body FROM notes").fetchall() == [("first loop",)]


def test_a_session_opened_on_one_loop_is_refused_on_another(config: dict[str, Any]) -> None:
    cluster = tenantdb.connect_async(config)
    session = cluster.session(admin=True)

    async def first() -> None:
        await session.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER, body TEXT)")

    async def second() -> None:
        await session.execute("SELECT count(*) FROM notes")

    asyncio.run(asyncio.wait_for(first(), HANG_GUARD_S))
    with pytest.raises(tenantdb.InterfaceError, match="another event loop"):
        asyncio.run(asyncio.wait_for(second(), HANG_GUARD_S))
