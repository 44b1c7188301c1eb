"""What admin jobs need of a cluster, and the admin session every job runs its statements in.

Admin jobs sit below the package root, so they never see ``Cluster`` itself: they take a
``ClusterView``, which ``tenantdb.Cluster`` satisfies as it is (structurally, no import),
and every statement they send goes through a :class:`~tenantdb._sync.Session`:
``execute_on`` for physical statements and catalog lookups, ``transaction()`` where work
must be all or nothing. No job holds a pool or a raw connection, with one exception:
``verify_replicas`` reads each replica on a connection of its own (a session reaches a
replica only when routing picks one, never by name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .._sync import Datasources, Session
from ..config import Config
from ..core.routing import Params, RoutePlan, Router, Topology
from ..tenants import TenantRegistry


class ClusterView(Protocol):
    """The parts of a cluster admin jobs use (``tenantdb.Cluster`` has them all)."""

    @property
    def config(self) -> Config: ...

    @property
    def topology(self) -> Topology: ...

    @property
    def router(self) -> Router: ...

    @property
    def datasources(self) -> Datasources:
        """Handed to the jobs' sessions only; no job acquires from a pool itself."""
        ...

    @property
    def tenants(self) -> TenantRegistry: ...

    def explain(self, sql: str, params: Params = None, *, admin: bool = False) -> RoutePlan:
        """Route without running (``Cluster.explain``)."""
        ...


def admin_session(view: ClusterView) -> Session:
    """A new admin session for one job; the caller closes it (``with admin_session(v) as s``).

    Unlike ``cluster.session(admin=True)`` it starts nothing besides itself: not the
    background precreation (a check such as ``tenantdb config check --live`` must create
    nothing, and a precreation pass must not start a second one), and not the tenant
    registry unless a routed statement needs the tenants' schemas.
    """

    def schema_layout() -> Mapping[str, tuple[str, ...]]:
        return view.tenants.schema_layout()

    return Session(view.router, view.datasources, admin=True, schema_layout=schema_layout)


__all__ = ["ClusterView", "admin_session"]
