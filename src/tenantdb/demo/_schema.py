"""The demo's schema, product catalog and provisioning: what exists before the workload runs.

Everything here is idempotent, so a second run on the same folder changes nothing but the
stock levels (topped up again) and the run counter.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from .._cluster import Cluster


@dataclass(frozen=True, slots=True)
class Product:
    """One catalog entry; ``stock_level`` is what each tenant's stock is topped up to."""

    sku: str
    name: str
    price_cents: int
    stock_level: int


CATALOG: tuple[Product, ...] = (
    Product("SKU-001", "Notebook", 450, 400),
    Product("SKU-002", "Ballpoint pen", 120, 400),
    Product("SKU-003", "Desk lamp", 3900, 200),
    Product("SKU-004", "Coffee mug", 990, 300),
    Product("SKU-005", "USB-C cable", 1490, 300),
    Product("SKU-006", "Stapler", 1250, 200),
    Product("SKU-007", "Sticky notes", 350, 400),
    Product("SKU-008", "Headphones", 7900, 150),
    Product("SKU-009", "Backpack", 5400, 150),
    Product("SKU-010", "Water bottle", 1800, 250),
    # Limited editions: a handful per tenant, so busy tenants sell out during a run.
    Product("LTD-001", "Limited hoodie", 5900, 6),
    Product("LTD-002", "Signed poster", 2500, 4),
)

# Tenant tables carry tenant_id first in their primary key: one tenant's rows sit together.
SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS products (sku TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "price_cents INTEGER NOT NULL)",
    # No CHECK (stock >= 0) on purpose: the conditional UPDATE alone keeps stock from going
    # negative, and the demo's check verifies that it did.
    "CREATE TABLE IF NOT EXISTS inventory (tenant_id TEXT NOT NULL, sku TEXT NOT NULL, "
    "stock INTEGER NOT NULL, received INTEGER NOT NULL, PRIMARY KEY (tenant_id, sku))",
    "CREATE TABLE IF NOT EXISTS orders (tenant_id TEXT NOT NULL, id INTEGER NOT NULL, "
    "idempotency_key TEXT NOT NULL, amount_cents INTEGER NOT NULL, line_count INTEGER NOT NULL, "
    "created_at TEXT NOT NULL, PRIMARY KEY (tenant_id, id))",
    "CREATE TABLE IF NOT EXISTS order_items (tenant_id TEXT NOT NULL, "
    "order_id INTEGER NOT NULL, line INTEGER NOT NULL, sku TEXT NOT NULL, "
    "quantity INTEGER NOT NULL, price_cents INTEGER NOT NULL, "
    "PRIMARY KEY (tenant_id, order_id, line))",
    "CREATE INDEX IF NOT EXISTS order_items_by_sku ON order_items (tenant_id, sku)",
    "CREATE TABLE IF NOT EXISTS idempotency_keys (tenant_id TEXT NOT NULL, "
    "key TEXT NOT NULL, order_id INTEGER NOT NULL, created_at TEXT NOT NULL, "
    "PRIMARY KEY (tenant_id, key))",
    "CREATE TABLE IF NOT EXISTS events (order_id INTEGER NOT NULL, tenant_id TEXT NOT NULL, "
    "kind TEXT NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS events_by_order ON events (order_id)",
    "CREATE TABLE IF NOT EXISTS demo_runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, "
    "tenants INTEGER NOT NULL, threads INTEGER NOT NULL, seconds REAL NOT NULL, "
    "seed INTEGER NOT NULL, statements INTEGER)",
)

_RESTOCK = (
    " ON CONFLICT (tenant_id, sku) DO UPDATE SET "
    "received = inventory.received + (excluded.stock - inventory.stock), "
    "stock = excluded.stock WHERE inventory.stock < excluded.stock"
)


def create_schema(cluster: Cluster) -> None:
    """Create every table and index (admin DDL fans out to each physical table)."""
    with cluster.session(admin=True) as session:
        for statement in SCHEMA:
            session.execute(statement)


def seed_products(cluster: Cluster) -> None:
    """Insert the catalog into the broadcast ``products`` table (a copy per datasource)."""
    values = ", ".join(["(%s, %s, %s)"] * len(CATALOG))
    params = [value for p in CATALOG for value in (p.sku, p.name, p.price_cents)]
    with cluster.session(admin=True) as session:
        session.execute(
            f"INSERT INTO products (sku, name, price_cents) VALUES {values} "
            "ON CONFLICT (sku) DO NOTHING",
            params,
        )


def restock(cluster: Cluster, tenant_ids: Iterable[str]) -> int:
    """Top every tenant's stock up to the catalog levels; return the SKU rows changed.

    ``received`` counts every unit that ever arrived, so ``received - sold == stock`` holds
    across runs.
    """
    values = ", ".join(["(%s, %s, %s, %s)"] * len(CATALOG))
    sql = f"INSERT INTO inventory (tenant_id, sku, stock, received) VALUES {values}{_RESTOCK}"
    changed = 0
    for tenant in tenant_ids:
        params = [v for p in CATALOG for v in (tenant, p.sku, p.stock_level, p.stock_level)]
        with cluster.session(tenant) as session:
            changed += session.execute(sql, params).rowcount
    return changed


def start_run(cluster: Cluster, *, tenants: int, threads: int, seconds: float, seed: int) -> int:
    """Record a new run in ``demo_runs`` (a single table on ds0); return its number."""
    with cluster.session() as session:
        result = session.execute(
            "INSERT INTO demo_runs (started_at, tenants, threads, seconds, seed) "
            "VALUES (%s, %s, %s, %s, %s)",
            (_now(), tenants, threads, seconds, seed),
        )
    assert result.lastrowid is not None, "SQLite reports the rowid of an INSERT"
    return result.lastrowid


def finish_run(cluster: Cluster, run: int, *, statements: int) -> None:
    with cluster.session() as session:
        session.execute("UPDATE demo_runs SET statements = %s WHERE id = %s", (statements, run))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
