"""The ORM on tenantdb engines: relationships within co-located tables, the identity map,
``session.get``, rollback, and a Session opened inside a tenant context being confined."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

import tenantdb

from .models import Note, Order, OrderItem, User, UserEvent


def _order(tenant: str, order_id: int, skus: list[str]) -> Order:
    items = [
        OrderItem(id=order_id * 10 + n, tenant_id=tenant, sku=sku) for n, sku in enumerate(skus)
    ]
    return Order(id=order_id, tenant_id=tenant, amount=Decimal("12.50"), items=items)


def _seed(engine: sa.Engine) -> None:
    for tenant, order_id, skus in (("acme", 1, ["a", "b"]), ("globex", 2, ["z"])):
        with tenantdb.tenant_context(tenant), Session(engine) as session, session.begin():
            session.add(_order(tenant, order_id, skus))


def test_relationships_load_within_a_tenant(engine: sa.Engine) -> None:
    _seed(engine)
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        order = session.get(Order, 1)
        assert order is not None
        assert [item.sku for item in order.items] == ["a", "b"]
        assert order.items[0].order is order
        eager = session.scalars(sa.select(Order).options(selectinload(Order.items))).all()
        assert [(o.id, len(o.items)) for o in eager] == [(1, 2)]
        joined = session.execute(
            sa.select(Order.id, OrderItem.sku).join(Order.items).order_by(OrderItem.id)
        )
        assert joined.all() == [(1, "a"), (1, "b")]


def test_identity_map_returns_one_object_per_row(engine: sa.Engine) -> None:
    _seed(engine)
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        first = session.get(Order, 1)
        queried = session.scalars(sa.select(Order).where(Order.id == 1)).one()
        assert first is queried
        assert session.get(Order, 1) is first


def test_a_session_in_a_tenant_context_cannot_read_another_tenants_rows(
    engine: sa.Engine,
) -> None:
    _seed(engine)
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        assert session.get(Order, 2) is None  # globex's order
        assert session.scalars(sa.select(OrderItem.sku).order_by(OrderItem.id)).all() == [
            "a",
            "b",
        ]
        everything = session.scalars(sa.select(Order).where(Order.id.in_([1, 2]))).all()
        assert [o.id for o in everything] == [1]


def test_a_session_in_a_tenant_context_cannot_write_another_tenants_rows(
    engine: sa.Engine,
) -> None:
    _seed(engine)
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        session.add(Order(id=5, tenant_id="globex", amount=Decimal(1)))
        with pytest.raises(sa.exc.DBAPIError) as raised:
            session.flush()
        assert isinstance(raised.value.orig, tenantdb.TenantIsolationError)
        session.rollback()
        changed = session.execute(sa.update(Order).where(Order.id == 2).values(amount=0))
        assert changed.rowcount == 0
        session.commit()
    with tenantdb.tenant_context("globex"), Session(engine) as session:
        order = session.get(Order, 2)
        assert order is not None
        assert order.amount == Decimal("12.50")


def test_the_tenant_column_can_stay_in_the_model_unset(engine: sa.Engine) -> None:
    """Objects made without their tenant (unset, or None) get the session's tenant: the
    mapped column needs no value from the application."""
    with tenantdb.tenant_context("acme"), Session(engine) as session, session.begin():
        session.add(Order(id=7, amount=Decimal(1), items=[OrderItem(id=70, sku="u")]))
        session.add(Order(id=8, tenant_id=None, amount=Decimal(2)))  # type: ignore[arg-type]
    with Session(engine.execution_options(tenantdb_admin=True)) as session:
        stored = session.execute(
            sa.select(Order.id, Order.tenant_id).where(Order.id.in_([7, 8])).order_by(Order.id)
        ).all()
        assert stored == [(7, "acme"), (8, "acme")]
        items = session.execute(sa.select(OrderItem.tenant_id).where(OrderItem.id == 70))
        assert items.all() == [("acme",)]
    with tenantdb.tenant_context("globex"), Session(engine) as session:
        assert session.get(Order, 7) is None


def test_orm_execution_options_name_the_tenant(engine: sa.Engine) -> None:
    _seed(engine)
    with Session(engine) as session:
        globex = session.scalars(
            sa.select(Order.id), execution_options={"tenantdb_tenant": "globex"}
        ).all()
        assert globex == [2]
    with Session(engine.execution_options(tenantdb_admin=True)) as session:
        assert session.scalars(sa.select(Order.id).order_by(Order.id)).all() == [1, 2]


def test_rollback_discards_a_unit_of_work_across_shards(engine: sa.Engine) -> None:
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        session.add_all([User(id=i, tenant_id="acme", name=f"u{i}") for i in range(6)])
        session.flush()
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 6
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        session.add_all([User(id=i, tenant_id="acme", name=f"u{i}") for i in range(6)])
        session.commit()
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        names = session.scalars(sa.select(User.name).order_by(User.id)).all()
        assert names == [f"u{i}" for i in range(6)]
        user = session.get(User, 4)
        assert user is not None
        user.name = "four"
        session.delete(session.get(User, 5))
        session.commit()
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        assert session.scalars(sa.select(User.name).order_by(User.id)).all()[-2:] == [
            "u3",
            "four",
        ]


def test_relationships_between_binding_sharded_tables(engine: sa.Engine) -> None:
    with tenantdb.tenant_context("acme"), Session(engine) as session, session.begin():
        for user_id in range(4):
            session.add(User(id=user_id, tenant_id="acme", name=f"u{user_id}"))
            session.add_all(
                UserEvent(id=user_id * 10 + n, tenant_id="acme", user_id=user_id, kind=f"k{n}")
                for n in range(2)
            )
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        user = session.get(User, 3)
        assert user is not None
        assert [e.kind for e in user.events] == ["k0", "k1"]  # lazy load: one shard
        users = session.scalars(
            sa.select(User).options(selectinload(User.events)).order_by(User.id)
        ).all()
        assert [(u.id, [e.id for e in u.events]) for u in users] == [
            (i, [i * 10, i * 10 + 1]) for i in range(4)
        ]
        joined = session.execute(
            sa.select(User.name, sa.func.count(UserEvent.id))
            .join(User.events)
            .group_by(User.id, User.name)
            .order_by(User.id)
        )
        assert joined.all() == [(f"u{i}", 2) for i in range(4)]


def test_keys_and_defaults_the_database_generates(engine: sa.Engine) -> None:
    with tenantdb.tenant_context("acme"), Session(engine) as session:
        notes = [Note(tenant_id="acme") for _ in range(5)]
        session.add_all(notes)
        session.commit()
        ids = [note.id for note in notes]
        assert len(set(ids)) == 5
        assert [note.body for note in notes] == ["draft"] * 5
        stored = session.scalars(sa.select(Note.id).order_by(Note.id)).all()
        assert stored == sorted(ids)
