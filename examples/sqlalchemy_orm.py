"""SQLAlchemy's ORM on tenantdb: one engine, orders placed by tenant on two SQLite files,
each tenant's Session confined to its own rows.

Run it: ``python examples/sqlalchemy_orm.py [DIRECTORY]`` (needs ``tenantdb[sqlalchemy]``);
it creates ``shard0.db`` and ``shard1.db`` in DIRECTORY (default: a temporary directory)
and prints what each tenant sees.
"""

from __future__ import annotations

import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

import tenantdb


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    tenant_id: Mapped[str] = mapped_column(sa.String(20))
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"))
    sku: Mapped[str] = mapped_column(sa.String(20))


def write_config(directory: Path) -> Path:
    """A tenantdb configuration: two SQLite datasources, acme on one, globex on the other."""
    config = {
        "datasources": {
            "shard0": {"url": f"sqlite:///{directory / 'shard0.db'}"},
            "shard1": {"url": f"sqlite:///{directory / 'shard1.db'}"},
        },
        "tables": {"orders": {"strategy": "tenant"}, "order_lines": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "shard0"}, "globex": {"datasource": "shard1"}},
    }
    path = directory / "tenantdb.json"
    path.write_text(json.dumps(config))
    return path


def main(directory: Path) -> dict[str, list[tuple[int, list[str]]]]:
    """Create the schema (twice: the second run changes nothing), write one order per
    tenant, and return what each tenant's Session sees."""
    engine = sa.create_engine(f"tenantdb+sqlite:///?config={write_config(directory)}")
    try:
        Base.metadata.create_all(engine)  # DDL fans out to both datasources (admin)
        Base.metadata.create_all(engine)
        for number, tenant in enumerate(("acme", "globex"), start=1):
            with tenantdb.tenant_context(tenant), Session(engine) as session, session.begin():
                session.merge(Order(id=number, tenant_id=tenant, amount=Decimal("9.90")))
                session.merge(OrderLine(id=number, tenant_id=tenant, order_id=number, sku="tea"))
        seen: dict[str, list[tuple[int, list[str]]]] = {}
        for tenant in ("acme", "globex"):
            with tenantdb.tenant_context(tenant), Session(engine) as session:
                orders = session.scalars(sa.select(Order).order_by(Order.id)).all()
                seen[tenant] = [(o.id, [line.sku for line in o.lines]) for o in orders]
        return seen
    finally:
        engine.dispose()  # closes the cluster the engine built


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(main(Path(sys.argv[1])))
    else:
        with tempfile.TemporaryDirectory() as temporary:
            print(main(Path(temporary)))
