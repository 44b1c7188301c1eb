"""The registry inside a cluster: a placement change applies to the next statement, a
transaction keeps the tenant it began with, another process's change reaches sessions, and
admin scans reach schema-isolated tenants' own tables. On both fronts (``front``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb import Cluster

from .conftest import Backend


def config(backend: Backend, urls: list[str], registry_url: str) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {
            f"ds{i}": {"url": url, "pool": {"min_size": 0, "max_size": 4}}
            for i, url in enumerate(urls)
        },
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        "registry": {"url": registry_url},
    }


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64))")
    return urls


@pytest.fixture
def registry_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/registry.db?poll_interval=0.01"


@pytest.fixture
def cluster(
    backend: Backend, urls: list[str], registry_url: str, front: Front
) -> Iterator[Cluster]:
    with front.connect(config(backend, urls, registry_url)) as cluster:
        yield cluster


def served_by(session: tenantdb.Session) -> str:
    return session.execute("SELECT COUNT(*) FROM orders").targets[0].datasource


def test_a_placement_change_applies_to_the_next_statement(cluster: Cluster) -> None:
    with cluster.session("acme") as session:
        assert served_by(session) == "ds0"
        with session.transaction():
            assert served_by(session) == "ds0"
            cluster.tenants.put({"id": "acme", "datasource": "ds1"})
            assert served_by(session) == "ds0", "a transaction keeps the tenant it began with"
        assert served_by(session) == "ds1", "the next statement sees the new placement"


def test_a_change_from_another_process_reaches_open_sessions(
    backend: Backend, urls: list[str], registry_url: str, cluster: Cluster
) -> None:
    with (
        tenantdb.connect(config(backend, urls, registry_url)) as other,  # "another process"
        cluster.session("acme") as session,
    ):
        assert served_by(session) == "ds0"
        other.tenants.put({"id": "acme", "status": "read_only", "datasource": "ds1"})
        deadline = time.monotonic() + 60  # a hang guard, not a measurement
        while cluster.tenants.get("acme").version < 2:
            assert time.monotonic() < deadline, "the change never arrived"
            time.sleep(0.01)
        assert served_by(session) == "ds1"
        assert session.tenant is not None
        assert session.tenant.status == "read_only"


def test_a_deleted_tenant_cannot_run_statements(cluster: Cluster) -> None:
    with cluster.session("acme") as session:
        served_by(session)
        cluster.tenants.delete("acme")
        with pytest.raises(tenantdb.UnknownTenantError, match="acme"):
            session.execute("SELECT COUNT(*) FROM orders")


SERVERS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]


@pytest.mark.parametrize("backend", SERVERS, indirect=True)
def test_admin_scans_reach_schema_isolated_tenants(
    backend: Backend, urls: list[str], registry_url: str, front: Front
) -> None:
    if backend.name == "postgres":
        backend.query(urls[1], "CREATE SCHEMA globex_t")
        backend.query(
            urls[1], "CREATE TABLE globex_t.orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64))"
        )
        schema = "globex_t"
    else:  # MySQL: a schema is a database on the same server
        schema = urls[1].rsplit("/", 1)[1] + "_globex"
        backend.query(urls[1], f"CREATE DATABASE `{schema}`")
        backend.query(
            urls[1],
            f"CREATE TABLE `{schema}`.orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64))",
        )
    try:
        with front.connect(config(backend, urls, registry_url)) as cluster:
            cluster.tenants.put(
                {"id": "globex", "datasource": "ds1", "isolation": "schema", "schema": schema}
            )
            with cluster.session("acme") as acme:
                acme.execute("INSERT INTO orders (id, tenant_id) VALUES (1, 'acme')")
            with cluster.session("globex") as globex:
                globex.execute("INSERT INTO orders (id, tenant_id) VALUES (2, 'globex')")
                globex.execute("INSERT INTO orders (id, tenant_id) VALUES (3, 'globex')")
            with cluster.session(admin=True) as admin:
                result = admin.execute("SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id")
                assert sorted(result.fetchall()) == [("acme", 1), ("globex", 2)]
                assert sorted(t.tables["orders"] for t in result.targets) == sorted(
                    ["orders", "orders", f"{schema}.orders"]
                )
    finally:
        if backend.name == "mysql":
            backend.query(urls[1], f"DROP DATABASE IF EXISTS `{schema}`")
