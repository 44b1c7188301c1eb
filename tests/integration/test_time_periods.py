"""A time_range key past the pre-created periods: a clear error naming the period and the
command, and precreate = "auto", which creates the periods in the background (issue 14).
On SQLite, PostgreSQL and MariaDB, on both fronts (``front``; the asyncio front's
precreation runs on threads with pools of its own, as the thread front's does)."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import tenantdb
from fronts import Front

from .conftest import Backend

HANG_GUARD_S = 30.0  # polling deadline for the background thread; never a timing assertion

SCHEMA = "CREATE TABLE metrics (id INTEGER PRIMARY KEY, created_at DATE NOT NULL, v INTEGER)"
INSERT = "INSERT INTO metrics (id, created_at, v) VALUES (%s, %s, %s)"


class Clock:
    def __init__(self, day: datetime.date) -> None:
        self.day = day

    def __call__(self) -> datetime.date:
        return self.day


def config(url: str, dialect: str, **extra: Any) -> dict[str, Any]:
    return {
        "dialect": dialect,
        "datasources": {"ds0": {"url": url}},
        "tables": {
            "metrics": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": "month",
                "start": "2027-01-01",
                "pre_create": 1,
                "tenant_scoped": False,
            }
        },
        **extra,
    }


@pytest.fixture
def url(backend: Backend) -> str:
    """A database with metrics_202701 .. metrics_202704 (today 2027-03-15, pre_create 1)."""
    url = backend.new_database()
    with (
        tenantdb.connect(
            config(url, backend.dialect), today=Clock(datetime.date(2027, 3, 15))
        ) as cluster,
        cluster.session(admin=True) as s,
    ):
        s.execute(SCHEMA)
    return url


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_a_key_past_the_precreated_periods_names_the_period_and_the_command(
    backend: Backend, url: str, front: Front
) -> None:
    clock = Clock(datetime.date(2027, 3, 15))
    with front.connect(config(url, backend.dialect), today=clock) as cluster:
        with cluster.session() as s:
            s.execute(INSERT, (1, datetime.date(2027, 4, 2), 1))  # pre-created: fine
            with pytest.raises(tenantdb.RoutingError) as info:
                s.execute(INSERT, (2, datetime.date(2027, 6, 10), 1))
            with pytest.raises(tenantdb.RoutingError) as many:
                s.executemany(INSERT, [(3, datetime.date(2027, 4, 3), 1), (4, "2027-06-11", 1)])
        message = str(info.value)
        assert "metrics" in message
        assert "2027-06" in message
        assert "metrics_202706" in message
        assert "tenantdb ddl" in message
        assert "--precreate" in message
        assert 'precreate = "auto"' in message
        assert info.value.orig is not None  # the driver's error stays reachable
        assert info.value.datasource == "ds0"
        assert "2027-06" in str(many.value)
        with cluster.session(admin=True) as s:
            ids = s.execute("SELECT id FROM metrics ORDER BY id").fetchall()
        assert ids == [(1,)]  # the failed executemany wrote nothing


def test_other_missing_tables_keep_the_drivers_error(
    backend: Backend, url: str, front: Front
) -> None:
    with (
        front.connect(config(url, backend.dialect)) as cluster,
        cluster.session(admin=True) as s,
        pytest.raises(tenantdb.DatabaseError) as info,
    ):
        s.execute("SELECT * FROM no_such_table")
    assert not isinstance(info.value, tenantdb.RoutingError)
    assert "precreate" not in str(info.value)


def test_auto_precreation_creates_the_next_periods_and_is_idempotent(
    backend: Backend, url: str, caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    caplog.set_level(logging.INFO, logger="tenantdb.precreate")
    clock = Clock(datetime.date(2027, 3, 15))
    cluster = front.connect(config(url, backend.dialect, precreate="auto"), today=clock)
    precreator = cluster.precreator
    assert precreator is not None
    try:
        assert precreator.passes == 0  # connect() alone starts nothing
        with cluster.session() as s:  # the first session starts the thread: a first pass
            _until(lambda: precreator.passes >= 1, "the first precreation pass")
            assert precreator.last_error is None
            clock.day = datetime.date(2027, 5, 20)  # now May; pre_create 1 needs June
            report = precreator.step()
            assert report is not None
            assert [s.tables for s in report.steps("applied")] == [
                ("metrics_202705",),
                ("metrics_202706",),
            ]
            s.execute(INSERT, (2, datetime.date(2027, 6, 10), 1))
            again = precreator.step()
            assert again is not None
            assert again.applied == 0
        assert "metrics_202706" in caplog.text
    finally:
        cluster.close()
    assert not any(t.name == "tenantdb-precreate" and t.is_alive() for t in threading.enumerate())


def test_the_background_thread_follows_the_clock(backend: Backend, url: str, front: Front) -> None:
    clock = Clock(datetime.date(2027, 3, 15))
    cluster = front.connect(
        config(url, backend.dialect, precreate="auto", precreate_interval=0.05), today=clock
    )
    try:
        with cluster.session() as s:
            clock.day = datetime.date(2027, 8, 1)  # the thread alone must make 2027-09

            def september_exists() -> bool:
                try:
                    s.execute(INSERT, (9, datetime.date(2027, 9, 30), 1))
                except tenantdb.RoutingError:
                    return False
                return True

            _until(september_exists, "metrics_202709 from the background thread")
    finally:
        cluster.close()


def test_a_failing_pass_is_logged_not_raised(
    backend: Backend, caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    # No period table to copy from and no script: every pass fails, and says why.
    url = backend.new_database()
    cluster = front.connect(
        config(url, backend.dialect, precreate="auto"), today=Clock(datetime.date(2027, 3, 15))
    )
    try:
        assert cluster.precreator is not None
        assert cluster.precreator.step() is None
        assert cluster.precreator.last_error
        assert "precreating time_range period tables failed" in caplog.text
    finally:
        cluster.close()
