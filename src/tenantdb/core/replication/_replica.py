"""The health of one replica: serving, lagging or down, and the rules that move it.

The rules are pure: every method takes the time (``now``, monotonic seconds) and the
thresholds as arguments and only changes the object's fields, so the state machine is
tested with plain numbers and no clock or thread.

::

    serving ──lag > max──▶ lagging ──lag ≤ max for cooldown_s──▶ serving
       │                      │
       └──────failure────▶  down  ◀──failure──┘
                              │
                              └──reading: lag ≤ max → serving, else lagging
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from ..retry import Backoff
from ._position import Position, position_text

ReplicaStatus = Literal["serving", "lagging", "down"]
"""``serving``: gets new reads; ``lagging``: reachable but too far behind (or not yet back
for a whole cool-down); ``down``: refused or dropped the connection, re-probed with
backoff."""


@dataclass(slots=True, eq=False, repr=False)
class ReplicaState:
    """The health of one replica as its lag monitor last saw it.

    Mutable, and mutated only by its owner (the datasource's ``LagMonitor``) while holding
    the lock it shares with the code that reads it; readers (``ReplicaSelector``) look at
    single fields, which is safe without the lock. Times are monotonic seconds from the
    owner's clock. A new replica starts ``serving`` (pass ``state`` to start otherwise): the
    monitor's first pass corrects it as soon as it runs, and a session's own writes are
    protected meanwhile because ``replayed`` is still None.
    """

    index: int
    name: str
    weight: float = 1.0
    state: ReplicaStatus = "serving"
    lag_s: float | None = None
    replayed: Position | None = None
    since: float = 0.0
    error: str | None = None
    failures: int = 0
    retry_at: float = 0.0
    # When the current run of readings within max_lag_s began, while lagging.
    under_since: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.weight) and self.weight >= 0.0):
            raise ValueError(f"replica {self.name}: weight must be >= 0, got {self.weight}")

    @property
    def serving(self) -> bool:
        """Whether new reads may go to this replica (subject to read-your-writes)."""
        return self.state == "serving"

    def record_lag(
        self,
        lag_s: float | None,
        replayed: Position | None,
        now: float,
        *,
        max_lag_s: float,
        cooldown_s: float,
    ) -> bool:
        """Apply one successful reading; return whether ``state`` changed.

        ``lag_s`` over ``max_lag_s`` (or NaN) makes the replica ``lagging`` at once. A
        lagging replica returns to ``serving`` only once its readings have stayed within
        ``max_lag_s`` for ``cooldown_s`` seconds in a row (any reading over resets the
        count), so a replica near the threshold does not flap. A ``down`` replica that
        answers again goes straight to ``serving`` if within ``max_lag_s`` (it was cut
        off, not slow), else to ``lagging``. ``lag_s=None`` means the lag could not be
        measured this time (e.g. the primary did not answer): the state is kept and only
        ``lag_s`` and ``replayed`` are updated.
        """
        self.lag_s = lag_s
        self.replayed = replayed
        if lag_s is None:
            return False
        within = lag_s <= max_lag_s  # False for NaN: an unreadable lag is not fresh
        new: ReplicaStatus
        if self.state == "down":
            self.failures = 0
            self.retry_at = 0.0
            self.error = None
            new = "serving" if within else "lagging"
            self.under_since = None
        elif not within:
            new = "lagging"
            self.under_since = None
        elif self.state == "lagging":
            if self.under_since is None:
                self.under_since = now
            new = "serving" if now - self.under_since >= cooldown_s else "lagging"
        else:
            new = "serving"
        return self._move(new, now)

    def record_failure(self, error: str, now: float, *, backoff: Backoff) -> bool:
        """Apply one failed probe (connection refused, dropped, timed out).

        The replica is ``down``; the next probe is due ``backoff.delay(failures - 1)``
        seconds from ``now``, so consecutive failures back off exponentially. Returns
        whether ``state`` changed (False for a replica that was already down).
        """
        self.failures += 1
        self.error = error
        self.retry_at = now + backoff.delay(self.failures - 1)
        self.under_since = None
        return self._move("down", now)

    def due(self, now: float) -> bool:
        """Whether the monitor should probe this replica now (a down one waits for
        ``retry_at``)."""
        return self.state != "down" or now >= self.retry_at

    def snapshot(self) -> dict[str, Any]:
        """A plain dict for status pages and ``tenantdb admin`` (JSON-serializable)."""
        return {
            "name": self.name,
            "state": self.state,
            # Strict JSON has no infinity: a stopped MySQL replica's lag shows as unknown
            # (its state says "lagging").
            "lag_s": self.lag_s if self.lag_s is None or math.isfinite(self.lag_s) else None,
            "replayed": None if self.replayed is None else _replayed_value(self.replayed),
            "since": self.since,
            "error": self.error,
            "failures": self.failures,
            "retry_at": self.retry_at if self.state == "down" else None,
            "weight": self.weight,
        }

    def __repr__(self) -> str:
        details: list[str] = [self.state]
        if self.lag_s is not None:
            details.append(f"lag {self.lag_s:.3g}s")
        if self.replayed is not None:
            details.append(f"replayed {position_text(self.replayed)}")
        if self.state == "down":
            details.append(f"{self.failures} failures: {self.error}")
        return f"<ReplicaState {self.name} [{', '.join(details)}]>"

    def _move(self, new: ReplicaStatus, now: float) -> bool:
        if new == self.state:
            return False
        self.state = new
        self.since = now
        return True


def _replayed_value(position: Position) -> int | str:
    # JSON-ready: an LSN stays the int it always was; a GTID position is its text.
    return position if isinstance(position, int) else str(position)
