"""tenantdb: one logical database over many tenants, shards and replicas, inside your process.

The public surface is what ``__all__`` lists; everything else is private.
"""

from __future__ import annotations

from ._async import AsyncResult, AsyncSession
from ._cluster import AsyncCluster, Cluster, connect, connect_async
from ._sync import Result, Session
from .config import Config, load_config
from .core.routing import MergePlan, RoutePlan, Target
from .core.tenancy import current_tenant, tenant_context
from .errors import (
    ConfigError,
    ConfigProblem,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    InvalidTenantError,
    NotSupportedError,
    OperationalError,
    PartialCommitError,
    PoolTimeoutError,
    ProgrammingError,
    RateLimitedError,
    RegistryUnavailableError,
    ReplicaLagError,
    RoutingError,
    ShardUnavailableError,
    TenantIsolationError,
    TenantStatusError,
    UnknownTenantError,
    UnsupportedSQLError,
    Warning,
)
from .tenants import Rollout, Tenant, TenantLimits, TenantRegistry, feature_enabled

__version__ = "0.1.0"

__all__ = [
    "AsyncCluster",
    "AsyncResult",
    "AsyncSession",
    "Cluster",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "InvalidTenantError",
    "MergePlan",
    "NotSupportedError",
    "OperationalError",
    "PartialCommitError",
    "PoolTimeoutError",
    "ProgrammingError",
    "RateLimitedError",
    "RegistryUnavailableError",
    "ReplicaLagError",
    "Result",
    "Rollout",
    "RoutePlan",
    "RoutingError",
    "Session",
    "ShardUnavailableError",
    "Target",
    "Tenant",
    "TenantIsolationError",
    "TenantLimits",
    "TenantRegistry",
    "TenantStatusError",
    "UnknownTenantError",
    "UnsupportedSQLError",
    "Warning",
    "__version__",
    "connect",
    "connect_async",
    "current_tenant",
    "feature_enabled",
    "load_config",
    "tenant_context",
]
