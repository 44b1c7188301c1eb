"""``CircuitBreaker``: the state machine of one datasource endpoint (pure; the shell does I/O).

::

    closed ──window has minimum_calls and a rate reached its threshold──▶ open
      ▲                                                                   │
      │                                          first acquire after open_wait_s
      │                                                                   ▼
      └──────permitted_probes probes succeeded, none slow────────── half_open
                                 half_open ──a probe failed or was slow──▶ open

Every change of state starts a new *generation*. A permit remembers the generation it was
granted in, and an outcome recorded with a permit of an older generation is dropped: a
call that started before the breaker opened cannot count against the state that followed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from ._settings import BreakerSettings
from ._window import CountWindow, TimeWindow

BreakerState = Literal["closed", "open", "half_open", "disabled"]
"""``closed``: calls pass and are counted; ``open``: calls are refused until ``retry_at``;
``half_open``: up to ``permitted_probes`` calls pass as probes, the rest are refused;
``disabled``: the settings turned the breaker off (it permits everything, for good)."""

Outcome = Literal["success", "failure", "ignored"]
"""How a permitted call ended, as the shell classifies it (see ``CircuitBreaker.record``)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of state, for logs and metrics: ``at`` is the ``now`` (monotonic seconds)
    of the call that caused it, ``reason`` a sentence saying why."""

    from_state: BreakerState
    to_state: BreakerState
    at: float
    reason: str


@dataclass(frozen=True, slots=True, eq=False)
class Permit:
    """Leave to make one call. Pass it back to exactly one of ``CircuitBreaker.record`` or
    ``CircuitBreaker.cancel`` when the call ends, however it ends.

    ``generation`` is the breaker state the permit was granted in; ``probe`` is 0 for an
    ordinary call (closed or disabled breaker) and a number unique to this permit for a
    half-open probe. ``transition`` is set when granting the permit moved the breaker
    (open to half-open), so the caller can log it. All ordinary permits of one closed
    period are the same object: they carry nothing that tells them apart.
    """

    generation: int
    probe: int = 0
    transition: Transition | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The breaker refused the call: send nothing to the endpoint.

    ``retry_at`` (monotonic seconds, the breaker's clock) is when an acquire can next be
    granted: the end of the open wait, or for a half-open breaker whose probes are all in
    flight the time of the refusal itself (a probe may finish at any moment). ``reason``
    says which breaker refused and why; ``state`` is ``"open"`` or ``"half_open"``.
    """

    retry_at: float
    reason: str
    state: BreakerState


class CircuitBreaker:
    """A circuit breaker for one datasource endpoint (``name``, e.g. ``"ds0 primary"``).

    Use: ``acquire(now)`` before sending a statement; on ``Rejected`` send nothing and fail
    fast. On a ``Permit``, after the call, ``record(permit, outcome, duration_s, now)``, or
    ``cancel(permit)`` if the call was abandoned before it had an outcome.

    The caller (the I/O shell) alone decides what an outcome is. ``"failure"`` is for
    connection-level failures and timeouts only: the endpoint could not be reached, the
    connection broke, the statement or the connect timed out. Anything the server answered
    (a constraint violation, a syntax error, a statement tenantdb refused before sending) is
    ``"ignored"``: it releases the permit and counts nothing, since the endpoint is healthy.
    ``cancel`` is for a call cut short from outside (an asyncio cancellation, a client
    deadline that is not the statement timeout): it releases a half-open probe so the
    breaker can grant another, and counts nothing.

    Times are the caller's monotonic clock in float seconds, passed as ``now``. All methods
    are thread-safe: state changes under a small lock held only for the arithmetic, and
    ``acquire`` on a closed breaker takes no lock at all. Counters (``opened_count``,
    ``half_opened_count``, ``closed_count``, ``rejected_count``) only grow and may be read
    at any time.
    """

    __slots__ = (
        "_fast_permit",
        "_generation",
        "_lock",
        "_next_probe",
        "_probes",
        "_probes_succeeded",
        "_reason",
        "_rejection",
        "_retry_at",
        "_since",
        "_state",
        "_window",
        "closed_count",
        "half_opened_count",
        "name",
        "opened_count",
        "rejected_count",
        "settings",
    )

    def __init__(self, settings: BreakerSettings, *, name: str) -> None:
        self.settings = settings
        self.name = name
        self._lock = threading.Lock()
        self._window: CountWindow | TimeWindow = (
            CountWindow(settings.window_size)
            if settings.window == "count"
            else TimeWindow(settings.window_size)
        )
        # Everything below changes only under _lock.
        self._state: BreakerState = "closed" if settings.enabled else "disabled"
        self._generation = 0
        self._since: float | None = None
        self._reason = ""
        self._retry_at = 0.0
        # The one permit of the current closed (or disabled) period, None otherwise: read
        # without the lock by acquire, so it is swapped in one assignment.
        self._fast_permit: Permit | None = Permit(0)
        self._rejection: Rejected | None = None
        self._probes: set[int] = set()
        self._next_probe = 0
        self._probes_succeeded = 0
        self.opened_count = 0
        self.half_opened_count = 0
        self.closed_count = 0
        self.rejected_count = 0

    def acquire(self, now: float) -> Permit | Rejected:
        """Ask leave to send one call at ``now``.

        Closed or disabled: a ``Permit`` at once. Open: ``Rejected`` until ``retry_at``;
        the first acquire from then on moves the breaker to half-open and gets the first
        probe (its ``transition`` says so). Half-open: a probe while fewer than
        ``permitted_probes`` probes are in flight or have succeeded, else ``Rejected``.
        A call that races the breaker's opening may still get the closed permit; its
        outcome is then dropped, as it belongs to the previous state.
        """
        permit = self._fast_permit
        if permit is not None:
            return permit
        with self._lock:
            state = self._state
            if state == "open":
                if now < self._retry_at:
                    self.rejected_count += 1
                    assert self._rejection is not None  # set with every move to open
                    return self._rejection
                transition = self._move(
                    "half_open", now, f"{self.settings.open_wait_s:g} s passed since it opened"
                )
                self.half_opened_count += 1
                return self._grant_probe(transition)
            if state == "half_open":
                in_flight = len(self._probes)
                if in_flight + self._probes_succeeded < self.settings.permitted_probes:
                    return self._grant_probe(None)
                self.rejected_count += 1
                return Rejected(
                    now,
                    f"circuit breaker {self.name} is half-open: {in_flight} of "
                    f"{self.settings.permitted_probes} probes in flight",
                    "half_open",
                )
            # Closed again between the unlocked read and the lock.
            assert self._fast_permit is not None
            return self._fast_permit

    def record(
        self, permit: Permit, outcome: Outcome, duration_s: float, now: float
    ) -> Transition | None:
        """Count how a permitted call ended at ``now``; return the change of state it
        caused, if any.

        ``outcome`` is ``"success"``, ``"failure"`` or ``"ignored"`` (see the class
        docstring for which is which); ``duration_s`` is how long the call took, and a
        call of ``settings.slow_call_s`` or longer is slow, whether it succeeded or failed.
        Closed: the call enters the window, and the breaker opens if the window now holds
        ``minimum_calls`` calls and a rate reached its threshold. Half-open: a failed or
        slow probe opens the breaker again; the last of ``permitted_probes`` successful
        probes closes it with an empty window. Dropped without effect: ``"ignored"``
        outcomes (the permit is released), permits of an older generation, a probe
        recorded or cancelled before, and everything on a disabled breaker.

        Raises ValueError for an outcome that is none of the three.
        """
        failed = outcome == "failure"
        if not failed and outcome != "success" and outcome != "ignored":
            raise ValueError(f"outcome must be 'success', 'failure' or 'ignored', got {outcome!r}")
        if self._state == "disabled":
            return None
        slow = duration_s >= self.settings.slow_call_s
        with self._lock:
            if permit.generation != self._generation:
                return None
            if permit.probe:
                return self._record_probe(permit.probe, outcome, failed, slow, duration_s, now)
            if outcome == "ignored":
                return None
            window = self._window
            window.add(failed, slow, now)
            calls = window.calls
            settings = self.settings
            # Inline and allocation-free: this runs after every call of a closed breaker.
            if calls < settings.minimum_calls or (
                window.failures * 100 < settings.failure_rate_percent * calls
                and window.slow * 100 < settings.slow_call_rate_percent * calls
            ):
                return None
            return self._open(now, self._trip_reason())

    def cancel(self, permit: Permit) -> None:
        """Release a permit whose call was abandoned before it had an outcome; count
        nothing. A cancelled half-open probe frees its place for another acquire; any
        other permit (an ordinary call, a stale or already released probe) needs nothing."""
        if not permit.probe:
            return
        with self._lock:
            if permit.generation == self._generation:
                self._probes.discard(permit.probe)

    def state(self, now: float) -> BreakerState:
        """The state an ``acquire`` at ``now`` would meet: an open breaker whose wait is
        over reads ``"half_open"``, though it moves only at that acquire."""
        with self._lock:
            return self._state_at(now)

    def snapshot(self, now: float) -> dict[str, Any]:
        """The breaker as a plain JSON-ready dict for ``cluster.status()``.

        Keys: ``name``; ``state`` (as ``state(now)``); ``since`` (monotonic seconds of the
        last change of state, None before any) and ``reason`` (why, "" before any);
        ``retry_at`` (end of the open wait while open, else None); ``window``
        (``"count"``/``"time"``) and ``window_size``; ``calls_in_window``,
        ``failure_rate_percent`` and ``slow_call_rate_percent`` over the window (the rates
        None while it is empty; while open or half-open, the window that opened it);
        ``probes_in_flight``, ``probes_succeeded`` and ``permitted_probes``; the counters.
        """
        with self._lock:
            window = self._window
            window.expire(now)
            calls = window.calls
            return {
                "name": self.name,
                "state": self._state_at(now),
                "since": self._since,
                "reason": self._reason,
                "retry_at": self._retry_at if self._state == "open" else None,
                "window": self.settings.window,
                "window_size": self.settings.window_size,
                "calls_in_window": calls,
                "failure_rate_percent": 100.0 * window.failures / calls if calls else None,
                "slow_call_rate_percent": 100.0 * window.slow / calls if calls else None,
                "probes_in_flight": len(self._probes),
                "probes_succeeded": self._probes_succeeded,
                "permitted_probes": self.settings.permitted_probes,
                "opened_count": self.opened_count,
                "half_opened_count": self.half_opened_count,
                "closed_count": self.closed_count,
                "rejected_count": self.rejected_count,
            }

    def __repr__(self) -> str:
        state = self._state
        if state == "open":
            detail = f"open until {self._retry_at:g}: {self._reason}"
        elif state == "half_open":
            detail = (
                f"half_open, {len(self._probes)} probes in flight, {self._probes_succeeded} "
                f"of {self.settings.permitted_probes} succeeded"
            )
        elif state == "closed":
            window = self._window
            detail = f"closed, {window.calls} calls: {window.failures} failed, {window.slow} slow"
        else:
            detail = state
        return f"<CircuitBreaker {self.name!r} [{detail}]>"

    # Everything below runs under _lock.

    def _state_at(self, now: float) -> BreakerState:
        if self._state == "open" and now >= self._retry_at:
            return "half_open"
        return self._state

    def _record_probe(
        self, probe: int, outcome: Outcome, failed: bool, slow: bool, duration_s: float, now: float
    ) -> Transition | None:
        if probe not in self._probes:
            return None
        self._probes.discard(probe)
        if outcome == "ignored":
            return None
        if failed:
            return self._open(now, "a half-open probe failed")
        if slow:
            return self._open(
                now,
                f"a half-open probe was slow ({duration_s:.3g} s >= "
                f"{self.settings.slow_call_s:g} s)",
            )
        self._probes_succeeded += 1
        if self._probes_succeeded < self.settings.permitted_probes:
            return None
        self._window.reset()
        transition = self._move(
            "closed", now, f"{self.settings.permitted_probes} half-open probes succeeded"
        )
        self._fast_permit = Permit(self._generation)
        self.closed_count += 1
        return transition

    def _trip_reason(self) -> str:
        """Why the window just opened the breaker (which record has already decided)."""
        window = self._window
        calls = window.calls
        settings = self.settings
        reasons: list[str] = []
        if window.failures * 100 >= settings.failure_rate_percent * calls:
            reasons.append(
                f"failure rate {100 * window.failures / calls:.3g}% >= "
                f"{settings.failure_rate_percent:g}%"
            )
        if window.slow * 100 >= settings.slow_call_rate_percent * calls:
            reasons.append(
                f"slow-call rate {100 * window.slow / calls:.3g}% >= "
                f"{settings.slow_call_rate_percent:g}% (calls of {settings.slow_call_s:g} s "
                "or more)"
            )
        over = (
            f"the last {calls} calls"
            if settings.window == "count"
            else f"{calls} calls in the last {settings.window_size} s"
        )
        return f"{' and '.join(reasons)} over {over}"

    def _open(self, now: float, reason: str) -> Transition:
        transition = self._move("open", now, reason)
        self._retry_at = now + self.settings.open_wait_s
        self._rejection = Rejected(
            self._retry_at, f"circuit breaker {self.name} is open: {reason}", "open"
        )
        self.opened_count += 1
        return transition

    def _grant_probe(self, transition: Transition | None) -> Permit:
        self._next_probe += 1
        self._probes.add(self._next_probe)
        return Permit(self._generation, self._next_probe, transition)

    def _move(self, new: BreakerState, now: float, reason: str) -> Transition:
        transition = Transition(self._state, new, now, reason)
        self._state = new
        self._generation += 1
        self._since = now
        self._reason = reason
        self._fast_permit = None
        self._probes.clear()
        self._probes_succeeded = 0
        return transition
