"""Whether a statement may leave state on its connection that outlives the session.

A pooled connection goes from one session to the next. Settings changed with
``set_config(..., false)`` or an ``UPDATE pg_settings``, ``SET ROLE`` through a function,
temporary tables, advisory locks, MySQL user variables and ``LAST_INSERT_ID(expr)``, SQLite
PRAGMAs: any of them would reach the next tenant. Releasing a connection that such a
statement ran on resets the server session (``Connection.mark_dirty``); resetting costs a
round trip, so sessions that cannot have changed anything skip it.

A statement is vouched for when it is a SELECT, INSERT, UPDATE or DELETE that calls only
functions known not to write (``opaque_calls`` false) and, outside a tenant session, names
only declared tables and no server variables (a tenant session's allow-list already refuses
the rest before anything runs). Everything else, and every statement of an admin session,
counts as changing state. Triggers on declared tables are the operator's: a trigger that
changes session state must be paired with admin-only writes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..sql import Template, session_variables

_PLAIN = frozenset({"select", "insert", "update", "delete"})


def may_change_state(
    template: Template, *, admin: bool, tenant_session: bool, declared: Callable[[str], bool]
) -> bool:
    """True when running ``template`` may leave state on the connection (see above)."""
    if admin or template.kind not in _PLAIN or template.opaque_calls:
        return True
    if tenant_session:
        return False
    if any(ref.schema is not None or not declared(ref.table) for ref in template.refs):
        return True
    return session_variables(template.statement)


__all__ = ["may_change_state"]
