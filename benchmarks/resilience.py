"""Issue 17's figures: a noisy neighbour, and a primary outage behind its circuit breaker.

Run with ``.venv/bin/python benchmarks/resilience.py`` (PostgreSQL on 127.0.0.1:5432, user
postgres, trust; about a minute). Everything runs on the thread front in one process,
against scratch databases dropped at the end.

**Noisy neighbour.** Tenants q0..q2 each read by primary key from one thread at a steady
100 statements per second (limits 200/s); tenant ``noisy`` (limit 200/s, burst 20,
max_concurrent 4) floods from 8 threads at 10x its limit. Phases alternate, quiet alone
then quiet with the flood, ``--rounds`` times; the figure is the quiet tenants' p99
latency with the flood ÷ without it (target <= 1.5x), and how many of their statements were
refused (target 0).

**Outage.** Tenant t0 lives on ds0, reached through a TCP proxy (``tests/proxy.py``), and
t1 on ds1, reached directly; 4 threads write each. The proxy is cut until ds0's breaker
opens, held cut for a second, then healed. Figures: p99 latency of the statements the open
breaker refused (target < 5 ms), t1's p99 during the outage ÷ before it, and the time from
the heal to ds0's first acknowledged write against the breaker's open wait.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tenantdb
from execution import PG_ADMIN
from tenantdb import CircuitOpenError, Error, RateLimitedError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from proxy import TcpProxy

PG_URL = PG_ADMIN.rsplit("/", 1)[0]
QUIET = ("q0", "q1", "q2")
QUIET_RATE = 100.0
NOISY_LIMIT = 200.0
OPEN_WAIT_S = 0.5


@contextlib.contextmanager
def scratch_databases(count: int) -> Iterator[list[str]]:
    import psycopg

    names = [f"tdb_bench_res_{secrets.token_hex(3)}_{n}" for n in range(count)]
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [f"{PG_URL}/{name}" for name in names]
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def paced(rate: float, stop: threading.Event, call: Callable[[], None]) -> None:
    """Call ``call`` ``rate`` times per second until ``stop`` (a client with a schedule)."""
    interval = 1.0 / rate
    due = time.perf_counter()
    while not stop.is_set():
        call()
        due += interval
        pause = due - time.perf_counter()
        if pause > 0:
            stop.wait(pause)


def noisy_neighbour(url: str, seconds: float, rounds: int) -> None:
    tenants: dict[str, Any] = {
        t: {"datasource": "ds0", "limits": {"requests_per_second": 200.0}} for t in QUIET
    }
    tenants["noisy"] = {
        "datasource": "ds0",
        "limits": {"requests_per_second": NOISY_LIMIT, "burst": 20, "max_concurrent": 4},
    }
    config = {
        "dialect": "postgres",
        "datasources": {"ds0": {"url": url, "pool": {"min_size": 12, "max_size": 12}}},
        "tables": {"items": {"strategy": "tenant"}},
        "tenants": tenants,
    }
    cluster = tenantdb.connect(config)
    with cluster.session(admin=True) as admin:
        admin.execute(
            "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,"
            " name VARCHAR(40))"
        )
    for n, tenant in enumerate([*QUIET, "noisy"]):
        with cluster.session(tenant=tenant) as session:
            session.executemany(
                "INSERT INTO items (id, name) VALUES (%s, %s)",
                [(n * 1000 + i, f"item {i}") for i in range(1000)],
            )
    point = "SELECT name FROM items WHERE id = %s"

    def phase(flood: bool) -> tuple[list[float], int, int]:
        stop = threading.Event()
        latencies: list[float] = []
        refused = [0, 0]  # quiet, noisy
        lock = threading.Lock()

        def quiet(n: int, tenant: str) -> None:
            counter = itertools.count()

            def read() -> None:
                started = time.perf_counter()
                try:
                    with cluster.session(tenant=tenant) as session:
                        session.execute(point, (n * 1000 + next(counter) % 1000,)).fetchall()
                except RateLimitedError:
                    with lock:
                        refused[0] += 1
                    return
                with lock:
                    latencies.append(time.perf_counter() - started)

            paced(QUIET_RATE, stop, read)

        def noisy() -> None:
            counter = itertools.count()

            def read() -> None:
                try:
                    with cluster.session(tenant="noisy") as session:
                        session.execute(point, (3000 + next(counter) % 1000,)).fetchall()
                except RateLimitedError:
                    with lock:
                        refused[1] += 1

            paced(10 * NOISY_LIMIT / 8, stop, read)

        threads = [threading.Thread(target=quiet, args=(n, t)) for n, t in enumerate(QUIET)]
        if flood:
            threads += [threading.Thread(target=noisy) for _ in range(8)]
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        return latencies, refused[0], refused[1]

    alone: list[float] = []
    flooded: list[float] = []
    ratios: list[float] = []
    quiet_refused = noisy_refused = 0
    for _ in range(rounds):
        base, q_refused, _ = phase(flood=False)
        loud, q_refused_loud, n_refused = phase(flood=True)
        alone += base
        flooded += loud
        ratios.append(p99(loud) / p99(base))
        quiet_refused += q_refused + q_refused_loud
        noisy_refused += n_refused
    cluster.close()
    ratio = p99(flooded) / p99(alone)
    print(
        f"noisy neighbour: quiet tenants' p99 {p99(alone) * 1e3:.2f} ms alone, "
        f"{p99(flooded) * 1e3:.2f} ms with the flood: {ratio:.2f}x (target <= 1.5x: "
        f"{'MET' if ratio <= 1.5 else 'NOT MET'}; "
        f"per-round {min(ratios):.2f}..{max(ratios):.2f}); "
        f"quiet statements refused: {quiet_refused} (target 0); noisy statements refused: "
        f"{noisy_refused} of its flood; {rounds} rounds of {seconds:g} s per phase"
    )


def outage(direct: str, proxied: str) -> None:
    address = urllib.parse.urlsplit(proxied)
    with TcpProxy(address.hostname or "127.0.0.1", address.port or 5432) as proxy:
        config = {
            "dialect": "postgres",
            "datasources": {
                "ds0": {
                    "url": proxy.url_for(proxied),
                    "pool": {"min_size": 0, "max_size": 4, "timeout": "2s"},
                    "breaker": {"window_size": 20, "minimum_calls": 5, "open_wait": OPEN_WAIT_S},
                },
                "ds1": {"url": direct, "pool": {"min_size": 4, "max_size": 4}},
            },
            "tables": {"orders": {"strategy": "tenant"}},
            "tenants": {"t0": {"datasource": "ds0"}, "t1": {"datasource": "ds1"}},
        }
        cluster = tenantdb.connect(config)
        with cluster.session(admin=True) as admin:
            admin.execute(
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL)"
            )
        ids = itertools.count(1)
        lock = threading.Lock()
        events: list[tuple[str, float, float, str]] = []  # tenant, start, seconds, outcome
        stop = threading.Event()

        def writer(tenant: str) -> None:
            while not stop.is_set():
                with lock:
                    row = next(ids)
                started = time.perf_counter()
                try:
                    with cluster.session(tenant=tenant) as session:
                        session.execute("INSERT INTO orders (id) VALUES (%s)", (row,))
                    outcome = "ok"
                except CircuitOpenError:
                    outcome = "refused"
                except Error:
                    outcome = "failed"
                with lock:
                    events.append((tenant, started, time.perf_counter() - started, outcome))
                stop.wait(0.002)

        threads = [threading.Thread(target=writer, args=(f"t{n % 2}",)) for n in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        cut_at = time.perf_counter()
        proxy.cut()
        while cluster.status()["datasources"]["ds0"]["breakers"]["primary"]["state"] != "open":
            time.sleep(0.005)
        time.sleep(1.0)
        healed_at = time.perf_counter()
        proxy.heal()
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join()
        cluster.close()
    refused = [s for _, _, s, o in events if o == "refused"]
    before = [s for t, at, s, o in events if t == "t1" and at < cut_at]
    during = [s for t, at, s, o in events if t == "t1" and cut_at <= at < healed_at]
    t1_errors = sum(1 for t, _, _, o in events if t == "t1" and o != "ok")
    resumed = min(
        (at for t, at, _, o in events if t == "t0" and o == "ok" and at > healed_at), default=None
    )
    print(
        f"outage: {len(refused)} statements refused by ds0's open breaker, p99 "
        f"{p99(refused) * 1e3:.3f} ms (target < 5 ms: "
        f"{'MET' if p99(refused) < 0.005 else 'NOT MET'}); "
        f"t1 on ds1: p99 {p99(before) * 1e3:.2f} ms before, {p99(during) * 1e3:.2f} ms during "
        f"({p99(during) / p99(before):.2f}x), {t1_errors} errors; first ds0 write acknowledged "
        + (
            f"{(resumed - healed_at):.2f} s after the heal (open wait {OPEN_WAIT_S:g} s)"
            if resumed is not None
            else "never"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one phase")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with scratch_databases(3) as (noisy_db, direct, proxied):
        noisy_neighbour(noisy_db, args.seconds, args.rounds)
        outage(direct, proxied)


if __name__ == "__main__":
    main()
