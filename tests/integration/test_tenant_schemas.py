"""Schema-isolated tenants get their schema (MySQL: database) created by `tenantdb ddl` and
by `tenantdb tenants add`, idempotently; their INSERTs carry their id, and admin scans show
the schema's tenant in the tenant column of rows stored without it (issue 14). PostgreSQL
and MariaDB; the sessions' behaviour on both fronts (``front``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import tenantdb
from fronts import Front
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


# The next two test the admin jobs (tenantdb ddl, tenants add): they take a ClusterView, the
# thread front's Cluster (an AsyncCluster runs its jobs on thread-front pools of its own),
# so they run on the thread front only; the sessions below run on both.


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


# -- the tenant column of schema tenants' rows (issue 14) --------------------------------

COUNTS = "SELECT tenant_id, COUNT(*) FROM orders GROUP BY tenant_id ORDER BY tenant_id"


@dataclass
class Schemas:
    """A cluster with the shared tenant alpha and the schema tenants beta and gamma (one
    datasource), its orders tables created, and raw access to the datasource."""

    cluster: tenantdb.Cluster
    backend: Backend
    url: str
    schemas: dict[str, str]

    def table(self, tenant: str) -> str:
        quote = "`" if self.backend.dialect == "mysql" else '"'
        return f"{quote}{self.schemas[tenant]}{quote}.orders"

    def raw(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.backend.query(self.url, sql, params)

    def admin(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.cluster.session(admin=True) as s:
            return s.execute(sql, params).fetchall()


@pytest.fixture
def schemas(schema_backend: Backend, run_id: str, front: Front) -> Iterator[Schemas]:
    backend = schema_backend
    url = backend.new_database()
    names = {"beta": f"{run_id}_beta", "gamma": f"{run_id}_gamma"}
    config = {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": url}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {
            "alpha": {"datasource": "ds0"},
            **{
                tenant: {"datasource": "ds0", "isolation": "schema", "schema": schema}
                for tenant, schema in names.items()
            },
        },
    }
    try:
        with tenantdb.connect(config) as admin:  # an admin job: the thread front (see above)
            apply_schema(admin, SCHEMA_SQL)
        with front.connect(config) as cluster:
            yield Schemas(cluster, backend, url, names)
    finally:
        if backend.name == "mysql":
            for schema in names.values():
                backend.query(url, f"DROP DATABASE IF EXISTS `{schema}`")


def _legacy_and_new_rows(world: Schemas) -> None:
    """Rows stored before schema tenants' INSERTs carried the id (tenant_id NULL, written
    with the raw driver: an admin session may not name a schema), then rows through
    tenant sessions: alpha 2, beta 2 old + 1 new, gamma 1 old + 1 new."""
    mark = world.backend.placeholder
    for tenant, ids in (("beta", (10, 11)), ("gamma", (20,))):
        for order_id in ids:
            world.raw(
                f"INSERT INTO {world.table(tenant)} (id, tenant_id, amount) "
                f"VALUES ({mark}, NULL, {mark})",
                (order_id, order_id),
            )
    for tenant, ids in (("alpha", (1, 2)), ("beta", (12,)), ("gamma", (21,))):
        with world.cluster.session(tenant=tenant) as s:
            for order_id in ids:
                s.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (order_id, order_id))


def test_schema_tenants_rows_carry_their_id_and_admin_scans_show_it(schemas: Schemas) -> None:
    _legacy_and_new_rows(schemas)
    # New rows are right at rest; the old ones still hold NULL.
    assert schemas.raw(f"SELECT id, tenant_id FROM {schemas.table('beta')} ORDER BY id") == [
        (10, None),
        (11, None),
        (12, "beta"),
    ]
    # Each schema tenant still sees all of its rows, old and new, and only those.
    with schemas.cluster.session(tenant="beta") as s:
        assert s.execute("SELECT id FROM orders ORDER BY id").fetchall() == [(10,), (11,), (12,)]
        assert s.execute("SELECT COUNT(*) FROM orders WHERE tenant_id IS NULL").fetchall() == [(2,)]
    assert schemas.admin(COUNTS) == [("alpha", 2), ("beta", 3), ("gamma", 2)]
    for tenant, ids in (("alpha", [1, 2]), ("beta", [10, 11, 12]), ("gamma", [20, 21])):
        found = schemas.admin("SELECT id FROM orders WHERE tenant_id = %s ORDER BY id", (tenant,))
        assert [row[0] for row in found] == ids, tenant
    assert schemas.admin("SELECT id, tenant_id FROM orders ORDER BY tenant_id DESC, id") == [
        (20, "gamma"),
        (21, "gamma"),
        (10, "beta"),
        (11, "beta"),
        (12, "beta"),
        (1, "alpha"),
        (2, "alpha"),
    ]
    assert schemas.admin(
        "SELECT o.id FROM orders o JOIN orders p ON p.tenant_id = o.tenant_id "
        "AND p.id = o.id + 1 ORDER BY o.id"
    ) == [(1,), (10,), (11,), (20,)]
    # SELECT * shows what is stored (no catalog to expand it).
    stored = schemas.admin("SELECT * FROM orders WHERE id = %s", (10,))
    assert [row[1] for row in stored] == [None]


def test_a_schema_tenant_cannot_write_another_tenants_id(schemas: Schemas) -> None:
    with schemas.cluster.session(tenant="beta") as s:
        for other in ("alpha", "gamma"):
            with pytest.raises(tenantdb.TenantIsolationError, match="leave tenant_id out"):
                s.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (5, other))
        with pytest.raises(tenantdb.TenantIsolationError, match="leave it out of SET"):
            s.execute("UPDATE orders SET tenant_id = %s", ("beta",))
        s.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (5, "beta"))
        # NULL, DEFAULT and None mean the session's tenant here too (issue 20).
        s.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s), (7, DEFAULT)", (6, None))
    rows = schemas.raw(f"SELECT id, tenant_id FROM {schemas.table('beta')}")
    assert sorted(rows) == [(5, "beta"), (6, "beta"), (7, "beta")]
    assert schemas.admin(COUNTS) == [("beta", 3)]


def test_admin_writes_over_schema_tenants_filter_on_the_tenant_they_show(
    schemas: Schemas,
) -> None:
    _legacy_and_new_rows(schemas)
    with schemas.cluster.session(admin=True) as s:
        assert (
            s.execute("UPDATE orders SET amount = 0 WHERE tenant_id = %s", ("beta",)).rowcount == 3
        )
        assert s.execute("DELETE FROM orders WHERE tenant_id = %s", ("gamma",)).rowcount == 2
    assert schemas.admin("SELECT id, amount FROM orders WHERE amount = 0 ORDER BY id") == [
        (10, 0),
        (11, 0),
        (12, 0),
    ]
    assert schemas.admin(COUNTS) == [("alpha", 2), ("beta", 3)]
    # The value of an assignment reads like any reference: this fills the missing ids in.
    with schemas.cluster.session(admin=True) as s:
        s.execute("UPDATE orders SET tenant_id = tenant_id")
    assert schemas.raw(f"SELECT id, tenant_id FROM {schemas.table('beta')} ORDER BY id") == [
        (10, "beta"),
        (11, "beta"),
        (12, "beta"),
    ]
