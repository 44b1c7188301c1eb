"""Fixtures for tests against a real primary and its replica: PostgreSQL with its streaming
hot standby, MariaDB with its GTID replica.

Servers
-------
``TENANTDB_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) names
the primary and ``TENANTDB_TEST_PG_REPLICA_URL`` (default
``postgresql://postgres@127.0.0.1:5433/postgres``) its hot standby. ``scripts/services.sh``
builds that pair on one machine: the standby is the Debian cluster ``<version>/replica``,
fed by physical streaming replication (no replication slot). Both accounts must be
superusers (replay control, LSN functions, ``CREATE DATABASE``). When the standby does not
answer, is not in recovery, is not a standby of that primary, or does not stream from it,
the tests that use it are skipped with the reason, or fail under
``TENANTDB_REQUIRE_SERVICES=1``.

``TENANTDB_TEST_MYSQL_URL`` (default ``mysql://root@127.0.0.1:3306/``) names the MariaDB
primary and ``TENANTDB_TEST_MYSQL_REPLICA_URL`` (default ``mysql://root@127.0.0.1:3307/``)
its replica, which ``scripts/services.sh`` builds as a second mariadbd replicating with
GTIDs (``MASTER_USE_GTID=slave_pos``). Both accounts need the privileges to create
databases and to stop and start replication. When the replica does not answer, does not
replicate from that primary with GTIDs, or reports a replication error, its tests are
skipped with the reason (or fail under ``TENANTDB_REQUIRE_SERVICES=1``).

Parallel runs
-------------
The standby is one server for every test here, and pausing or stopping it in one test
would break another running at the same time: ``pytest_collection_modifyitems`` puts all
of them in one pytest-xdist group, so ``pytest -n N --dist loadgroup`` (``make test``)
runs them one after another in a single worker. Other test runs on the same machine are
kept out by a file lock per replica server that each test holds from set-up to the end of
its clean-up (``standby_turn``).

Fixtures
--------
``pg_replica`` (session scope)
    A ``PgReplica`` (see its docstring): fresh databases that exist on both servers, their
    URLs, pausing and resuming WAL replay, stopping and starting the standby, LSNs, and
    waiting until the standby has caught up. Databases it creates are named
    ``<run_id>_repl_<n>`` and dropped on the primary when the session ends (the standby
    replays the drop).
``mysql_replica`` (session scope)
    A ``MySqlReplica``: the same interface for the MariaDB pair (``pause()`` is ``STOP
    SLAVE SQL_THREAD``, positions are GTIDs), except stopping the server.
``replica`` (function scope)
    ``pg_replica`` with a guarantee: when the test ends, however it ends, the standby is
    running, replay is resumed and the standby has caught up (``PgReplica.restore()``).
    Use it in every test that pauses or stops the standby. In this directory, tests that
    take ``pg_replica`` directly get the same clean-up from an autouse fixture. A test
    that should also run on the MariaDB pair parametrizes it indirectly with ``PAIRS``
    (``@pytest.mark.parametrize("replica", PAIRS, indirect=True)``): it then gets a
    ``MySqlReplica`` for ``"mysql"``, held and restored the same way. ``replica.kind`` says
    which; ``replica.on_replica`` is an SQL expression true only on the replica.

Example::

    @pytest.mark.postgres
    def test_lagging_replica(replica: PgReplica) -> None:
        db = replica.new_database()
        replica.query(replica.primary_url(db), "CREATE TABLE t (id int)")
        replica.wait_caught_up()
        replica.pause()
        replica.query(replica.primary_url(db), "INSERT INTO t VALUES (1)")
        assert replica.query(replica.replica_url(db), "SELECT * FROM t") == []
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from psycopg.sql import Composable

from ..conftest import (
    CONNECT_TIMEOUT_S,
    DEFAULT_MYSQL_URL,
    DEFAULT_PG_URL,
    MYSQL_URL_ENV,
    PG_URL_ENV,
    _address,
    _unavailable,
    _with_database,
)

REPLICA_URL_ENV = "TENANTDB_TEST_PG_REPLICA_URL"
DEFAULT_REPLICA_URL = "postgresql://postgres@127.0.0.1:5433/postgres"
MYSQL_REPLICA_URL_ENV = "TENANTDB_TEST_MYSQL_REPLICA_URL"
DEFAULT_MYSQL_REPLICA_URL = "mysql://root@127.0.0.1:3307/"
POLL_S = 0.05
# How long the standby may take to replay up to a point (a hang guard): on a busy 2-core
# machine, with other workers creating and dropping databases, 10 s proved too short.
CATCH_UP_WAIT_S = 60.0
# After a restart of the primary the standby's WAL receiver retries every 5 s
# (wal_retrieve_retry_interval), so "not streaming yet" can last that long.
STREAMING_TIMEOUT_S = 30.0


def parse_lsn(lsn: str) -> int:
    """``'16/B374D848'`` → byte position, so that LSNs compare as numbers."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def _poll(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Call ``condition`` until it returns true (→ True) or ``timeout_s`` passes (→ False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)


class PgReplica:
    """A PostgreSQL primary and its streaming hot standby, for tests.

    URLs
        ``primary_url(dbname)`` / ``replica_url(dbname)``: the configured URLs with the
        database replaced (the same database on both servers: physical replication copies
        the whole cluster).
    Databases
        ``new_database()`` creates ``<run_id>_repl_<n>`` on the primary and returns its name
        once the standby has replayed its creation.
    Replay
        ``pause()`` stops the standby applying WAL (it keeps receiving it) and returns once
        replay has actually stopped; ``resume()`` lets it go on; ``paused()`` tells whether
        a pause is requested or in effect. A pause does not survive a restart of the standby.
    Standby process
        ``stop()`` (``pg_ctlcluster … stop -m fast``) and ``start()`` (which returns once the
        standby accepts connections, streams and has caught up); ``running()`` tells
        whether it accepts connections, ``streaming()`` whether its WAL receiver streams.
        They need the Debian cluster of the standby on this machine and root or its owner
        (``controllable`` / ``not_controllable_reason``). ``restore()`` starts, resumes and
        waits for catch-up: what the fixtures run after each test.
    Positions
        ``primary_lsn()`` (``pg_current_wal_lsn()``), ``replica_replay_lsn()``
        (``pg_last_wal_replay_lsn()``), ``replica_receive_lsn()``
        (``pg_last_wal_receive_lsn()``): LSN text such as ``'0/3000148'``; compare them
        with ``parse_lsn``. ``wait_caught_up()`` waits until the standby has replayed
        everything the primary had written when it was called.
    Queries
        ``query(url, sql, params=())``: one statement on a fresh autocommit psycopg
        connection; returns the rows (``[]`` when there are none).

    Waits raise ``TimeoutError`` with what was seen. Cluster commands that fail raise
    ``RuntimeError`` with their output.
    """

    kind = "postgres"
    on_replica = "pg_is_in_recovery()"

    def __init__(self, primary_url: str, replica_url: str, names: Iterator[str]) -> None:
        import psycopg

        self._psycopg = psycopg
        self._primary = primary_url
        self._replica = replica_url
        self._names = names
        self._created: list[str] = []
        self.cluster = ""  # "<version>/<name>" of the standby (its cluster_name), see check()

    # -- URLs and queries ----------------------------------------------------------------

    def primary_url(self, dbname: str) -> str:
        """URL of database ``dbname`` on the primary."""
        return _with_database(self._primary, dbname)

    def replica_url(self, dbname: str) -> str:
        """URL of database ``dbname`` on the standby (read-only)."""
        return _with_database(self._replica, dbname)

    def connect(self, url: str) -> Any:
        """A new autocommit psycopg connection; the caller closes it (``with``)."""
        return self._psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def query(
        self, url: str, sql: str | Composable, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement (``%s`` placeholders) on a fresh connection; return its rows."""
        with self.connect(url) as connection:
            cursor = connection.execute(sql, tuple(params))
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]

    def _primary_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.query(self._primary, sql, params)[0][0]

    def _replica_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.query(self._replica, sql, params)[0][0]

    # -- databases -----------------------------------------------------------------------

    def new_database(self, timeout_s: float = CATCH_UP_WAIT_S) -> str:
        """Create a fresh, empty database on the primary; return its name once the standby
        has it too (``TimeoutError`` after ``timeout_s``, e.g. while replay is paused).
        Dropped at the end of the session."""
        from psycopg import sql

        name = next(self._names)
        self.query(
            self._primary,
            sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)),
        )
        self._created.append(name)

        def visible() -> bool:
            rows = self.query(self._replica, "SELECT 1 FROM pg_database WHERE datname = %s", [name])
            return bool(rows)

        if not _poll(visible, timeout_s):
            raise TimeoutError(
                f"database {name} not on the standby after {timeout_s}s "
                f"(replay paused: {self.paused()})"
            )
        return name

    def drop_all(self) -> None:
        """Drop (on the primary, ``WITH (FORCE)``) every database ``new_database`` made."""
        from psycopg import sql

        for name in self._created:
            self.query(
                self._primary,
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)),
            )
        self._created.clear()

    # -- replay --------------------------------------------------------------------------

    def pause(self, timeout_s: float = 10.0) -> None:
        """Pause WAL replay on the standby; return once it has stopped applying WAL."""
        self.query(self._replica, "SELECT pg_wal_replay_pause()")

        def stopped() -> bool:
            state = self._replica_value("SELECT pg_get_wal_replay_pause_state()")
            return bool(state == "paused")

        if not _poll(stopped, timeout_s):
            raise TimeoutError(f"standby replay still not paused after {timeout_s}s")

    def resume(self) -> None:
        """Resume WAL replay on the standby (a no-op when it is not paused)."""
        self.query(self._replica, "SELECT pg_wal_replay_resume()")

    def paused(self) -> bool:
        """Whether a pause of replay is requested or in effect on the standby."""
        return bool(self._replica_value("SELECT pg_is_wal_replay_paused()"))

    # -- positions -----------------------------------------------------------------------

    def primary_lsn(self) -> str:
        """The primary's current WAL write position (``pg_current_wal_lsn()``)."""
        return str(self._primary_value("SELECT pg_current_wal_lsn()::text"))

    def replica_replay_lsn(self) -> str:
        """The end of the last WAL record the standby applied (``pg_last_wal_replay_lsn()``)."""
        return str(self._replica_value("SELECT pg_last_wal_replay_lsn()::text"))

    def replica_receive_lsn(self) -> str:
        """The WAL position the standby has received and flushed (``pg_last_wal_receive_lsn()``)."""
        return str(self._replica_value("SELECT pg_last_wal_receive_lsn()::text"))

    def wait_caught_up(self, timeout_s: float = CATCH_UP_WAIT_S) -> None:
        """Wait until the standby's replay position reaches the primary's WAL position read
        now; ``TimeoutError`` after ``timeout_s`` (always while replay is paused)."""
        target = self.primary_lsn()

        def caught_up() -> bool:
            return bool(
                self._replica_value("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            )

        if not _poll(caught_up, timeout_s):
            raise TimeoutError(
                f"standby replayed up to {self.replica_replay_lsn()} (received "
                f"{self.replica_receive_lsn()}), not {target}, after {timeout_s}s "
                f"(replay paused: {self.paused()})"
            )

    # -- the standby process -------------------------------------------------------------

    def running(self) -> bool:
        """Whether the standby accepts connections."""
        try:
            self.query(self._replica, "SELECT 1")
        except self._psycopg.OperationalError:
            return False
        return True

    def streaming(self) -> bool:
        """Whether the standby's WAL receiver is connected and streaming from the primary."""
        try:
            status = self._replica_value("SELECT status FROM pg_stat_wal_receiver")
        except (self._psycopg.OperationalError, IndexError):
            return False
        return bool(status == "streaming")

    @property
    def not_controllable_reason(self) -> str | None:
        """Why ``stop()``/``start()`` cannot work here, or None when they can."""
        version, _, name = self.cluster.partition("/")
        if not version or not name:
            return f"the standby's cluster_name {self.cluster!r} is not <version>/<cluster>"
        if shutil.which("pg_ctlcluster") is None:
            return "pg_ctlcluster (Debian's postgresql-common) is not installed"
        config = Path("/etc/postgresql", version, name)
        if not config.is_dir():
            return f"no Debian cluster {self.cluster} on this machine ({config} missing)"
        if os.geteuid() not in (0, config.stat().st_uid):
            return f"stopping cluster {self.cluster} needs root or its owner"
        return None

    @property
    def controllable(self) -> bool:
        """Whether ``stop()`` and ``start()`` can work from this process."""
        return self.not_controllable_reason is None

    def _pg_ctlcluster(self, *args: str) -> subprocess.CompletedProcess[str]:
        reason = self.not_controllable_reason
        if reason is not None:
            raise RuntimeError(f"cannot control the standby: {reason}")
        version, _, name = self.cluster.partition("/")
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, *args]
        # stdin and output not inherited: the postmaster it starts must not hold our pipes.
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _cluster_running(self) -> bool:
        # pg_ctlcluster status: 0 running, 3 stopped, 4 no (accessible) data directory.
        return self._pg_ctlcluster("status").returncode == 0

    def stop(self) -> None:
        """Stop the standby (``pg_ctlcluster … stop -m fast``); a no-op when it is stopped."""
        if not self._cluster_running():
            return
        result = self._pg_ctlcluster("stop", "-m", "fast")
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctlcluster stop {self.cluster}: {result.stderr.strip()}")

    def start(self, timeout_s: float = STREAMING_TIMEOUT_S) -> None:
        """Start the standby if it is stopped; return once it accepts connections, streams
        from the primary and has replayed what the primary had written before this call.
        Replay is not paused after a start."""
        if not self._cluster_running():
            result = self._pg_ctlcluster("start")
            if result.returncode != 0:
                raise RuntimeError(f"pg_ctlcluster start {self.cluster}: {result.stderr.strip()}")
        deadline = time.monotonic() + timeout_s
        if not _poll(self.running, timeout_s):
            raise TimeoutError(f"standby {_address(self._replica, 5433)} not answering after start")
        if not _poll(self.streaming, max(deadline - time.monotonic(), 0.0)):
            raise TimeoutError(
                f"standby {_address(self._replica, 5433)} not streaming from the primary after "
                f"{timeout_s}s (the WAL it needs may be gone: scripts/services.sh rebuilds it)"
            )
        self.wait_caught_up(max(deadline - time.monotonic(), 1.0))

    def restore(self, timeout_s: float = STREAMING_TIMEOUT_S) -> None:
        """Leave the standby as tests expect it: running, replay resumed, caught up."""
        if not self.running():
            self.start(timeout_s)
        if self.paused():
            self.resume()
        self.wait_caught_up(timeout_s)

    # -- session checks ------------------------------------------------------------------

    def check(self) -> str | None:
        """Why the pair cannot serve the tests, or None when it can. Resumes replay left
        paused (e.g. by a killed test run) and waits a while for streaming."""
        primary, replica = _address(self._primary, 5432), _address(self._replica, 5433)
        try:
            primary_id = self._primary_value("SELECT system_identifier FROM pg_control_system()")
        except Exception as exc:  # any failure to connect means "not reachable"
            return f"PostgreSQL primary not reachable at {primary}: {exc}".strip()
        try:
            in_recovery, replica_id, cluster = self.query(
                self._replica,
                "SELECT pg_is_in_recovery(), system_identifier, current_setting('cluster_name')"
                " FROM pg_control_system()",
            )[0]
        except Exception as exc:  # any failure to connect means "not reachable"
            return (
                f"PostgreSQL replica not reachable at {replica} (scripts/services.sh "
                f"builds it): {exc}"
            ).strip()
        if not in_recovery:
            return f"PostgreSQL at {replica} is not a standby (pg_is_in_recovery() is false)"
        if replica_id != primary_id:
            return f"PostgreSQL at {replica} is a standby, but not of the primary at {primary}"
        self.cluster = str(cluster)
        if self.paused():
            self.resume()
        if not _poll(self.streaming, STREAMING_TIMEOUT_S):
            return (
                f"PostgreSQL standby at {replica} does not stream from {primary} "
                "(scripts/services.sh rebuilds it)"
            )
        return None


class MySqlReplica:
    """A MariaDB primary and its GTID replica, for tests; ``PgReplica``'s interface.

    URLs and queries
        ``primary_url(dbname)`` / ``replica_url(dbname)``; ``query(url, sql, params=())``
        runs one statement (``%s`` placeholders) on a fresh autocommit PyMySQL connection
        and returns its rows; ``connect(url)`` gives such a connection (close it).
    Databases
        ``new_database()`` creates ``<run_id>_mrepl_<n>`` on the primary and returns its
        name once the replica has applied its creation.
    Replay
        ``pause()`` is ``STOP SLAVE SQL_THREAD`` (the replica keeps receiving the primary's
        binary log but applies nothing: what a paused replay is on PostgreSQL),
        ``resume()`` is ``START SLAVE SQL_THREAD``; ``paused()`` tells whether the SQL
        thread is stopped.
    Positions
        ``primary_gtid()`` (``@@gtid_binlog_pos``), ``replica_gtid()``
        (``@@gtid_slave_pos``); ``wait_caught_up()`` waits (``MASTER_GTID_WAIT`` on the
        replica) until the replica has applied what the primary had logged when it was
        called. ``restore()`` restarts replication and waits for catch-up.

    The replica's server is not stopped by these tests: its lag is what they drive.
    ``on_replica`` is an SQL expression true only on the replica (its ``server_id``; known
    after ``check()``). Waits raise ``TimeoutError`` with what was seen.
    """

    kind = "mysql"

    def __init__(self, primary_url: str, replica_url: str, names: Iterator[str]) -> None:
        import pymysql

        self._pymysql = pymysql
        self._primary = primary_url
        self._replica = replica_url
        self._names = names
        self._created: list[str] = []
        self.on_replica = "FALSE"  # see check()

    # -- URLs and queries ----------------------------------------------------------------

    def primary_url(self, dbname: str) -> str:
        """URL of database ``dbname`` on the primary."""
        return _with_database(self._primary, dbname)

    def replica_url(self, dbname: str) -> str:
        """URL of database ``dbname`` on the replica."""
        return _with_database(self._replica, dbname)

    def connect(self, url: str) -> Any:
        """A new autocommit PyMySQL connection; the caller closes it."""
        parts = urllib.parse.urlsplit(url)
        return self._pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=urllib.parse.unquote(parts.username or "root"),
            password=urllib.parse.unquote(parts.password or ""),
            database=urllib.parse.unquote(parts.path.lstrip("/")) or None,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    def query(self, url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (``%s`` placeholders) on a fresh connection; return its rows."""
        with contextlib.closing(self.connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute(sql, tuple(params) or None)
            if cursor.description is None:
                return []
            return [tuple(row) for row in cursor.fetchall()]

    def _status(self) -> dict[str, Any]:
        """``SHOW SLAVE STATUS`` of the replica as a dict (empty when it is no replica)."""
        with (
            contextlib.closing(self.connect(self._replica)) as connection,
            connection.cursor() as cursor,
        ):
            cursor.execute("SHOW SLAVE STATUS")
            row = cursor.fetchone()
            if row is None:
                return {}
            return {d[0]: value for d, value in zip(cursor.description, row, strict=True)}

    # -- databases -----------------------------------------------------------------------

    def new_database(self, timeout_s: float = CATCH_UP_WAIT_S) -> str:
        """Create a fresh, empty database on the primary; return its name once the replica
        has it too. Dropped at the end of the session."""
        name = next(self._names)
        self.query(self._primary, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        self._created.append(name)
        self.wait_caught_up(timeout_s)
        return name

    def drop_all(self) -> None:
        """Drop (on the primary; the replica applies it) every database ``new_database``
        made."""
        for name in self._created:
            self.query(self._primary, f"DROP DATABASE IF EXISTS `{name}`")
        self._created.clear()

    # -- replay --------------------------------------------------------------------------

    def pause(self, timeout_s: float = 10.0) -> None:
        """Stop the replica's SQL thread; return once it has stopped applying."""
        self.query(self._replica, "STOP SLAVE SQL_THREAD")
        if not _poll(self.paused, timeout_s):
            raise TimeoutError(f"replica SQL thread still running after {timeout_s}s")

    def resume(self) -> None:
        """Start the replica's SQL thread (a no-op when it runs)."""
        self.query(self._replica, "START SLAVE SQL_THREAD")

    def paused(self) -> bool:
        """Whether the replica's SQL thread is stopped."""
        return self._status().get("Slave_SQL_Running") != "Yes"

    # -- positions -----------------------------------------------------------------------

    def primary_gtid(self) -> str:
        """What the primary has logged (``@@gtid_binlog_pos``)."""
        return str(self.query(self._primary, "SELECT @@gtid_binlog_pos")[0][0])

    def replica_gtid(self) -> str:
        """What the replica has applied (``@@gtid_slave_pos``)."""
        return str(self.query(self._replica, "SELECT @@gtid_slave_pos")[0][0])

    def wait_caught_up(self, timeout_s: float = CATCH_UP_WAIT_S) -> None:
        """Wait until the replica has applied the primary's ``@@gtid_binlog_pos`` read now;
        ``TimeoutError`` after ``timeout_s`` (always while paused)."""
        target = self.primary_gtid()
        waited = self.query(self._replica, "SELECT MASTER_GTID_WAIT(%s, %s)", [target, timeout_s])
        if waited[0][0] != 0:
            raise TimeoutError(
                f"replica applied up to {self.replica_gtid()!r}, not {target!r}, after "
                f"{timeout_s}s (SQL thread stopped: {self.paused()})"
            )

    def restore(self, timeout_s: float = STREAMING_TIMEOUT_S) -> None:
        """Leave the replica as tests expect it: both threads running, caught up."""
        status = self._status()
        if status.get("Slave_IO_Running") != "Yes" or status.get("Slave_SQL_Running") != "Yes":
            self.query(self._replica, "START SLAVE")
        self.wait_caught_up(timeout_s)

    # -- session checks ------------------------------------------------------------------

    def check(self) -> str | None:
        """Why the pair cannot serve the tests, or None when it can. Starts replication
        that a killed test run left stopped, and waits for catch-up."""
        primary, replica = _address(self._primary, 3306), _address(self._replica, 3307)
        try:
            primary_id, log_bin = self.query(self._primary, "SELECT @@server_id, @@log_bin")[0]
        except Exception as exc:  # any failure to connect means "not reachable"
            return f"MariaDB primary not reachable at {primary}: {exc}".strip()
        try:
            (replica_id,) = self.query(self._replica, "SELECT @@server_id")[0]
            status = self._status()
        except Exception as exc:  # any failure to connect means "not reachable"
            return (
                f"MariaDB replica not reachable at {replica} (scripts/services.sh builds it): {exc}"
            ).strip()
        primary_port = str(_address(self._primary, 3306).rpartition(":")[2])
        if not log_bin:
            return f"MariaDB at {primary} keeps no binary log: it cannot have a replica"
        if not status or str(status.get("Master_Port")) != primary_port:
            return f"MariaDB at {replica} is not a replica of the primary at {primary}"
        if status.get("Using_Gtid") != "Slave_Pos":
            return f"MariaDB replica at {replica} does not replicate with GTIDs (slave_pos)"
        if replica_id == primary_id:
            return f"MariaDB replica at {replica} has the primary's server_id {primary_id}"
        for kind in ("IO", "SQL"):
            if status.get(f"Last_{kind}_Errno"):
                error = status.get(f"Last_{kind}_Error")
                return (
                    f"MariaDB replica at {replica} has stopped with an error ({error}); "
                    "scripts/services.sh rebuilds it"
                )
        self.on_replica = f"(@@server_id = {int(replica_id)})"
        try:
            self.restore()
        except TimeoutError as exc:
            return f"MariaDB replica at {replica} does not catch up: {exc}"
        return None


STANDBY_GROUP = "pg_standby"
_HERE = Path(__file__).resolve().parent
# Another test run on this machine (another worktree, another engineer) may be using the
# standby: its turn can last a whole test of it, which are all short.
STANDBY_LOCK_WAIT_S = 600.0
_HELD: set[Path] = set()  # standby locks this process holds (flock is per open file)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this directory uses the one shared standby, and many pause its replay
    or stop it: under pytest-xdist (``--dist loadgroup``) they all run in one worker, one
    after another, while the rest of the suite runs in the others."""
    for item in items:
        if _HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.xdist_group(STANDBY_GROUP))


@contextlib.contextmanager
def standby_turn(replica_url: str, default_port: int = 5433) -> Iterator[None]:
    """Hold the machine-wide lock on the replica at ``replica_url`` (a file lock in the
    temp directory, one per replica address): concurrent test runs on one machine, which
    xdist groups cannot see, take turns with it instead of pausing or stopping it under
    each other."""
    address = _address(replica_url, default_port).replace(":", "-")
    path = Path(tempfile.gettempdir()) / f"tenantdb-standby-{address}.lock"
    if path in _HELD:  # this process has the turn already (a fixture inside a test's turn)
        yield
        return
    with path.open("a") as handle:
        deadline = time.monotonic() + STANDBY_LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    pytest.fail(
                        f"the replica at {_address(replica_url, default_port)} stayed in use by "
                        f"another test run for {STANDBY_LOCK_WAIT_S:g}s (lock {path}); is "
                        "a run stuck?"
                    )
                time.sleep(POLL_S)
        _HELD.add(path)
        try:
            yield
        finally:
            _HELD.discard(path)
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def pg_replica(run_id: str) -> Iterator[PgReplica]:
    """The primary/standby pair (see the module docstring), checked once per session."""
    primary_url = os.environ.get(PG_URL_ENV, DEFAULT_PG_URL)
    replica_url = os.environ.get(REPLICA_URL_ENV, DEFAULT_REPLICA_URL)
    names = (f"{run_id}_repl_{n}" for n in itertools.count(1))
    try:
        pair = PgReplica(primary_url, replica_url, names)
    except ImportError as exc:
        _unavailable(f"PostgreSQL tests need psycopg: pip install 'tenantdb[postgres]' ({exc})")
    with standby_turn(replica_url):  # check() resumes replay another run may have paused
        reason = pair.check()
    if reason is not None:
        _unavailable(reason)
    yield pair
    pair.drop_all()


@pytest.fixture
def _standby_turn(request: pytest.FixtureRequest) -> Iterator[None]:
    """The standby to this test alone, across test runs (see ``standby_turn``)."""
    with standby_turn(os.environ.get(REPLICA_URL_ENV, DEFAULT_REPLICA_URL)):
        yield


@pytest.fixture(scope="session")
def mysql_replica(run_id: str) -> Iterator[MySqlReplica]:
    """The MariaDB primary/replica pair (see the module docstring), checked once per
    session."""
    primary_url = os.environ.get(MYSQL_URL_ENV, DEFAULT_MYSQL_URL)
    replica_url = os.environ.get(MYSQL_REPLICA_URL_ENV, DEFAULT_MYSQL_REPLICA_URL)
    names = (f"{run_id}_mrepl_{n}" for n in itertools.count(1))
    try:
        pair = MySqlReplica(primary_url, replica_url, names)
    except ImportError as exc:
        _unavailable(f"MySQL tests need PyMySQL: pip install 'tenantdb[mysql]' ({exc})")
    with standby_turn(replica_url, 3307):  # check() restarts replication a run left stopped
        reason = pair.check()
    if reason is not None:
        _unavailable(reason)
    yield pair
    pair.drop_all()


PAIRS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
"""Indirect parameters of ``replica`` for a test that runs on both pairs."""


@pytest.fixture
def replica(request: pytest.FixtureRequest) -> Iterator[PgReplica | MySqlReplica]:
    """``pg_replica`` (or, parametrized indirectly with ``"mysql"``, ``mysql_replica``),
    held for this test alone and restored after it: running, replay resumed, caught up."""
    kind = getattr(request, "param", "postgres")
    pair: PgReplica | MySqlReplica
    with contextlib.ExitStack() as held:
        if kind == "postgres":
            request.getfixturevalue("_standby_turn")
            pair = request.getfixturevalue("pg_replica")
        elif kind == "mysql":
            url = os.environ.get(MYSQL_REPLICA_URL_ENV, DEFAULT_MYSQL_REPLICA_URL)
            held.enter_context(standby_turn(url, 3307))
            pair = request.getfixturevalue("mysql_replica")
        else:
            raise ValueError(f"replica pair {kind!r}: expected 'postgres' or 'mysql'")
        yield pair
        pair.restore()


@pytest.fixture(autouse=True)
def _replica_restored(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests here that take ``pg_replica`` but not ``replica`` get the same turn on the
    standby and are cleaned up the same way."""
    if "pg_replica" not in request.fixturenames or "replica" in request.fixturenames:
        yield
        return
    request.getfixturevalue("_standby_turn")
    pair: PgReplica = request.getfixturevalue("pg_replica")
    yield
    pair.restore()
