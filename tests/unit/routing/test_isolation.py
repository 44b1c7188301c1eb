"""Tenant sessions as a boundary: the confined SQL each shape becomes, and what is refused.

Pure: ``cluster.explain`` never connects. The integration suite (tests/integration/isolation)
runs the same kinds of statements on real databases and compares the other tenant's rows.
"""

from __future__ import annotations

import zlib
from typing import Any

import pytest

import tenantdb
from tenantdb import RoutingError, TenantIsolationError, TenantStatusError, UnsupportedSQLError

URLS = {
    "postgres": "postgresql://app@db0/shard0",
    "mysql": "mysql://app@db0/shard0",
    "sqlite": "sqlite:////nonexistent/tenantdb-unit.db",
}


def make_cluster(dialect: str, **extra: Any) -> tenantdb.Cluster:
    config: dict[str, Any] = {
        "dialect": dialect,
        "datasources": {
            "ds0": {"url": URLS[dialect]},
            "ds1": {"url": URLS[dialect]},
            "ds2": {"url": URLS[dialect]},
        },
        "tables": {
            "orders": {"strategy": "tenant"},
            "order_items": {"strategy": "tenant"},
            "countries": {"strategy": "broadcast"},
            "settings": {"strategy": "single", "datasource": "ds0", "tenant_scoped": False},
            "events": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 2,
                "datasources": ["ds0"],
                "tenant_scoped": True,
            },
        },
        "tenants": {
            "a": {"datasource": "ds0"},
            "s": {"datasource": "ds1", "isolation": "schema", "schema": "tenant_s"},
            "d": {"datasource": "ds2", "isolation": "database"},
        },
        **extra,
    }
    return tenantdb.connect(config)


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def cluster(request: pytest.FixtureRequest) -> tenantdb.Cluster:
    return make_cluster(request.param)


@pytest.fixture
def pg() -> tenantdb.Cluster:
    return make_cluster("postgres")


def one(cluster: tenantdb.Cluster, sql: str, params: Any = None, tenant: Any = "a") -> Any:
    plan = cluster.explain(sql, params, tenant=tenant)
    assert len(plan.targets) == 1
    return plan.targets[0]


# -- the tenant condition --------------------------------------------------------------


def test_an_or_cannot_widen_the_tenant_condition(pg: tenantdb.Cluster) -> None:
    target = one(pg, "SELECT id FROM orders WHERE id = %s OR 1 = 1", [1])
    assert target.sql == (
        "SELECT id FROM orders WHERE orders.tenant_id = %s "
        "AND CASE WHEN orders.tenant_id = %s THEN (id = %s OR 1 = 1) END"
    )
    assert target.params == ("a", "a", 1)


def test_conditions_that_may_raise_run_only_on_the_tenants_rows(cluster: tenantdb.Cluster) -> None:
    # An error raised on another tenant's row would carry its values, or tell by its
    # presence what the row holds: such a condition is evaluated under the tenant's.
    mark = _tenant(cluster)
    target = one(
        cluster, "SELECT id FROM orders WHERE id > 100 AND abs(amount - 9) > 0 AND note = 'x'"
    )
    assert target.sql == (
        f"SELECT id FROM orders WHERE orders.tenant_id = {mark} AND id > 100 AND note = 'x' AND "
        f"CASE WHEN orders.tenant_id = {mark} THEN (ABS(amount - 9) > 0) END"
    )


def test_mysql_writes_guard_comparisons_with_numbers(cluster: tenantdb.Cluster) -> None:
    # Strict mode turns a string column's failed conversion to a number into an error
    # quoting the row, in statements that write: only string comparisons stay outside.
    target = one(cluster, "UPDATE orders SET amount = 1 WHERE note = 0 AND note = 'x'")
    mark = _tenant(cluster)
    if cluster.topology.dialect == "mysql":
        assert target.sql == (
            f"UPDATE orders SET amount = 1 WHERE orders.tenant_id = {mark} AND note = 'x' AND "
            f"CASE WHEN orders.tenant_id = {mark} THEN (note = 0) END"
        )
    else:
        assert target.sql == (
            f"UPDATE orders SET amount = 1 WHERE orders.tenant_id = {mark} AND note = 0 "
            "AND note = 'x'"
        )


def test_every_reference_is_confined(pg: tenantdb.Cluster) -> None:
    sql = (
        "WITH recent AS (SELECT id FROM orders) "
        "SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id "
        "LEFT JOIN order_items j ON j.order_id = o.id "
        "WHERE EXISTS (SELECT 1 FROM order_items x WHERE x.order_id = o.id) "
        "AND o.id IN (SELECT id FROM recent) "
        "UNION SELECT id FROM (SELECT id FROM orders) AS derived"
    )
    target = one(pg, sql)
    # Six references to tenant tables, each with its condition (guards repeat some).
    assert set(target.params) == {"a"}
    for condition in (
        "SELECT id FROM orders WHERE orders.tenant_id = %s",
        "ON i.tenant_id = %s AND i.order_id = o.id",
        "ON j.tenant_id = %s AND j.order_id = o.id",
        "WHERE x.tenant_id = %s AND x.order_id = o.id",
        "WHERE o.tenant_id = %s",
        "FROM (SELECT id FROM orders WHERE orders.tenant_id = %s) AS derived",
    ):
        assert condition in target.sql


def test_left_join_condition_goes_into_on_not_where(pg: tenantdb.Cluster) -> None:
    target = one(
        pg, "SELECT c.name, o.id FROM countries c LEFT JOIN orders o ON o.country = c.code"
    )
    assert target.sql.endswith("LEFT JOIN orders AS o ON o.tenant_id = %s AND o.country = c.code")


def test_update_and_delete_are_confined(cluster: tenantdb.Cluster) -> None:
    target = one(cluster, "UPDATE orders SET amount = %s WHERE id = %s OR note = 'x'", [5, 1])
    assert "WHERE orders.tenant_id = " + _tenant(cluster) + " AND " in target.sql
    assert target.params[:2] == (5, "a")
    target = one(cluster, "DELETE FROM orders")
    assert target.sql == "DELETE FROM orders WHERE orders.tenant_id = " + _tenant(cluster)


def test_update_from_confines_both_tables(pg: tenantdb.Cluster) -> None:
    target = one(
        pg,
        "UPDATE orders SET amount = 0 FROM order_items i WHERE i.order_id = orders.id",
    )
    assert "orders.tenant_id = %s" in target.sql
    assert "i.tenant_id = %s" in target.sql
    assert target.params == ("a", "a")


def test_tenant_scoped_sharded_table_is_confined_for_every_isolation(
    pg: tenantdb.Cluster,
) -> None:
    shard = zlib.crc32(b"7") % 2
    for tenant in ("a", "s"):
        plan = pg.explain("SELECT * FROM events WHERE user_id = %s", [7], tenant=tenant)
        assert plan.targets[0].sql.endswith(f"WHERE events_{shard}.tenant_id = %s AND user_id = %s")
        assert plan.targets[0].params == (tenant, 7)
    # events lives on ds0; tenant d has ds2 to itself and reaches nothing else.
    with pytest.raises(TenantIsolationError, match="database of its own"):
        pg.explain("SELECT * FROM events WHERE user_id = %s", [7], tenant="d")


def test_schema_tenants_get_qualified_names_without_a_condition(pg: tenantdb.Cluster) -> None:
    target = one(pg, "SELECT id FROM orders WHERE id = %s", [1], tenant="s")
    assert target.sql == "SELECT id FROM tenant_s.orders WHERE id = %s"
    assert target.params == (1,)


# -- inserts and upserts ----------------------------------------------------------------


def test_insert_gets_the_tenant_id(cluster: tenantdb.Cluster) -> None:
    target = one(cluster, "INSERT INTO orders (id, amount) VALUES (%s, %s), (3, 4)", [1, 2])
    mark = _mark(cluster)
    assert target.sql == (
        f"INSERT INTO orders (id, amount, tenant_id) VALUES ({mark}, {mark}, {mark}), "
        f"(3, 4, {mark})"
    )
    assert target.params == (1, 2, "a", "a")


def test_insert_may_name_its_own_tenant_only(cluster: tenantdb.Cluster) -> None:
    sql = "INSERT INTO orders (tenant_id, id) VALUES (%s, %s)"
    assert one(cluster, sql, ["a", 1]).params == ("a", 1)
    with pytest.raises(TenantIsolationError, match="leave tenant_id out"):
        cluster.explain(sql, ["b", 1], tenant="a")
    with pytest.raises(TenantIsolationError, match="leave tenant_id out"):
        cluster.explain("INSERT INTO orders (id, tenant_id) VALUES (1, 'a'), (2, 'b')", tenant="a")
    with pytest.raises(TenantIsolationError, match="expression"):
        cluster.explain("INSERT INTO orders (id, tenant_id) VALUES (1, lower('B'))", tenant="a")
    with pytest.raises(TenantIsolationError, match="name its columns"):
        cluster.explain("INSERT INTO orders VALUES (1, 'a', 3)", tenant="a")


def test_insert_select_is_confined_on_both_sides(cluster: tenantdb.Cluster) -> None:
    target = one(
        cluster,
        "INSERT INTO orders (id, amount) SELECT id + 100, amount FROM orders "
        "UNION ALL SELECT id, 0 FROM order_items",
    )
    mark, tenant = _mark(cluster), _tenant(cluster)
    assert f"SELECT id + 100, amount, {mark} FROM orders WHERE orders.tenant_id = {tenant}" in (
        target.sql
    )
    assert target.params == ("a",) * 4
    with pytest.raises(TenantIsolationError):
        cluster.explain(
            "INSERT INTO orders (id, tenant_id) SELECT id, tenant_id FROM order_items", tenant="a"
        )


def test_upsert_updates_only_the_tenants_own_row(pg: tenantdb.Cluster) -> None:
    target = one(
        pg,
        "INSERT INTO orders (id, amount) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET amount = excluded.amount",
        [1, 2],
    )
    assert target.sql.endswith(
        "ON CONFLICT(id) DO UPDATE SET amount = excluded.amount WHERE orders.tenant_id = %s"
    )
    assert target.params == (1, 2, "a", "a")
    mysql = make_cluster("mysql")
    target = one(
        mysql,
        "INSERT INTO orders (id, amount) VALUES (1, 2) ON DUPLICATE KEY UPDATE amount = "
        "VALUES(amount)",
    )
    assert target.sql.endswith(
        "amount = IF(orders.tenant_id = CAST(%s AS BINARY), VALUES(amount), amount)"
    )
    with pytest.raises(TenantIsolationError, match="assigns tenant_id"):
        pg.explain(
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET tenant_id = 'b'",
            tenant="a",
        )


def test_replacing_inserts_are_refused() -> None:
    sqlite = make_cluster("sqlite")
    with pytest.raises(TenantIsolationError, match="another tenant's"):
        sqlite.explain("INSERT OR REPLACE INTO orders (id) VALUES (1)", tenant="a")
    with pytest.raises(UnsupportedSQLError):
        sqlite.explain("REPLACE INTO orders (id) VALUES (1)", tenant="a")


def test_update_may_not_set_the_tenant_column(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(TenantIsolationError, match="assigns tenant_id"):
        cluster.explain("UPDATE orders SET tenant_id = %s WHERE id = 1", ["a"], tenant="a")


# -- the allow-list ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "error", "fragment"),
    [
        ("CREATE TABLE x (id INT)", TenantIsolationError, "admin session"),
        ("ALTER TABLE orders ADD COLUMN y INT", TenantIsolationError, "admin session"),
        ("SELECT 1; DELETE FROM orders", UnsupportedSQLError, "one statement"),
        ("SET search_path TO b", UnsupportedSQLError, "not supported"),
        ("SELECT * FROM public.orders", TenantIsolationError, "names a schema"),
        ("SELECT * FROM b.orders", TenantIsolationError, "names a schema"),
        ("SELECT * FROM pg_catalog.pg_user", TenantIsolationError, "names a schema"),
        ("SELECT * FROM pg_user", TenantIsolationError, "not declared"),
        ("SELECT * FROM information_schema.tables", TenantIsolationError, "names a schema"),
        ("SELECT * FROM undeclared_table", TenantIsolationError, "not declared"),
        ("SELECT pg_read_file('/etc/passwd')", TenantIsolationError, "pg_read_file"),
        ("SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", TenantIsolationError, "dblink"),
        ("SELECT set_config('x', 'y', false)", TenantIsolationError, "allowed_functions"),
        ("SELECT id FROM orders WHERE pg_sleep(10) IS NULL", TenantIsolationError, "pg_sleep"),
        (
            "SELECT * FROM orders o RIGHT JOIN countries c ON c.code = o.country",
            UnsupportedSQLError,
            "LEFT JOIN",
        ),
        (
            "SELECT * FROM orders o FULL JOIN countries c ON c.code = o.country",
            UnsupportedSQLError,
            "LEFT JOIN",
        ),
        ("SELECT * FROM countries c LEFT JOIN orders o USING (code)", UnsupportedSQLError, "ON"),
        ("SELECT id INTO copy FROM orders", UnsupportedSQLError, "INTO"),
    ],
)
def test_refused_in_a_tenant_session(
    pg: tenantdb.Cluster, sql: str, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        pg.explain(sql, tenant="a")


def test_mysql_server_variables_are_refused() -> None:
    mysql = make_cluster("mysql")
    for sql in ("SELECT @@version", "SELECT @x := 1", "SELECT id FROM orders WHERE id = @x"):
        with pytest.raises((TenantIsolationError, UnsupportedSQLError)):
            mysql.explain(sql, tenant="a")


def test_allowed_functions_extend_the_allow_list() -> None:
    cluster = make_cluster("postgres", allowed_functions=["My_Func"])
    assert one(cluster, "SELECT my_func(id) FROM orders").params == ("a",)
    with pytest.raises(TenantIsolationError, match="other_func"):
        cluster.explain("SELECT other_func(id) FROM orders", tenant="a")


def test_standard_functions_and_shared_tables_are_allowed(pg: tenantdb.Cluster) -> None:
    target = one(pg, "SELECT lower(name), count(*), now() FROM countries GROUP BY 1")
    assert target.params == ()
    assert one(pg, "SELECT value FROM settings WHERE name = %s", ["x"]).params == ("x",)


def test_admin_sessions_are_not_confined(pg: tenantdb.Cluster) -> None:
    plan = pg.explain("SELECT id FROM orders", admin=True)
    assert all("tenant_id" not in t.sql for t in plan.targets)
    assert pg.explain("SELECT pg_backend_pid()", admin=True).targets


def test_tenant_scoped_tables_need_a_tenant(pg: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="tenant-scoped"):
        pg.explain("SELECT * FROM events WHERE user_id = %s", [1])


def test_database_tenants_reach_only_their_datasource(pg: tenantdb.Cluster) -> None:
    assert one(pg, "SELECT * FROM countries", tenant="d").datasource == "ds2"
    with pytest.raises(TenantIsolationError, match="database of its own"):
        pg.explain("SELECT * FROM settings", tenant="d")


# -- status and the id as data -----------------------------------------------------------


def test_tenant_status(pg: tenantdb.Cluster) -> None:
    suspended = tenantdb.Tenant(id="z", datasource="ds0", status="suspended")
    with pytest.raises(TenantStatusError, match="suspended") as caught:
        pg.explain("SELECT id FROM orders", tenant=suspended)
    assert caught.value.status == "suspended"
    read_only = tenantdb.Tenant(id="r", datasource="ds0", status="read_only")
    assert one(pg, "SELECT id FROM orders", tenant=read_only).params == ("r",)
    for sql in (
        "DELETE FROM orders",
        "INSERT INTO orders (id) VALUES (1)",
        "UPDATE orders SET x = 1",
    ):
        with pytest.raises(TenantStatusError, match="read-only"):
            pg.explain(sql, tenant=read_only)


@pytest.mark.parametrize("tenant_id", ["o'brien", "x'; DROP TABLE orders; --", 'a"b', "😀", "/*"])
def test_the_tenant_id_is_always_a_parameter(cluster: tenantdb.Cluster, tenant_id: str) -> None:
    tenant = tenantdb.Tenant(id=tenant_id, datasource="ds0")
    for sql in (
        "SELECT id FROM orders",
        "INSERT INTO orders (id) VALUES (1)",
        "DELETE FROM orders",
    ):
        target = one(cluster, sql, tenant=tenant)
        assert tenant_id not in target.sql
        assert target.params[-1] == tenant_id


def _tenant(cluster: tenantdb.Cluster) -> str:
    """The tenant value in a condition: MySQL compares it byte for byte, not by collation."""
    dialect = cluster.router.topology.dialect
    return "CAST(%s AS BINARY)" if dialect == "mysql" else _mark(cluster)


def _mark(cluster: tenantdb.Cluster) -> str:
    return "?" if cluster.router.topology.dialect == "sqlite" else "%s"


def test_admin_scan_of_schema_tenants_on_one_datasource_is_merged() -> None:
    # Shared rows and schema tenants on one datasource: one target per schema, and the
    # targets' rows are merged like shards' (a count is one row, not one per schema).
    cluster = tenantdb.connect(
        {
            "dialect": "postgres",
            "datasources": {"ds0": {"url": URLS["postgres"]}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {
                "a": {"datasource": "ds0"},
                "sa": {"datasource": "ds0", "isolation": "schema", "schema": "sa"},
            },
        }
    )
    plan = cluster.explain("SELECT count(*) FROM orders", admin=True)
    assert [dict(t.tables) for t in plan.targets] == [{"orders": "orders"}, {"orders": "sa.orders"}]
    assert plan.merge is not None
    assert [a.kind for a in plan.merge.aggregates] == ["count"]
    plan = cluster.explain("SELECT id FROM orders ORDER BY id LIMIT 3", admin=True)
    assert plan.merge is not None
    assert plan.merge.limit == 3


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "INSERT INTO countries (code, name) VALUES ('zz', 'x')"),
        ("postgres", "UPDATE countries SET name = 'x'"),
        ("postgres", "DELETE FROM settings"),
        ("sqlite", "INSERT INTO settings (name, value) VALUES ('k', 'v') ON CONFLICT DO NOTHING"),
        ("mysql", "UPDATE orders o JOIN countries c ON c.code = o.note SET c.name = 'x'"),
        ("mysql", "UPDATE orders o JOIN countries c ON c.code = o.note SET name = 'x'"),
        ("mysql", "DELETE o, c FROM orders o JOIN countries c ON c.code = o.note"),
        ("postgres", "SELECT o.id FROM orders o JOIN countries c ON c.code = o.note FOR UPDATE"),
        ("mysql", "SELECT * FROM settings FOR UPDATE"),
    ],
)
def test_shared_tables_are_read_only_in_a_tenant_session(dialect: str, sql: str) -> None:
    with pytest.raises(TenantIsolationError, match="every tenant"):
        make_cluster(dialect).explain(sql, tenant="a")


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgres", "INSERT INTO orders (id) SELECT 1 FROM countries"),
        ("mysql", "UPDATE orders o JOIN countries c ON c.code = o.note SET o.amount = 1"),
        ("mysql", "DELETE o FROM orders o JOIN countries c ON c.code = o.note"),
        ("postgres", "UPDATE orders SET amount = 1 FROM countries c WHERE c.code = orders.note"),
        ("postgres", "SELECT id FROM orders FOR UPDATE"),
    ],
)
def test_tenant_writes_may_read_shared_tables(dialect: str, sql: str) -> None:
    assert make_cluster(dialect).explain(sql, tenant="a").targets


# -- the guard: nothing of the statement's is evaluated on another tenant's row ----------


def test_join_conditions_that_may_raise_are_guarded_by_every_table_they_read(
    pg: tenantdb.Cluster,
) -> None:
    target = one(
        pg,
        "SELECT o.id FROM orders o LEFT JOIN order_items i "
        "ON i.order_id = o.id AND abs(i.id) > 1 "
        "JOIN countries c ON upper(c.code) = o.note WHERE length(o.note) > 1",
    )
    assert (
        "LEFT JOIN order_items AS i ON i.tenant_id = %s AND i.order_id = o.id AND "
        "CASE WHEN i.tenant_id = %s AND o.tenant_id = %s THEN (ABS(i.id) > 1) END"
    ) in target.sql
    assert "ON CASE WHEN o.tenant_id = %s THEN (UPPER(c.code) = o.note) END" in target.sql
    # In the WHERE a LEFT-joined table may be null-extended: its guard lets NULL through.
    assert target.sql.endswith(
        "WHERE o.tenant_id = %s AND CASE WHEN o.tenant_id = %s AND "
        "(i.tenant_id = %s OR i.tenant_id IS NULL) THEN (LENGTH(o.note) > 1) END"
    )


def test_subqueries_are_guarded_as_a_whole(pg: tenantdb.Cluster) -> None:
    target = one(
        pg,
        "SELECT id FROM orders o WHERE id = %s AND EXISTS "
        "(SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.sku = 'x')",
        [1],
    )
    assert target.sql == (
        "SELECT id FROM orders AS o WHERE o.tenant_id = %s AND id = %s AND CASE WHEN "
        "o.tenant_id = %s THEN (EXISTS(SELECT 1 FROM order_items AS i WHERE i.tenant_id = %s "
        "AND i.order_id = o.id AND i.sku = 'x')) END"
    )


def test_upsert_condition_is_guarded(pg: tenantdb.Cluster) -> None:
    target = one(
        pg,
        "INSERT INTO orders (id, amount) VALUES (1, 2) ON CONFLICT (id) "
        "DO UPDATE SET amount = 3 WHERE orders.amount / 0 > 1",
    )
    assert target.sql.endswith(
        "WHERE orders.tenant_id = %s AND CASE WHEN orders.tenant_id = %s "
        "THEN (orders.amount / 0 > 1) END"
    )


def test_a_guarded_sharding_key_still_places_the_statement() -> None:
    # MySQL writes keep a number comparison under the guard; routing still reads it.
    mysql = make_cluster("mysql")
    shard = zlib.crc32(b"7") % 2
    target = one(mysql, "UPDATE events SET x = 1 WHERE user_id = %s", [7])
    assert target.tables == {"events": f"events_{shard}"}
    assert "CASE WHEN" in target.sql
