"""diff_configs: every kind of change is classified hot (a running cluster takes it) or
refused (it would move rows, or needs a restart), with its key path and what to do."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tenantdb.config._diff as diff_module
from tenantdb.config import Config, ConfigDiff, diff_configs, load_config

Doc = dict[str, Any]


def _base() -> Doc:
    return {
        "dialect": "postgres",
        "datasources": {
            "ds0": {"url": "postgresql://app:secret@h0/db0", "replicas": ["postgresql://h0r/db0"]},
            "ds1": {"url": "postgresql://app@h1/db1"},
        },
        "tables": {
            "orders": {"strategy": "tenant"},
            "events": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 4,
                "datasources": ["ds0", "ds1"],
            },
            "counters": {"strategy": "mod", "key": "id", "key_type": "int", "shards": 2},
            "ring": {"strategy": "consistent_hash", "key": "k", "datasources": ["ds0", "ds1"]},
            "ranges": {"strategy": "range", "key": "n", "key_type": "int", "boundaries": [10, 20]},
            "audit": {
                "strategy": "time_range",
                "key": "at",
                "key_type": "date",
                "interval": "month",
                "start": "2026-01-01",
                "datasources": ["ds0"],
            },
            "countries": {"strategy": "broadcast", "datasources": ["ds0", "ds1"]},
            "settings": {"strategy": "single", "datasource": "ds1"},
            "plain": {"strategy": "single"},
        },
        "tenants": {"acme": {"datasource": "ds1", "limits": {"requests_per_second": 10}}},
    }


def _diff(change: Callable[[Doc], None]) -> ConfigDiff:
    old = _base()
    new = copy.deepcopy(old)
    change(new)
    return diff_configs(load_config(old), load_config(new))


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return change


def _delete(path: str) -> Callable[[Doc], None]:
    def change(doc: Doc) -> None:
        *parents, last = path.split(".")
        node = doc
        for key in parents:
            node = node[key]
        del node[last]

    return change


def _add_datasource(doc: Doc) -> None:
    doc["datasources"]["ds2"] = {"url": "postgresql://h2/db2"}
    # Tables without a datasources list would spread over ds2: pin them where they are.
    for name in ("counters", "ranges"):
        doc["tables"][name]["datasources"] = ["ds0", "ds1"]


HOT = [
    ("datasources.ds2", _add_datasource),
    ("tables.refunds", _set("tables.refunds", {"strategy": "tenant"})),
    ("datasources.ds1.replicas", _set("datasources.ds1.replicas", ["postgresql://h1r/db1"])),
    ("datasources.ds0.replicas", _set("datasources.ds0.replicas", [])),
    ("datasources.ds0.max_replication_lag", _set("datasources.ds0.max_replication_lag", "9s")),
    ("datasources.ds0.on_replica_lag", _set("datasources.ds0.on_replica_lag", "error")),
    ("datasources.ds0.pool.max_size", _set("datasources.ds0.pool", {"max_size": 3})),
    ("datasources.ds1.breaker.open_wait", _set("datasources.ds1.breaker", {"open_wait": 2})),
    ("datasources.ds1.weight", _set("datasources.ds1.weight", 3)),
    ("tables.audit.pre_create", _set("tables.audit.pre_create", 5)),
    ("limits.requests_per_second", _set("limits.requests_per_second", 50)),
    ("limits.mode", _set("limits.mode", "shadow")),
    ("telemetry.slow_statement", _set("telemetry.slow_statement", "2s")),
    ("telemetry.query_text", _set("telemetry.query_text", True)),
    ("moves.write_hold", _set("moves.write_hold", "30s")),
    (
        "tenants.acme.limits.requests_per_second",
        _set("tenants.acme.limits", {"requests_per_second": 20}),
    ),
    ("tenants.acme.status", _set("tenants.acme.status", "read_only")),
    ("tenants.beta", _set("tenants.beta", {"datasource": "ds0"})),
    ("allowed_functions", _set("allowed_functions", ["my_fn"])),
    ("max_statement_bytes", _set("max_statement_bytes", 4096)),
    ("tables.plain", _delete("tables.plain")),  # unlisted: single on the default, as before
]


@pytest.mark.parametrize(("path", "change"), HOT, ids=[path for path, _ in HOT])
def test_changes_that_keep_every_row_in_place_are_hot(
    path: str, change: Callable[[Doc], None]
) -> None:
    diff = _diff(change)
    assert [c.path for c in diff.changes] == [path]
    assert diff.changes[0].hot, diff.changes[0].reason
    assert diff.hot_safe
    assert diff.problems() == []


def _to_mysql(doc: Doc) -> None:
    doc["dialect"] = "mysql"
    for datasource in doc["datasources"].values():
        datasource["url"] = datasource["url"].replace("postgresql:", "mysql:")
        datasource["replicas"] = []


REFUSED = [
    ("tables.events.shards", _set("tables.events.shards", 8), "reshard"),
    ("tables.events.strategy", _set("tables.events.strategy", "mod"), "reshard"),
    ("tables.events.key", _set("tables.events.key", "account_id"), "reshard"),
    ("tables.events.key_type", _set("tables.events.key_type", "text"), "reshard"),
    ("tables.events.datasources", _set("tables.events.datasources", ["ds1", "ds0"]), "move"),
    ("tables.ring.datasources", _set("tables.ring.datasources", ["ds0"]), "move"),
    ("tables.ring.virtual_nodes", _set("tables.ring.virtual_nodes", 64), "reshard"),
    ("tables.ring.weights", _set("tables.ring.weights", {"ds0": 2, "ds1": 1}), "reshard"),
    ("tables.ranges.boundaries", _set("tables.ranges.boundaries", [10, 30]), "reshard"),
    ("tables.audit.interval", _set("tables.audit.interval", "day"), "reshard"),
    ("tables.audit.start", _set("tables.audit.start", "2025-01-01"), "reshard"),
    ("tables.settings.datasource", _set("tables.settings.datasource", "ds0"), "move"),
    ("tables.countries.datasources", _set("tables.countries.datasources", ["ds0"]), "copy"),
    ("tables.events", _delete("tables.events"), "move"),
    ("tables.plain.tenant_scoped", _set("tables.plain.tenant_scoped", False), "restart"),
    ("dialect", _to_mysql, "migration"),
    ("tenant_column", _set("tenant_column", "org_id"), "rename"),
    ("default_datasource", _set("default_datasource", "ds1"), "move"),
    ("datasources.ds1.url", _set("datasources.ds1.url", "postgresql://app@h9/db1"), "move"),
    ("tenants.acme.datasource", _set("tenants.acme.datasource", "ds0"), "tenant move"),
    ("tenants.acme.isolation", _set("tenants.acme.isolation", "schema"), "tenant move"),
    ("tenants.acme", _delete("tenants.acme"), "remove"),
    ("registry.url", _set("registry", {"url": "sqlite:///r.db"}), "restart"),
    ("limits.redis_url", _set("limits.redis_url", "redis://h/0"), "restart"),
    ("switch_file", _set("switch_file", "/tmp/switches.json"), "restart"),
    ("precreate", _set("precreate", "auto"), "restart"),
]


@pytest.mark.parametrize(("path", "change", "needs"), REFUSED, ids=[path for path, _, _ in REFUSED])
def test_changes_that_would_move_rows_are_refused_with_the_move_they_need(
    path: str, change: Callable[[Doc], None], needs: str
) -> None:
    diff = _diff(change)
    refused = diff.refused
    assert not diff.hot_safe
    assert path.split(".")[:2] == refused[0].path.split(".")[:2]
    assert needs in refused[0].reason, refused[0].reason
    assert [p.path for p in diff.problems()] == [c.path for c in refused]


def test_adding_a_datasource_refuses_the_tables_that_spread_over_every_datasource() -> None:
    def change(doc: Doc) -> None:
        doc["datasources"]["ds2"] = {"url": "postgresql://h2/db2"}

    diff = _diff(change)
    # "counters" and "ranges" name no datasources: they would spread over ds2 too.
    assert sorted(c.path for c in diff.refused) == [
        "tables.counters.datasources",
        "tables.ranges.datasources",
    ]
    assert "write its old list" in diff.refused[0].reason


def test_every_setting_of_the_configuration_is_looked_at() -> None:
    """A new top-level setting must be classified here, not skipped silently."""
    source = Path(diff_module.__file__).read_text()
    unread = [
        name
        for name in Config.model_fields
        if f'"{name}"' not in source and f"old.{name}" not in source
    ]
    assert unread == []


def test_an_identical_document_has_no_change() -> None:
    diff = _diff(lambda doc: None)
    assert not diff
    assert diff.hot_safe
    assert diff.to_dict() == {"hot_safe": True, "changes": []}


def test_urls_in_a_diff_never_show_a_password() -> None:
    diff = _diff(_set("datasources.ds0.url", "postgresql://app:hunter2@h0/db0"))
    text = repr(diff.to_dict())
    assert "secret" not in text
    assert "hunter2" not in text
    assert diff.changes[0].old == "postgresql://app:***@h0/db0"


def test_a_mixed_diff_lists_each_change_in_document_order() -> None:
    def change(doc: Doc) -> None:
        doc["datasources"]["ds0"]["pool"] = {"max_size": 4}
        doc["tables"]["events"]["shards"] = 16
        doc["tables"]["new_table"] = {"strategy": "tenant"}

    diff = _diff(change)
    assert [(c.path, c.hot) for c in diff.changes] == [
        ("datasources.ds0.pool.max_size", True),
        ("tables.events.shards", False),
        ("tables.new_table", True),
    ]
    assert diff.to_dict()["hot_safe"] is False
    assert str(diff.changes[1]).startswith("[refused] tables.events.shards changed:")
