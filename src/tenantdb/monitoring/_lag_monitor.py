"""The lag monitor: one thread per datasource that measures its replicas and moves their
states.

Each pass reads the primary's write position, then each replica's replayed position, and
turns the two into a lag in seconds with the primary's recent position history:

    lag = now - (when the monitor first saw the primary past the replica's position)

that is, how long ago the primary had already written something the replica still has not
replayed, measured with the monitor's interval as resolution. Unlike ``now() -
pg_last_xact_replay_timestamp()`` it does not report a large lag for a replica of an idle
primary, and unlike byte counts it is in the unit the configuration uses. Positions are
LSNs (PostgreSQL) or GTID positions (MariaDB, where "past" means past in some domain). A
lag the server reports itself (``Seconds_Behind_Master``) is taken at its word: alone for
MySQL, whose positions are not compared, and for MariaDB as a second opinion, the larger
of the two counting (it is NULL while the replica's SQL thread is stopped, when the
position comparison still measures how far behind the replica falls).

The probes are the only I/O and are injected; the monitor never touches a connection or a
running query, it only changes ``ReplicaState`` objects (under the shared lock) and the
datasource's automatic ``DegradeSwitch``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core.replication import DegradeSwitch, GtidPosition, Position, ReplicaState, reached
from ..core.retry import Backoff
from ..errors import InterfaceError

log = logging.getLogger("tenantdb.replication")

_MAX_HISTORY = 100_000  # samples; bounds memory for a tiny interval with a long cool-down
_HISTORY_MARGIN = 16  # samples beyond the horizon, for passes that run late


@dataclass(frozen=True, slots=True)
class ReplicaReading:
    """What one probe of a replica found.

    ``replayed``: the last write position the replica has replayed (PostgreSQL:
    ``pg_last_wal_replay_lsn()`` as an int; MariaDB: ``@@gtid_slave_pos`` as a
    ``GtidPosition``), None when the server has no comparable position. Only an int
    position feeds the monitor's own lag measure; any position serves read-your-writes.
    ``lag_s``: a lag the server reports itself, in seconds (MySQL and MariaDB:
    ``Seconds_Behind_Master``), None to let the monitor compute it from positions. A
    replica whose replication is stopped (MySQL reports NULL) should report
    ``lag_s=math.inf``: with neither a lag nor a comparable position the monitor cannot
    tell and keeps the replica's previous state.
    """

    replayed: Position | None = None
    lag_s: float | None = None


class _WriteHistory:
    """When the monitor first saw the primary at each position (each past the one before).

    A pass that finds the primary where it was adds nothing: the earliest sighting of a
    position is what the lag needs, and an idle primary then costs no memory.
    """

    __slots__ = ("_samples",)

    def __init__(self, maxlen: int) -> None:
        self._samples: deque[tuple[float, Position]] = deque(maxlen=maxlen)

    def record(self, now: float, position: Position) -> bool:
        """Add a sighting; return False when the position went backwards (a new primary
        after a failover; for GTIDs, backwards in some domain) or changed kind: the
        history then restarts from this sample."""
        samples = self._samples
        if samples:
            last = samples[-1][1]
            if position == last:
                return True
            if not reached(position, last):
                samples.clear()
                samples.append((now, position))
                return False
        samples.append((now, position))
        return True

    def lag(self, now: float, replayed: Position) -> float:
        """Seconds since the primary was first seen past ``replayed`` (0.0 if never).

        When every sample is past ``replayed`` the answer is ``now`` minus the oldest
        sample: a lower bound, already over any threshold the history was sized for.
        """
        earliest: float | None = None
        # Newest first: a fresh replica stops the scan after a sample or two.
        for seen_at, position in reversed(self._samples):
            if reached(replayed, position):
                break
            earliest = seen_at
        return 0.0 if earliest is None else max(0.0, now - earliest)

    def __len__(self) -> int:
        return len(self._samples)


class LagMonitor:
    """Measures the replicas of one datasource every ``interval_s`` seconds on a daemon
    thread, and keeps their ``ReplicaState`` and the datasource's automatic switch current.

    A replica over ``max_lag_s`` stops getting new reads within one pass and gets them
    again only after staying within it for ``cooldown_s``; a replica whose probe raises is
    ``down`` and re-probed with ``backoff``. When the primary's probe raises, replica
    states are kept (a replica is not "lagging" because the primary is down) and the
    failure is logged once. After each pass the datasource's automatic switch says whether
    any replica still serves. State changes are logged once each (WARNING when a replica
    stops serving, INFO when it serves again) and passed to ``on_change``.

    ``probe_primary`` returns the primary's current write position (None when positions
    are not comparable, e.g. MySQL without MariaDB's GTIDs); ``probe_replica(index)``
    returns a ``ReplicaReading``.
    Both should bound their own I/O with a timeout: a hung probe delays the pass, and
    ``close`` waits for it only ``timeout_s``.

    ``lock`` is shared with every other reader and writer of the replica states: the
    monitor holds it only while changing a state, never while probing.
    """

    def __init__(
        self,
        *,
        datasource: str,
        replicas: Sequence[ReplicaState],
        lock: threading.Lock,
        probe_primary: Callable[[], Position | None],
        probe_replica: Callable[[int], ReplicaReading],
        interval_s: float,
        max_lag_s: float,
        cooldown_s: float,
        backoff: Backoff,
        switch: DegradeSwitch,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[ReplicaState], None] | None = None,
    ) -> None:
        if not replicas:
            raise ValueError(f"datasource {datasource}: a lag monitor needs replicas")
        if not (interval_s > 0.0 and max_lag_s >= 0.0 and cooldown_s >= 0.0):
            raise ValueError(
                f"datasource {datasource}: lag monitor needs interval_s > 0, max_lag_s >= 0 "
                f"and cooldown_s >= 0 (got {interval_s}, {max_lag_s}, {cooldown_s})"
            )
        self._datasource = datasource
        self._replicas = tuple(replicas)
        self._lock = lock
        self._probe_primary = probe_primary
        self._probe_replica = probe_replica
        self._interval_s = interval_s
        self._max_lag_s = max_lag_s
        self._cooldown_s = cooldown_s
        self._backoff = backoff
        self._switch = switch
        self._clock = clock
        self._on_change = on_change
        # Long enough to measure twice the larger threshold, so a replica stuck behind
        # every sample is already over max_lag_s by the lower bound alone.
        horizon_s = 2.0 * max(max_lag_s, cooldown_s, interval_s)
        maxlen = min(_MAX_HISTORY, math.ceil(horizon_s / interval_s) + _HISTORY_MARGIN)
        self._history = _WriteHistory(maxlen)
        self._primary_error: str | None = None  # logged once, until the primary answers
        self._pass_error: str | None = None  # same, for an unexpected error in a pass
        self._pass_lock = threading.Lock()  # one pass at a time (thread or check_once)
        self._life_lock = threading.Lock()  # start/close
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def datasource(self) -> str:
        return self._datasource

    @property
    def replicas(self) -> tuple[ReplicaState, ...]:
        return self._replicas

    # -- one pass ---------------------------------------------------------------------

    def check_once(self) -> tuple[ReplicaState, ...]:
        """Run one pass now (the thread calls this every ``interval_s``); return the
        replicas whose state changed. Probe errors are handled, never raised."""
        with self._pass_lock:
            return self._check()

    def _check(self) -> tuple[ReplicaState, ...]:
        position, primary_known = self._primary_position()
        now = self._clock()
        if primary_known and position is not None and not self._history.record(now, position):
            log.info(
                "primary of datasource %s went back to an earlier write position "
                "(failover?); replica lag is measured afresh from now",
                self._datasource,
            )
        changed: list[ReplicaState] = []
        for replica in self._replicas:
            with self._lock:
                due = replica.due(now)
            if not due:
                continue
            # The lag is measured from when this probe started, not from the pass's
            # start: a replica still short of what the primary had at ``now`` is at least
            # ``started - now`` behind (earlier probes may have been slow).
            started = self._clock()
            try:
                reading = self._probe_replica(replica.index)
            except Exception as exc:
                error = str(exc) or type(exc).__name__
                with self._lock:
                    moved = replica.record_failure(error, self._clock(), backoff=self._backoff)
            else:
                # The primary did not answer: say nothing about the replicas' lag.
                lag_s = self._lag(reading, position, started) if primary_known else None
                with self._lock:
                    moved = replica.record_lag(
                        lag_s,
                        reading.replayed,
                        self._clock(),
                        max_lag_s=self._max_lag_s,
                        cooldown_s=self._cooldown_s,
                    )
            if moved:
                changed.append(replica)
                self._report(replica)
        self._update_switch()
        return tuple(changed)

    def _primary_position(self) -> tuple[Position | None, bool]:
        """The primary's write position and whether the probe answered at all."""
        try:
            position = self._probe_primary()
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            if self._primary_error is None:
                log.warning(
                    "primary of datasource %s did not answer the lag probe (%s); replica "
                    "states are kept until it does",
                    self._datasource,
                    error,
                )
            self._primary_error = error
            return None, False
        if self._primary_error is not None:
            log.info("primary of datasource %s answers the lag probe again", self._datasource)
            self._primary_error = None
        return position, True

    def _lag(self, reading: ReplicaReading, position: Position | None, now: float) -> float | None:
        """The replica's lag in seconds, or None when it cannot be told this pass: the
        larger of the lag it reports and the lag its position shows, whichever it has."""
        measured: float | None = None
        replayed = reading.replayed
        if (
            position is not None
            and replayed is not None
            and isinstance(replayed, GtidPosition) == isinstance(position, GtidPosition)
        ):
            measured = 0.0 if reached(replayed, position) else self._history.lag(now, replayed)
        reported = reading.lag_s
        if reported is None:
            return measured
        if measured is None:
            return reported
        return max(reported, measured)

    def _report(self, replica: ReplicaState) -> None:
        """Log one state change and pass it to ``on_change`` (outside the lock)."""
        if replica.state == "serving":
            log.info(
                "replica %s of datasource %s is serving reads again (lag %s)",
                replica.name,
                self._datasource,
                _seconds(replica.lag_s),
            )
        elif replica.state == "lagging":
            log.warning(
                "replica %s of datasource %s is lagging (lag %s, max %s); its reads go "
                "elsewhere until it stays within the limit for %s",
                replica.name,
                self._datasource,
                _seconds(replica.lag_s),
                _seconds(self._max_lag_s),
                _seconds(self._cooldown_s),
            )
        else:
            log.warning(
                "replica %s of datasource %s is down (%s); its reads go elsewhere, "
                "probing again with backoff",
                replica.name,
                self._datasource,
                replica.error,
            )
        if self._on_change is not None:
            try:
                self._on_change(replica)
            except Exception:
                log.exception("on_change callback of datasource %s failed", self._datasource)

    def _update_switch(self) -> None:
        with self._lock:
            serving = [r.name for r in self._replicas if r.serving]
            if serving:
                reason = f"within max_replication_lag {_seconds(self._max_lag_s)}: " + ", ".join(
                    serving
                )
            else:
                reason = (
                    f"no replica within max_replication_lag {_seconds(self._max_lag_s)} ("
                    + "; ".join(_trouble(r) for r in self._replicas)
                    + ")"
                )
        self._switch.set_automatic(self._datasource, on=not serving, reason=reason)

    # -- the thread -------------------------------------------------------------------

    def start(self) -> None:
        """Start the monitor thread (its first pass runs at once). Starting a running
        monitor does nothing; raises InterfaceError after ``close``."""
        with self._life_lock:
            if self._stop.is_set():
                raise InterfaceError(f"the lag monitor of datasource {self._datasource} is closed")
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"tenantdb-lag-{self._datasource}", daemon=True
            )
            self._thread.start()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread: it ends between passes at once, or after the probe it is in
        (waited for up to ``timeout_s``; it is a daemon thread either way). Idempotent."""
        with self._life_lock:
            self._stop.set()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check_once()
            except Exception as exc:
                # A bug, not a probe failure (those are handled in the pass): keep
                # monitoring, and log each distinct failure once.
                error = repr(exc)
                if error != self._pass_error:
                    log.exception("lag monitor of datasource %s failed a pass", self._datasource)
                self._pass_error = error
            else:
                self._pass_error = None
            if self._stop.wait(self._interval_s):
                break

    def __repr__(self) -> str:
        # Without the shared lock: its owner may well ask for a repr while holding it.
        states = [r.state for r in self._replicas]
        counts = ", ".join(f"{states.count(s)} {s}" for s in ("serving", "lagging", "down"))
        if self._stop.is_set():
            status = "closed"
        elif self.running:
            status = f"every {_seconds(self._interval_s)}"
        else:
            status = "not started"
        return f"<LagMonitor {self._datasource} [{status}; {counts}]>"


def _trouble(replica: ReplicaState) -> str:
    """Why one replica does not serve, for the automatic switch's reason."""
    if replica.state == "down":
        return f"{replica.name}: down: {replica.error}"
    return f"{replica.name}: lag {_seconds(replica.lag_s)}"


def _seconds(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3g}s"
