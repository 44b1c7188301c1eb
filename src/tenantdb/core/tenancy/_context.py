"""The tenant of the current request: a context variable, so it follows asyncio tasks and
threads exactly and can never cross from one request to another.

Precedence when a session is opened (``cluster.session``, the async cluster's ``session``,
``tenantdb.dbapi.connect``):

1. ``admin=True``: an admin session; the context is ignored (an explicit ``tenant=`` still
   places that tenant's tables);
2. an explicit ``tenant=`` argument;
3. the innermost ``tenant_context(...)`` around the call, in this task or thread;
4. otherwise no tenant: only tables that are not tenant-scoped are reachable.

A context variable is copied into each asyncio task when the task is created and is not
shared between threads (a thread starts with the default, no tenant): a value set in one
request's task is invisible to every other, unlike a thread-local reused by a pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_CURRENT: ContextVar[str | None] = ContextVar("tenantdb_tenant", default=None)


@contextmanager
def tenant_context(tenant: str | None) -> Iterator[str | None]:
    """Set the tenant for sessions opened inside the block without one (``None``: no
    tenant, e.g. inside a block that set one). Restores the outer value on exit, also on
    error. Works in sync code and inside coroutines (``with``, not ``async with``).

    Raises TypeError for anything but a tenant id string or None: a Tenant object or a
    number here is almost always a mistake that would otherwise surface far away.
    """
    if tenant is not None and not isinstance(tenant, str):
        raise TypeError(
            f"tenant_context() takes a tenant id (str) or None, not {type(tenant).__name__}; "
            "pass tenant.id for a Tenant"
        )
    if tenant is not None and not tenant:
        raise ValueError("tenant_context() needs a non-empty tenant id (or None for no tenant)")
    token = _CURRENT.set(tenant)
    try:
        yield tenant
    finally:
        _CURRENT.reset(token)


def current_tenant() -> str | None:
    """The tenant id the innermost ``tenant_context`` set in this task or thread, or None."""
    return _CURRENT.get()
