"""A replica that cannot even be connected to (its connection fails at checkout, before the
statement is sent): the read is placed again at once, away from that replica, and on the
primary once two replicas of the datasource failed so; nothing fails.

Deterministic: the replicas that fail sit behind TCP proxies that are cut after the lag
monitors' first pass (which found them serving); the monitors then wait a minute, so the
session's checkout is what finds them unreachable, and nothing else moves the states while
the test looks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

import tenantdb
from proxy import TcpProxy

from .conftest import PgReplica

pytestmark = pytest.mark.postgres

QUIET = 60.0  # seconds between lag checks: one pass at start, then none during the test
SCAN = "SELECT account_id, pg_is_in_recovery() FROM accounts ORDER BY account_id"


@pytest.fixture
def proxies(replica: PgReplica) -> Iterator[list[TcpProxy]]:
    """Two proxies to the standby (each one's cut is independent of the other)."""
    standby = urlsplit(replica.replica_url("postgres"))
    opened = [TcpProxy(standby.hostname or "127.0.0.1", standby.port or 5433) for _ in range(2)]
    yield opened
    for proxy in opened:
        proxy.close()


def accounts(replica: PgReplica, count: int) -> list[str]:
    """``count`` fresh databases, database i with ``accounts_<i>`` holding account i."""
    dbs = [replica.new_database() for _ in range(count)]
    for i, db in enumerate(dbs):
        replica.query(replica.primary_url(db), f"CREATE TABLE accounts_{i} (account_id int)")
        replica.query(replica.primary_url(db), f"INSERT INTO accounts_{i} VALUES ({i})")
    replica.wait_caught_up()
    return dbs


def settings(replica: PgReplica, replicas: list[list[str]], dbs: list[str]) -> dict[str, Any]:
    names = [f"ds{i}" for i in range(len(dbs))]
    return {
        "datasources": {
            name: {
                "url": replica.primary_url(db),
                "replicas": urls,
                "replica_policy": "round_robin",
                "max_replication_lag": 30.0,
                "lag_check_interval": QUIET,
                "on_replica_lag": "primary",
            }
            for name, db, urls in zip(names, dbs, replicas, strict=True)
        },
        "tables": {
            "accounts": {
                "strategy": "mod",
                "key": "account_id",
                "shards": len(dbs),
                "datasources": names,
                "tenant_scoped": False,
            }
        },
    }


def started(cluster: tenantdb.Cluster) -> dict[str, list[dict[str, Any]]]:
    """Start every replica set and wait for its monitor's first pass (all serving)."""
    names = list(cluster.config.datasources)
    for name in names:
        cluster.datasources.replicas(name)
    deadline = time.monotonic() + 30.0  # a hang guard; the pass takes well under a second
    while True:
        status = cluster.status()["datasources"]
        entries = {name: status[name]["replicas"] for name in names}
        if all(e["replayed"] is not None for es in entries.values() for e in es):
            assert all(e["state"] == "serving" for es in entries.values() for e in es), entries
            return entries
        assert time.monotonic() < deadline, f"the monitors' first pass: {entries}"
        time.sleep(0.05)


def states(cluster: tenantdb.Cluster) -> dict[str, tuple[str, int]]:
    status = cluster.status()["datasources"]
    return {
        entry["name"]: (entry["state"], entry["failures"])
        for name in cluster.config.datasources
        for entry in status[name]["replicas"]
    }


def test_a_scatter_read_places_a_datasource_again_when_its_replica_refuses_at_checkout(
    replica: PgReplica, proxies: list[TcpProxy]
) -> None:
    dbs = accounts(replica, 2)
    urls = [
        [proxies[i].url_for(replica.replica_url(db)), replica.replica_url(db)]
        for i, db in enumerate(dbs)
    ]
    with tenantdb.connect(settings(replica, urls, dbs)) as cluster:
        started(cluster)
        for proxy in proxies:
            proxy.cut()
        with cluster.session() as s:
            result = s.execute(SCAN)
            rows = result.fetchall()
        # Round robin offered each datasource its replica0 first: refused, so each went to
        # its replica1 in the same attempt; no error, and no datasource on its primary.
        assert rows == [(0, True), (1, True)]
        assert {t.datasource: t.role for t in result.targets} == {
            "ds0": "replica",
            "ds1": "replica",
        }
        assert states(cluster) == {
            "ds0/replica0": ("down", 1),
            "ds0/replica1": ("serving", 0),
            "ds1/replica0": ("down", 1),
            "ds1/replica1": ("serving", 0),
        }


def test_a_read_whose_replicas_all_refuse_at_checkout_reads_the_primary(
    replica: PgReplica, proxies: list[TcpProxy]
) -> None:
    (db,) = accounts(replica, 1)
    urls = [[proxy.url_for(replica.replica_url(db)) for proxy in proxies]]
    with tenantdb.connect(settings(replica, urls, [db])) as cluster:
        started(cluster)
        for proxy in proxies:
            proxy.cut()
        with cluster.session() as s:
            result = s.execute("SELECT account_id, pg_is_in_recovery() FROM accounts")
            assert result.fetchall() == [(0, False)]
        assert [t.role for t in result.targets] == ["primary"]
        assert states(cluster) == {"ds0/replica0": ("down", 1), "ds0/replica1": ("down", 1)}


def test_a_replica_checkout_failure_counts_on_its_own_breaker_and_reads_never_fail(
    replica: PgReplica,
) -> None:
    # A replica that fails at checkout is marked down by its replica set (reads pass it
    # over until the lag monitor finds it serving again); its breaker counts the failure
    # too, on its own: the primary's breaker stays closed and reads go on there.
    (db,) = accounts(replica, 1)
    standby = urlsplit(replica.replica_url("postgres"))
    with TcpProxy(standby.hostname or "127.0.0.1", standby.port or 5433) as proxy:
        document = settings(replica, [[proxy.url_for(replica.replica_url(db))]], [db])
        document["datasources"]["ds0"]["breaker"] = {
            "window_size": 1,
            "minimum_calls": 1,
            "failure_rate": 100,
            "open_wait": "60s",
        }
        with tenantdb.connect(document) as cluster:
            started(cluster)
            proxy.cut()
            for _ in range(5):
                with cluster.session() as s:
                    result = s.execute("SELECT account_id, pg_is_in_recovery() FROM accounts")
                    assert result.fetchall() == [(0, False)]
                assert [t.role for t in result.targets] == ["primary"]
            breakers = cluster.status()["datasources"]["ds0"]["breakers"]
            assert breakers["ds0/replica0"]["state"] == "open"
            assert breakers["ds0/replica0"]["opened_count"] == 1
            assert breakers["primary"]["state"] == "closed"
            assert states(cluster) == {"ds0/replica0": ("down", 1)}
