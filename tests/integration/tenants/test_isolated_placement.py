"""Issue 13 item 4 end to end: a database-isolated tenant never shares a datasource, with a
real registry store (SQLite file) shared by two clusters, as two processes would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from tenantdb.errors import ConfigError, InvalidTenantError, TenantIsolationError
from tenantdb.tenants.stores.sqlite import SQLiteStore

WAIT_S = 30.0


def _config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "datasources": {f"ds{i}": {"url": f"sqlite:///{tmp_path}/shard{i}.db"} for i in range(3)},
        "tables": {"orders": {"strategy": "tenant"}},
        "registry": {"url": f"sqlite:///{tmp_path}/registry.db?poll_interval=0.02"},
        **extra,
    }


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[tenantdb.Cluster]]:
    opened = [tenantdb.connect(_config(tmp_path)) for _ in range(2)]
    yield opened
    for cluster in opened:
        cluster.close()


def test_the_issue_put_is_refused(clusters: list[tenantdb.Cluster]) -> None:
    cluster = clusters[0]
    cluster.tenants.put({"id": "a"})
    with pytest.raises(InvalidTenantError, match="isolation 'database' but no datasource"):
        cluster.tenants.put({"id": "c", "isolation": "database"})
    with pytest.raises(InvalidTenantError, match="datasource 'ds0' holds rows"):
        cluster.tenants.put({"id": "c", "isolation": "database", "datasource": "ds0"})


def test_a_static_database_tenant_on_the_default_datasource_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tenants\.c\.datasource: .*'ds0' holds rows"):
        tenantdb.connect(
            _config(tmp_path, tenants={"c": {"isolation": "database", "datasource": "ds0"}})
        )


def test_company_written_by_another_process_refuses_the_database_tenant(
    clusters: list[tenantdb.Cluster], tmp_path: Path
) -> None:
    first, second = clusters
    first.tenants.put({"id": "c", "isolation": "database", "datasource": "ds2"})
    with first.session(admin=True) as s:
        s.execute("CREATE TABLE orders (id INT PRIMARY KEY, tenant_id TEXT)")
    with first.session(tenant="c") as s:
        assert s.execute("SELECT count(*) FROM orders").fetchall() == [(0,)]
    # The other cluster refuses to put a tenant there once it knows c...
    deadline = time.monotonic() + WAIT_S
    while "c" not in second.tenants and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(InvalidTenantError, match="belongs to tenant 'c'"):
        second.tenants.put({"id": "a", "datasource": "ds2"})
    # ...but a hand edit of the store (or a process that did not know c yet) can write one.
    store = SQLiteStore(f"sqlite:///{tmp_path}/registry.db")
    try:
        assert store.write({"id": "a", "datasource": "ds2", "version": 1}, expected_version=0)
    finally:
        store.close()
    deadline = time.monotonic() + WAIT_S
    while not first.tenants.refused() and time.monotonic() < deadline:
        time.sleep(0.02)
    with (
        pytest.raises(TenantIsolationError, match="datasource 'ds2' is also used by tenant 'a'"),
        first.session(tenant="c") as s,
    ):
        s.execute("SELECT count(*) FROM orders")
    with first.session(tenant="a") as s:  # the confined tenant keeps working
        assert s.execute("SELECT count(*) FROM orders").fetchall() == [(0,)]
