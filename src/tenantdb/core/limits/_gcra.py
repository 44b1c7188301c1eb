"""``LocalRateLimiter``: per-key GCRA rate limiting inside one process."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from ._rate import ADMITTED, RateDecision, RateLimit

# Float rounding is forgiven in two places, each far below one statement:
# - a debt within 4 to 8 ulps of the clock reading counts as drained (_SNAP): a client that
#   schedules ``start + i * interval`` lands a few ulps away from where the limiter's own
#   additions put it, and a client at exactly the rate with burst 1 must not be refused for
#   that. This is forgiven at most once per admission.
# - a check passes if it overshoots the tolerance by at most 256 to 512 ulps of the largest
#   magnitude involved (_ROUNDING): a burst's debt is a sum of intervals, each addition
#   rounded, and a burst of exactly ``burst`` statements must pass. This only moves the last
#   admission of a window, so it does not accumulate. It is measured from the time of the
#   key's stored state, not from ``now``, so that it is the same for a check and its retry.
_SNAP = 2.0**-50
_ROUNDING = 2.0**-44

DEFAULT_MAX_KEYS = 100_000
"""How many keys a ``LocalRateLimiter`` tracks unless told otherwise (about 190 bytes each
besides the key string, measured: some 20 MB when full)."""


class LocalRateLimiter:
    """GCRA ("generic cell rate algorithm") rate limiting, O(1) state and time per key.

    For a key checked against ``limit`` (interval ``I = 1 / rate_per_s``, tolerance
    ``burst * I``) the state is the key's *theoretical arrival time* ``tat``, read as a debt
    ``d = tat - now`` (0 for a key never seen or drained). A check of ``cost`` statements is
    admitted when ``d + cost * I <= burst * I``, and then ``tat`` becomes
    ``now + d + cost * I``; otherwise it is refused, nothing is stored, and
    ``retry_after_s = d + cost * I - burst * I``. (The cluster-wide limiter on Redis is
    meant to run the same arithmetic, ``tat`` in one key; here ``tat`` is held as two
    floats, the time of the last admission and the debt at that time, so that a burst at one
    instant sums intervals at the magnitude of the debt instead of rounding at the clock's
    magnitude on every statement.) O(1) per check whatever the limit: no log of past
    requests, unlike the moving window of ``limits`` (its issue #268, O(limit) per call).

    Comparisons forgive float rounding: a debt within a few ulps of the clock reading counts
    as drained, and a check may overshoot the tolerance by a few hundred ulps (see the
    constants): far below one statement, and what lets a client at exactly the rate, or a
    burst of exactly ``burst``, through whatever the rounding.

    Guarantees, for a fixed limit: over any window of ``T`` seconds at most
    ``rate_per_s * T + burst`` statements are admitted, bursts included (each admission pushes
    ``tat`` one interval on, and an admission needs ``tat <= now + burst * I``; aiolimiter's
    leaky bucket let bursts exceed this, its issues #240 and #298); a client sending at the
    rate or slower is never refused; a refused check repeated ``retry_after_s`` later with no
    other traffic on the key is admitted (``retry_after_s`` is rounded up to the float that
    makes this so). Nothing here waits or wakes anyone: the caller refuses (or, in shadow
    mode, counts ``not decision.allowed`` and goes on), so there is no herd of waiters woken
    on every tick as in aiolimiter #73.

    The limit is passed with every check, so a changed tenant record applies at the next
    check. The debt carries over in seconds, capped at ``burst * I`` of the new limit: a key
    never owes more than one full burst of the limit in force (a lowered limit does not lock
    it out for the old limit's bigger burst: 100 statements owed at 10/s become, under 1/s
    burst 2, a full burst, not 10 s of refusals), and a changed limit never erases debt (a
    raised one does not hand out a fresh burst). Under a fixed limit the cap never applies,
    since an admission already requires ``d <= burst * I``.

    Memory: a key whose debt has drained (``tat <= now``) behaves exactly like a key never
    seen, so it may be dropped. Keys are kept in the order they were last admitted; the
    first admission of a new key drops the least recently admitted keys while they have
    drained, so the map holds about the keys admitted within the last ``burst / rate_per_s``
    seconds (O(1) amortised).
    When a new key would exceed ``max_keys`` (``None``: no bound), the least recently admitted
    key is dropped even if it still owes (a key with a short burst window behind it may have
    drained, but finding it would cost a scan): that key may then be admitted up to one extra
    burst. With ``max_keys`` above the number of keys active within one burst window, this
    never happens.

    ``check`` may be called from many threads at once: the read-modify-write of the state is
    done under a lock held only for this arithmetic (never across I/O or waiting).
    Raises ValueError for ``max_keys < 1``.
    """

    __slots__ = ("_lock", "_max_keys", "_states")

    def __init__(self, *, max_keys: int | None = DEFAULT_MAX_KEYS) -> None:
        if max_keys is not None and max_keys < 1:
            raise ValueError(f"a rate limiter needs max_keys >= 1 (or None), got {max_keys!r}")
        self._max_keys = max_keys
        # key -> [since, owed]: the key owed ``owed`` seconds at monotonic time ``since`` (its
        # TAT is ``since + owed``, kept in two parts so that a burst at one instant adds
        # exact multiples of the interval instead of rounding at the clock's magnitude each
        # time). Least recently admitted first; only read or written under _lock.
        self._states: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def max_keys(self) -> int | None:
        """The most keys tracked at once (``None``: no bound)."""
        return self._max_keys

    def __len__(self) -> int:
        """How many keys currently hold state (drained ones may still be counted)."""
        return len(self._states)

    def __repr__(self) -> str:
        bound = "unbounded" if self._max_keys is None else f"at most {self._max_keys}"
        return f"<LocalRateLimiter [{len(self._states)} keys, {bound}]>"

    def check(self, key: str, limit: RateLimit, now: float, *, cost: int = 1) -> RateDecision:
        """Admit or refuse ``cost`` statements for ``key`` under ``limit`` at ``now``.

        ``now`` is monotonic seconds (the same clock for every call). Returns ``ADMITTED``
        (the capacity is consumed) or a refusal with ``retry_after_s > 0`` (nothing is
        consumed). Raises ValueError unless ``1 <= cost <= limit.burst`` (a larger cost could
        never pass; the cluster-wide limiter refuses it the same way).
        """
        if not 1 <= cost <= limit.burst:
            raise ValueError(
                f"a rate-limit check needs 1 <= cost <= burst ({limit.burst}), got {cost!r}"
            )
        interval = 1.0 / limit.rate_per_s
        tolerance = limit.burst * interval
        work = cost * interval
        snap = (abs(now) + interval) * _SNAP
        # acquire/release rather than ``with``: half the cost on CPython 3.11 (measured), on
        # every statement's path.
        self._lock.acquire()
        try:
            # _debt and _admits, inlined for the same reason. The retry property test fails
            # if they disagree enough to make retry_after_s wrong by more than a few ulps.
            state = self._states.get(key)
            if state is None:  # a fresh key admits any cost up to the burst
                self._insert(key, now, work)
                return ADMITTED
            since, owed = state
            debt = owed - (now - since)
            if debt <= snap:
                debt = 0.0
            if debt + work - tolerance <= (abs(since) + tolerance) * _ROUNDING:
                state[0] = now
                state[1] = debt + work
                self._states.move_to_end(key)
                return ADMITTED
            if debt > tolerance:
                # A changed limit: the debt is capped at one full burst of the limit in force
                # (see the class docstring), and stored so that the retry below holds.
                since, owed = now, tolerance
                state[0], state[1] = since, owed
        finally:
            self._lock.release()
        return RateDecision(False, _retry_after((since, owed), now, interval, tolerance, work))

    def _insert(self, key: str, now: float, debt: float) -> None:
        """Record the first admission of ``key`` (under ``_lock``), first dropping the least
        recently admitted keys while they have drained, then, past ``max_keys``, the least
        recently admitted one. Only an insertion grows the map, so this is where it is kept
        small; each key is dropped at most once per insertion: O(1) amortised."""
        states = self._states
        while states:
            since, owed = next(iter(states.values()))
            if owed > now - since:
                break
            states.popitem(last=False)
        states[key] = [now, debt]
        if self._max_keys is not None and len(states) > self._max_keys:
            states.popitem(last=False)


def _debt(state: tuple[float, float], now: float, interval: float) -> float:
    """Seconds of capacity a key owes at ``now`` (``tat - now``), 0 when drained or within
    rounding of it. ``state`` is ``(since, owed)``: the key owed ``owed`` seconds at
    ``since``."""
    debt = state[1] - (now - state[0])
    if debt <= (abs(now) + interval) * _SNAP:
        return 0.0
    return debt


def _admits(state: tuple[float, float], debt: float, work: float, tolerance: float) -> bool:
    """Whether ``work`` more seconds of debt fit within ``tolerance`` (to rounding)."""
    return debt + work - tolerance <= (abs(state[0]) + tolerance) * _ROUNDING


def _retry_after(
    state: tuple[float, float], now: float, interval: float, tolerance: float, work: float
) -> float:
    """About the smallest float ``r`` (to a few ulps) such that the same check at
    ``now + r``, with nothing else in between, is admitted by the arithmetic ``check`` uses."""
    debt = _debt(state, now, interval)
    retry = debt + work - tolerance - (abs(state[0]) + tolerance) * _ROUNDING
    # The estimate can round either way; step it up until the repeated check passes (one or
    # two steps). A step moves ``now + retry`` by at least one of its ulps and the debt by at
    # least one of its own (it is at most ``tolerance``), whichever is coarser.
    step = math.ulp(tolerance)
    for _ in range(64):
        then = now + retry
        if _admits(state, _debt(state, then, interval), work, tolerance):
            break
        retry = max(retry + step, math.nextafter(then, math.inf) - now)
    return retry
