"""NULL, DEFAULT and None in the tenant column of a tenant session's INSERT (issue 20).

An ORM maps the tenant column and sends it as None, or the SQL says NULL or DEFAULT: in a
tenant session that means the session's tenant, like a column left out. Another tenant's
id, an expression, and NULL where it cannot be filled in exactly stay refused; admin
sessions insert what they were given. Pure: ``cluster.explain`` never connects.
"""

from __future__ import annotations

from typing import Any

import pytest

import tenantdb
from tenantdb import TenantIsolationError

URLS = {
    "postgres": "postgresql://app@db0/shard0",
    "mysql": "mysql://app@db0/shard0",
    "sqlite": "sqlite:////nonexistent/tenantdb-unit.db",
}
#: Tenants of every isolation: shared ``a``, schema ``s``, database ``d``.
TENANTS = ("a", "s", "d")


def make_cluster(dialect: str) -> tenantdb.Cluster:
    return tenantdb.connect(
        {
            "dialect": dialect,
            "datasources": {name: {"url": URLS[dialect]} for name in ("ds0", "ds1", "ds2")},
            "tables": {
                "orders": {"strategy": "tenant"},
                "notes": {"strategy": "single", "datasource": "ds0", "tenant_scoped": True},
                "keyed": {
                    "strategy": "hash_mod",
                    "key": "tenant_id",
                    "shards": 4,
                    "datasources": ["ds0"],
                    "tenant_scoped": True,
                },
            },
            "tenants": {
                "a": {"datasource": "ds0"},
                "s": {"datasource": "ds1", "isolation": "schema", "schema": "tenant_s"},
                "d": {"datasource": "ds2", "isolation": "database"},
            },
        }
    )


@pytest.fixture(params=["postgres", "mysql", "sqlite"])
def cluster(request: pytest.FixtureRequest) -> tenantdb.Cluster:
    return make_cluster(request.param)


@pytest.fixture
def pg() -> tenantdb.Cluster:
    return make_cluster("postgres")


def one(cluster: tenantdb.Cluster, sql: str, params: Any = None, tenant: str = "a") -> Any:
    plan = cluster.explain(sql, params, tenant=tenant)
    assert len(plan.targets) == 1
    return plan.targets[0]


def mark(cluster: tenantdb.Cluster) -> str:
    return "?" if cluster.router.topology.dialect == "sqlite" else "%s"


# -- literal NULL and DEFAULT ------------------------------------------------------------


@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize(
    "spelling", ["NULL", "null", "DEFAULT", "default", "(NULL)", "CAST(NULL AS VARCHAR(64))"]
)
def test_null_and_default_become_the_tenant(
    cluster: tenantdb.Cluster, tenant: str, spelling: str
) -> None:
    if spelling.startswith("CAST"):
        # A cast is an expression: refused as before (tenantdb cannot read its value).
        with pytest.raises(TenantIsolationError, match="expression"):
            cluster.explain(
                f"INSERT INTO orders (id, tenant_id) VALUES (1, {spelling})", tenant=tenant
            )
        return
    m = mark(cluster)
    target = one(
        cluster,
        f"INSERT INTO orders (id, tenant_id, note) VALUES (1, {spelling}, 'x'), (2, %s, 'y')",
        [tenant],
        tenant=tenant,
    )
    assert target.sql.endswith(
        f"orders (id, tenant_id, note) VALUES (1, {m}, 'x'), (2, {m}, 'y')"
    ), target.sql
    assert "NULL" not in target.sql.upper()
    assert "DEFAULT" not in target.sql.upper()
    assert target.params == (tenant, tenant)


@pytest.mark.parametrize("column", ["TENANT_ID", "Tenant_Id", '"tenant_id"'])
def test_the_column_in_any_case_or_quoted_is_filled(pg: tenantdb.Cluster, column: str) -> None:
    target = one(pg, f"INSERT INTO orders (id, {column}) VALUES (1, NULL), (2, DEFAULT)")
    assert target.sql.endswith("VALUES (1, %s), (2, %s)")
    assert target.params == ("a", "a")


def test_a_single_value_row_and_the_column_named_twice(cluster: tenantdb.Cluster) -> None:
    m = mark(cluster)
    target = one(cluster, "INSERT INTO orders (tenant_id) VALUES (NULL)")
    assert target.sql.endswith(f"(tenant_id) VALUES ({m})")
    # Named twice: both get the tenant (the database refuses a column named twice itself).
    target = one(
        cluster, "INSERT INTO orders (tenant_id, id, tenant_id) VALUES (NULL, 1, %s)", [None]
    )
    assert target.sql.endswith(f"VALUES ({m}, 1, {m})")
    assert target.params == ("a", "a")


def test_a_tenant_keyed_table_routes_by_the_filled_tenant(cluster: tenantdb.Cluster) -> None:
    # The tenant column as the shard key: NULL, DEFAULT and None place the row by the tenant.
    wanted = one(cluster, "INSERT INTO keyed (id, tenant_id) VALUES (1, %s)", ["a"])
    for sql, params in [
        ("INSERT INTO keyed (id, tenant_id) VALUES (1, NULL)", None),
        ("INSERT INTO keyed (id, tenant_id) VALUES (1, DEFAULT)", None),
        ("INSERT INTO keyed (id, tenant_id) VALUES (1, %s)", [None]),
    ]:
        assert one(cluster, sql, params).tables == wanted.tables


# -- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("tenant", TENANTS)
def test_a_none_parameter_gets_the_tenant_row_by_row(
    cluster: tenantdb.Cluster, tenant: str
) -> None:
    # One template, parameters per execution (executemany routes each row): None rows and
    # rows with the tenant's id both run as the tenant, another id is refused.
    sql = "INSERT INTO orders (id, tenant_id, note) VALUES (%s, %s, %s)"
    assert one(cluster, sql, [1, None, "x"], tenant).params == (1, tenant, "x")
    assert one(cluster, sql, [2, tenant, "y"], tenant).params == (2, tenant, "y")
    assert one(cluster, sql, [3, None, None], tenant).params == (3, tenant, None)
    other = "a" if tenant != "a" else "s"
    with pytest.raises(TenantIsolationError, match="other than the session's"):
        cluster.explain(sql, [4, other, "z"], tenant=tenant)


def test_named_parameters_are_filled_by_name(cluster: tenantdb.Cluster) -> None:
    # The SQLAlchemy shape: %(name)s placeholders and a mapping with tenant_id None.
    sql = "INSERT INTO notes (id, tenant_id, body) VALUES (%(id)s, %(tenant_id)s, %(body)s)"
    target = one(cluster, sql, {"id": 1, "tenant_id": None, "body": None})
    assert target.params == (1, "a", None)
    with pytest.raises(TenantIsolationError, match="other than the session's"):
        cluster.explain(sql, {"id": 1, "tenant_id": "s", "body": None}, tenant="a")


def test_a_parameter_used_twice_is_filled_everywhere_or_refused(pg: tenantdb.Cluster) -> None:
    # In VALUES and in the upsert's WHERE, compared with the tenant column: the parameter
    # is the tenant in both places, never the tenant in one and NULL in the other.
    upsert = (
        "INSERT INTO orders (id, tenant_id, note) VALUES (%(id)s, %(t)s, 'x') "
        "ON CONFLICT (id) DO UPDATE SET note = excluded.note WHERE orders.tenant_id = %(t)s"
    )
    target = one(pg, upsert, {"id": 1, "t": None})
    assert target.sql.endswith("WHERE orders.tenant_id = %s AND orders.tenant_id = %s")
    assert target.params == (1, "a", "a", "a")
    # Also used for a plain column: None there is NULL as written, so it is refused.
    twice = "INSERT INTO orders (id, tenant_id, note) VALUES (%(id)s, %(t)s, %(t)s)"
    with pytest.raises(TenantIsolationError, match="also uses it elsewhere"):
        pg.explain(twice, {"id": 1, "t": None}, tenant="a")
    assert one(pg, twice, {"id": 1, "t": "a"}).params == (1, "a", "a")
    # Used in the upsert's SET: refused for None as well.
    in_set = (
        "INSERT INTO orders (id, tenant_id) VALUES (%(id)s, %(t)s) "
        "ON CONFLICT (id) DO UPDATE SET note = %(t)s"
    )
    with pytest.raises(TenantIsolationError, match="also uses it elsewhere"):
        pg.explain(in_set, {"id": 1, "t": None}, tenant="a")
    # Positional placeholders are separate values: each is filled on its own.
    positional = "INSERT INTO orders (id, tenant_id, note) VALUES (%s, %s, %s)"
    assert one(pg, positional, [1, None, None]).params == (1, "a", None)


# -- upserts stay confined ------------------------------------------------------------------


def test_upserts_with_a_filled_tenant_keep_their_guard(cluster: tenantdb.Cluster) -> None:
    dialect = cluster.router.topology.dialect
    if dialect == "mysql":
        target = one(
            cluster,
            "INSERT INTO orders (id, tenant_id, note) VALUES (1, NULL, 'x') "
            "ON DUPLICATE KEY UPDATE note = VALUES(note)",
        )
        assert target.sql.endswith(
            "VALUES (1, %s, 'x') ON DUPLICATE KEY UPDATE note = "
            "IF(orders.tenant_id = CAST(%s AS BINARY), VALUES(note), note)"
        )
        assert target.params == ("a", "a")
        return
    m = mark(cluster)
    target = one(
        cluster,
        "INSERT INTO orders (id, tenant_id, note) VALUES (1, DEFAULT, 'x') "
        "ON CONFLICT (id) DO UPDATE SET note = excluded.note",
    )
    assert target.sql.endswith(
        f"VALUES (1, {m}, 'x') ON CONFLICT(id) DO UPDATE SET note = excluded.note "
        f"WHERE orders.tenant_id = {m}"
    )
    assert target.params == ("a", "a")


# -- INSERT ... SELECT ------------------------------------------------------------------------


def test_insert_select_null_is_filled_in_a_single_select(cluster: tenantdb.Cluster) -> None:
    m = mark(cluster)
    target = one(
        cluster, "INSERT INTO orders (id, tenant_id) SELECT id + 100, NULL AS tenant_id FROM notes"
    )
    assert f"SELECT id + 100, {m} AS tenant_id FROM notes" in target.sql
    target = one(cluster, "INSERT INTO orders (id, tenant_id) SELECT %s, %s", [5, None])
    assert target.params == (5, "a")


def test_insert_select_null_in_a_union_is_refused(cluster: tenantdb.Cluster) -> None:
    # UNION merges equal rows: a NULL branch and a tenant branch would merge once filled.
    with pytest.raises(TenantIsolationError, match="leave tenant_id out of the column list"):
        cluster.explain(
            "INSERT INTO orders (id, tenant_id) SELECT 1, NULL UNION SELECT 1, 'a'", tenant="a"
        )
    with pytest.raises(TenantIsolationError, match="leave tenant_id out of the column list"):
        cluster.explain(
            "INSERT INTO orders (id, tenant_id) SELECT 1, %s UNION ALL SELECT 2, %s",
            ["a", None],
            tenant="a",
        )
    # The tenant's own id in every branch still runs.
    target = one(
        cluster,
        "INSERT INTO orders (id, tenant_id) SELECT 1, %s UNION ALL SELECT 2, %s",
        ["a", "a"],
    )
    assert target.params == ("a", "a")


# -- still refused ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "params", "match"),
    [
        ("INSERT INTO orders (id, tenant_id) VALUES (1, 'b')", None, "other than the session's"),
        ("INSERT INTO orders (id, tenant_id) VALUES (1, NULL), (2, 'b')", None, "other than"),
        ("INSERT INTO orders (id, tenant_id) VALUES (1, %s)", ["b"], "other than the session's"),
        ("INSERT INTO orders (id, tenant_id) VALUES (1, COALESCE(NULL, 'b'))", None, "expression"),
        ("INSERT INTO orders (id, tenant_id) VALUES (1, lower('A'))", None, "expression"),
        ("INSERT INTO orders (id, tenant_id) SELECT id, tenant_id FROM notes", None, "expression"),
        ("INSERT INTO orders (id, tenant_id) SELECT id, DEFAULT FROM notes", None, "expression"),
    ],
)
def test_other_tenants_and_expressions_stay_refused(
    cluster: tenantdb.Cluster, sql: str, params: Any, match: str
) -> None:
    with pytest.raises(TenantIsolationError, match=match):
        cluster.explain(sql, params, tenant="a")


def test_an_admin_session_inserts_null_as_written(cluster: tenantdb.Cluster) -> None:
    m = mark(cluster)
    plan = cluster.explain(
        "INSERT INTO notes (id, tenant_id) VALUES (1, NULL), (2, %s)", [None], admin=True
    )
    (target,) = plan.targets
    assert target.sql.endswith(f"VALUES (1, NULL), (2, {m})")
    assert target.params == (None,)


def test_a_database_tenants_insert_without_the_column_is_left_as_written(
    cluster: tenantdb.Cluster,
) -> None:
    # Its own database's tables need not have the tenant column: nothing is added. Named,
    # the column follows the same rules as everywhere.
    m = mark(cluster)
    target = one(cluster, "INSERT INTO orders (id, note) VALUES (%s, 'x')", [1], tenant="d")
    assert target.sql == f"INSERT INTO orders (id, note) VALUES ({m}, 'x')"
    assert target.params == (1,)
    with pytest.raises(TenantIsolationError, match="other than the session's"):
        cluster.explain("INSERT INTO orders (id, tenant_id) VALUES (1, 'a')", tenant="d")
