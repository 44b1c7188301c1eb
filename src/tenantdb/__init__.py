"""tenantdb: one logical database over many tenants, shards and replicas, inside your process.

The public surface is what ``__all__`` lists; everything else is private.

Importing the package loads none of it: each public name is imported from its module on
first use (``tenantdb.connect``, ``from tenantdb import Config``), so a process pays for
the configuration models, the SQL parser and a driver only when it opens a cluster, and
never for what it does not use (the other front, the other drivers, the command line).
Type checkers see the real names through the imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._async import AsyncResult, AsyncSession
    from ._cluster import AsyncCluster, Cluster, connect, connect_async
    from ._sync import Result, Session
    from .config import Config, load_config
    from .core.routing import MergePlan, RoutePlan, Target
    from .core.tenancy import current_tenant, tenant_context
    from .errors import (
        CircuitOpenError,
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
        SQLSyntaxError,
        StatementTimeoutError,
        TenantIsolationError,
        TenantMovedError,
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
    "CircuitOpenError",
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
    "SQLSyntaxError",
    "Session",
    "ShardUnavailableError",
    "StatementTimeoutError",
    "Target",
    "Tenant",
    "TenantIsolationError",
    "TenantLimits",
    "TenantMovedError",
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

# Where each public name lives, read on its first access by ``__getattr__`` below; every
# other name of ``__all__`` is an error class of ``.errors``.
_EXPORTS: dict[str, str] = {
    "AsyncCluster": "._cluster",
    "AsyncResult": "._async",
    "AsyncSession": "._async",
    "Cluster": "._cluster",
    "Config": ".config",
    "MergePlan": ".core.routing",
    "Result": "._sync",
    "Rollout": ".tenants",
    "RoutePlan": ".core.routing",
    "Session": "._sync",
    "Target": ".core.routing",
    "Tenant": ".tenants",
    "TenantLimits": ".tenants",
    "TenantRegistry": ".tenants",
    "connect": "._cluster",
    "connect_async": "._cluster",
    "current_tenant": ".core.tenancy",
    "feature_enabled": ".tenants",
    "load_config": ".config",
    "tenant_context": ".core.tenancy",
}

if not TYPE_CHECKING:  # a type checker keeps reporting misspelt names as errors

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name) or (".errors" if name in __all__ else None)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
