"""${VAR} interpolation: values, defaults, escapes, problems, and secrets kept out of messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.config._interpolation import interpolate
from tenantdb.config._problems import ProblemCollector
from tenantdb.errors import ConfigError, ConfigProblem


def test_variable_is_replaced_in_a_nested_string(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"]["url"] = "sqlite:///${DATA_DIR}/shard0.db"
    config = load_config(doc, env={"DATA_DIR": "/var/lib/app"})
    assert config.datasources["ds0"].url == "sqlite:////var/lib/app/shard0.db"


def test_variables_are_replaced_in_lists_and_several_per_string(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"] = {
        "url": "postgresql://${USER}:${PASSWORD}@${HOST}/app",
        "replicas": ["postgresql://${USER}@${REPLICA}/app"],
    }
    doc["datasources"]["ds1"] = {"url": "postgresql://h/app"}
    env = {"USER": "app", "PASSWORD": "pw", "HOST": "db1", "REPLICA": "db2"}
    config = load_config(doc, env=env)
    assert config.datasources["ds0"].url == "postgresql://app:pw@db1/app"
    assert config.datasources["ds0"].replicas == ("postgresql://app@db2/app",)


def test_numbers_may_come_from_the_environment(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"]["pool"] = {"max_size": "${POOL_MAX}", "timeout": "${TIMEOUT}"}
    config = load_config(doc, env={"POOL_MAX": "25", "TIMEOUT": "1500ms"})
    assert config.datasources["ds0"].pool.max_size == 25
    assert config.datasources["ds0"].pool.timeout == 1.5


@pytest.mark.parametrize("env", [{}, {"DB_DIR": ""}], ids=["unset", "empty"])
def test_default_is_used_when_unset_or_empty(doc: dict[str, Any], env: dict[str, str]) -> None:
    doc["datasources"]["ds0"]["url"] = "sqlite:///${DB_DIR:-data}/shard0.db"
    assert load_config(doc, env=env).datasources["ds0"].url == "sqlite:///data/shard0.db"


def test_value_wins_over_default(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"]["url"] = "sqlite:///${DB_DIR:-data}/shard0.db"
    config = load_config(doc, env={"DB_DIR": "/srv"})
    assert config.datasources["ds0"].url == "sqlite:////srv/shard0.db"


def test_empty_default_is_allowed(doc: dict[str, Any]) -> None:
    doc["datasources"]["ds0"]["url"] = "sqlite:///shard0${SUFFIX:-}.db"
    assert load_config(doc, env={}).datasources["ds0"].url == "sqlite:///shard0.db"


def test_double_dollar_is_a_literal(doc: dict[str, Any]) -> None:
    doc["tenants"] = {"acme": {"features": {"banner": "cost: $${PRICE} (${CURRENCY})"}}}
    config = load_config(doc, env={"CURRENCY": "EUR"})
    assert config.tenants["acme"].features["banner"] == "cost: ${PRICE} (EUR)"


def test_lone_dollar_signs_are_kept(doc: dict[str, Any]) -> None:
    doc["tenants"] = {"acme": {"features": {"price": "$5 and $$ and $ {x}"}}}
    config = load_config(doc, env={})
    assert config.tenants["acme"].features["price"] == "$5 and $$ and $ {x}"


def test_environment_defaults_to_os_environ(
    doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTDB_TEST_DB_DIR", "/from/environ")
    doc["datasources"]["ds0"]["url"] = "sqlite:///${TENANTDB_TEST_DB_DIR}/shard0.db"
    assert load_config(doc).datasources["ds0"].url == "sqlite:////from/environ/shard0.db"


def test_keys_are_not_interpolated() -> None:
    result = interpolate({"${KEY}": {"inner": "${VALUE}"}}, {"KEY": "k", "VALUE": "v"})
    assert result.document == {"${KEY}": {"inner": "v"}}
    assert result.templates == {("${KEY}", "inner"): "${VALUE}"}
    assert result.secrets == frozenset({"v"})


def test_undefined_variable_is_a_problem_at_its_path(
    doc: dict[str, Any], problem_at: Callable[..., str]
) -> None:
    doc["datasources"]["ds1"]["url"] = "postgresql://app:${PGPASSWORD}@db/app"
    message = problem_at(doc, "datasources.ds1.url")
    assert message.startswith("environment variable PGPASSWORD is not set")
    assert "${PGPASSWORD:-default}" in message


def test_undefined_variable_hides_follow_up_problems_at_that_path(
    doc: dict[str, Any], problems: Callable[..., list[ConfigProblem]]
) -> None:
    # The empty placeholder would also fail the URL check; only the cause is reported.
    doc["datasources"]["ds1"]["url"] = "${DS1_URL}"
    doc["tables"] = {"t": {"strategy": "mod", "key": "id"}}
    found = problems(doc)
    assert [(problem.path, problem.message.split(";")[0]) for problem in found] == [
        ("datasources.ds1.url", "environment variable DS1_URL is not set"),
        ("tables.t.shards", "strategy 'mod' needs the number of shards, e.g. shards = 4"),
    ]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("sqlite:///${DB", "'${' is not closed by '}'"),
        ("sqlite:///${1DB}", "'${1DB}' is not a variable reference"),
        ("sqlite:///${}", "'${}' is not a variable reference"),
        ("sqlite:///${DB-x}", "'${DB-x}' is not a variable reference"),
    ],
)
def test_malformed_reference_is_a_problem(
    doc: dict[str, Any], problem_at: Callable[..., str], text: str, phrase: str
) -> None:
    doc["datasources"]["ds0"]["url"] = text
    message = problem_at(doc, "datasources.ds0.url")
    assert message.startswith(phrase)
    assert "$${ for a literal" in message


def test_interpolated_value_is_never_shown(
    doc: dict[str, Any], problem_at: Callable[..., str]
) -> None:
    doc["datasources"]["ds0"]["pool"] = {"max_size": "${POOL_MAX}"}
    message = problem_at(doc, "datasources.ds0.pool.max_size", {"POOL_MAX": "hunter2-secret"})
    assert message == "expected a whole number, got '${POOL_MAX}' (interpolated)"


def test_interpolated_password_is_not_in_any_message(doc: dict[str, Any]) -> None:
    doc["dialect"] = "mysql"  # disagrees with the sqlite URL below
    doc["datasources"]["ds0"] = {"url": "${DB_URL}", "replicas": ["postgresql://${DB_CRED}@r/x"]}
    env = {"DB_URL": "sqlite:///tok3n-s3cret.db", "DB_CRED": "app:pa55w0rd"}
    with pytest.raises(ConfigError) as info:
        load_config(doc, env=env)
    text = str(info.value)
    assert "datasources.ds0.url" in {problem.path for problem in info.value.problems}
    assert "tok3n-s3cret" not in text
    assert "pa55w0rd" not in text


def test_interpolated_reference_is_shown_as_written(
    doc: dict[str, Any], problem_at: Callable[..., str]
) -> None:
    doc["tenants"] = {"acme": {"datasource": "${TENANT_DS}"}}
    message = problem_at(doc, "tenants.acme.datasource", {"TENANT_DS": "secret_ds"})
    assert message == "datasource '${TENANT_DS}' (interpolated) is not defined; defined: ds0, ds1"


def test_environment_values_are_masked_as_a_last_resort() -> None:
    collector = ProblemCollector(secrets={"s3cr3t-value", "ds0"})
    collector.add(("tables", "t"), "quoted s3cr3t-value by mistake; see ds0")
    with pytest.raises(ConfigError) as info:
        collector.raise_if_any()
    # Values shorter than 4 characters are too likely to be ordinary words to mask.
    assert info.value.problems[0].message == "quoted *** by mistake; see ds0"
