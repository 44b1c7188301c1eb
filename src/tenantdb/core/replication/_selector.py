"""Which replica serves the next read: round-robin or smooth weighted round-robin."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Literal

from ._position import Position, reached
from ._replica import ReplicaState

SelectionPolicy = Literal["round_robin", "weighted"]
"""``round_robin``: eligible replicas in turn; ``weighted``: in proportion to ``weight``."""


class ReplicaSelector:
    """Picks the replica for each read of one datasource; safe to share between threads.

    A replica is eligible when it is ``serving``, is not the one excluded, and, when the
    read must see a write position, has replayed at least that far. ``round_robin`` takes
    eligible replicas in turn; ``weighted`` uses smooth weighted round-robin (as nginx
    does), which spreads picks in exact proportion to the weights over each cycle (3:1
    gives three and one in every four picks) without bursts; a replica of weight 0 gets
    no reads under ``weighted``. Replicas that are not eligible keep their place: the
    rotation resumes fairly among the rest.

    ``choose`` is on the path of every read: it builds no lists or tuples and holds
    ``lock`` only while it picks and advances the rotation. By default that is a lock of
    its own, and the replicas' fields are read without the monitor's lock (single
    attribute reads are atomic): a replica that stopped serving a moment ago may get one
    more read, which is within the monitor's promise that new reads stop within one
    interval. Pass the monitor's lock to make each choice see one consistent state.
    """

    __slots__ = ("_current", "_lock", "_next", "_policy", "_replicas", "_weighted")

    def __init__(
        self,
        replicas: Sequence[ReplicaState],
        policy: SelectionPolicy = "round_robin",
        *,
        lock: threading.Lock | None = None,
    ) -> None:
        if policy not in ("round_robin", "weighted"):
            raise ValueError(f"unknown replica selection policy {policy!r}")
        self._replicas = tuple(replicas)
        self._policy = policy
        self._weighted = policy == "weighted"
        self._lock = lock if lock is not None else threading.Lock()
        # Rotation state, changed only under _lock: the position to try first
        # (round_robin), the current weight of each position (weighted).
        self._next = 0
        self._current = [0.0] * len(self._replicas)

    @property
    def replicas(self) -> tuple[ReplicaState, ...]:
        return self._replicas

    @property
    def policy(self) -> SelectionPolicy:
        return self._policy

    def choose(
        self, min_position: Position | None = None, exclude: int | None = None
    ) -> ReplicaState | None:
        """The replica for the next read, or None when none qualifies (read the primary).

        ``min_position``: the write position the read must see (None: any serving replica
        will do); a replica whose replayed position is unknown, or of another kind, does
        not qualify (``reached``).
        ``exclude``: the ``index`` of a replica not to use (one that just failed).
        """
        replicas = self._replicas
        n = len(replicas)
        with self._lock:
            if self._weighted:
                current = self._current
                best = -1
                best_current = 0.0
                total = 0.0
                for i in range(n):
                    replica = replicas[i]
                    weight = replica.weight
                    if (
                        replica.state == "serving"
                        and weight > 0.0
                        and replica.index != exclude
                        and (min_position is None or reached(replica.replayed, min_position))
                    ):
                        value = current[i] + weight
                        current[i] = value
                        total += weight
                        if best < 0 or value > best_current:
                            best = i
                            best_current = value
                if best < 0:
                    return None
                current[best] = best_current - total
                return replicas[best]
            i = self._next
            for _ in range(n):
                replica = replicas[i]
                i += 1
                if i == n:
                    i = 0
                if (
                    replica.state == "serving"
                    and replica.index != exclude
                    and (min_position is None or reached(replica.replayed, min_position))
                ):
                    self._next = i
                    return replica
            return None

    def __repr__(self) -> str:
        serving = sum(1 for r in self._replicas if r.serving)
        return f"<ReplicaSelector {self._policy} [{serving} of {len(self._replicas)} serving]>"
