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

from ..sql import Dialect, Template

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
    return template.server_variables


# (dialect, SQL text) → may_change_state in a tenant session. Bounded: emptied when full.
# Only dict reads and single assignments, each atomic, so threads share it without a lock.
_IN_TENANT_SESSION: dict[tuple[str, str], bool] = {}
_REMEMBERED = 4096


def changes_state_in_tenant_session(
    dialect: Dialect, sql: str, template: Callable[[str], Template]
) -> bool:
    """``may_change_state`` for ``sql`` run in a (non-admin) tenant session, remembered per
    text: there the verdict depends on the template alone, which the text and the dialect
    fix, so a repeated statement skips the template lookup. ``template`` parses ``sql``."""
    key = (dialect, sql)
    verdict = _IN_TENANT_SESSION.get(key)
    if verdict is None:
        verdict = may_change_state(
            template(sql), admin=False, tenant_session=True, declared=_unused
        )
        if len(_IN_TENANT_SESSION) >= _REMEMBERED:
            _IN_TENANT_SESSION.clear()
        _IN_TENANT_SESSION[key] = verdict
    return verdict


def _unused(name: str) -> bool:
    raise AssertionError("a tenant session's verdict does not depend on declared tables")


__all__ = ["changes_state_in_tenant_session", "may_change_state"]
