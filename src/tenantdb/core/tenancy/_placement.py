"""Where a new tenant goes: a weighted consistent-hash ring over the datasources.

A tenant is placed once, when it is created without a datasource, and the choice is
written to its record; later changes to the datasources never move it (moving a tenant is
an explicit operation). A record without a datasource (written by hand into a file store,
say) is placed on read by the same ring, so adding a datasource moves only about
``1/(n+1)`` of those tenants, weighted by the datasources' ``weight``. The ring never
chooses a datasource that a database-isolated tenant holds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ...errors import InvalidTenantError
from ..routing.strategies import ConsistentHashStrategy


class Placement:
    """Picks a datasource for a tenant id; ``weights`` maps datasource name → weight."""

    def __init__(self, weights: Mapping[str, float], *, virtual_nodes: int = 512) -> None:
        self.datasources = tuple(weights)
        self._weights = dict(weights)
        self._virtual_nodes = virtual_nodes
        self._ring = self._ring_over(self.datasources)
        # Rings without the datasources database-isolated tenants hold, by those left out.
        self._rings: dict[frozenset[str], tuple[tuple[str, ...], ConsistentHashStrategy]] = {}

    def place(self, tenant_id: str, avoid: Collection[str] = ()) -> str:
        """The datasource for ``tenant_id`` (deterministic across processes and runs).

        ``avoid`` names datasources that take no new tenant (each belongs to a
        database-isolated tenant): a tenant the ring would put on one goes to the ring of
        the others instead, so only those tenants move. InvalidTenantError when none is left.
        """
        chosen = self.datasources[self._ring.shard_for(tenant_id)]
        if chosen not in avoid:
            return chosen
        left_out = frozenset(avoid) & frozenset(self.datasources)
        entry = self._rings.get(left_out)
        if entry is None:
            rest = tuple(name for name in self.datasources if name not in left_out)
            if not rest:
                raise InvalidTenantError(
                    f"tenant {tenant_id!r} cannot be placed: every datasource"
                    f" ({', '.join(self.datasources)}) belongs to a database-isolated tenant;"
                    " add a datasource for shared tenants, or name one in the tenant's"
                    " datasource",
                    tenant_id=tenant_id,
                    field="datasource",
                )
            entry = (rest, self._ring_over(rest))
            if len(self._rings) >= 64:
                self._rings.clear()
            self._rings[left_out] = entry
        rest, ring = entry
        return rest[ring.shard_for(tenant_id)]

    def _ring_over(self, datasources: tuple[str, ...]) -> ConsistentHashStrategy:
        return ConsistentHashStrategy(
            table="tenants",
            key="id",
            datasources=datasources,
            virtual_nodes=self._virtual_nodes,
            weights={name: self._weights[name] for name in datasources},
            key_type="text",  # tenant ids are text: "05" is a tenant of its own
        )

    def __contains__(self, datasource: object) -> bool:
        return datasource in self.datasources

    def __repr__(self) -> str:
        return f"<Placement {', '.join(self.datasources)}>"
