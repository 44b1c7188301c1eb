"""Tables: every strategy's required and forbidden settings, and how they are resolved."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import TableConfig, load_config
from tenantdb.errors import ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]

STRATEGIES = "tenant, mod, hash_mod, consistent_hash, range, time_range, broadcast, single"


def _table(doc: Doc, **settings: Any) -> TableConfig:
    doc["tables"] = {"t": settings}
    return load_config(doc, env={}).tables["t"]


def _with_table(doc: Doc, **settings: Any) -> Doc:
    doc["tables"] = {"t": settings}
    return doc


# -- resolution --------------------------------------------------------------------------


def test_tenant_table_is_resolved(doc: Doc) -> None:
    table = _table(doc, strategy="tenant")
    assert table == TableConfig(strategy="tenant", tenant_scoped=True)
    assert table.datasources == ()
    assert table.key is None


@pytest.mark.parametrize("strategy", ["mod", "hash_mod"])
def test_mod_tables_default_to_every_datasource(doc: Doc, strategy: str) -> None:
    table = _table(doc, strategy=strategy, key="user_id", shards=8)
    assert (table.key, table.shards, table.datasources) == ("user_id", 8, ("ds0", "ds1"))
    assert table.tenant_scoped is True


def test_datasources_keep_the_written_order(doc: Doc) -> None:
    table = _table(doc, strategy="mod", key="id", shards=2, datasources=["ds1", "ds0"])
    assert table.datasources == ("ds1", "ds0")


def test_tenant_scoped_may_be_set_on_sharded_tables(doc: Doc) -> None:
    assert _table(doc, strategy="broadcast", tenant_scoped=True).tenant_scoped is True


_STRATEGY_SETTINGS: dict[str, Doc] = {
    "tenant": {},
    "mod": {"key": "k", "shards": 2},
    "hash_mod": {"key": "k", "shards": 2},
    "consistent_hash": {"key": "k"},
    "range": {"key": "k", "boundaries": [10]},
    "time_range": {"key": "k", "interval": "month", "start": "2026-01-01"},
    "broadcast": {},
    "single": {},
}


@pytest.mark.parametrize("strategy", list(_STRATEGY_SETTINGS))
def test_every_table_but_broadcast_is_tenant_scoped_unless_it_says_not(
    doc: Doc, strategy: str
) -> None:
    # Secure by default: a table left unmarked is confined in tenant sessions, so rows that
    # carry a tenant id cannot be read across tenants by forgetting a setting.
    settings = _STRATEGY_SETTINGS[strategy]
    unmarked = _table(doc, strategy=strategy, **settings)
    assert unmarked.tenant_scoped is (strategy != "broadcast")
    assert _table(doc, strategy=strategy, tenant_scoped=True, **settings).tenant_scoped is True
    if strategy != "tenant":
        shared = _table(doc, strategy=strategy, tenant_scoped=False, **settings)
        assert shared.tenant_scoped is False


def test_range_shards_are_derived_from_boundaries(doc: Doc) -> None:
    table = _table(doc, strategy="range", key="invoice_id", boundaries=[100, 200, 300])
    assert (table.shards, table.boundaries) == (4, (100, 200, 300))


def test_range_shards_may_be_written_when_consistent(doc: Doc) -> None:
    assert _table(doc, strategy="range", key="k", boundaries=["g", "p"], shards=3).shards == 3


def test_time_range_is_resolved(doc: Doc) -> None:
    table = _table(
        doc, strategy="time_range", key="created_at", interval="month", start="2026-01-01"
    )
    assert (table.interval, table.start, table.pre_create) == (
        "month",
        datetime.date(2026, 1, 1),
        1,
    )
    assert table.datasources == ("ds0", "ds1")


def test_consistent_hash_weights_are_filled_in(doc: Doc) -> None:
    table = _table(doc, strategy="consistent_hash", key="session_id", weights={"ds1": 2})
    assert table.virtual_nodes == 512
    assert table.weights == {"ds0": 1.0, "ds1": 2.0}


def test_single_table_defaults_to_the_default_datasource(doc: Doc) -> None:
    doc["default_datasource"] = "ds1"
    table = _table(doc, strategy="single")
    assert (table.datasource, table.datasources) == ("ds1", ("ds1",))


def test_single_table_may_name_its_datasource(doc: Doc) -> None:
    table = _table(doc, strategy="single", datasource="ds1")
    assert (table.datasource, table.datasources) == ("ds1", ("ds1",))


def test_table_names_keep_their_case(doc: Doc) -> None:
    doc["tables"] = {"UserEvents": {"strategy": "broadcast"}}
    assert list(load_config(doc, env={}).tables) == ["UserEvents"]


# -- strategy and names ------------------------------------------------------------------


def test_unknown_strategy_lists_the_allowed_ones(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_table(doc, strategy="hashmod", key="id"), "tables.t.strategy")
    assert (
        message == f"unknown strategy 'hashmod'; did you mean 'hash_mod'? use one of: {STRATEGIES}"
    )


def test_strategy_is_required(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_table(doc, key="id"), "tables.t.strategy")
    assert message.startswith("required key 'strategy' is missing; every table needs one")


def test_table_name_must_be_an_identifier(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tables"] = {"user-events": {"strategy": "broadcast"}}
    message = problem_at(doc, "tables.user-events")
    assert message.startswith("table name 'user-events' is not a plain SQL identifier")


def test_table_names_differing_only_in_case(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tables"] = {"orders": {"strategy": "tenant"}, "Orders": {"strategy": "tenant"}}
    message = problem_at(doc, "tables.Orders")
    assert message.startswith("table name 'Orders' differs from 'orders' only in case")


def test_table_must_be_a_table(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tables"] = {"t": "mod"}
    assert problem_at(doc, "tables.t") == "expected a table of keys and values, got a string"


# -- key and shards ----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["mod", "hash_mod", "consistent_hash", "range", "time_range"])
def test_key_is_required(doc: Doc, problems: Problems, strategy: str) -> None:
    found = problems(_with_table(doc, strategy=strategy))
    messages = [problem.message for problem in found if problem.path == "tables.t.key"]
    assert messages == [
        f"strategy '{strategy}' needs the sharding key column, e.g. key = \"user_id\""
    ]


@pytest.mark.parametrize("strategy", ["tenant", "broadcast", "single"])
def test_key_is_refused_where_rows_are_not_placed_by_key(
    doc: Doc, problem_at: ProblemAt, strategy: str
) -> None:
    message = problem_at(_with_table(doc, strategy=strategy, key="id"), "tables.t.key")
    assert message == (
        "only mod, hash_mod, consistent_hash, range and time_range tables take 'key';"
        f" remove it from this {strategy} table"
    )


def test_key_must_be_an_identifier(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_table(doc, strategy="mod", key="user id", shards=2), "tables.t.key")
    assert message.startswith("'user id' is not a plain SQL identifier")


@pytest.mark.parametrize("strategy", ["mod", "hash_mod"])
def test_shards_are_required(doc: Doc, problem_at: ProblemAt, strategy: str) -> None:
    message = problem_at(_with_table(doc, strategy=strategy, key="id"), "tables.t.shards")
    assert message == f"strategy '{strategy}' needs the number of shards, e.g. shards = 4"


def test_shards_must_be_at_least_one(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_table(doc, strategy="mod", key="id", shards=0), "tables.t.shards")
    assert message == "must be at least 1, got 0"


@pytest.mark.parametrize(
    ("strategy", "extra"),
    [
        ("tenant", {}),
        ("broadcast", {}),
        ("single", {}),
        ("consistent_hash", {"key": "id"}),
        ("time_range", {"key": "ts", "interval": "day", "start": "2026-01-01"}),
    ],
)
def test_shards_are_refused_elsewhere(
    doc: Doc, problem_at: ProblemAt, strategy: str, extra: dict[str, Any]
) -> None:
    message = problem_at(_with_table(doc, strategy=strategy, shards=4, **extra), "tables.t.shards")
    assert message.startswith("only mod and hash_mod tables take 'shards'")
    assert message.endswith(f"remove it from this {strategy} table")


# -- datasources -------------------------------------------------------------------------


def test_undefined_datasource_in_a_table(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="mod", key="id", shards=2, datasources=["ds0", "ds9"])
    message = problem_at(document, "tables.t.datasources[1]")
    assert message == "datasource 'ds9' is not defined; defined: ds0, ds1"


def test_duplicate_datasource_in_a_table(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="broadcast", datasources=["ds0", "ds1", "ds0"])
    message = problem_at(document, "tables.t.datasources[2]")
    assert message == "datasource 'ds0' is listed twice; list each datasource once"


def test_empty_datasources_list(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(
        _with_table(doc, strategy="broadcast", datasources=[]), "tables.t.datasources"
    )
    assert message.startswith("needs at least one datasource; omit 'datasources' to use all")


@pytest.mark.parametrize(
    ("strategy", "phrase"),
    [
        ("tenant", "tenant tables live on each"),
        ("single", "a single table lives on one datasource"),
    ],
)
def test_datasources_refused_on_tenant_and_single(
    doc: Doc, problem_at: ProblemAt, strategy: str, phrase: str
) -> None:
    message = problem_at(
        _with_table(doc, strategy=strategy, datasources=["ds0"]), "tables.t.datasources"
    )
    assert message.startswith(phrase)


def test_single_datasource_must_exist(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(
        _with_table(doc, strategy="single", datasource="ds7"), "tables.t.datasource"
    )
    assert message == "datasource 'ds7' is not defined; defined: ds0, ds1"


def test_datasource_only_for_single(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(
        _with_table(doc, strategy="broadcast", datasource="ds0"), "tables.t.datasource"
    )
    assert message == "only single tables take 'datasource'; remove it from this broadcast table"


# -- consistent hash ---------------------------------------------------------------------


def test_virtual_nodes_only_for_consistent_hash(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="mod", key="id", shards=2, virtual_nodes=64)
    message = problem_at(document, "tables.t.virtual_nodes")
    assert (
        message == "only consistent_hash tables take 'virtual_nodes'; remove it from this mod table"
    )


def test_virtual_nodes_at_least_one(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="consistent_hash", key="id", virtual_nodes=0)
    assert problem_at(document, "tables.t.virtual_nodes") == "must be at least 1, got 0"


def test_weights_must_name_the_tables_datasources(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(
        doc, strategy="consistent_hash", key="id", datasources=["ds0"], weights={"ds1": 2}
    )
    message = problem_at(document, "tables.t.weights.ds1")
    assert message.startswith("datasource 'ds1' is not one of this table's datasources (ds0)")


def test_weights_must_be_positive(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="consistent_hash", key="id", weights={"ds0": 0})
    assert problem_at(document, "tables.t.weights.ds0") == "must be greater than 0, got 0"


def test_weights_only_for_consistent_hash(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="broadcast", weights={"ds0": 1})
    assert problem_at(document, "tables.t.weights").startswith("only consistent_hash tables take")


# -- range -------------------------------------------------------------------------------


def test_range_needs_boundaries(doc: Doc, problem_at: ProblemAt) -> None:
    message = problem_at(_with_table(doc, strategy="range", key="id"), "tables.t.boundaries")
    assert message.startswith("strategy 'range' needs ascending boundaries")


def test_range_boundaries_must_not_be_empty(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="range", key="id", boundaries=[])
    assert problem_at(document, "tables.t.boundaries").startswith("strategy 'range' needs")


def test_range_boundaries_of_one_type(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="range", key="id", boundaries=[1, "m", 2.5])
    message = problem_at(document, "tables.t.boundaries")
    assert message.startswith(
        "boundaries must all be of one type, found integer, string and number values"
    )


def test_range_boundaries_strictly_ascending(doc: Doc, problems: Problems) -> None:
    document = _with_table(doc, strategy="range", key="id", boundaries=[10, 30, 30, 20])
    found = problems(document)
    assert [(problem.path, problem.message) for problem in found] == [
        (
            "tables.t.boundaries[2]",
            "boundaries must be strictly ascending: 30 does not come after 30",
        ),
        (
            "tables.t.boundaries[3]",
            "boundaries must be strictly ascending: 20 does not come after 30",
        ),
    ]


@pytest.mark.parametrize("value", [True, None, [1], {"a": 1}])
def test_range_boundary_types(doc: Doc, problem_at: ProblemAt, value: Any) -> None:
    document = _with_table(doc, strategy="range", key="id", boundaries=[1, value])
    message = problem_at(document, "tables.t.boundaries[1]")
    assert message.startswith("expected an integer, a number or a string, got ")


def test_range_shards_that_disagree_with_boundaries(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="range", key="id", boundaries=[10, 20], shards=2)
    message = problem_at(document, "tables.t.shards")
    assert message == (
        "a range table with 2 boundaries has 3 shards, not 2; remove 'shards' or set shards = 3"
    )


def test_boundaries_only_for_range(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="mod", key="id", shards=2, boundaries=[1])
    message = problem_at(document, "tables.t.boundaries")
    assert message == "only range tables take 'boundaries'; remove it from this mod table"


# -- time range --------------------------------------------------------------------------


def test_time_range_needs_interval_and_start(doc: Doc, problems: Problems) -> None:
    found = problems(_with_table(doc, strategy="time_range", key="ts"))
    assert [(problem.path, problem.message) for problem in found] == [
        ("tables.t.interval", 'strategy \'time_range\' needs interval = "day", "month" or "year"'),
        ("tables.t.start", "strategy 'time_range' needs the first period, e.g. start = 2026-01-01"),
    ]


def test_time_range_interval_values(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(
        doc, strategy="time_range", key="ts", interval="week", start="2026-01-01"
    )
    message = problem_at(document, "tables.t.interval")
    assert message == "unknown interval 'week'; use one of: day, month, year"


def test_time_range_start_must_be_a_date(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="time_range", key="ts", interval="day", start="Jan 1")
    message = problem_at(document, "tables.t.start")
    assert message == "expected a date such as 2026-01-01, got 'Jan 1'"


def test_pre_create_not_negative(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(
        doc, strategy="time_range", key="ts", interval="day", start="2026-01-01", pre_create=-1
    )
    assert problem_at(document, "tables.t.pre_create") == "must be at least 0, got -1"


@pytest.mark.parametrize(
    ("setting", "value"), [("interval", "day"), ("start", "2026-01-01"), ("pre_create", 2)]
)
def test_time_settings_only_for_time_range(
    doc: Doc, problem_at: ProblemAt, setting: str, value: Any
) -> None:
    document = _with_table(doc, strategy="broadcast", **{setting: value})
    message = problem_at(document, f"tables.t.{setting}")
    assert (
        message == f"only time_range tables take '{setting}'; remove it from this broadcast table"
    )


# -- tenant ------------------------------------------------------------------------------


def test_tenant_table_cannot_be_unscoped(doc: Doc, problem_at: ProblemAt) -> None:
    document = _with_table(doc, strategy="tenant", tenant_scoped=False)
    message = problem_at(document, "tables.t.tenant_scoped")
    assert message == "tenant tables are always tenant-scoped; remove tenant_scoped = false"


def test_tenant_column_must_be_an_identifier(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tenant_column"] = "tenant id"
    assert problem_at(doc, "tenant_column").startswith("'tenant id' is not a plain SQL identifier")


def test_tenant_column_is_kept(doc: Doc) -> None:
    doc["tenant_column"] = "org_id"
    assert load_config(doc, env={}).tenant_column == "org_id"
