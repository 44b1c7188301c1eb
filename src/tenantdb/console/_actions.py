"""What the console's buttons do, each written to the audit log.

Every action reads its fields from a checked form, does one thing through the vantage
(the read-to-primary switch) or the tenant registry (a tenant's status), and writes one
line on the ``tenantdb.console.audit`` logger: who (the client address and how it signed
in), what, on which datasource or tenant, and the result. Values are written with
``repr`` so that no field can forge a line of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Error, OperationalError, UnknownTenantError
from ._auth import Identity
from ._vantage import ActionRefused, Vantage

audit = logging.getLogger("tenantdb.console.audit")

TENANT_STATUSES = ("active", "read_only", "suspended")
MAX_REASON_LENGTH = 500


class ActionFailed(Exception):
    """An action that did not happen; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def force_primary(vantage: Vantage, form: Mapping[str, str], who: Caller) -> str:
    """Send reads of ``form["datasource"]`` (empty: every datasource) to primaries."""
    datasource = form.get("datasource") or None
    reason = " ".join((form.get("reason") or "").split())

    def act() -> str:
        if not reason:
            raise ActionFailed("say why reads go to the primary: the reason is logged and shown")
        if len(reason) > MAX_REASON_LENGTH:
            raise ActionFailed(f"the reason may have at most {MAX_REASON_LENGTH} characters")
        return vantage.force_primary(datasource, reason)

    return who.audited("force_primary", act, datasource=datasource, reason=reason)


def release_primary(vantage: Vantage, form: Mapping[str, str], who: Caller) -> str:
    """Undo ``force_primary`` for ``form["datasource"]`` (empty: the cluster-wide one)."""
    datasource = form.get("datasource") or None
    return who.audited(
        "release_primary", lambda: vantage.release_primary(datasource), datasource=datasource
    )


def set_tenant_status(vantage: Vantage, form: Mapping[str, str], who: Caller) -> str:
    """Set an existing tenant's status; its other fields keep their values.

    The registry's ``put`` of a mapping changes only the fields it names; the tenant is
    looked up first so that a mistyped id is refused instead of creating a tenant.
    """
    tenant_id = form.get("tenant") or ""
    status = form.get("status") or ""

    def act() -> str:
        allowed, reach = vantage.tenant_writes()
        if not allowed:
            raise ActionFailed(reach, 409)
        if status not in TENANT_STATUSES:
            raise ActionFailed(f"status must be one of {', '.join(TENANT_STATUSES)}")
        registry = vantage.cluster.tenants
        try:
            registry.get(tenant_id)
        except UnknownTenantError:
            raise ActionFailed(f"no tenant {tenant_id!r}", 404) from None
        tenant = registry.put({"id": tenant_id, "status": status})
        return f"tenant {tenant.id} is {tenant.status} (version {tenant.version})"

    return who.audited("set_tenant_status", act, tenant=tenant_id, status=status)


class Caller:
    """Who acts: the client address and how it signed in."""

    def __init__(self, client: str, identity: Identity) -> None:
        self.client = client
        self.identity = identity

    def audited(self, what: str, act: Callable[[], str], **subject: Any) -> str:
        """Run ``act`` and write its audit line. A refusal (ActionFailed, a tenantdb
        error, a bad value) comes out as ActionFailed; anything else goes on as raised."""
        try:
            result = act()
        except ActionFailed as exc:
            self._log(logging.WARNING, what, subject, f"refused: {exc}")
            raise
        except (ActionRefused, Error, ValueError) as exc:
            self._log(logging.WARNING, what, subject, f"refused: {exc}")
            raise ActionFailed(str(exc), 503 if isinstance(exc, OperationalError) else 400) from exc
        except Exception as exc:
            self._log(logging.ERROR, what, subject, f"failed: {type(exc).__name__}: {exc}")
            raise
        self._log(logging.INFO, what, subject, f"ok: {result}")
        return result

    def _log(self, level: int, what: str, subject: Mapping[str, Any], result: str) -> None:
        audit.log(
            level,
            "console action %s by %s (%s): %s -> %r",
            what,
            self.client,
            self.identity.kind,
            " ".join(f"{k}={v!r}" for k, v in subject.items()),
            result,
            extra={
                "console_action": what,
                "client": self.client,
                "auth": self.identity.kind,
                "subject": dict(subject),
                "result": result,
            },
        )


__all__ = [
    "MAX_REASON_LENGTH",
    "TENANT_STATUSES",
    "ActionFailed",
    "Caller",
    "audit",
    "force_primary",
    "release_primary",
    "set_tenant_status",
]
