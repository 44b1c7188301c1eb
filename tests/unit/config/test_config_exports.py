"""The public face of tenantdb.config: complete, sorted, and nothing private."""

from __future__ import annotations

import tenantdb.config


def test_all_is_sorted() -> None:
    assert tenantdb.config.__all__ == sorted(tenantdb.config.__all__)


def test_all_lists_every_public_name() -> None:
    public = {
        name for name in dir(tenantdb.config) if not name.startswith("_") and name != "annotations"
    }
    assert public == set(tenantdb.config.__all__)


def test_contract_names_are_exported() -> None:
    contract = {
        "Config",
        "DatasourceConfig",
        "PoolConfig",
        "TableConfig",
        "TenantConfig",
        "TenantLimits",
        "RegistryConfig",
        "load_config",
        "config_json_schema",
        "Strategy",
        "Dialect",
    }
    assert contract <= set(tenantdb.config.__all__)
