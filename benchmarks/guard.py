"""What the tenant guard costs: a tenant session's statements against hand-confined SQL.

Run with ``.venv/bin/python benchmarks/guard.py`` (``make bench`` runs it too). For each
backend that answers (SQLite always; PostgreSQL and MariaDB on their default local ports)
it loads ``orders`` with 20 tenants x 2,000 rows (index on tenant_id), then times, in one
run and alternating, three forms of each statement for tenant t3:

- ``plain``: the raw driver running SQL confined by hand (``... AND tenant_id = ?``), the
  form a tenant condition appended at the end took before the guard;
- ``guarded``: the raw driver running the SQL tenantdb sends (conditions that may raise
  under ``CASE WHEN tenant_id = ? THEN ... END``): the guard's cost inside the database;
- ``tenantdb``: a tenant session running the statement as the application writes it.

Paths: a point SELECT by primary key, a range read whose condition is guarded
(``length(note) > 8``), and a point UPDATE by primary key (on MariaDB the guard keeps
``id = <number>`` under the CASE in writes, so the UPDATE walks the tenant's index entries:
that is the price of MySQL's strict mode quoting row values in its errors).
Prints medians per statement and the ratios guarded/plain and tenantdb/plain.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import tenantdb
from execution import mysql_databases, per_call_us, postgres_databases, run, sqlite_databases

TENANTS = 20
ROWS_PER_TENANT = 2_000
TENANT = "t3"


def three_way(fns: list[Callable[[int], object]], *, batch: int, repeats: int = 11) -> list[float]:
    """Alternate the forms batch by batch so all see the same machine load."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, samples, strict=True):
            out += per_call_us(fn, batch=batch, repeats=1)
    return [statistics.median(s) for s in samples]


def measure(
    label: str, dialect: str, urls: list[str], raw_connect: Callable[[str], Any], mark: str
) -> None:
    raw = raw_connect(urls[0])
    cursor = raw.cursor()
    cursor.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL, "
        "amount INTEGER, note VARCHAR(100))"
    )
    cursor.execute("CREATE INDEX ix_orders_tenant ON orders (tenant_id)")
    rows = [
        (t * ROWS_PER_TENANT + i, f"t{t}", i, f"note {i}")
        for t in range(TENANTS)
        for i in range(ROWS_PER_TENANT)
    ]
    cursor.executemany(f"INSERT INTO orders VALUES ({mark}, {mark}, {mark}, {mark})", rows)
    cursor.execute("ANALYZE TABLE orders" if dialect == "mysql" else "ANALYZE orders")
    if dialect == "mysql":
        cursor.fetchall()
    cluster = tenantdb.connect(
        {
            "dialect": dialect,
            "datasources": {"ds0": {"url": urls[0], "pool": {"min_size": 1, "max_size": 2}}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {f"t{t}": {"datasource": "ds0"} for t in range(TENANTS)},
        }
    )
    session = cluster.session(tenant=TENANT)
    base = 3 * ROWS_PER_TENANT
    paths = {
        "point SELECT by id": (
            f"SELECT note FROM orders WHERE id = {mark} AND tenant_id = {mark}",
            "SELECT note FROM orders WHERE id = %s",
            lambda i: (base + i % ROWS_PER_TENANT,),
            200,
        ),
        "guarded range read (length(note) > 8)": (
            f"SELECT id FROM orders WHERE length(note) > 8 AND tenant_id = {mark}",
            "SELECT id FROM orders WHERE length(note) > 8",
            lambda i: (),
            10,
        ),
        "point UPDATE by id": (
            f"UPDATE orders SET amount = amount + 1 WHERE id = {mark} AND tenant_id = {mark}",
            "UPDATE orders SET amount = amount + 1 WHERE id = %s",
            lambda i: (base + i % ROWS_PER_TENANT,),
            100,
        ),
    }
    print(f"{label}:")
    for name, (plain_sql, sql, params_of, batch) in paths.items():
        target = cluster.explain(sql, list(params_of(0)), tenant=TENANT).targets[0]
        guarded_sql = target.sql
        reorder = _param_order(target.params, params_of(0))

        def plain(i: int, plain_sql: str = plain_sql, params_of: Any = params_of) -> object:
            cursor.execute(plain_sql, (*params_of(i), TENANT))
            return cursor.fetchall() if cursor.description else None

        def guarded(
            i: int,
            guarded_sql: str = guarded_sql,
            params_of: Any = params_of,
            reorder: Any = reorder,
        ) -> object:
            cursor.execute(guarded_sql, reorder(params_of(i)))
            return cursor.fetchall() if cursor.description else None

        def ours(i: int, sql: str = sql, params_of: Any = params_of) -> object:
            result = session.execute(sql, params_of(i))
            return result.fetchall() if result.description else None

        assert sorted(map(tuple, plain(0) or [])) == sorted(map(tuple, ours(0) or []))
        p, g, t = three_way([plain, guarded, ours], batch=batch)
        print(
            f"  {name:<40} plain {p:9.1f} µs  guarded {g:9.1f} µs  tenantdb {t:9.1f} µs"
            f"   guarded/plain {g / p:5.2f}   tenantdb/plain {t / p:5.2f}"
        )
    session.close()
    cluster.close()
    raw.close()


def _param_order(
    sent: tuple[object, ...], own: tuple[object, ...]
) -> Callable[[tuple[object, ...]], tuple[object, ...]]:
    """Map the statement's own parameters into the order of the SQL tenantdb sends (the
    tenant id fills every other slot)."""
    slots = [own.index(value) if value in own and value != TENANT else None for value in sent]
    return lambda values: tuple(TENANT if s is None else values[s] for s in slots)


if __name__ == "__main__":
    print(
        f"Median per statement, {TENANTS} tenants x {ROWS_PER_TENANT} rows, "
        "plain / guarded / tenantdb alternating in one run."
    )
    run("SQLite (files, WAL)", "sqlite", sqlite_databases, measure)
    run("PostgreSQL 127.0.0.1:5432", "postgres", postgres_databases, measure)
    run("MariaDB 127.0.0.1:3306", "mysql", mysql_databases, measure)
