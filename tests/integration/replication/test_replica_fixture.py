"""The ``pg_replica`` / ``replica`` fixtures drive a real streaming standby as they claim."""

from __future__ import annotations

import time

import psycopg
import pytest

from ..conftest import _unavailable
from .conftest import PgReplica, parse_lsn

pytestmark = pytest.mark.postgres


def _table_with_one_row(replica: PgReplica) -> str:
    db = replica.new_database()
    replica.query(replica.primary_url(db), "CREATE TABLE t (id int PRIMARY KEY, v text)")
    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (1, 'one')")
    replica.wait_caught_up()
    return db


def test_parse_lsn_orders_positions() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("0/3000148") == 0x3000148
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn("16/B374D848") > parse_lsn("15/FFFFFFFF")


def test_new_database_exists_on_both_and_is_read_only_on_the_standby(
    pg_replica: PgReplica, run_id: str
) -> None:
    db = pg_replica.new_database()
    assert db.startswith(f"{run_id}_repl_")
    assert pg_replica.query(pg_replica.primary_url(db), "SELECT current_database()") == [(db,)]
    assert pg_replica.query(pg_replica.replica_url(db), "SELECT pg_is_in_recovery()") == [(True,)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pg_replica.query(pg_replica.replica_url(db), "CREATE TABLE nope (id int)")


def test_row_written_on_the_primary_appears_on_the_replica(replica: PgReplica) -> None:
    db = _table_with_one_row(replica)
    assert replica.query(replica.replica_url(db), "SELECT id, v FROM t") == [(1, "one")]


def test_paused_replay_hides_new_rows_until_resumed(replica: PgReplica) -> None:
    db = _table_with_one_row(replica)
    replica.pause()
    assert replica.paused()

    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (2, 'two')")
    written = parse_lsn(replica.primary_lsn())
    # The standby still receives the WAL; it only does not apply it.
    deadline = time.monotonic() + 10
    while parse_lsn(replica.replica_receive_lsn()) < written and time.monotonic() < deadline:
        time.sleep(0.05)
    assert parse_lsn(replica.replica_receive_lsn()) >= written
    assert parse_lsn(replica.replica_replay_lsn()) < written
    assert replica.query(replica.replica_url(db), "SELECT id FROM t ORDER BY id") == [(1,)]
    with pytest.raises(TimeoutError, match="replay paused: True"):
        replica.wait_caught_up(timeout_s=0.5)

    replica.resume()
    assert not replica.paused()
    replica.wait_caught_up()
    assert parse_lsn(replica.replica_replay_lsn()) >= written
    assert replica.query(replica.replica_url(db), "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_stopped_replica_refuses_connections_and_catches_up_after_start(
    replica: PgReplica,
) -> None:
    if not replica.controllable:
        _unavailable(f"cannot stop the standby: {replica.not_controllable_reason}")
    db = _table_with_one_row(replica)
    replica.stop()
    assert not replica.running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(replica.replica_url(db), connect_timeout=2).close()
    replica.stop()  # stopping a stopped standby is a no-op

    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (2, 'written while down')")
    replica.start()
    assert replica.running()
    assert replica.streaming()
    assert not replica.paused()
    assert replica.query(replica.replica_url(db), "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_restore_resumes_replay_and_starts_the_standby(replica: PgReplica) -> None:
    # What the ``replica`` fixture (and, for ``pg_replica`` here, an autouse fixture) runs
    # after every test.
    db = _table_with_one_row(replica)
    replica.pause()
    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (2, 'two')")
    replica.restore()
    assert not replica.paused()
    assert replica.query(replica.replica_url(db), "SELECT count(*) FROM t") == [(2,)]

    if replica.controllable:
        replica.stop()
        replica.query(replica.primary_url(db), "INSERT INTO t VALUES (3, 'three')")
        replica.restore()
        assert replica.running()
        assert replica.query(replica.replica_url(db), "SELECT count(*) FROM t") == [(3,)]
