"""``ConcurrencyQuota``: permits, a bounded FIFO queue, cancellation races and limit changes."""

from __future__ import annotations

import math
import sys
import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from tenantdb.core.limits import (
    GRANTED,
    ConcurrencyQuota,
    Granted,
    Queued,
    QuotaLimit,
    Refused,
)


def quota_of(max_concurrent: int, max_queued: int = 0) -> ConcurrencyQuota[str]:
    return ConcurrencyQuota(QuotaLimit(max_concurrent=max_concurrent, max_queued=max_queued))


# -- the limit value ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_", "named"),
    [
        ({"max_concurrent": 0}, "max_concurrent >= 1"),
        ({"max_concurrent": -3}, "max_concurrent >= 1"),
        ({"max_concurrent": 1, "max_queued": -1}, "max_queued >= 0"),
        ({"max_concurrent": 1, "queue_timeout_s": -0.5}, "queue_timeout_s"),
        ({"max_concurrent": 1, "queue_timeout_s": math.nan}, "queue_timeout_s"),
        ({"max_concurrent": 1, "queue_timeout_s": math.inf}, "queue_timeout_s"),
    ],
)
def test_impossible_limits_are_refused(settings_: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        QuotaLimit(**settings_)  # type: ignore[arg-type]


def test_a_limit_is_a_frozen_keyword_only_value() -> None:
    limit = QuotaLimit(max_concurrent=4, max_queued=8, queue_timeout_s=2.5)
    assert limit == QuotaLimit(max_concurrent=4, max_queued=8, queue_timeout_s=2.5)
    assert QuotaLimit(max_concurrent=1) == QuotaLimit(
        max_concurrent=1, max_queued=0, queue_timeout_s=None
    )
    with pytest.raises(TypeError):
        QuotaLimit(4)  # type: ignore[call-arg]
    with pytest.raises(AttributeError):
        limit.max_queued = 1  # type: ignore[misc]


# -- acquire, release, the queue ------------------------------------------------------------


def test_permits_are_granted_up_to_the_limit_then_queued_then_refused() -> None:
    quota = quota_of(2, max_queued=2)
    assert quota.acquire("a") is GRANTED
    assert quota.acquire("b") is GRANTED
    assert quota.acquire("c") == Queued(position=1)
    assert quota.acquire("d") == Queued(position=2)
    refused = quota.acquire("e")
    assert refused == Refused(in_use=2, max_concurrent=2, queued=2, max_queued=2)
    assert (quota.in_use, quota.queued) == (2, 2)


def test_without_a_queue_a_busy_quota_refuses_at_once() -> None:
    quota = quota_of(1)
    assert isinstance(quota.acquire("a"), Granted)
    assert isinstance(quota.acquire("b"), Refused)
    assert quota.release() is None
    assert quota.in_use == 0


def test_a_freed_permit_goes_to_the_first_waiter_only() -> None:
    quota = quota_of(1, max_queued=5)
    quota.acquire("running")
    for token in ("w1", "w2", "w3"):
        quota.acquire(token)
    # One waiter woken per release, in arrival order, never all of them (aiolimiter #73).
    assert [quota.release(), quota.release(), quota.release(), quota.release()] == [
        "w1",
        "w2",
        "w3",
        None,
    ]
    assert (quota.in_use, quota.queued) == (0, 0)


def test_nobody_barges_past_the_queue() -> None:
    quota = quota_of(1, max_queued=2)
    quota.acquire("a")
    quota.acquire("w")
    assert quota.release() == "w"  # the permit went to w, not back to the pool ...
    assert quota.acquire("late") == Queued(position=1)  # ... so a newcomer waits
    assert quota.in_use == 1


def test_a_queued_waiter_that_gives_up_just_leaves() -> None:
    quota = quota_of(1, max_queued=3)
    quota.acquire("a")
    for token in ("w1", "w2", "w3"):
        quota.acquire(token)
    assert quota.cancel("w2") is None
    assert (quota.in_use, quota.queued) == (1, 2)
    assert quota.release() == "w1"
    assert quota.release() == "w3"


def test_a_waiter_that_gives_up_after_being_handed_the_permit_passes_it_on() -> None:
    quota = quota_of(1, max_queued=3)
    quota.acquire("a")
    quota.acquire("w1")
    quota.acquire("w2")
    assert quota.release() == "w1"  # w1 holds the permit, but timed out before waking
    assert quota.cancel("w1") == "w2"
    assert (quota.in_use, quota.queued) == (1, 0)
    assert quota.release() is None
    assert quota.in_use == 0


def test_a_handed_permit_cancelled_with_nobody_waiting_returns_to_the_pool() -> None:
    quota = quota_of(1, max_queued=1)
    quota.acquire("a")
    quota.acquire("w")
    assert quota.release() == "w"
    assert quota.cancel("w") is None
    assert quota.in_use == 0
    assert quota.acquire("b") is GRANTED


def test_misuse_is_refused_rather_than_miscounted() -> None:
    quota = quota_of(1, max_queued=2)
    with pytest.raises(RuntimeError, match="release"):
        quota.release()
    with pytest.raises(RuntimeError, match="cancel"):
        quota.cancel("never-seen")
    quota.acquire("a")
    quota.acquire("w")
    with pytest.raises(ValueError, match="already queued"):
        quota.acquire("w")
    assert (quota.in_use, quota.queued) == (1, 1)


# -- limit changes --------------------------------------------------------------------------


def test_a_raised_limit_admits_waiters_in_order() -> None:
    quota = quota_of(1, max_queued=5)
    quota.acquire("a")
    for token in ("w1", "w2", "w3", "w4"):
        quota.acquire(token)
    assert quota.set_limit(QuotaLimit(max_concurrent=3, max_queued=5)) == ["w1", "w2"]
    assert (quota.in_use, quota.queued) == (3, 2)
    assert quota.release() == "w3"


def test_a_lowered_limit_lets_statements_finish_and_grants_nothing_until_below() -> None:
    quota = quota_of(3, max_queued=5)
    for token in ("a", "b", "c"):
        quota.acquire(token)
    quota.acquire("w")
    assert quota.set_limit(QuotaLimit(max_concurrent=1, max_queued=5)) == []
    assert quota.in_use == 3  # nobody is stopped
    assert quota.acquire("x") == Queued(position=2)
    assert quota.release() is None  # 2 in use, limit 1
    assert quota.release() is None  # 1 in use, limit 1
    assert quota.release() == "w"  # below the limit: the first waiter goes
    assert quota.in_use == 1


def test_a_lowered_queue_bound_keeps_those_queued_and_refuses_newcomers() -> None:
    quota = quota_of(1, max_queued=3)
    quota.acquire("a")
    for token in ("w1", "w2", "w3"):
        quota.acquire(token)
    assert quota.set_limit(QuotaLimit(max_concurrent=1, max_queued=1)) == []
    assert quota.queued == 3
    assert isinstance(quota.acquire("late"), Refused)
    assert [quota.release(), quota.release()] == ["w1", "w2"]
    assert isinstance(quota.acquire("still-late"), Refused)  # w3 fills the one place
    assert quota.release() == "w3"
    assert quota.acquire("now-fits") == Queued(position=1)


def test_repr_shows_the_counts() -> None:
    quota = quota_of(2, max_queued=4)
    quota.acquire("a")
    assert repr(quota) == "<ConcurrencyQuota [1 in use of 2, 0 queued of 4]>"


# -- the stateful model ---------------------------------------------------------------------


class QuotaMachine(RuleBasedStateMachine):
    """Drives one quota the way the shell does and checks its contract after every step.

    Every token is in exactly one place of the shell's bookkeeping: ``queue`` (waiting, in
    acquire order), ``handed`` (given a permit by release/cancel/set_limit, not yet awake),
    ``running`` (holding a permit, statement in flight) or ``gone``. The rules are the
    shell's moves; the checks are the contract, not a copy of the implementation: a permit is
    held by exactly the tokens in ``handed`` and ``running``; grants go to the oldest waiter,
    one per freed permit, and only below the limit; a cancelled token never holds or receives
    a permit; ``in_use`` exceeds ``max_concurrent`` only after a lowering and never grows
    while it does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.quota: ConcurrencyQuota[int] = ConcurrencyQuota(
            QuotaLimit(max_concurrent=2, max_queued=3)
        )
        self.next_token = 0
        self.queue: list[int] = []
        self.handed: set[int] = set()
        self.running: set[int] = set()
        self.gone: set[int] = set()
        # The most permits that may be in use: the limit, or after a lowering what was in use
        # then, shrinking as those statements finish.
        self.ceiling = 2

    def woken(self, tokens: list[int], in_use_before: int) -> None:
        """Record tokens handed a permit, checking they are the oldest waiters, in order,
        and that each was handed a permit that was free under the limit."""
        assert tokens == self.queue[: len(tokens)], (tokens, self.queue)
        assert in_use_before + len(tokens) <= self.quota.limit.max_concurrent or not tokens
        assert not set(tokens) & self.gone
        del self.queue[: len(tokens)]
        self.handed.update(tokens)

    @rule()
    def acquire(self) -> None:
        token, self.next_token = self.next_token, self.next_token + 1
        limit, in_use, queued = self.quota.limit, self.quota.in_use, self.quota.queued
        decision = self.quota.acquire(token)
        if isinstance(decision, Granted):
            assert in_use < limit.max_concurrent
            assert queued == 0  # no barging past waiters
            self.running.add(token)
        elif isinstance(decision, Queued):
            assert queued < limit.max_queued
            assert decision.position == queued + 1
            self.queue.append(token)
        else:
            assert queued >= limit.max_queued
            assert in_use >= limit.max_concurrent or queued > 0
            assert decision == Refused(in_use, limit.max_concurrent, queued, limit.max_queued)
            self.gone.add(token)

    @precondition(lambda self: bool(self.running))
    @rule(data=st.data())
    def finish(self, data: st.DataObject) -> None:
        """A statement ends: its permit is released (and maybe handed to the next)."""
        token = data.draw(st.sampled_from(sorted(self.running)))
        self.running.remove(token)
        self.gone.add(token)
        in_use = self.quota.in_use
        woke = self.quota.release()
        self.woken([] if woke is None else [woke], in_use - 1)

    @precondition(lambda self: bool(self.handed))
    @rule(data=st.data())
    def wake(self, data: st.DataObject) -> None:
        """A waiter handed a permit wakes up and runs its statement."""
        token = data.draw(st.sampled_from(sorted(self.handed)))
        self.handed.remove(token)
        self.running.add(token)

    @precondition(lambda self: bool(self.queue))
    @rule(data=st.data())
    def give_up_while_queued(self, data: st.DataObject) -> None:
        token = data.draw(st.sampled_from(self.queue))
        in_use = self.quota.in_use
        assert self.quota.cancel(token) is None
        assert self.quota.in_use == in_use
        self.queue.remove(token)
        self.gone.add(token)

    @precondition(lambda self: bool(self.handed))
    @rule(data=st.data())
    def give_up_after_handover(self, data: st.DataObject) -> None:
        """The timeout raced with the hand-over: the permit must pass on, not leak."""
        token = data.draw(st.sampled_from(sorted(self.handed)))
        self.handed.remove(token)
        self.gone.add(token)
        in_use = self.quota.in_use
        woke = self.quota.cancel(token)
        self.woken([] if woke is None else [woke], in_use - 1)

    @rule(max_concurrent=st.integers(1, 5), max_queued=st.integers(0, 5))
    def change_limit(self, max_concurrent: int, max_queued: int) -> None:
        in_use = self.quota.in_use
        woke = self.quota.set_limit(
            QuotaLimit(max_concurrent=max_concurrent, max_queued=max_queued)
        )
        # As many waiters as there are newly free permits, or all of them.
        assert len(woke) == min(max(0, max_concurrent - in_use), len(self.queue))
        self.woken(woke, in_use)
        self.ceiling = max(max_concurrent, in_use)

    @invariant()
    def permits_are_held_by_exactly_the_handed_and_running_tokens(self) -> None:
        assert self.quota.in_use == len(self.handed) + len(self.running)
        assert self.quota.in_use >= 0

    @invariant()
    def the_queue_is_the_waiters_in_arrival_order(self) -> None:
        assert self.quota.queued == len(self.queue)
        assert self.queue == sorted(self.queue)

    @invariant()
    def nobody_waits_while_a_permit_is_free(self) -> None:
        if self.queue:
            assert self.quota.in_use >= self.quota.limit.max_concurrent

    @invariant()
    def in_use_never_grows_past_the_ceiling(self) -> None:
        assert self.quota.in_use <= self.ceiling
        self.ceiling = max(self.quota.limit.max_concurrent, self.quota.in_use)

    @invariant()
    def tokens_that_left_hold_nothing(self) -> None:
        assert not self.gone & (self.handed | self.running | set(self.queue))


QuotaMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60)
test_the_quota_contract = QuotaMachine.TestCase


# -- real threads ---------------------------------------------------------------------------


def test_threads_with_timeouts_leave_no_permit_behind() -> None:
    """The sync front's protocol from the package docstring, on real threads with queue
    timeouts short enough to race the hand-overs: at the end nothing is held or queued,
    and no more than ``max_concurrent`` statements ever ran at once."""
    quota: ConcurrencyQuota[threading.Event] = ConcurrencyQuota(
        QuotaLimit(max_concurrent=3, max_queued=6)
    )
    running = 0
    most = 0
    counter = threading.Lock()

    def statement(worker: int) -> None:
        nonlocal running, most
        for i in range(300):
            token = threading.Event()
            decision = quota.acquire(token)
            if isinstance(decision, Refused):
                continue
            if isinstance(decision, Queued) and not token.wait(1e-4 * (worker % 3)):
                if (nxt := quota.cancel(token)) is not None:
                    nxt.set()
                continue
            with counter:
                running += 1
                most = max(most, running)
            if i % 7 == 0:
                threading.Event().wait(1e-5)  # hold the permit a little
            with counter:
                running -= 1
            if (nxt := quota.release()) is not None:
                nxt.set()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as finely as the interpreter can
    try:
        threads = [threading.Thread(target=statement, args=(w,)) for w in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60.0)  # a hang guard, not a timing assertion
    finally:
        sys.setswitchinterval(switch)
    assert not any(thread.is_alive() for thread in threads)
    assert (quota.in_use, quota.queued) == (0, 0)
    assert 1 <= most <= 3


def test_try_acquire_takes_a_free_slot_and_never_queues() -> None:
    quota: ConcurrencyQuota[str] = ConcurrencyQuota(QuotaLimit(max_concurrent=2, max_queued=1))
    assert quota.try_acquire()
    assert quota.try_acquire()
    assert not quota.try_acquire()  # full: nothing changes, nobody is queued
    assert (quota.in_use, quota.queued) == (2, 0)
    assert isinstance(quota.acquire("w"), Queued)
    assert quota.release() == "w"  # the slot goes to the waiter, not to a barging caller
    assert not quota.try_acquire()
    assert quota.release() is None
    assert quota.try_acquire()  # a free slot and nobody waiting
    assert (quota.in_use, quota.queued) == (2, 0)
