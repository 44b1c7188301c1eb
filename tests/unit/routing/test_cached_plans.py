"""Cached routes must never carry one call's values, tenant or verdict into another call.

The router memoises per SQL text what a repeated statement starts from, and caches the
targets of multi-target routes as skeletons re-bound on every call (issue 16). These tests
route the same text twice with something different the second time (parameters, LIMIT,
tenant, tenant status, clock, schema layout) and check that the second plan is the one an
uncached router gives: each would fail if a cached plan were reused as it was.
"""

from __future__ import annotations

import dataclasses
import datetime
import zlib
from typing import Any

import pytest

import tenantdb
from tenantdb import RoutingError, TenantIsolationError, TenantStatusError, UnsupportedSQLError
from tenantdb.core.routing import SchemaLayout
from tenantdb.core.routing._skeleton import Part, Skeleton, Spread, SpreadCache
from tenantdb.core.tenancy import Tenant

from .conftest import TODAY, cluster_config


def fresh(config: dict[str, Any] | None = None, **kwargs: Any) -> tenantdb.Cluster:
    return tenantdb.connect(config or cluster_config(), **{"today": lambda: TODAY, **kwargs})


def uncached(cluster: tenantdb.Cluster, sql: str, params: Any = None, **kwargs: Any) -> Any:
    """The plan a new router (empty caches, same topology) gives."""
    return tenantdb.core.routing.Router(cluster.topology).route(sql, params, **kwargs)


def test_a_cached_scan_is_bound_with_each_calls_parameters() -> None:
    cluster = fresh()
    sql = "SELECT account_id FROM ledger WHERE amount > %s ORDER BY amount LIMIT %s OFFSET %s"
    first = cluster.router.route(sql, (10, 5, 2))
    second = cluster.router.route(sql, (99, 7, 1))
    assert [t.params for t in first.targets] == [(10, 7)] * 4  # LIMIT offset + limit
    assert [t.params for t in second.targets] == [(99, 8)] * 4
    assert second.merge is not None
    assert (second.merge.limit, second.merge.offset) == (7, 1)
    assert second == uncached(cluster, sql, (99, 7, 1))
    assert [t.sql for t in first.targets] == [t.sql for t in second.targets]


def test_a_cached_in_list_route_follows_the_keys() -> None:
    cluster = fresh()
    sql = "SELECT * FROM accounts WHERE account_id IN (%s, %s)"
    assert [t.tables["accounts"] for t in cluster.router.route(sql, (1, 2)).targets] == [
        "accounts_1",
        "accounts_2",
    ]
    again = cluster.router.route(sql, (7, 4))
    assert [t.tables["accounts"] for t in again.targets] == ["accounts_0", "accounts_3"]
    assert [t.params for t in again.targets] == [(7, 4), (7, 4)]


def test_a_new_period_invalidates_a_cached_scan() -> None:
    day = [TODAY]
    config = cluster_config()
    config["tables"]["metrics"] = {
        "strategy": "time_range",
        "key": "day",
        "interval": "day",
        "start": "2026-11-01",
        "pre_create": 1,
        "tenant_scoped": False,
    }
    cluster = tenantdb.connect(config, today=lambda: day[0])
    sql = "SELECT COUNT(*) FROM metrics"
    before = cluster.router.route(sql)
    assert before.targets[-1].tables["metrics"] == "metrics_20261122"
    day[0] = TODAY + datetime.timedelta(days=1)
    after = cluster.router.route(sql)
    assert len(after.targets) == len(before.targets) + 1
    assert after.targets[-1].tables["metrics"] == "metrics_20261123"
    # And back: the cached plan of the earlier day is the earlier day's.
    day[0] = TODAY
    assert cluster.router.route(sql) == before


def test_a_write_guard_holds_on_every_call_of_a_cached_text() -> None:
    cluster = fresh()
    sql = "DELETE FROM ledger WHERE amount < %s"
    admin = cluster.router.route(sql, (1,), admin=True)
    assert len(admin.targets) == 4
    for _ in range(2):
        with pytest.raises(RoutingError, match="would touch 4 shards"):
            cluster.router.route(sql, (1,))
    assert len(cluster.router.route(sql, (1,), admin=True).targets) == 4


def test_an_unmergeable_scan_is_refused_on_every_call_but_one_shard_still_routes() -> None:
    cluster = fresh()
    sql = (
        "SELECT account_id, ROW_NUMBER() OVER (ORDER BY balance) FROM accounts "
        "WHERE account_id IN (%s, %s)"
    )
    assert len(cluster.router.route(sql, (1, 5)).targets) == 1  # both on accounts_1
    for _ in range(2):
        with pytest.raises(UnsupportedSQLError, match="window functions"):
            cluster.router.route(sql, (1, 2))


def test_confinement_is_applied_per_call_with_the_calls_tenant() -> None:
    cluster = fresh()
    sql = "SELECT id, total FROM orders WHERE total > %s"
    acme = cluster.tenants.get("acme")
    other = dataclasses.replace(acme, id="other")
    first = cluster.router.route(sql, (5,), tenant=acme)
    second = cluster.router.route(sql, (6,), tenant=other)
    assert "tenant_id" in first.targets[0].sql
    assert sorted(map(str, first.targets[0].params)) == ["5", "acme"]
    assert sorted(map(str, second.targets[0].params)) == ["6", "other"]
    assert second.tenant == "other"
    # The schema tenant reads its own schema, with no condition: another view of the text.
    globex = cluster.router.route(sql, (7,), tenant=cluster.tenants.get("globex"))
    assert globex.targets[0].tables == {"orders": "globex.orders"}
    assert globex.targets[0].params == (7,)


def test_a_memoised_text_still_checks_the_tenants_status() -> None:
    cluster = fresh()
    acme = cluster.tenants.get("acme")
    read = "SELECT id FROM orders WHERE id = %s"
    write = "UPDATE orders SET total = %s WHERE id = %s"
    cluster.router.route(read, (1,), tenant=acme)
    cluster.router.route(write, (2, 1), tenant=acme)
    suspended = dataclasses.replace(acme, status="suspended")
    with pytest.raises(TenantStatusError, match="suspended"):
        cluster.router.route(read, (1,), tenant=suspended)
    read_only = dataclasses.replace(acme, status="read_only")
    assert cluster.router.route(read, (1,), tenant=read_only).targets
    with pytest.raises(TenantStatusError, match="read-only"):
        cluster.router.route(write, (2, 1), tenant=read_only)


def test_a_memoised_text_still_checks_a_tenants_written_id_and_reach() -> None:
    cluster = fresh()
    acme = cluster.tenants.get("acme")
    insert = "INSERT INTO orders (id, tenant_id) VALUES (%s, %s)"
    cluster.router.route(insert, (1, "acme"), tenant=acme)
    with pytest.raises(TenantIsolationError, match="other than the session's"):
        cluster.router.route(insert, (1, "globex"), tenant=acme)
    own = Tenant(id="solo", datasource="ds0", isolation="database")
    scan = "SELECT * FROM users WHERE user_id IN (%s, %s)"
    on_ds0 = [k for k in range(20) if zlib.crc32(str(k).encode()) % 8 % 2 == 0]
    on_ds1 = [k for k in range(20) if zlib.crc32(str(k).encode()) % 8 % 2 == 1]
    near = cluster.router.route(scan, (on_ds0[0], on_ds0[1]), tenant=own)
    assert {t.datasource for t in near.targets} == {"ds0"}
    with pytest.raises(TenantIsolationError, match="database of its own"):
        cluster.router.route(scan, (on_ds0[0], on_ds1[0]), tenant=own)


def test_the_same_text_in_another_kind_of_session_is_routed_for_that_session() -> None:
    cluster = fresh()
    sql = "SELECT id FROM orders"
    acme = cluster.tenants.get("acme")
    confined = cluster.router.route(sql, tenant=acme)
    assert confined.targets[0].params == ("acme",)
    admin = cluster.router.route(sql, admin=True)
    assert len(admin.targets) == 2
    assert all(t.params == () for t in admin.targets)
    with pytest.raises(RoutingError, match="placed per tenant"):
        cluster.router.route(sql)
    assert cluster.router.route(sql, tenant=acme) == confined


def test_an_admin_scan_follows_a_new_schema_layout() -> None:
    cluster = fresh()
    sql = "SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id"
    one = SchemaLayout({("ds1", "globex"): "globex"})
    two = SchemaLayout({("ds1", "globex"): "globex", ("ds0", "initech"): "initech"})
    first = cluster.router.route(sql, admin=True, schemas=one)
    second = cluster.router.route(sql, admin=True, schemas=two)
    assert len(first.targets) == 3
    assert len(second.targets) == 4
    assert "initech" in second.targets[1].sql or "initech" in str(second.targets[1].params)
    assert second == uncached(cluster, sql, admin=True, schemas=two)
    assert cluster.router.route(sql, admin=True, schemas=one) == first


def test_spread_cache_is_bounded_by_targets_and_evicts_the_least_recent() -> None:
    cache = SpreadCache(max_targets=5)
    spread = Spread(((0, "ds0"), (1, "ds1")))
    cache.put("a", spread)
    cache.put("b", spread)
    assert cache.get("a") is spread  # a is now the most recent
    cache.put("c", spread)
    assert cache.get("b") is None
    assert cache.get("a") is spread
    assert cache.get("c") is spread
    cache.put("huge", Spread(tuple((i, "ds0") for i in range(6))))
    assert cache.get("huge") is None
    assert repr(cache) == "<SpreadCache [2 plans | 4/5 targets]>"


def test_a_skeleton_binds_each_targets_own_recipe() -> None:
    parts = [
        Part("ds0", "primary", "q0", {}, (0, -1)),
        Part("ds1", "primary", "q1", {}, (1, -2), owner="beta"),
    ]
    skeleton = Skeleton(parts)
    targets = skeleton.bind(("x", "y"), 10)
    assert [t.params for t in targets] == [("x", 10), ("y", "beta")]
    shared = Skeleton(
        [Part("ds0", "replica", "q", {}, (1, 0)), Part("ds1", "replica", "q", {}, (1, 0))]
    )
    assert [t.params for t in shared.bind(("x", "y"), None)] == [("y", "x"), ("y", "x")]
    assert repr(shared) == "<Skeleton [2 targets | one parameter list]>"


def test_statements_without_sharded_tables_follow_each_calls_tenant() -> None:
    cluster = fresh()
    acme = cluster.tenants.get("acme")  # ds0
    other = dataclasses.replace(acme, id="other", datasource="ds1")
    globex = cluster.tenants.get("globex")  # ds1, schema globex
    insert = "INSERT INTO orders (id, total) VALUES (%s, %s)"
    for _ in range(2):
        assert cluster.router.route(insert, (1, 5), tenant=acme).targets[0].datasource == "ds0"
        moved = cluster.router.route(insert, (2, 6), tenant=other).targets[0]
        assert (moved.datasource, moved.params[-1]) == ("ds1", "other")
        schema = cluster.router.route(insert, (3, 7), tenant=globex).targets[0]
        assert (schema.datasource, schema.tables) == ("ds1", {"orders": "globex.orders"})
    read = "SELECT name FROM countries WHERE code = %s"
    for tenant, datasource in ((acme, "ds0"), (other, "ds1"), (acme, "ds0")):
        assert cluster.router.route(read, ("x",), tenant=tenant).targets[0].datasource == (
            datasource
        )
