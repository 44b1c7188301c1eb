"""psycopg_pool's connect-failure lines are held while a caller waits, dropped when the caller
gets the failure as ShardUnavailableError, and logged when it does not (no I/O: records are
logged by hand the way psycopg_pool logs them)."""

from __future__ import annotations

import logging

import pytest

from tenantdb.drivers import ConnectFailureLog
from tenantdb.errors import ShardUnavailableError

POOL = logging.getLogger("psycopg.pool")


def _attempt_fails(pool_name: str) -> None:
    POOL.warning("error connecting in %r: %s", pool_name, "connection refused")


def _wait_then_fail(log: ConnectFailureLog, *failing_pools: str) -> None:
    with log.waiting():
        for name in failing_pools:
            _attempt_fails(name)
        raise ShardUnavailableError("refused")


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "psycopg.pool"]


def test_a_failure_the_caller_is_given_is_not_logged_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = ConnectFailureLog("u1/primary")
    caplog.set_level(logging.WARNING, logger="psycopg.pool")
    with pytest.raises(ShardUnavailableError):
        _wait_then_fail(log, "u1/primary", "u1/primary")
    assert _failures(caplog) == []
    log.close()


def test_a_failure_nobody_is_told_about_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    log = ConnectFailureLog("u2/primary")
    caplog.set_level(logging.WARNING, logger="psycopg.pool")
    with log.waiting():
        _attempt_fails("u2/primary")
        assert _failures(caplog) == []  # held while the caller waits
    assert [r.getMessage() for r in _failures(caplog)] == [
        "error connecting in 'u2/primary': connection refused"
    ]
    log.close()


def test_other_pools_and_other_messages_and_idle_pools_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = ConnectFailureLog("u3/primary")
    caplog.set_level(logging.INFO, logger="psycopg.pool")
    _attempt_fails("u3/primary")  # nobody waits: background reconnection
    POOL.warning("discarding broken connection: %s", "<conn>")
    with pytest.raises(ShardUnavailableError):
        _wait_then_fail(log, "other/primary")
    assert len(_failures(caplog)) == 3
    log.close()
    with pytest.raises(ShardUnavailableError):
        _wait_then_fail(log, "u3/primary")  # closed: no longer held
    assert len(_failures(caplog)) == 4
