"""Point reads from many threads: tenantdb's thread front against raw psycopg_pool.

Run with ``.venv/bin/python benchmarks/concurrency.py`` (about a minute; ``--quick`` for a
smoke run). PostgreSQL on 127.0.0.1:5432 (user postgres, trust) must answer, else the
script says so and reports nothing. It creates one scratch database (``tdb_bench_conc_*``,
dropped at the end) with a 10,000-row ``items`` table of tenant ``acme``, then measures
two ways of using a pool from ``THREADS`` threads, each for ``--seconds`` per run:

- one session per thread: each thread opens one tenantdb session for the whole run and
  reads by primary key in a loop ÷ each thread holds one ``pool.connection()`` of a raw
  ``psycopg_pool.ConnectionPool`` for the whole run;
- a new session per read (how web applications use it): ``with cluster.session(tenant=
  "acme") as s: s.execute(...).fetchall()`` per read ÷ ``with pool.connection() as c:
  c.execute(...).fetchall()`` per read.

The raw side runs the physical statement tenantdb sends (``cluster.explain``: with the
tenant predicate), so both sides ask the server the same thing. **Both pools have the same
size**: ``min_size = max_size = THREADS`` for tenantdb's datasource and for the raw
psycopg_pool, autocommit connections on both sides, all opened before timing starts.

Raw and tenantdb runs alternate (``--runs`` each, at least 3), so both see the same
machine load; the figure is the median reads per second over runs, and the ratio is
tenantdb ÷ raw of those medians (higher is better; the range of the per-pair ratios shows
the noise). Rows are reported through ``benchmarks/_table.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Iterator

import tenantdb
from _table import report
from execution import PG_ADMIN

THREADS = 8
ROWS = 10_000
TENANT = "acme"
POINT = "SELECT id, name, price FROM items WHERE id = %s"
PG_URL = PG_ADMIN.rsplit("/", 1)[0]
TARGET = 0.90


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A new PostgreSQL database filled with ``items`` (its URL), dropped on exit."""
    import psycopg

    name = f"tdb_bench_conc_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_URL}/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,"
                " name VARCHAR(40), price INTEGER)"
            )
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO items VALUES (%s, %s, %s, %s)",
                    [(i, TENANT, f"item {i}", i % 97) for i in range(ROWS)],
                )
            connection.execute("ANALYZE items")
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def throughput(read: Callable[[int, Callable[[], bool]], int], seconds: float) -> float:
    """Reads per second of ``THREADS`` threads each running ``read(thread, running)`` (which
    returns how many reads it made) until ``seconds`` after they all started."""
    counts = [0] * THREADS
    start = threading.Barrier(THREADS + 1)
    deadline = [0.0]

    def running() -> bool:
        return time.perf_counter() < deadline[0]

    def body(index: int) -> None:
        start.wait()
        counts[index] = read(index, running)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def key(thread: int, i: int) -> int:
    return (thread * 1237 + i * 37) % ROWS


def measure(url: str, seconds: float, runs: int) -> None:
    import psycopg_pool

    config = {
        "dialect": "postgres",
        "datasources": {
            "ds0": {"url": url, "pool": {"min_size": THREADS, "max_size": THREADS}},
        },
        "tables": {"items": {"strategy": "tenant"}},
        "tenants": {TENANT: {"datasource": "ds0"}},
    }
    cluster = tenantdb.connect(config)
    [target] = cluster.explain(POINT, (0,), tenant=TENANT).targets
    raw_sql, own = target.sql, tuple(target.params[:-1])
    pool = psycopg_pool.ConnectionPool(
        url,
        min_size=THREADS,
        max_size=THREADS,
        kwargs={"autocommit": True},
        open=True,
        name="raw",
    )
    pool.wait()
    try:
        with contextlib.ExitStack() as warm:  # every tenantdb connection opened before timing
            sessions = [warm.enter_context(cluster.session(tenant=TENANT)) for _ in range(THREADS)]
            expected = [(5, "item 5", 5)]
            for session in sessions:
                assert session.execute(POINT, (5,)).fetchall() == expected
        with pool.connection() as connection:
            assert connection.execute(raw_sql, (*own, 5)).fetchall() == expected

        def raw_held(thread: int, running: Callable[[], bool]) -> int:
            n = 0
            with pool.connection() as connection:
                while running():
                    connection.execute(raw_sql, (*own, key(thread, n))).fetchall()
                    n += 1
            return n

        def ours_held(thread: int, running: Callable[[], bool]) -> int:
            n = 0
            with cluster.session(tenant=TENANT) as session:
                while running():
                    session.execute(POINT, (key(thread, n),)).fetchall()
                    n += 1
            return n

        def raw_each(thread: int, running: Callable[[], bool]) -> int:
            n = 0
            while running():
                with pool.connection() as connection:
                    connection.execute(raw_sql, (*own, key(thread, n))).fetchall()
                n += 1
            return n

        def ours_each(thread: int, running: Callable[[], bool]) -> int:
            n = 0
            while running():
                with cluster.session(tenant=TENANT) as session:
                    session.execute(POINT, (key(thread, n),)).fetchall()
                n += 1
            return n

        rows = (
            ("threads, one session per thread, PostgreSQL", raw_held, ours_held),
            ("threads, a new session per read, PostgreSQL", raw_each, ours_each),
        )
        for name, raw, ours in rows:
            raw_rates: list[float] = []
            our_rates: list[float] = []
            for run in range(runs):
                # Alternate which side goes first, so neither always follows the other.
                pair = ((raw, raw_rates), (ours, our_rates))
                for read, rates in pair if run % 2 == 0 else pair[::-1]:
                    rates.append(throughput(read, seconds))
            raw_median = statistics.median(raw_rates)
            our_median = statistics.median(our_rates)
            ratio = our_median / raw_median
            pairs = sorted(o / r for o, r in zip(our_rates, raw_rates, strict=True))
            print(
                f"{name}: {THREADS} threads x {seconds:g} s, {runs} runs per side; reads/s "
                f"raw {', '.join(f'{r:,.0f}' for r in raw_rates)}; "
                f"tenantdb {', '.join(f'{r:,.0f}' for r in our_rates)}"
            )
            report(
                name,
                raw=raw_median,
                ours=our_median,
                unit="reads/s",
                ratio=ratio,
                target=f">= {TARGET:.2f}x",
                met=ratio >= TARGET,
                detail=f"per-run ratios {pairs[0]:.2f}..{pairs[-1]:.2f}, pools of {THREADS}",
            )
    finally:
        pool.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one run")
    parser.add_argument("--runs", type=int, default=3, help="runs per side (at least 3)")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else args.seconds
    runs = max(3, args.runs)
    try:
        context = scratch_database()
        url = context.__enter__()
    except Exception as exc:
        print(f"PostgreSQL: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        measure(url, seconds, runs)
    finally:
        context.__exit__(None, None, None)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average at the end: {load} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
