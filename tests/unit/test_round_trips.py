"""``core.routing.plan_round_trips``: which physical statements of a multi-target read travel
together, decided from the plan alone (no database)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import tenantdb
from tenantdb.cli._explain import format_plan
from tenantdb.core.routing import (
    STREAM_BATCH_ROWS,
    MergePlan,
    RoutePlan,
    Target,
    plan_round_trips,
    read_mode,
    with_round_trips,
)
from tenantdb.core.routing._round_trips import (
    DEEP_BATCH_FACTOR,
    can_be_branch,
    stream_batch_rows,
)
from tenantdb.core.sql import SortKey


def cluster(dialect: str, shards: int = 8) -> Any:
    url = {
        "postgres": "postgresql://u@127.0.0.1:1/db{n}",
        "mysql": "mysql://u@127.0.0.1:1/db{n}",
        "sqlite": "sqlite:////nonexistent/db{n}.db",
    }[dialect]
    return tenantdb.connect(
        {
            "dialect": dialect,
            "datasources": {f"ds{n}": {"url": url.format(n=n)} for n in range(2)},
            "tables": {
                "ev": {"strategy": "mod", "key": "id", "shards": shards, "tenant_scoped": False},
                "orders": {"strategy": "mod", "key": "id", "shards": shards},
            },
            "tenants": {"acme": {"datasource": "ds0"}},
        }
    )


def plan_dialect(c: Any) -> str:
    return str(c.router.topology.dialect)


@pytest.fixture(params=["postgres", "mysql"])
def networked(request: pytest.FixtureRequest) -> Any:
    with cluster(request.param) as c:
        yield c


def test_small_limit_goes_as_one_statement_per_datasource(networked: Any) -> None:
    plan = networked.explain("SELECT id, x FROM ev WHERE x > %s ORDER BY x LIMIT 10", (5,))
    trips = plan_round_trips(plan, plan_dialect(networked))
    assert trips.mode == "fetch"
    assert [trip.datasource for trip in trips.round_trips] == ["ds0", "ds1"]
    assert [trip.targets for trip in trips.round_trips] == [(0, 2, 4, 6), (1, 3, 5, 7)]
    for trip in trips.round_trips:
        branches = [plan.targets[i] for i in trip.targets]
        # each branch is the table's own statement, parenthesised, in target order
        assert trip.sql == " UNION ALL ".join(f"({t.sql})" for t in branches)
        assert trip.params == tuple(p for t in branches for p in t.params)
        assert trip.needs_sort  # UNION ALL promises no order


def test_unordered_combination_needs_no_sort(networked: Any) -> None:
    plan = networked.explain("SELECT COUNT(*), MAX(x) FROM ev")
    trips = plan_round_trips(plan, plan_dialect(networked))
    assert trips.mode == "fetch"
    assert len(trips.round_trips) == 2
    assert not any(trip.needs_sort for trip in trips.round_trips)


def test_sqlite_keeps_one_statement_per_table() -> None:
    with cluster("sqlite") as c:
        plan = c.explain("SELECT id FROM ev ORDER BY x LIMIT 10")
    trips = plan_round_trips(plan, "sqlite")
    assert trips.mode == "fetch"
    assert [trip.targets for trip in trips.round_trips] == [(i,) for i in (0, 2, 4, 6, 1, 3, 5, 7)]
    assert [trip.sql for trip in trips.round_trips] == [
        plan.targets[i].sql for i in (0, 2, 4, 6, 1, 3, 5, 7)
    ]
    assert not any(trip.needs_sort for trip in trips.round_trips)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM ev ORDER BY x",  # no LIMIT
        f"SELECT id FROM ev ORDER BY x LIMIT 10 OFFSET {STREAM_BATCH_ROWS}",  # too many rows
    ],
)
def test_ordered_streams_keep_one_cursor_per_table(networked: Any, sql: str) -> None:
    """A cursor over a UNION ALL gives no sorted run per table: ordered reads keep theirs."""
    plan = networked.explain(sql)
    trips = plan_round_trips(plan, plan_dialect(networked))
    assert trips.mode == "stream"
    assert [trip.targets for trip in trips.round_trips] == [(i,) for i in (0, 2, 4, 6, 1, 3, 5, 7)]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT g, COUNT(*) FROM ev GROUP BY g ORDER BY g",  # the merge groups, then sorts
        "SELECT id, x FROM ev WHERE x > 3",  # no order to keep
    ],
)
def test_unordered_streams_open_one_cursor_per_datasource(networked: Any, sql: str) -> None:
    plan = networked.explain(sql)
    trips = plan_round_trips(plan, plan_dialect(networked))
    assert trips.mode == "stream"
    assert [trip.targets for trip in trips.round_trips] == [(0, 2, 4, 6), (1, 3, 5, 7)]
    assert not any(trip.needs_sort for trip in trips.round_trips)
    with cluster("sqlite") as c:
        alone = plan_round_trips(c.explain(sql), "sqlite")
    assert len(alone.round_trips) == 8


def test_read_mode_follows_the_bound() -> None:
    order = (SortKey(0, False, False),)
    assert read_mode(MergePlan(group_by=())) == "fetch"  # an aggregate without GROUP BY
    assert read_mode(MergePlan(order_by=order, limit=10, offset=990)) == "fetch"
    assert read_mode(MergePlan(order_by=order, limit=10, offset=991)) == "stream"
    assert read_mode(MergePlan(order_by=order, limit=10, offset=991), batch_rows=1001) == "fetch"
    assert read_mode(MergePlan(group_by=(0,), limit=1)) == "stream"
    assert read_mode(MergePlan(order_by=order)) == "stream"


@pytest.mark.parametrize(
    ("sql", "branch"),
    [
        ("SELECT id FROM ev_0 ORDER BY x LIMIT %s", True),
        ("  select id from ev_0", True),
        ("SELECT id FROM ev_0 FOR UPDATE", False),
        ("SELECT id FROM ev_0 FOR NO KEY UPDATE", False),
        ("SELECT id FROM ev_0 FOR SHARE", False),
        ("SELECT id FROM ev_0 LOCK IN SHARE MODE", False),
        ("SELECT id INTO copy FROM ev_0", False),
        ("WITH a AS (SELECT 1) SELECT * FROM a", False),
        ("SELECT 1; SELECT 2", False),
    ],
)
def test_what_may_be_a_branch(sql: str, branch: bool) -> None:
    assert can_be_branch(sql) is branch


def test_statements_that_cannot_be_branches_are_not_combined() -> None:
    targets = tuple(
        Target("ds0", "primary", f"SELECT id FROM ev_{i} FOR UPDATE", (), {"ev": f"ev_{i}"})
        for i in range(3)
    )
    plan = RoutePlan("select", targets, MergePlan(limit=5), None, True)
    trips = plan_round_trips(plan, "postgres")
    assert [trip.targets for trip in trips.round_trips] == [(0,), (1,), (2,)]


def test_a_lone_table_is_sent_as_is(networked: Any) -> None:
    with cluster(plan_dialect(networked), shards=2) as c:
        plan = c.explain("SELECT id FROM ev ORDER BY x LIMIT 3")
    trips = plan_round_trips(plan, plan_dialect(c))
    assert [(trip.sql, trip.needs_sort) for trip in trips.round_trips] == [
        (target.sql, False) for target in plan.targets
    ]


def test_tenant_confinement_is_in_every_branch(networked: Any) -> None:
    plan = networked.explain("SELECT id FROM orders ORDER BY id LIMIT 5", tenant="acme")
    trips = plan_round_trips(plan, plan_dialect(networked))
    for trip in trips.round_trips:
        assert trip.sql.count("tenant_id") == len(trip.targets)
        assert trip.params.count("acme") == len(trip.targets)


def test_plan_without_merge_is_refused() -> None:
    target = Target("ds0", "primary", "SELECT 1", (), {})
    with pytest.raises(ValueError, match="multi-target"):
        plan_round_trips(RoutePlan("select", (target,), None, None, True), "postgres")
    plan = RoutePlan("select", (target,), None, None, True)
    assert with_round_trips(plan, "postgres") is plan


def test_explain_shows_round_trips(networked: Any) -> None:
    plan = networked.explain("SELECT id FROM ev ORDER BY x LIMIT 10")
    shown = json.loads(json.dumps(plan.to_dict()))["round_trips"]
    assert shown == {
        "mode": "fetch",
        "count": 2,
        "per_datasource": {"ds0": 1, "ds1": 1},
        "together": [
            {"datasource": "ds0", "targets": [0, 2, 4, 6]},
            {"datasource": "ds1", "targets": [1, 3, 5, 7]},
        ],
    }
    text = format_plan(plan)
    assert "round trips: 2 (fetch; ds0: 1, ds1: 1)" in text
    assert "together: ds0 [0, 2, 4, 6]; ds1 [1, 3, 5, 7]" in text
    point = networked.explain("SELECT id FROM ev WHERE id = %s", (3,))
    assert "round_trips" not in point.to_dict()


def test_parameters_follow_their_branches() -> None:
    targets = tuple(
        Target("ds0", "primary", f"SELECT id FROM ev_{i} WHERE id > %s LIMIT %s", (i, 5), {})
        for i in range(3)
    )
    plan = RoutePlan("select", targets, MergePlan(limit=5), None, True)
    [trip] = plan_round_trips(plan, "mysql").round_trips
    assert trip.params == (0, 5, 1, 5, 2, 5)
    assert trip.sql.index("ev_0") < trip.sql.index("ev_1") < trip.sql.index("ev_2")


def test_a_deep_limit_fetches_each_tables_share_at_once() -> None:
    order = (SortKey(0, False, False),)
    deep = MergePlan(order_by=order, limit=10, offset=50_000)
    assert stream_batch_rows(deep, 16) == math.ceil(50_010 * 1.1 / 16)
    assert stream_batch_rows(deep, 16, batch_rows=5000) == 5000
    bottomless = MergePlan(order_by=order, limit=10, offset=10**9)
    assert stream_batch_rows(bottomless, 16) == DEEP_BATCH_FACTOR * STREAM_BATCH_ROWS
    assert stream_batch_rows(MergePlan(order_by=order, limit=1000, offset=1000), 16) == 1000
    assert stream_batch_rows(MergePlan(group_by=(0,)), 16) == STREAM_BATCH_ROWS
    assert stream_batch_rows(MergePlan(order_by=order), 16) == STREAM_BATCH_ROWS


def test_explain_shows_the_stream_batch(networked: Any) -> None:
    plan = networked.explain("SELECT id FROM ev ORDER BY x LIMIT 10 OFFSET 50000")
    shown = plan.to_dict()["round_trips"]
    assert shown["mode"] == "stream"
    assert shown["batch_rows"] == math.ceil(50_010 * 1.1 / 8)


def test_explain_decides_with_the_clusters_stream_batch() -> None:
    config = cluster("postgres").config
    sql = "SELECT id FROM ev ORDER BY x LIMIT 10 OFFSET 20"
    with tenantdb.connect(config, stream_batch_size=20) as small:
        assert small.explain(sql).to_dict()["round_trips"]["mode"] == "stream"
    with tenantdb.connect(config, stream_batch_size=30) as enough:
        assert enough.explain(sql).to_dict()["round_trips"]["mode"] == "fetch"
