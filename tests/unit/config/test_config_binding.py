"""binding_tables: groups of co-located tables must really be co-located."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.errors import ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]

RULE = "tables bound together must have the same strategy, shard count and datasources"


def _bound(doc: Doc, groups: list[list[str]], **tables: dict[str, Any]) -> Doc:
    doc["tables"] = tables
    doc["binding_tables"] = groups
    return doc


def _mod(shards: int = 4, **extra: Any) -> dict[str, Any]:
    return {"strategy": "mod", "key": "account_id", "shards": shards, **extra}


def test_bound_tables_are_kept(doc: Doc) -> None:
    document = _bound(doc, [["accounts", "ledger"]], accounts=_mod(), ledger=_mod())
    assert load_config(document, env={}).binding_tables == (("accounts", "ledger"),)


def test_time_range_tables_may_be_bound(doc: Doc) -> None:
    table = {"strategy": "time_range", "key": "ts", "interval": "day", "start": "2026-01-01"}
    document = _bound(doc, [["a", "b"]], a=table, b=dict(table, key="other_ts"))
    assert load_config(document, env={}).binding_tables == (("a", "b"),)


def test_disagreeing_shards(doc: Doc, problem_at: ProblemAt) -> None:
    document = _bound(doc, [["orders", "order_items"]], orders=_mod(4), order_items=_mod(8))
    message = problem_at(document, "binding_tables[0]")
    assert message == f"binding tables orders and order_items disagree on shards (4 vs 8); {RULE}"


def test_disagreeing_datasources(doc: Doc, problem_at: ProblemAt) -> None:
    document = _bound(doc, [["a", "b"]], a=_mod(), b=_mod(datasources=["ds1", "ds0"]))
    message = problem_at(document, "binding_tables[0]")
    assert (
        message == f"binding tables a and b disagree on datasources (ds0, ds1 vs ds1, ds0); {RULE}"
    )


def test_disagreeing_strategy(doc: Doc, problem_at: ProblemAt) -> None:
    other = {"strategy": "hash_mod", "key": "account_id", "shards": 4}
    message = problem_at(_bound(doc, [["a", "b"]], a=_mod(), b=other), "binding_tables[0]")
    assert message == f"binding tables a and b disagree on strategy (mod vs hash_mod); {RULE}"


@pytest.mark.parametrize(
    ("setting", "first", "second", "shown"),
    [
        ("boundaries", [10, 20], [10, 30], "10, 20 vs 10, 30"),
        ("virtual_nodes", 64, 128, "64 vs 128"),
        ("weights", {"ds0": 2}, {"ds0": 3}, "ds0=2.0, ds1=1.0 vs ds0=3.0, ds1=1.0"),
        ("interval", "day", "month", "day vs month"),
        ("start", "2026-01-01", "2026-02-01", "2026-01-01 vs 2026-02-01"),
    ],
)
def test_disagreeing_strategy_settings(
    doc: Doc, problem_at: ProblemAt, setting: str, first: Any, second: Any, shown: str
) -> None:
    strategy = {
        "boundaries": {"strategy": "range", "key": "id"},
        "virtual_nodes": {"strategy": "consistent_hash", "key": "id"},
        "weights": {"strategy": "consistent_hash", "key": "id"},
        "interval": {"strategy": "time_range", "key": "ts", "start": "2026-01-01"},
        "start": {"strategy": "time_range", "key": "ts", "interval": "day"},
    }[setting]
    document = _bound(
        doc, [["a", "b"]], a={**strategy, setting: first}, b={**strategy, setting: second}
    )
    message = problem_at(document, "binding_tables[0]")
    assert message == f"binding tables a and b disagree on {setting} ({shown}); {RULE}"


@pytest.mark.parametrize("strategy", ["tenant", "broadcast", "single"])
def test_only_sharded_tables_can_be_bound(doc: Doc, problems: Problems, strategy: str) -> None:
    document = _bound(doc, [["a", "b"]], a={"strategy": strategy}, b={"strategy": strategy})
    found = problems(document)
    assert [problem.path for problem in found] == ["binding_tables[0]", "binding_tables[0]"]
    assert found[0].message.startswith(
        f"table a has strategy '{strategy}', which cannot be bound; only mod, hash_mod, range,"
        " consistent_hash and time_range tables can"
    )
    assert found[1].message.startswith(f"table b has strategy '{strategy}'")


def test_group_needs_two_tables(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_bound(doc, [["a"]], a=_mod()), "binding_tables[0]")
    assert message.startswith("a binding group needs at least two tables, this one has 1")


def test_bound_table_must_exist(doc: Doc, problem_at: ProblemAt) -> None:
    document = _bound(doc, [["a", "b"]], a=_mod())
    assert problem_at(document, "binding_tables[0][1]") == "table 'b' is not defined; defined: a"


def test_table_in_two_groups(doc: Doc, problem_at: ProblemAt) -> None:
    document = _bound(doc, [["a", "b"], ["c", "a"]], a=_mod(), b=_mod(), c=_mod())
    message = problem_at(document, "binding_tables[1][1]")
    assert message == (
        "table 'a' is already listed in binding_tables[0]; a table may belong to one binding"
        " group only"
    )


def test_table_twice_in_one_group(doc: Doc, problem_at: ProblemAt) -> None:
    document = _bound(doc, [["a", "b", "a"]], a=_mod(), b=_mod())
    message = problem_at(document, "binding_tables[0][2]")
    assert message.startswith("table 'a' is already listed in this group")


def test_binding_tables_must_be_lists_of_names(doc: Doc, problem_at: ProblemAt) -> None:
    doc["binding_tables"] = ["a,b"]
    assert problem_at(doc, "binding_tables[0]") == "expected a list, got a string"


def test_invalid_member_table_skips_the_group_comparison(doc: Doc, problems: Problems) -> None:
    document = _bound(doc, [["a", "b"]], a=_mod(), b=_mod(8, key="bad key"))
    assert [problem.path for problem in problems(document)] == ["tables.b.key"]
