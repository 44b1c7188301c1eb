"""The replica fixtures drive a real PostgreSQL standby and MariaDB replica as they claim."""

from __future__ import annotations

import time
import urllib.parse

import psycopg
import pytest

from tenantdb.core.replication import GtidPosition

from ..conftest import _unavailable
from .conftest import MySqlReplica, PgReplica, parse_lsn


def _table_with_one_row(replica: PgReplica) -> str:
    db = replica.new_database()
    replica.query(replica.primary_url(db), "CREATE TABLE t (id int PRIMARY KEY, v text)")
    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (1, 'one')")
    replica.wait_caught_up()
    return db


@pytest.mark.postgres
def test_parse_lsn_orders_positions() -> None:
    assert parse_lsn("0/0") == 0
    assert parse_lsn("0/3000148") == 0x3000148
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn("16/B374D848") > parse_lsn("15/FFFFFFFF")


@pytest.mark.postgres
def test_new_database_exists_on_both_and_is_read_only_on_the_standby(
    pg_replica: PgReplica, run_id: str
) -> None:
    db = pg_replica.new_database()
    assert db.startswith(f"{run_id}_repl_")
    assert pg_replica.query(pg_replica.primary_url(db), "SELECT current_database()") == [(db,)]
    assert pg_replica.query(pg_replica.replica_url(db), "SELECT pg_is_in_recovery()") == [(True,)]
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        pg_replica.query(pg_replica.replica_url(db), "CREATE TABLE nope (id int)")


@pytest.mark.postgres
def test_row_written_on_the_primary_appears_on_the_replica(replica: PgReplica) -> None:
    db = _table_with_one_row(replica)
    assert replica.query(replica.replica_url(db), "SELECT id, v FROM t") == [(1, "one")]


@pytest.mark.postgres
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


@pytest.mark.postgres
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


@pytest.mark.postgres
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


# -- the MariaDB pair ----------------------------------------------------------------------


@pytest.mark.mysql
@pytest.mark.parametrize("replica", ["mysql"], indirect=True)
def test_mysql_pair_replicates_with_gtids_and_pauses_its_sql_thread(
    replica: MySqlReplica, run_id: str
) -> None:
    db = replica.new_database()
    assert db.startswith(f"{run_id}_mrepl_")
    replica.query(replica.primary_url(db), "CREATE TABLE t (id int PRIMARY KEY, v text)")
    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (1, 'one')")
    replica.wait_caught_up()
    assert replica.query(replica.replica_url(db), "SELECT id, v FROM t") == [(1, "one")]
    assert replica.query(replica.replica_url(db), f"SELECT {replica.on_replica}") == [(1,)]
    assert replica.query(replica.primary_url(db), f"SELECT {replica.on_replica}") == [(0,)]

    replica.pause()
    assert replica.paused()
    replica.query(replica.primary_url(db), "INSERT INTO t VALUES (2, 'two')")
    written = GtidPosition.parse(replica.primary_gtid())
    assert not GtidPosition.parse(replica.replica_gtid()).reached(written)
    assert replica.query(replica.replica_url(db), "SELECT id FROM t ORDER BY id") == [(1,)]
    with pytest.raises(TimeoutError, match="SQL thread stopped: True"):
        replica.wait_caught_up(timeout_s=0.5)

    replica.restore()  # what the ``replica`` fixture runs after every test
    assert not replica.paused()
    assert GtidPosition.parse(replica.replica_gtid()).reached(written)
    assert replica.query(replica.replica_url(db), "SELECT id FROM t ORDER BY id") == [(1,), (2,)]


@pytest.mark.mysql
def test_mysql_pair_check_names_what_is_wrong(mysql_replica: MySqlReplica) -> None:
    # What the session fixture skips with (or fails with under TENANTDB_REQUIRE_SERVICES=1).
    primary = mysql_replica.primary_url("")
    nothing = MySqlReplica(primary, "mysql://root@127.0.0.1:1/", iter(()))
    reason = nothing.check()
    assert reason is not None
    assert reason.startswith("MariaDB replica not reachable at 127.0.0.1:1")
    itself = MySqlReplica(primary, primary, iter(()))
    assert itself.check() == f"MariaDB at {primary_address(primary)} is not a replica of " + (
        f"the primary at {primary_address(primary)}"
    )


def primary_address(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}:{parts.port or 3306}"
