"""Which tenantdb session a SQLAlchemy statement runs in: a pure decision per statement.

Precedence, first match wins (for ``conn.execution_options(...)``,
``engine.execution_options(...)`` and ORM ``session.execute(..., execution_options=...)``
alike, since SQLAlchemy merges them into the statement's options):

1. ``tenantdb_admin=True``: an admin session (may read every tenant's rows, runs DDL);
2. ``tenantdb_tenant="acme"``: a session confined to that tenant;
3. ``tenantdb.tenant_context("acme")`` around the statement: a session for that tenant;
4. a schema construct (``metadata.create_all()``, ``drop_all()``, ``Index.create()``) with
   neither an option nor a tenant context: an admin session, so DDL fans out to every
   physical table;
5. otherwise a session with no tenant: only tables that are not tenant-scoped answer.

The tenant is chosen when a transaction begins (the first statement after ``BEGIN``,
commit or rollback, or every statement under ``AUTOCOMMIT``) and kept until it ends; a
statement that asks for another tenant or for admin inside that transaction is refused
with TenantIsolationError instead of running in the wrong session. Setting both options is
refused too: an admin session does not confine rows, so the combination would read as
confined when it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InterfaceError

TENANT_OPTION = "tenantdb_tenant"
"""Execution option: run the statement for this tenant id."""
ADMIN_OPTION = "tenantdb_admin"
"""Execution option: run the statement in an admin session."""


@dataclass(frozen=True, slots=True)
class Scope:
    """What a statement's execution options ask of tenantdb (before the tenant context)."""

    tenant: str | None = None
    """The tenant an option names, else None (then the context decides)."""
    admin: bool = False
    ddl: bool = False
    """A SQLAlchemy schema construct: admin when no tenant is named anywhere."""

    def resolve(self, context_tenant: str | None) -> tuple[str | None, bool]:
        """``(tenant, admin)`` for a transaction that begins now, given the tenant of
        ``tenant_context()``. The precedence is the module docstring's."""
        if self.admin:
            return None, True
        if self.tenant is not None:
            return self.tenant, False
        if context_tenant is not None:
            return context_tenant, False
        return None, self.ddl


ROUTED = Scope()
"""The scope of a statement with no tenantdb option (a probe, or plain Core/ORM use)."""


def scope_of(options: Mapping[str, Any], *, ddl: bool = False) -> Scope:
    """The Scope of a statement's merged execution options.

    Raises InterfaceError for an option of the wrong type, or for both options at once.
    """
    tenant = options.get(TENANT_OPTION)
    admin = options.get(ADMIN_OPTION, False)
    if tenant is not None and (not isinstance(tenant, str) or not tenant):
        raise InterfaceError(
            f"execution option {TENANT_OPTION} takes a tenant id (a non-empty str), "
            f"not {type(tenant).__name__}"
        )
    if not isinstance(admin, bool):
        raise InterfaceError(
            f"execution option {ADMIN_OPTION} takes True or False, not {type(admin).__name__}"
        )
    if admin and tenant is not None:
        raise InterfaceError(
            f"execution options {TENANT_OPTION} and {ADMIN_OPTION}=True were both set; an "
            "admin session does not confine rows to a tenant: keep one of them"
        )
    if tenant is None and not admin and not ddl:
        return ROUTED
    return Scope(tenant=tenant, admin=admin, ddl=ddl)
