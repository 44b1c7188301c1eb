"""Core on tenantdb engines: statements, transactions across shards, tenants from the
context and from execution options, and isolation between tenants."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa

import tenantdb

from .models import Base, Country, Order, User

HANG_GUARD_S = 60.0

users = User.__table__
orders = Order.__table__
countries = Country.__table__


def test_insert_select_update_delete_for_a_tenant(engine: sa.Engine) -> None:
    with tenantdb.tenant_context("acme"), engine.begin() as connection:
        connection.execute(
            users.insert(), [{"id": i, "tenant_id": "acme", "name": f"u{i}"} for i in range(6)]
        )
        connection.execute(users.update().where(users.c.id == 3).values(name="three"))
        connection.execute(users.delete().where(users.c.id == 5))
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        rows = connection.execute(sa.select(users.c.id, users.c.name).order_by(users.c.id))
        assert rows.all() == [(0, "u0"), (1, "u1"), (2, "u2"), (3, "three"), (4, "u4")]
        count = connection.execute(sa.select(sa.func.count()).select_from(users)).scalar()
        assert count == 5


def test_order_by_limit_offset_across_shards(engine: sa.Engine) -> None:
    rows = [{"id": i, "tenant_id": "acme", "name": f"u{i}"} for i in range(10)]
    with tenantdb.tenant_context("acme"), engine.begin() as connection:
        connection.execute(users.insert(), rows)
        page = connection.execute(sa.select(users.c.id).order_by(users.c.id).limit(3).offset(4))
        assert page.scalars().all() == [4, 5, 6]
        top = connection.execute(sa.select(users.c.name).order_by(users.c.id.desc()).limit(2))
        assert top.scalars().all() == ["u9", "u8"]


def test_broadcast_rows_read_once(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(countries.insert(), [{"code": "fr", "name": "France"}])
        assert connection.execute(sa.select(countries.c.name)).scalars().all() == ["France"]


def test_returning_where_the_backend_has_it(engine: sa.Engine) -> None:
    if not engine.dialect.insert_returning:
        pytest.skip(f"{engine.dialect.name} {engine.dialect.server_version_info} has no RETURNING")
    with tenantdb.tenant_context("acme"), engine.begin() as connection:
        inserted = connection.execute(
            orders.insert().returning(orders.c.id, orders.c.amount),
            {"id": 7, "tenant_id": "acme", "amount": Decimal("9.50")},
        )
        assert inserted.all() == [(7, Decimal("9.50"))]


def test_rollback_undoes_writes_on_every_shard(engine: sa.Engine) -> None:
    rows = [{"id": i, "tenant_id": "acme", "name": f"u{i}"} for i in range(8)]
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        connection.execute(users.insert(), rows)
        connection.rollback()
        assert connection.execute(sa.select(users)).all() == []
        connection.execute(users.insert(), rows)
        connection.commit()
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        ids = connection.execute(sa.select(users.c.id).order_by(users.c.id)).scalars().all()
    assert ids == list(range(8))


def _seed_orders(engine: sa.Engine) -> None:
    for tenant, ids in (("acme", [1, 2]), ("globex", [3])):
        with tenantdb.tenant_context(tenant), engine.begin() as connection:
            connection.execute(
                orders.insert(), [{"id": i, "tenant_id": tenant, "amount": i} for i in ids]
            )


def test_a_tenant_sees_and_changes_only_its_rows(engine: sa.Engine) -> None:
    _seed_orders(engine)
    with tenantdb.tenant_context("acme"), engine.begin() as connection:
        assert connection.execute(sa.select(orders.c.id).order_by("id")).scalars().all() == [1, 2]
        # Another tenant's row is out of reach: no match, nothing changed.
        assert connection.execute(sa.select(orders).where(orders.c.id == 3)).all() == []
        gone = connection.execute(orders.delete().where(orders.c.id == 3))
        assert gone.rowcount == 0
    with tenantdb.tenant_context("globex"), engine.connect() as connection:
        assert connection.execute(sa.select(orders.c.id)).scalars().all() == [3]


def test_a_tenant_cannot_insert_another_tenants_row(engine: sa.Engine) -> None:
    with (
        tenantdb.tenant_context("acme"),
        engine.begin() as connection,
        pytest.raises(sa.exc.DBAPIError) as raised,
    ):
        connection.execute(orders.insert(), {"id": 9, "tenant_id": "globex", "amount": 1})
    assert isinstance(raised.value.orig, tenantdb.TenantIsolationError)
    with engine.connect() as connection:
        admin = connection.execution_options(tenantdb_admin=True)
        assert admin.execute(sa.select(orders)).all() == []


def test_execution_options_choose_the_tenant_over_the_context(engine: sa.Engine) -> None:
    _seed_orders(engine)
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        globex = connection.execution_options(tenantdb_tenant="globex")
        assert globex.execute(sa.select(orders.c.id)).scalars().all() == [3]
    for_globex = engine.execution_options(tenantdb_tenant="globex")
    with for_globex.connect() as connection:
        assert connection.execute(sa.select(orders.c.id)).scalars().all() == [3]
    with engine.connect() as connection:
        statement = sa.select(orders.c.id).order_by("id")
        acme = connection.execute(statement, execution_options={"tenantdb_tenant": "acme"})
        assert acme.scalars().all() == [1, 2]


def test_admin_option_reads_every_tenant(engine: sa.Engine) -> None:
    _seed_orders(engine)
    with engine.connect() as connection:
        admin = connection.execution_options(tenantdb_admin=True)
        ids = admin.execute(sa.select(orders.c.id).order_by("id")).scalars().all()
    assert ids == [1, 2, 3]


def test_no_tenant_reaches_no_tenant_table(engine: sa.Engine) -> None:
    with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError) as raised:
        connection.execute(sa.select(orders))
    assert isinstance(raised.value.orig, tenantdb.Error)


def test_another_tenant_inside_a_transaction_is_refused(engine: sa.Engine) -> None:
    with tenantdb.tenant_context("acme"), engine.connect() as connection:
        connection.execute(sa.select(orders)).all()
        with pytest.raises(sa.exc.DBAPIError, match="needs a transaction of its own"):
            connection.execute(sa.select(orders), execution_options={"tenantdb_tenant": "globex"})
        connection.rollback()
        other = connection.execute(
            sa.select(orders), execution_options={"tenantdb_tenant": "globex"}
        )
        assert other.all() == []


def test_both_options_at_once_are_refused(engine: sa.Engine) -> None:
    options = {"tenantdb_tenant": "acme", "tenantdb_admin": True}
    with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="keep one"):
        connection.execute(sa.select(orders), execution_options=options)


def test_a_pooled_connection_follows_the_next_tenant(engine: sa.Engine) -> None:
    _seed_orders(engine)
    seen = []
    for tenant in ("acme", "globex", "acme"):
        with tenantdb.tenant_context(tenant), engine.connect() as connection:
            seen.append(connection.execute(sa.select(orders.c.id).order_by("id")).scalars().all())
    assert seen == [[1, 2], [3], [1, 2]]


def test_metadata_names_every_model_table() -> None:
    assert sorted(Base.metadata.tables) == [
        "countries",
        "notes",
        "order_items",
        "orders",
        "user_events",
        "users",
    ]


def test_concurrent_requests_never_cross_tenants(engine: sa.Engine) -> None:
    """Threads share the engine's pool, each in its own tenant context: every read sees
    only its tenant's rows, however the pooled connections are handed around."""
    _seed_orders(engine)
    expected = {"acme": [1, 2], "globex": [3]}

    def request(number: int) -> tuple[str, list[int]]:
        tenant = ("acme", "globex")[number % 2]
        with tenantdb.tenant_context(tenant), engine.connect() as connection:
            ids = connection.execute(sa.select(orders.c.id).order_by("id")).scalars().all()
        return tenant, list(ids)

    with ThreadPoolExecutor(max_workers=6) as pool:
        seen = list(pool.map(request, range(60), timeout=HANG_GUARD_S))
    assert all(ids == expected[tenant] for tenant, ids in seen)
