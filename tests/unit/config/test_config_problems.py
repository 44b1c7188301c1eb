"""Whole-document reporting: every problem at once, unknown keys, paths, no raw errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.config._problems import format_path
from tenantdb.config._validation import validate_document
from tenantdb.errors import ConfigError, ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]

TABLE_KEYS = (
    "strategy, key, key_type, shards, datasources, datasource, virtual_nodes, weights, boundaries,"
    " interval, start, pre_create, tenant_scoped"
)


def test_independent_mistakes_are_all_reported_together(problems: Problems) -> None:
    document = {
        "dialect": "sqlite",
        "datasources": {
            "ds0": {"url": "sqlite:///shard0.db", "pool": {"max_size": 0}},
            "ds1": {"url": "sqlite:///shard1.db"},
        },
        "tables": {
            "events": {"strategy": "hash_mod", "key": "user_id"},
            "orders": {"strategy": "tenant"},
            "invoices": {"strategy": "range", "key": "id", "boundaries": [2, 1]},
            "audit": {"strategy": "time_range", "key": "ts", "interval": "week", "start": "x"},
            "countries": {"strategy": "broadcast", "datasources": ["ds0", "ds5"]},
        },
        "tenants": {"acme": {"datasource": "ds7"}, "globex": {"status": "on"}},
        "registry": {"max_cached": 0},
    }
    found = problems(document)
    assert [problem.path for problem in found] == [
        "datasources.ds0.pool.max_size",
        "registry.max_cached",
        "tables.audit.interval",
        "tables.audit.start",
        "tables.countries.datasources[1]",
        "tables.events.shards",
        "tables.invoices.boundaries[1]",
        "tenants.acme.datasource",
        "tenants.globex.status",
    ]
    assert all(problem.message for problem in found)


def test_error_message_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"datasources": {"ds0": {"url": "x"}}, "tabels": {}}, env={})
    lines = str(info.value).splitlines()
    assert lines[0] == "invalid configuration (2 problems):"
    assert lines[1].startswith("  - datasources.ds0.url: expected a database URL")
    assert lines[2].startswith("  - tabels: unknown key 'tabels'; did you mean 'tables'?")


@pytest.mark.parametrize(
    ("where", "key", "path", "expected"),
    [
        ((), "tenant_colum", "tenant_colum", "did you mean 'tenant_column'?"),
        (("datasources", "ds0"), "replica", "datasources.ds0.replica", "did you mean 'replicas'?"),
        (
            ("datasources", "ds0", "pool"),
            "maxsize",
            "datasources.ds0.pool.maxsize",
            "did you mean 'max_size'?",
        ),
        (("registry",), "cache", "registry.cache", "did you mean 'cache_url'?"),
        (
            ("tenants", "acme", "limits"),
            "bursts",
            "tenants.acme.limits.bursts",
            "did you mean 'burst'?",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest_allowed_one(
    doc: Doc, problem_at: ProblemAt, where: tuple[str, ...], key: str, path: str, expected: str
) -> None:
    doc.setdefault("registry", {})
    doc.setdefault("tenants", {"acme": {"limits": {}}})
    target = doc
    for part in where:
        target = target.setdefault(part, {})
    target[key] = 1
    message = problem_at(doc, path)
    assert message.startswith(f"unknown key '{key}'; {expected} allowed keys: ")


def test_unknown_table_key_lists_the_allowed_keys(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tables"] = {"users": {"strategy": "mod", "key": "id", "shards": 4, "shard": 4}}
    message = problem_at(doc, "tables.users.shard")
    assert message == f"unknown key 'shard'; did you mean 'shards'? allowed keys: {TABLE_KEYS}"


def test_unknown_key_without_a_close_match(doc: Doc, problem_at: ProblemAt) -> None:
    doc["registry"] = {"zzz": 1}
    message = problem_at(doc, "registry.zzz")
    assert message == "unknown key 'zzz'; allowed keys: url, cache_url, negative_ttl, max_cached"


def test_top_level_key_written_inside_a_table_explains_toml(
    doc: Doc, problem_at: ProblemAt
) -> None:
    # In TOML, binding_tables written after [tables.settings] belongs to that table.
    doc["tables"] = {"settings": {"strategy": "single", "binding_tables": [["a", "b"]]}}
    message = problem_at(doc, "tables.settings.binding_tables")
    assert message.endswith(
        "'binding_tables' is a top-level key: in TOML, write it above the first [section]"
        " header, or it belongs to that section"
    )


def test_one_bad_table_does_not_stop_the_others(doc: Doc, problems: Problems) -> None:
    doc["tables"] = {
        "a": {"strategy": "mod", "key": "id", "shards": 2, "typo": 1},
        "b": {"strategy": "mod", "key": "id"},
        "c": {"strategy": "single", "datasource": "nowhere"},
    }
    assert [problem.path for problem in problems(doc)] == [
        "tables.a.typo",
        "tables.b.shards",
        "tables.c.datasource",
    ]


def test_cross_references_use_every_declared_datasource(doc: Doc, problems: Problems) -> None:
    # ds1 is invalid, but it is declared: referring to it is not a second problem.
    doc["datasources"]["ds1"] = {"url": "sqlite:///s1.db", "weight": -1}
    doc["tables"] = {"t": {"strategy": "single", "datasource": "ds1"}}
    doc["tenants"] = {"acme": {"datasource": "ds1"}}
    assert [problem.path for problem in problems(doc)] == ["datasources.ds1.weight"]


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ({"datasources": {"ds0": "sqlite:///x"}}, "datasources.ds0", "expected a table of keys"),
        ({"datasources": {1: {"url": "sqlite:///x"}}}, "datasources.1", "names must be strings"),
        ({"datasources": {"ds0": {"url": 5}}}, "datasources.ds0.url", "expected a string, got 5"),
        (
            {"dialect": 3, "datasources": {"d": {"url": "sqlite:///x"}}},
            "dialect",
            "unknown dialect 3",
        ),
        (
            {"tables": [], "datasources": {"d": {"url": "sqlite:///x"}}},
            "tables",
            "expected a table",
        ),
    ],
)
def test_wrong_shapes_become_problems(document: Any, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(document, env={})
    found = [problem for problem in info.value.problems if problem.path == path]
    assert found, info.value.problems
    assert found[0].message.startswith(message)


def test_document_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError) as info:
        validate_document([1, 2])
    assert info.value.problems == (
        ConfigProblem("", "expected a table of settings at the top, got a list"),
    )


def test_pydantic_errors_never_escape(doc: Doc) -> None:
    doc["datasources"]["ds0"]["pool"] = {"min_size": "many"}
    with pytest.raises(ConfigError) as info:
        load_config(doc, env={})
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert "pydantic" not in str(info.value)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("tables", "orders", "shards"), "tables.orders.shards"),
        (("tables", "t", "datasources", 1), "tables.t.datasources[1]"),
        (("binding_tables", 0, 1), "binding_tables[0][1]"),
        (("tenants", "acme-eu", "schema"), "tenants.acme-eu.schema"),
        (("tenants", "acme.eu"), 'tenants."acme.eu"'),
        (("tenants", 'say "hi"'), 'tenants."say \\"hi\\""'),
        ((), ""),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text
