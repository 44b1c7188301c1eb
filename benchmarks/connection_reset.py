"""What resetting a pooled connection costs per request, measured in one run.

Run with ``.venv/bin/python benchmarks/connection_reset.py``. For each backend that answers
(SQLite always; PostgreSQL and MariaDB on their default local ports) it creates a scratch
database with one ``tenant`` table and a pool of one connection, then times, alternating
batches so every variant sees the same machine load:

- raw: the driver alone, one open connection, a point SELECT;
- raw + reset: the same, then the reset tenantdb sends (PostgreSQL: ``DISCARD ALL`` spelled
  out without its ``DEALLOCATE ALL``, MySQL
  ``COM_RESET_CONNECTION`` plus restoring the database and character set; SQLite: close and
  reopen the file);
- session: a tenant session (open, one point SELECT, close) that cannot have changed
  connection state, so its connection is only given back;
- session + reset: the same session marked as having changed state (what an admin session
  or a call of an impure function costs), so its release resets the connection.

Prints the median microseconds per request of each and the reset's share. The machine may
be shared: compare figures from one run only.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import tenantdb
from tenantdb._sync._postgres import _RESET_SESSION

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
MYSQL_ADMIN = "mysql://root@127.0.0.1:3306/"
POINT = "SELECT id, amount FROM orders WHERE id = %s"
BATCH = 200
REPEATS = 15


@contextlib.contextmanager
def sqlite_database() -> Iterator[tuple[str, Callable[[], Any], Callable[[Any], Any]]]:
    directory = tempfile.mkdtemp(prefix="tenantdb-bench-")
    path = f"{directory}/reset.db"

    def connect() -> Any:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def reset(raw: Any) -> Any:
        raw.close()
        fresh = connect()
        fresh.execute("PRAGMA foreign_keys=ON")
        return fresh

    try:
        yield f"sqlite:///{path}", connect, reset
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, Callable[[], Any], Callable[[Any], Any]]]:
    import psycopg

    name = f"tdb_bench_reset_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name

    def connect() -> Any:
        return psycopg.connect(url, autocommit=True)

    def reset(raw: Any) -> Any:
        raw.execute(_RESET_SESSION, prepare=False)
        return raw

    try:
        yield url, connect, reset
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mysql_database() -> Iterator[tuple[str, Callable[[], Any], Callable[[Any], Any]]]:
    import pymysql

    name = f"tdb_bench_reset_{secrets.token_hex(4)}"
    admin = pymysql.connect(host="127.0.0.1", user="root", autocommit=True, connect_timeout=3)
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")

    def connect() -> Any:
        return pymysql.connect(
            host="127.0.0.1", user="root", database=name, autocommit=True, charset="utf8mb4"
        )

    def reset(raw: Any) -> Any:
        # What MySQLConnection.reset sends: the command, then the database and charset.
        raw._execute_command(0x1F, b"")
        raw._read_ok_packet()
        raw.select_db(name)
        raw.set_character_set("utf8mb4")
        return raw

    try:
        yield f"mysql://root@127.0.0.1:3306/{name}", connect, reset
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def measure(
    label: str,
    url: str,
    connect: Callable[[], Any],
    reset: Callable[[Any], Any],
) -> None:
    placeholder = "?" if url.startswith("sqlite") else "%s"
    raw = connect()
    cursor = raw.cursor()
    cursor.execute("CREATE TABLE orders (id INT PRIMARY KEY, tenant_id VARCHAR(64), amount INT)")
    for i in range(100):
        cursor.execute(f"INSERT INTO orders VALUES ({i}, 'a', {i})")
    cursor.close()
    cluster = tenantdb.connect(
        {
            "datasources": {"ds0": {"url": url, "pool": {"min_size": 1, "max_size": 1}}},
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"a": {"datasource": "ds0"}},
        }
    )
    raw_point = POINT.replace("%s", placeholder) + " AND tenant_id = " + placeholder
    held = [raw]

    def raw_only(i: int) -> object:
        c = held[0].cursor()
        c.execute(raw_point, (i % 100, "a"))
        rows = c.fetchall()
        c.close()
        return rows

    def raw_and_reset(i: int) -> object:
        rows = raw_only(i)
        held[0] = reset(held[0])
        return rows

    def session(i: int) -> object:
        with cluster.session(tenant="a") as s:
            return s.execute(POINT, (i % 100,)).fetchall()

    def session_and_reset(i: int) -> object:
        with cluster.session(tenant="a") as s:
            s._dirty = True  # as if it had called an impure function: isolates the reset
            return s.execute(POINT, (i % 100,)).fetchall()

    variants = {
        "raw": raw_only,
        "raw + reset": raw_and_reset,
        "session": session,
        "session + reset": session_and_reset,
    }
    for fn in variants.values():  # warm up caches, pools and prepared plans
        for i in range(50):
            fn(i)
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEATS):
        for name, fn in variants.items():
            start = time.perf_counter_ns()
            for i in range(BATCH):
                fn(i)
            samples[name].append((time.perf_counter_ns() - start) / BATCH / 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"\n{label}: median µs per request ({REPEATS} batches of {BATCH}, interleaved)")
    for name, value in medians.items():
        print(f"  {name:<16} {value:9.1f}")
    print(
        f"  reset alone: raw {medians['raw + reset'] - medians['raw']:.1f} µs,"
        f" in a session {medians['session + reset'] - medians['session']:.1f} µs"
        f" ({(medians['session + reset'] / medians['session'] - 1) * 100:.0f}% of a"
        " clean session)"
    )
    cluster.close()
    held[0].close()


def main() -> None:
    backends: list[tuple[str, Any]] = [
        ("SQLite", sqlite_database),
        ("PostgreSQL", postgres_database),
        ("MariaDB", mysql_database),
    ]
    for label, database in backends:
        try:
            with database() as (url, connect, reset):
                measure(label, url, connect, reset)
        except Exception as exc:  # a server that is not running: say so and go on
            if label == "SQLite":
                raise
            print(f"\n{label}: skipped ({type(exc).__name__}: {exc})")


if __name__ == "__main__":
    main()
