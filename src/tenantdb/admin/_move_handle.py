"""``MoveHandle``: an online tenant move running on a thread of its own, watched and
stopped from the caller's (``cluster.move_tenant``).

The move itself is ``start_move`` / ``resume_move``; the handle only runs it, keeps the
latest state its steps report (phase, rows copied, changes applied) and hands over its
outcome. Stopping is the same as a mover killed at its next step, which every phase is
built to survive: the move stays in its log, to resume or abort.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from dataclasses import dataclass

from ..core.moves import MoveState, Phase
from ..errors import OperationalError, ProgrammingError
from ._move import MoveListener, MoveSettings, abort_move, cleanup_later, resume_move, start_move
from ._view import ClusterView


class MoveStoppedError(OperationalError):
    """The move was stopped on request (``MoveHandle.stop``); its log keeps where it
    stood: resume it (``cluster.move_tenant(tenant, resume=True)``, ``--resume``) or
    abort it."""


@dataclass(frozen=True, slots=True)
class MoveProgress:
    """Where a running move stands, from its latest step."""

    phase: Phase | None
    """None until the move is planned."""
    step: str
    """The latest step (``"chunk copied"``, ``"phase frozen"``, ...)."""
    copied_rows: int
    tables_copied: int
    tables: int


class MoveHandle:
    """A move of ``tenant`` running on a thread: its progress, its outcome, a way to stop.

    ``wait()`` returns the final ``MoveState`` (``cleaning`` after the cut-over, or
    ``done`` when the cleanup ran too) or raises what stopped the mover; ``await
    handle.finished()`` does the same on an event loop. Thread-safe.
    """

    def __init__(
        self,
        view: ClusterView,
        tenant: str,
        to: str | None,
        *,
        settings: MoveSettings,
        cleanup_after_s: float | None,
        on_step: MoveListener | None = None,
    ) -> None:
        if cleanup_after_s is not None and cleanup_after_s < 0:
            raise ProgrammingError(f"cleanup_after_s must be 0 or more, not {cleanup_after_s}")
        self.tenant = tenant
        self.target = to
        self._view = view
        self._settings = settings
        self._cleanup_after_s = cleanup_after_s
        self._listener = on_step
        self._lock = threading.Lock()
        self._state: MoveState | None = None  # only changed under _lock
        self._step = "starting"
        self._stop = threading.Event()
        self._future: concurrent.futures.Future[MoveState] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, name=f"tenantdb-move-{tenant}", daemon=True
        )
        self._thread.start()

    # -- watching ----------------------------------------------------------------------

    @property
    def state(self) -> MoveState | None:
        """The move's state as of its latest step (None before it is planned)."""
        with self._lock:
            return self._state

    @property
    def progress(self) -> MoveProgress:
        with self._lock:
            state, step = self._state, self._step
        if state is None:
            return MoveProgress(None, step, 0, 0, 0)
        return MoveProgress(
            state.phase,
            step,
            sum(t.copied_rows for t in state.tables),
            sum(1 for t in state.tables if t.done),
            len(state.tables),
        )

    def done(self) -> bool:
        """Whether the mover has finished (successfully or not)."""
        return self._future.done()

    def wait(self, timeout_s: float | None = None) -> MoveState:
        """The final state once the mover finishes; raises what stopped it (the move is
        then in its log, to resume or abort), or TimeoutError after ``timeout_s``."""
        try:
            return self._future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"the move of tenant {self.tenant!r} is still running ({self.progress.step})"
            ) from None

    async def finished(self) -> MoveState:
        """``wait()`` for an event loop: awaits the outcome without blocking the loop."""
        return await asyncio.wrap_future(self._future)

    # -- stopping ----------------------------------------------------------------------

    def stop(self, timeout_s: float | None = None) -> None:
        """Ask the mover to stop at its next step and wait for it (at most ``timeout_s``;
        0 only asks). A freeze in progress is lifted first. ``wait()`` then raises
        MoveStoppedError, and the move can be resumed or aborted."""
        self._stop.set()
        self._thread.join(timeout_s)

    def abort(self, timeout_s: float | None = None) -> MoveState:
        """Stop the mover and abort the move (only before its cut-over: see
        ``abort_move``); returns the aborted state."""
        self.stop(timeout_s)
        if self._thread.is_alive():
            raise TimeoutError(f"the mover of tenant {self.tenant!r} did not stop in time")
        return abort_move(self._view, self.tenant)

    # -- the mover's thread ------------------------------------------------------------

    def _on_step(self, step: str, state: MoveState) -> None:
        with self._lock:
            self._state, self._step = state, step
        if self._listener is not None:
            self._listener(step, state)
        if self._stop.is_set():
            raise MoveStoppedError(
                f"the move of tenant {self.tenant!r} was stopped at {state.phase} ({step});"
                " resume it or abort it"
            )

    def _run(self) -> None:
        try:
            if self.target is None:
                state = resume_move(
                    self._view, self.tenant, settings=self._settings, on_step=self._on_step
                )
            else:
                state = start_move(
                    self._view,
                    self.tenant,
                    self.target,
                    settings=self._settings,
                    on_step=self._on_step,
                )
            if self._cleanup_after_s is not None and state.phase in ("cleaning", "unfencing"):
                state = self._cleanup_later(state, self._cleanup_after_s)
        except BaseException as exc:  # handed to wait(); the thread itself ends quietly
            self._future.set_exception(exc)
        else:
            with self._lock:
                self._state = state
            self._future.set_result(state)

    def _cleanup_later(self, state: MoveState, after_s: float) -> MoveState:
        self._on_step("waiting for the cleanup", state)

        def sleep(seconds: float) -> None:
            if self._stop.wait(seconds):
                self._on_step("waiting for the cleanup", state)  # raises MoveStoppedError

        return cleanup_later(self._view, state, after_s, sleep=sleep)

    def __repr__(self) -> str:
        progress = self.progress
        where = "finished" if self.done() else f"{progress.phase or 'starting'}, {progress.step}"
        return (
            f"<MoveHandle {self.tenant!r} → {self.target or '(resumed)'} [{where}:"
            f" {progress.copied_rows} rows copied, {progress.tables_copied}/{progress.tables}"
            " tables]>"
        )


__all__ = ["MoveHandle", "MoveProgress", "MoveStoppedError"]
