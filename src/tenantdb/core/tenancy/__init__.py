"""The tenant model: who a tenant is, where its data lives, where a new one goes, and which
features it has."""

from __future__ import annotations

from ...config import Isolation, TenantLimits, TenantStatus
from ._context import current_tenant, tenant_context
from ._features import Rollout, feature_enabled
from ._model import Tenant
from ._occupancy import Occupancy
from ._placement import Placement

__all__ = [
    "Isolation",
    "Occupancy",
    "Placement",
    "Rollout",
    "Tenant",
    "TenantLimits",
    "TenantStatus",
    "current_tenant",
    "feature_enabled",
    "tenant_context",
]
