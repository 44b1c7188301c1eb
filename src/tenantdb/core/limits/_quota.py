"""``ConcurrencyQuota``: at most N statements in flight, FIFO waiters in a bounded queue."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaLimit:
    """At most ``max_concurrent`` statements in flight, and ``max_queued`` more waiting.

    ``queue_timeout_s`` is how long a queued statement may wait for a permit (``None``: as
    long as the statement's own deadline allows); the shell enforces it, the quota only
    carries it. Raises ValueError unless ``max_concurrent >= 1``, ``max_queued >= 0`` and
    ``queue_timeout_s`` is ``None`` or a finite number of seconds ``>= 0``.
    """

    max_concurrent: int
    max_queued: int = 0
    queue_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError(
                f"a concurrency quota needs max_concurrent >= 1, got {self.max_concurrent!r}"
            )
        if self.max_queued < 0:
            raise ValueError(f"a concurrency quota needs max_queued >= 0, got {self.max_queued!r}")
        if self.queue_timeout_s is not None and not (0.0 <= self.queue_timeout_s < math.inf):
            raise ValueError(
                "a concurrency quota needs queue_timeout_s >= 0 (finite seconds) or None, "
                f"got {self.queue_timeout_s!r}"
            )


@dataclass(frozen=True, slots=True)
class Granted:
    """``acquire``: the caller holds a permit now; it must call ``release`` when done."""


@dataclass(frozen=True, slots=True)
class Queued:
    """``acquire``: the caller's token waits at ``position`` (1 is next) for a permit.

    The caller waits until the token is handed a permit (returned by ``release``, ``cancel``
    or ``set_limit`` to whoever called them, who wakes it); if it gives up first, it must
    call ``cancel`` with its token.
    """

    position: int


@dataclass(frozen=True, slots=True)
class Refused:
    """``acquire``: no permit and no room in the queue; the caller holds nothing.

    Carries the counts for the error message: ``in_use`` of ``max_concurrent`` permits are
    held and ``queued`` of ``max_queued`` places taken.
    """

    in_use: int
    max_concurrent: int
    queued: int
    max_queued: int


GRANTED = Granted()
"""The one ``Granted`` answer (``acquire`` returns it instead of a new value)."""


class ConcurrencyQuota(Generic[T]):
    """Permits for at most ``limit.max_concurrent`` statements at once, FIFO waiters.

    A pure state machine in the manner of httpcore's pool: each call changes the counts under
    a lock held only for that arithmetic and *returns* what the caller must do; the quota
    never waits, wakes or times anyone out. A waiter is represented by a hashable token of
    the caller's choosing (typically the future or event it waits on; one token per
    ``acquire`` call, never reused while queued or holding a handed-over permit).

    Rules: a permit is granted at once only when one is free and nobody waits (no barging
    past the queue); a freed permit passes directly to the first waiter, whose token is
    returned so the caller wakes exactly that one; a waiter that gives up is removed, or, if
    the permit had been handed to it already, the permit passes on. Invariants: a queue is
    only ever non-empty while every permit is held (``in_use >= max_concurrent``); ``in_use``
    counts exactly the permits held, including those handed to waiters not yet awake.

    Changing the limit (``set_limit``) applies at once: a raised ``max_concurrent`` admits
    waiters in FIFO order; a lowered one lets statements in flight finish and grants nothing
    until ``in_use`` is below the new maximum (so ``in_use`` may exceed ``max_concurrent``
    after a lowering, never otherwise, and never grows while it does). A lowered
    ``max_queued`` keeps the waiters already queued and refuses new ones until the queue is
    shorter than the new maximum.
    """

    __slots__ = ("_in_use", "_limit", "_lock", "_waiters")

    def __init__(self, limit: QuotaLimit) -> None:
        self._limit = limit
        # The three are changed only under _lock (read freely: each read is one attribute).
        self._in_use = 0
        self._waiters: OrderedDict[T, None] = OrderedDict()  # FIFO: first is next
        self._lock = threading.Lock()

    @property
    def limit(self) -> QuotaLimit:
        """The limit in force."""
        return self._limit

    @property
    def in_use(self) -> int:
        """Permits held now (statements in flight and waiters already handed a permit)."""
        return self._in_use

    @property
    def queued(self) -> int:
        """Tokens waiting for a permit."""
        return len(self._waiters)

    def __repr__(self) -> str:
        limit = self._limit
        return (
            f"<ConcurrencyQuota [{self._in_use} in use of {limit.max_concurrent}, "
            f"{len(self._waiters)} queued of {limit.max_queued}]>"
        )

    def acquire(self, token: T) -> Granted | Queued | Refused:
        """Ask for a permit for the waiter ``token``.

        Returns ``GRANTED`` (the caller holds a permit and must ``release`` it), ``Queued``
        (the token waits; see ``Queued`` for what the caller must do) or ``Refused`` (the
        caller holds nothing). Raises ValueError if ``token`` is already queued.
        """
        # acquire/release rather than ``with``: half the cost on CPython 3.11 (measured), on
        # every statement's path (here and in ``release``).
        self._lock.acquire()
        try:
            limit = self._limit
            # ``not self._waiters`` follows from the invariant (a queue exists only while every
            # permit is held); it states the no-barging rule where a grant is decided.
            if self._in_use < limit.max_concurrent and not self._waiters:
                self._in_use += 1
                return GRANTED
            if token in self._waiters:
                raise ValueError(f"token {token!r} is already queued")
            if len(self._waiters) < limit.max_queued:
                self._waiters[token] = None
                return Queued(len(self._waiters))
            return Refused(self._in_use, limit.max_concurrent, len(self._waiters), limit.max_queued)
        finally:
            self._lock.release()

    def try_acquire(self) -> bool:
        """Take a permit if one is free and nobody waits (True: ``release`` it when done);
        otherwise change nothing and return False, and ``acquire`` with a token decides.
        The common case without a token: the shell makes one only when it may wait."""
        self._lock.acquire()
        try:
            if self._in_use < self._limit.max_concurrent and not self._waiters:
                self._in_use += 1
                return True
            return False
        finally:
            self._lock.release()

    def release(self) -> T | None:
        """Give back one permit (the caller's statement is done).

        Returns the token of the first waiter, which now holds the permit: the caller must
        wake it (outside any lock of its own, once). Returns ``None`` when nobody was handed
        the permit. Raises RuntimeError when no permit is held (a release without acquire).
        """
        self._lock.acquire()
        try:
            if self._in_use < 1:
                raise RuntimeError("release() without a permit held: each grant is released once")
            self._in_use -= 1
            return self._hand_over()
        finally:
            self._lock.release()

    def cancel(self, token: T) -> T | None:
        """The waiter ``token`` gives up (timed out or cancelled) and will not run.

        Call it once, and only for a token whose ``acquire`` returned ``Queued`` and that is
        not going to run its statement. If the token is still queued it just leaves. If a
        permit had already been handed to it (a ``release`` raced with its timeout), that
        permit is released again, which may hand it to the next waiter: that waiter's token
        is returned, and the caller must wake it. ``None`` otherwise.
        """
        with self._lock:
            if token in self._waiters:
                del self._waiters[token]
                return None
            if self._in_use < 1:
                raise RuntimeError(f"cancel({token!r}) of a token that holds no permit")
            self._in_use -= 1
            return self._hand_over()

    def set_limit(self, limit: QuotaLimit) -> list[T]:
        """Put ``limit`` in force (the tenant record changed); effective at once.

        Returns the tokens of the waiters handed a permit by a raised ``max_concurrent``, in
        FIFO order: the caller must wake each of them. Nobody is taken a permit away.
        """
        with self._lock:
            self._limit = limit
            woken: list[T] = []
            while (token := self._hand_over()) is not None:
                woken.append(token)
            return woken

    def _hand_over(self) -> T | None:
        """Give a free permit to the first waiter, if both exist (under ``_lock``)."""
        if self._waiters and self._in_use < self._limit.max_concurrent:
            token, _ = self._waiters.popitem(last=False)
            self._in_use += 1
            return token
        return None
