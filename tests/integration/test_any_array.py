"""``key = ANY(%s)`` with a list parameter on PostgreSQL: pruned like IN, right rows, and a
write keyed by it changes only the listed keys on the shards they live on (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tenantdb

from .conftest import Backend

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster(postgres_server: object, _database_names: Iterator[str]) -> Iterator[tenantdb.Cluster]:
    backend = Backend("postgres", postgres_server, _database_names)  # type: ignore[arg-type]
    urls = backend.new_databases(2)
    config = {
        "dialect": "postgres",
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {
            "accounts": {
                "strategy": "mod",
                "key": "account_id",
                "shards": 4,
                "tenant_scoped": False,
            },
        },
    }
    cluster = tenantdb.connect(config)
    with cluster.session(admin=True) as s:
        s.execute("CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, name TEXT)")
        s.executemany(
            "INSERT INTO accounts (account_id, name) VALUES (%s, %s)",
            [(i, f"n{i}") for i in range(12)],
        )
    yield cluster
    cluster.close()


def test_any_of_a_list_reads_the_listed_keys_from_their_shards(cluster: tenantdb.Cluster) -> None:
    with cluster.session(admin=True) as s:
        r = s.execute(
            "SELECT account_id, name FROM accounts WHERE account_id = ANY(%s) ORDER BY account_id",
            ([1, 5, 9],),
        )
        assert r.fetchall() == [(1, "n1"), (5, "n5"), (9, "n9")]
        assert [t.tables["accounts"] for t in r.targets] == ["accounts_1"]
        r = s.execute(
            "SELECT account_id FROM accounts WHERE account_id = ANY(%s::int[]) ORDER BY account_id",
            ([2, 3, 7, 43],),
        )
        assert r.fetchall() == [(2,), (3,), (7,)]
        assert sorted(t.tables["accounts"] for t in r.targets) == ["accounts_2", "accounts_3"]


def test_a_write_keyed_by_any_changes_only_the_listed_rows(cluster: tenantdb.Cluster) -> None:
    with cluster.session() as s:  # no admin: a keyed write on two shards is allowed
        r = s.execute("DELETE FROM accounts WHERE account_id = ANY(%s)", ([0, 1, 4],))
        assert r.rowcount == 3
        assert sorted(t.tables["accounts"] for t in r.targets) == ["accounts_0", "accounts_1"]
        r = s.execute("UPDATE accounts SET name = 'x' WHERE account_id = ANY(%s)", ([2, 6],))
        assert r.rowcount == 2
    with cluster.session(admin=True) as s:
        rows = s.execute("SELECT account_id, name FROM accounts ORDER BY account_id").fetchall()
    assert [k for k, _ in rows] == [2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert [k for k, name in rows if name == "x"] == [2, 6]
