"""The degrade switch: precedence, automatic state, snapshot, one log line per change."""

from __future__ import annotations

import logging

import pytest

from tenantdb.core.replication import DegradeSwitch

LOGGER = "tenantdb.replication"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def records(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]


def test_nothing_is_forced_at_first() -> None:
    switch = DegradeSwitch()
    assert switch.forced("ds0") is None
    assert switch.snapshot() == {
        "cluster": {"forced": False, "reason": None, "since": 0.0},
        "datasources": {},
    }


def test_a_datasource_forced_by_hand() -> None:
    switch = DegradeSwitch()
    switch.force_primary("ds0", reason="replica rebuild")
    assert switch.forced("ds0") == "replica rebuild"
    assert switch.forced("ds1") is None
    switch.release("ds0")
    assert switch.forced("ds0") is None


def test_the_cluster_switch_comes_first() -> None:
    switch = DegradeSwitch()
    switch.force_primary("ds0", reason="ds0 maintenance")
    switch.force_primary(reason="incident 42")
    assert switch.forced("ds0") == "incident 42"
    assert switch.forced("ds1") == "incident 42"
    switch.release()  # the cluster switch only
    assert switch.forced("ds0") == "ds0 maintenance"
    assert switch.forced("ds1") is None


def test_a_new_reason_replaces_the_old_one() -> None:
    switch = DegradeSwitch()
    switch.force_primary("ds0", reason="one")
    switch.force_primary("ds0", reason="two")
    assert switch.forced("ds0") == "two"


def test_a_reason_is_required() -> None:
    with pytest.raises(ValueError, match="reason"):
        DegradeSwitch().force_primary("ds0", reason="")


def test_forced_ignores_the_automatic_switch() -> None:
    switch = DegradeSwitch()
    switch.set_automatic("ds0", True, "no replica within max_replication_lag")
    assert switch.forced("ds0") is None


def test_snapshot_reports_both_switches() -> None:
    clock = Clock()
    switch = DegradeSwitch(["ds1", "ds0"], clock=clock)
    clock.now = 101.0
    switch.force_primary("ds0", reason="rebuild")
    clock.now = 102.0
    switch.set_automatic("ds1", True, "replica1: down")
    clock.now = 103.0
    switch.set_automatic("ds1", True, "replica1: down: refused")  # no change of state
    clock.now = 104.0
    switch.force_primary(reason="incident")
    snapshot = switch.snapshot()
    assert snapshot == {
        "cluster": {"forced": True, "reason": "incident", "since": 104.0},
        "datasources": {
            "ds0": {
                "forced": True,
                "reason": "rebuild",
                "automatic": False,
                "automatic_reason": None,
                "since": 101.0,
            },
            "ds1": {
                "forced": False,
                "reason": None,
                "automatic": True,
                "automatic_reason": "replica1: down: refused",
                "since": 102.0,
            },
        },
    }
    assert list(snapshot["datasources"]) == ["ds0", "ds1"]
    switch.set_automatic("ds1", False, "replica1 within max_replication_lag")
    ds1 = switch.snapshot()["datasources"]["ds1"]
    assert (ds1["automatic"], ds1["automatic_reason"]) == (False, None)


def test_manual_changes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    switch = DegradeSwitch()
    switch.force_primary("ds0", reason="replica rebuild")
    switch.force_primary("ds0", reason="replica rebuild")
    switch.release("ds0")
    switch.release("ds0")
    switch.release("ds1")  # never forced
    switch.force_primary(reason="incident 42")
    switch.release()
    log = records(caplog)
    assert [level for level, _ in log] == [
        logging.WARNING,
        logging.INFO,
        logging.WARNING,
        logging.INFO,
    ]
    assert "datasource ds0" in log[0][1]
    assert "manual" in log[0][1]
    assert "replica rebuild" in log[0][1]
    assert "datasource ds0" in log[1][1]
    assert "manual" in log[1][1]
    assert "every datasource" in log[2][1]
    assert "incident 42" in log[2][1]
    assert "every datasource" in log[3][1]


def test_automatic_changes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    switch = DegradeSwitch()
    switch.set_automatic("ds0", False, "replica1 fine")  # already off
    for lag in (3.1, 3.2, 3.3):
        switch.set_automatic("ds0", True, f"replica1: lag {lag}s")
    switch.set_automatic("ds0", False, "replica1 within max_replication_lag")
    switch.set_automatic("ds0", False, "replica1 within max_replication_lag")
    assert records(caplog) == [
        (
            logging.WARNING,
            "reads of datasource ds0 go to the primary (automatic): replica1: lag 3.1s",
        ),
        (
            logging.INFO,
            "reads of datasource ds0 may use replicas again (automatic): "
            "replica1 within max_replication_lag",
        ),
    ]


def test_release_says_when_replicas_are_still_unusable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    switch = DegradeSwitch()
    switch.set_automatic("ds0", True, "replica1: down")
    switch.force_primary("ds0", reason="rebuild")
    switch.release("ds0")
    assert "no replica qualifies yet (replica1: down)" in records(caplog)[-1][1]
    switch.force_primary("ds0", reason="rebuild")
    switch.force_primary(reason="incident")
    switch.release("ds0")
    assert "every datasource is still forced (incident)" in records(caplog)[-1][1]


def test_releasing_an_unknown_datasource_changes_nothing() -> None:
    switch = DegradeSwitch()
    switch.release("ds9")
    assert switch.snapshot()["datasources"] == {}


def test_repr() -> None:
    switch = DegradeSwitch()
    assert repr(switch) == "<DegradeSwitch [replicas in use]>"
    switch.force_primary("ds0", reason="x")
    switch.set_automatic("ds1", True, "y")
    switch.force_primary(reason="z")
    assert repr(switch) == "<DegradeSwitch [cluster forced; forced: ds0; automatic: ds1]>"
