"""``cluster.move_tenant``: a move on a thread of its own, watched, stopped, resumed,
aborted and cleaned up through its handle, on both fronts."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb.admin import MoveHandle, MoveSettings, MoveStoppedError, move_status
from tenantdb.core.moves import MoveState

from .conftest import Backend
from .test_move_tenant import ORDERS, config, leftovers, rows

HANG_GUARD_S = 60.0
SMALL_CHUNKS = MoveSettings(chunk_rows=50, chunk_s=None)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, ORDERS)
    document = config(backend, urls, f"sqlite:///{tmp_path}/registry.db")
    document["moves"] = {"cleanup_wait": "1h"}
    with tenantdb.connect(document) as cluster, cluster.session(tenant="acme") as session:
        session.executemany(
            "INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)",
            [(i, i, f"acme-{i}") for i in range(1, 501)],
        )
    return urls, document


def wait_until(handle: MoveHandle, step: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while handle.progress.step != step:
        assert not handle.done(), handle.wait()
        assert time.monotonic() < deadline, handle  # a hang guard, not a time limit
        time.sleep(0.005)


class Pause:
    """A step listener that holds the mover at the ``n``-th ``step`` until released."""

    def __init__(self, step: str, n: int = 1) -> None:
        self.reached = threading.Event()
        self._release = threading.Event()
        self._step, self._left = step, n

    def __call__(self, step: str, state: MoveState) -> None:
        if step == self._step:
            self._left -= 1
            if self._left == 0:
                self.reached.set()
                assert self._release.wait(HANG_GUARD_S)

    def hold(self) -> None:
        assert self.reached.wait(HANG_GUARD_S)

    def release(self) -> None:
        self._release.set()


def test_a_handle_shows_progress_and_returns_the_cut_over_state(
    backend: Backend, world: tuple[list[str], dict[str, Any]], front: Front
) -> None:
    urls, document = world
    with front.connect(document) as cluster:
        handle = cluster.move_tenant("acme", "ds1", settings=SMALL_CHUNKS)
        seen: list[int] = []
        while not handle.done():
            seen.append(handle.progress.copied_rows)
            time.sleep(0.001)
        state = handle.wait(HANG_GUARD_S)
        assert state.phase == "cleaning"
        assert handle.progress.copied_rows == 500
        assert handle.progress.phase == "cleaning"
        assert (handle.progress.tables_copied, handle.progress.tables) == (1, 1)
        assert seen == sorted(seen)  # the count only grows
        assert "finished: 500 rows copied, 1/1 tables" in repr(handle)
        assert cluster.tenants.get("acme").datasource == "ds1"
        # The awaitable form, on an event loop: the same outcome.
        assert asyncio.run(_finished(handle)) == state
    assert len(rows(backend, urls[1], "acme")) == 500


async def _finished(handle: MoveHandle) -> MoveState:
    return await handle.finished()


def test_a_stopped_move_is_resumed_to_its_end(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    with tenantdb.connect(document) as cluster:
        pause = Pause("chunk copied", 3)
        handle = cluster.move_tenant("acme", "ds1", settings=SMALL_CHUNKS, on_step=pause)
        pause.hold()
        handle.stop(0)  # asks only: the mover is held
        pause.release()
        with pytest.raises(MoveStoppedError, match="resume it or abort it"):
            handle.wait(HANG_GUARD_S)
        (stopped,) = move_status(cluster, "acme")
        assert stopped.phase == "copying"
        assert sum(t.copied_rows for t in stopped.tables) == 150
        assert cluster.tenants.get("acme").datasource == "ds0"

        resumed = cluster.move_tenant("acme", resume=True)
        assert resumed.wait(HANG_GUARD_S).phase == "cleaning"
    assert rows(backend, urls[1], "acme") == rows(backend, urls[0], "acme")
    assert len(rows(backend, urls[1], "acme")) == 500


def test_a_handle_aborts_its_move(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    before = rows(backend, urls[0], "acme")
    with tenantdb.connect(document) as cluster:
        pause = Pause("chunk copied")
        handle = cluster.move_tenant("acme", "ds1", settings=SMALL_CHUNKS, on_step=pause)
        pause.hold()
        handle.stop(0)
        pause.release()
        assert handle.abort(HANG_GUARD_S).phase == "aborted"
        assert cluster.tenants.get("acme").datasource == "ds0"
    assert rows(backend, urls[0], "acme") == before
    assert rows(backend, urls[1], "acme") == []
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_cleanup_after_cleans_up_once_the_wait_has_passed(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    with tenantdb.connect(document) as cluster:
        # cleanup_wait is an hour here: the handle's own wait is the caller's choice.
        handle = cluster.move_tenant("acme", "ds1", cleanup_after_s=0.3)
        state = handle.wait(HANG_GUARD_S)
        assert state.phase == "done"
        history = dict(state.history)
        assert history["unfencing"] - history["cleaning"] >= 0.3
    assert rows(backend, urls[0], "acme") == []
    assert len(rows(backend, urls[1], "acme")) == 500
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_a_stop_while_waiting_for_the_cleanup_leaves_it_to_a_command(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    with tenantdb.connect(document) as cluster:
        handle = cluster.move_tenant("acme", "ds1", cleanup_after_s=3600)
        wait_until(handle, "waiting for the cleanup")
        with pytest.raises(TimeoutError, match="still running"):
            handle.wait(0.01)
        handle.stop(HANG_GUARD_S)
        with pytest.raises(MoveStoppedError):
            handle.wait(HANG_GUARD_S)
        (state,) = move_status(cluster, "acme")
        assert state.phase == "cleaning"
    assert len(rows(backend, urls[0], "acme")) == 500  # nothing deleted


def test_planning_errors_come_from_wait_and_bad_calls_at_once(
    world: tuple[list[str], dict[str, Any]],
) -> None:
    _, document = world
    with tenantdb.connect(document) as cluster:
        handle = cluster.move_tenant("acme", "ds9")
        with pytest.raises(tenantdb.ProgrammingError, match="no datasource 'ds9'"):
            handle.wait(HANG_GUARD_S)
        with pytest.raises(tenantdb.ProgrammingError, match="either a datasource"):
            cluster.move_tenant("acme", "ds1", resume=True)
        with pytest.raises(tenantdb.ProgrammingError, match="either a datasource"):
            cluster.move_tenant("acme")
        with pytest.raises(tenantdb.ProgrammingError, match="0 or more"):
            cluster.move_tenant("acme", "ds1", cleanup_after_s=-1)
