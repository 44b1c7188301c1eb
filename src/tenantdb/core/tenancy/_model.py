"""The Tenant model: who a tenant is and where its data lives."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Defined once in config, where documents and store records are validated against them.
from ...config import Isolation, TenantLimits, TenantStatus


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
            "limits": dataclasses.asdict(self.limits),
            "features": dict(self.features),
            "version": self.version,
        }
