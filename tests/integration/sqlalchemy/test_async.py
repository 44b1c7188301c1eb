"""``create_async_engine`` on tenantdb's asyncio front: the ORM with AsyncSession, schema
creation twice, tenant isolation, options and rollback (PostgreSQL and SQLite; MariaDB
too where its async driver is installed)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

import tenantdb
from tenantdb.integrations.sqlalchemy import missing_tables

from ..conftest import Backend
from .conftest import config_for, engine_url
from .models import Base, Order, OrderItem, User

T = TypeVar("T")
HANG_GUARD_S = 60.0


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, HANG_GUARD_S))


async def _engine(backend: Backend, layout: str) -> AsyncEngine:
    urls = backend.new_databases(1 if layout == "single" else 2)
    engine = create_async_engine(
        engine_url(backend), connect_args={"config": config_for(backend, layout, urls)}
    )
    for _ in range(2):  # the second run finds every table
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
    return engine


async def _seed(engine: AsyncEngine) -> None:
    for tenant, order_id in (("acme", 1), ("globex", 2)):
        with tenantdb.tenant_context(tenant):
            async with AsyncSession(engine) as session, session.begin():
                item = OrderItem(id=order_id * 10, tenant_id=tenant, sku=f"sku{order_id}")
                session.add(
                    Order(id=order_id, tenant_id=tenant, amount=Decimal("2.50"), items=[item])
                )


def test_async_orm_confined_to_the_context_tenant(backend: Backend, layout: str) -> None:
    async def scenario() -> None:
        engine = await _engine(backend, layout)
        try:
            await _seed(engine)
            with tenantdb.tenant_context("acme"):
                async with AsyncSession(engine) as session:
                    order = await session.get(Order, 1)
                    assert order is not None
                    items = await session.scalars(
                        sa.select(OrderItem.sku).where(OrderItem.order_id == 1)
                    )
                    assert items.all() == ["sku1"]
                    assert await session.get(Order, 2) is None  # globex's
                    assert (await session.scalars(sa.select(Order.id))).all() == [1]
                    assert await session.get(Order, 1) is order  # the identity map
                    session.add(Order(id=3, tenant_id="globex", amount=Decimal(1)))
                    with pytest.raises(sa.exc.DBAPIError) as raised:
                        await session.flush()
                    assert isinstance(raised.value.orig, tenantdb.TenantIsolationError)
            async with AsyncSession(engine) as session:
                globex = await session.scalars(
                    sa.select(Order.id), execution_options={"tenantdb_tenant": "globex"}
                )
                assert globex.all() == [2]
            # The README's FastAPI dependency: a session bound to the tenant's engine view.
            async with AsyncSession(engine.execution_options(tenantdb_tenant="acme")) as session:
                assert await session.get(Order, 2) is None
                assert (await session.scalars(sa.select(Order.id))).all() == [1]
            async with engine.connect() as connection:
                admin = await connection.execution_options(tenantdb_admin=True)
                every = await admin.execute(sa.select(Order.id).order_by(Order.id))
                assert every.scalars().all() == [1, 2]
        finally:
            await engine.dispose()

    run(scenario())


def test_async_rollback_across_shards(backend: Backend, layout: str) -> None:
    async def scenario() -> None:
        engine = await _engine(backend, layout)
        try:
            with tenantdb.tenant_context("acme"):
                async with AsyncSession(engine) as session:
                    session.add_all([User(id=i, tenant_id="acme", name=f"u{i}") for i in range(6)])
                    await session.flush()
                    await session.rollback()
                    count = await session.scalar(sa.select(sa.func.count()).select_from(User))
                    assert count == 0
                    session.add_all([User(id=i, tenant_id="acme", name=f"u{i}") for i in range(6)])
                    await session.commit()
                    ids = await session.scalars(sa.select(User.id).order_by(User.id))
                    assert ids.all() == list(range(6))
        finally:
            await engine.dispose()

    run(scenario())


def test_async_tasks_never_cross_tenants(backend: Backend) -> None:
    """Tasks share the engine's pool, each with its own tenant context."""

    async def scenario() -> None:
        engine = await _engine(backend, "sharded")
        try:
            await _seed(engine)

            async def request(number: int) -> tuple[str, list[int]]:
                tenant = ("acme", "globex")[number % 2]
                with tenantdb.tenant_context(tenant):
                    async with AsyncSession(engine) as session:
                        ids = await session.scalars(sa.select(Order.id).order_by(Order.id))
                        return tenant, list(ids.all())

            seen = await asyncio.gather(*(request(n) for n in range(40)))
            expected = {"acme": [1], "globex": [2]}
            assert all(ids == expected[tenant] for tenant, ids in seen)
        finally:
            await engine.dispose()

    run(scenario())


def test_async_create_all_finishes_a_half_created_table(backend: Backend) -> None:
    """A shard missing (a create_all that stopped half way): the next create_all creates
    it and skips the rest, through the schema runner as on the sync engine."""

    async def scenario() -> None:
        urls = backend.new_databases(2)
        engine = create_async_engine(
            engine_url(backend), connect_args={"config": config_for(backend, "sharded", urls)}
        )
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            backend.query(urls[1], "DROP TABLE users_1")
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            async with engine.connect() as connection:
                missing = await connection.run_sync(lambda c: missing_tables(c, "users"))
                assert missing == []
        finally:
            await engine.dispose()

    run(scenario())
