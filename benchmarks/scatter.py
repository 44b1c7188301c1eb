"""Scatter reads over 16 shards against the same query on one indexed table, side by side.

Run with ``.venv/bin/python benchmarks/scatter.py`` (about a minute; ``--quick`` for a smoke
run; ``--profile`` adds a cProfile of the LIMIT 10 and OFFSET 50,000 queries through the
thread front).

Setup: a ``mod`` table ``ev`` of 16 shards over 4 scratch PostgreSQL databases (4 physical
tables each), 100,000 rows, ``x`` indexed, ``tenant_scoped = false``; and, in a fifth
database, one table ``ev`` holding the same 100,000 rows with the same index (the raw
side). Each query below runs through a plain session of the thread front
(``tenantdb.connect``) and of the asyncio front (``tenantdb.connect_async``), and with raw
psycopg on one autocommit connection to the single table, all in this process, batches
interleaved round by round (``fronts.interleave``). Printed: median µs per statement and
ratio to raw; the thread front's ratio is the table row (``benchmarks/_table.py``), the
asyncio front's is context. For the reads tenantdb fetches whole (LIMIT 10, aggregates
without GROUP BY), ``floor`` is raw psycopg sending the very statements tenantdb sends
(``cluster.explain(sql).round_trips``: one per database) from one thread per database,
then sorting in Python: what the scatter itself costs on this machine, without tenantdb.

Every database created here is named ``tdb_bench_fronts_<random hex>_<n>`` and dropped at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import pstats
import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import tenantdb
from _table import report
from fronts import (
    SCAN_CREATE,
    SCAN_FILL,
    SCAN_INDEX,
    SCAN_ROWS,
    SCAN_SHARDS,
    direct,
    fill_scan,
    interleave,
    on_loop,
    postgres_scratch,
    scan_config,
)

ROWS = SCAN_ROWS
SHARDS = SCAN_SHARDS
DATABASES = 4


@dataclass(frozen=True)
class Query:
    row: str  # the table row it reports
    sql: str
    target: float  # tenantdb ÷ raw at most
    batch: int


QUERIES = (
    Query("ORDER BY x LIMIT 10, 16 shards", "SELECT id, x FROM ev ORDER BY x LIMIT 10", 3.0, 20),
    Query(
        "ORDER BY x LIMIT 10 OFFSET 50000, 16 shards",
        "SELECT id, x FROM ev ORDER BY x LIMIT 10 OFFSET 50000",
        2.5,
        2,
    ),
    Query(
        "COUNT/SUM/MIN/MAX, 16 shards",
        "SELECT COUNT(*), SUM(x), MIN(x), MAX(x) FROM ev",
        1.2,
        5,
    ),
    Query(
        "COUNT/SUM/MIN/MAX GROUP BY, 16 shards",
        "SELECT g, COUNT(*), SUM(x), MIN(x), MAX(x) FROM ev GROUP BY g ORDER BY g",
        1.2,
        5,
    ),
)


def fill(cluster: Any, urls: list[str], raw_url: str) -> None:
    """``ev`` through tenantdb (``fronts.fill_scan``: 16 shards, indexed) and the raw
    side's single table of the same rows; ANALYZE everywhere."""
    import psycopg

    fill_scan(cluster, urls)
    with psycopg.connect(raw_url, autocommit=True) as raw:
        raw.execute(SCAN_CREATE)
        raw.execute(SCAN_INDEX)
        raw.execute(SCAN_FILL.format(table="ev"))
        raw.execute("ANALYZE ev")


def raw_scatter(
    cluster: Any, sql: str, connections: dict[str, Any], threads: ThreadPoolExecutor
) -> Any:
    """The physical floor of a read tenantdb fetches whole: raw psycopg sending the
    statements tenantdb sends (``explain``'s round trips), one thread per database, and
    the rows sorted and cut in Python; None for a streamed read."""
    trips = cluster.explain(sql).round_trips
    if trips is None or trips.mode != "fetch":
        return None

    def fetch(trip: Any) -> list[Any]:
        rows: list[Any] = connections[trip.datasource].execute(trip.sql, trip.params).fetchall()
        return rows

    def side(i: int) -> object:
        rows = [row for rows in threads.map(fetch, trips.round_trips) for row in rows]
        return sorted(rows, key=lambda row: row[-1])[:10]

    return side


def canonical(rows: list[Any]) -> list[tuple[Any, ...]]:
    return [tuple(int(v) for v in row) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run: few rounds")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the LIMIT 10 and OFFSET queries"
    )
    args = parser.parse_args()
    rounds = 2 if args.quick else args.rounds
    import psycopg

    with postgres_scratch(DATABASES + 1) as all_urls, contextlib.ExitStack() as stack:
        urls, raw_url = all_urls[:DATABASES], all_urls[DATABASES]
        runner = stack.enter_context(asyncio.Runner())
        sync_cluster = tenantdb.connect(scan_config(urls))
        stack.callback(sync_cluster.close)
        fill(sync_cluster, urls, raw_url)
        async_cluster = tenantdb.connect_async(scan_config(urls))
        stack.callback(lambda: runner.run(async_cluster.aclose()))
        session = stack.enter_context(sync_cluster.session())
        async_session = async_cluster.session()
        runner.run(async_session.__aenter__())
        stack.callback(lambda: runner.run(async_session.__aexit__(None, None, None)))
        raw = stack.enter_context(psycopg.connect(raw_url, autocommit=True))
        raw_shards = {
            f"ds{n}": stack.enter_context(psycopg.connect(url, autocommit=True))
            for n, url in enumerate(urls)
        }
        threads = stack.enter_context(ThreadPoolExecutor(DATABASES))
        print(
            f"{SHARDS} shards over {DATABASES} PostgreSQL databases, {ROWS:,} rows, x indexed;"
            f" raw: psycopg on one indexed table of {ROWS:,} rows; median µs per statement,"
            f" {rounds} interleaved rounds"
        )
        for query in QUERIES:

            def raw_side(i: int, sql: str = query.sql) -> object:
                return raw.execute(sql).fetchall()

            def thread_side(i: int, sql: str = query.sql) -> object:
                return session.execute(sql).fetchall()

            async def async_side(i: int, sql: str = query.sql) -> object:
                return await (await async_session.execute(sql)).fetchall()

            floor_side = raw_scatter(sync_cluster, query.sql, raw_shards, threads)
            expected = canonical(raw.execute(query.sql).fetchall())
            assert canonical(session.execute(query.sql).fetchall()) == expected, query.sql
            assert canonical(runner.run(async_side(0))) == expected, query.sql
            samples = interleave(
                {
                    "raw": direct(raw_side),
                    "thread": direct(thread_side),
                    "asyncio": on_loop(runner, async_side),
                    **({} if floor_side is None else {"floor": direct(floor_side)}),
                },
                batch=1 if args.quick else query.batch,
                rounds=rounds,
            )
            raw_us = statistics.median(samples["raw"])
            thread_us = statistics.median(samples["thread"])
            async_us = statistics.median(samples["asyncio"])
            print(f"  {query.sql}")
            line = (
                f"    raw {raw_us:9.0f} µs   thread {thread_us:9.0f} µs"
                f" ({thread_us / raw_us:.2f}x)   asyncio {async_us:9.0f} µs"
                f" ({async_us / raw_us:.2f}x)"
            )
            if floor_side is not None:
                floor_us = statistics.median(samples["floor"])
                line += f"   floor {floor_us:9.0f} µs ({floor_us / raw_us:.2f}x)"
            print(line)
            report(
                query.row,
                raw=raw_us / 1000,
                ours=thread_us / 1000,
                unit="ms",
                target=f"<= {query.target}x",
                met=thread_us / raw_us <= query.target,
                detail=f"thread front; asyncio front {async_us / raw_us:.2f}x",
            )
        if args.profile:
            for query, calls in ((QUERIES[0], 200), (QUERIES[1], 5)):
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(calls):
                    session.execute(query.sql).fetchall()
                profiler.disable()
                print(f"\ncProfile of {calls} x {query.sql!r} (thread front), by own time:")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(22)


if __name__ == "__main__":
    main()
