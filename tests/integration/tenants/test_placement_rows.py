"""Issue 14 item 3: a placement change that would leave a tenant's rows behind is refused.

``cluster.tenants.put`` checks the tenant's ``tenant`` tables on its current placement
(rows with its id for shared isolation, any row in its schema or own database) before it
changes the datasource, isolation or schema; ``force=True`` changes it anyway. On both
fronts (``front``: an AsyncCluster runs that check on thread-front pools of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from fronts import Front, sync_only
from tenantdb.admin._ddl import create_tenant_schema
from tenantdb.errors import InvalidTenantError, TenantIsolationError

from ..conftest import Backend

TEXT = {"sqlite": "TEXT", "postgres": "TEXT", "mysql": "VARCHAR(40)"}


@pytest.fixture
def cluster(backend: Backend, tmp_path: Path, front: Front) -> Iterator[tenantdb.Cluster]:
    urls = backend.new_databases(3)
    config: dict[str, Any] = {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}, "notes": {"strategy": "tenant"}},
        "registry": {"url": f"sqlite:///{tmp_path}/registry.db"},
    }
    with front.connect(config) as opened:
        with opened.session(admin=True) as admin:
            # The tables exist on every datasource; notes stays empty.
            for table in ("orders", "notes"):
                admin.execute(
                    f"CREATE TABLE {table} (id INTEGER PRIMARY KEY,"
                    f" tenant_id {TEXT[backend.name]} NOT NULL)"
                )
        yield opened


def _insert(cluster: tenantdb.Cluster, tenant: str, order_id: int) -> None:
    with cluster.session(tenant) as session:
        session.execute("INSERT INTO orders (id) VALUES (%s)", (order_id,))


def _orders(cluster: tenantdb.Cluster, tenant: str) -> list[tuple[object, ...]]:
    with cluster.session(tenant) as session:
        return session.execute("SELECT id FROM orders ORDER BY id").fetchall()


def test_moving_a_tenant_with_rows_is_refused_until_forced(cluster: tenantdb.Cluster) -> None:
    registry = cluster.tenants
    registry.put({"id": "initech", "datasource": "ds0"})
    registry.put({"id": "globex", "datasource": "ds0"})
    _insert(cluster, "initech", 1)
    assert cluster.tenant_has_rows("initech") == ["orders"]
    # globex shares ds0's tables with initech, but none of their rows is globex's.
    assert cluster.tenant_has_rows("globex") == []

    before = registry.get("initech")
    with pytest.raises(InvalidTenantError, match="has rows in orders on ds0") as refused:
        registry.put({"id": "initech", "datasource": "ds1"})
    assert refused.value.field == "datasource"
    assert "force" in str(refused.value)
    with pytest.raises(InvalidTenantError, match="has rows in orders on ds0"):
        registry.put({"id": "initech", "isolation": "database", "datasource": "ds2"})
    assert registry.get("initech") == before
    assert _orders(cluster, "initech") == [(1,)]

    # Changes that keep the placement, and tenants without rows, are not affected.
    assert registry.put({"id": "initech", "status": "read_only"}).version == before.version + 1
    assert registry.put({"id": "globex", "datasource": "ds1"}).datasource == "ds1"

    moved = registry.put({"id": "initech", "datasource": "ds1"}, force=True)
    assert moved.datasource == "ds1"
    assert _orders(cluster, "initech") == []  # what force means: the rows stayed on ds0
    assert cluster.tenant_has_rows(before) == ["orders"]


def test_a_database_tenant_with_rows_keeps_its_database(cluster: tenantdb.Cluster) -> None:
    registry = cluster.tenants
    registry.put({"id": "solo", "isolation": "database", "datasource": "ds2"})
    with cluster.session("solo") as session:
        # Every row of a database tenant's own database is its own: one that names the
        # tenant column names the tenant itself (another id is refused, as everywhere).
        with pytest.raises(TenantIsolationError, match="other than the session's"):
            session.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (7, "x"))
        session.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (7, "solo"))
    assert cluster.tenant_has_rows("solo") == ["orders"]
    with pytest.raises(InvalidTenantError, match=r"on ds2 \(its own database\)") as refused:
        registry.put({"id": "solo", "isolation": "shared", "datasource": "ds1"})
    assert refused.value.field == "datasource"


SCHEMA_SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres)]


# Thread front only: create_tenant_schema is an admin job, which takes the thread front's
# Cluster (a ClusterView).
@sync_only
@pytest.mark.parametrize("backend", SCHEMA_SERVERS, indirect=True)
def test_a_schema_tenant_with_rows_keeps_its_schema(
    backend: Backend, cluster: tenantdb.Cluster
) -> None:
    registry = cluster.tenants
    beta = registry.put(
        {"id": "beta", "isolation": "schema", "schema": "t_beta", "datasource": "ds1"}
    )
    assert create_tenant_schema(cluster, beta)
    backend.query(
        cluster.config.datasources["ds1"].url,
        "CREATE TABLE t_beta.orders (id INTEGER PRIMARY KEY, tenant_id TEXT)",
    )
    assert cluster.tenant_has_rows("beta") == []
    with cluster.session("beta") as session:
        session.execute("INSERT INTO orders (id) VALUES (%s)", (3,))
    assert cluster.tenant_has_rows("beta") == ["orders"]
    for change in ({"schema": "t_beta2"}, {"isolation": "shared", "schema": None}):
        with pytest.raises(InvalidTenantError, match="has rows in orders on schema t_beta on ds1"):
            registry.put({"id": "beta", **change})
