"""Static tenants: the ``[tenants.*]`` section of the configuration, read-only.

The full registry (stores, caches, change propagation) replaces this directory when it
lands; until then ``cluster.tenants`` answers ``get`` and ``list`` from the configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from ..errors import UnknownTenantError
from ._model import Tenant


class StaticTenants:
    """An immutable id → Tenant directory."""

    def __init__(self, tenants: Iterable[Tenant]) -> None:
        self._tenants = MappingProxyType({t.id: t for t in tenants})

    def get(self, tenant_id: str) -> Tenant:
        """The tenant with this id; raises UnknownTenantError naming the id otherwise."""
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise UnknownTenantError(tenant_id)
        return tenant

    def list(self) -> list[Tenant]:
        """Every tenant, sorted by id."""
        return [self._tenants[k] for k in sorted(self._tenants)]

    def __len__(self) -> int:
        return len(self._tenants)

    def __repr__(self) -> str:
        return f"<StaticTenants [{len(self._tenants)} tenants]>"
