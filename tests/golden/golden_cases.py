"""Inputs of the golden route-plan cases, and where each one must land.

Each :class:`Case` is one statement routed against ``cluster.toml`` (clock fixed at
2026-11-21) in every dialect it lists. ``regenerate.py`` routes the cases and writes
``<dialect>.json`` (inputs + the plan the router returns); ``test_golden_plans.py`` routes
them again and compares.

``places`` is the reviewer's half: the (datasource, logical → physical tables) of every
target, computed here from the placement formulas of DESIGN.md ("Physical placement") with
no tenantdb code, so a wrong shard can never be baked into the JSON unnoticed. A case whose
router output is wrong carries ``known_bug`` and a hand-written ``expect`` (the correct
plan); the test marks it ``xfail(strict=True)`` until the router is fixed.
"""

from __future__ import annotations

import bisect
import datetime
import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

DIALECTS = ("mysql", "postgres", "sqlite")
TODAY = datetime.date(2026, 11, 21)

Place = tuple[str, dict[str, str]]
"""(datasource, logical table → physical table) of one target."""

Plan = dict[str, Any]


@dataclass(frozen=True)
class Case:
    name: str
    sql: str
    params: list[Any] | dict[str, Any] | None = None
    tenant: str | None = None
    admin: bool = False
    places: Sequence[Place] = ()
    """Hand-computed targets, in plan order; empty for error cases."""
    error: str | None = None
    """Expected exception class name (RoutingError, UnsupportedSQLError, ...)."""
    message: str | None = None
    """A fragment the error message must contain (the part that says what to change)."""
    dialects: tuple[str, ...] = DIALECTS
    known_bug: str | None = None
    expect: Callable[[str], Plan] | None = None
    """For known bugs: the correct plan (or error) for a dialect, written by hand."""


# -- placement formulas (DESIGN.md), independent of tenantdb -------------------------------

TWO = ("ds0", "ds1")
THREE = ("ds0", "ds1", "ds2")


def at(datasource: str, **tables: str) -> Place:
    return (datasource, dict(tables))


def numbered(
    tables: Sequence[str], shards: Sequence[int], datasources: Sequence[str]
) -> list[Place]:
    """Shard i of mod/hash_mod/range: table ``{t}_{i}`` on ``datasources[i % len]``."""
    return [
        (datasources[i % len(datasources)], {t: f"{t}_{i}" for t in tables})
        for i in sorted(set(shards))
    ]


def crc(key: object, shards: int = 8) -> int:
    """hash_mod: ``zlib.crc32(str(key).encode("utf-8")) % shards``."""
    return zlib.crc32(str(key).encode("utf-8")) % shards


def users(*keys: object, tables: Sequence[str] = ("users",)) -> list[Place]:
    """users / user_events: hash_mod on user_id, 8 shards over ds0, ds1."""
    return numbered(tables, [crc(k) for k in keys], TWO)


def all_users(tables: Sequence[str] = ("users",)) -> list[Place]:
    return numbered(tables, range(8), TWO)


def accounts(*keys: int, tables: Sequence[str] = ("accounts",)) -> list[Place]:
    """accounts / ledger: mod on account_id, 4 shards over ds0, ds1."""
    return numbered(tables, [k % 4 for k in keys], TWO)


def all_accounts(tables: Sequence[str] = ("accounts",)) -> list[Place]:
    return numbered(tables, range(4), TWO)


def invoices(*shards: int) -> list[Place]:
    """invoices: range on invoice_id, boundaries [1000, 2000] over ds0, ds1, ds2."""
    return numbered(("invoices",), shards, THREE)


def months(first: str, last: str) -> list[Place]:
    """audit_log: one table per month from 2026-01 (period k on ds0, ds1 alternately)."""
    out = []
    year, month = (int(p) for p in first.split("-"))
    while f"{year:04d}-{month:02d}" <= last:
        k = 12 * (year - 2026) + (month - 1)
        out.append(at(TWO[k % 2], audit_log=f"audit_log_{year:04d}{month:02d}"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def days(first: str, last: str) -> list[Place]:
    """daily_metrics: one table per day from 2026-11-01, all on ds2."""
    day = datetime.date.fromisoformat(first)
    end = datetime.date.fromisoformat(last)
    out = []
    while day <= end:
        out.append(at("ds2", daily_metrics=f"daily_metrics_{day:%Y%m%d}"))
        day += datetime.timedelta(days=1)
    return out


def _ring_position(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


_RING = sorted(
    (_ring_position(f"{ds}#{n}".encode()), index)
    for index, ds in enumerate(THREE)
    for n in range(512)
)
_POINTS = [position for position, _ in _RING]


def sessions(*keys: object) -> list[Place]:
    """sessions: consistent_hash ring (512 points per datasource), table keeps its name."""
    owners = set()
    for key in keys:
        i = bisect.bisect_left(_POINTS, _ring_position(str(key).encode("utf-8")))
        owners.add(_RING[i if i < len(_POINTS) else 0][1])
    return [at(THREE[i], sessions="sessions") for i in sorted(owners)]


def every(**tables: str) -> list[Place]:
    """A table that exists under one name on every datasource (tenant tables in admin)."""
    return [at(ds, **tables) for ds in THREE]


# -- hand-written plans for known bugs ----------------------------------------------------


def sql_in(dialect: str, text: str) -> str:
    """``text`` written with %s, in the dialect's driver placeholder style."""
    return text.replace("%s", "?") if dialect == "sqlite" else text


def target(dialect: str, place: Place, sql: str, params: Sequence[Any] = ()) -> dict[str, Any]:
    datasource, tables = place
    return {
        "datasource": datasource,
        "role": "primary",
        "sql": sql_in(dialect, sql),
        "params": list(params),
        "tables": tables,
    }


def merge(**changes: Any) -> dict[str, Any]:
    plain: dict[str, Any] = {
        "order_by": [],
        "group_by": None,
        "aggregates": [],
        "distinct": False,
        "limit": None,
        "offset": 0,
        "hidden_columns": 0,
    }
    plain.update(changes)
    return plain


def plan(
    kind: str,
    targets: list[dict[str, Any]],
    *,
    merged: dict[str, Any] | None = None,
    tenant: str | None = None,
    admin: bool = False,
) -> Plan:
    return {"kind": kind, "tenant": tenant, "admin": admin, "targets": targets, "merge": merged}


_ADMIN_ORDERS = [
    at("ds0", orders="orders"),
    at("ds1", orders="orders"),
    at("ds1", orders="globex.orders"),
    at("ds2", orders="orders"),
]


def _admin_scan(dialect: str) -> Plan:
    return plan(
        "select",
        [
            target(
                dialect,
                place,
                f"SELECT id, amount FROM {place[1]['orders']} WHERE amount > %s",
                [100],
            )
            for place in _ADMIN_ORDERS
        ],
        merged=merge(),
        admin=True,
    )


def _admin_alter_tenant_table(dialect: str) -> Plan:
    return plan(
        "ddl",
        [
            target(dialect, place, f"ALTER TABLE {place[1]['orders']} ADD COLUMN note TEXT")
            for place in _ADMIN_ORDERS
        ],
        admin=True,
    )


def _drop_sharded(dialect: str) -> Plan:
    return plan(
        "ddl",
        [
            target(dialect, place, f"DROP TABLE {place[1]['ledger']}")
            for place in all_accounts(("ledger",))
        ],
        admin=True,
    )


def _sqlite_create_table(dialect: str) -> Plan:
    return plan(
        "ddl",
        [
            target(
                dialect,
                place,
                f"CREATE TABLE {place[1]['accounts']} "
                "(account_id BIGINT PRIMARY KEY, balance NUMERIC(12, 2))",
            )
            for place in all_accounts()
        ],
        admin=True,
    )


# -- the cases ----------------------------------------------------------------------------

CASES: tuple[Case, ...] = (
    # Point queries, one per strategy.
    Case(
        "hash_mod_point",
        "SELECT user_id, name FROM users WHERE user_id = %s",
        [42],
        places=users(42),
    ),
    Case(
        "hash_mod_string_key",
        "SELECT user_id, name FROM users WHERE user_id = %s",
        ["alice"],
        places=users("alice"),
    ),
    Case(
        "hash_mod_uuid_text_key",
        "SELECT user_id FROM users WHERE user_id = %s",
        ["fb7e6d0a-3c1e-4b9a-9f0e-1c2d3e4f5a6b"],
        places=users("fb7e6d0a-3c1e-4b9a-9f0e-1c2d3e4f5a6b"),
    ),
    Case(
        "mod_point",
        "SELECT account_id, balance FROM accounts WHERE account_id = %s",
        [7],
        places=accounts(7),
    ),
    Case(
        "range_point",
        "SELECT invoice_id, total FROM invoices WHERE invoice_id = %s",
        [1500],
        places=invoices(1),
    ),
    Case(
        "consistent_hash_point",
        "SELECT user_id FROM sessions WHERE session_id = %s",
        ["s-abc"],
        places=sessions("s-abc"),
    ),
    Case(
        "time_month_date_string",
        "SELECT actor FROM audit_log WHERE created_at = %s",
        ["2026-03-05"],
        places=months("2026-03", "2026-03"),
    ),
    Case(
        "time_month_iso_datetime_with_offset",
        # Placed by its own wall-clock date (March), not converted to UTC (April).
        "SELECT actor FROM audit_log WHERE created_at = %s",
        ["2026-03-31T23:00:00-05:00"],
        places=months("2026-03", "2026-03"),
    ),
    Case(
        "time_day_datetime_point",
        "SELECT value FROM daily_metrics WHERE recorded_on = %s",
        ["2026-11-21 13:45:00"],
        places=days("2026-11-21", "2026-11-21"),
    ),
    # IN lists, BETWEEN, comparisons.
    Case(
        "hash_mod_in_list_spans_shards",
        "SELECT user_id, name FROM users WHERE user_id IN (%s, %s, %s)",
        [1, 2, 3],
        places=users(1, 2, 3),
    ),
    Case(
        "consistent_hash_in_list",
        "DELETE FROM sessions WHERE session_id IN (%s, %s, %s)",
        ["s-1", "s-2", "s-3"],
        places=sessions("s-1", "s-2", "s-3"),
    ),
    Case(
        "time_month_in_list",
        "SELECT actor FROM audit_log WHERE created_at IN (%s, %s)",
        ["2026-01-15", "2026-04-02"],
        places=months("2026-01", "2026-01") + months("2026-04", "2026-04"),
    ),
    Case(
        "range_between",
        "SELECT invoice_id FROM invoices WHERE invoice_id BETWEEN %s AND %s",
        [500, 1500],
        places=invoices(0, 1),
    ),
    Case(
        "range_lt_boundary_is_exclusive",
        "SELECT invoice_id FROM invoices WHERE invoice_id < %s",
        [1000],
        places=invoices(0),
    ),
    Case(
        "range_le_boundary_includes_next_shard",
        "SELECT invoice_id FROM invoices WHERE invoice_id <= %s",
        [1000],
        places=invoices(0, 1),
    ),
    Case(
        "range_ge_last_boundary",
        "SELECT invoice_id FROM invoices WHERE invoice_id >= %s",
        [2000],
        places=invoices(2),
    ),
    Case(
        "range_gt_below_boundary",
        # Keys are treated as continuous: 1999.5 > 1999 still lives in shard 1.
        "SELECT invoice_id FROM invoices WHERE invoice_id > %s",
        [1999],
        places=invoices(1, 2),
    ),
    Case(
        "time_month_between_crosses_year",
        "SELECT actor FROM audit_log WHERE created_at BETWEEN %s AND %s",
        ["2026-12-15", "2027-01-10"],
        places=months("2026-12", "2027-01"),
    ),
    Case(
        "time_month_exclusive_upper_bound",
        "SELECT actor FROM audit_log WHERE created_at >= %s AND created_at < %s",
        ["2026-10-01", "2026-12-01"],
        places=months("2026-10", "2026-11"),
    ),
    Case(
        "time_month_lt_period_start",
        "SELECT actor FROM audit_log WHERE created_at < %s",
        ["2026-03-01"],
        places=months("2026-01", "2026-02"),
    ),
    Case(
        "time_month_le_period_start",
        "SELECT actor FROM audit_log WHERE created_at <= %s",
        ["2026-03-01"],
        places=months("2026-01", "2026-03"),
    ),
    Case(
        "time_month_open_range_stops_at_pre_created",
        # Today 2026-11 plus pre_create 2: the last table that exists is 2027-01.
        "SELECT actor FROM audit_log WHERE created_at >= %s",
        ["2026-10-15"],
        places=months("2026-10", "2027-01"),
    ),
    Case(
        "time_month_range_before_start_is_clamped",
        "SELECT actor FROM audit_log WHERE created_at >= %s AND created_at < %s",
        ["2025-06-01", "2026-02-01"],
        places=months("2026-01", "2026-01"),
    ),
    Case(
        "time_month_gt_datetime_lower_bound",
        "SELECT actor FROM audit_log WHERE created_at > %s AND created_at <= %s",
        ["2026-11-30T23:59:59", "2026-12-01"],
        places=months("2026-11", "2026-12"),
    ),
    Case(
        "time_month_date_literal",
        "SELECT actor FROM audit_log WHERE created_at >= DATE '2026-11-01'",
        places=months("2026-11", "2027-01"),
        dialects=("mysql", "postgres"),
    ),
    Case(
        # SQLite has no typed literals (it reads a column named DATE), and sqlglot would
        # send DATE('2026-11-01'): refused rather than sent with another meaning.
        "time_month_date_literal_sqlite",
        "SELECT actor FROM audit_log WHERE created_at >= DATE '2026-11-01'",
        error="UnsupportedSQLError",
        message="cannot be sent as written",
        dialects=("sqlite",),
    ),
    Case(
        "time_day_between_stops_at_pre_created",
        # Today 2026-11-21 plus pre_create 3: the last table that exists is 2026-11-24.
        "SELECT value FROM daily_metrics WHERE recorded_on BETWEEN %s AND %s",
        ["2026-11-20", "2026-12-31"],
        places=days("2026-11-20", "2026-11-24"),
    ),
    Case(
        "time_key_before_start",
        "SELECT actor FROM audit_log WHERE created_at = %s",
        ["2025-12-31"],
        error="RoutingError",
        message="move the table's start earlier",
    ),
    # Boolean structure.
    Case(
        "or_of_two_keys_is_a_union",
        "SELECT name FROM users WHERE user_id = %s OR user_id = %s",
        [1, 4],
        places=users(1, 4),
    ),
    Case(
        "or_of_keys_across_joined_tables",
        "SELECT u.name FROM users u JOIN user_events e ON e.user_id = u.user_id "
        "WHERE u.user_id = %s OR e.user_id = %s",
        [1, 4],
        places=users(1, 4, tables=("users", "user_events")),
    ),
    Case(
        "or_with_non_key_scans_all",
        "SELECT account_id FROM accounts WHERE account_id = %s OR balance < %s",
        [1, 0],
        places=all_accounts(),
    ),
    Case(
        "and_of_contradicting_keys_uses_one_shard",
        # No row can match; any one shard answers (the first one).
        "SELECT name FROM users WHERE user_id = %s AND user_id = %s",
        [1, 4],
        places=numbered(("users",), [0], TWO),
    ),
    Case(
        "not_does_not_prune",
        "SELECT account_id FROM accounts WHERE NOT account_id = %s",
        [1],
        places=all_accounts(),
    ),
    Case(
        "key_inside_function_does_not_prune",
        "SELECT account_id FROM accounts WHERE ABS(account_id) = %s",
        [1],
        places=all_accounts(),
    ),
    # Tenant tables.
    Case(
        "tenant_select_shared_tenant",
        "SELECT id, amount FROM orders WHERE id = %s",
        [1],
        tenant="acme",
        places=[at("ds0", orders="orders")],
    ),
    Case(
        "tenant_select_cannot_name_another_tenant",
        "SELECT id FROM orders WHERE tenant_id = %s",
        ["initech"],
        tenant="acme",
        places=[at("ds0", orders="orders")],
    ),
    Case(
        "tenant_update_shared_tenant",
        "UPDATE orders SET amount = %s WHERE id = %s",
        [10, 2],
        tenant="initech",
        places=[at("ds2", orders="orders")],
    ),
    Case(
        "tenant_delete_shared_tenant",
        "DELETE FROM orders WHERE id = %s",
        [2],
        tenant="acme",
        places=[at("ds0", orders="orders")],
    ),
    Case(
        "tenant_insert_gets_tenant_id",
        "INSERT INTO orders (id, amount) VALUES (%s, %s)",
        [1, 9.5],
        tenant="acme",
        places=[at("ds0", orders="orders")],
    ),
    Case(
        "tenant_insert_other_tenant_id_refused",
        "INSERT INTO orders (tenant_id, id, amount) VALUES (%s, %s, %s)",
        ["globex", 1, 9.5],
        tenant="acme",
        error="TenantIsolationError",
        message="tenant_id",
    ),
    Case(
        "tenant_schema_isolated_select",
        "SELECT id, amount FROM orders WHERE id = %s",
        [1],
        tenant="globex",
        places=[at("ds1", orders="globex.orders")],
    ),
    Case(
        "tenant_schema_isolated_join",
        "SELECT o.id, i.sku FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = %s",
        [1],
        tenant="globex",
        places=[at("ds1", orders="globex.orders", order_items="globex.order_items")],
    ),
    Case(
        "tenant_schema_isolated_insert",
        "INSERT INTO order_items (order_id, sku) VALUES (%s, %s)",
        [1, "A-1"],
        tenant="globex",
        places=[at("ds1", order_items="globex.order_items")],
    ),
    Case(
        "tenant_schema_isolated_insert_other_tenant_refused",
        "INSERT INTO order_items (order_id, sku, tenant_id) VALUES (%s, %s, %s)",
        [1, "A-1", "acme"],
        tenant="globex",
        error="TenantIsolationError",
        message="tenant_id",
    ),
    Case(
        "tenant_join_broadcast",
        "SELECT o.id, c.name FROM orders o JOIN countries c ON c.code = o.country",
        tenant="globex",
        places=[at("ds1", orders="globex.orders", countries="countries")],
    ),
    Case(
        "tenant_table_without_tenant",
        "SELECT id FROM orders WHERE id = %s",
        [1],
        error="RoutingError",
        message="open the session with tenant=",
    ),
    Case(
        "tenant_unknown",
        "SELECT id FROM orders",
        tenant="nobody",
        error="UnknownTenantError",
        message="nobody",
    ),
    Case(
        "tenant_and_single_table_on_other_datasource",
        "SELECT o.id, s.value FROM orders o JOIN settings s ON s.name = o.kind",
        tenant="acme",
        error="RoutingError",
        message="query them separately",
    ),
    Case(
        "admin_scan_of_tenant_table",
        "SELECT id, amount FROM orders WHERE amount > %s",
        [100],
        admin=True,
        places=_ADMIN_ORDERS,
        expect=_admin_scan,
    ),
    Case(
        # globex is schema-isolated: its rows stored without tenant_id read as its own.
        "admin_scan_groups_by_tenant_column",
        "SELECT tenant_id, COUNT(*) FROM orders WHERE tenant_id <> %s GROUP BY tenant_id",
        ["acme"],
        admin=True,
        places=_ADMIN_ORDERS,
    ),
    # Joins and subqueries.
    Case(
        "binding_join_on_key",
        "SELECT u.name, e.kind FROM users u JOIN user_events e ON e.user_id = u.user_id "
        "WHERE u.user_id = %s",
        [42],
        places=users(42, tables=("users", "user_events")),
    ),
    Case(
        "binding_join_using",
        "SELECT a.balance, l.amount FROM accounts a JOIN ledger l USING (account_id) "
        "WHERE account_id IN (%s, %s)",
        [1, 2],
        places=accounts(1, 2, tables=("accounts", "ledger")),
    ),
    Case(
        "binding_semijoin_in_subquery",
        "SELECT account_id FROM accounts WHERE account_id IN "
        "(SELECT account_id FROM ledger WHERE amount > %s)",
        [100],
        places=all_accounts(("accounts", "ledger")),
    ),
    Case(
        "correlated_exists_on_key",
        "SELECT u.name FROM users u WHERE EXISTS "
        "(SELECT 1 FROM user_events e WHERE e.user_id = u.user_id AND e.kind = %s) "
        "AND u.user_id = %s",
        ["login", 3],
        places=users(3, tables=("users", "user_events")),
    ),
    Case(
        "correlated_scalar_subquery_on_key",
        "SELECT a.account_id, (SELECT COUNT(*) FROM ledger l "
        "WHERE l.account_id = a.account_id) AS entries FROM accounts a",
        places=all_accounts(("ledger", "accounts")),
    ),
    Case(
        "join_with_broadcast",
        "SELECT a.balance, c.name FROM accounts a JOIN countries c ON c.code = a.country "
        "WHERE a.account_id = %s",
        [5],
        places=[at("ds1", accounts="accounts_1", countries="countries")],
    ),
    Case(
        "cte_name_untouched",
        "WITH recent AS (SELECT account_id, amount FROM ledger WHERE amount > %s) "
        "SELECT account_id FROM recent",
        [100],
        places=all_accounts(("ledger",)),
    ),
    Case(
        "cte_key_condition_prunes",
        # The outer statement reads only the CTE, whose rows all have account_id 6.
        "WITH recent AS (SELECT account_id, amount FROM ledger WHERE account_id = %s) "
        "SELECT amount FROM recent",
        [6],
        places=accounts(6, tables=("ledger",)),
    ),
    Case(
        "derived_table_key_condition_prunes",
        "SELECT t.amount FROM "
        "(SELECT account_id, amount FROM ledger WHERE account_id IN (%s, %s)) t",
        [5, 2],
        places=accounts(5, 2, tables=("ledger",)),
    ),
    Case(
        "condition_on_cte_key_column_prunes",
        # r.acc is ledger.account_id under another name.
        "WITH r AS (SELECT account_id AS acc, amount FROM ledger) "
        "SELECT amount FROM r WHERE acc = %s",
        [3],
        places=accounts(3, tables=("ledger",)),
    ),
    Case(
        "left_joined_cte_key_condition_does_not_prune",
        # Accounts without a matching row of the CTE are still rows of the result.
        "WITH r AS (SELECT account_id, amount FROM ledger WHERE account_id = %s) "
        "SELECT a.account_id, r.amount FROM accounts a LEFT JOIN r ON r.account_id = a.account_id",
        [6],
        places=all_accounts(("accounts", "ledger")),
    ),
    Case(
        "cte_joined_on_key",
        "WITH recent AS (SELECT account_id, amount FROM ledger WHERE amount > %s) "
        "SELECT a.account_id, r.amount FROM accounts a "
        "JOIN recent r ON r.account_id = a.account_id",
        [100],
        places=all_accounts(("ledger", "accounts")),
    ),
    Case(
        "cte_joined_on_key_and_pruned",
        "WITH recent AS (SELECT account_id, amount FROM ledger WHERE account_id = %s) "
        "SELECT a.account_id, r.amount FROM accounts a "
        "JOIN recent r ON r.account_id = a.account_id",
        [7],
        places=accounts(7, tables=("ledger", "accounts")),
    ),
    Case(
        "cte_read_twice_not_joined_on_key",
        # Each reference is its own set of rows: pairs could come from two shards.
        "WITH r AS (SELECT account_id, amount FROM ledger) "
        "SELECT a.account_id, b.account_id FROM r a JOIN r b ON b.amount = a.amount",
        error="RoutingError",
        message="does not join on their key",
    ),
    Case(
        "aggregate_over_derived_table_across_shards",
        "SELECT * FROM (SELECT COUNT(*) AS n FROM (SELECT amount FROM ledger) x) y",
        error="UnsupportedSQLError",
        message="group it by the sharding key",
    ),
    Case(
        "union_all_of_binding_tables",
        "SELECT user_id FROM users WHERE user_id = %s "
        "UNION ALL SELECT user_id FROM user_events WHERE user_id = %s",
        [1, 2],
        places=users(1, 2, tables=("users", "user_events")),
    ),
    Case(
        "union_distinct_order_limit",
        "SELECT account_id FROM accounts UNION SELECT account_id FROM ledger ORDER BY 1 LIMIT 5",
        places=all_accounts(("accounts", "ledger")),
    ),
    # sqlite has no FOR UPDATE: the sqlite plan silently drops it (reported as questionable).
    Case(
        "select_for_update_one_shard",
        "SELECT balance FROM accounts WHERE account_id = %s FOR UPDATE",
        [3],
        places=accounts(3),
    ),
    # Merges: ORDER BY / LIMIT / aggregates / DISTINCT.
    Case(
        "order_limit_offset_across_shards",
        # Each shard returns LIMIT offset+limit rows and no OFFSET; the merge skips 20.
        "SELECT account_id, balance FROM accounts ORDER BY balance DESC LIMIT %s OFFSET %s",
        [10, 20],
        places=all_accounts(),
    ),
    Case(
        "order_by_column_not_selected",
        "SELECT account_id FROM accounts ORDER BY created_at, account_id DESC LIMIT 5",
        places=all_accounts(),
    ),
    Case(
        "select_star_order_by_hidden_column",
        # Columns after * are only known from the end of the row: negative sort indexes.
        "SELECT * FROM accounts ORDER BY balance DESC, account_id LIMIT %s",
        [5],
        places=all_accounts(),
    ),
    Case(
        "order_by_expression_with_parameter",
        # The hidden sort column repeats the expression, so its parameter is passed twice.
        "SELECT account_id, balance * %s AS scaled FROM accounts ORDER BY balance + %s LIMIT %s",
        [2, 1, 5],
        places=all_accounts(),
    ),
    Case(
        "offset_without_limit",
        "SELECT account_id FROM accounts ORDER BY account_id OFFSET %s",
        [5],
        places=all_accounts(),
    ),
    Case(
        "limit_offset_on_one_shard_untouched",
        "SELECT account_id FROM accounts WHERE account_id = %s ORDER BY balance LIMIT 10 OFFSET 5",
        [5],
        places=accounts(5),
    ),
    Case(
        "aggregates_count_sum_min_max_avg",
        "SELECT COUNT(*), SUM(amount), MIN(amount), MAX(amount), AVG(amount) FROM ledger",
        places=all_accounts(("ledger",)),
    ),
    Case(
        "group_by_key_not_selected",
        "SELECT SUM(amount) FROM ledger GROUP BY currency",
        places=all_accounts(("ledger",)),
    ),
    Case(
        "group_by_order_by_aggregate_limit",
        "SELECT currency, COUNT(*) AS n, AVG(amount) AS mean FROM ledger "
        "GROUP BY currency ORDER BY n DESC LIMIT 3",
        places=all_accounts(("ledger",)),
    ),
    Case(
        "order_by_aggregate_not_selected",
        "SELECT currency FROM ledger GROUP BY currency ORDER BY COUNT(*) DESC LIMIT 2",
        places=all_accounts(("ledger",)),
    ),
    Case(
        "distinct_across_shards",
        "SELECT DISTINCT country FROM accounts ORDER BY country",
        places=all_accounts(),
    ),
    Case(
        "having_on_one_shard_is_fine",
        "SELECT currency, SUM(amount) FROM ledger WHERE account_id = %s "
        "GROUP BY currency HAVING SUM(amount) > %s",
        [3, 100],
        places=accounts(3, tables=("ledger",)),
    ),
    Case(
        "having_across_shards",
        "SELECT currency, SUM(amount) FROM ledger GROUP BY currency HAVING SUM(amount) > %s",
        [100],
        error="UnsupportedSQLError",
        message="add a sharding-key condition so one shard answers",
    ),
    Case(
        "count_distinct_across_shards",
        "SELECT COUNT(DISTINCT currency) FROM ledger",
        error="UnsupportedSQLError",
        message="add a sharding-key condition so one shard answers",
    ),
    Case(
        "aggregate_inside_cte_across_shards",
        "WITH t AS (SELECT currency, SUM(amount) AS total FROM ledger GROUP BY currency) "
        "SELECT currency, total FROM t",
        error="UnsupportedSQLError",
        message="group it by the sharding key",
    ),
    Case(
        "aggregate_inside_cte_grouped_by_key",
        "WITH t AS (SELECT account_id, SUM(amount) AS total FROM ledger GROUP BY account_id) "
        "SELECT account_id, total FROM t",
        places=all_accounts(("ledger",)),
    ),
    Case(
        "limit_inside_derived_table_across_shards",
        "SELECT * FROM (SELECT user_id, name FROM users LIMIT 10) t",
        error="UnsupportedSQLError",
        message="add a sharding-key condition so one shard answers",
    ),
    Case(
        "window_function_across_shards",
        "SELECT account_id, ROW_NUMBER() OVER (ORDER BY balance) FROM accounts",
        error="UnsupportedSQLError",
        message="add a sharding-key condition so one shard answers",
    ),
    Case(
        "aggregate_inside_expression_across_shards",
        "SELECT SUM(amount) * 2 FROM ledger",
        error="UnsupportedSQLError",
        message="select the aggregate alone",
    ),
    # Writes.
    Case(
        "insert_multi_row_split_per_shard",
        "INSERT INTO users (user_id, name) VALUES (%s, %s), (%s, %s), (%s, %s)",
        [1, "a", 4, "b", 3, "c"],
        places=users(1, 4, 3),
    ),
    Case(
        "insert_literal_and_param_keys",
        "INSERT INTO users (user_id, name) VALUES (7, 'x'), (%s, %s)",
        [8, "y"],
        places=users(7, 8),
    ),
    Case(
        "insert_time_range_split_per_period",
        "INSERT INTO audit_log (created_at, actor) VALUES (%s, %s), (%s, %s)",
        ["2026-11-02 08:00:00", "a", "2026-10-31 23:59:59", "b"],
        places=months("2026-10", "2026-11"),
    ),
    Case(
        "insert_consistent_hash",
        "INSERT INTO sessions (session_id, user_id) VALUES (%s, %s)",
        ["s-abc", 1],
        places=sessions("s-abc"),
    ),
    Case(
        "insert_without_key_column",
        "INSERT INTO users (name) VALUES (%s)",
        ["a"],
        error="RoutingError",
        message="must set its sharding key column 'user_id'",
    ),
    Case(
        "insert_key_as_expression",
        "INSERT INTO accounts (account_id, balance) VALUES (%s + 1, 0)",
        [1],
        error="RoutingError",
        message="must be a parameter or a literal",
    ),
    Case(
        "update_with_key",
        "UPDATE accounts SET balance = balance + %s WHERE account_id = %s",
        [10, 5],
        places=accounts(5),
    ),
    Case(
        "update_with_key_list",
        "UPDATE accounts SET balance = 0 WHERE account_id IN (%s, %s)",
        [1, 2],
        places=accounts(1, 2),
    ),
    Case(
        "delete_with_key",
        "DELETE FROM accounts WHERE account_id = %s",
        [6],
        places=accounts(6),
    ),
    Case(
        "update_without_key",
        "UPDATE accounts SET balance = 0 WHERE balance < %s",
        [0],
        error="RoutingError",
        message="add `account_id = ...` or run it in an admin session",
    ),
    Case(
        "update_without_key_admin",
        "UPDATE accounts SET balance = 0 WHERE balance < %s",
        [0],
        admin=True,
        places=all_accounts(),
    ),
    Case(
        "delete_without_key",
        "DELETE FROM user_events WHERE kind = %s",
        ["x"],
        error="RoutingError",
        message="would touch 8 shards; add `user_id = ...` or run it in an admin session",
    ),
    Case(
        "delete_without_key_admin",
        "DELETE FROM user_events WHERE kind = %s",
        ["x"],
        admin=True,
        places=all_users(("user_events",)),
    ),
    Case(
        "update_moves_key_to_other_shard",
        "UPDATE accounts SET account_id = %s WHERE account_id = %s",
        [6, 5],
        error="RoutingError",
        message="delete and re-insert the rows instead",
    ),
    Case(
        "update_key_within_its_shard",
        "UPDATE accounts SET account_id = %s WHERE account_id = %s",
        [9, 5],
        places=accounts(5),
    ),
    Case(
        "update_key_to_expression",
        "UPDATE accounts SET account_id = account_id + 1 WHERE account_id = %s",
        [1],
        error="RoutingError",
        message="delete and re-insert the rows instead",
    ),
    Case(
        "broadcast_write_goes_everywhere",
        "INSERT INTO countries (code, name) VALUES (%s, %s)",
        ["FR", "France"],
        places=every(countries="countries"),
    ),
    Case(
        "broadcast_read_goes_to_one",
        "SELECT name FROM countries WHERE code = %s",
        ["FR"],
        places=[at("ds0", countries="countries")],
    ),
    Case(
        "single_table",
        "UPDATE settings SET value = %s WHERE name = %s",
        ["on", "dark_mode"],
        places=[at("ds2", settings="settings")],
    ),
    Case(
        "unknown_table_on_default_datasource",
        "SELECT name FROM feature_flags WHERE name = %s",
        ["beta"],
        places=[at("ds0", feature_flags="feature_flags")],
    ),
    Case(
        "statement_without_tables",
        "SELECT 1",
        places=[at("ds0")],
    ),
    # Refused joins.
    Case(
        "cross_shard_join_of_non_binding_tables",
        "SELECT u.name, a.balance FROM users u JOIN accounts a ON a.account_id = u.user_id "
        "WHERE u.user_id = %s",
        [1],
        error="RoutingError",
        message="join tables that share strategy, shard count and datasources",
    ),
    Case(
        "binding_join_not_on_key",
        "SELECT u.name FROM users u JOIN user_events e ON e.id = u.user_id WHERE u.user_id = %s",
        [1],
        error="RoutingError",
        message="add a condition like `a.user_id = b.user_id`",
    ),
    Case(
        "sharded_join_with_single_table",
        "SELECT a.balance, s.value FROM accounts a JOIN settings s ON s.name = a.name",
        error="RoutingError",
        message="query them separately",
    ),
    # DDL.
    Case(
        "ddl_outside_admin",
        "CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, balance NUMERIC(12, 2))",
        error="RoutingError",
        message="run it in an admin session",
    ),
    Case(
        "create_table_admin",
        "CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, balance NUMERIC(12, 2))",
        admin=True,
        places=all_accounts(),
        dialects=("mysql", "postgres"),
    ),
    Case(
        "create_table_admin_keeps_sqlite_types",
        "CREATE TABLE accounts (account_id BIGINT PRIMARY KEY, balance NUMERIC(12, 2))",
        admin=True,
        places=all_accounts(),
        dialects=("sqlite",),
    ),
    Case(
        "alter_time_range_table_admin",
        "ALTER TABLE audit_log ADD COLUMN actor_ip TEXT",
        admin=True,
        places=months("2026-01", "2027-01"),
    ),
    Case(
        "alter_tenant_table_admin",
        "ALTER TABLE orders ADD COLUMN note TEXT",
        admin=True,
        places=_ADMIN_ORDERS,
        expect=_admin_alter_tenant_table,
    ),
    Case(
        "create_index_sharded_admin",
        # Index names get the shard suffix: several shards share one datasource.
        "CREATE INDEX idx_users_name ON users (name)",
        admin=True,
        places=all_users(),
    ),
    Case(
        "drop_table_sharded_admin",
        "DROP TABLE ledger",
        admin=True,
        places=all_accounts(("ledger",)),
    ),
    # Statements tenantdb refuses.
    Case(
        "several_statements",
        "SELECT 1; SELECT 2",
        error="UnsupportedSQLError",
        message="send one statement per execute()",
    ),
    Case(
        "set_statement",
        "SET search_path TO globex",
        error="UnsupportedSQLError",
        message="tenantdb runs SELECT, INSERT, UPDATE, DELETE",
    ),
    Case(
        "show_statement",
        "SHOW TABLES",
        error="UnsupportedSQLError",
        message="tenantdb runs SELECT, INSERT, UPDATE, DELETE",
    ),
    Case(
        "garbage_text",
        "SELEC * FROM users",
        error="SQLSyntaxError",
        message="check the syntax",
    ),
    Case(
        "garbage_words",
        "this is not sql",
        error="SQLSyntaxError",
        message="is not a SQL statement",
    ),
    # Parameters.
    Case(
        "too_many_parameters",
        "SELECT name FROM users WHERE user_id = %s",
        [1, 2],
        error="ProgrammingError",
        message="1 placeholders but 2 parameters were given",
    ),
    Case(
        "too_few_parameters",
        "SELECT name FROM users WHERE user_id = %s AND name = %s",
        [1],
        error="ProgrammingError",
        message="2 placeholders but 1 parameters were given",
    ),
    Case(
        "named_parameters",
        "SELECT name FROM users WHERE user_id = %(id)s OR user_id = %(other)s",
        {"id": 1, "other": 4},
        places=users(1, 4),
    ),
    Case(
        "named_parameter_used_twice",
        "SELECT name FROM users WHERE user_id = %(id)s OR manager_id = %(id)s",
        {"id": 3},
        places=all_users(),
    ),
    Case(
        "named_parameters_passed_as_sequence",
        "SELECT name FROM users WHERE user_id = %(id)s",
        [1],
        error="ProgrammingError",
        message="pass the parameters as a mapping",
    ),
    Case(
        "named_parameter_missing",
        "SELECT name FROM users WHERE user_id = %(id)s",
        {"user_id": 1},
        error="ProgrammingError",
        message="parameter 'id' is missing",
    ),
    Case(
        "mixed_placeholder_styles",
        "SELECT name FROM users WHERE user_id = %s AND name = %(n)s",
        [1],
        error="ProgrammingError",
        message="use one style per statement",
    ),
    Case(
        "percent_escape_in_like",
        "SELECT name FROM users WHERE name LIKE 'a%%' AND user_id = %s",
        [2],
        places=users(2),
    ),
    Case(
        "placeholder_inside_literal",
        "SELECT name FROM users WHERE name = 'it''s %s' AND user_id = %s",
        [1],
        error="UnsupportedSQLError",
        message="pass the whole value as a parameter",
    ),
    Case(
        "float_hash_key",
        "SELECT name FROM users WHERE user_id = %s",
        [1.5],
        error="RoutingError",
        message="needs an int, str or UUID key",
    ),
    Case(
        "string_key_for_mod_table",
        "SELECT balance FROM accounts WHERE account_id = %s",
        ["07"],  # every backend compares '07' with an integer column as 7
        places=accounts(7),
    ),
    Case(
        "float_string_key_for_mod_table",
        "SELECT balance FROM accounts WHERE account_id = %s",
        ["7.0"],  # 7 on MariaDB and SQLite, an error on PostgreSQL: refused
        error="RoutingError",
        message="pass the key as an int",
    ),
    # Dialect-specific syntax.
    Case(
        "mysql_limit_offset_comma_across_shards",
        "SELECT account_id, balance FROM accounts ORDER BY balance LIMIT 5, 10",
        places=all_accounts(),
        dialects=("mysql",),
    ),
    Case(
        "mysql_limit_offset_comma_params_one_shard",
        "SELECT account_id FROM accounts WHERE account_id = %s ORDER BY balance LIMIT %s, %s",
        [5, 5, 10],
        places=accounts(5),
        dialects=("mysql",),
    ),
    Case(
        "mysql_on_duplicate_key_update",
        "INSERT INTO accounts (account_id, balance) VALUES (%s, %s) "
        "ON DUPLICATE KEY UPDATE balance = balance + VALUES(balance)",
        [5, 10],
        places=accounts(5),
        dialects=("mysql",),
    ),
    Case(
        "mysql_on_duplicate_key_update_moves_key",
        "INSERT INTO accounts (account_id, balance) VALUES (%s, %s) "
        "ON DUPLICATE KEY UPDATE account_id = %s",
        [5, 10, 6],
        error="RoutingError",
        message="leave the sharding key out of the update clause",
        dialects=("mysql",),
    ),
    Case(
        "mysql_backquoted_identifiers",
        "SELECT `user_id`, `name` FROM `users` WHERE `user_id` = %s",
        [2],
        places=users(2),
        dialects=("mysql",),
    ),
    Case(
        "mysql_backslash_escaped_literal",
        "SELECT name FROM users WHERE name = 'it\\'s' AND user_id = %s",
        [2],
        places=users(2),
        dialects=("mysql",),
    ),
    Case(
        "mysql_delete_with_limit_one_shard",
        "DELETE FROM accounts WHERE account_id = %s ORDER BY balance LIMIT 10",
        [1],
        places=accounts(1),
        dialects=("mysql",),
    ),
    Case(
        "postgres_on_conflict_do_update",
        "INSERT INTO accounts (account_id, balance) VALUES (%s, %s) "
        "ON CONFLICT (account_id) DO UPDATE SET balance = EXCLUDED.balance",
        [5, 10],
        places=accounts(5),
        dialects=("postgres", "sqlite"),
    ),
    Case(
        "postgres_on_conflict_moves_key",
        "INSERT INTO accounts (account_id, balance) VALUES (%s, %s) "
        "ON CONFLICT (account_id) DO UPDATE SET account_id = EXCLUDED.account_id",
        [5, 10],
        error="RoutingError",
        message="leave the sharding key out of the update clause",
        dialects=("postgres",),
    ),
    Case(
        "postgres_dollar_quoted_string",
        "UPDATE users SET bio = $$it's 100%% true$$ WHERE user_id = %s",
        [2],
        places=users(2),
        dialects=("postgres",),
    ),
    Case(
        "postgres_placeholder_inside_dollar_quotes",
        "UPDATE users SET bio = $$50%s off$$ WHERE user_id = %s",
        [2],
        error="UnsupportedSQLError",
        message="pass the whole value as a parameter",
        dialects=("postgres",),
    ),
    Case(
        "postgres_double_quoted_identifiers",
        'SELECT "user_id", "name" FROM "users" WHERE "user_id" = %s',
        [2],
        places=users(2),
        dialects=("postgres",),
    ),
    Case(
        "postgres_update_from_binding_table",
        "UPDATE accounts a SET balance = l.amount FROM ledger l "
        "WHERE l.account_id = a.account_id AND a.account_id = %s",
        [3],
        places=accounts(3, tables=("accounts", "ledger")),
        dialects=("postgres",),
    ),
    Case(
        "postgres_native_placeholder_refused",
        "SELECT name FROM users WHERE user_id = $1",
        [2],
        error="UnsupportedSQLError",
        message="write %s or %(name)s placeholders",
        dialects=("postgres",),
    ),
    Case(
        "sqlite_pyformat_becomes_qmark",
        "SELECT name FROM users WHERE user_id = %(id)s OR user_id = %(id)s",
        {"id": 3},
        places=users(3),
        dialects=("sqlite",),
    ),
    Case(
        "sqlite_qmark_input_refused",
        "SELECT name FROM users WHERE user_id = ?",
        [2],
        error="UnsupportedSQLError",
        message="write %s or %(name)s placeholders",
        dialects=("sqlite",),
    ),
)
