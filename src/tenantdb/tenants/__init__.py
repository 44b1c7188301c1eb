"""Tenants: the model, the registry that serves them, its stores, caches and placement."""

from __future__ import annotations

from ._configured import open_registry
from ._features import Rollout, feature_enabled
from ._model import Isolation, Tenant, TenantLimits, TenantStatus
from ._placement import Placement
from ._registry import Backoff, SharedCache, Subscriber, TenantRegistry

__all__ = [
    "Backoff",
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
    "open_registry",
]
