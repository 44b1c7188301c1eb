"""Issue 14 item 6: one pass reports every problem, type errors and dangling references
together; a name that refers to nothing is reported even where other settings are wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.errors import ConfigError, ConfigProblem

Document = dict[str, Any]
ProblemsFinder = Callable[..., list[ConfigProblem]]

MIXED = """\
dialect = "postgres"
max_statement_bytes = "big"
binding_tables = [["users", "nothere", 3]]

[datasources.ds0]
url = "postgresql://app@h/x"
pool = { max_size = "ten" }

[tables.users]
strategy = "hash_mod"
key = "user_id"
shards = 8
datasources = ["ds0", "ds9"]

[tables.events]
strategy = "mod"
key = "id"
shards = "four"
datasources = ["ds0", "ds9"]

[tables.settings]
strategy = "single"
datasource = "ds5"
key_type = 3

[tenants.acme]
datasource = "ds1"
status = "sleeping"

[tenants.beta]
datasource = "ds2"
limits = { burst = "x" }
"""


def test_type_errors_and_dangling_references_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "tenantdb.toml"
    path.write_text(MIXED, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    found = {(problem.path, problem.message.split(";")[0]) for problem in info.value.problems}
    assert found == {
        # type errors
        ("max_statement_bytes", "expected a whole number, got 'big'"),
        ("binding_tables[0][2]", "expected a string, got 3"),
        ("datasources.ds0.pool.max_size", "expected a whole number, got 'ten'"),
        ("tables.events.shards", "expected a whole number, got 'four'"),
        ("tables.settings.key_type", "unknown key_type 3"),
        ("tenants.acme.status", "unknown status 'sleeping'"),
        ("tenants.beta.limits.burst", "expected a whole number, got 'x'"),
        # references, including those of the entries above that have type errors
        ("binding_tables[0][1]", "table 'nothere' is not defined"),
        ("tables.users.datasources[1]", "datasource 'ds9' is not defined"),
        ("tables.events.datasources[1]", "datasource 'ds9' is not defined"),
        ("tables.settings.datasource", "datasource 'ds5' is not defined"),
        ("tenants.acme.datasource", "datasource 'ds1' is not defined"),
        ("tenants.beta.datasource", "datasource 'ds2' is not defined"),
    }


def test_a_dangling_reference_says_what_is_defined(doc: Document, problems: ProblemsFinder) -> None:
    doc["tenants"] = {"acme": {"datasource": "ds9", "isolation": "galaxy"}}
    messages = {p.path: p.message for p in problems(doc)}
    assert messages["tenants.acme.datasource"] == (
        "datasource 'ds9' is not defined; defined: ds0, ds1"
    )
    assert messages["tenants.acme.isolation"].startswith("unknown isolation 'galaxy'")


def test_values_of_the_wrong_type_are_reported_once(
    doc: Document, problems: ProblemsFinder
) -> None:
    # A reference that is not a name is the type error alone, not a second problem.
    doc["tables"] = {"t": {"strategy": "mod", "key": "k", "shards": 2, "datasources": "ds9"}}
    doc["tenants"] = {"acme": {"datasource": 5}}
    assert [(p.path, p.message) for p in problems(doc)] == [
        ("tables.t.datasources", "expected a list, got a string"),
        ("tenants.acme.datasource", "expected a string, got 5"),
    ]


def test_strategy_checks_wait_for_a_valid_entry(doc: Document, problems: ProblemsFinder) -> None:
    # Settings that depend on the strategy are judged once the entry parses: an unknown
    # strategy reports itself and the undefined datasource, nothing about shards or keys.
    doc["tables"] = {"t": {"strategy": "modulo", "datasources": ["ds0", "ds3"]}}
    assert [p.path for p in problems(doc)] == ["tables.t.datasources[1]", "tables.t.strategy"]
