"""tenantdb configuration: the models, ``load_config`` and the JSON Schema of the document.

``load_config`` reads a TOML, YAML or JSON file (or takes a mapping), replaces
``${VAR}`` references from the environment, checks the whole document and returns a frozen
``Config`` whose fields are resolved: defaults filled in, every reference checked.
"""

from __future__ import annotations

from ._diff import ConfigChange, ConfigDiff, diff_configs
from ._durations import parse_duration
from ._endpoints import registry_warnings
from ._etcd import is_etcd_url
from ._loading import ConfigSource, load_config
from ._models import (
    BreakerConfig,
    Config,
    DatasourceConfig,
    Interval,
    Isolation,
    LimitsConfig,
    MovesConfig,
    PoolConfig,
    RegistryConfig,
    Strategy,
    TableConfig,
    TelemetryConfig,
    TenantConfig,
    TenantLimits,
    TenantStatus,
)
from ._names import IDENTIFIER_HELP, is_identifier, tenant_id_problem
from ._schema import config_json_schema
from ._tenant_rules import (
    TenantRules,
    claimed_problem,
    company_problem,
    schema_taken_problem,
)
from ._urls import Dialect, redact_url, url_dialect
from ._watch import ConfigWatcher

__all__ = [
    "BreakerConfig",
    "Config",
    "ConfigChange",
    "ConfigDiff",
    "ConfigSource",
    "ConfigWatcher",
    "DatasourceConfig",
    "Dialect",
    "IDENTIFIER_HELP",
    "Interval",
    "Isolation",
    "LimitsConfig",
    "MovesConfig",
    "PoolConfig",
    "RegistryConfig",
    "Strategy",
    "TableConfig",
    "TelemetryConfig",
    "TenantConfig",
    "TenantLimits",
    "TenantRules",
    "TenantStatus",
    "claimed_problem",
    "company_problem",
    "config_json_schema",
    "diff_configs",
    "is_etcd_url",
    "is_identifier",
    "load_config",
    "parse_duration",
    "redact_url",
    "registry_warnings",
    "schema_taken_problem",
    "tenant_id_problem",
    "url_dialect",
]
