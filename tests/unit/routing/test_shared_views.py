"""Tenant sessions of different isolations that confine the same tables share one
confined template: the confinement (a tree copy, a rewrite, a generated and re-parsed
text) is done once per template, not once per isolation."""

from __future__ import annotations

import tenantdb
from tenantdb.core.tenancy import Tenant

from .conftest import TODAY, cluster_config


def test_one_confined_view_serves_every_isolation_that_confines_the_same_tables() -> None:
    config = cluster_config()
    config["tables"]["notes"] = {"strategy": "single", "datasource": "ds0"}  # tenant-scoped
    cluster = tenantdb.connect(config, today=lambda: TODAY)
    template = cluster.router.template("SELECT body FROM notes WHERE id = %s")
    tenants = [
        Tenant(id="sh", datasource="ds0"),
        Tenant(id="sc", datasource="ds0", isolation="schema", schema="sc"),
        Tenant(id="db", datasource="ds0", isolation="database"),
    ]
    plans = [cluster.router.route(template, (1,), tenant=tenant) for tenant in tenants]
    assert len(template.views) == 1
    assert len({plan.targets[0].sql for plan in plans}) == 1
    assert "tenant_id" in plans[0].targets[0].sql
    assert [sorted(map(str, plan.targets[0].params)) for plan in plans] == [
        ["1", "sh"],
        ["1", "sc"],
        ["1", "db"],
    ]


def test_tenant_tables_are_confined_for_shared_tenants_only() -> None:
    cluster = tenantdb.connect(cluster_config(), today=lambda: TODAY)
    template = cluster.router.template("SELECT id FROM orders WHERE id = %s")
    shared = cluster.router.route(template, (1,), tenant=cluster.tenants.get("acme"))
    schema = cluster.router.route(template, (1,), tenant=cluster.tenants.get("globex"))
    assert len(template.views) == 1
    assert sorted(map(str, shared.targets[0].params)) == ["1", "acme"]
    assert schema.targets[0].params == (1,)
