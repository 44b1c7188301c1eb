"""Where a new tenant goes: a weighted consistent-hash ring over the datasources.

A tenant is placed once, when it is created without a datasource, and the choice is
written to its record; later changes to the datasources never move it (moving a tenant is
an explicit operation). A record without a datasource (written by hand into a file store,
say) is placed on read by the same ring, so adding a datasource moves only about
``1/(n+1)`` of those tenants, weighted by the datasources' ``weight``.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..routing.strategies import ConsistentHashStrategy


class Placement:
    """Picks a datasource for a tenant id; ``weights`` maps datasource name → weight."""

    def __init__(self, weights: Mapping[str, float], *, virtual_nodes: int = 512) -> None:
        self.datasources = tuple(weights)
        self._ring = ConsistentHashStrategy(
            table="tenants",
            key="id",
            datasources=self.datasources,
            virtual_nodes=virtual_nodes,
            weights=dict(weights),
        )

    def place(self, tenant_id: str) -> str:
        """The datasource for ``tenant_id`` (deterministic across processes and runs)."""
        return self.datasources[self._ring.shard_for(tenant_id)]

    def __contains__(self, datasource: object) -> bool:
        return datasource in self.datasources

    def __repr__(self) -> str:
        return f"<Placement {', '.join(self.datasources)}>"
