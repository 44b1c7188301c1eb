"""Read/write splitting against a real primary and its replica: PostgreSQL and its streaming
hot standby and, for the tests parametrized with ``PAIRS``, MariaDB and its GTID replica
(where a paused replay is the replica's SQL thread stopped with ``STOP SLAVE SQL_THREAD``).

Every read here selects the pair's ``on_replica`` expression (PostgreSQL:
``pg_is_in_recovery()``; MariaDB: the replica's ``@@server_id``) beside its data, so each
result says which server really answered; ``read()`` checks that ``Result.targets[0].role``
agrees with it.
Waits poll with generous deadlines (the machine is shared); no assertion measures time.
The lag cool-down and the re-probe backoff are shown by states and counts in status
snapshots (their exact timing is unit-tested with a fake clock).

The tests that take ``front`` run on both fronts (the asyncio one through
``tests/fronts.py``); two stay on the thread front, each saying why. Where a test runs a
session in a thread of its own, the main thread leaves the cluster alone meanwhile (it
watches the servers through raw connections), as the asyncio front's blocking adapter needs.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

import tenantdb
from fronts import Front
from tenantdb.core.replication import GtidPosition

from ..conftest import _unavailable
from .conftest import PAIRS, MySqlReplica, PgReplica

Pair = PgReplica | MySqlReplica
both_pairs = pytest.mark.parametrize("replica", PAIRS, indirect=True)

T = TypeVar("T")

ROWS = 3
INTERVAL_S = 0.1
POLL_S = 0.02
SECRET = "pw-not-to-be-shown"


# -- helpers ---------------------------------------------------------------------------


class _Answered:
    """The SQL expression, true only on the replica, that reads select beside their data:
    the current test's pair's ``on_replica`` (set by ``_answered_by``; the tests of this
    module run one at a time, in one xdist group)."""

    sql = PgReplica.on_replica


ANSWERED = _Answered()


@pytest.fixture(autouse=True)
def _answered_by(request: pytest.FixtureRequest) -> Iterator[None]:
    if "replica" in request.fixturenames:
        pair: Pair = request.getfixturevalue("replica")
        ANSWERED.sql = pair.on_replica
    yield
    ANSWERED.sql = PgReplica.on_replica


def count_sql() -> str:
    return f"SELECT {ANSWERED.sql}, count(*) FROM items"


def insert_numbers(replica: Pair, url: str, table: str, sql: str, n: int) -> None:
    """``INSERT INTO table`` ``sql`` (a row of the number ``g``) for ``g`` in 1..n."""
    if replica.kind == "postgres":
        replica.query(url, f"INSERT INTO {table} SELECT {sql} FROM generate_series(1, {n}) g")
    else:
        rows = " UNION ALL ".join(f"SELECT {sql.replace('g', str(g))}" for g in range(1, n + 1))
        replica.query(url, f"INSERT INTO {table} {rows}")


def prepare(replica: Pair) -> str:
    """A fresh database with ``items`` (ROWS rows) and ``ticks``, replayed on the standby."""
    db = replica.new_database()
    url = replica.primary_url(db)
    serial = "bigserial" if replica.kind == "postgres" else "bigint AUTO_INCREMENT"
    replica.query(url, f"CREATE TABLE items (id {serial} PRIMARY KEY, k int UNIQUE, v text)")
    replica.query(url, f"CREATE TABLE ticks (id {serial} PRIMARY KEY)")
    insert_numbers(replica, url, "items (k, v)", "g, CONCAT('row ', g)", ROWS)
    replica.wait_caught_up()
    return db


def datasource(replica: Pair, db: str, **settings: Any) -> dict[str, Any]:
    """A datasource with the standby as its replica; a lax lag threshold unless overridden."""
    return {
        "url": replica.primary_url(db),
        "replicas": [replica.replica_url(db)],
        "replica_policy": "round_robin",
        "max_replication_lag": 30.0,
        "lag_check_interval": INTERVAL_S,
        "lag_cooldown": 0.3,
        "on_replica_lag": "primary",
        **settings,
    }


def config(replica: Pair, db: str, **settings: Any) -> dict[str, Any]:
    return {
        "datasources": {"ds0": datasource(replica, db, **settings)},
        "tables": {"items": {"strategy": "single", "tenant_scoped": False}},
    }


@dataclass(frozen=True)
class Read:
    role: str
    count: int


def read(session: tenantdb.Session, **options: Any) -> Read:
    """``count_sql()`` through tenantdb; checks that the reported role is the server's."""
    result = session.execute(count_sql(), None, **options)
    ((in_recovery, count),) = result.fetchall()
    assert len(result.targets) == 1, result.targets
    role = result.targets[0].role
    assert role in ("primary", "replica"), role
    assert (role == "replica") == in_recovery, (
        f"result says role {role!r} but the server answered {ANSWERED.sql} = {in_recovery}"
    )
    return Read(role, count)


def fresh_read(cluster: tenantdb.Cluster, **session_options: Any) -> Read:
    with cluster.session(**session_options) as session:
        return read(session)


def wait_for(condition: Callable[[], T], what: str, timeout_s: float = 10.0) -> T:
    """Poll ``condition`` until it returns something truthy (returned); fail after
    ``timeout_s`` naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not seen within {timeout_s}s (last: {value!r})")
        time.sleep(POLL_S)


def replica_status(cluster: tenantdb.Cluster, name: str = "ds0") -> dict[str, Any]:
    (entry,) = cluster.status()["datasources"][name]["replicas"]
    assert isinstance(entry, dict)
    return entry


def forced_reason(status: dict[str, Any], name: str) -> str | None:
    """Why reads of datasource ``name`` are forced to its primary, per the status contract:
    ``status["datasources"][name]["forced"]`` is that reason, or None when not forced."""
    value = status["datasources"][name]["forced"]
    assert value is None or isinstance(value, str), (
        f"status['datasources'][{name!r}]['forced'] should be the reason or None, got {value!r}"
    )
    return value


def assert_json_round_trip(status: dict[str, Any]) -> None:
    # allow_nan=False: strict JSON (no Infinity/NaN) is what other tools can parse.
    assert json.loads(json.dumps(status, allow_nan=False)) == status


def primary_count(replica: Pair, db: str, where: str = "true") -> int:
    return int(
        replica.query(replica.primary_url(db), f"SELECT count(*) FROM items WHERE {where}")[0][0]
    )


def running_queries(replica: PgReplica, url: str, db: str, pattern: str) -> int:
    rows = replica.query(
        url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
        " AND query ILIKE %s AND pid <> pg_backend_pid()",
        [db, f"%{pattern}%"],
    )
    return int(rows[0][0])


@contextmanager
def wal_moving(replica: Pair, db: str) -> Iterator[list[BaseException]]:
    """Write a row on the primary every ~50 ms (so its WAL or GTID position keeps moving)
    until the block ends; yields the list of errors the writer met."""
    stop = threading.Event()
    errors: list[BaseException] = []
    tick = "INSERT INTO ticks " + (
        "DEFAULT VALUES" if replica.kind == "postgres" else "() VALUES ()"
    )

    def loop() -> None:
        try:
            while not stop.is_set():
                replica.query(replica.primary_url(db), tick)
                stop.wait(0.05)
        except Exception as exc:  # reported by the caller
            errors.append(exc)

    thread = threading.Thread(target=loop, name="wal-writer", daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(10)
    assert not errors, errors


# -- 1. routing ------------------------------------------------------------------------


@both_pairs
def test_reads_go_to_the_replica_writes_locks_and_transactions_to_the_primary(
    replica: Pair, front: Front
) -> None:
    db = prepare(replica)
    with front.connect(config(replica, db)) as cluster, cluster.session() as s:
        first = read(s)
        assert first == Read("replica", ROWS)
        standby = replica.query(replica.replica_url(db), "SELECT count(*) FROM items")[0][0]
        assert first.count == standby

        written = s.execute("INSERT INTO items (k, v) VALUES (%s, %s)", (100, "new"))
        assert [t.role for t in written.targets] == ["primary"]
        assert primary_count(replica, db, "k = 100") == 1

        shared = "FOR SHARE" if replica.kind == "postgres" else "LOCK IN SHARE MODE"
        for lock in ("FOR UPDATE", shared):
            locked = s.execute(f"SELECT {ANSWERED.sql}, k FROM items WHERE k = 1 {lock}")
            assert [t.role for t in locked.targets] == ["primary"], lock
            assert locked.fetchall() == [(False, 1)], lock

        with s.transaction():
            assert read(s).role == "primary"
            assert read(s).role == "primary"

        assert read(s, primary=True) == Read("primary", ROWS + 1)

        # An error the replica answers (not a connection error) is the caller's: no retry.
        # (A new session: this one wrote, so its reads may go to the primary for a while.)
        # (The class differs: PyMySQL files an unknown column under OperationalError.)
        with cluster.session() as reader, pytest.raises(tenantdb.DatabaseError) as caught:
            reader.execute("SELECT no_such_column FROM items")
        assert caught.value.role == "replica"
        assert not isinstance(caught.value, tenantdb.ShardUnavailableError)

        plan = cluster.explain("SELECT count(*) FROM items")
        assert [t.role for t in plan.targets] == ["replica"]
        assert plan.to_dict()["targets"][0]["role"] == "replica"
        insert = cluster.explain("INSERT INTO items (k) VALUES (%s)", [5])
        assert [t.role for t in insert.targets] == ["primary"]
        locking = cluster.explain("SELECT k FROM items WHERE k = 1 FOR UPDATE")
        assert [t.role for t in locking.targets] == ["primary"]

    with front.connect(config(replica, db)) as cluster:
        assert fresh_read(cluster).role == "replica"
        with cluster.session(primary=True) as s:
            assert read(s) == Read("primary", ROWS + 1)
            assert read(s).role == "primary"
        assert fresh_read(cluster).role == "replica"


@pytest.mark.postgres
def test_a_select_with_a_data_modifying_cte_is_refused(replica: PgReplica, front: Front) -> None:
    # A writing CTE would be routed (and sent to replicas) as a read: tenantdb refuses it
    # before anything runs, so nothing is written.
    db = prepare(replica)
    with front.connect(config(replica, db)) as cluster, cluster.session() as s:
        with pytest.raises(tenantdb.UnsupportedSQLError, match="WITH clause that writes"):
            s.execute(
                "WITH added AS (INSERT INTO items (k, v) VALUES (%s, %s) RETURNING k)"
                " SELECT k FROM added",
                (150, "cte"),
            )
        assert primary_count(replica, db, "k = 150") == 0
        with pytest.raises(tenantdb.UnsupportedSQLError, match="WITH clause that writes"):
            cluster.explain("WITH d AS (DELETE FROM items RETURNING k) SELECT count(*) FROM d")


@both_pairs
def test_replica_choice_follows_the_policy(replica: Pair, front: Front) -> None:
    # Two standby databases with different row counts stand for two replicas of ds0, so
    # the count a read returns says which replica served it.
    db, other = prepare(replica), replica.new_database()
    replica.query(replica.primary_url(other), "CREATE TABLE items (k int)")
    insert_numbers(replica, replica.primary_url(other), "items", "g", 7)
    replica.wait_caught_up()
    replicas = [replica.replica_url(db), replica.replica_url(other)]

    def shares(**settings: Any) -> tuple[int, int]:
        with front.connect(config(replica, db, replicas=replicas, **settings)) as cluster:
            reads = [fresh_read(cluster) for _ in range(40)]
        assert {r.role for r in reads} == {"replica"}, reads
        assert {r.count for r in reads} <= {ROWS, 7}, reads
        first = sum(1 for r in reads if r.count == ROWS)
        return first, len(reads) - first

    # Loose bands around 20/20 and 32/8: a replica may skip a turn on a noisy machine.
    first, second = shares(replica_policy="round_robin")
    assert 14 <= first <= 26, (first, second)
    first, second = shares(replica_policy="weighted", replica_weights=[4.0, 1.0])
    assert 27 <= first <= 37, (first, second)
    assert second >= 3, (first, second)


# -- 2. read-your-writes ---------------------------------------------------------------


@both_pairs
def test_read_your_writes_and_consistency_tokens_with_replay_paused(
    replica: Pair, front: Front
) -> None:
    db = prepare(replica)
    # A lax threshold: the paused standby must stay "serving", so only read-your-writes
    # can keep a session off it.
    with front.connect(config(replica, db, max_replication_lag=60.0)) as cluster:
        assert fresh_read(cluster) == Read("replica", ROWS)
        replica.pause()
        key = 200
        select_row = f"SELECT {ANSWERED.sql}, v FROM items WHERE k = %s"

        with cluster.session() as writer:
            writer.execute("INSERT INTO items (k, v) VALUES (%s, %s)", (key, "mine"))
            own = writer.execute(select_row, (key,))
            assert own.fetchall() == [(False, "mine")]
            assert [t.role for t in own.targets] == ["primary"]
            token = writer.consistency_token()
            assert isinstance(token, str)
            assert token

            # Another session without the token reads the standby, which really is stale.
            assert fresh_read(cluster) == Read("replica", ROWS)

            with cluster.session(consistency_token=token) as follower:
                seen = follower.execute(select_row, (key,))
                assert seen.fetchall() == [(False, "mine")]
                assert [t.role for t in seen.targets] == ["primary"]
                relayed = follower.consistency_token()
            # The guarantee is passed on: a follower's own token still carries the write.
            with cluster.session(consistency_token=relayed) as second:
                assert read(second) == Read("primary", ROWS + 1)

            # Writes in a transaction and through executemany are remembered too.
            insert = "INSERT INTO items (k, v) VALUES (%s, %s)"
            with cluster.session() as tx_writer:
                with tx_writer.transaction():
                    tx_writer.execute(insert, (201, "tx"))
                assert read(tx_writer) == Read("primary", ROWS + 2)
            with cluster.session() as batch_writer:
                batch_writer.executemany(insert, [(202, "b"), (203, "b")])
                assert read(batch_writer) == Read("primary", ROWS + 4)
            assert fresh_read(cluster) == Read("replica", ROWS)

            replica.resume()
            replica.wait_caught_up()

            def replica_serves_the_token() -> str | None:
                with cluster.session(consistency_token=token) as follower:
                    result = follower.execute(select_row, (key,))
                    rows = result.fetchall()
                    role = result.targets[0].role
                # Whoever serves a session with the token must show the row.
                assert [v for _, v in rows] == ["mine"], (role, rows)
                assert rows[0][0] == (role == "replica"), (role, rows)
                return role if role == "replica" else None

            wait_for(replica_serves_the_token, "a token session served by the caught-up replica")

            def writer_back_on_the_replica() -> bool:
                r = writer.execute(select_row, (key,))
                rows = r.fetchall()
                assert [v for _, v in rows] == ["mine"], rows
                return r.targets[0].role == "replica"

            wait_for(writer_back_on_the_replica, "the writing session read from the replica")


@both_pairs
def test_a_malformed_consistency_token_is_refused(replica: Pair, front: Front) -> None:
    db = prepare(replica)
    with front.connect(config(replica, db)) as cluster:

        def open_and_read() -> None:
            with cluster.session(consistency_token="not-a-token") as s:
                read(s)

        # Refused when the session opens or at its first read; either way, never served.
        with pytest.raises(tenantdb.ProgrammingError, match="consistency token"):
            open_and_read()


@both_pairs
def test_read_your_writes_is_per_datasource_in_a_scatter_read(replica: Pair, front: Front) -> None:
    dbs = [replica.new_database(), replica.new_database()]
    for i, db in enumerate(dbs):
        replica.query(
            replica.primary_url(db), f"CREATE TABLE accounts_{i} (account_id int PRIMARY KEY)"
        )
        replica.query(replica.primary_url(db), f"INSERT INTO accounts_{i} VALUES ({i})")
    replica.wait_caught_up()
    settings = {
        "datasources": {
            f"ds{i}": datasource(replica, db, max_replication_lag=60.0) for i, db in enumerate(dbs)
        },
        "tables": {
            "accounts": {
                "strategy": "mod",
                "key": "account_id",
                "shards": 2,
                "datasources": ["ds0", "ds1"],
                "tenant_scoped": False,
            }
        },
    }
    scan = f"SELECT account_id, {ANSWERED.sql} FROM accounts ORDER BY account_id"

    def scatter(session: tenantdb.Session, **options: Any) -> tuple[dict[str, str], list[Any]]:
        result = session.execute(scan, None, **options)
        rows = result.fetchall()
        roles = {t.datasource: t.role for t in result.targets}
        assert len(result.targets) == 2, result.targets
        for account_id, in_recovery in rows:
            # account_id % 2 is the shard, and shard i lives on ds{i}.
            assert in_recovery == (roles[f"ds{account_id % 2}"] == "replica"), (roles, rows)
        return roles, [a for a, _ in rows]

    with front.connect(settings) as cluster, cluster.session() as s:
        assert scatter(s) == ({"ds0": "replica", "ds1": "replica"}, [0, 1])
        assert scatter(s, primary=True) == ({"ds0": "primary", "ds1": "primary"}, [0, 1])
        replica.pause()
        s.execute("INSERT INTO accounts (account_id) VALUES (%s)", (2,))  # shard 0: ds0
        assert scatter(s) == ({"ds0": "primary", "ds1": "replica"}, [0, 1, 2])
        with cluster.session() as other:
            assert scatter(other) == ({"ds0": "replica", "ds1": "replica"}, [0, 1])


@pytest.mark.postgres
def test_a_scatter_read_that_loses_its_replica_connection_is_retried(
    replica: PgReplica, caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    """ds0's replica connection is killed between two scatter reads: the second read is
    retried with ds0 on its primary, and only ds0's replica is charged; ds1's replica, on
    its own connection beside it, keeps serving. Deterministic: the connection killed is
    the one the first read reports (``pg_backend_pid()``), the kill is awaited, and the
    monitors run one pass and then sleep for a minute, so no probe puts ds0 back in
    service (or down) while the test looks."""
    dbs = [replica.new_database(), replica.new_database()]
    for i, db in enumerate(dbs):
        replica.query(replica.primary_url(db), f"CREATE TABLE accounts_{i} (account_id int)")
        replica.query(replica.primary_url(db), f"INSERT INTO accounts_{i} VALUES ({i})")
    replica.wait_caught_up()
    quiet = {"lag_check_interval": 60.0}
    settings = {
        "datasources": {f"ds{i}": datasource(replica, db, **quiet) for i, db in enumerate(dbs)},
        "tables": {
            "accounts": {
                "strategy": "mod",
                "key": "account_id",
                "shards": 2,
                "datasources": ["ds0", "ds1"],
                "tenant_scoped": False,
            }
        },
    }
    scan = "SELECT account_id, pg_backend_pid() FROM accounts ORDER BY account_id"

    def replicas(cluster: tenantdb.Cluster) -> dict[str, dict[str, Any]]:
        status = cluster.status()["datasources"]
        return {name: status[name]["replicas"][0] for name in ("ds0", "ds1")}

    caplog.set_level(logging.WARNING, logger="tenantdb.replication")
    with front.connect(settings) as cluster, cluster.session() as s:
        first = s.execute(scan)
        (_, ds0_pid), (_, ds1_pid) = first.fetchall()
        assert {t.datasource: t.role for t in first.targets} == {
            "ds0": "replica",
            "ds1": "replica",
        }
        # Each monitor's first pass is over (it then waits a minute): nothing else moves.
        wait_for(
            lambda: all(r["replayed"] is not None for r in replicas(cluster).values()),
            "the monitors' first pass",
        )
        assert {n: r["state"] for n, r in replicas(cluster).items()} == {
            "ds0": "serving",
            "ds1": "serving",
        }

        standby = replica.replica_url(dbs[0])
        assert replica.query(standby, "SELECT pg_terminate_backend(%s)", [ds0_pid]) == [(True,)]
        wait_for(
            lambda: (
                replica.query(
                    standby, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [ds0_pid]
                )
                == [(0,)]
            ),
            "the session's ds0 replica connection gone",
        )

        again = s.execute(scan)
        rows = again.fetchall()  # no error reaches the caller
        assert [account for account, _ in rows] == [0, 1]
        assert {t.datasource: t.role for t in again.targets} == {
            "ds0": "primary",
            "ds1": "replica",
        }
        assert rows[1][1] == ds1_pid, "ds1's replica connection was kept"

        after = replicas(cluster)
        assert after["ds0"]["state"] == "down", after
        assert after["ds0"]["failures"] == 1, after
        assert "'ds0' (replica)" in after["ds0"]["error"], after
        assert after["ds1"]["state"] == "serving", after
        assert after["ds1"]["failures"] == 0, after
        assert after["ds1"]["error"] is None, after
    charged = [r.getMessage() for r in caplog.records if "out of service" in r.getMessage()]
    assert len(charged) == 1, charged
    assert charged[0].startswith("replica ds0/replica0 is out of service: datasource 'ds0'")


# -- 3. lag threshold, cool-down, automatic switch ----------------------------------------


@both_pairs
def test_lag_threshold_and_cooldown(replica: Pair, front: Front) -> None:
    db = prepare(replica)
    lag = {"max_replication_lag": 0.5, "lag_check_interval": INTERVAL_S, "lag_cooldown": 1.0}
    # A cool-down no test outlives: once caught up, this one stays "lagging" with a lag
    # within the threshold for the rest of the test, which only the cool-down explains.
    cooling_lag = {**lag, "lag_cooldown": 3600.0}
    with (
        front.connect(config(replica, db, **lag)) as cluster,
        front.connect(config(replica, db, on_replica_lag="error", **lag)) as strict,
        front.connect(config(replica, db, **cooling_lag)) as cooling,
    ):
        wait_for(lambda: fresh_read(cluster).role == "replica", "a read on the replica")
        wait_for(lambda: fresh_read(strict).role == "replica", "a strict read on the replica")
        wait_for(lambda: fresh_read(cooling).role == "replica", "a cooling read on the replica")

        replica.pause()
        with wal_moving(replica, db):
            wait_for(lambda: fresh_read(cluster).role == "primary", "reads moved to the primary")

            def lagging_and_automatic() -> dict[str, Any] | None:
                status = cluster.status()
                ds = status["datasources"]["ds0"]
                if ds["replicas"][0]["state"] == "lagging" and ds["automatic"] is True:
                    return status
                return None

            status = wait_for(lagging_and_automatic, "status: replica lagging, automatic on")
            assert_json_round_trip(status)
            assert fresh_read(cluster) == Read("primary", ROWS)

            def strict_refuses() -> bool:
                try:
                    served = fresh_read(strict)
                except tenantdb.ReplicaLagError:
                    return True
                # on_replica_lag="error": never fall back to the primary silently.
                assert served.role == "replica", served
                return False

            wait_for(strict_refuses, 'ReplicaLagError with on_replica_lag="error"')
            with pytest.raises(tenantdb.ReplicaLagError):
                fresh_read(strict)
            wait_for(
                lambda: replica_status(cooling)["state"] == "lagging", "cooling: replica lagging"
            )

        replica.resume()
        replica.wait_caught_up()

        # The cool-down, shown by state rather than by timing (the unit tests time it with
        # a fake clock): measured within the threshold again, the replica still gets no
        # reads while the cool-down runs.
        def cooling_down() -> dict[str, Any] | None:
            entry = replica_status(cooling)
            lag_s = entry["lag_s"]
            return entry if lag_s is not None and lag_s <= 0.5 else None

        entry = wait_for(cooling_down, "cooling: lag back within the threshold", 15.0)
        assert entry["state"] == "lagging", entry
        assert fresh_read(cooling) == Read("primary", ROWS)
        assert replica_status(cooling)["state"] == "lagging"

        # After its (short) cool-down the other cluster's replica serves again.
        def back_on_replica() -> bool:
            served = fresh_read(cluster)
            assert served.count == ROWS
            return served.role == "replica"

        wait_for(back_on_replica, "reads back on the replica", 15.0)

        def serving_again() -> bool:
            ds = cluster.status()["datasources"]["ds0"]
            return ds["replicas"][0]["state"] == "serving" and ds["automatic"] is False

        wait_for(serving_again, "status: replica serving, automatic off")

        def strict_serves_again() -> bool:
            # Its own monitor keeps its own cool-down: refusals may go on a little longer.
            try:
                return fresh_read(strict).role == "replica"
            except tenantdb.ReplicaLagError:
                return False

        wait_for(strict_serves_again, "strict reads back on the replica")


# -- 4. running queries survive ----------------------------------------------------------


GATE_LOCK = 4242


@pytest.mark.postgres
def test_a_query_running_on_a_replica_that_starts_lagging_completes(
    replica: PgReplica, front: Front
) -> None:
    """A query already running on the replica when it starts lagging is left to finish
    there. The query waits at a gate (a view taking a shared advisory lock the test holds
    on the standby) until the replica has been seen lagging, so it is still running then
    whatever the machine's load, rather than racing a timed sleep."""
    db = prepare(replica)
    replica.query(
        replica.primary_url(db),
        f"CREATE VIEW gate AS SELECT pg_advisory_xact_lock_shared({GATE_LOCK}) IS NULL AS shut",
    )
    replica.wait_caught_up()
    settings = {"max_replication_lag": 0.5, "lag_check_interval": INTERVAL_S, "lag_cooldown": 1.0}
    outcome: dict[str, Any] = {}
    gated = "SELECT count(*), pg_is_in_recovery() FROM items CROSS JOIN gate"

    with (
        front.connect(config(replica, db, **settings)) as cluster,
        replica.connect(replica.replica_url(db)) as keeper,
    ):
        wait_for(lambda: fresh_read(cluster).role == "replica", "a read on the replica")
        keeper.execute("SELECT pg_advisory_lock(%s)", (GATE_LOCK,))

        def run() -> None:
            try:
                with cluster.session() as s:
                    result = s.execute(gated)
                    outcome["rows"] = result.fetchall()
                    outcome["roles"] = [t.role for t in result.targets]
            except BaseException as exc:  # reported below
                outcome["error"] = exc

        thread = threading.Thread(target=run, name="gated-read", daemon=True)
        thread.start()
        try:
            wait_for(
                lambda: running_queries(replica, replica.replica_url(db), db, "gate") == 1,
                "the gated query waiting on the standby",
            )
            replica.pause()
            with wal_moving(replica, db):
                wait_for(lambda: replica_status(cluster)["state"] == "lagging", "replica lagging")
                assert thread.is_alive(), outcome
        finally:
            keeper.execute("SELECT pg_advisory_unlock(%s)", (GATE_LOCK,))
            thread.join(30)
        assert not thread.is_alive(), "the gated query never returned"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["roles"] == ["replica"]
        assert outcome["rows"] == [(ROWS, True)]


# -- 5. a replica that goes down ---------------------------------------------------------


@dataclass
class ReaderLog:
    reads: list[tuple[float, Read]]
    errors: list[BaseException]

    def replica_reads_after(self, instant: float) -> int:
        return sum(1 for at, r in self.reads if at > instant and r.role == "replica")

    def primary_reads_after(self, instant: float) -> int:
        return sum(1 for at, r in self.reads if at > instant and r.role == "primary")


@contextmanager
def reading(cluster: tenantdb.Cluster, *, one_session: bool) -> Iterator[ReaderLog]:
    """Read continuously (a new session per read, or one session throughout) until the
    block ends; yields the log of reads and errors."""
    stop = threading.Event()
    log = ReaderLog([], [])

    def loop() -> None:
        session = cluster.session() if one_session else None
        try:
            while not stop.is_set():
                try:
                    served = read(session) if session is not None else fresh_read(cluster)
                    log.reads.append((time.monotonic(), served))
                except BaseException as exc:  # every error is a failure of the test
                    log.errors.append(exc)
                stop.wait(POLL_S)
        finally:
            if session is not None:
                session.close()

    thread = threading.Thread(target=loop, name=f"reader-{one_session}", daemon=True)
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(30)


# Thread front only: two reader threads share the cluster at once (an asyncio cluster serves
# one event loop, and its blocking adapter one caller at a time).
@pytest.mark.postgres
def test_reads_survive_a_replica_stop_and_return_after_start(replica: PgReplica) -> None:
    if not replica.controllable:
        _unavailable(f"cannot stop the standby: {replica.not_controllable_reason}")
    db = prepare(replica)
    with (
        tenantdb.connect(config(replica, db, max_replication_lag=5.0)) as cluster,
        reading(cluster, one_session=False) as fresh,
        reading(cluster, one_session=True) as pinned,
    ):
        logs = (fresh, pinned)
        wait_for(
            lambda: all(log.replica_reads_after(0.0) >= 3 for log in logs),
            "reads on the replica before the stop",
        )
        stopped_at = time.monotonic()
        replica.stop()

        def down() -> dict[str, Any] | None:
            status = cluster.status()
            entry = status["datasources"]["ds0"]["replicas"][0]
            return status if entry["state"] == "down" else None

        status = wait_for(down, "status: replica down", 15.0)
        assert_json_round_trip(status)
        entry = status["datasources"]["ds0"]["replicas"][0]
        assert entry["name"] == "ds0/replica0"
        assert entry["failures"] >= 1
        assert entry["error"]
        wait_for(
            lambda: all(log.primary_reads_after(stopped_at) >= 3 for log in logs),
            "reads served by the primary while the replica is down",
        )

        replica.start()
        started_at = time.monotonic()
        # Re-probes back off up to 5 s; allow several periods.
        wait_for(
            lambda: all(log.replica_reads_after(started_at) >= 1 for log in logs),
            "reads on the replica after it started again",
            20.0,
        )
        wait_for(lambda: replica_status(cluster)["state"] == "serving", "status: serving")
    for log in logs:
        assert log.errors == [], log.errors[:3]
        assert all(r.count == ROWS for _, r in log.reads)


@both_pairs
def test_a_refusing_replica_is_down_reads_fall_over_and_probes_back_off(
    replica: Pair, caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    db = prepare(replica)
    # Nothing listens on port 1 of the loopback: every connection is refused at once.
    scheme = "postgresql://postgres" if replica.kind == "postgres" else "mysql://root"
    refusing = f"{scheme}:{SECRET}@127.0.0.1:1/{db}"
    settings = config(replica, db, replicas=[replica.replica_url(db), refusing])
    with front.connect(settings) as cluster:
        # Round robin sends some of these to the refusing replica until it is marked down:
        # each such read is retried elsewhere, so none fails.
        served = [fresh_read(cluster) for _ in range(12)]
        assert {r.count for r in served} == {ROWS}

        def entries() -> dict[str, dict[str, Any]]:
            status = cluster.status()
            return {e["name"]: e for e in status["datasources"]["ds0"]["replicas"]}

        wait_for(lambda: entries()["ds0/replica1"]["state"] == "down", "ds0/replica1 down")
        status = cluster.status()
        assert_json_round_trip(status)
        down = entries()["ds0/replica1"]
        assert down["error"]
        assert SECRET not in json.dumps(status)
        assert SECRET not in caplog.text
        assert entries()["ds0/replica0"]["state"] == "serving"
        assert [fresh_read(cluster).role for _ in range(6)] == ["replica"] * 6

        # Re-probes back off, checked as counts in each status snapshot: a replica down for
        # ``state_for_s`` has failed at most most_failures(state_for_s) times. A busy
        # machine only delays probes, so only lowers the count; a probe every interval
        # (0.1 s) would exceed the bound within a second of going down.
        def fourth_failure() -> bool:
            entry = entries()["ds0/replica1"]
            assert entry["state"] == "down", entry
            assert entry["failures"] <= most_failures(entry["state_for_s"]), entry
            return bool(entry["failures"] >= 4)

        wait_for(fourth_failure, "a 4th failed probe", 20.0)


def most_failures(down_for_s: float, initial_s: float = 0.5, max_s: float = 5.0) -> int:
    """The most failures a replica down for ``down_for_s`` seconds can have counted with
    the default backoff (``initial_s`` doubling up to ``max_s``): the one that took it down,
    one more each time a delay has passed since the previous, and one for a read that
    failed on it at the same moment as a probe (a read and a probe may both be in flight
    when it goes down)."""
    failures, at, delay = 1, 0.0, initial_s
    while at + delay <= down_for_s:
        at += delay
        failures += 1
        delay = min(delay * 2, max_s)
    return failures + 1


# -- 6. writes are not retried -----------------------------------------------------------


@pytest.mark.postgres
def test_a_failed_write_is_not_retried(replica: PgReplica, front: Front) -> None:
    db = prepare(replica)
    sequence = "SELECT last_value FROM items_id_seq"
    with front.connect(config(replica, db)) as cluster, cluster.session() as s:
        assert read(s).role == "replica"
        before = replica.query(replica.primary_url(db), sequence)[0][0]
        with pytest.raises(tenantdb.IntegrityError) as caught:
            s.execute("INSERT INTO items (k, v) VALUES (%s, %s)", (1, "duplicate"))
        assert caught.value.role == "primary"
        # The failed INSERT took one value of the sequence; a second attempt would take two.
        assert replica.query(replica.primary_url(db), sequence)[0][0] == before + 1
        assert primary_count(replica, db) == ROWS

        # A write whose connection is cut while it runs fails; it is not run again. It
        # sleeps for a minute, so it is still running when the test cuts it however
        # loaded the machine is (the cut ends it at once).
        outcome: dict[str, Any] = {}

        def write() -> None:
            try:
                s.execute(
                    "INSERT INTO items (k, v) VALUES (%s, CAST(pg_sleep(60) AS TEXT))", (300,)
                )
                outcome["done"] = True
            except BaseException as exc:  # checked below
                outcome["error"] = exc

        thread = threading.Thread(target=write, name="cut-write", daemon=True)
        thread.start()
        primary = replica.primary_url(db)
        wait_for(
            lambda: running_queries(replica, primary, db, "pg_sleep") == 1,
            "the slow INSERT running on the primary",
        )
        replica.query(
            primary,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
            " AND query ILIKE %s AND pid <> pg_backend_pid()",
            [db, "%pg_sleep%"],
        )
        thread.join(30)
        assert not thread.is_alive()
        assert "done" not in outcome, "the cut write reported success: it was run again"
        assert isinstance(outcome.get("error"), tenantdb.OperationalError), outcome
        assert running_queries(replica, primary, db, "pg_sleep") == 0
        assert primary_count(replica, db, "k = 300") == 0


# -- 7. the degrade switch from code -----------------------------------------------------


@both_pairs
def test_force_primary_and_release_from_code(
    replica: Pair, caplog: pytest.LogCaptureFixture, front: Front
) -> None:
    db0, db1 = prepare(replica), prepare(replica)
    settings = {
        "datasources": {"ds0": datasource(replica, db0), "ds1": datasource(replica, db1)},
        "tables": {
            "items": {"strategy": "single", "datasource": "ds0", "tenant_scoped": False},
            "things": {"strategy": "single", "datasource": "ds1", "tenant_scoped": False},
        },
    }
    replica.query(replica.primary_url(db1), "ALTER TABLE items RENAME TO things")
    replica.wait_caught_up()
    things_sql = f"SELECT {ANSWERED.sql}, count(*) FROM things"

    def roles(cluster: tenantdb.Cluster) -> tuple[str, str]:
        with cluster.session() as s:
            items = read(s).role
            result = s.execute(things_sql)
            ((in_recovery, _),) = result.fetchall()
            things = result.targets[0].role
            assert (things == "replica") == in_recovery
        return items, things

    caplog.set_level(logging.INFO, logger="tenantdb.replication")
    with front.connect(settings) as cluster:
        assert roles(cluster) == ("replica", "replica")

        cluster.force_primary(reason="maintenance")
        assert roles(cluster) == ("primary", "primary")
        status = cluster.status()
        assert_json_round_trip(status)
        assert forced_reason(status, "ds0") == "maintenance"
        assert forced_reason(status, "ds1") == "maintenance"
        assert any(
            r.name == "tenantdb.replication" and "maintenance" in r.getMessage()
            for r in caplog.records
        ), [r.getMessage() for r in caplog.records]

        cluster.release_primary()
        assert roles(cluster) == ("replica", "replica")
        status = cluster.status()
        assert forced_reason(status, "ds0") is None
        assert forced_reason(status, "ds1") is None

        caplog.clear()
        cluster.force_primary(datasource="ds0", reason="ds0 upgrade")
        assert roles(cluster) == ("primary", "replica")
        status = cluster.status()
        assert forced_reason(status, "ds0") == "ds0 upgrade"
        assert forced_reason(status, "ds1") is None
        assert any("ds0 upgrade" in r.getMessage() for r in caplog.records)

        caplog.clear()
        cluster.release_primary(datasource="ds0")
        assert roles(cluster) == ("replica", "replica")
        assert forced_reason(cluster.status(), "ds0") is None
        assert any(r.name == "tenantdb.replication" for r in caplog.records)


# -- 8. the command line -----------------------------------------------------------------

TOML = """\
switch_file = "{switch_file}"

[datasources.ds0]
url = "{primary}"
replicas = ["{replica}"]
max_replication_lag = "30s"
lag_check_interval = {interval}
lag_cooldown = 0.3

[tables.items]
strategy = "single"
tenant_scoped = false
"""

CLI = "import sys; from tenantdb.cli import main; sys.argv[0] = 'tenantdb'; main()"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``tenantdb replicas ARGS`` in a separate process."""
    done = subprocess.run(
        [sys.executable, "-c", CLI, "replicas", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def named(data: Any, name: str) -> list[dict[str, Any]]:
    """Every JSON object in ``data`` whose "name" is ``name``."""
    found: list[dict[str, Any]] = []
    if isinstance(data, dict):
        if data.get("name") == name:
            found.append(data)
        for value in data.values():
            found += named(value, name)
    elif isinstance(data, list):
        for value in data:
            found += named(value, name)
    return found


# Thread front only: it tests the command line (a thread-front program); the switch file
# it writes is read by code both fronts share (the datasources' switch).
@both_pairs
def test_replicas_command_line_switch_and_status(replica: Pair, tmp_path: Path) -> None:
    db = prepare(replica)
    path = tmp_path / "tenantdb.toml"
    path.write_text(
        TOML.format(
            switch_file=(tmp_path / "switches.json").as_posix(),
            primary=replica.primary_url(db),
            replica=replica.replica_url(db),
            interval=INTERVAL_S,
        ),
        encoding="utf-8",
    )
    file = str(path)
    with tenantdb.connect(path) as cluster:
        assert fresh_read(cluster).role == "replica"

        cli("force-primary", "--config", file, "--reason", "drill")
        wait_for(lambda: fresh_read(cluster).role == "primary", "reads forced by the CLI")
        forced = forced_reason(cluster.status(), "ds0")
        assert forced is not None
        assert "drill" in forced

        cli("release", "--config", file)
        wait_for(lambda: fresh_read(cluster).role == "replica", "reads released by the CLI")
        assert forced_reason(cluster.status(), "ds0") is None

        cli("force-primary", "--config", file, "--datasource", "ds0", "--reason", "ds drill")
        wait_for(lambda: fresh_read(cluster).role == "primary", "ds0 forced by the CLI")
        cli("release", "--config", file, "--datasource", "ds0")
        wait_for(lambda: fresh_read(cluster).role == "replica", "ds0 released by the CLI")

    status = json.loads(cli("status", "--config", file, "--json").stdout)
    (entry,) = named(status, "ds0/replica0")
    assert entry["state"] == "serving", entry
    done = cli("status", "--config", file)
    assert "ds0/replica0" in done.stdout
    assert "serving" in done.stdout
    # While it waits for the first lag reading it says so, once, on stderr (no bar: a pipe).
    assert done.stderr in ("", "waiting for a lag reading of every replica (at most 5 s)\n")


# -- 9. status -------------------------------------------------------------------------


@both_pairs
def test_status_is_a_plain_json_dict(replica: Pair, front: Front) -> None:
    db = prepare(replica)
    applied = replica.replica_gtid() if isinstance(replica, MySqlReplica) else ""
    with front.connect(config(replica, db)) as cluster:
        assert fresh_read(cluster).role == "replica"

        def measured() -> dict[str, Any] | None:
            status = cluster.status()
            entry = status["datasources"]["ds0"]["replicas"][0]
            return status if entry["replayed"] is not None and entry["lag_s"] is not None else None

        status = wait_for(measured, "a lag reading in the status")
        assert_json_round_trip(status)
        assert set(status) >= {"switch", "datasources"}
        ds = status["datasources"]["ds0"]
        assert forced_reason(status, "ds0") is None
        assert ds["automatic"] is False
        (entry,) = ds["replicas"]
        assert entry["name"] == "ds0/replica0"
        assert entry["state"] == "serving"
        assert isinstance(entry["lag_s"], float)
        assert 0.0 <= entry["lag_s"] <= 30.0
        if replica.kind == "postgres":
            assert isinstance(entry["replayed"], int)
            assert entry["replayed"] > 0
        else:  # the replica's @@gtid_slave_pos, past what it had applied before the cluster
            replayed = GtidPosition.parse(entry["replayed"])
            assert replayed.reached(GtidPosition.parse(applied)), (entry, applied)
        assert entry["error"] is None
        assert entry["failures"] == 0

        cluster.force_primary(reason="status check")
        assert_json_round_trip(cluster.status())
        cluster.release_primary()
