"""Datasources, pools, the dialect and the default datasource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import DatasourceConfig, RegistryConfig, load_config
from tenantdb.errors import ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]

SCHEMES = "sqlite, postgresql, postgres, mysql, mariadb"


def test_defaults_are_filled_in(doc: Doc) -> None:
    datasource = load_config(doc, env={}).datasources["ds0"]
    assert datasource.replicas == ()
    assert datasource.max_replication_lag == 5.0
    assert (datasource.pool.min_size, datasource.pool.max_size) == (1, 10)
    assert datasource.weight == 1.0


def test_declaration_order_is_kept(doc: Doc) -> None:
    doc["datasources"] = {name: {"url": f"sqlite:///{name}.db"} for name in ("b", "a", "c")}
    config = load_config(doc, env={})
    assert list(config.datasources) == ["b", "a", "c"]
    assert config.default_datasource == "b"


def test_at_least_one_datasource(problem_at: ProblemAt) -> None:
    message = problem_at({"datasources": {}}, "datasources")
    assert message.startswith("at least one datasource is required")


def test_datasources_must_be_a_table(problem_at: ProblemAt) -> None:
    message = problem_at({"datasources": ["sqlite:///x.db"]}, "datasources")
    assert message == "expected a table of named datasources such as [datasources.ds0], got a list"


def test_url_is_required(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds1"] = {"replicas": []}
    message = problem_at(doc, "datasources.ds1.url")
    assert message.startswith("required key 'url' is missing; every datasource needs one")


def test_unsupported_scheme_lists_the_allowed_ones(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds1"]["url"] = "redis://:hunter2@cache:6379/0"
    message = problem_at(doc, "datasources.ds1.url")
    assert message == f"unsupported URL scheme 'redis'; use one of: {SCHEMES}"


def test_url_without_scheme(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds1"]["url"] = "shard1.db"
    message = problem_at(doc, "datasources.ds1.url")
    assert message.startswith("expected a database URL such as 'postgresql://")


def test_replica_with_a_bad_scheme_is_reported_at_its_index(
    doc: Doc, problem_at: ProblemAt
) -> None:
    doc["datasources"]["ds1"]["replicas"] = ["sqlite:///r0.db", "http://r1"]
    message = problem_at(doc, "datasources.ds1.replicas[1]")
    assert message.startswith("unsupported URL scheme 'http'")


def test_replica_must_be_the_same_kind_of_database(problem_at: ProblemAt) -> None:
    document = {
        "datasources": {
            "ds0": {
                "url": "postgresql://db/app",
                "replicas": ["postgres://r0/app", "mysql://r1/app"],
            }
        }
    }
    message = problem_at(document, "datasources.ds0.replicas[1]")
    assert message.startswith("this replica is a mysql URL but the primary url is postgres")


def test_datasource_name_must_be_an_identifier(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["shard-2"] = {"url": "sqlite:///s2.db"}
    message = problem_at(doc, "datasources.shard-2")
    assert message.startswith("datasource name 'shard-2' is not a plain name")


def test_pool_max_size_must_cover_min_size(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds0"]["pool"] = {"min_size": 8, "max_size": 4}
    message = problem_at(doc, "datasources.ds0.pool.max_size")
    assert message == "max_size (4) must be at least min_size (8); raise max_size or lower min_size"


@pytest.mark.parametrize(
    ("pool", "path", "message"),
    [
        ({"min_size": -1}, "min_size", "must be at least 0, got -1"),
        ({"max_size": 0, "min_size": 0}, "max_size", "must be at least 1, got 0"),
        ({"max_size": 2.5}, "max_size", "expected a whole number, got 2.5"),
        ({"max_size": True}, "max_size", "expected a number, not true or false, got true"),
        ({"timeout": 0}, "timeout", "must be greater than 0, got 0"),
    ],
)
def test_pool_field_ranges(
    doc: Doc, problem_at: ProblemAt, pool: dict[str, Any], path: str, message: str
) -> None:
    doc["datasources"]["ds0"]["pool"] = pool
    assert problem_at(doc, f"datasources.ds0.pool.{path}") == message


def test_weight_must_be_positive(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds0"]["weight"] = 0
    assert problem_at(doc, "datasources.ds0.weight") == "must be greater than 0, got 0"


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("sqlite:///data/shard.db", "sqlite"),
        ("postgresql://app@db/app", "postgres"),
        ("postgres://app@db/app", "postgres"),
        ("mysql://app@db/app", "mysql"),
        ("mariadb://app@db/app", "mysql"),
        ("PostgreSQL://app@db/app", "postgres"),
    ],
)
def test_dialect_is_inferred_from_the_urls(url: str, dialect: str) -> None:
    assert load_config({"datasources": {"ds0": {"url": url}}}, env={}).dialect == dialect


def test_mixed_databases_without_dialect_is_a_problem(doc: Doc, problem_at: ProblemAt) -> None:
    doc["datasources"]["ds1"]["url"] = "mysql://app@db/app"
    message = problem_at(doc, "dialect")
    assert message.startswith(
        "cannot infer the dialect: the datasources use different databases"
        " (ds0: sqlite, ds1: mysql)"
    )


def test_explicit_dialect_that_disagrees_with_a_url(doc: Doc, problems: Problems) -> None:
    doc["dialect"] = "postgres"
    doc["datasources"]["ds1"]["url"] = "postgres://app@db/app"
    found = problems(doc)
    assert [problem.path for problem in found] == ["datasources.ds0.url"]
    assert found[0].message == (
        "this is a sqlite URL but dialect is 'postgres';"
        " use a postgresql:// or postgres:// URL, or change dialect"
    )


def test_unknown_dialect(doc: Doc, problem_at: ProblemAt) -> None:
    doc["dialect"] = "postgresql"
    message = problem_at(doc, "dialect")
    assert message == (
        "unknown dialect 'postgresql'; did you mean 'postgres'? use one of: postgres, mysql, sqlite"
    )


def test_default_datasource_may_be_given(doc: Doc) -> None:
    doc["default_datasource"] = "ds1"
    assert load_config(doc, env={}).default_datasource == "ds1"


def test_default_datasource_must_exist(doc: Doc, problem_at: ProblemAt) -> None:
    doc["default_datasource"] = "ds9"
    message = problem_at(doc, "default_datasource")
    assert message == "datasource 'ds9' is not defined; defined: ds0, ds1"


def test_redacted_url_hides_the_password() -> None:
    datasource = DatasourceConfig(url="postgresql://app:s3cr3t@db:5432/app?sslmode=require")
    assert datasource.redacted_url == "postgresql://app:***@db:5432/app?sslmode=require"
    assert datasource.url == "postgresql://app:s3cr3t@db:5432/app?sslmode=require"


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("sqlite:///data/shard0.db", "sqlite:///data/shard0.db"),
        ("mysql://app@db/app", "mysql://app@db/app"),
        ("mysql://app:p%40ss@db/app", "mysql://app:***@db/app"),
        ("postgres://app:p@ss@db/app", "postgres://app:***@db/app"),
        (
            "postgresql://db/app?user=app&password=s3cr3t",
            "postgresql://db/app?user=app&password=***",
        ),
    ],
)
def test_redacted_url_forms(url: str, redacted: str) -> None:
    assert DatasourceConfig(url=url).redacted_url == redacted


def test_repr_and_str_do_not_show_passwords() -> None:
    datasource = DatasourceConfig(
        url="postgresql://app:s3cr3t@db/app", replicas=("postgresql://app:r3pl1ca@r/app",)
    )
    registry = RegistryConfig(
        url="postgresql://app:c0ntrol@db/control", cache_url="redis://:t0k3n@c"
    )
    for text in (repr(datasource), str(datasource), repr(registry), str(registry)):
        for secret in ("s3cr3t", "r3pl1ca", "c0ntrol", "t0k3n"):
            assert secret not in text
    assert "postgresql://app:***@db/app" in repr(datasource)
    assert "redis://:***@c" in repr(registry)


def test_config_repr_does_not_show_passwords() -> None:
    config = load_config({"datasources": {"ds0": {"url": "mysql://app:s3cr3t@db/app"}}}, env={})
    assert "s3cr3t" not in repr(config)
    assert "mysql://app:***@db/app" in repr(config)


def test_create_dirs_is_off_unless_set_and_only_for_sqlite(doc: Doc, problem_at: ProblemAt) -> None:
    assert load_config(doc, env={}).datasources["ds0"].create_dirs is False
    doc["datasources"]["ds0"]["create_dirs"] = True
    assert load_config(doc, env={}).datasources["ds0"].create_dirs is True
    doc["datasources"]["ds1"] = {"url": "postgresql://app@db/x", "create_dirs": True}
    message = problem_at(doc, "datasources.ds1.create_dirs")
    assert message.startswith("create_dirs is for SQLite files")
