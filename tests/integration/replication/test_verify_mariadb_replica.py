"""``tenantdb verify --replicas`` against a real MariaDB replica (GTID replication from the
test server), when one answers at ``TENANTDB_TEST_MYSQL_REPLICA_URL`` (default
``mysql://root@127.0.0.1:3307/``); skipped otherwise.

The replica is shared and must keep replicating: rows are changed behind its back only in
this test's own database, with ``sql_log_bin = 0``, and only rows the primary never writes
again (the database is dropped on the primary afterwards, which the replica replays).
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tenantdb.cli import app

from ..conftest import Backend, _unavailable

REPLICA_URL_ENV = "TENANTDB_TEST_MYSQL_REPLICA_URL"
DEFAULT_REPLICA_URL = "mysql://root@127.0.0.1:3307/"
ROWS = 200
HANG_GUARD_S = 60.0


def _replica_url(database: str) -> str:
    base = urllib.parse.urlsplit(os.environ.get(REPLICA_URL_ENV, DEFAULT_REPLICA_URL))
    return urllib.parse.urlunsplit(base._replace(path=f"/{database}"))


def _replica_query(backend: Backend, url: str, sql: str) -> list[tuple[Any, ...]]:
    try:
        return backend.query(url, sql)
    except Exception as exc:  # any failure to reach it means "no replica here"
        if "1049" in str(exc):  # unknown database: not replicated yet
            raise
        _unavailable(f"no MariaDB replica at {url}: {exc}")


@pytest.mark.parametrize("backend", [pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True)
def test_verify_finds_rows_changed_behind_the_replicas_back(
    backend: Backend, tmp_path: Path
) -> None:
    primary = backend.new_database()
    database = urllib.parse.urlsplit(primary).path.lstrip("/")
    replica = _replica_url(database)
    status = _replica_query(backend, _replica_url(""), "SHOW SLAVE STATUS")
    if not status:
        _unavailable(f"the server at {_replica_url('')} is not a replica")
    backend.query(primary, "CREATE TABLE ledger (id INT PRIMARY KEY, note VARCHAR(40))")
    backend.query(
        primary,
        "INSERT INTO ledger VALUES " + ", ".join(f"({n}, 'note {n}')" for n in range(1, ROWS + 1)),
    )
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        try:
            if backend.query(replica, "SELECT count(*) FROM ledger") == [(ROWS,)]:
                break
        except Exception:  # the database or table is not replicated yet
            pass
        assert time.monotonic() < deadline, "the replica did not replay the test's rows"
        time.sleep(0.1)
    config = tmp_path / "cluster.json"
    config.write_text(
        json.dumps(
            {
                "dialect": "mysql",
                "datasources": {"ds0": {"url": primary, "replicas": [replica]}},
            }
        )
    )
    args = ["verify", "-c", str(config), "--replicas", "ds0", "--json"]
    args += ["--progress-dir", str(tmp_path / "progress"), "--chunk-rows", "50"]
    equal = CliRunner().invoke(app, args)
    assert equal.exit_code == 0, equal.output
    with backend.raw_connect(replica) as connection:
        cursor = connection.cursor()
        cursor.execute("SET SESSION sql_log_bin = 0")
        cursor.execute("UPDATE ledger SET note = 'behind its back' WHERE id = 10")
        cursor.execute("INSERT INTO ledger VALUES (5000, 'only here')")
        cursor.close()
    differ = CliRunner().invoke(app, args)
    assert differ.exit_code == 1, differ.output
    (table,) = json.loads(differ.stdout)["tables"]
    assert table["target"] == "ds0/replica0"
    assert table["samples"] == {"mismatched": [10], "extra_source": [], "extra_target": [5000]}
    assert (table["processed"], table["matching"]) == (ROWS + 1, ROWS - 1)
