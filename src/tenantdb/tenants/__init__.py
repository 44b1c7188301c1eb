"""Tenants: the model, and (as it lands) the registry, its stores and caches."""

from __future__ import annotations

from ._model import Isolation, Tenant, TenantLimits, TenantStatus
from ._static import StaticTenants

__all__ = ["Isolation", "StaticTenants", "Tenant", "TenantLimits", "TenantStatus"]
