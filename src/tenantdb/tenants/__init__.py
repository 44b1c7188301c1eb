"""Tenants: the registry that serves them, its stores and caches (the model is core.tenancy)."""

from __future__ import annotations

from ..core.tenancy import (
    Isolation,
    Placement,
    Rollout,
    Tenant,
    TenantLimits,
    TenantStatus,
    feature_enabled,
)
from ._configured import follow_config, open_registry
from ._registry import SharedCache, Subscriber, TenantRegistry

__all__ = [
    "Isolation",
    "Placement",
    "Rollout",
    "SharedCache",
    "Subscriber",
    "Tenant",
    "TenantLimits",
    "TenantRegistry",
    "TenantStatus",
    "feature_enabled",
    "follow_config",
    "open_registry",
]
