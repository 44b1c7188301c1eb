"""ORM models of the SQLAlchemy tests: tenant tables (orders and their items, co-located
for each tenant), a sharded ``users`` table and a broadcast ``countries`` table.

``users`` and ``user_events`` are binding tables (both sharded by the user id).

Most tests set ``tenant_id`` explicitly; left unset (or None) it gets the session's tenant
(test_orm.py), and a different tenant's id is refused."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(50), index=True)
    # user_events is a binding table of users (same strategy, key values and shards), so
    # the join on the key runs inside each shard. No FOREIGN KEY: tenantdb does not yet
    # rename the referenced table in fanned-out DDL (test_tenantdb_gaps.py).
    events: Mapped[list[UserEvent]] = relationship(
        primaryjoin="User.id == foreign(UserEvent.user_id)", order_by="UserEvent.id"
    )


class UserEvent(Base):
    __tablename__ = "user_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.id", cascade="all, delete-orphan"
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(String(20))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    sku: Mapped[str] = mapped_column(String(20))
    order: Mapped[Order] = relationship(back_populates="items")


class Note(Base):
    """Keys and a default the database generates: the ORM reads them back per row."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(20), server_default="draft")


class Country(Base):
    __tablename__ = "countries"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
