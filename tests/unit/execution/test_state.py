"""Which statements may leave state on a pooled connection (``execution._state``): pure."""

from __future__ import annotations

import pytest

import tenantdb
from tenantdb.core.session import _state
from tenantdb.core.session._state import changes_state_in_tenant_session, may_change_state
from tenantdb.core.sql import Template

CLUSTER = tenantdb.connect(
    {
        "dialect": "postgres",
        "datasources": {"ds0": {"url": "postgresql://app@db0/app"}},
        "tables": {"orders": {"strategy": "tenant"}},
        "allowed_functions": ["poison"],
    }
)


def _changes(sql: str, *, admin: bool = False, tenant_session: bool = True) -> bool:
    router = CLUSTER.router
    return may_change_state(
        router.template(sql),
        admin=admin,
        tenant_session=tenant_session,
        declared=lambda name: router.topology.table(name).configured,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM orders WHERE id = %s",
        "INSERT INTO orders (id) VALUES (%s)",
        "UPDATE orders SET amount = lower('x') WHERE id = 1",
        "DELETE FROM orders WHERE id = 1",
        "SELECT count(*), now() FROM orders",
    ],
)
def test_plain_statements_on_declared_tables_leave_nothing(sql: str) -> None:
    assert not _changes(sql)
    assert not _changes(sql, tenant_session=False)
    assert _changes(sql, admin=True)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT set_config('search_path', 'x', false)",
        "SELECT poison() FROM orders",
        "SELECT pg_advisory_lock(1)",
        "SELECT nextval('s')",
        "CREATE TEMPORARY TABLE orders (id INT)",
    ],
)
def test_opaque_calls_and_ddl_may_change_state_anywhere(sql: str) -> None:
    assert _changes(sql)
    assert _changes(sql, tenant_session=False)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'",
        "SELECT id FROM pg_catalog.pg_class",
        "SELECT id FROM public.orders",
    ],
)
def test_outside_tenant_sessions_undeclared_relations_count(sql: str) -> None:
    assert _changes(sql, tenant_session=False)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id FROM orders WHERE id = %s",
        "SELECT nextval('orders_id_seq') FROM orders",
        "SELECT poison(id) FROM orders",
        "CREATE TABLE t (id INTEGER)",
    ],
)
def test_a_tenant_sessions_verdict_is_remembered_per_text_and_dialect(
    sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A memory of its own: other tests' sessions in this process fill the shared one.
    monkeypatch.setattr(_state, "_IN_TENANT_SESSION", {})
    parsed: list[str] = []

    def template(text: str) -> Template:
        parsed.append(text)
        return CLUSTER.router.template(text)

    first = changes_state_in_tenant_session("postgres", sql, template)
    assert first == _changes(sql)
    assert changes_state_in_tenant_session("postgres", sql, template) == first
    assert parsed == [sql]
    # Another dialect is another entry: its parse may differ.
    changes_state_in_tenant_session("mysql", sql, template)
    assert parsed == [sql, sql]
