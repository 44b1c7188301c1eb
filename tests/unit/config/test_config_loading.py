"""load_config: sources (mapping, Config, TOML/YAML/JSON files) and file-level errors."""

from __future__ import annotations

import datetime
import json
import pickle
import sys
from pathlib import Path

import pytest

from tenantdb.config import load_config
from tenantdb.errors import ConfigError, InterfaceError

TOML_TEXT = """\
dialect = "sqlite"
binding_tables = [["accounts", "ledger"]]

[datasources.ds0]
url = "sqlite:///shard0.db"
max_replication_lag = "2s"
pool = { min_size = 2, max_size = 4 }

[datasources.ds1]
url = "sqlite:///shard1.db"

[tables.accounts]
strategy = "mod"
key = "account_id"
shards = 4

[tables.ledger]
strategy = "mod"
key = "account_id"
shards = 4

[tables.audit_log]
strategy = "time_range"
key = "created_at"
interval = "month"
start = 2026-01-01

[tenants.acme]
datasource = "ds1"
isolation = "schema"
"""

YAML_TEXT = """\
dialect: sqlite
binding_tables:
  - [accounts, ledger]
datasources:
  ds0:
    url: sqlite:///shard0.db
    max_replication_lag: 2s
    pool: {min_size: 2, max_size: 4}
  ds1:
    url: sqlite:///shard1.db
tables:
  accounts: {strategy: mod, key: account_id, shards: 4}
  ledger: {strategy: mod, key: account_id, shards: 4}
  audit_log:
    strategy: time_range
    key: created_at
    interval: month
    start: 2026-01-01
tenants:
  acme:
    datasource: ds1
    isolation: schema
"""

MAPPING = {
    "dialect": "sqlite",
    "binding_tables": [["accounts", "ledger"]],
    "datasources": {
        "ds0": {
            "url": "sqlite:///shard0.db",
            "max_replication_lag": "2s",
            "pool": {"min_size": 2, "max_size": 4},
        },
        "ds1": {"url": "sqlite:///shard1.db"},
    },
    "tables": {
        "accounts": {"strategy": "mod", "key": "account_id", "shards": 4},
        "ledger": {"strategy": "mod", "key": "account_id", "shards": 4},
        "audit_log": {
            "strategy": "time_range",
            "key": "created_at",
            "interval": "month",
            "start": "2026-01-01",
        },
    },
    "tenants": {"acme": {"datasource": "ds1", "isolation": "schema"}},
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_mapping_is_validated_and_resolved() -> None:
    config = load_config(MAPPING, env={})
    assert config.dialect == "sqlite"
    assert config.default_datasource == "ds0"
    assert config.datasources["ds0"].max_replication_lag == 2.0
    assert config.datasources["ds0"].pool.max_size == 4
    assert config.datasources["ds1"].pool.max_size == 10
    assert config.tables["accounts"].datasources == ("ds0", "ds1")
    assert config.tables["audit_log"].start == datetime.date(2026, 1, 1)
    assert config.tenants["acme"].schema_name == "acme"
    assert config.binding_tables == (("accounts", "ledger"),)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("cluster.toml", TOML_TEXT),
        ("cluster.yaml", YAML_TEXT),
        ("cluster.yml", YAML_TEXT),
        ("cluster.json", json.dumps(MAPPING)),
        ("CLUSTER.TOML", TOML_TEXT),
    ],
)
def test_every_file_format_gives_the_same_config(tmp_path: Path, name: str, text: str) -> None:
    expected = load_config(MAPPING, env={})
    assert load_config(_write(tmp_path, name, text), env={}) == expected


def test_path_may_be_a_string(tmp_path: Path) -> None:
    path = _write(tmp_path, "cluster.toml", TOML_TEXT)
    assert load_config(str(path), env={}) == load_config(path, env={})


def test_config_is_returned_as_is() -> None:
    config = load_config(MAPPING, env={})
    assert load_config(config) is config


def test_mapping_source_is_not_modified() -> None:
    document = {"datasources": {"ds0": {"url": "sqlite:///${DB:-x}.db"}}}
    load_config(document, env={})
    assert document == {"datasources": {"ds0": {"url": "sqlite:///${DB:-x}.db"}}}


def test_models_are_frozen() -> None:
    config = load_config(MAPPING, env={})
    with pytest.raises(ValueError, match="frozen"):
        config.dialect = "mysql"  # type: ignore[misc]


def test_other_source_types_are_an_interface_error() -> None:
    with pytest.raises(InterfaceError, match="not int"):
        load_config(42)  # type: ignore[arg-type]


def test_unknown_extension_names_the_allowed_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "cluster.ini", "[x]")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "'.ini'" in message
    assert ".toml, .yaml, .yml, .json" in message


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].message == f"configuration file not found: {path}"


def test_directory_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "dir.toml"
    path.mkdir()
    with pytest.raises(ConfigError, match="cannot read configuration file"):
        load_config(path)


def test_toml_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", 'dialect = "sqlite"\n[datasources.ds0\nurl = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (problem,) = info.value.problems
    assert problem.message.startswith(f"{path}, line 2, column ")
    assert "invalid TOML" in problem.message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_json_syntax_error_gives_file_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.json", '{\n  "dialect": "sqlite",\n  "datasources": }\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems[0].message.startswith(f"{path}, line 3, column 18: invalid JSON")


def test_yaml_syntax_error_gives_file_and_line_without_quoting_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", "datasources:\n  ds0: {url: hunter2secret\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = info.value.problems[0].message
    assert message.startswith(f"{path}, line 3, column 1: invalid YAML")
    assert "hunter2secret" not in message


def test_yaml_needs_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, "cluster.yaml", YAML_TEXT)
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes "import yaml" fail
    with pytest.raises(ConfigError, match=r"install tenantdb\[yaml\]"):
        load_config(path)


def test_file_that_is_not_utf8_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'dialect = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(("name", "text"), [("list.json", "[1, 2]"), ("scalar.yaml", "hello")])
def test_top_level_must_be_a_mapping(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        load_config(_write(tmp_path, name, text))


def test_yaml_alias_cycle_is_a_problem(tmp_path: Path) -> None:
    text = (
        "datasources:\n  ds0: {url: 'sqlite:///x.db'}\n"
        "tenants:\n  acme: &loop\n    features: *loop\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "cycle.yaml", text), env={})
    assert [(problem.path, problem.message) for problem in info.value.problems] == [
        ("tenants.acme.features", "this value contains itself (a YAML alias cycle)")
    ]


def test_shared_yaml_anchors_are_fine(tmp_path: Path) -> None:
    text = (
        "datasources:\n  ds0: {url: 'sqlite:///a.db', pool: &pool {max_size: 3}}\n"
        "  ds1: {url: 'sqlite:///b.db', pool: *pool}\n"
    )
    config = load_config(_write(tmp_path, "anchors.yaml", text), env={})
    assert [ds.pool.max_size for ds in config.datasources.values()] == [3, 3]


def test_empty_yaml_file_reports_missing_datasources(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, "empty.yaml", ""))
    assert [problem.path for problem in info.value.problems] == ["datasources"]
    assert "at least one datasource is required" in info.value.problems[0].message


def test_config_error_survives_pickling() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"datasources": {}}, env={})
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.problems == info.value.problems
    assert str(copy) == str(info.value)
