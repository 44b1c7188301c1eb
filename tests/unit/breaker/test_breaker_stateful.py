"""A Hypothesis state machine drives a breaker with acquire, record, cancel and the clock,
and checks each answer against a reference model written from the specification."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from hypothesis import event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tenantdb.core.breaker import (
    BreakerSettings,
    BreakerState,
    CircuitBreaker,
    Outcome,
    Permit,
    Rejected,
    WindowKind,
)

SLOW_S = 1.0
WAIT_S = 5.0
# Which held permit a rule takes, counted from the newest: often the newest, so that a
# fresh probe is recorded rather than one of the closed permits held from before.
NEWEST_FIRST = st.just(0) | st.integers(0, 100)


@dataclass
class Held:
    """A permit the test holds, with the model's era it was granted in."""

    permit: Permit
    era: int
    probe: bool


@dataclass
class Model:
    """What the breaker must do, kept in the plainest terms: a list of outcomes."""

    kind: WindowKind
    window_size: int
    minimum_calls: int
    failure_pct: int
    slow_pct: int
    probes: int
    state: BreakerState = "closed"
    era: int = 0  # a new era at every change of state
    retry_at: float = 0.0
    # (second, failed, slow) of every call counted since the breaker last closed
    calls: list[tuple[int, bool, bool]] = field(default_factory=list)
    in_flight: int = 0
    succeeded: int = 0

    def window(self, now: float) -> list[tuple[bool, bool]]:
        """The calls the window holds at ``now``: the last ``window_size`` calls, or those
        of the current second and the ``window_size - 1`` before it."""
        if self.kind == "count":
            kept = self.calls[-self.window_size :]
        else:
            kept = [c for c in self.calls if c[0] > math.floor(now) - self.window_size]
        return [(failed, slow) for _, failed, slow in kept]

    def should_open(self, now: float) -> bool:
        window = self.window(now)
        calls = len(window)
        if calls < self.minimum_calls:
            return False
        failures = sum(f for f, _ in window)
        slow = sum(s for _, s in window)
        return (
            Fraction(100 * failures, calls) >= self.failure_pct
            or Fraction(100 * slow, calls) >= self.slow_pct
        )

    def move(self, state: BreakerState, now: float) -> None:
        self.state = state
        self.era += 1
        self.in_flight = self.succeeded = 0
        if state == "open":
            self.retry_at = now + WAIT_S
        if state == "closed":
            self.calls = []


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.held: list[Held] = []

    @initialize(
        kind=st.sampled_from(["count", "time"]),
        window_size=st.integers(1, 6),
        minimum=st.integers(1, 6),
        # round percentages often, so that a rate lands exactly on its threshold
        failure_pct=st.sampled_from([20, 25, 50, 75, 100]) | st.integers(1, 100),
        slow_pct=st.sampled_from([20, 25, 50, 75, 100]) | st.integers(1, 100),
        probes=st.integers(1, 3),
    )
    def setup(
        self,
        kind: WindowKind,
        window_size: int,
        minimum: int,
        failure_pct: int,
        slow_pct: int,
        probes: int,
    ) -> None:
        if kind == "count":
            minimum = min(minimum, window_size)
        self.breaker = CircuitBreaker(
            BreakerSettings(
                window=kind,
                window_size=window_size,
                minimum_calls=minimum,
                failure_rate_percent=failure_pct,
                slow_call_rate_percent=slow_pct,
                slow_call_s=SLOW_S,
                open_wait_s=WAIT_S,
                permitted_probes=probes,
            ),
            name="ds1 replica 0",
        )
        self.model = Model(kind, window_size, minimum, failure_pct, slow_pct, probes)

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 2.5, 4.999, 5.0, 7.0]))
    def advance(self, seconds: float) -> None:
        self.now += seconds

    @rule()
    def acquire(self) -> None:
        model, now = self.model, self.now
        result = self.breaker.acquire(now)
        if model.state == "open":
            if now < model.retry_at:
                assert isinstance(result, Rejected), "open permitted before retry_at"
                assert result.retry_at == model.retry_at
                return
            assert isinstance(result, Permit)
            assert result.transition is not None
            assert (result.transition.from_state, result.transition.to_state) == (
                "open",
                "half_open",
            )
            model.move("half_open", now)
        elif model.state == "half_open":
            if model.in_flight + model.succeeded >= model.probes:
                assert isinstance(result, Rejected)
                return
            assert isinstance(result, Permit)
            assert result.transition is None
        else:
            assert isinstance(result, Permit)
            assert result.transition is None
        probe = model.state == "half_open"
        if probe:
            model.in_flight += 1
        self.held.append(Held(result, model.era, probe))

    @precondition(lambda self: bool(self.held))
    @rule(
        pick=NEWEST_FIRST,
        outcome=st.sampled_from(["success", "failure", "ignored"]),
        duration_s=st.sampled_from([0.01, SLOW_S - 0.001, SLOW_S, 3.0]),
    )
    def record(self, pick: int, outcome: Outcome, duration_s: float) -> None:
        model, now = self.model, self.now
        held = self.held.pop(-1 - pick % len(self.held))
        before = self.breaker.snapshot(now)
        transition = self.breaker.record(held.permit, outcome, duration_s, now)
        failed, slow = outcome == "failure", duration_s >= SLOW_S
        expected: BreakerState | None = None
        if held.era != model.era:
            pass  # from a state that has ended: no effect
        elif held.probe:
            model.in_flight -= 1
            if outcome == "ignored":
                pass
            elif failed or slow:
                expected = "open"
            else:
                model.succeeded += 1
                event(f"probe {model.succeeded} of {model.probes} succeeded")
                if model.succeeded == model.probes:
                    expected = "closed"
        elif outcome != "ignored":
            model.calls.append((math.floor(now), failed, slow))
            if model.should_open(now):
                expected = "open"
        if outcome == "ignored" or held.era != model.era:
            after = self.breaker.snapshot(now)
            for key in ("calls_in_window", "failure_rate_percent", "slow_call_rate_percent"):
                assert after[key] == before[key], f"an ignored or stale call changed {key}"
        if expected is None:
            assert transition is None
            return
        assert transition is not None
        assert (transition.from_state, transition.to_state) == (model.state, expected)
        assert transition.at == now
        model.move(expected, now)

    @precondition(lambda self: bool(self.held))
    @rule(pick=NEWEST_FIRST)
    def cancel(self, pick: int) -> None:
        held = self.held.pop(-1 - pick % len(self.held))
        self.breaker.cancel(held.permit)
        if held.probe and held.era == self.model.era:
            self.model.in_flight -= 1

    @precondition(lambda self: self.model.state == "half_open")
    @rule()
    def cancel_every_probe_then_acquire(self) -> None:
        """Cancelled probes never leave the breaker stuck: a new acquire gets a probe."""
        for held in [h for h in self.held if h.probe]:
            self.held.remove(held)
            self.breaker.cancel(held.permit)
        model = self.model
        model.in_flight = 0
        if model.succeeded < model.probes:
            result = self.breaker.acquire(self.now)
            assert isinstance(result, Permit), result
            model.in_flight += 1
            self.held.append(Held(result, model.era, True))

    @invariant()
    def agrees_with_the_model(self) -> None:
        model, now = self.model, self.now
        snapshot = self.breaker.snapshot(now)
        shown = model.state
        if model.state == "open" and now >= model.retry_at:
            shown = "half_open"
        assert snapshot["state"] == shown
        assert snapshot["probes_in_flight"] == model.in_flight
        assert 0 <= snapshot["probes_in_flight"] <= model.probes
        if model.state == "closed":
            assert snapshot["calls_in_window"] == len(model.window(now))
            if model.kind == "count":
                # A time window is judged at each record, not as calls age out.
                assert not model.should_open(now)


BreakerMachine.TestCase.settings = hypothesis_settings(max_examples=400, stateful_step_count=80)
test_breaker_state_machine = BreakerMachine.TestCase
