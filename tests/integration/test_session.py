"""Sessions, results and transactions on real databases (SQLite, PostgreSQL, MariaDB), on
both fronts (``front``: the thread front and the asyncio front through ``tests/fronts.py``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from fronts import Front, sync_only
from tenantdb import Cluster

from .conftest import Backend

TYPES = {
    "sqlite": {"text": "TEXT", "money": "NUMERIC"},
    "postgres": {"text": "VARCHAR(64)", "money": "NUMERIC(12, 2)"},
    "mysql": {"text": "VARCHAR(64)", "money": "DECIMAL(12, 2)"},
}


SHARED = {"tenant_scoped": False}
"""Tables whose rows carry no tenant column."""


def cluster_config(backend: Backend, urls: list[str], **pool: Any) -> dict[str, Any]:
    """Two datasources: ``items`` mod-sharded over both, ``orders`` per tenant,
    ``countries`` broadcast, ``notes`` single on ds1."""
    return {
        "dialect": backend.dialect,
        "datasources": {
            f"ds{i}": {"url": url, "pool": {"min_size": 0, "max_size": 4, **pool}}
            for i, url in enumerate(urls)
        },
        "tables": {
            "items": {"strategy": "mod", "key": "item_id", "shards": 4, "tenant_scoped": False},
            "orders": {"strategy": "tenant"},
            "countries": {"strategy": "broadcast"},
            "notes": {"strategy": "single", "datasource": "ds1", "tenant_scoped": False},
        },
        "tenants": {"a": {"datasource": "ds0"}, "b": {"datasource": "ds1"}},
    }


SCHEMA = [
    "CREATE TABLE items (item_id INTEGER PRIMARY KEY, name {text}, price {money})",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id {text} NOT NULL, amount {money})",
    "CREATE TABLE countries (code {text} PRIMARY KEY, name {text})",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body {text})",
]


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    return backend.new_databases(2)


@pytest.fixture
def cluster(backend: Backend, urls: list[str], front: Front) -> Iterator[Cluster]:
    cluster = front.connect(cluster_config(backend, urls))
    with cluster.session(admin=True) as admin:
        for statement in SCHEMA:
            admin.execute(statement.format(**TYPES[backend.name]))
    yield cluster
    cluster.close()


def raw_rows(backend: Backend, url: str, sql: str) -> list[tuple[Any, ...]]:
    return sorted(backend.query(url, sql))


def test_connect_opens_no_connection(backend: Backend, front: Front) -> None:
    # Nothing listens on port 1: building the cluster and a session must still work.
    unreachable = {
        "sqlite": "sqlite:////nonexistent-dir-tenantdb/x.db",
        "postgres": "postgresql://nobody@127.0.0.1:1/none",
        "mysql": "mysql://nobody@127.0.0.1:1/none",
    }[backend.name]
    config = {"datasources": {"ds0": {"url": unreachable}}}
    with front.connect(config) as cluster, cluster.session() as session:
        assert "none" in repr(session)


def test_point_statements_and_result(backend: Backend, cluster: Cluster, urls: list[str]) -> None:
    with cluster.session() as s:
        inserted = s.execute(
            "INSERT INTO items (item_id, name, price) VALUES (%s, %s, %s)", (5, "pen", 2)
        )
        assert inserted.rowcount == 1
        assert inserted.description is None
        result = s.execute("SELECT item_id, name FROM items WHERE item_id = %s", (5,))
        assert [d[0] for d in result.description or ()] == ["item_id", "name"]
        assert [(t.datasource, t.role, dict(t.tables)) for t in result.targets] == [
            ("ds1", "primary", {"items": "items_1"})
        ]
        assert result.fetchone() == (5, "pen")
        assert result.fetchone() is None
        assert result.rowcount == 1
    # Outside a transaction the write committed on its own: a raw connection sees it.
    assert raw_rows(backend, urls[1], "SELECT item_id FROM items_1") == [(5,)]


def test_fetch_methods(cluster: Cluster) -> None:
    with cluster.session() as s:
        s.executemany(
            "INSERT INTO items (item_id, name) VALUES (%s, %s)", [(i, f"n{i}") for i in range(10)]
        )
        result = s.execute("SELECT item_id FROM items WHERE item_id IN (0, 4, 8) ORDER BY 1")
        assert result.fetchmany(2) == [(0,), (4,)]
        assert result.fetchall() == [(8,)]
        assert result.fetchall() == []
        assert [row[0] for row in s.execute("SELECT item_id FROM items ORDER BY item_id")] == list(
            range(10)
        )
        assert s.execute("SELECT COUNT(*) FROM items").scalar() == 10


def test_multi_shard_read_streams_in_batches(
    backend: Backend, urls: list[str], front: Front
) -> None:
    cluster = front.connect(cluster_config(backend, urls), stream_batch_size=3)
    with cluster, cluster.session(admin=True) as s:
        s.execute(SCHEMA[0].format(**TYPES[backend.name]))
        s.executemany(
            "INSERT INTO items (item_id, name, price) VALUES (%s, %s, %s)",
            [(i, f"n{i % 7}", i % 5) for i in range(100)],
        )
        result = s.execute("SELECT item_id, name FROM items ORDER BY item_id DESC")
        assert result.rowcount == -1  # unknown until the merge has read every shard
        assert [(t.datasource, t.tables["items"]) for t in result.targets] == [
            ("ds0", "items_0"),
            ("ds1", "items_1"),
            ("ds0", "items_2"),
            ("ds1", "items_3"),
        ]
        first = result.fetchmany(5)
        assert [r[0] for r in first] == [99, 98, 97, 96, 95]
        # Another statement on the same connections: the open result is read into memory
        # first, so both stay correct.
        assert s.execute("SELECT COUNT(*) FROM items WHERE item_id < %s", (50,)).scalar() == 50
        rest = result.fetchall()
        assert [r[0] for r in rest] == list(range(94, -1, -1))
        assert result.rowcount == 100
        paged = s.execute("SELECT item_id FROM items ORDER BY item_id LIMIT 4 OFFSET 37")
        assert paged.fetchall() == [(37,), (38,), (39,), (40,)]
        grouped = s.execute(
            "SELECT name, COUNT(*), SUM(price) FROM items GROUP BY name ORDER BY name LIMIT 2"
        ).fetchall()
        expected = backend.query(
            urls[0],
            "SELECT name, COUNT(*), SUM(price) FROM ("
            "SELECT name, price FROM items_0 UNION ALL SELECT name, price FROM items_2) x "
            "GROUP BY name",
        )
        assert [(g[0], g[1]) for g in grouped] == [("n0", 15), ("n1", 15)]
        assert len(expected) == 7  # the shards really hold the rows the merge combined


def test_early_close_releases_cursors(cluster: Cluster) -> None:
    with cluster.session(admin=True) as s:
        s.executemany("INSERT INTO items (item_id) VALUES (%s)", [(i,) for i in range(40)])
        result = s.execute("SELECT item_id FROM items ORDER BY item_id")
        assert result.fetchone() == (0,)
        result.close()
        assert result.fetchone() is None
        assert s.execute("SELECT COUNT(*) FROM items").scalar() == 40


def test_transaction_commits_on_every_datasource(
    backend: Backend, cluster: Cluster, urls: list[str]
) -> None:
    with cluster.session() as s, s.transaction():
        s.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (2, "x"))  # ds0
        s.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (3, "y"))  # ds1
        # Not visible outside the transaction yet.
        assert raw_rows(backend, urls[0], "SELECT item_id FROM items_2") == []
    assert raw_rows(backend, urls[0], "SELECT item_id FROM items_2") == [(2,)]
    assert raw_rows(backend, urls[1], "SELECT item_id FROM items_3") == [(3,)]


def test_exception_rolls_back_everywhere(
    backend: Backend, cluster: Cluster, urls: list[str]
) -> None:
    def fail_midway(s: tenantdb.Session) -> None:
        with s.transaction():
            s.execute("INSERT INTO items (item_id) VALUES (%s)", (2,))
            s.execute("INSERT INTO items (item_id) VALUES (%s)", (3,))
            raise RuntimeError("application failure")

    with cluster.session() as s:
        with pytest.raises(RuntimeError):
            fail_midway(s)
        assert not s.in_transaction
        assert s.execute("SELECT COUNT(*) FROM items").scalar() == 0
    assert raw_rows(backend, urls[0], "SELECT item_id FROM items_2") == []


def test_nested_transaction_refused(cluster: Cluster) -> None:
    with (
        cluster.session() as s,
        s.transaction(),
        pytest.raises(tenantdb.InterfaceError, match="already open"),
    ):
        s.begin()


def test_multi_shard_write_is_all_or_nothing(
    backend: Backend, cluster: Cluster, urls: list[str]
) -> None:
    with cluster.session(admin=True) as s:
        s.execute("INSERT INTO countries (code, name) VALUES (%s, %s)", ("fr", "France"))
        assert raw_rows(backend, urls[0], "SELECT code FROM countries") == [("fr",)]
        assert raw_rows(backend, urls[1], "SELECT code FROM countries") == [("fr",)]
    # A row that exists on ds1 only makes the broadcast insert fail there; ds0 must not
    # keep its copy.
    backend.query(
        urls[1],
        f"INSERT INTO countries (code, name) VALUES ({backend.placeholder}, {backend.placeholder})",
        ("de", "Germany"),
    )
    with cluster.session(admin=True) as s:
        with pytest.raises(tenantdb.IntegrityError) as caught:
            s.execute("INSERT INTO countries (code, name) VALUES (%s, %s)", ("de", "Deutschland"))
        assert caught.value.datasource == "ds1"
        updated = s.execute("UPDATE items SET name = %s", ("z",))
        assert updated.rowcount == 0
    assert raw_rows(backend, urls[0], "SELECT code FROM countries") == [("fr",)]


def test_executemany_is_atomic(backend: Backend, cluster: Cluster, urls: list[str]) -> None:
    with cluster.session() as s:
        with pytest.raises(tenantdb.IntegrityError):
            s.executemany(
                "INSERT INTO items (item_id, name) VALUES (%s, %s)",
                [(1, "a"), (2, "b"), (3, "c"), (1, "duplicate")],
            )
        assert s.execute("SELECT COUNT(*) FROM items").scalar() == 0
        done = s.executemany(
            "INSERT INTO items (item_id, name) VALUES (%(id)s, %(name)s)",
            [{"id": i, "name": "ok"} for i in range(6)],
        )
        assert done.rowcount == 6
        assert sorted({t.datasource for t in done.targets}) == ["ds0", "ds1"]
    assert raw_rows(backend, urls[1], "SELECT item_id FROM items_1") == [(1,), (5,)]


def test_integrity_error_carries_context(cluster: Cluster) -> None:
    with cluster.session("b") as s:
        s.execute("INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)", (1, "b", 5))
        with pytest.raises(tenantdb.IntegrityError) as caught:
            s.execute("INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)", (1, "b", 6))
    error = caught.value
    assert error.datasource == "ds1"
    assert error.role == "primary"
    assert error.orig is not None
    assert "orders" in (error.statement or "")


def test_tenant_tables_follow_the_tenant(
    backend: Backend, cluster: Cluster, urls: list[str]
) -> None:
    for tenant, order_id in (("a", 1), ("b", 2)):
        with cluster.session(tenant) as s:
            s.execute(
                "INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)",
                (order_id, tenant, 10),
            )
    assert raw_rows(backend, urls[0], "SELECT id, tenant_id FROM orders") == [(1, "a")]
    assert raw_rows(backend, urls[1], "SELECT id, tenant_id FROM orders") == [(2, "b")]
    with cluster.session(admin=True) as admin:
        rows = admin.execute("SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id ORDER BY 1")
        assert rows.fetchall() == [("a", 1), ("b", 1)]


def test_pool_timeout_names_the_datasource(backend: Backend, urls: list[str], front: Front) -> None:
    config = cluster_config(backend, urls, max_size=1, timeout="0.2s")
    with front.connect(config) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute(SCHEMA[3].format(**TYPES[backend.name]))
        with cluster.session() as first, cluster.session() as second:
            first.execute("SELECT COUNT(*) FROM notes")
            with pytest.raises(tenantdb.PoolTimeoutError, match="ds1"):
                second.execute("SELECT COUNT(*) FROM notes")
        # Once the first session ended its connection is free again.
        with cluster.session() as third:
            assert third.execute("SELECT COUNT(*) FROM notes").scalar() == 0


# Four threads share the cluster at once: the thread front's contract (an asyncio cluster
# serves the tasks of one event loop, and its blocking adapter one caller at a time).
@sync_only
def test_sessions_in_threads(cluster: Cluster) -> None:
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            with cluster.session() as s:
                for i in range(offset, offset + 25):
                    s.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (i, "t"))
                    assert s.execute(
                        "SELECT name FROM items WHERE item_id = %s", (i,)
                    ).fetchall() == [("t",)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with cluster.session() as s:
        assert s.execute("SELECT COUNT(*) FROM items").scalar() == 100


def test_closed_session_refuses(cluster: Cluster) -> None:
    session = cluster.session()
    session.close()
    session.close()
    with pytest.raises(tenantdb.InterfaceError, match="closed"):
        session.execute("SELECT COUNT(*) FROM notes")


def test_partial_commit_is_reported(backend: Backend, urls: list[str], front: Front) -> None:
    """ds0 commits, then ds1's commit fails: PartialCommitError says which is which."""
    config = cluster_config(backend, urls)
    config["tables"]["children"] = {"strategy": "single", "datasource": "ds1", **SHARED}
    config["tables"]["parents"] = {"strategy": "single", "datasource": "ds1", **SHARED}
    with front.connect(config) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute(SCHEMA[0].format(**TYPES[backend.name]))
            admin.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
            if backend.name != "mysql":
                admin.execute(
                    "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
                    "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
                )

        def write_both(s: tenantdb.Session) -> None:
            with s.transaction():
                s.execute("INSERT INTO items (item_id) VALUES (%s)", (2,))  # ds0
                if backend.name == "mysql":
                    # MySQL has no deferred constraints: lose ds1's connection instead.
                    s.execute("INSERT INTO parents (id) VALUES (%s)", (1,))
                    _kill_other_connections(backend, urls[1])
                else:
                    # Checked only at COMMIT: parent 99 does not exist.
                    s.execute("INSERT INTO children (id, parent_id) VALUES (%s, %s)", (1, 99))

        with cluster.session() as s:
            with pytest.raises(tenantdb.PartialCommitError) as caught:
                write_both(s)
            error = caught.value
            assert error.committed == ("ds0",)
            assert error.failed == ("ds1",)
            assert error.rolled_back == ()
            assert "committed on ds0" in str(error)
            assert "failed on ds1" in str(error)
            # The session stays usable, and out of any transaction.
            assert not s.in_transaction
            assert s.execute("SELECT item_id FROM items WHERE item_id = %s", (2,)).fetchall() == [
                (2,)
            ]
    assert raw_rows(backend, urls[0], "SELECT item_id FROM items_2") == [(2,)]


# MySQL has no deferred constraints to make a COMMIT fail deterministically.
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_failed_first_commit_is_not_partial(
    backend: Backend, urls: list[str], front: Front
) -> None:
    """When the only writer fails at commit, nothing is durable: the plain error surfaces."""
    config = cluster_config(backend, urls)
    config["tables"]["children"] = {"strategy": "single", "datasource": "ds1", **SHARED}
    config["tables"]["parents"] = {"strategy": "single", "datasource": "ds1", **SHARED}
    with front.connect(config) as cluster:
        with cluster.session(admin=True) as admin:
            admin.execute(SCHEMA[0].format(**TYPES[backend.name]))
            admin.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
            admin.execute(
                "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
                "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
            )

        def read_one_write_other(s: tenantdb.Session) -> None:
            with s.transaction():
                s.execute("SELECT COUNT(*) FROM items WHERE item_id = %s", (2,))  # ds0 reads
                s.execute("INSERT INTO children (id, parent_id) VALUES (%s, %s)", (1, 99))

        with cluster.session() as s:
            with pytest.raises(tenantdb.IntegrityError) as caught:
                read_one_write_other(s)
            assert not isinstance(caught.value, tenantdb.PartialCommitError)
            assert s.execute("SELECT COUNT(*) FROM children").scalar() == 0


def _kill_other_connections(backend: Backend, url: str) -> None:
    database = url.rsplit("/", 1)[1]
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        cursor.execute(
            "SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
            (database,),
        )
        for (thread_id,) in cursor.fetchall():
            cursor.execute(f"KILL {int(thread_id)}")


def test_named_constraints_get_a_name_per_physical_table(
    backend: Backend, urls: list[str], front: Front
) -> None:
    # PostgreSQL names constraints per schema and MySQL names foreign keys per database:
    # four physical tables on two datasources need four names.
    with (
        front.connect(cluster_config(backend, urls)) as cluster,
        cluster.session(admin=True) as admin,
    ):
        admin.execute(
            "CREATE TABLE items (item_id INTEGER, name {text}, "
            "CONSTRAINT pk_items PRIMARY KEY (item_id), CONSTRAINT uq_name UNIQUE (name))".format(
                **TYPES[backend.name]
            )
        )
        admin.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (0, "a"))
        admin.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (2, "b"))
        with pytest.raises(tenantdb.IntegrityError):
            admin.execute("INSERT INTO items (item_id, name) VALUES (%s, %s)", (4, "a"))
