"""PostgreSQL's ``key = ANY(<array>)`` prunes shards like ``key IN (...)`` (issue 14)."""

from __future__ import annotations

import pytest
import sqlglot

import tenantdb
from tenantdb.core.sql._predicates import ANY, Atom, ColumnName, Const, Param, extract


def _where(sql: str) -> sqlglot.exp.Expr:
    tree = sqlglot.parse_one(sql, read="postgres")
    return tree.args["where"].this


def shards(plan: tenantdb.RoutePlan) -> list[str]:
    return sorted(t.tables["accounts"] for t in plan.targets)


KEY = ColumnName(None, "account_id")


def test_an_array_parameter_is_one_in_array_atom() -> None:
    where = _where("SELECT * FROM accounts WHERE account_id = ANY(:tdbp0 )")
    assert extract(where) == Atom(KEY, "in_array", (Param(0),))
    cast = _where("SELECT * FROM accounts WHERE account_id = ANY(:tdbp0::int[])")
    assert extract(cast) == Atom(KEY, "in_array", (Param(0),))


def test_a_written_out_array_is_an_in_list() -> None:
    where = _where("SELECT * FROM accounts WHERE account_id = ANY(ARRAY[1, :tdbp0 , NULL])")
    assert extract(where) == Atom(KEY, "in", (Const(1), Param(0)))


@pytest.mark.parametrize(
    "condition",
    [
        "account_id = ANY(SELECT account_id FROM ledger)",
        "account_id = ANY(other_column)",
        "account_id > ANY(:tdbp0 )",
        "account_id = ANY(ARRAY[other_column])",
        "account_id = ANY(ARRAY[1] || :tdbp0 )",
    ],
)
def test_other_any_shapes_constrain_nothing(condition: str) -> None:
    assert extract(_where(f"SELECT * FROM accounts WHERE {condition}")) is ANY


def test_any_of_a_list_parameter_prunes_like_in(cluster: tenantdb.Cluster) -> None:
    sql = "SELECT * FROM accounts WHERE account_id = ANY(%s)"
    assert shards(cluster.explain(sql, [[1, 5]])) == ["accounts_1"]
    assert shards(cluster.explain(sql, [(1, 2, None)])) == ["accounts_1", "accounts_2"]
    in_list = cluster.explain("SELECT * FROM accounts WHERE account_id IN (%s, %s)", [1, 2])
    assert shards(cluster.explain(sql, [[1, 2]])) == shards(in_list)
    # The list travels whole to each shard it prunes to, as IN lists do.
    assert [t.params for t in cluster.explain(sql, [[1, 2]]).targets] == [([1, 2],)] * 2


def test_any_combines_with_other_conditions(cluster: tenantdb.Cluster) -> None:
    sql = "SELECT * FROM accounts WHERE account_id = ANY(%s) AND account_id IN (2, 3)"
    assert shards(cluster.explain(sql, [[1, 2]])) == ["accounts_2"]
    sql = "SELECT * FROM accounts WHERE account_id = ANY(%s) OR account_id = %s"
    assert shards(cluster.explain(sql, [[1], 3])) == ["accounts_1", "accounts_3"]


def test_an_empty_list_matches_nothing_and_runs_on_one_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = ANY(%s)", [[]])
    assert len(plan.targets) == 1


def test_a_value_that_is_not_a_list_scans_every_shard(cluster: tenantdb.Cluster) -> None:
    plan = cluster.explain("SELECT * FROM accounts WHERE account_id = ANY(%s)", ["{1,2}"])
    assert len(plan.targets) == 4


def test_a_write_keyed_by_any_is_a_keyed_write(cluster: tenantdb.Cluster) -> None:
    sql = "DELETE FROM accounts WHERE account_id = ANY(%s)"
    assert shards(cluster.explain(sql, [[1, 2]])) == ["accounts_1", "accounts_2"]
    with pytest.raises(tenantdb.RoutingError, match="without account_id"):
        cluster.explain(sql, ["{1,2}"])  # no keys tenantdb can read: as without a key
