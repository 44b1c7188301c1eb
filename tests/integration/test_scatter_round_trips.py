"""Multi-target reads with few rows per table go to each datasource in one round trip.

On PostgreSQL and MariaDB the tables of one datasource are read by one ``UNION ALL``
statement (``core.routing.plan_round_trips``); SQLite keeps one statement per table. Every
query here runs on a cluster (a ``mod`` table of 8 shards over 2 datasources, 4 tables
each) and on one plain database holding the same rows, on both fronts, and must return the
same rows: ORDER BY with ties, DESC, NULLs, LIMIT/OFFSET, aggregates, duplicate column
names, parameters in the select list, hidden merge columns, a tenant session confined to
its own rows. The statements sent are counted by a wrapper around the real driver
connection's ``execute``; a datasource that fails still fails the whole read, and nothing
stays open.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb import Cluster

from .conftest import Backend

ROWS = 120
SHARDS = 8
TENANTS = ("acme", "other")


def x_of(i: int) -> int | None:
    """Ties (17 distinct values) and NULLs."""
    return None if i % 23 == 0 else i % 17


CREATE_EV = "CREATE TABLE ev (id INTEGER PRIMARY KEY, x INTEGER, g INTEGER, name VARCHAR(20))"
CREATE_ORDERS = (
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(20) NOT NULL, x INTEGER)"
)
CREATE_BRK = "CREATE TABLE brk (id INTEGER PRIMARY KEY, x INTEGER)"


def config(backend: Backend, urls: list[str]) -> dict[str, Any]:
    sharded = {"strategy": "mod", "key": "id", "shards": SHARDS, "datasources": ["ds0", "ds1"]}
    return {
        "dialect": backend.dialect,
        "datasources": {
            f"ds{n}": {"url": url, "pool": {"min_size": 0, "max_size": 4}}
            for n, url in enumerate(urls)
        },
        "tables": {
            "ev": {**sharded, "tenant_scoped": False},
            "brk": {**sharded, "tenant_scoped": False},
            "orders": sharded,
        },
        "tenants": {tenant: {"datasource": "ds0"} for tenant in TENANTS},
    }


class World:
    def __init__(self, backend: Backend, urls: list[str], plain: str) -> None:
        self.backend = backend
        self.urls = urls
        self.plain = plain

    def expected(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows one plain database returns (``%s`` placeholders as tenantdb takes)."""
        if self.backend.placeholder == "?":
            sql = sql.replace("%s", "?")
        return self.backend.query(self.plain, sql, params)


@pytest.fixture(scope="module")
def world(backend: Backend) -> World:
    *urls, plain = backend.new_databases(3)
    cluster = tenantdb.connect(config(backend, urls))
    ev_rows = [(i, x_of(i), i % 5, f"n{i % 7}") for i in range(ROWS)]
    order_rows = [(i, TENANTS[i % 3 == 0], i % 11) for i in range(ROWS)]
    try:
        with cluster.session(admin=True) as admin:
            for statement in (CREATE_EV, CREATE_ORDERS, CREATE_BRK):
                admin.execute(statement)
            admin.executemany("INSERT INTO ev (id, x, g, name) VALUES (%s, %s, %s, %s)", ev_rows)
            admin.executemany(
                "INSERT INTO orders (id, tenant_id, x) VALUES (%s, %s, %s)", order_rows
            )
            admin.executemany(
                "INSERT INTO brk (id, x) VALUES (%s, %s)", [(i, i) for i in range(ROWS)]
            )
    finally:
        cluster.close()
    mark = backend.placeholder
    with contextlib.closing(backend.raw_connect(plain)) as raw:
        cursor = raw.cursor()
        cursor.execute(CREATE_EV)
        cursor.executemany(f"INSERT INTO ev VALUES ({mark}, {mark}, {mark}, {mark})", ev_rows)
        cursor.execute(CREATE_ORDERS)
        cursor.executemany(f"INSERT INTO orders VALUES ({mark}, {mark}, {mark})", order_rows)
        cursor.close()
    return World(backend, urls, plain)


@pytest.fixture
def cluster(world: World, front: Front) -> Iterator[Cluster]:
    cluster = front.connect(config(world.backend, world.urls))
    yield cluster
    cluster.close()


CONNECTIONS = {
    "sqlite": (
        "tenantdb._sync._sqlite.SQLiteConnection",
        "tenantdb._async._sqlite.AsyncSQLiteConnection",
    ),
    "postgres": (
        "tenantdb._sync._postgres.PostgresConnection",
        "tenantdb._async._postgres.AsyncPostgresConnection",
    ),
    "mysql": (
        "tenantdb._sync._mysql.MySQLConnection",
        "tenantdb._async._mysql.AsyncMySQLConnection",
    ),
}


@pytest.fixture
def sent(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements the real driver connections execute, in order (both fronts'
    connection classes wrapped: each ``execute`` call is one round trip)."""
    statements: list[str] = []
    for path in CONNECTIONS[backend.name]:
        module_name, _, class_name = path.rpartition(".")
        cls = getattr(__import__(module_name, fromlist=[class_name]), class_name)
        original = cls.execute
        if inspect.iscoroutinefunction(original):

            async def counting_async(self: Any, sql: str, params: Any, _o: Any = original) -> Any:
                statements.append(sql)
                return await _o(self, sql, params)

            monkeypatch.setattr(cls, "execute", counting_async)
        else:

            def counting(self: Any, sql: str, params: Any, _o: Any = original) -> Any:
                statements.append(sql)
                return _o(self, sql, params)

            monkeypatch.setattr(cls, "execute", counting)
    return statements


def combines(backend: Backend) -> bool:
    return backend.name in ("postgres", "mysql")


# -- same rows as one database -----------------------------------------------------------

TOTAL_ORDER = [
    ("SELECT id, x FROM ev ORDER BY x, id LIMIT 10", ()),
    ("SELECT id, x FROM ev ORDER BY x DESC, id DESC LIMIT 7 OFFSET 3", ()),
    ("SELECT id, x FROM ev ORDER BY x, id LIMIT 12", ()),  # NULLs first on MariaDB
    ("SELECT id, x FROM ev ORDER BY x DESC, id LIMIT 12", ()),  # NULLs first on PostgreSQL
    ("SELECT id FROM ev ORDER BY x, id LIMIT 5 OFFSET 20", ()),  # x: a hidden merge column
    ("SELECT x, x, id FROM ev ORDER BY id LIMIT 6", ()),  # duplicate output names
    ("SELECT id, x FROM ev WHERE x > %s ORDER BY x, id LIMIT 6", (12,)),
    ("SELECT DISTINCT g FROM ev ORDER BY g LIMIT 3", ()),
    ("SELECT name, id FROM ev ORDER BY name DESC, id LIMIT 9", ()),
    ("SELECT id, name FROM ev WHERE name LIKE 'n1%%' ORDER BY id DESC LIMIT 5", ()),
]


@pytest.mark.parametrize(("sql", "params"), TOTAL_ORDER)
def test_ordered_reads_match_one_database(
    world: World, cluster: Cluster, sent: list[str], sql: str, params: tuple[Any, ...]
) -> None:
    with cluster.session() as session:
        result = session.execute(sql, params)
        rows = result.fetchall()
        assert rows == world.expected(sql, params)
        together = result.round_trips
    assert sorted(i for trip in together for i in trip) == list(range(SHARDS))
    if combines(world.backend):
        assert len(sent) == 2, sent  # one statement per datasource
        assert all(statement.count("UNION ALL") == SHARDS // 2 - 1 for statement in sent)
        assert len(together) == 2
    else:
        assert len(sent) == SHARDS
        assert len(together) == SHARDS


def test_ties_keep_the_order_key(world: World, cluster: Cluster) -> None:
    """ORDER BY a column with ties: which tied rows fill the LIMIT is the database's choice
    (on one database as well), but the keys and the rows' existence are not."""
    sql = "SELECT id, x FROM ev ORDER BY x LIMIT 15"
    expected = world.expected(sql)
    every = dict(world.expected("SELECT id, x FROM ev"))
    with cluster.session() as session:
        rows = session.execute(sql).fetchall()
    assert [x for _, x in rows] == [x for _, x in expected]
    assert all(every[i] == x for i, x in rows)
    assert len({i for i, _ in rows}) == len(rows)


@pytest.mark.parametrize("value", ["abc", 7, None, Decimal("2.50")])
def test_parameter_in_the_select_list_keeps_its_type(
    world: World, cluster: Cluster, value: object
) -> None:
    if isinstance(value, Decimal) and world.backend.name == "sqlite":
        pytest.skip("sqlite3 binds no Decimal")
    sql = "SELECT %s AS tag, id FROM ev ORDER BY id LIMIT 4"
    with cluster.session() as session:
        rows = session.execute(sql, (value,)).fetchall()
    expected = world.expected(sql, (value,))
    assert rows == expected
    assert [type(row[0]) for row in rows] == [type(row[0]) for row in expected]


def test_ungrouped_aggregates_fetch_in_one_round_trip(
    world: World, cluster: Cluster, sent: list[str]
) -> None:
    sql = "SELECT COUNT(*), SUM(x), MIN(x), MAX(x), COUNT(x) FROM ev"
    with cluster.session() as session:
        result = session.execute(sql)
        rows = result.fetchall()
    assert rows == world.expected(sql)
    if combines(world.backend):
        assert len(sent) == 2, sent
    else:
        assert len(sent) == SHARDS  # fetched, not streamed: plain execute per table


def test_ungrouped_average_matches(world: World, cluster: Cluster) -> None:
    sql = "SELECT AVG(x), COUNT(*) FROM ev WHERE g = %s"
    with cluster.session() as session:
        [(average, count)] = session.execute(sql, (2,)).fetchall()
    [(expected_average, expected_count)] = world.expected(sql, (2,))
    assert count == expected_count
    assert float(average) == pytest.approx(float(expected_average), rel=1e-9, abs=1e-4)


def test_tenant_session_is_confined(world: World, cluster: Cluster, sent: list[str]) -> None:
    sql = "SELECT id, x FROM orders ORDER BY x DESC, id LIMIT 10"
    expected = world.expected(
        "SELECT id, x FROM orders WHERE tenant_id = %s ORDER BY x DESC, id LIMIT 10", ("acme",)
    )
    with cluster.session(tenant="acme") as session:
        rows = session.execute(sql).fetchall()
    assert rows == expected
    if combines(world.backend):
        assert len(sent) == 2
    for statement in sent:
        # every branch carries the tenant predicate
        assert statement.count("tenant_id") >= statement.count("SELECT"), statement


def test_explain_shows_the_round_trips(world: World, cluster: Cluster) -> None:
    plan = cluster.explain("SELECT id FROM ev ORDER BY x LIMIT 3")
    shown = plan.to_dict()["round_trips"]
    assert shown["mode"] == "fetch"
    assert shown["count"] == (2 if combines(world.backend) else SHARDS)
    streamed = cluster.explain("SELECT g, COUNT(*) FROM ev GROUP BY g").to_dict()["round_trips"]
    assert streamed["mode"] == "stream"
    assert streamed["count"] == (2 if combines(world.backend) else SHARDS)
    ordered = cluster.explain("SELECT id FROM ev ORDER BY x").to_dict()["round_trips"]
    assert (ordered["mode"], ordered["count"]) == ("stream", SHARDS)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT g, COUNT(*), SUM(x), MIN(name) FROM ev GROUP BY g ORDER BY g",
        "SELECT g, COUNT(*) FROM ev WHERE x > %s GROUP BY g ORDER BY g DESC",
        "SELECT id, x, x FROM ev WHERE g = 1",
    ],
)
def test_unordered_streams_open_one_cursor_per_datasource(
    world: World, cluster: Cluster, sent: list[str], sql: str
) -> None:
    params = (3,) if "%s" in sql else ()
    with cluster.session() as session:
        result = session.execute(sql, params)
        rows = result.fetchall()
        together = result.round_trips
    expected = world.expected(sql, params)
    if "ORDER BY" not in sql:
        rows, expected = sorted(rows), sorted(expected)
    assert rows == expected
    assert sent == []  # cursors, not plain execute
    if combines(world.backend):
        assert len(together) == 2
    else:
        assert sorted(together) == [(i,) for i in range(SHARDS)]


def test_ordered_streams_keep_a_cursor_per_table(world: World, cluster: Cluster) -> None:
    sql = "SELECT id, x FROM ev ORDER BY x DESC, id LIMIT 5 OFFSET 1000"
    with cluster.session() as session:
        result = session.execute(sql)
        assert result.fetchall() == world.expected(sql) == []
        assert sorted(result.round_trips) == [(i,) for i in range(SHARDS)]


# -- failures ---------------------------------------------------------------------------


def drop_one_table(world: World, cluster: Cluster) -> str:
    """Drop ``brk``'s first physical table on ds1, behind tenantdb's back."""
    [target] = [t for t in cluster.explain("SELECT id FROM brk").targets if t.datasource == "ds1"][
        :1
    ]
    table = target.tables["brk"]
    world.backend.query(world.urls[1], f"DROP TABLE IF EXISTS {table}")
    return table


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM brk ORDER BY x LIMIT 5",
        "SELECT COUNT(*) FROM brk",
        "SELECT x, COUNT(*) FROM brk GROUP BY x",  # streamed
    ],
)
def test_one_failing_datasource_fails_the_read(world: World, cluster: Cluster, sql: str) -> None:
    table = drop_one_table(world, cluster)
    with cluster.session() as session:
        with pytest.raises(tenantdb.DatabaseError) as raised:
            session.execute(sql).fetchall()
        assert raised.value.datasource == "ds1"
        assert table in str(raised.value)
        # The session and its connections are usable: nothing was left open on them.
        assert session.execute("SELECT COUNT(*) FROM ev").fetchall() == [(ROWS,)]
        with session.transaction():
            assert session.execute("SELECT id FROM ev ORDER BY id LIMIT 2").fetchall() == [
                (0,),
                (1,),
            ]
    if world.backend.name == "postgres":
        for url in world.urls:
            database = url.rsplit("/", 1)[1]
            assert world.backend.query(
                url,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                " AND state LIKE 'idle in transaction%%'",
                (database,),
            ) == [(0,)]
