"""tenantdb configuration: the models, ``load_config`` and the JSON Schema of the document.

``load_config`` reads a TOML, YAML or JSON file (or takes a mapping), replaces
``${VAR}`` references from the environment, checks the whole document and returns a frozen
``Config`` whose fields are resolved: defaults filled in, every reference checked.
"""

from __future__ import annotations

from ._endpoints import registry_warnings
from ._loading import ConfigSource, load_config
from ._models import (
    Config,
    DatasourceConfig,
    Interval,
    Isolation,
    PoolConfig,
    RegistryConfig,
    Strategy,
    TableConfig,
    TenantConfig,
    TenantLimits,
    TenantStatus,
)
from ._schema import config_json_schema
from ._tenant_rules import (
    TenantRules,
    claimed_problem,
    company_problem,
    schema_taken_problem,
)
from ._urls import Dialect

__all__ = [
    "Config",
    "ConfigSource",
    "DatasourceConfig",
    "Dialect",
    "Interval",
    "Isolation",
    "PoolConfig",
    "RegistryConfig",
    "Strategy",
    "TableConfig",
    "TenantConfig",
    "TenantLimits",
    "TenantRules",
    "TenantStatus",
    "claimed_problem",
    "company_problem",
    "config_json_schema",
    "load_config",
    "registry_warnings",
    "schema_taken_problem",
]
