"""The Tenant model: who a tenant is and where its data lives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Isolation = Literal["shared", "schema", "database"]
TenantStatus = Literal["active", "read_only", "suspended"]


@dataclass(frozen=True, slots=True)
class TenantLimits:
    """Request limits for one tenant; ``None`` means unlimited."""

    requests_per_second: float | None = None
    burst: int | None = None
    max_concurrent: int | None = None


@dataclass(frozen=True, slots=True)
class Tenant:
    """One tenant. Immutable: a change is a new Tenant with a higher ``version``.

    ``datasource`` is the tenant's placement for ``tenant`` tables (``None``: not placed
    yet). ``schema`` is the schema holding its tables when ``isolation == "schema"``.
    """

    id: str
    datasource: str | None = None
    isolation: Isolation = "shared"
    schema: str | None = None
    status: TenantStatus = "active"
    limits: TenantLimits = field(default_factory=TenantLimits)
    features: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "datasource": self.datasource,
            "isolation": self.isolation,
            "schema": self.schema,
            "status": self.status,
            "limits": {
                "requests_per_second": self.limits.requests_per_second,
                "burst": self.limits.burst,
                "max_concurrent": self.limits.max_concurrent,
            },
            "features": dict(self.features),
            "version": self.version,
        }
