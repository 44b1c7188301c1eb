"""``tenantdb verify --replicas``: a PostgreSQL primary against its streaming standby.

The standby is made to differ the way the issue suggests: rows written on the primary
while the standby's replay is paused. Verify must report exactly those keys, and nothing
once replay has caught up; while the standby lags past the datasource's
``max_replication_lag``, verify waits between chunks instead of comparing.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import tenantdb
from tenantdb import admin
from tenantdb.cli import app

from .conftest import PgReplica

pytestmark = pytest.mark.postgres

ROWS = 500
HANG_GUARD_S = 60.0


def _prepare(replica: PgReplica) -> str:
    db = replica.new_database()
    url = replica.primary_url(db)
    replica.query(url, "CREATE TABLE ledger (id int PRIMARY KEY, note text, amount numeric)")
    replica.query(
        url,
        "INSERT INTO ledger SELECT g, 'note ' || g, g * 1.5 FROM generate_series(1, %s) g",
        [ROWS],
    )
    replica.wait_caught_up()
    return db


def _config(replica: PgReplica, db: str, max_lag_s: float) -> dict[str, Any]:
    return {
        "dialect": "postgres",
        "datasources": {
            "ds0": {
                "url": replica.primary_url(db),
                "replicas": [replica.replica_url(db)],
                "max_replication_lag": max_lag_s,
            }
        },
    }


def test_verify_reports_the_rows_the_replica_has_not_replayed(
    replica: PgReplica, tmp_path: Path
) -> None:
    db = _prepare(replica)
    url = replica.primary_url(db)
    config = tmp_path / "cluster.json"
    # A lax limit: the paused standby must be compared, not waited for.
    config.write_text(json.dumps(_config(replica, db, max_lag_s=3600.0)))
    replica.pause()
    replica.query(url, "UPDATE ledger SET note = 'changed' WHERE id = 10")
    replica.query(url, "DELETE FROM ledger WHERE id = 20")
    replica.query(url, "INSERT INTO ledger VALUES (1000, 'new', NULL)")
    with tenantdb.connect(json.loads(config.read_text())) as cluster:
        (report,) = admin.verify_replicas(cluster, "ds0", tables=["ledger"], chunk_rows=64)
    assert report.target == "ds0/replica0"
    assert report.samples == {
        "mismatched": [(10,)],
        "extra_source": [(1000,)],
        "extra_target": [(20,)],
    }
    assert (report.processed, report.matching) == (ROWS + 1, ROWS - 2)
    args = ["verify", "-c", str(config), "--replicas", "ds0", "--table", "ledger", "--json"]
    args += ["--progress-dir", str(tmp_path / "progress")]
    differ = CliRunner().invoke(app, args)
    assert differ.exit_code == 1, differ.output
    replica.resume()
    replica.wait_caught_up()
    equal = CliRunner().invoke(app, args)
    assert equal.exit_code == 0, equal.output
    assert json.loads(equal.stdout)["tables"][0]["processed"] == ROWS


def _wait_for_lag_over(replica: PgReplica, db: str, seconds: float) -> None:
    """Until the standby has received WAL it has not replayed and its last replayed
    transaction is ``seconds`` old (a state, polled)."""
    lag = (
        "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
        "ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
    )
    deadline = time.monotonic() + HANG_GUARD_S
    while float(replica.query(replica.replica_url(db), lag)[0][0]) <= seconds:
        assert time.monotonic() < deadline, "the standby's lag never grew"
        time.sleep(0.1)


def test_verify_waits_while_the_replica_lags_past_its_limit(replica: PgReplica) -> None:
    db = _prepare(replica)
    replica.pause()
    # Received but not replayed: the standby's lag grows from here.
    replica.query(replica.primary_url(db), "UPDATE ledger SET note = 'late' WHERE id = 1")
    _wait_for_lag_over(replica, db, 1.0)
    chunks: list[int] = []
    outcome: dict[str, Any] = {}
    done = threading.Event()
    with tenantdb.connect(_config(replica, db, max_lag_s=0.5)) as cluster:

        def run() -> None:
            try:
                outcome["reports"] = admin.verify_replicas(
                    cluster,
                    "ds0",
                    tables=["ledger"],
                    chunk_rows=100,
                    on_chunk=lambda report, keys: chunks.append(report.chunks),
                )
            except BaseException as exc:  # handed to the test thread
                outcome["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        # However long this wait is, verify must not compare while the lag stays high.
        assert not done.wait(3.0), outcome
        assert chunks == []
        replica.resume()
        assert done.wait(HANG_GUARD_S), "verify did not go on after the replica caught up"
        worker.join(HANG_GUARD_S)
    assert "error" not in outcome, outcome
    (report,) = outcome["reports"]
    assert report.equal
    assert report.processed == ROWS
