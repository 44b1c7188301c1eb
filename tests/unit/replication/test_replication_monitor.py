"""The lag monitor with a fake clock and plain probe functions: lag from the primary's
position history, state changes, the automatic switch, and the thread's life."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tenantdb.core.replication import DegradeSwitch, GtidPosition, Position, ReplicaState
from tenantdb.core.retry import Backoff
from tenantdb.errors import InterfaceError
from tenantdb.monitoring import LagMonitor, ReplicaReading

LOGGER = "tenantdb.replication"
WAIT_S = 10.0
MAX_LAG_S = 2.0
COOLDOWN_S = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Primary:
    """The primary's write position, or an error to raise."""

    def __init__(self, position: Position | None = 100) -> None:
        self.position = position
        self.error: Exception | None = None

    def __call__(self) -> Position | None:
        if self.error is not None:
            raise self.error
        return self.position


@dataclass
class Replicas:
    """Each replica's replayed position (and optional self-reported lag), or an error."""

    clock: Clock
    replayed: dict[int, Position | None] = field(default_factory=dict)
    lag_s: dict[int, float | None] = field(default_factory=dict)
    errors: dict[int, Exception] = field(default_factory=dict)
    probed_at: dict[int, list[float]] = field(default_factory=dict)

    def __call__(self, index: int) -> ReplicaReading:
        self.probed_at.setdefault(index, []).append(self.clock.now)
        error = self.errors.get(index)
        if error is not None:
            raise error
        return ReplicaReading(replayed=self.replayed.get(index), lag_s=self.lag_s.get(index))


@dataclass
class Setup:
    monitor: LagMonitor
    clock: Clock
    primary: Primary
    replicas: Replicas
    switch: DegradeSwitch
    states: list[ReplicaState]
    changes: list[tuple[str, str]]

    def pass_at(self, now: float) -> tuple[ReplicaState, ...]:
        self.clock.now = now
        return self.monitor.check_once()


def make(
    n: int = 2,
    *,
    primary: Primary | None = None,
    on_change: Callable[[ReplicaState], None] | None = None,
    interval_s: float = 1.0,
    switch: DegradeSwitch | None = None,
) -> Setup:
    clock = Clock()
    primary = primary if primary is not None else Primary()
    replicas = Replicas(clock, replayed=dict.fromkeys(range(n), primary.position))
    switch = switch if switch is not None else DegradeSwitch(clock=clock)
    states = [ReplicaState(i, f"ds0/replica{i}") for i in range(n)]
    changes: list[tuple[str, str]] = []

    def record(replica: ReplicaState) -> None:
        changes.append((replica.name, replica.state))
        if on_change is not None:
            on_change(replica)

    monitor = LagMonitor(
        datasource="ds0",
        replicas=states,
        lock=threading.Lock(),
        probe_primary=primary,
        probe_replica=replicas,
        interval_s=interval_s,
        max_lag_s=MAX_LAG_S,
        cooldown_s=COOLDOWN_S,
        backoff=Backoff(initial_s=0.5, max_s=5.0),
        switch=switch,
        clock=clock,
        on_change=record,
    )
    return Setup(monitor, clock, primary, replicas, switch, states, changes)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


# -- lag from the position history -------------------------------------------------------


def test_an_idle_primary_means_no_lag() -> None:
    s = make()
    for now in range(0, 100, 7):
        assert s.pass_at(float(now)) == ()
    assert [(r.state, r.lag_s, r.replayed) for r in s.states] == [("serving", 0.0, 100)] * 2


def test_a_replica_that_stopped_replaying_lags_more_as_time_passes() -> None:
    s = make()
    s.pass_at(0.0)
    s.primary.position = 200  # one write, then the primary is idle again
    s.replicas.replayed[0] = 200
    s.replicas.replayed[1] = 100  # replica1 never replays it
    lags = []
    for now in (1.0, 2.0, 2.5, 3.0):
        s.pass_at(now)
        lags.append(s.states[1].lag_s)
        assert s.states[1].serving
    assert lags == [0.0, 1.0, 1.5, 2.0]  # just written, then time since the write
    assert s.pass_at(3.5) == (s.states[1],)
    assert (s.states[1].state, s.states[1].lag_s) == ("lagging", 2.5)
    assert s.states[0].serving
    assert s.states[0].lag_s == 0.0


def test_a_replica_behind_a_busy_primary_lags_by_how_long_ago_it_was_written() -> None:
    s = make()
    for step in range(10):
        s.primary.position = 100 + 10 * step
        s.replicas.replayed[0] = 100 + 10 * max(0, step - 1)  # one pass behind
        s.replicas.replayed[1] = 100 + 10 * max(0, step - 2)  # two passes behind
        s.pass_at(float(step))
    # replica0 has what the primary had one pass ago: its missing writes are from this
    # pass's interval at most, which the monitor cannot tell from "just written".
    assert s.states[0].lag_s == 0.0
    assert s.states[1].lag_s == 1.0


def test_lag_over_the_threshold_stops_reads_within_one_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = make()
    s.pass_at(0.0)
    paused_at = s.primary.position
    changed_at = []
    for step in range(1, 8):
        s.primary.position = 100 + 10 * step
        s.replicas.replayed[0] = s.primary.position
        s.replicas.replayed[1] = paused_at
        if s.pass_at(float(step)):
            changed_at.append(step)
    # The primary passed the paused position at t=1: the lag is 2 s at t=3, 3 s at t=4.
    assert changed_at == [4]
    assert s.changes == [("ds0/replica1", "lagging")]
    warnings = messages(caplog, logging.WARNING)
    assert len(warnings) == 1  # once per change, not once per pass
    assert "ds0/replica1" in warnings[0]
    assert "lagging" in warnings[0]


def test_a_lagging_replica_returns_after_the_cooldown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = make(1)
    s.pass_at(0.0)
    s.primary.position = 200
    s.replicas.replayed[0] = 100
    s.pass_at(1.0)
    s.pass_at(4.0)
    assert s.states[0].state == "lagging"
    s.replicas.replayed[0] = 200  # caught up at t=5
    for now in (5.0, 6.0, 9.0, 9.99):
        s.pass_at(now)
        assert s.states[0].state == "lagging", now
    assert s.pass_at(10.0) == (s.states[0],)
    assert s.states[0].serving
    assert s.changes == [("ds0/replica0", "lagging"), ("ds0/replica0", "serving")]
    assert len(messages(caplog, logging.INFO)) == 2  # the replica's return and the switch's


def test_a_replica_behind_every_sample_lags_at_least_as_long_as_the_history() -> None:
    s = make(1)
    s.replicas.replayed[0] = 10  # behind the primary's first known position already
    s.pass_at(0.0)
    assert s.states[0].lag_s == 0.0  # one sample: as if just written
    s.pass_at(1.5)
    assert s.states[0].lag_s == 1.5
    s.pass_at(2.5)
    assert s.states[0].state == "lagging"


def test_a_primary_that_goes_back_restarts_the_history(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = make(1)
    s.primary.position = 1000
    s.replicas.replayed[0] = 1000
    s.pass_at(0.0)
    s.primary.position = 50  # failover to a server with other positions
    s.replicas.replayed[0] = 40
    s.pass_at(10.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("serving", 0.0)
    s.pass_at(11.0)
    assert s.states[0].lag_s == 1.0
    assert any("earlier write position" in m for m in messages(caplog, logging.INFO))


# -- MariaDB: GTID positions beside Seconds_Behind_Master --------------------------------


def gtid(text: str) -> GtidPosition:
    return GtidPosition.parse(text)


def test_a_replica_whose_sql_thread_stopped_lags_by_its_gtid_position() -> None:
    # Stopped SQL thread: Seconds_Behind_Master is NULL (lag_s None), yet the lag grows
    # from when the primary logged what the replica has not applied, domain by domain.
    s = make(1, primary=Primary(gtid("0-1-10,1-1-5")))
    s.replicas.replayed[0] = gtid("0-1-10,1-1-5")
    s.pass_at(0.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("serving", 0.0)
    s.primary.position = gtid("0-1-10,1-1-6")  # a write in domain 1 only
    s.pass_at(1.0)
    s.pass_at(2.5)
    assert (s.states[0].state, s.states[0].lag_s) == ("serving", 1.5)
    s.pass_at(3.5)
    assert (s.states[0].state, s.states[0].lag_s) == ("lagging", 2.5)
    s.replicas.replayed[0] = gtid("0-1-10,1-1-6")
    s.pass_at(4.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("lagging", 0.0)
    s.pass_at(4.0 + COOLDOWN_S)
    assert s.states[0].serving


def test_the_larger_of_the_reported_and_the_measured_lag_counts() -> None:
    s = make(1, primary=Primary(gtid("0-1-10")))
    s.replicas.replayed[0] = gtid("0-1-10")
    s.replicas.lag_s[0] = 3.0  # the replica says it is applying something old
    s.pass_at(0.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("lagging", 3.0)
    s.primary.position = gtid("0-1-11")
    s.replicas.lag_s[0] = 0.0
    s.pass_at(1.0)
    s.pass_at(4.0)
    assert s.states[0].lag_s == 3.0  # measured: 0-1-11 was first seen 3 s ago
    assert s.states[0].replayed == gtid("0-1-10")


def test_a_gtid_domain_that_goes_back_restarts_the_history() -> None:
    s = make(1, primary=Primary(gtid("0-1-100")))
    s.replicas.replayed[0] = gtid("0-1-100")
    s.pass_at(0.0)
    s.primary.position = gtid("0-2-7")  # a new primary whose domain 0 starts lower
    s.replicas.replayed[0] = gtid("0-2-6")
    s.pass_at(10.0)
    s.pass_at(11.5)
    assert s.states[0].lag_s == 1.5  # measured from the new history, not from 0.0


def test_lsns_and_gtids_are_never_compared() -> None:
    s = make(1, primary=Primary(100))
    s.replicas.replayed[0] = gtid("0-1-10")
    s.replicas.lag_s[0] = None
    s.pass_at(0.0)
    assert s.states[0].lag_s is None


# -- positions that cannot be compared -----------------------------------------------------


def test_a_lag_the_server_reports_is_used_as_is() -> None:
    s = make(1, primary=Primary(None))  # MySQL: no comparable positions
    s.replicas.replayed[0] = None
    s.replicas.lag_s[0] = 0.0
    s.pass_at(0.0)
    assert s.states[0].serving
    s.replicas.lag_s[0] = 3.0
    s.pass_at(1.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("lagging", 3.0)
    s.replicas.lag_s[0] = math.inf  # replication stopped
    s.pass_at(2.0)
    s.replicas.lag_s[0] = 0.0
    s.pass_at(3.0)
    s.pass_at(3.0 + COOLDOWN_S)
    assert s.states[0].serving


def test_no_lag_and_no_positions_keep_the_state() -> None:
    s = make(1, primary=Primary(None))
    s.replicas.replayed[0] = None
    s.replicas.lag_s[0] = 5.0
    s.pass_at(0.0)
    s.replicas.lag_s[0] = None
    s.pass_at(100.0)
    assert (s.states[0].state, s.states[0].lag_s) == ("lagging", None)


# -- failures ------------------------------------------------------------------------------


def test_a_primary_that_does_not_answer_changes_no_replica(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = make()
    s.pass_at(0.0)
    s.primary.position = 200
    s.replicas.replayed[0] = 200
    s.pass_at(1.0)
    s.pass_at(4.0)
    assert [r.state for r in s.states] == ["serving", "lagging"]
    s.primary.error = ConnectionRefusedError("connection refused")
    s.replicas.replayed[0] = 150  # behind the primary's last known position
    s.replicas.replayed[1] = 200  # caught up: but the monitor cannot know
    for now in (5.0, 20.0, 40.0):
        assert s.pass_at(now) == ()
    assert [r.state for r in s.states] == ["serving", "lagging"]
    assert [r.lag_s for r in s.states] == [None, None]
    assert [r.replayed for r in s.states] == [150, 200]
    primary_warnings = [m for m in messages(caplog, logging.WARNING) if "primary" in m]
    assert len(primary_warnings) == 1
    assert "connection refused" in primary_warnings[0]
    s.primary.error = None
    s.pass_at(41.0)
    assert any("answers the lag probe again" in m for m in messages(caplog, logging.INFO))


def test_a_replica_that_refuses_is_down_and_probed_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    s = make()
    s.replicas.errors[1] = ConnectionRefusedError("connection refused")
    for tick in range(0, 90):
        s.pass_at(tick * 0.25)
    assert s.states[1].state == "down"
    assert s.states[1].error == "connection refused"
    # Probed at 0, then after 0.5, 1, 2, 4, 5, 5, 5 s (at the first pass at or after).
    assert s.replicas.probed_at[1] == [0.0, 0.5, 1.5, 3.5, 7.5, 12.5, 17.5]
    assert len(s.replicas.probed_at[0]) == 90
    del s.replicas.errors[1]
    s.pass_at(22.0)
    assert s.states[1].state == "down"  # not due before 22.5
    s.pass_at(22.5)
    assert s.states[1].serving  # no cool-down after an outage
    assert s.changes == [("ds0/replica1", "down"), ("ds0/replica1", "serving")]
    warnings = messages(caplog, logging.WARNING)
    assert len(warnings) == 1
    assert "ds0/replica1" in warnings[0]
    assert "down" in warnings[0]
    assert "connection refused" in warnings[0]
    assert sum("ds0/replica1" in m for m in messages(caplog, logging.INFO)) == 1


def test_an_error_without_text_is_named_by_its_type() -> None:
    s = make(1)
    s.replicas.errors[0] = TimeoutError()
    s.pass_at(0.0)
    assert s.states[0].error == "TimeoutError"


def test_a_failing_on_change_does_not_stop_the_pass(caplog: pytest.LogCaptureFixture) -> None:
    def explode(replica: ReplicaState) -> None:
        raise RuntimeError("callback bug")

    s = make(on_change=explode)
    s.replicas.errors = {0: OSError("refused"), 1: OSError("refused")}
    s.pass_at(0.0)
    assert [r.state for r in s.states] == ["down", "down"]
    errors = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "on_change" in errors[0].getMessage()


# -- the automatic switch -------------------------------------------------------------------


def test_the_automatic_switch_follows_the_replicas() -> None:
    s = make()
    s.pass_at(0.0)
    assert s.switch.snapshot()["datasources"]["ds0"]["automatic"] is False
    s.primary.position = 200
    s.replicas.replayed[0] = 100
    s.replicas.errors[1] = ConnectionRefusedError("connection refused")
    s.pass_at(1.0)
    ds0 = s.switch.snapshot()["datasources"]["ds0"]
    assert ds0["automatic"] is False  # replica0 is behind, but only just
    s.pass_at(3.5)
    ds0 = s.switch.snapshot()["datasources"]["ds0"]
    assert ds0["automatic"] is True
    assert ds0["since"] == 3.5
    assert ds0["automatic_reason"] == (
        "no replica within max_replication_lag 2s "
        "(ds0/replica0: lag 2.5s; ds0/replica1: down: connection refused)"
    )
    assert s.switch.forced("ds0") is None  # the selector finds no replica instead
    del s.replicas.errors[1]
    s.replicas.replayed[1] = 200
    s.pass_at(10.0)
    ds0 = s.switch.snapshot()["datasources"]["ds0"]
    assert (ds0["automatic"], ds0["since"]) == (False, 10.0)


# -- construction and the thread --------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "interval_s", "max_lag_s", "cooldown_s"),
    [(0, 1.0, 1.0, 1.0), (1, 0.0, 1.0, 1.0), (1, 1.0, -1.0, 1.0), (1, 1.0, 1.0, -1.0)],
)
def test_nonsense_settings_are_refused(
    n: int, interval_s: float, max_lag_s: float, cooldown_s: float
) -> None:
    with pytest.raises(ValueError, match="ds0"):
        LagMonitor(
            datasource="ds0",
            replicas=[ReplicaState(i, f"ds0/replica{i}") for i in range(n)],
            lock=threading.Lock(),
            probe_primary=Primary(),
            probe_replica=Replicas(Clock()),
            interval_s=interval_s,
            max_lag_s=max_lag_s,
            cooldown_s=cooldown_s,
            backoff=Backoff(),
            switch=DegradeSwitch(),
        )


def test_the_thread_runs_passes_until_closed() -> None:
    passes = threading.Event()
    seen: list[int] = []

    def probe(index: int) -> ReplicaReading:
        seen.append(index)
        if len(seen) >= 3:
            passes.set()
        return ReplicaReading(replayed=100)

    monitor = LagMonitor(
        datasource="ds0",
        replicas=[ReplicaState(0, "ds0/replica0")],
        lock=threading.Lock(),
        probe_primary=lambda: 100,
        probe_replica=probe,
        interval_s=0.01,
        max_lag_s=MAX_LAG_S,
        cooldown_s=COOLDOWN_S,
        backoff=Backoff(),
        switch=DegradeSwitch(),
    )
    assert repr(monitor) == "<LagMonitor ds0 [not started; 1 serving, 0 lagging, 0 down]>"
    monitor.start()
    monitor.start()  # already running: nothing happens
    try:
        assert passes.wait(WAIT_S)
        assert monitor.running
        assert repr(monitor) == "<LagMonitor ds0 [every 0.01s; 1 serving, 0 lagging, 0 down]>"
    finally:
        monitor.close()
    assert not monitor.running
    monitor.close()  # idempotent
    assert repr(monitor) == "<LagMonitor ds0 [closed; 1 serving, 0 lagging, 0 down]>"
    with pytest.raises(InterfaceError, match="closed"):
        monitor.start()


def test_close_does_not_wait_for_the_interval() -> None:
    first = threading.Event()

    def probe(index: int) -> ReplicaReading:
        first.set()
        return ReplicaReading(replayed=100)

    monitor = LagMonitor(
        datasource="ds0",
        replicas=[ReplicaState(0, "ds0/replica0")],
        lock=threading.Lock(),
        probe_primary=lambda: 100,
        probe_replica=probe,
        interval_s=3600.0,
        max_lag_s=MAX_LAG_S,
        cooldown_s=COOLDOWN_S,
        backoff=Backoff(),
        switch=DegradeSwitch(),
    )
    monitor.start()
    assert first.wait(WAIT_S)
    monitor.close(timeout_s=WAIT_S)
    assert not monitor.running  # woken from its hour-long wait, not abandoned by join


class BrokenSwitch(DegradeSwitch):
    def set_automatic(self, datasource: str, on: bool, reason: str) -> None:
        raise RuntimeError("switch bug")


def test_the_thread_survives_failing_probes_callbacks_and_bugs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = threading.Event()
    count = [0]

    def probe_replica(index: int) -> ReplicaReading:
        count[0] += 1
        if count[0] >= 5:
            passes.set()
        raise ConnectionResetError("reset by peer")

    def probe_primary() -> int:
        raise ConnectionRefusedError("primary refused")

    def on_change(replica: ReplicaState) -> None:
        raise RuntimeError("callback bug")

    monitor = LagMonitor(
        datasource="ds0",
        replicas=[ReplicaState(0, "ds0/replica0")],
        lock=threading.Lock(),
        probe_primary=probe_primary,
        probe_replica=probe_replica,
        interval_s=0.01,
        max_lag_s=MAX_LAG_S,
        cooldown_s=COOLDOWN_S,
        backoff=Backoff(initial_s=0.001, max_s=0.001),
        switch=BrokenSwitch(),
        on_change=on_change,
    )
    monitor.start()
    try:
        assert passes.wait(WAIT_S)
        assert monitor.running
    finally:
        monitor.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert sum("failed a pass" in m for m in errors) == 1  # the same bug, logged once
    assert sum("on_change" in m for m in errors) == 1  # the replica went down once
