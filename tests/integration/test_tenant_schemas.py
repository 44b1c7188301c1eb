"""Schema-isolated tenants get their schema (MySQL: database) created by `tenantdb ddl` and
by `tenantdb tenants add`, idempotently (issue 14). PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from tenantdb.admin._ddl import apply_schema, create_tenant_schema

from .conftest import Backend

SCHEMA_SQL = "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(40), amount INTEGER);"


@pytest.fixture
def schema_backend(backend: Backend) -> Backend:
    if backend.name == "sqlite":
        pytest.skip("SQLite has no schemas")
    return backend


@pytest.fixture
def setup(schema_backend: Backend, run_id: str) -> Iterator[tuple[dict[str, Any], str]]:
    backend = schema_backend
    url = backend.new_database()
    schema = f"{run_id}_beta"
    config = {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": url}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {
            "alpha": {"datasource": "ds0"},
            "beta": {"datasource": "ds0", "isolation": "schema", "schema": schema},
        },
    }
    yield config, schema
    if backend.name == "mysql":
        backend.query(url, f"DROP DATABASE IF EXISTS `{schema}`")


def test_ddl_creates_the_schema_of_a_schema_tenant(
    setup: tuple[dict[str, Any], str],
) -> None:
    config, schema = setup
    with tenantdb.connect(config) as cluster:
        report = apply_schema(cluster, SCHEMA_SQL)
        created = [s for s in report.steps("applied") if schema in ",".join(s.tables)]
        assert len(created) == 1
        assert f"created schema {schema}" in created[0].detail
        again = apply_schema(cluster, SCHEMA_SQL)
        assert again.applied == 0  # idempotent: schema and tables exist
        with cluster.session(tenant="beta") as s:
            s.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (1, 5))
            assert s.execute("SELECT id, amount FROM orders").fetchall() == [(1, 5)]
        with cluster.session(tenant="alpha") as s:
            assert s.execute("SELECT id FROM orders").fetchall() == []


def test_tenants_add_creates_the_schema(setup: tuple[dict[str, Any], str]) -> None:
    config, _ = setup
    with tenantdb.connect(config) as cluster:
        beta = cluster.tenants.get("beta")
        assert create_tenant_schema(cluster, beta) is True
        assert create_tenant_schema(cluster, beta) is False  # already there
        assert create_tenant_schema(cluster, cluster.tenants.get("alpha")) is False
        report = apply_schema(cluster, SCHEMA_SQL)
        assert report.applied == 2  # alpha's shared table and beta's, no schema left to make
