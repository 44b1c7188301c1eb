"""Schema-isolated tenants and the tenant column (issue 14).

A schema tenant's INSERTs carry its id like a shared tenant's, while its reads stay
unconfined (its schema is the boundary). In an admin scan, the targets in a schema tenant's
schema read the tenant column as ``COALESCE(<column>, '<that tenant>')``, so rows it stored
without the id still say whose they are. Pure: ``explain`` never connects; the integration
suite (tests/integration/test_tenant_schemas.py) runs the same on PostgreSQL and MariaDB.
"""

from __future__ import annotations

from typing import Any

import pytest

import tenantdb
from tenantdb import RoutingError, TenantIsolationError, UnsupportedSQLError
from tenantdb.core.routing import SchemaLayout

URLS = {
    "postgres": "postgresql://app@db0/shard0",
    "mysql": "mysql://app@db0/shard0",
    "sqlite": "sqlite:////nonexistent/tenantdb-unit.db",
}


def make_cluster(dialect: str = "postgres", **tenants: dict[str, Any]) -> tenantdb.Cluster:
    return tenantdb.connect(
        {
            "dialect": dialect,
            "datasources": {"ds0": {"url": URLS[dialect]}, "ds1": {"url": URLS[dialect]}},
            "tables": {
                "orders": {"strategy": "tenant"},
                "order_items": {"strategy": "tenant"},
                "countries": {"strategy": "broadcast"},
            },
            "tenants": tenants
            or {
                "a": {"datasource": "ds0"},
                "s": {"datasource": "ds0", "isolation": "schema", "schema": "tenant_s"},
                "t": {"datasource": "ds1", "isolation": "schema", "schema": "tenant_t"},
            },
        }
    )


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def cluster(request: pytest.FixtureRequest) -> tenantdb.Cluster:
    return make_cluster(request.param)


@pytest.fixture
def pg() -> tenantdb.Cluster:
    return make_cluster("postgres")


def mark(cluster: tenantdb.Cluster) -> str:
    return "?" if cluster.router.topology.dialect == "sqlite" else "%s"


def one(cluster: tenantdb.Cluster, sql: str, params: Any = None, tenant: str = "s") -> Any:
    plan = cluster.explain(sql, params, tenant=tenant)
    assert len(plan.targets) == 1
    return plan.targets[0]


def scan(cluster: tenantdb.Cluster, sql: str, params: Any = None) -> dict[str, Any]:
    """Admin plan: physical orders table → (sql, params) of its target."""
    plan = cluster.explain(sql, params, admin=True)
    return {t.tables.get("orders", "?"): (t.sql, t.params) for t in plan.targets}


# -- the layout ------------------------------------------------------------------------


def test_schema_layout_reads_as_datasource_to_schemas_and_knows_each_owner() -> None:
    layout = SchemaLayout({("ds1", "zeta"): "z", ("ds0", "b_co"): "b", ("ds0", "a_co"): "a"})
    assert dict(layout) == {"ds0": ("a_co", "b_co"), "ds1": ("zeta",)}
    assert list(layout) == ["ds0", "ds1"]
    assert len(layout) == 2
    assert layout.owner("ds0", "b_co") == "b"
    assert layout.owner("ds1", "b_co") is None
    assert repr(layout) == "<SchemaLayout [ds0: a_co=a b_co=b, ds1: zeta=z]>"
    assert dict(SchemaLayout()) == {}


def test_the_registry_layout_names_the_tenant_of_each_schema(pg: tenantdb.Cluster) -> None:
    layout = pg.tenants.schema_layout()
    assert isinstance(layout, SchemaLayout)
    assert dict(layout) == {"ds0": ("tenant_s",), "ds1": ("tenant_t",)}
    assert layout.owner("ds0", "tenant_s") == "s"
    assert layout.owner("ds1", "tenant_t") == "t"


# -- a schema tenant's own session -----------------------------------------------------


def test_a_schema_tenants_insert_carries_its_id(cluster: tenantdb.Cluster) -> None:
    m = mark(cluster)
    target = one(cluster, "INSERT INTO orders (id, amount) VALUES (%s, %s), (3, 4)", [1, 2])
    assert target.sql == (
        f"INSERT INTO tenant_s.orders (id, amount, tenant_id) VALUES ({m}, {m}, {m}), (3, 4, {m})"
    )
    assert target.params == (1, 2, "s", "s")
    target = one(cluster, "INSERT INTO order_items (order_id) SELECT id FROM orders")
    assert target.sql == (
        f"INSERT INTO tenant_s.order_items (order_id, tenant_id) SELECT id, {m} "
        "FROM tenant_s.orders"
    )
    assert target.params == ("s",)


def test_a_schema_tenant_may_name_its_own_id_only(cluster: tenantdb.Cluster) -> None:
    sql = "INSERT INTO orders (tenant_id, id) VALUES (%s, %s)"
    assert one(cluster, sql, ["s", 1]).params == ("s", 1)
    assert one(cluster, sql, [None, 1]).params == ("s", 1)  # None: the session's tenant
    for other in ("a", "t"):
        with pytest.raises(TenantIsolationError, match="leave tenant_id out"):
            cluster.explain(sql, [other, 1], tenant="s")
    with pytest.raises(TenantIsolationError, match="leave it out of SET"):
        cluster.explain("UPDATE orders SET tenant_id = %s WHERE id = 1", ["s"], tenant="s")
    with pytest.raises(TenantIsolationError, match="must name its columns"):
        cluster.explain("INSERT INTO orders VALUES (1, 2)", tenant="s")


def test_a_schema_tenants_reads_and_writes_stay_unconfined(cluster: tenantdb.Cluster) -> None:
    # Rows the tenant stored before its INSERTs carried the id (tenant_id NULL) stay its own.
    m = mark(cluster)
    for sql, physical in [
        ("SELECT id FROM orders WHERE id = %s", "SELECT id FROM tenant_s.orders WHERE id = {m}"),
        ("UPDATE orders SET amount = 1 WHERE id = %s", "UPDATE tenant_s.orders SET amount = 1 "),
        ("DELETE FROM orders WHERE id = %s", "DELETE FROM tenant_s.orders WHERE id = {m}"),
    ]:
        target = one(cluster, sql, [7])
        assert target.sql.startswith(physical.format(m=m))
        assert "tenant_id" not in target.sql
        assert target.params == (7,)


def test_a_schema_tenants_upsert_is_not_guarded() -> None:
    pg = make_cluster("postgres")
    target = one(
        pg,
        "INSERT INTO orders (id, amount) VALUES (%s, %s) "
        "ON CONFLICT (id) DO UPDATE SET amount = excluded.amount",
        [1, 2],
    )
    assert target.sql == (
        "INSERT INTO tenant_s.orders (id, amount, tenant_id) VALUES (%s, %s, %s) "
        "ON CONFLICT(id) DO UPDATE SET amount = excluded.amount"
    )
    mysql = make_cluster("mysql")
    target = one(
        mysql,
        "INSERT INTO orders (id, amount) VALUES (%s, %s) ON DUPLICATE KEY UPDATE amount = 5",
        [1, 2],
    )
    assert target.sql.endswith("ON DUPLICATE KEY UPDATE amount = 5")
    with pytest.raises(TenantIsolationError, match="assigns tenant_id"):
        pg.explain(
            "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET tenant_id = 'x'",
            tenant="s",
        )


def test_a_shared_tenant_is_confined_as_before(pg: tenantdb.Cluster) -> None:
    target = one(pg, "SELECT id FROM orders WHERE id = %s", [1], tenant="a")
    assert target.sql == "SELECT id FROM orders WHERE orders.tenant_id = %s AND id = %s"
    assert target.params == ("a", 1)


# -- admin scans over schema tenants ---------------------------------------------------


def test_admin_group_by_tenant_column_reads_each_schemas_tenant(pg: tenantdb.Cluster) -> None:
    targets = scan(pg, "SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id")
    assert targets["orders"][0] == "SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id"
    assert targets["tenant_s.orders"][0] == (
        "SELECT COALESCE(tenant_id, 's') AS tenant_id, COUNT(*) FROM tenant_s.orders "
        "GROUP BY COALESCE(tenant_id, 's')"
    )
    assert targets["tenant_t.orders"][0].count("COALESCE(tenant_id, 't')") == 2
    plan = pg.explain("SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id", admin=True)
    assert plan.merge is not None
    assert plan.merge.group_by == (0,)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT id FROM orders WHERE tenant_id = %s",
            "SELECT id FROM tenant_s.orders WHERE COALESCE(tenant_id, 's') = %s",
        ),
        (
            "SELECT id, tenant_id FROM orders ORDER BY tenant_id, id",
            "SELECT id, COALESCE(tenant_id, 's') AS tenant_id FROM tenant_s.orders "
            "ORDER BY COALESCE(tenant_id, 's'), id",
        ),
        (
            # The hidden sort column the merge adds reads the tenant too.
            "SELECT id FROM orders o ORDER BY o.tenant_id",
            "SELECT id, COALESCE(o.tenant_id, 's') AS tdb_hidden_0 FROM tenant_s.orders AS o "
            "ORDER BY COALESCE(o.tenant_id, 's')",
        ),
        (
            "SELECT o.id FROM orders o JOIN order_items i "
            "ON i.tenant_id = o.tenant_id AND i.order_id = o.id",
            "SELECT o.id FROM tenant_s.orders AS o JOIN tenant_s.order_items AS i "
            "ON COALESCE(i.tenant_id, 's') = COALESCE(o.tenant_id, 's') AND i.order_id = o.id",
        ),
        (
            "SELECT t FROM (SELECT tenant_id AS t FROM orders GROUP BY tenant_id "
            "HAVING tenant_id <> %s) AS d",
            "SELECT t FROM (SELECT COALESCE(tenant_id, 's') AS t FROM tenant_s.orders "
            "GROUP BY COALESCE(tenant_id, 's') HAVING COALESCE(tenant_id, 's') <> %s) AS d",
        ),
        (
            "SELECT id FROM orders WHERE tenant_id IN (SELECT tenant_id FROM order_items)",
            "SELECT id FROM tenant_s.orders WHERE COALESCE(tenant_id, 's') IN "
            "(SELECT COALESCE(tenant_id, 's') AS tenant_id FROM tenant_s.order_items)",
        ),
        (
            "SELECT UPPER(tenant_id) AS up FROM orders",
            "SELECT UPPER(COALESCE(tenant_id, 's')) AS up FROM tenant_s.orders",
        ),
        (
            # An output alias named like the column: ORDER BY names the alias, not the column.
            "SELECT id AS tenant_id FROM orders ORDER BY tenant_id",
            "SELECT id AS tenant_id FROM tenant_s.orders ORDER BY tenant_id",
        ),
        (
            "SELECT tenant_id FROM orders UNION SELECT tenant_id FROM order_items "
            "ORDER BY tenant_id",
            "SELECT COALESCE(tenant_id, 's') AS tenant_id FROM tenant_s.orders UNION "
            "SELECT COALESCE(tenant_id, 's') AS tenant_id FROM tenant_s.order_items "
            "ORDER BY tenant_id",
        ),
        (
            # No catalog: * is not expanded and shows the stored value (documented).
            "SELECT * FROM orders",
            "SELECT * FROM tenant_s.orders",
        ),
        (
            "SELECT o.* FROM orders o JOIN countries c ON c.code = o.country",
            "SELECT o.* FROM tenant_s.orders AS o JOIN countries AS c ON c.code = o.country",
        ),
    ],
)
def test_admin_scan_spellings(pg: tenantdb.Cluster, sql: str, expected: str) -> None:
    params = ["x"] if "%s" in sql else None
    assert scan(pg, sql, params)["tenant_s.orders"][0] == expected


def test_admin_writes_filter_on_the_tenant_the_same_way(pg: tenantdb.Cluster) -> None:
    targets = scan(pg, "DELETE FROM orders WHERE tenant_id = %s", ["s"])
    assert targets["orders"] == ("DELETE FROM orders WHERE tenant_id = %s", ("s",))
    assert targets["tenant_s.orders"] == (
        "DELETE FROM tenant_s.orders WHERE COALESCE(tenant_id, 's') = %s",
        ("s",),
    )
    targets = scan(pg, "UPDATE orders SET amount = 0 WHERE tenant_id IN (%s, %s)", ["s", "a"])
    assert targets["tenant_t.orders"][0] == (
        "UPDATE tenant_t.orders SET amount = 0 WHERE COALESCE(tenant_id, 't') IN (%s, %s)"
    )
    # An assignment target names the column to write; its value reads like any reference,
    # so this statement fills the id into every schema tenant's rows that lack it.
    targets = scan(pg, "UPDATE orders SET tenant_id = tenant_id")
    assert targets["orders"][0] == "UPDATE orders SET tenant_id = tenant_id"
    assert targets["tenant_s.orders"][0] == (
        "UPDATE tenant_s.orders SET tenant_id = COALESCE(tenant_id, 's')"
    )


def test_admin_statements_without_the_tenant_column_are_unchanged(pg: tenantdb.Cluster) -> None:
    targets = scan(pg, "SELECT id, amount FROM orders WHERE amount > %s", [1])
    assert targets["tenant_s.orders"][0] == (
        "SELECT id, amount FROM tenant_s.orders WHERE amount > %s"
    )
    plan = pg.explain("CREATE INDEX ix_t ON orders (tenant_id)", admin=True)
    assert all("COALESCE" not in t.sql for t in plan.targets)
    assert len(plan.targets) == 4  # shared tables of ds0 and ds1, and both schemas


def test_mysql_binds_the_schemas_tenant_as_a_parameter() -> None:
    # PyMySQL writes parameters into the text itself, escaping for the server's mode.
    mysql = make_cluster("mysql")
    targets = scan(mysql, "SELECT tenant_id FROM orders WHERE tenant_id <> %s", ["x"])
    assert targets["tenant_s.orders"] == (
        "SELECT COALESCE(tenant_id, %s) AS tenant_id FROM tenant_s.orders "
        "WHERE COALESCE(tenant_id, %s) <> %s",
        ("s", "s", "x"),
    )


def test_postgres_writes_any_tenant_id_as_a_literal() -> None:
    weird = "o'brien\\50%"
    cluster = make_cluster(
        "postgres",
        a={"datasource": "ds0"},
        **{weird: {"datasource": "ds1", "isolation": "schema", "schema": "tenant_w"}},
    )
    targets = scan(cluster, "SELECT tenant_id FROM orders WHERE tenant_id <> %s", ["x"])
    literal = "E'o''brien\\\\50%%'"
    assert targets["tenant_w.orders"] == (
        f"SELECT COALESCE(tenant_id, {literal}) AS tenant_id FROM tenant_w.orders "
        f"WHERE COALESCE(tenant_id, {literal}) <> %s",
        ("x",),
    )
    plain = make_cluster(
        "postgres",
        a={"datasource": "ds0"},
        **{"b%'": {"datasource": "ds1", "isolation": "schema", "schema": "tenant_b"}},
    )
    targets = scan(plain, "SELECT tenant_id FROM orders")
    assert targets["tenant_b.orders"][0] == (
        "SELECT COALESCE(tenant_id, 'b%%''') AS tenant_id FROM tenant_b.orders"
    )


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT o.id FROM orders o JOIN order_items i USING (tenant_id, id)",
            r"USING \(tenant_id\).*write the join condition with ON",
        ),
        (
            "SELECT o.id FROM orders o WHERE EXISTS "
            "(SELECT 1 FROM countries c WHERE c.code = o.country AND tenant_id = 'x')",
            "qualify it",
        ),
    ],
)
def test_admin_scan_shapes_that_cannot_read_the_tenant_are_refused(
    pg: tenantdb.Cluster, sql: str, message: str
) -> None:
    with pytest.raises(UnsupportedSQLError, match=message):
        pg.explain(sql, admin=True)
    # Without schema tenants the same statements run as they are.
    shared = make_cluster("postgres", a={"datasource": "ds0"})
    assert len(shared.explain(sql, admin=True).targets) == 2


def test_a_layout_without_owners_serves_only_statements_without_the_column(
    pg: tenantdb.Cluster,
) -> None:
    plain = {"ds0": ("tenant_s",), "ds1": ("tenant_t",)}
    plan = pg.router.route("SELECT id FROM orders", admin=True, schemas=plain)
    assert len(plan.targets) == 4
    with pytest.raises(RoutingError, match="schema_layout"):
        pg.router.route("SELECT tenant_id FROM orders", admin=True, schemas=plain)
