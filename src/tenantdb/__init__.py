"""tenantdb: one logical database over many tenants, shards and replicas, inside your process.

The public surface is what ``__all__`` lists; everything else is private.
"""

from __future__ import annotations

from ._cluster import Cluster, connect
from .config import Config, load_config
from .errors import (
    ConfigError,
    ConfigProblem,
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PartialCommitError,
    PoolTimeoutError,
    ProgrammingError,
    RateLimitedError,
    ReplicaLagError,
    RoutingError,
    ShardUnavailableError,
    TenantIsolationError,
    UnknownTenantError,
    UnsupportedSQLError,
    Warning,
)
from .execution import Result, Session
from .routing import MergePlan, RoutePlan, Target
from .tenants import Tenant, TenantLimits

__version__ = "0.1.0"

__all__ = [
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
    "MergePlan",
    "NotSupportedError",
    "OperationalError",
    "PartialCommitError",
    "PoolTimeoutError",
    "ProgrammingError",
    "RateLimitedError",
    "ReplicaLagError",
    "Result",
    "RoutePlan",
    "RoutingError",
    "Session",
    "ShardUnavailableError",
    "Target",
    "Tenant",
    "TenantIsolationError",
    "TenantLimits",
    "UnknownTenantError",
    "UnsupportedSQLError",
    "Warning",
    "__version__",
    "connect",
    "load_config",
]
