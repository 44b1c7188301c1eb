"""Adversarial statements for the tenant-isolation boundary, as data.

Every statement runs in a session of tenant ``a`` against the seed below (see
``conftest.py``). The data is chosen so that a missing tenant predicate shows in the
result: B's order items 101-103 point at A's orders 1-3, B's ids are A's ids + 100 and B's
amounts are A's + 1000, so a join, subquery or set operation that reaches B's rows returns
different rows than the same statement on a database that holds only A's rows.

Expectations (``Case.expect``):

``allow``
    Runs. B's rows (every row whose tenant_id is not ``a``, and the non-tenant tables) are
    unchanged, every ``tenant_id`` column returned is ``a`` and every ``id`` below 100.
    With ``oracle`` (the default) the returned rows, the row count of a write and A's rows
    afterwards must equal what the same statement gives on the *mirror*: a database
    holding only A's rows (tenant_id defaulting to ``a``). Without it, A's rows afterwards
    must equal the seed with ``a_changes`` applied.
``refuse``
    ``TenantIsolationError``, ``UnsupportedSQLError`` or (for text that does not parse)
    ``SQLSyntaxError``, with a message that says what to change; nothing changes.
``either``
    The contract lets tenantdb refuse the shape (as for ``refuse``) or run it correctly (as
    for ``allow``).
``no_leak``
    Refused, or a driver error (a ``tenantdb.DatabaseError``; e.g. a quoted ``"ORDERS"`` on
    PostgreSQL names a table that does not exist), or run with the ``allow`` checks
    (without the oracle).

``dialects`` limits a statement to the backends whose SQL it is written in. This module
imports only the standard library: the front-end fuzz test loads it by path.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Params = Sequence[Any] | Mapping[str, Any] | None
Row = tuple[Any, ...]

ALLOW = "allow"
REFUSE = "refuse"
EITHER = "either"
NO_LEAK = "no_leak"

ALL = frozenset({"sqlite", "postgres", "mysql"})
PG = frozenset({"postgres"})
MY = frozenset({"mysql"})
LITE = frozenset({"sqlite"})
PG_LITE = PG | LITE
PG_MY = PG | MY
MY_LITE = MY | LITE

TENANT = "a"
OTHER = "b"
#: Tenant ids that must survive quoting: each is a static tenant with one seeded order.
UNUSUAL_IDS = ("o'brien", "x'; DROP TABLE orders; --", 'a"b', "ünï", "😀", "a\\b", "--", "/*")
#: Ids that differ from a seeded id only in case, accents, the emoji or trailing space:
#: equal to it under MariaDB's default ``utf8mb4_general_ci`` (PAD SPACE) collation.
TWIN_IDS = {"A": "a", "uni": "ünï", "😁": "😀", "a ": "a"}

#: ``notes`` is a ``single`` table declared ``tenant_scoped = true``.
TENANT_TABLES = ("orders", "order_items", "notes")
SHARED_TABLES = ("countries", "settings")
TABLES = TENANT_TABLES + SHARED_TABLES


def _seed() -> dict[str, list[Row]]:
    orders: list[Row] = [(i, TENANT, 10 * i, f"a{i}") for i in range(1, 6)]
    orders += [(100 + i, OTHER, 1000 + 10 * i, f"b{i}") for i in range(1, 6)]
    # A note that reads like a tenant id: a predicate moved onto ``note`` would match it.
    orders.append((106, OTHER, 1060, TENANT))
    orders += [(200 + k, t, 2000 + k, f"u{k}") for k, t in enumerate(UNUSUAL_IDS, 1)]
    items: list[Row] = [(i, TENANT, i, f"sku{i}") for i in range(1, 6)]
    # B's items 101-103 point at A's orders: a join that forgets B's predicate finds them.
    items += [(100 + i, OTHER, i if i <= 3 else 100 + i, f"sku{100 + i}") for i in range(1, 6)]
    notes: list[Row] = [(1, TENANT, "a-note1"), (2, TENANT, "a-note2")]
    notes += [(101, OTHER, "b-note1"), (102, OTHER, "b-note2")]
    return {
        "orders": orders,
        "order_items": items,
        "notes": notes,
        "countries": [("de", "Germany"), ("fr", "France")],
        "settings": [("mode", "live"), ("plan", "gold")],
    }


#: Rows of every table, in column order (``COLUMNS``).
SEED: dict[str, list[Row]] = _seed()
COLUMNS = {
    "orders": ("id", "tenant_id", "amount", "note"),
    "order_items": ("id", "tenant_id", "order_id", "sku"),
    "notes": ("id", "tenant_id", "body"),
    "countries": ("code", "name"),
    "settings": ("name", "value"),
}
#: An application table that exists in the database but not in the configuration.
UNDECLARED = ("secrets", ("id", "value"), [(1, "b-secret")])

#: A file name no run has used: INTO OUTFILE must never create it.
OUTFILE = f"/tmp/tenantdb-isolation-{secrets.token_hex(6)}.txt"


@dataclass(frozen=True)
class Case:
    name: str
    sql: str
    params: Params = None
    expect: str = ALLOW
    dialects: frozenset[str] = ALL
    oracle: bool = True
    ordered: bool = False
    #: Without the oracle: A's rows that change (id → new row, None: deleted); the rest of
    #: A's rows must stay as seeded.
    a_changes: Mapping[str, Mapping[int, Row | None]] = field(default_factory=dict)
    #: False when A's rows afterwards legitimately depend on the backend's reading of the
    #: statement (B's rows are checked regardless).
    check_a: bool = True
    why: str = ""


CASES: list[Case] = []


def _add(expect: str, name: str, sql: str, params: Params = None, **kw: Any) -> None:
    CASES.append(Case(name=name, sql=sql, params=params, expect=expect, **kw))


def allow(name: str, sql: str, params: Params = None, **kw: Any) -> None:
    _add(ALLOW, name, sql, params, **kw)


def refuse(name: str, sql: str, params: Params = None, **kw: Any) -> None:
    _add(REFUSE, name, sql, params, **kw)


def either(name: str, sql: str, params: Params = None, **kw: Any) -> None:
    _add(EITHER, name, sql, params, **kw)


def no_leak(name: str, sql: str, params: Params = None, **kw: Any) -> None:
    _add(NO_LEAK, name, sql, params, oracle=False, **kw)


SEL = "SELECT tenant_id, id FROM orders"

# --- tautologies and OR widening ---------------------------------------------------------
allow("select_all", "SELECT tenant_id, id, amount, note FROM orders")
allow("where_1_eq_1", f"{SEL} WHERE 1=1")
allow("or_1_eq_1", f"{SEL} WHERE id = 1 OR 1=1")
allow("or_tenant_b", f"{SEL} WHERE id = 1 OR tenant_id = 'b'")
allow("or_tenant_ne_a", f"{SEL} WHERE id = 1 OR tenant_id <> 'a'")
allow("or_true", f"{SEL} WHERE id = 1 OR TRUE")
allow("or_not_id", f"{SEL} WHERE id = 1 OR NOT (id = 1)")
allow("tenant_eq_b", f"{SEL} WHERE tenant_id = 'b'")
allow("tenant_param_b", f"{SEL} WHERE tenant_id = %s", ("b",))
allow("tenant_in_a_b", f"{SEL} WHERE tenant_id IN ('a', 'b')")
allow("nested_paren_or", f"{SEL} WHERE (id = 1 OR (tenant_id = 'b' AND (1=1 OR id < 0)))")
allow("not_of_own_predicate", f"{SEL} WHERE NOT (tenant_id = 'a' AND id < 100)")
allow("not_not_or", f"{SEL} WHERE NOT (NOT (id = 2 OR 1=1))")
allow("or_is_null", f"{SEL} WHERE tenant_id IS NULL OR tenant_id IS NOT NULL")
allow("like_any_param", f"{SEL} WHERE tenant_id LIKE %s", ("%",))
allow("tenant_between", f"{SEL} WHERE tenant_id BETWEEN 'a' AND 'z'")
allow("case_when_b", f"{SEL} WHERE CASE WHEN tenant_id = 'b' THEN 1 ELSE 0 END = 1")
allow("coalesce_tautology", f"{SEL} WHERE COALESCE(tenant_id, 'x') <> 'zzz'")
allow("or_params_b", f"{SEL} WHERE id = %s OR tenant_id = %s", (1, "b"))
allow("named_params_b", f"{SEL} WHERE id = %(id)s OR tenant_id = %(t)s", {"id": 1, "t": "b"})
allow("id_of_b", f"{SEL} WHERE id = 101")
allow("ids_of_b_in", f"{SEL} WHERE id IN (101, 102, %s)", (103,))
allow("id_range_of_b", f"{SEL} WHERE id > 100")
allow("and_or_precedence", f"{SEL} WHERE id = 1 AND id = 2 OR tenant_id = 'b' OR 1 = 1")

# --- comments ------------------------------------------------------------------------------
allow("line_comment_tail", f"{SEL} WHERE id = 1 -- AND tenant_id = 'a'")
allow("block_comment_mid", f"{SEL} /* WHERE tenant_id = 'a' */ WHERE id > 0 OR 1=1")
allow("comment_hides_delete", f"{SEL} -- ; DELETE FROM orders")
allow("block_hides_delete", f"{SEL} /* ; DELETE FROM orders */")
allow("comment_then_newline_or", f"{SEL} WHERE id = 1 -- x\nOR 1=1")
allow("hash_comment", f"{SEL} WHERE id = 1 # OR 1=1", dialects=MY)
either(
    "mysql_exec_comment_or",
    f"{SEL} WHERE id = 1 /*! OR 1=1 */",
    dialects=MY,
    oracle=False,
    why="MySQL runs /*! ... */; a predicate appended after it must still bind",
)
either(
    "mysql_exec_comment_union",
    f"{SEL} WHERE id = 1 /*!50000 UNION SELECT tenant_id, id FROM orders */",
    dialects=MY,
    oracle=False,
)
either(
    "mariadb_exec_comment_or",
    f"{SEL} WHERE id = 1 /*M! OR tenant_id = 'b' */",
    dialects=MY,
    oracle=False,
)
either(
    "mysql_exec_comment_delete",
    "DELETE FROM orders WHERE id = 1 /*! OR 1=1 */",
    dialects=MY,
    oracle=False,
    check_a=False,
    why="either A's row 1 only or all of A's rows may go (MySQL runs the comment); never B's",
)

# --- stacked statements ----------------------------------------------------------------------
refuse("stacked_delete", f"{SEL}; DELETE FROM orders")
refuse("stacked_after_comment", "SELECT 1 /* x */; DELETE FROM orders WHERE tenant_id = 'b'")
refuse("stacked_drop", "DELETE FROM orders WHERE id = 1; DROP TABLE orders")
refuse("stacked_selects", "SELECT 1; SELECT 2")
refuse(
    "stacked_with_params",
    f"{SEL} WHERE id = %s; UPDATE orders SET note = %s WHERE tenant_id = 'b'",
    (1, "SECRET-stacked-7f3a"),
)
refuse("stacked_newline", f"{SEL}\n;\nUPDATE orders SET amount = 0")

# --- set operations --------------------------------------------------------------------------
allow("union_two_tables", f"{SEL} UNION SELECT tenant_id, id FROM order_items")
allow(
    "union_all_b_branch",
    f"{SEL} WHERE id < 3 UNION ALL SELECT tenant_id, id FROM orders WHERE tenant_id = 'b'",
)
allow("union_broadcast", "SELECT note FROM orders UNION SELECT name FROM countries")
allow("intersect_leak_probe", "SELECT id - 100 FROM order_items INTERSECT SELECT id FROM orders")
allow("except_leak_probe", "SELECT id FROM orders EXCEPT SELECT id - 100 FROM orders")
allow(
    "union_in_derived",
    "SELECT x.tenant_id, x.id FROM (SELECT tenant_id, id FROM orders "
    "UNION ALL SELECT tenant_id, id FROM order_items) x",
)
allow(
    "union_params_b",
    f"{SEL} WHERE tenant_id = %s UNION SELECT tenant_id, id FROM order_items WHERE tenant_id = %s",
    ("b", "b"),
)
allow(
    "union_parenthesized",
    f"({SEL} WHERE id = 1) UNION (SELECT tenant_id, id FROM orders WHERE id = 101 OR 1=1)",
    dialects=PG_MY,
)
allow(
    "union_order_limit",
    f"{SEL} UNION ALL SELECT tenant_id, id FROM order_items ORDER BY 2 DESC, 1 LIMIT 3",
    ordered=True,
)
allow(
    "union_three_branches",
    f"{SEL} WHERE id = 1 UNION SELECT tenant_id, id FROM orders WHERE id = 102 "
    "UNION SELECT tenant_id, order_id FROM order_items WHERE id > 100",
)

# --- subqueries --------------------------------------------------------------------------------
allow("in_subquery", f"{SEL} WHERE id IN (SELECT order_id FROM order_items WHERE id > 100)")
allow("not_in_subquery", f"{SEL} WHERE id NOT IN (SELECT order_id FROM order_items WHERE id > 100)")
allow(
    "exists_correlated",
    f"{SEL} WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = orders.id AND i.id > 100)",
)
allow(
    "not_exists_correlated",
    f"{SEL} WHERE NOT EXISTS "
    "(SELECT 1 FROM order_items i WHERE i.order_id = orders.id AND i.id > 100)",
)
allow(
    "scalar_in_select", "SELECT tenant_id, id, (SELECT count(*) FROM order_items) AS n FROM orders"
)
allow("scalar_in_where", f"{SEL} WHERE amount < (SELECT max(amount) FROM orders)")
allow(
    "correlated_scalar",
    "SELECT o.tenant_id, o.id, (SELECT max(i.sku) FROM order_items i WHERE i.order_id = o.id) "
    "FROM orders o",
)
allow("exists_b_rows", f"{SEL} WHERE EXISTS (SELECT 1 FROM orders b WHERE b.tenant_id = 'b')")
allow("scalar_no_from", "SELECT (SELECT sum(amount) FROM orders WHERE tenant_id = 'b')")
allow("scalar_count_no_from", "SELECT (SELECT count(*) FROM orders)")
allow(
    "nested_three_levels",
    f"{SEL} WHERE id IN (SELECT order_id FROM order_items WHERE order_id IN "
    "(SELECT id FROM orders WHERE amount > 1000 OR id IN (SELECT order_id FROM order_items)))",
)
allow(
    "any_subquery", f"{SEL} WHERE amount = ANY (SELECT amount - 1000 FROM orders)", dialects=PG_MY
)
allow(
    "having_subquery",
    "SELECT tenant_id, count(*) FROM orders GROUP BY tenant_id "
    "HAVING count(*) > (SELECT count(*) FROM order_items WHERE id > 100)",
)
allow(
    "subquery_in_join_on",
    "SELECT o.tenant_id, o.id FROM orders o JOIN order_items i ON i.order_id = o.id "
    "AND i.id IN (SELECT id FROM order_items WHERE id > 100)",
)
allow(
    "derived_limit_join",
    "SELECT o.tenant_id, o.id FROM orders o JOIN "
    "(SELECT order_id FROM order_items ORDER BY id DESC LIMIT 1) x ON x.order_id = o.id",
)
allow(
    "subquery_param_b",
    f"{SEL} WHERE id IN (SELECT id - 100 FROM orders WHERE tenant_id = %s)",
    ("b",),
)

# --- CTEs ---------------------------------------------------------------------------------------
allow("cte_plain", "WITH x AS (SELECT tenant_id, id FROM orders) SELECT tenant_id, id FROM x")
allow(
    "cte_b_rows",
    "WITH x AS (SELECT tenant_id, id FROM orders WHERE tenant_id = 'b') "
    "SELECT tenant_id, id FROM x",
)
allow(
    "cte_nested",
    "WITH x AS (SELECT id FROM orders), y AS (SELECT id FROM x WHERE id > 0 "
    "UNION ALL SELECT id - 100 FROM order_items) SELECT id FROM y",
)
allow(
    "cte_in_subquery",
    f"{SEL} WHERE id IN (WITH z AS (SELECT order_id FROM order_items WHERE id > 100) "
    "SELECT order_id FROM z)",
    dialects=PG_LITE,
)
either(
    "cte_shadows_table",
    "WITH orders AS (SELECT tenant_id, id FROM order_items) SELECT tenant_id, id FROM orders",
    why="a CTE named like a tenant table; its body must still be confined",
)
either(
    "cte_shadows_without_tenant_column",
    "WITH orders AS (SELECT id FROM order_items) SELECT id FROM orders",
)
either(
    "cte_shadows_with_b_rows",
    "WITH order_items AS (SELECT tenant_id, id, id AS order_id FROM orders "
    "WHERE tenant_id = 'b' OR 1=1) SELECT tenant_id, id FROM order_items",
)
allow(
    "cte_recursive_counter",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
    "SELECT o.tenant_id, o.id FROM orders o JOIN r ON r.n = o.id",
)
allow(
    "cte_recursive_walk",
    "WITH RECURSIVE r(id) AS (SELECT id FROM orders WHERE id = 1 "
    "UNION ALL SELECT o.id FROM orders o JOIN r ON o.id = r.id + 100) SELECT id FROM r",
)
allow(
    "cte_delete",
    "WITH x AS (SELECT id - 100 AS id FROM orders) DELETE FROM orders WHERE id IN "
    "(SELECT id FROM x)",
    dialects=PG_LITE,
)
allow(
    "cte_update",
    "WITH x AS (SELECT order_id FROM order_items WHERE id > 100) "
    "UPDATE orders SET note = 'hit' WHERE id IN (SELECT order_id FROM x)",
    dialects=PG_LITE,
)
either(
    "pg_cte_delete_returning",
    "WITH d AS (DELETE FROM orders WHERE id = 101 OR id = 1 RETURNING tenant_id, id) "
    "SELECT tenant_id, id FROM d",
    dialects=PG,
)
either(
    "pg_cte_update_returning",
    "WITH u AS (UPDATE orders SET amount = 0 RETURNING tenant_id, id) SELECT tenant_id, id FROM u",
    dialects=PG,
)

# --- derived tables -------------------------------------------------------------------------------
allow("derived_plain", "SELECT x.tenant_id, x.id FROM (SELECT tenant_id, id FROM orders) x")
allow(
    "derived_or_widening",
    "SELECT x.tenant_id, x.id FROM (SELECT tenant_id, id FROM orders "
    "WHERE tenant_id = 'b' OR 1=1) AS x WHERE x.id > 0",
)
allow(
    "derived_grouped_join",
    "SELECT o.tenant_id, o.id, x.n FROM orders o JOIN (SELECT order_id, count(*) AS n "
    "FROM order_items GROUP BY order_id) x ON x.order_id = o.id",
)
allow(
    "derived_of_derived",
    "SELECT y.tenant_id, y.id FROM (SELECT x.tenant_id, x.id FROM "
    "(SELECT tenant_id, id FROM order_items) x WHERE x.id > 0) y",
)
either(
    "pg_lateral",
    "SELECT o.tenant_id, o.id, x.sku FROM orders o CROSS JOIN LATERAL "
    "(SELECT sku FROM order_items i WHERE i.order_id = o.id) x",
    dialects=PG,
)

# --- joins ------------------------------------------------------------------------------------
allow(
    "inner_join",
    "SELECT o.tenant_id, o.id, i.tenant_id, i.id FROM orders o JOIN order_items i "
    "ON i.order_id = o.id",
)
allow(
    "left_join",
    "SELECT o.id, i.id, i.tenant_id FROM orders o LEFT JOIN order_items i ON i.order_id = o.id",
)
allow(
    "left_join_is_null",
    "SELECT o.tenant_id, o.id FROM orders o LEFT JOIN order_items i "
    "ON i.order_id = o.id AND i.id > 100 WHERE i.id IS NULL",
    why="the right side's predicate belongs in ON: in WHERE it would drop every row",
)
allow("cross_join", "SELECT o.id, i.id FROM orders o CROSS JOIN order_items i")
allow("comma_join", "SELECT o.id, i.id FROM orders o, order_items i WHERE o.id = i.order_id")
allow("comma_join_count", "SELECT count(*) FROM orders, order_items")
allow(
    "self_join",
    "SELECT x.tenant_id, x.id, y.tenant_id, y.id FROM orders x JOIN orders y ON y.id = x.id + 100",
)
allow(
    "self_join_unaliased",
    "SELECT orders.id, o2.id FROM orders JOIN orders o2 ON o2.amount = orders.amount + 1000",
)
allow("join_broadcast", "SELECT o.id, c.name FROM orders o CROSS JOIN countries c WHERE o.id = 1")
allow("join_using_inner", "SELECT id FROM orders JOIN order_items USING (id)")
either("natural_join", "SELECT id FROM orders NATURAL JOIN order_items")
either(
    "left_join_using",
    "SELECT id, order_id FROM orders LEFT JOIN order_items USING (id)",
)
either(
    "right_join",
    "SELECT o.id, i.id, i.tenant_id FROM orders o RIGHT JOIN order_items i ON i.order_id = o.id",
)
either(
    "full_join",
    "SELECT o.id, i.id FROM orders o FULL JOIN order_items i ON i.order_id = o.id",
    dialects=PG_LITE,
)
allow(
    "join_on_other_tenant",
    "SELECT o.id, i.id FROM orders o JOIN order_items i ON i.tenant_id <> o.tenant_id",
)
allow(
    "join_on_or_true",
    "SELECT o.id, i.id FROM orders o JOIN order_items i ON i.order_id = o.id OR 1=1",
)
allow(
    "three_way_join",
    "SELECT a1.tenant_id, a1.id, i.id, a2.id FROM orders a1 JOIN order_items i "
    "ON i.order_id = a1.id JOIN orders a2 ON a2.id = i.order_id + 100",
)
allow("alias_named_like_table", "SELECT orders.tenant_id, orders.id FROM order_items AS orders")
allow(
    "swapped_aliases",
    "SELECT order_items.id, orders.id FROM orders AS order_items "
    "JOIN order_items AS orders ON orders.order_id = order_items.id",
)
allow(
    "left_join_subquery_right",
    "SELECT o.tenant_id, o.id, x.id FROM orders o LEFT JOIN "
    "(SELECT id, order_id FROM order_items WHERE id > 100) x ON x.order_id = o.id",
)

# --- quoting and case of names -------------------------------------------------------------------
allow("quoted_table", 'SELECT tenant_id, id FROM "orders"', dialects=PG_LITE)
allow("upper_table", "SELECT tenant_id, id FROM ORDERS", dialects=PG_LITE)
no_leak("upper_table_mysql", "SELECT tenant_id, id FROM ORDERS", dialects=MY)
allow("backtick_table", "SELECT tenant_id, id FROM `orders`", dialects=MY)
no_leak("backtick_upper_table", "SELECT tenant_id, id FROM `ORDERS`", dialects=MY)
no_leak("quoted_upper_table", 'SELECT tenant_id, id FROM "ORDERS"', dialects=PG_LITE)
no_leak("quoted_mixed_table", 'SELECT tenant_id, id FROM "Orders" WHERE 1=1', dialects=PG_LITE)
allow(
    "quoted_columns",
    'SELECT "tenant_id", "id" FROM orders WHERE "tenant_id" = \'b\' OR 1=1',
    dialects=PG_LITE,
)
allow("mixed_case_keywords", "sElEcT TENANT_ID, Id fRoM orders wHeRe 1=1 Or TeNaNt_Id = 'b'")
allow("whitespace", "SELECT\ttenant_id,\nid\nFROM\n\torders\nWHERE\n1=1")
allow(
    "quoted_alias",
    'SELECT "o".tenant_id, "o".id FROM orders AS "o" WHERE "o".id > 0 OR 1=1',
    dialects=PG_LITE,
)

# --- schema-qualified names -----------------------------------------------------------------------
refuse("schema_public", "SELECT tenant_id, id FROM public.orders")
refuse("schema_b", "SELECT tenant_id, id FROM b.orders")
refuse("schema_main", "SELECT tenant_id, id FROM main.orders")
refuse("information_schema_tables", "SELECT table_name FROM information_schema.tables")
refuse("information_schema_columns", "SELECT column_name FROM information_schema.columns")
refuse("quoted_schema", 'SELECT tenant_id, id FROM "public"."orders"', dialects=PG_LITE)
refuse("backtick_schema", "SELECT tenant_id, id FROM `b`.`orders`", dialects=MY)
refuse("mysql_user", "SELECT user FROM mysql.user")
refuse("schema_in_subquery", f"{SEL} WHERE id IN (SELECT id FROM public.orders)")
refuse("schema_in_join", "SELECT o.id FROM orders o JOIN main.order_items i ON i.order_id = o.id")
refuse("pg_catalog_qualified", "SELECT relname FROM pg_catalog.pg_class")
refuse("schema_in_insert", "INSERT INTO public.orders (id, amount) VALUES (40, 1)")
refuse("schema_in_update", "UPDATE main.orders SET amount = 0")
refuse("schema_in_delete", "DELETE FROM b.orders")

# --- system catalogs and undeclared tables -------------------------------------------------------
refuse("pg_class", "SELECT relname FROM pg_class")
refuse("pg_user", "SELECT usename FROM pg_user")
refuse("pg_stat_activity", "SELECT query FROM pg_stat_activity")
refuse("sqlite_master", "SELECT name, sql FROM sqlite_master")
refuse("pragma_function_table", "SELECT name FROM pragma_table_info('orders')", dialects=LITE)
refuse("undeclared_table", "SELECT id, value FROM secrets")
refuse("undeclared_in_subquery", f"{SEL} WHERE EXISTS (SELECT 1 FROM secrets)")
refuse("undeclared_in_cte", "WITH s AS (SELECT id, value FROM secrets) SELECT id, value FROM s")
refuse("undeclared_in_union", f"{SEL} UNION SELECT value, id FROM secrets")
refuse("undeclared_insert", "INSERT INTO secrets (id, value) VALUES (9, 'x')")
refuse("undeclared_join", "SELECT o.id, s.value FROM orders o JOIN secrets s ON s.id = o.id")

# --- functions --------------------------------------------------------------------------------
refuse("pg_read_file", "SELECT pg_read_file('/etc/hostname')")
refuse("pg_ls_dir", "SELECT pg_ls_dir('.')")
refuse("dblink", "SELECT dblink('dbname=postgres', 'SELECT 1')")
refuse("lo_import", "SELECT lo_import('/etc/hostname')")
refuse("current_setting", "SELECT current_setting('search_path')")
refuse("set_config", "SELECT set_config('search_path', 'b', false)", dialects=PG)
refuse("pg_sleep", "SELECT pg_sleep(0.01)")
refuse("sleep", "SELECT sleep(0.01)")
refuse("benchmark", "SELECT benchmark(10, md5('a'))")
refuse("load_file", "SELECT load_file('/etc/hostname')")
refuse("load_extension", "SELECT load_extension('does_not_exist')")
refuse("get_lock", "SELECT get_lock('tenantdb-isolation', 0)")
refuse("function_in_where", f"{SEL} WHERE id = 1 OR pg_sleep(0) IS NULL")
refuse("function_in_subquery", f"{SEL} WHERE id IN (SELECT sleep(0) FROM order_items)")
refuse(
    "function_in_insert",
    "INSERT INTO orders (id, amount, note) VALUES (41, 1, current_setting('server_version'))",
)
refuse("function_in_update", "UPDATE orders SET note = load_file('/etc/hostname') WHERE id = 1")
refuse("function_uppercase", "SELECT PG_SLEEP(0)")
refuse("function_in_order_by", f"{SEL} ORDER BY benchmark(1, 1)")
allow(
    "standard_functions",
    "SELECT lower(tenant_id), count(*), sum(amount), coalesce(max(note), 'x') "
    "FROM orders GROUP BY lower(tenant_id)",
)
allow(
    "scalar_functions", "SELECT tenant_id, id, upper(note), length(note), abs(amount) FROM orders"
)
allow("current_timestamp", "SELECT count(*) FROM orders WHERE CURRENT_TIMESTAMP IS NOT NULL")
allow("now", "SELECT count(*) FROM orders WHERE now() IS NOT NULL", dialects=PG_MY)

# --- INTO, files and variables ----------------------------------------------------------------
refuse("select_into_table", "SELECT tenant_id, id INTO stolen FROM orders", dialects=PG)
refuse("select_into_var", "SELECT id FROM orders WHERE id = 1 INTO @x", dialects=MY)
refuse("into_outfile", f"SELECT tenant_id, id FROM orders INTO OUTFILE '{OUTFILE}'", dialects=MY)
refuse("into_dumpfile", f"SELECT note FROM orders LIMIT 1 INTO DUMPFILE '{OUTFILE}'", dialects=MY)
refuse("session_variable", f"{SEL} WHERE id = @x", dialects=MY)
refuse("system_variable", "SELECT @@version", dialects=MY)
refuse("global_variable", "SELECT @@global.secure_file_priv", dialects=MY)
refuse("assign_variable", "SELECT @x := 1", dialects=MY)

# --- non-DML statements -----------------------------------------------------------------------
refuse("set_search_path", "SET search_path TO b")
refuse("set_session_var", "SET @x = 1", dialects=MY)
refuse("set_sql_mode", "SET sql_mode = ''", dialects=MY)
refuse("reset", "RESET search_path", dialects=PG)
refuse("show_tables", "SHOW TABLES", dialects=MY)
refuse("show_setting", "SHOW search_path", dialects=PG)
refuse("pragma", "PRAGMA table_info(orders)")
refuse("pragma_writable_schema", "PRAGMA writable_schema = 1", dialects=LITE)
refuse("copy_to_stdout", "COPY orders TO STDOUT", dialects=PG)
refuse("copy_query", "COPY (SELECT * FROM orders) TO STDOUT", dialects=PG)
refuse("call", "CALL do_something()")
refuse("explain", "EXPLAIN SELECT tenant_id, id FROM orders")
refuse("lock_table", "LOCK TABLE orders", dialects=PG)
refuse("lock_tables", "LOCK TABLES orders WRITE", dialects=MY)
refuse("grant", "GRANT SELECT ON orders TO PUBLIC", dialects=PG)
refuse("begin", "BEGIN")
refuse("vacuum", "VACUUM", dialects=PG_LITE)
refuse("analyze", "ANALYZE orders")
refuse("do_block", "DO $$ BEGIN DELETE FROM orders; END $$", dialects=PG)
refuse("prepare", "PREPARE s AS SELECT tenant_id, id FROM orders", dialects=PG)
refuse("attach", "ATTACH DATABASE ':memory:' AS other", dialects=LITE)
refuse("use_database", "USE mysql", dialects=MY)
refuse("handler", "HANDLER orders OPEN", dialects=MY)

# --- DDL --------------------------------------------------------------------------------------
refuse("truncate", "TRUNCATE TABLE orders", dialects=PG_MY)
refuse("drop_table", "DROP TABLE orders")
refuse("create_table", "CREATE TABLE evil (id INT)")
refuse("create_table_as", "CREATE TABLE evil AS SELECT tenant_id, id FROM orders")
refuse("alter_table", "ALTER TABLE orders ADD COLUMN evil INT")
refuse("create_index", "CREATE INDEX ix_evil ON orders (amount)")
refuse("create_view", "CREATE VIEW v_evil AS SELECT tenant_id, id FROM orders")
refuse("create_temp_table", "CREATE TEMPORARY TABLE evil AS SELECT tenant_id, id FROM orders")
refuse("drop_if_exists", "DROP TABLE IF EXISTS order_items")

# --- tenant column in UPDATE ------------------------------------------------------------------
refuse("update_tenant_to_b", "UPDATE orders SET tenant_id = 'b' WHERE id = 1")
refuse("update_tenant_to_own", "UPDATE orders SET tenant_id = 'a'")
refuse("update_tenant_param", "UPDATE orders SET tenant_id = %s WHERE id = %s", ("b", 1))
refuse("update_tenant_upper_column", "UPDATE orders SET amount = 1, TENANT_ID = 'b'")
refuse("update_tenant_self", "UPDATE order_items SET tenant_id = tenant_id")
refuse("update_tenant_quoted", "UPDATE orders SET \"tenant_id\" = 'b'", dialects=PG_LITE)
refuse(
    "update_tenant_qualified", "UPDATE orders o SET o.tenant_id = 'b' WHERE o.id = 1", dialects=MY
)
refuse(
    "update_tenant_multi_table",
    "UPDATE orders o JOIN order_items i ON i.order_id = o.id SET i.tenant_id = 'b'",
    dialects=MY,
)
refuse(
    "update_tenant_from",
    "UPDATE order_items SET tenant_id = o.tenant_id FROM orders o "
    "WHERE o.id = order_items.order_id",
    dialects=PG_LITE,
)
refuse("update_tenant_subquery", "UPDATE orders SET tenant_id = (SELECT 'b')")

# --- UPDATE / DELETE widening -----------------------------------------------------------------
allow("update_all", "UPDATE orders SET amount = amount + 1")
allow("update_or_true", "UPDATE orders SET note = 'x' WHERE id = 1 OR 1=1")
allow("update_or_tenant_b", "UPDATE orders SET note = 'x' WHERE tenant_id = 'b' OR id = 2")
allow("update_not_own", "UPDATE orders SET note = 'x' WHERE NOT (tenant_id = 'a')")
allow(
    "update_params_b",
    "UPDATE orders SET note = %s WHERE id = %s OR tenant_id = %s",
    ("x", 1, "b"),
)
allow("update_scalar_subquery", "UPDATE orders SET amount = (SELECT count(*) FROM order_items)")
allow(
    "update_in_subquery",
    "UPDATE orders SET note = 'x' WHERE id IN (SELECT order_id FROM order_items WHERE id > 100)",
)
allow("update_id_of_b", "UPDATE orders SET note = 'x' WHERE id = 101")
allow(
    "update_items_exists",
    "UPDATE order_items SET sku = 'x' WHERE EXISTS "
    "(SELECT 1 FROM orders o WHERE o.id = order_items.order_id)",
)
allow("update_alias_or", "UPDATE orders AS o SET amount = 0 WHERE o.id = 1 OR 1 = 1")
allow("update_order_limit", "UPDATE orders SET note = 'x' ORDER BY id DESC LIMIT 1", dialects=MY)
no_leak("update_id_onto_b", "UPDATE orders SET id = 101 WHERE id = 1")
either(
    "sqlite_update_or_replace",
    "UPDATE OR REPLACE orders SET id = 101 WHERE id = 1",
    dialects=LITE,
    oracle=False,
    a_changes={"orders": {1: None, 101: (101, "a", 10, "a1")}},
    why="OR REPLACE deletes the conflicting row: B's 101",
)
allow("delete_all", "DELETE FROM orders")
allow("delete_1_eq_1", "DELETE FROM orders WHERE 1=1")
allow("delete_or_tenant_b", "DELETE FROM orders WHERE id = 1 OR tenant_id = 'b'")
allow("delete_ids_of_b", "DELETE FROM orders WHERE id > 100")
allow("delete_not", "DELETE FROM orders WHERE NOT (id = 1)")
allow("delete_in_subquery", "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders)")
allow(
    "delete_not_exists",
    "DELETE FROM orders WHERE NOT EXISTS "
    "(SELECT 1 FROM order_items i WHERE i.order_id = orders.id AND i.id > 100)",
)
allow("delete_params_b", "DELETE FROM orders WHERE id = %s OR tenant_id = %s", (1, "b"))
allow("delete_order_limit", "DELETE FROM orders ORDER BY id LIMIT 1", dialects=MY)
allow("delete_alias", "DELETE FROM orders AS o WHERE o.id > 0", dialects=PG_LITE)

# --- UPDATE ... FROM, multi-table UPDATE/DELETE -----------------------------------------------
allow(
    "update_from",
    "UPDATE orders SET amount = i.id FROM order_items i WHERE i.order_id = orders.id",
    dialects=PG_LITE,
)
allow(
    "update_from_b_filter",
    "UPDATE order_items SET sku = 'x' FROM orders o WHERE o.id = order_items.order_id "
    "AND o.tenant_id = 'b'",
    dialects=PG_LITE,
)
allow(
    "update_from_copies_b",
    "UPDATE order_items SET sku = o.note FROM orders o WHERE o.id = order_items.order_id + 100",
    dialects=PG_LITE,
    why="would copy B's notes into A's items",
)
allow(
    "delete_using",
    "DELETE FROM order_items USING orders o WHERE o.id = order_items.order_id + 100",
    dialects=PG,
)
allow(
    "delete_using_items",
    "DELETE FROM orders USING order_items i WHERE i.order_id = orders.id AND i.id > 100",
    dialects=PG,
)
allow(
    "multi_update_join",
    "UPDATE orders o JOIN order_items i ON i.order_id = o.id SET o.amount = i.id",
    dialects=MY,
)
allow(
    "multi_update_copies_b",
    "UPDATE order_items i JOIN orders o ON o.id = i.order_id + 100 SET i.sku = o.note",
    dialects=MY,
)
allow(
    "multi_update_comma",
    "UPDATE orders o, order_items i SET i.sku = 'x' WHERE i.order_id = o.id",
    dialects=MY,
)
allow(
    "multi_delete_join_b",
    "DELETE o FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.id > 100",
    dialects=MY,
)
allow(
    "multi_delete_items",
    "DELETE i FROM order_items i JOIN orders o ON o.id = i.order_id",
    dialects=MY,
)
allow(
    "multi_delete_both",
    "DELETE orders, order_items FROM orders JOIN order_items ON order_items.order_id = orders.id",
    dialects=MY,
)
allow(
    "multi_delete_using",
    "DELETE FROM o USING orders o JOIN order_items i ON i.order_id = o.id WHERE i.id > 100",
    dialects=MY,
)

# --- INSERT -----------------------------------------------------------------------------------
allow("insert_without_tenant", "INSERT INTO orders (id, amount, note) VALUES (10, 100, 'new')")
allow("insert_own_literal", "INSERT INTO orders (id, tenant_id, amount) VALUES (11, 'a', 5)")
allow(
    "insert_own_param",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)",
    (12, "a", 5),
)
allow(
    "insert_own_named_params",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (%(id)s, %(t)s, 5)",
    {"id": 13, "t": "a"},
)
allow("insert_multi_row_without_tenant", "INSERT INTO orders (id, amount) VALUES (21, 1), (22, 2)")
allow(
    "insert_tenant_column_first",
    "INSERT INTO order_items (tenant_id, id, order_id, sku) VALUES ('a', 23, 101, 'x')",
)
allow(
    "insert_item_pointing_at_b", "INSERT INTO order_items (id, order_id, sku) VALUES (35, 101, 'x')"
)
refuse("insert_b_literal", "INSERT INTO orders (id, tenant_id, amount) VALUES (14, 'b', 5)")
refuse(
    "insert_b_param",
    "INSERT INTO orders (id, tenant_id, amount, note) VALUES (%s, %s, %s, %s)",
    (15, "b", 5, "SECRET-insert-91c2"),
)
refuse(
    "insert_b_in_middle_row",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (16, 'a', 1), (17, 'b', 1), (18, 'a', 1)",
)
refuse(
    "insert_b_param_second_row",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, 1), (%s, %s, 1)",
    (19, "a", 20, "b"),
)
refuse(
    "insert_tenant_expression",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (24, lower('A'), 1)",
)
refuse(
    "insert_tenant_concat",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (25, 'a' || '', 1)",
    dialects=PG_LITE,
)
refuse(
    "insert_tenant_concat_fn",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (25, CONCAT('a', ''), 1)",
    dialects=PG_MY,
)
refuse(
    "insert_tenant_subquery",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (26, (SELECT tenant_id FROM orders "
    "WHERE id = 101), 1)",
)
refuse(
    "insert_tenant_upper_case_id", "INSERT INTO orders (id, tenant_id, amount) VALUES (27, 'A', 1)"
)
refuse(
    "insert_tenant_trailing_space",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (28, 'a ', 1)",
)
refuse("insert_tenant_empty", "INSERT INTO orders (id, tenant_id, amount) VALUES (29, '', 1)")
# NULL, DEFAULT or None in the tenant column: the session's tenant, like the column left out
# (issue 20); the mirror's tenant_id defaults to 'a', so DEFAULT runs the same there.
allow(
    "insert_tenant_null",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (30, NULL, 1)",
    oracle=False,
    a_changes={"orders": {30: (30, "a", 1, None)}},
)
allow(
    "insert_tenant_param_null",
    "INSERT INTO orders (id, tenant_id) VALUES (%s, %s)",
    (31, None),
    oracle=False,
    a_changes={"orders": {31: (31, "a", None, None)}},
)
allow(
    "insert_tenant_default",
    "INSERT INTO orders (id, tenant_id, amount) VALUES (33, DEFAULT, 1), (34, default, 2)",
    dialects=PG_MY,
)
allow(
    "insert_tenant_null_named_param",
    "INSERT INTO notes (id, tenant_id, body) VALUES (%(id)s, %(tenant_id)s, %(body)s)",
    {"id": 35, "tenant_id": None, "body": "n"},
    oracle=False,
    a_changes={"notes": {35: (35, "a", "n")}},
)
allow(
    "insert_select_tenant_null",
    "INSERT INTO orders (id, TENANT_ID, amount) SELECT id + 40, NULL, amount FROM orders",
    oracle=False,
    a_changes={"orders": {40 + i: (40 + i, "a", 10 * i, None) for i in range(1, 6)}},
)
refuse(
    "insert_union_tenant_null",
    "INSERT INTO orders (id, tenant_id) SELECT 36, NULL UNION SELECT 37, 'a'",
)
refuse(
    "insert_tenant_null_then_other",
    "INSERT INTO orders (id, tenant_id) VALUES (38, NULL), (39, 'b')",
)
refuse(
    "insert_tenant_null_param_reused",
    "INSERT INTO orders (id, tenant_id, note) VALUES (%(id)s, %(t)s, %(t)s)",
    {"id": 44, "t": None},
)
refuse(
    "insert_tenant_param_int", "INSERT INTO order_items (id, tenant_id) VALUES (%s, %s)", (32, 7)
)
refuse("insert_tenant_hex_literal", "INSERT INTO orders (id, tenant_id) VALUES (71, X'62')")
refuse(
    "insert_tenant_hex_number", "INSERT INTO orders (id, tenant_id) VALUES (72, 0x62)", dialects=MY
)
refuse(
    "insert_tenant_charset_introducer",
    "INSERT INTO orders (id, tenant_id) VALUES (73, _utf8mb4'b')",
    dialects=MY,
)
refuse(
    "insert_tenant_national", "INSERT INTO orders (id, tenant_id) VALUES (74, N'b')", dialects=PG_MY
)
refuse(
    "insert_tenant_escape_string",
    "INSERT INTO orders (id, tenant_id) VALUES (75, E'\\x62')",
    dialects=PG,
)
refuse(
    "insert_tenant_collate",
    "INSERT INTO orders (id, tenant_id) VALUES (76, 'b' COLLATE utf8mb4_bin)",
    dialects=MY,
)
refuse(
    "insert_tenant_param_bytes", "INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (77, b"b")
)
refuse(
    "insert_tenant_param_list", "INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (78, ["b"])
)
refuse("insert_no_column_list", "INSERT INTO orders VALUES (33, 'a', 1, 'x')")
refuse("insert_no_column_list_b", "INSERT INTO orders VALUES (34, 'b', 1, 'x')")
refuse(
    "insert_upper_tenant_column", "INSERT INTO orders (id, TENANT_ID, amount) VALUES (36, 'b', 1)"
)
refuse(
    "insert_quoted_tenant_column",
    "INSERT INTO orders (id, \"tenant_id\", amount) VALUES (37, 'b', 1)",
    dialects=PG_LITE,
)
refuse(
    "insert_backtick_tenant_column",
    "INSERT INTO orders (id, `tenant_id`, amount) VALUES (37, 'b', 1)",
    dialects=MY,
)
refuse(
    "insert_tenant_column_twice",
    "INSERT INTO orders (id, tenant_id, tenant_id) VALUES (38, 'a', 'b')",
)
refuse(
    "insert_tenant_column_twice_b_first",
    "INSERT INTO orders (id, tenant_id, tenant_id) VALUES (38, 'b', 'a')",
    why="SQLite keeps the first of duplicated columns",
)
refuse(
    "insert_item_b_param",
    "INSERT INTO order_items (id, tenant_id, order_id, sku) VALUES (39, %s, 1, 'x')",
    ("b",),
)
refuse("insert_default_values", "INSERT INTO orders DEFAULT VALUES", dialects=PG_LITE)
allow(
    "insert_returning",
    "INSERT INTO orders (id, amount) VALUES (60, 1) RETURNING tenant_id, id",
    dialects=PG_LITE,
)
either(
    "insert_returning_mariadb",
    "INSERT INTO orders (id, amount) VALUES (60, 1) RETURNING tenant_id, id",
    dialects=MY,
)

# --- INSERT ... SELECT ------------------------------------------------------------------------
allow(
    "insert_select_own",
    "INSERT INTO orders (id, amount, note) SELECT id + 1000, amount, note FROM orders",
)
allow(
    "insert_select_b_rows",
    "INSERT INTO orders (id, amount, note) SELECT id + 1000, amount, note FROM orders "
    "WHERE tenant_id = 'b'",
)
allow(
    "insert_select_own_literal",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 2000, 'a', amount FROM orders",
)
allow(
    "insert_select_own_param",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 3000, %s, amount FROM orders",
    ("a",),
)
allow(
    "insert_select_from_items",
    "INSERT INTO orders (id, amount, note) SELECT id + 4000, order_id, sku FROM order_items",
)
allow(
    "insert_select_subquery",
    "INSERT INTO order_items (id, order_id, sku) SELECT o.id + 500, o.id, o.note FROM orders o "
    "WHERE o.id IN (SELECT order_id FROM order_items WHERE id > 100)",
)
allow(
    "insert_select_union",
    "INSERT INTO orders (id, amount) SELECT id + 6000, amount FROM orders "
    "UNION ALL SELECT id + 7000, order_id FROM order_items",
)
allow(
    "insert_select_join",
    "INSERT INTO order_items (id, order_id, sku) SELECT i.id + 800, o.id, i.sku "
    "FROM orders o JOIN order_items i ON i.order_id = o.id",
)
allow(
    "insert_select_with",
    "INSERT INTO orders (id, amount) WITH x AS (SELECT id, amount FROM orders) "
    "SELECT id + 8000, amount FROM x",
    dialects=PG_LITE,
)
refuse(
    "insert_select_b_literal",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 1000, 'b', amount FROM orders",
)
refuse(
    "insert_select_b_param",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 1000, %s, amount FROM orders",
    ("b",),
)
refuse(
    "insert_select_tenant_column",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 1000, tenant_id, amount FROM orders",
)
refuse(
    "insert_select_tenant_expression",
    "INSERT INTO orders (id, tenant_id, amount) SELECT id + 1000, lower(tenant_id), amount "
    "FROM orders",
)
refuse(
    "insert_select_tenant_from_items",
    "INSERT INTO orders (id, tenant_id, amount) SELECT i.id + 1000, i.tenant_id, i.order_id "
    "FROM order_items i",
)
refuse(
    "insert_select_no_column_list",
    "INSERT INTO orders SELECT id + 1000, tenant_id, amount, note FROM orders",
)

# --- upserts ----------------------------------------------------------------------------------
allow(
    "upsert_b_key",
    "INSERT INTO orders (id, amount, note) VALUES (101, 999, 'x') "
    "ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, note = excluded.note",
    dialects=PG_LITE,
    oracle=False,
)
allow(
    "upsert_b_key_constant",
    "INSERT INTO orders (id, amount) VALUES (102, 999) ON CONFLICT (id) DO UPDATE SET amount = 0",
    dialects=PG_LITE,
    oracle=False,
)
allow(
    "upsert_b_key_where_b",
    "INSERT INTO orders (id, amount) VALUES (103, 999) ON CONFLICT (id) DO UPDATE "
    "SET amount = orders.amount + 1 WHERE orders.tenant_id = 'b'",
    dialects=PG_LITE,
    oracle=False,
)
allow(
    "upsert_b_key_param",
    "INSERT INTO orders (id, amount) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE "
    "SET amount = excluded.amount",
    (104, 5),
    dialects=PG_LITE,
    oracle=False,
)
allow(
    "upsert_own_key",
    "INSERT INTO orders (id, amount, note) VALUES (1, 777, 'mine') "
    "ON CONFLICT (id) DO UPDATE SET amount = excluded.amount",
    dialects=PG_LITE,
)
allow(
    "upsert_new_key",
    "INSERT INTO orders (id, amount) VALUES (70, 7) ON CONFLICT (id) DO UPDATE SET amount = 0",
    dialects=PG_LITE,
)
allow(
    "upsert_mixed_rows",
    "INSERT INTO orders (id, amount, note) VALUES (1, 11, 'x'), (102, 12, 'y') "
    "ON CONFLICT (id) DO UPDATE SET note = excluded.note",
    dialects=PG_LITE,
    oracle=False,
    a_changes={"orders": {1: (1, "a", 10, "x")}},
)
allow(
    "upsert_do_nothing_b",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON CONFLICT (id) DO NOTHING",
    dialects=PG_LITE,
    oracle=False,
)
allow(
    "upsert_on_constraint",
    "INSERT INTO orders (id, amount) VALUES (105, 1) ON CONFLICT ON CONSTRAINT orders_pkey "
    "DO UPDATE SET amount = 0",
    dialects=PG,
    oracle=False,
)
refuse(
    "upsert_set_tenant",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON CONFLICT (id) "
    "DO UPDATE SET tenant_id = 'a'",
    dialects=PG_LITE,
)
refuse(
    "upsert_set_tenant_excluded",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON CONFLICT (id) DO UPDATE "
    "SET tenant_id = excluded.tenant_id",
    dialects=PG_LITE,
)
allow(
    "odku_b_key",
    "INSERT INTO orders (id, amount, note) VALUES (101, 999, 'x') "
    "ON DUPLICATE KEY UPDATE amount = VALUES(amount), note = VALUES(note)",
    dialects=MY,
    oracle=False,
)
allow(
    "odku_b_key_constant",
    "INSERT INTO orders (id, amount) VALUES (102, 999) ON DUPLICATE KEY UPDATE amount = 0",
    dialects=MY,
    oracle=False,
)
allow(
    "odku_b_key_param",
    "INSERT INTO orders (id, amount) VALUES (%s, %s) ON DUPLICATE KEY UPDATE amount = amount + %s",
    (103, 5, 1),
    dialects=MY,
    oracle=False,
)
allow(
    "odku_own_key",
    "INSERT INTO orders (id, amount, note) VALUES (1, 777, 'mine') "
    "ON DUPLICATE KEY UPDATE amount = VALUES(amount)",
    dialects=MY,
)
allow(
    "odku_mixed_rows",
    "INSERT INTO orders (id, amount, note) VALUES (1, 11, 'x'), (102, 12, 'y') "
    "ON DUPLICATE KEY UPDATE note = VALUES(note)",
    dialects=MY,
    oracle=False,
    a_changes={"orders": {1: (1, "a", 10, "x")}},
)
allow(
    "odku_select_b_rows",
    "INSERT INTO orders (id, amount) SELECT id, order_id FROM order_items "
    "ON DUPLICATE KEY UPDATE amount = 0",
    dialects=MY,
    oracle=False,
    a_changes={"orders": {i: (i, "a", 0, f"a{i}") for i in range(1, 6)}},
    why="A's items 1-5 collide with A's orders 1-5 only",
)
refuse(
    "odku_set_tenant",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON DUPLICATE KEY UPDATE tenant_id = 'a'",
    dialects=MY,
)
refuse(
    "odku_set_tenant_values",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON DUPLICATE KEY UPDATE "
    "tenant_id = VALUES(tenant_id)",
    dialects=MY,
)
refuse("replace_b_key", "REPLACE INTO orders (id, amount) VALUES (101, 1)", dialects=MY_LITE)
refuse("replace_own_key", "REPLACE INTO orders (id, amount) VALUES (1, 1)", dialects=MY_LITE)
refuse(
    "replace_select",
    "REPLACE INTO orders (id, amount) SELECT id + 100, amount FROM orders",
    dialects=MY_LITE,
)
refuse(
    "insert_or_replace",
    "INSERT OR REPLACE INTO orders (id, amount) VALUES (101, 1)",
    dialects=LITE,
)
either(
    "insert_or_ignore",
    "INSERT OR IGNORE INTO orders (id, amount) VALUES (101, 1)",
    dialects=LITE,
    oracle=False,
)
either(
    "insert_ignore",
    "INSERT IGNORE INTO orders (id, amount) VALUES (101, 1)",
    dialects=MY,
    oracle=False,
)

# --- ordering, grouping, aggregates, windows --------------------------------------------------
allow("count_orders", "SELECT count(*) FROM orders")
allow("count_items", "SELECT count(*) FROM order_items")
allow("aggregates", "SELECT count(*), sum(amount), min(id), max(id) FROM orders")
allow("group_by_tenant", "SELECT tenant_id, count(*) FROM orders GROUP BY tenant_id")
allow(
    "having_or_true",
    "SELECT tenant_id, count(*) FROM orders GROUP BY tenant_id HAVING count(*) > 0 OR 1=1",
)
allow("distinct_tenant", "SELECT DISTINCT tenant_id FROM orders")
allow("count_distinct_tenant", "SELECT count(DISTINCT tenant_id) FROM orders")
allow("order_limit", f"{SEL} ORDER BY id DESC LIMIT 2", ordered=True)
allow("limit_offset", f"{SEL} ORDER BY id LIMIT 2 OFFSET 4", ordered=True)
allow("limit_param", f"{SEL} ORDER BY amount DESC LIMIT %s", (1,), ordered=True)
allow("window_row_number", "SELECT tenant_id, id, row_number() OVER (ORDER BY id) FROM orders")
allow("window_count", "SELECT tenant_id, id, count(*) OVER () FROM orders")
allow(
    "window_partition",
    "SELECT tenant_id, id, sum(amount) OVER (PARTITION BY tenant_id) FROM orders",
)
allow("max_amount", "SELECT max(amount) FROM orders")
allow("count_distinct_derived", "SELECT count(*) FROM (SELECT DISTINCT tenant_id FROM orders) x")
allow("having_b", "SELECT id FROM orders GROUP BY id HAVING max(tenant_id) = 'b'")
allow("count_param_b", "SELECT count(*) FROM orders WHERE tenant_id = %s", ("b",))
allow("count_join", "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id")
allow(
    "group_by_join",
    "SELECT o.tenant_id, o.id, count(i.id) FROM orders o LEFT JOIN order_items i "
    "ON i.order_id = o.id GROUP BY o.tenant_id, o.id",
)
allow("order_by_tenant_limit", f"{SEL} ORDER BY tenant_id DESC, id LIMIT 3", ordered=True)

# --- spellings of the tenant column the database reads as tenant_id ------------------------
# SQLite and MySQL compare column names case-insensitively, quoted or not; SQLite also takes
# backticks. PostgreSQL's "TENANT_ID" is another (missing) column: an error, not a leak.
refuse(
    "update_tenant_row_value",
    "UPDATE orders SET (tenant_id, amount) = ('b', 1) WHERE id = 1",
    dialects=PG_LITE,
)
refuse(
    "update_tenant_row_value_param",
    "UPDATE orders SET (amount, tenant_id) = (%s, %s)",
    (1, "b"),
    dialects=PG_LITE,
)
refuse(
    "upsert_tenant_row_value",
    "INSERT INTO orders (id, amount) VALUES (1, 1) ON CONFLICT (id) DO UPDATE "
    "SET (tenant_id, amount) = ('b', 1)",
    dialects=PG_LITE,
)
refuse(
    "update_tenant_quoted_upper",
    "UPDATE orders SET \"TENANT_ID\" = 'b' WHERE id = 1",
    dialects=LITE,
)
no_leak(
    "update_tenant_quoted_upper_pg",
    "UPDATE orders SET \"TENANT_ID\" = 'b' WHERE id = 1",
    dialects=PG,
)
refuse(
    "update_tenant_backtick_upper",
    "UPDATE orders SET `TENANT_ID` = 'b' WHERE id = 1",
    dialects=MY_LITE,
)
refuse(
    "update_tenant_backtick_param",
    "UPDATE orders SET amount = 1, `Tenant_Id` = %s",
    ("b",),
    dialects=MY_LITE,
)
no_leak("update_tenant_brackets", "UPDATE orders SET [tenant_id] = 'b' WHERE id = 1", dialects=LITE)
refuse(
    "insert_quoted_upper_tenant",
    "INSERT INTO orders (id, \"TENANT_ID\", amount) VALUES (63, 'b', 1)",
    dialects=LITE,
)
no_leak(
    "insert_quoted_upper_tenant_pg",
    "INSERT INTO orders (id, \"TENANT_ID\", amount) VALUES (63, 'b', 1)",
    dialects=PG,
)
refuse(
    "insert_backtick_upper_tenant",
    "INSERT INTO orders (id, `TENANT_ID`, amount) VALUES (64, %s, 1)",
    ("b",),
    dialects=MY_LITE,
)
refuse(
    "insert_qualified_tenant_column",
    "INSERT INTO orders (orders.id, orders.tenant_id, orders.amount) VALUES (61, 'b', 1)",
    dialects=MY,
)
refuse(
    "insert_set_form", "INSERT INTO orders SET id = 62, tenant_id = 'b', amount = 1", dialects=MY
)
refuse(
    "odku_backtick_upper_tenant",
    "INSERT INTO orders (id, amount) VALUES (1, 1) ON DUPLICATE KEY UPDATE `TENANT_ID` = 'b'",
    dialects=MY,
)
refuse(
    "upsert_quoted_upper_tenant",
    "INSERT INTO orders (id, amount) VALUES (1, 1) ON CONFLICT (id) DO UPDATE "
    "SET \"TENANT_ID\" = 'b'",
    dialects=LITE,
)
no_leak(
    "update_quoted_upper_table",
    'UPDATE "ORDERS" SET amount = 0',
    dialects=PG_LITE,
    check_a=False,
    why="SQLite reads it as orders: confined, A's amounts may become 0",
)

# --- CTE names against table names ------------------------------------------------------------
either(
    "cte_self_named",
    "WITH order_items AS (SELECT * FROM order_items) SELECT tenant_id, id FROM order_items",
    dialects=PG_MY,
    why="the body's order_items is the real table (PostgreSQL, MariaDB)",
)
no_leak(
    "cte_self_named_sqlite",
    "WITH order_items AS (SELECT * FROM order_items) SELECT tenant_id, id FROM order_items",
    dialects=LITE,
)
either(
    "cte_self_named_b_rows",
    "WITH orders AS (SELECT tenant_id, id FROM orders WHERE tenant_id = 'b') "
    "SELECT tenant_id, id FROM orders",
    dialects=PG_MY,
)
either(
    "cte_self_named_in_subquery",
    f"{SEL} WHERE id IN (WITH order_items AS (SELECT order_id FROM order_items) "
    "SELECT order_id FROM order_items)",
    dialects=PG_MY,
)
either(
    "cte_named_like_table_in_subquery",
    f"{SEL} WHERE id IN (WITH orders AS (SELECT 1 AS id) SELECT id FROM orders)",
    why="the outer orders is the table and must stay confined",
)
either(
    "cte_self_named_insert_select",
    "INSERT INTO orders (id, amount) WITH orders AS (SELECT id, amount FROM orders) "
    "SELECT id + 1000, amount FROM orders",
    dialects=PG,
)

either(
    "cte_shadow_update_target",
    "WITH orders AS (SELECT 1 AS x) UPDATE orders SET amount = 0",
    dialects=PG_LITE,
    why="the target of UPDATE/DELETE/INSERT is always the table, never a CTE",
)
either(
    "cte_shadow_delete_target",
    "WITH orders AS (SELECT 1 AS x) DELETE FROM orders",
    dialects=PG_LITE,
)
refuse(
    "cte_shadow_update_tenant",
    "WITH orders AS (SELECT 1 AS x) UPDATE orders SET tenant_id = 'b' WHERE id = 1",
    dialects=PG_LITE,
)
refuse(
    "cte_shadow_insert_b",
    "WITH orders AS (SELECT 1 AS x) INSERT INTO orders (id, tenant_id, amount) VALUES (70, 'b', 1)",
    dialects=PG_LITE,
)
either(
    "cte_shadow_insert",
    "WITH order_items AS (SELECT 1 AS x) INSERT INTO order_items (id, order_id, sku) "
    "VALUES (70, 1, 'x')",
    dialects=PG_LITE,
)
either(
    "cte_later_sibling_shadows",
    "WITH x AS (SELECT tenant_id, id FROM orders), orders AS (SELECT 1 AS id) "
    "SELECT tenant_id, id FROM x",
    dialects=PG_MY,
    why="a CTE sees only the CTEs before it: x reads the table",
)
no_leak(
    "cte_later_sibling_shadows_sqlite",
    "WITH x AS (SELECT tenant_id, id FROM orders), orders AS (SELECT 1 AS id) "
    "SELECT tenant_id, id FROM x",
    dialects=LITE,
)
either(
    "pg_alias_column_list",
    "SELECT o.owner AS tenant_id, o.id FROM orders AS o(id, owner, amount, tenant_id)",
    dialects=PG,
    why="the alias renames note to tenant_id: a tenant condition on o.tenant_id tests note",
)
either(
    "pg_alias_column_list_copy",
    "INSERT INTO orders (id, amount, note) SELECT o.id + 1000, o.amount, o.owner "
    "FROM orders AS o(id, owner, amount, tenant_id)",
    dialects=PG,
    why="would copy B's order into A's rows",
)

# --- placeholders the front end must not miscount -------------------------------------------------
refuse("placeholder_in_block_comment", f"{SEL} WHERE id > %s /* %s */", (0, "b"))
refuse("placeholder_in_line_comment", f"{SEL} WHERE id > %s -- %s", (0, "b"))
refuse("placeholder_in_literal", f"{SEL} WHERE note <> '%s' AND id > %s", ("b", 0))
refuse(
    "named_placeholder_in_comment",
    f"{SEL} WHERE id > %(x)s /* %(t)s */",
    {"x": 0, "t": "b"},
)
refuse("qmark_placeholder", f"{SEL} WHERE tenant_id = ? OR 1=1")
refuse("colon_placeholder", f"{SEL} WHERE tenant_id = :t OR 1=1")
refuse("dollar_placeholder", f"{SEL} WHERE id = $1", dialects=PG)
no_leak("dollar_placeholder_other", f"{SEL} WHERE id = $1", dialects=MY_LITE)
refuse(
    "dollar_quoted_placeholder", f"{SEL} WHERE note <> $$%s$$ AND id > %s", ("b", 0), dialects=PG
)

# --- more shapes -------------------------------------------------------------------------------
either(
    "nested_join_parentheses",
    "SELECT o.tenant_id, o.id, i.id, o2.id FROM orders o LEFT JOIN "
    "(order_items i CROSS JOIN orders o2) ON i.order_id = o.id AND o2.id = i.order_id + 100",
)
allow(
    "straight_join",
    "SELECT o.tenant_id, o.id, i.id FROM orders o STRAIGHT_JOIN order_items i ON i.order_id = o.id",
    dialects=MY,
)
refuse("index_hint", f"{SEL} USE INDEX (PRIMARY) WHERE id > 0 OR 1=1", dialects=MY)
allow("pg_table_statement", "TABLE orders", dialects=PG)
allow("pg_only", "SELECT tenant_id, id FROM ONLY orders", dialects=PG)
allow("quoted_update_target", 'UPDATE "orders" SET amount = 0 WHERE 1=1', dialects=PG_LITE)
allow(
    "update_correlated_items",
    "UPDATE orders SET note = (SELECT max(sku) FROM order_items i WHERE i.order_id = orders.id)",
)
allow(
    "upsert_set_from_subquery",
    "INSERT INTO orders (id, amount) VALUES (1, 0) ON CONFLICT (id) DO UPDATE "
    "SET amount = (SELECT max(amount) FROM orders WHERE id > 100)",
    dialects=PG_LITE,
)
allow(
    "odku_set_from_subquery",
    "INSERT INTO orders (id, amount) VALUES (1, 0) ON DUPLICATE KEY UPDATE "
    "amount = (SELECT max(id) FROM order_items)",
    dialects=MY,
)
allow(
    "upsert_without_target",
    "INSERT INTO orders (id, amount) VALUES (101, 1) ON CONFLICT DO UPDATE SET amount = 2",
    dialects=LITE,
    oracle=False,
)
refuse("table_to_xml", "SELECT table_to_xml('orders', true, false, '')")
refuse("query_to_xml", "SELECT query_to_xml('SELECT * FROM orders', true, false, '')")
refuse("ts_stat", "SELECT * FROM ts_stat('SELECT note FROM orders')")
refuse("database_to_xml", "SELECT database_to_xml(true, false, '')")
refuse("fts3_tokenizer", "SELECT fts3_tokenizer('simple')")
refuse("mysql_do", "DO sleep(0)", dialects=MY)
refuse("notify", "NOTIFY tenantdb_channel", dialects=PG)
refuse("listen", "LISTEN tenantdb_channel", dialects=PG)
refuse("savepoint", "SAVEPOINT s1")
refuse("rollback", "ROLLBACK")

# --- a single table declared tenant_scoped -------------------------------------------------
allow("scoped_select", "SELECT tenant_id, id, body FROM notes WHERE 1=1 OR tenant_id = 'b'")
allow(
    "scoped_left_join",
    "SELECT n.tenant_id, n.id, o.tenant_id, o.id FROM notes n LEFT JOIN orders o "
    "ON o.id = n.id + 100",
)
allow("scoped_in_subquery", f"{SEL} WHERE id IN (SELECT id - 100 FROM notes)")
allow("scoped_update", "UPDATE notes SET body = 'x' WHERE id > 100 OR 1=1")
allow("scoped_delete", "DELETE FROM notes WHERE tenant_id = 'b' OR id = 1")
allow("scoped_insert", "INSERT INTO notes (id, body) VALUES (5, 'n')")
allow("scoped_insert_select", "INSERT INTO notes (id, body) SELECT id + 50, note FROM orders")
allow(
    "scoped_insert_value_subquery",
    "INSERT INTO notes (id) VALUES ((SELECT max(id) + 1000 FROM orders))",
)
allow(
    "scoped_insert_text_subquery",
    "INSERT INTO notes (id, body) VALUES (7, (SELECT max(note) FROM orders))",
)
allow("scoped_insert_select_aggregate", "INSERT INTO notes (id) SELECT max(id) + 1000 FROM orders")
refuse("scoped_insert_b", "INSERT INTO notes (id, tenant_id, body) VALUES (6, %s, 'n')", ("b",))
refuse("scoped_update_tenant", "UPDATE notes SET tenant_id = 'b'")

# --- non-tenant tables and table-less statements ----------------------------------------------
allow("broadcast_read", "SELECT code, name FROM countries")
allow("single_read", "SELECT name, value FROM settings")
allow("broadcast_in_subquery", f"{SEL} WHERE note IN (SELECT name FROM countries) OR id = 1")
allow("no_table", "SELECT 1")
allow("no_table_expression", "SELECT 1 + 1, 'b'")


def _check_names() -> None:
    names = [c.name for c in CASES]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"duplicate case names: {sorted(duplicates)}"


_check_names()


def cases_for(dialect: str) -> list[Case]:
    """The cases written in ``dialect``'s SQL."""
    return [c for c in CASES if dialect in c.dialects]
