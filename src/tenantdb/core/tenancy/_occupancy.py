"""Who is placed where: whether an isolated tenant can be served beside the others.

The registry records every tenant it holds here (deleted ones are forgotten) and asks two
questions, both pure functions of the recorded set so that every process answers alike
whatever order changes arrive in:

- ``refusal``: may this tenant be served? A database-isolated tenant may not while any
  other tenant shares its datasource; a schema-isolated tenant may not while another one
  has its schema (both are refused: neither is known to be the rightful owner). A tenant
  that shares a database-isolated tenant's datasource keeps being served: its own
  statements stay confined by the tenant condition.
- ``admission``: may ``put`` write this tenant? Stricter: it also refuses the tenant that
  would make a database-isolated tenant lose its datasource.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...config import (
    TenantRules,
    claimed_problem,
    company_problem,
    schema_taken_problem,
)
from ._model import Tenant


class Occupancy:
    """The placements of a set of tenants, indexed by datasource and by schema."""

    def __init__(self, rules: TenantRules, tenants: Iterable[Tenant] = ()) -> None:
        self._rules = rules
        self._tenants: dict[str, Tenant] = {}
        self._on: dict[str, set[str]] = {}  # datasource → ids placed there
        self._claims: dict[str, set[str]] = {}  # datasource → ids of database tenants there
        self._schemas: dict[str, set[str]] = {}  # lower-cased schema → ids of schema tenants
        for tenant in tenants:
            self.record(tenant.id, tenant)

    def record(self, tenant_id: str, tenant: Tenant | None) -> set[str]:
        """Record the tenant's new state (None: deleted). Returns the ids whose refusal may
        have changed with it (the tenant itself included)."""
        affected = {tenant_id}
        old = self._tenants.pop(tenant_id, None)
        if old is not None:
            affected |= self._neighbours(old)
            _drop(self._on, old.datasource, tenant_id)
            if old.isolation == "database":
                _drop(self._claims, old.datasource, tenant_id)
            if old.isolation == "schema" and old.schema:
                _drop(self._schemas, old.schema.lower(), tenant_id)
        if tenant is not None:
            self._tenants[tenant_id] = tenant
            if tenant.datasource is not None:
                self._on.setdefault(tenant.datasource, set()).add(tenant_id)
                if tenant.isolation == "database":
                    self._claims.setdefault(tenant.datasource, set()).add(tenant_id)
            if tenant.isolation == "schema" and tenant.schema:
                self._schemas.setdefault(tenant.schema.lower(), set()).add(tenant_id)
            affected |= self._neighbours(tenant)
        return affected

    def get(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def refusal(self, tenant: Tenant) -> str | None:
        """Why ``tenant`` may not be served beside the recorded others (None: it may).
        The recorded entry of the same id, if any, is not one of the others."""
        problem = self.admission(tenant, serving=True)
        return problem[1] if problem is not None else None

    def admission(self, tenant: Tenant, *, serving: bool = False) -> tuple[str, str] | None:
        """``(field, message)`` saying why ``put`` must not write ``tenant`` over the
        recorded others (None: it may). ``serving``: only what ``refusal`` checks."""
        rules = self._rules
        own = rules.own_problem(tenant.id, tenant.isolation, tenant.datasource, tenant.schema)
        if own is not None:
            return ("schema" if tenant.isolation == "schema" else "datasource"), own
        datasource = tenant.datasource
        if tenant.isolation == "database" and datasource is not None:
            others = _others(self._on, datasource, tenant.id)
            if others:
                return "datasource", company_problem(tenant.id, datasource, others)
        if tenant.isolation == "schema" and tenant.schema:
            others = _others(self._schemas, tenant.schema.lower(), tenant.id)
            if others:
                return "schema", schema_taken_problem(tenant.id, tenant.schema, min(others))
        if not serving and datasource is not None:
            owners = _others(self._claims, datasource, tenant.id)
            if owners:
                return "datasource", claimed_problem(tenant.id, datasource, min(owners))
        return None

    def claimed(self) -> frozenset[str]:
        """Datasources that database-isolated tenants hold (the hash ring avoids them)."""
        return frozenset(self._claims)

    def _neighbours(self, tenant: Tenant) -> set[str]:
        found: set[str] = set()
        if tenant.datasource is not None:
            found |= self._claims.get(tenant.datasource, set())
        if tenant.isolation == "schema" and tenant.schema:
            found |= self._schemas.get(tenant.schema.lower(), set())
        return found


def _others(index: dict[str, set[str]], key: str, tenant_id: str) -> set[str]:
    members = index.get(key)
    if not members or (len(members) == 1 and tenant_id in members):
        return set()  # the common case, without copying a large set
    return members - {tenant_id}


def _drop(index: dict[str, set[str]], key: str | None, tenant_id: str) -> None:
    if key is None:
        return
    members = index.get(key)
    if members is not None:
        members.discard(tenant_id)
        if not members:
            del index[key]
