from __future__ import annotations

import datetime
from typing import Any

import pytest

import tenantdb

TODAY = datetime.date(2026, 11, 21)


def cluster_config(dialect: str = "postgres") -> dict[str, Any]:
    scheme = {"postgres": "postgresql://app@h/", "mysql": "mysql://app@h/", "sqlite": "sqlite:///"}
    return {
        "dialect": dialect,
        "datasources": {name: {"url": f"{scheme[dialect]}{name}.db"} for name in ("ds0", "ds1")},
        "tables": {
            "orders": {"strategy": "tenant"},
            "order_items": {"strategy": "tenant"},
            "users": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 8,
                "tenant_scoped": False,
            },
            "events": {
                "strategy": "hash_mod",
                "key": "user_id",
                "shards": 8,
                "tenant_scoped": False,
            },
            "accounts": {
                "strategy": "mod",
                "key": "account_id",
                "shards": 4,
                "tenant_scoped": False,
            },
            "ledger": {"strategy": "mod", "key": "account_id", "shards": 4, "tenant_scoped": False},
            "audit": {
                "strategy": "time_range",
                "key": "created_at",
                "interval": "month",
                "start": "2026-01-01",
                "pre_create": 2,
                "tenant_scoped": False,
            },
            "invoices": {
                "strategy": "range",
                "key": "invoice_id",
                "boundaries": [100, 200],
                "tenant_scoped": False,
            },
            "sessions": {
                "strategy": "consistent_hash",
                "key": "session_id",
                "tenant_scoped": False,
            },
            "countries": {"strategy": "broadcast"},
            "settings": {"strategy": "single", "datasource": "ds1", "tenant_scoped": False},
        },
        "binding_tables": [["users", "events"], ["accounts", "ledger"]],
        "tenants": {
            "acme": {"datasource": "ds0"},
            "globex": {"datasource": "ds1", "isolation": "schema", "schema": "globex"},
            "nowhere": {},
        },
    }


@pytest.fixture(scope="session")
def cluster() -> tenantdb.Cluster:
    return tenantdb.connect(cluster_config(), today=lambda: TODAY)


@pytest.fixture(scope="session")
def mysql_cluster() -> tenantdb.Cluster:
    return tenantdb.connect(cluster_config("mysql"), today=lambda: TODAY)


@pytest.fixture(scope="session")
def sqlite_cluster() -> tenantdb.Cluster:
    return tenantdb.connect(cluster_config("sqlite"), today=lambda: TODAY)
