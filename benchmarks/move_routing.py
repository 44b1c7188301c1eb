"""How long after a move's cut-over every process routes the tenant to its new datasource.

Run with ``make bench-more`` (or ``.venv/bin/python benchmarks/move_routing.py [--stores
postgres,sqlite,redis,etcd] [--followers 4] [--moves 10]``). Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust); the Redis (6379) and etcd (2379) stores are
measured when their servers answer. Figures are printed, never asserted; the machine may
be shared and noisy.

Issue 19 asks for the "time for every process to route to the target after cut-over". For
each tenant store of the registry (PostgreSQL: LISTEN/NOTIFY; SQLite: a change log polled
every ``poll_interval``, default 0.05 s; Redis: pub/sub; etcd: a watch), ``--followers``
processes each open the cluster and subscribe to its registry; when a change to the moving
tenant reaches a process, it asks its own cluster to ``explain`` a statement of the tenant
and reports the datasource the plan targets and the wall-clock time. The parent moves a
100-row tenant back and forth between two PostgreSQL databases ``--moves`` times with
``cluster.move_tenant``, noting the time of the cut-over step that writes the new placement
(``phase cut_over``, just before the registry write) and of the step after it (``placed``).
Per move, "every process routes to the target" is the latest follower's plan time minus
the cut-over time. Printed per store: the registry write itself (median), and the median,
p90 and max over the moves of that latest-follower delay. All processes run on one machine,
so their clocks agree.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

import tenantdb
from tenantdb.admin import cleanup_move
from tenantdb.core.moves import MoveState

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{}"
REDIS_URL = "redis://127.0.0.1:6379/0"
ETCD_URL = "etcd://127.0.0.1:2379"
ORDERS = (
    "CREATE TABLE orders (tenant_id VARCHAR(40) NOT NULL, id BIGINT NOT NULL,"
    " amount INTEGER NOT NULL, PRIMARY KEY (tenant_id, id))"
)
PROBE = "SELECT amount FROM orders WHERE id = 1"
HANG_GUARD_S = 60.0


def follower(config_path: str) -> None:
    """One following process: prints a JSON line per change of the tenant ``acme`` it
    applies (the datasource its own plan for acme now targets, and when), until stdin
    closes."""
    with tenantdb.connect(config_path) as cluster:

        def changed(old: Any, new: Any) -> None:
            if new is None or new.id != "acme" or (old and old.datasource == new.datasource):
                return
            plan = cluster.explain(PROBE, tenant="acme")
            seen = {"datasource": plan.targets[0].datasource, "at": time.time()}
            print(json.dumps(seen), flush=True)

        cluster.tenants.subscribe(changed)
        cluster.tenants.get("acme")  # the registry runs from here on
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.read()  # until the parent closes it


@contextlib.contextmanager
def databases(count: int) -> Iterator[list[str]]:
    tag = secrets.token_hex(3)
    names = [f"tdb_bench_route_{tag}_{i}" for i in range(count)]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for name in names:
            admin.execute(f"CREATE DATABASE {name}")
    try:
        yield [PG_URL.format(n) for n in names]
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def store_url(kind: str, tmp: Path, registry_db: str) -> str | None:
    """The registry URL for ``kind``, or None when its server does not answer."""
    tag = secrets.token_hex(3)
    if kind == "postgres":
        return f"{registry_db}?table=tenants_{tag}"
    if kind == "sqlite":
        return f"sqlite:///{urllib.parse.quote(str(tmp / f'registry-{tag}.db'))}"
    if kind == "redis":
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        except Exception:
            return None
        return f"{REDIS_URL}?prefix=tdb_bench_route_{tag}"
    if kind == "etcd":
        try:
            urllib.request.urlopen("http://127.0.0.1:2379/version", timeout=2).close()
        except Exception:
            return None
        return f"{ETCD_URL}/tdb_bench_route_{tag}"
    raise ValueError(kind)


class Followers:
    """``count`` follower processes and a queue of what they report."""

    def __init__(self, config_path: Path, count: int) -> None:
        self.seen: queue.Queue[dict[str, Any]] = queue.Queue()
        self._processes = [
            subprocess.Popen(
                [sys.executable, __file__, "--follow", str(config_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for process in self._processes:
            threading.Thread(target=self._read, args=(process,), daemon=True).start()
        for _ in self._processes:
            assert self.seen.get(timeout=HANG_GUARD_S).get("ready")

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.seen.put(json.loads(line))

    def wait_all(self, datasource: str) -> list[float]:
        """The times every follower reported routing to ``datasource``."""
        times: list[float] = []
        while len(times) < len(self._processes):
            report = self.seen.get(timeout=HANG_GUARD_S)
            if report.get("datasource") == datasource:
                times.append(report["at"])
        return times

    def close(self) -> None:
        for process in self._processes:
            assert process.stdin is not None
            process.stdin.close()
        for process in self._processes:
            process.wait(HANG_GUARD_S)


def measure(kind: str, url: str, urls: list[str], followers: int, moves: int, tmp: Path) -> None:
    document = {
        "dialect": "postgres",
        "datasources": {"ds0": {"url": urls[0]}, "ds1": {"url": urls[1]}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        "registry": {"url": url},
        "moves": {"cleanup_wait": "0s"},
    }
    path = tmp / f"tenantdb-{kind}.json"
    path.write_text(json.dumps(document))
    writes: list[float] = []
    delays: list[float] = []
    for datasource in urls:  # an earlier store's run may have left the tenant on either
        with psycopg.connect(datasource, autocommit=True) as connection:
            connection.execute("TRUNCATE orders")
    with tenantdb.connect(path) as cluster:
        with cluster.session(tenant="acme") as session:
            session.executemany(
                "INSERT INTO orders (id, amount) VALUES (%s, %s)", [(i, i) for i in range(100)]
            )
        group = Followers(path, followers)
        try:
            where = cluster.tenants.get("acme").datasource
            for _ in range(moves):
                to = "ds1" if where == "ds0" else "ds0"
                marks: dict[str, float] = {}

                def mark(step: str, state: MoveState, marks: dict[str, float] = marks) -> None:
                    if step in ("phase cut_over", "placed"):
                        marks[step] = time.time()

                cluster.move_tenant("acme", to, on_step=mark).wait(HANG_GUARD_S)
                seen = group.wait_all(to)
                writes.append(marks["placed"] - marks["phase cut_over"])
                delays.append(max(seen) - marks["phase cut_over"])
                cleanup_move(cluster, "acme")  # every process routes to `to` now
                where = to
        finally:
            group.close()
    ordered = sorted(delays)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    print(
        f"{kind:>9}: registry write {statistics.median(writes) * 1000:7.1f} ms | every one"
        f" of {followers} processes routes to the target after: median"
        f" {statistics.median(delays) * 1000:7.1f} ms, p90 {p90 * 1000:7.1f} ms, max"
        f" {ordered[-1] * 1000:7.1f} ms ({moves} moves)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", default="postgres,sqlite,redis,etcd")
    parser.add_argument("--followers", type=int, default=4)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--follow", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.follow:
        follower(args.follow)
        return
    print(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as directory, databases(3) as urls:
        tmp = Path(directory)
        for url in urls[:2]:
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(ORDERS)
        for kind in [k for k in args.stores.split(",") if k]:
            registry = store_url(kind, tmp, urls[2])
            if registry is None:
                print(f"{kind:>9}: skipped, its server does not answer")
                continue
            measure(kind, registry, urls[:2], args.followers, args.moves, tmp)


if __name__ == "__main__":
    main()
