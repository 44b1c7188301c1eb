"""Where isolated static tenants may live: a database-isolated tenant alone on a datasource
that holds no shared rows, a schema tenant in a schema of its own (issues 13 and 21)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenantdb.config import load_config
from tenantdb.config._endpoints import endpoint, registry_tables
from tenantdb.config._tenant_rules import TenantRules
from tenantdb.errors import ConfigProblem

Doc = dict[str, Any]
ProblemAt = Callable[..., str]
Problems = Callable[..., list[ConfigProblem]]


def _pg(doc: Doc) -> Doc:
    doc["datasources"] = {
        "ds0": {"url": "postgresql://app@db0/shard0"},
        "ds1": {"url": "postgresql://app@db1/shard1"},
        "ds2": {"url": "postgresql://app@db2/shard2?options=-c%20search_path%3Dapp_data"},
    }
    return doc


# -- database isolation ------------------------------------------------------------------


def test_a_database_tenant_alone_on_a_datasource_without_tables_is_accepted(doc: Doc) -> None:
    doc["tenants"] = {"c": {"isolation": "database", "datasource": "ds1"}, "a": {}}
    assert load_config(doc, env={}).tenants["c"].datasource == "ds1"


def test_a_database_tenant_needs_an_explicit_datasource(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tenants"] = {"c": {"isolation": "database"}}
    message = problem_at(doc, "tenants.c.datasource")
    assert "isolation 'database' but no datasource" in message
    assert "name the datasource it owns alone" in message


def test_a_database_tenant_may_not_share_its_datasource(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tenants"] = {
        "c": {"isolation": "database", "datasource": "ds1"},
        "a": {"datasource": "ds1"},
        "s": {"datasource": "ds1", "isolation": "schema"},
    }
    message = problem_at(doc, "tenants.c.datasource")
    assert "datasource 'ds1' is also used by tenants 'a', 's'" in message


def test_two_database_tenants_on_one_datasource_are_both_refused(
    doc: Doc, problems: Problems
) -> None:
    doc["tenants"] = {
        "c": {"isolation": "database", "datasource": "ds1"},
        "d": {"isolation": "database", "datasource": "ds1"},
    }
    paths = sorted(p.path for p in problems(doc))
    assert paths == ["tenants.c.datasource", "tenants.d.datasource"]


def test_the_default_datasource_holds_shared_rows(doc: Doc, problem_at: ProblemAt) -> None:
    doc["tenants"] = {"c": {"isolation": "database", "datasource": "ds0"}}
    message = problem_at(doc, "tenants.c.datasource")
    assert "datasource 'ds0' holds rows no single tenant owns" in message
    assert "default_datasource" in message


@pytest.mark.parametrize(
    ("table", "word"),
    [
        ({"strategy": "single", "datasource": "ds1"}, "single table t"),
        ({"strategy": "mod", "key": "id", "shards": 2}, "mod table t"),
        ({"strategy": "hash_mod", "key": "id", "shards": 2, "datasources": ["ds1"]}, "hash_mod"),
        ({"strategy": "consistent_hash", "key": "id"}, "consistent_hash table t"),
        ({"strategy": "range", "key": "id", "boundaries": [10]}, "range table t"),
        (
            {"strategy": "time_range", "key": "at", "interval": "month", "start": "2026-01-01"},
            "time_range table t",
        ),
    ],
)
def test_a_table_listing_the_datasource_makes_it_shared(
    doc: Doc, problem_at: ProblemAt, table: Doc, word: str
) -> None:
    doc["tables"] = {"t": table}
    doc["tenants"] = {"c": {"isolation": "database", "datasource": "ds1"}}
    message = problem_at(doc, "tenants.c.datasource")
    assert "datasource 'ds1' holds rows no single tenant owns" in message
    assert word in message


def test_tenant_and_broadcast_tables_leave_a_datasource_to_its_tenant(doc: Doc) -> None:
    doc["tables"] = {"orders": {"strategy": "tenant"}, "countries": {"strategy": "broadcast"}}
    doc["tenants"] = {"c": {"isolation": "database", "datasource": "ds1"}}
    assert load_config(doc, env={}).tenants["c"].isolation == "database"


def test_the_registry_database_is_shared(doc: Doc, problem_at: ProblemAt) -> None:
    doc["registry"] = {"url": "sqlite:///shard1.db"}
    doc["tenants"] = {"c": {"isolation": "database", "datasource": "ds1"}}
    assert "the tenant registry keeps its table there" in problem_at(doc, "tenants.c.datasource")


# -- schema isolation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ("public", "a system schema of PostgreSQL"),
        ("PUBLIC", "a system schema of PostgreSQL"),
        ("pg_catalog", "a system schema of PostgreSQL"),
        ("pg_anything", "a system schema of PostgreSQL"),
        ("information_schema", "a system schema of PostgreSQL"),
        ("app", "unqualified table names resolve to it on datasource 'ds0'"),  # "$user"
    ],
)
def test_a_schema_tenant_may_not_use_a_shared_schema(
    doc: Doc, problem_at: ProblemAt, schema: str, why: str
) -> None:
    doc = _pg(doc)
    doc["tenants"] = {"s": {"isolation": "schema", "schema": schema, "datasource": "ds0"}}
    message = problem_at(doc, "tenants.s.schema")
    assert f"schema {schema!r} holds rows no single tenant owns ({why})" in message


def test_the_search_path_of_the_url_is_shared(doc: Doc, problem_at: ProblemAt) -> None:
    doc = _pg(doc)
    doc["tenants"] = {"s": {"isolation": "schema", "schema": "app_data", "datasource": "ds2"}}
    assert "resolve to it on datasource 'ds2'" in problem_at(doc, "tenants.s.schema")
    # The same schema name on a datasource whose search path differs is the tenant's own.
    doc["tenants"] = {"s": {"isolation": "schema", "schema": "app_data", "datasource": "ds1"}}
    assert load_config(doc, env={}).tenants["s"].schema_name == "app_data"


def test_an_unplaced_schema_tenant_avoids_every_datasource_default(
    doc: Doc, problem_at: ProblemAt
) -> None:
    doc = _pg(doc)
    doc["tenants"] = {"s": {"isolation": "schema", "schema": "app_data"}}
    assert "resolve to it on datasource 'ds2'" in problem_at(doc, "tenants.s.schema")


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("mysql://app@db0/shop", "shop"),
        ("mysql://app@db0/shop", "mysql"),
        ("mysql://app@db0/shop", "performance_schema"),
        ("sqlite:///shard0.db", "main"),
        ("sqlite:///shard0.db", "temp"),
    ],
)
def test_mysql_and_sqlite_default_schemas(
    doc: Doc, problem_at: ProblemAt, url: str, schema: str
) -> None:
    doc["datasources"] = {"ds0": {"url": url}}
    doc["tenants"] = {"s": {"isolation": "schema", "schema": schema}}
    assert "holds rows no single tenant owns" in problem_at(doc, "tenants.s.schema")


def test_a_schema_tenant_may_not_take_the_registry_schema(doc: Doc, problem_at: ProblemAt) -> None:
    doc = _pg(doc)
    doc["registry"] = {"url": "postgresql://app@db1/shard1?options=-csearch_path%3Dcontrol"}
    doc["tenants"] = {"s": {"isolation": "schema", "schema": "control", "datasource": "ds1"}}
    assert "the tenant registry's table is there" in problem_at(doc, "tenants.s.schema")


def test_the_id_as_schema_is_checked_too(doc: Doc, problem_at: ProblemAt) -> None:
    doc = _pg(doc)
    doc["tenants"] = {"public": {"isolation": "schema"}}
    assert "schema 'public' holds rows" in problem_at(doc, "tenants.public.schema")


# -- pure parts --------------------------------------------------------------------------


def test_endpoints_compare_databases_not_spellings() -> None:
    a = endpoint("postgresql://app:pw@localhost/shop")
    b = endpoint("postgres://other@127.0.0.1:5432/shop?sslmode=disable")
    c = endpoint("postgresql://app@localhost:5433/shop")
    d = endpoint("postgresql://app@localhost/?dbname=shop")
    assert a is not None
    assert b is not None
    assert c is not None
    assert d is not None
    assert a.same_database(b)
    assert a.same_database(d)
    assert not a.same_database(c)
    assert a.schemas == ("app", "public")
    assert b.user == "other"
    assert endpoint("redis://localhost/0") is None
    assert endpoint("sqlite:///x.db") == endpoint("sqlite:///./x.db")


def test_registry_tables_by_store() -> None:
    assert registry_tables("postgresql://h/db") == ("tenantdb_tenants",)
    assert registry_tables("postgresql://h/db?table=ctl") == ("ctl",)
    assert registry_tables("sqlite:///r.db") == ("tenantdb_tenants", "tenantdb_tenant_changes")
    assert registry_tables("redis://h/0") == ()


def test_rules_without_a_configuration_refuse_every_kind_of_system_schema() -> None:
    rules = TenantRules()
    for schema in ("public", "main", "mysql", "pg_temp_3"):
        assert rules.schema_reason(None, schema) is not None
    assert rules.schema_reason(None, "tenant_7") is None
