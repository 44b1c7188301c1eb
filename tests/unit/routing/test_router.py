from __future__ import annotations

import zlib

import pytest

import tenantdb
from tenantdb import ProgrammingError, RoutingError, UnknownTenantError, UnsupportedSQLError


def datasources(plan: tenantdb.RoutePlan) -> list[str]:
    return [t.datasource for t in plan.targets]


def physical(plan: tenantdb.RoutePlan, table: str) -> list[str]:
    return [t.tables[table] for t in plan.targets]


def test_hash_mod_point_query_goes_to_the_formula_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM users WHERE user_id = %s", [12345])
    shard = zlib.crc32(b"12345") % 8
    assert len(plan.targets) == 1
    target = plan.targets[0]
    assert target.tables == {"users": f"users_{shard}"}
    assert target.datasource == ("ds0", "ds1")[shard % 2]
    assert target.sql == f"SELECT * FROM users_{shard} WHERE user_id = %s"
    assert target.params == (12345,)
    assert target.role == "primary"
    assert plan.merge is None


def test_sqlite_targets_use_qmark_placeholders(sqlite_cluster: tenantdb.Cluster) -> None:
    plan = sqlite_cluster.explain("SELECT * FROM accounts WHERE account_id = %s", [6])
    assert plan.targets[0].sql == "SELECT * FROM accounts_2 WHERE account_id = ?"


def test_literal_percent_is_escaped_for_format_style_drivers(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = %s AND n LIKE 'a%%'", [1])
    assert plan.targets[0].sql.endswith("LIKE 'a%%'")


def test_in_list_unions_and_and_intersects(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id IN (%s, %s, %s)", [1, 5, 2])
    assert physical(plan, "accounts") == ["accounts_1", "accounts_2"]
    plan = cluster.explain(
        "SELECT * FROM accounts WHERE account_id IN (1, 2) AND account_id IN (2, 3)"
    )
    assert physical(plan, "accounts") == ["accounts_2"]
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = 1 OR account_id = 3")
    assert physical(plan, "accounts") == ["accounts_1", "accounts_3"]


def test_or_with_another_column_scans_everything(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = 1 OR name = 'x'")
    assert len(plan.targets) == 4


def test_contradiction_runs_on_one_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = 1 AND account_id = 2")
    assert len(plan.targets) == 1


def test_time_range_prunes_periods_across_a_year_boundary(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "SELECT * FROM audit WHERE created_at >= %s AND created_at < %s",
        ["2026-11-15", "2027-01-01"],
    )
    assert physical(plan, "audit") == ["audit_202611", "audit_202612"]
    # Periods after today + pre_create do not exist yet and are not scanned.
    plan = cluster.explain("SELECT * FROM audit WHERE created_at >= '2026-12-01'")
    assert physical(plan, "audit") == ["audit_202612", "audit_202701"]
    assert datasources(plan) == ["ds1", "ds0"]


def test_range_strategy_prunes_by_boundaries(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM invoices WHERE invoice_id BETWEEN 150 AND 250")
    assert physical(plan, "invoices") == ["invoices_1", "invoices_2"]
    plan = cluster.explain("SELECT * FROM invoices WHERE invoice_id < 100")
    assert physical(plan, "invoices") == ["invoices_0"]


def test_consistent_hash_keeps_the_logical_name(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM sessions WHERE session_id = %s", ["abc"])
    assert physical(plan, "sessions") == ["sessions"]


def test_tenant_tables_follow_the_tenant(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM orders WHERE id = %s", [1], tenant="acme")
    assert datasources(plan) == ["ds0"]
    # acme keeps its rows beside other tenants': the tenant condition is added.
    assert plan.targets[0].sql == "SELECT * FROM orders WHERE orders.tenant_id = %s AND id = %s"
    assert plan.targets[0].params == ("acme", 1)
    plan = cluster.explain("SELECT o.id FROM orders o", tenant="globex")
    assert datasources(plan) == ["ds1"]
    assert plan.targets[0].sql == "SELECT o.id FROM globex.orders o"
    assert plan.targets[0].tables == {"orders": "globex.orders"}


def test_schema_qualifies_unaliased_column_references(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT orders.id FROM orders WHERE orders.x = 1", tenant="globex")
    assert plan.targets[0].sql == "SELECT orders.id FROM globex.orders WHERE orders.x = 1"


def test_tenant_table_errors(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="tenant="):
        cluster.explain("SELECT * FROM orders")
    with pytest.raises(RoutingError, match="has no datasource"):
        cluster.explain("SELECT * FROM orders", tenant=tenantdb.Tenant(id="nowhere"))
    # The registry places a static tenant declared without a datasource by the hash ring.
    placed = cluster.tenants.get("nowhere").datasource
    assert placed == cluster.tenants.place("nowhere")
    assert cluster.explain("SELECT * FROM orders", tenant="nowhere").targets[0].datasource == placed
    with pytest.raises(UnknownTenantError, match="ghost"):
        cluster.explain("SELECT * FROM orders", tenant="ghost")


def test_admin_scan_of_tenant_tables_visits_every_datasource(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT COUNT(*) FROM orders", admin=True)
    # ds1 twice: its shared orders table, and schema-isolated globex's own.
    assert datasources(plan) == ["ds0", "ds1", "ds1"]
    assert [t.tables["orders"] for t in plan.targets] == ["orders", "orders", "globex.orders"]
    assert plan.merge is not None
    assert plan.merge.aggregates[0].kind == "count"


def test_binding_join_on_key_stays_inside_each_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "SELECT a.account_id, l.amount FROM accounts a JOIN ledger l "
        "ON l.account_id = a.account_id WHERE a.account_id = %s",
        [7],
    )
    assert plan.targets[0].tables == {"accounts": "accounts_3", "ledger": "ledger_3"}
    plan = cluster.explain("SELECT * FROM accounts JOIN ledger USING (account_id)")
    assert len(plan.targets) == 4
    assert {t.tables["ledger"][-1] for t in plan.targets} == {"0", "1", "2", "3"}
    for target in plan.targets:
        assert target.tables["accounts"][-1] == target.tables["ledger"][-1]


def test_key_conditions_on_any_bound_table_prune(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "SELECT * FROM accounts a JOIN ledger l ON l.account_id = a.account_id "
        "WHERE l.account_id = 2"
    )
    assert physical(plan, "accounts") == ["accounts_2"]


def test_cross_shard_joins_are_refused_with_the_reason(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="sharded differently"):
        cluster.explain("SELECT * FROM accounts a JOIN users u ON u.user_id = a.account_id")
    with pytest.raises(RoutingError, match="does not join on"):
        cluster.explain("SELECT * FROM accounts a JOIN ledger l ON l.id = a.id")
    with pytest.raises(RoutingError, match="does not join on"):
        cluster.explain("SELECT * FROM accounts a WHERE a.x IN (SELECT l.x FROM ledger l)")


def test_semijoin_and_correlated_subquery_on_the_key_are_local(
    cluster: tenantdb.Cluster,
) -> None:
    plan = cluster.explain(
        "SELECT * FROM accounts WHERE account_id IN (SELECT account_id FROM ledger WHERE x > 1)"
    )
    assert len(plan.targets) == 4
    plan = cluster.explain(
        "SELECT a.account_id, (SELECT SUM(l.amount) FROM ledger l "
        "WHERE l.account_id = a.account_id) FROM accounts a"
    )
    assert len(plan.targets) == 4


def test_broadcast_reads_one_copy_and_writes_all(cluster: tenantdb.Cluster) -> None:
    assert datasources(cluster.explain("SELECT * FROM countries")) == ["ds0"]
    write = cluster.explain("UPDATE countries SET name = %s WHERE code = %s", ["x", "y"])
    assert datasources(write) == ["ds0", "ds1"]
    join = cluster.explain(
        "SELECT * FROM users u JOIN countries c ON c.code = u.cc WHERE u.user_id = 3"
    )
    assert join.targets[0].tables["countries"] == "countries"


def test_single_and_unknown_tables(cluster: tenantdb.Cluster) -> None:
    assert datasources(cluster.explain("SELECT * FROM settings")) == ["ds1"]
    plan = cluster.explain("SELECT * FROM Unknown_Table")
    assert datasources(plan) == ["ds0"]
    assert plan.targets[0].sql == "SELECT * FROM Unknown_Table"
    with pytest.raises(RoutingError, match="different datasources"):
        cluster.explain("SELECT * FROM settings s JOIN unknown_table u ON u.id = s.id")


def test_multi_row_insert_is_split_per_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "INSERT INTO accounts (account_id, name) VALUES (%s, %s), (%s, %s), (%s, %s)",
        [1, "a", 2, "b", 5, "c"],
    )
    by_table = {t.tables["accounts"]: t for t in plan.targets}
    assert set(by_table) == {"accounts_1", "accounts_2"}
    assert by_table["accounts_1"].params == (1, "a", 5, "c")
    assert by_table["accounts_1"].sql == (
        "INSERT INTO accounts_1 (account_id, name) VALUES (%s, %s), (%s, %s)"
    )
    assert by_table["accounts_2"].params == (2, "b")


def test_insert_refusals_name_the_column(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="'account_id'"):
        cluster.explain("INSERT INTO accounts (name) VALUES ('x')")
    with pytest.raises(RoutingError, match="parameter or a literal"):
        cluster.explain("INSERT INTO accounts (account_id) VALUES (1 + 1)")
    with pytest.raises(RoutingError, match="NULL"):
        cluster.explain("INSERT INTO accounts (account_id) VALUES (%s)", [None])
    with pytest.raises(RoutingError, match="move the row"):
        cluster.explain(
            "INSERT INTO accounts (account_id) VALUES (1) "
            "ON CONFLICT (account_id) DO UPDATE SET account_id = 2"
        )


def test_writes_without_the_key_need_an_admin_session(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="without account_id would touch 4 shards"):
        cluster.explain("DELETE FROM accounts WHERE name = %s", ["x"])
    plan = cluster.explain("DELETE FROM accounts WHERE name = %s", ["x"], admin=True)
    assert len(plan.targets) == 4
    keyed = cluster.explain("UPDATE accounts SET name = 'x' WHERE account_id IN (1, 2)")
    assert len(keyed.targets) == 2


def test_update_that_moves_a_row_is_refused(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="another shard"):
        cluster.explain("UPDATE accounts SET account_id = 2 WHERE account_id = 1")
    same_shard = cluster.explain("UPDATE accounts SET account_id = 5 WHERE account_id = 1")
    assert physical(same_shard, "accounts") == ["accounts_1"]


def test_scatter_select_rewrites_limit_and_order(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "SELECT id FROM accounts ORDER BY created DESC LIMIT %s OFFSET %s", [10, 20]
    )
    assert len(plan.targets) == 4
    target = plan.targets[0]
    assert target.sql == (
        "SELECT id, created AS tdb_hidden_0 FROM accounts_0 ORDER BY created DESC LIMIT %s"
    )
    assert target.params == (30,)
    merge = plan.merge
    assert merge is not None
    assert (merge.limit, merge.offset, merge.hidden_columns) == (10, 20, 1)
    assert merge.order_by[0].column == 1
    assert merge.order_by[0].descending


def test_scatter_aggregates(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain(
        "SELECT kind, COUNT(*), AVG(v), MIN(v), MAX(v), SUM(v) FROM events GROUP BY kind, day"
    )
    assert plan.targets[0].sql.startswith(
        "SELECT kind, COUNT(*), AVG(v), MIN(v), MAX(v), SUM(v), SUM(v) AS tdb_hidden_0, "
        "COUNT(v) AS tdb_hidden_1, day AS tdb_hidden_2 FROM events_0"
    )
    merge = plan.merge
    assert merge is not None
    assert merge.group_by == (0, 8)
    kinds = [(a.column, a.kind, a.count_column) for a in merge.aggregates]
    assert kinds == [
        (1, "count", None),
        (2, "avg", 7),
        (3, "min", None),
        (4, "max", None),
        (5, "sum", None),
    ]


def test_unmergeable_shapes_are_refused_across_shards_only(cluster: tenantdb.Cluster) -> None:
    for sql in [
        "SELECT kind FROM events GROUP BY kind HAVING COUNT(*) > 1",
        "SELECT COUNT(DISTINCT kind) FROM events",
        "SELECT SUM(v) + 1 FROM events",
        "SELECT ROW_NUMBER() OVER (ORDER BY v) FROM events",
        "WITH c AS (SELECT COUNT(*) n FROM events) SELECT n FROM c",
        "SELECT * FROM (SELECT v FROM events ORDER BY v LIMIT 3) t",
    ]:
        with pytest.raises(UnsupportedSQLError):
            cluster.explain(sql)
    # The same shapes are fine when the key pins them to one shard.
    plan = cluster.explain(
        "SELECT kind FROM events WHERE user_id = 1 GROUP BY kind HAVING COUNT(*) > 1"
    )
    assert len(plan.targets) == 1


def test_ddl_needs_admin_and_fans_out(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="admin session"):
        cluster.explain("CREATE TABLE accounts (account_id INT)")
    plan = cluster.explain("ALTER TABLE accounts ADD COLUMN note TEXT", admin=True)
    assert physical(plan, "accounts") == [f"accounts_{i}" for i in range(4)]


def test_schema_qualified_configured_table_is_refused(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(RoutingError, match="logical table name"):
        cluster.explain("SELECT * FROM public.accounts WHERE account_id = 1")


def test_parameter_mismatches(cluster: tenantdb.Cluster) -> None:
    with pytest.raises(ProgrammingError, match="2 placeholders but 1"):
        cluster.explain("SELECT * FROM t WHERE a = %s AND b = %s", [1])
    with pytest.raises(ProgrammingError, match="no placeholders"):
        cluster.explain("SELECT 1", [1])
    with pytest.raises(ProgrammingError, match="missing"):
        cluster.explain("SELECT * FROM t WHERE a = %(a)s", {"b": 1})
    with pytest.raises(ProgrammingError, match="mapping"):
        cluster.explain("SELECT * FROM t WHERE a = %(a)s", [1])
    plan = cluster.explain("SELECT * FROM users WHERE user_id = %(u)s OR user_id = %(u)s", {"u": 9})
    assert plan.targets[0].params == (9, 9)


def test_mysql_limit_offset_comma_form(mysql_cluster: tenantdb.Cluster) -> None:
    plan = mysql_cluster.explain("SELECT id FROM accounts ORDER BY id LIMIT %s, %s", [5, 10])
    assert plan.merge is not None
    assert (plan.merge.offset, plan.merge.limit) == (5, 10)
    assert plan.targets[0].params == (15,)
    single = mysql_cluster.explain(
        "SELECT id FROM accounts WHERE account_id = 1 LIMIT %s, %s", [5, 10]
    )
    # One target: the author's text goes through unchanged.
    assert single.targets[0].sql.endswith("LIMIT %s, %s")
    assert single.targets[0].params == (5, 10)


def test_admin_insert_into_a_tenant_table_is_refused(cluster: tenantdb.Cluster) -> None:
    # An admin session has no tenant placement: sending the row everywhere would copy it
    # to every datasource.
    with pytest.raises(RoutingError, match=r"INSERT into orders .* cluster.session\(tenant="):
        cluster.explain(
            "INSERT INTO orders (tenant_id, id) VALUES (%s, %s)", ["acme", 1], admin=True
        )
    # Reads and keyed changes in admin sessions still visit every datasource.
    plan = cluster.explain("UPDATE orders SET total = 0 WHERE id = %s", [1], admin=True)
    schema_tenants = sum(t.isolation == "schema" for t in cluster.tenants.list())
    assert len(plan.targets) == len(cluster.config.datasources) + schema_tenants


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("INSERT INTO accounts (account_id, name) VALUES (NULL, 'a')", None),
        ("INSERT INTO accounts (account_id, name) VALUES ((NULL), 'a')", None),
        ("INSERT INTO accounts (account_id, name) VALUES (%s, 'a')", [None]),
        ("INSERT INTO accounts (account_id, name) VALUES (1, 'a'), (NULL, 'b')", None),
        ("UPDATE accounts SET account_id = NULL WHERE account_id = 1", None),
        ("UPDATE accounts SET account_id = %s WHERE account_id = 1", [None]),
    ],
)
def test_a_null_sharding_key_is_refused_as_null(
    cluster: tenantdb.Cluster, sql: str, params: list[object] | None
) -> None:
    # Not "must be a parameter or a literal": NULL is one, and it places no shard.
    with pytest.raises(RoutingError) as info:
        cluster.explain(sql, params, admin=True)
    message = str(info.value)
    assert message.startswith("accounts.account_id = NULL places no shard")
    assert "parameter or a literal" not in message
    assert "expression" not in message
