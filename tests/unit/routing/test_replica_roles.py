"""Which reads the router marks as replica-eligible (role "replica") — pure, no I/O."""

from __future__ import annotations

import pytest

import tenantdb


@pytest.fixture
def cluster() -> tenantdb.Cluster:
    return tenantdb.connect(
        {
            "datasources": {
                "ds0": {
                    "url": "postgresql://app@db0/a",
                    "replicas": ["postgresql://app@db0r/a"],
                },
                "ds1": {"url": "postgresql://app@db1/b"},
            },
            "tables": {
                "items": {"strategy": "single", "tenant_scoped": False},
                "other": {"strategy": "single", "datasource": "ds1", "tenant_scoped": False},
            },
        }
    )


def role(cluster: tenantdb.Cluster, sql: str) -> str:
    (target,) = cluster.explain(sql).targets
    return target.role


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM items", "replica"),
        ("SELECT count(*), lower(v), now() FROM items", "replica"),
        ("SELECT pg_is_in_recovery(), count(*) FROM items", "replica"),
        ("SELECT * FROM items FOR UPDATE", "primary"),
        ("SELECT * FROM items FOR SHARE", "primary"),
        ("SELECT nextval('items_seq')", "primary"),
        ("SELECT my_function(k) FROM items", "primary"),
        ("INSERT INTO items (k) VALUES (1)", "primary"),
        ("UPDATE items SET v = 'x'", "primary"),
        ("SELECT * FROM other", "primary"),  # ds1 has no replica
    ],
)
def test_roles(cluster: tenantdb.Cluster, sql: str, expected: str) -> None:
    assert role(cluster, sql) == expected


def test_a_writing_cte_is_refused(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(tenantdb.UnsupportedSQLError, match="WITH clause that writes"):
        cluster.explain("WITH d AS (DELETE FROM items RETURNING k) SELECT count(*) FROM d")


def test_sqlite_datasources_cannot_have_replicas() -> None:
    with pytest.raises(tenantdb.ConfigError, match="SQLite has no replication"):
        tenantdb.connect(
            {"datasources": {"ds0": {"url": "sqlite:///a.db", "replicas": ["sqlite:///b.db"]}}}
        )


def test_replica_weights_match_replicas() -> None:
    with pytest.raises(tenantdb.ConfigError, match="one weight per replica"):
        tenantdb.connect(
            {
                "datasources": {
                    "ds0": {
                        "url": "postgresql://a@h/d",
                        "replicas": ["postgresql://a@r/d"],
                        "replica_weights": [1, 2],
                    }
                }
            }
        )
