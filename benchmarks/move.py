"""Online tenant moves: the copy against the raw driver's fastest copy, and the freeze.

Run with ``make bench-more`` (or ``.venv/bin/python benchmarks/move.py [--backends
postgres,mysql,sqlite] [--rows N] [--repeats R] [--moves M]``). Needs PostgreSQL on
127.0.0.1:5432 (user postgres, trust) and MariaDB on 127.0.0.1:3306 (root, no password);
a backend whose server does not answer is skipped. It creates scratch databases (dropped
at the end) and a registry in a temporary directory. Figures are printed, never asserted;
the machine may be shared and noisy: compare figures from one run only.

1. **Copy throughput** (issue 19: "copy throughput ÷ raw COPY of the same rows between
   the same servers", target >= 0.5x). ``--rows`` rows (default 200,000) of a six-column
   ``orders`` table for one tenant on ds0, ds1 holding the same empty table. Each repeat
   measures, one after the other in the same direction: (a) the raw driver's fastest copy
   of those rows from the source database to the target one (PostgreSQL: ``COPY (SELECT
   ...) TO STDOUT`` streamed into ``COPY ... FROM STDIN`` with psycopg; MariaDB: a
   streaming ``SELECT`` and ``executemany`` INSERTs of 5,000 rows with PyMySQL, which
   sends each batch as one multi-row INSERT; SQLite: ``ATTACH`` and one ``INSERT ...
   SELECT``), committed, then removed; (b) ``start_move`` of the tenant to the target (no
   concurrent writes), then ``cleanup_move``; the next repeat moves it back. Both go into
   an emptied table (``TRUNCATE``; SQLite ``DELETE``): the table a repeat copies into
   held the rows the last one's cleanup deleted, dead rows that slowed the raw copy alone
   until 2026-12 (figures before that flatter the move on PostgreSQL). Printed: the
   median rows/s of (a), of the move's copy phase (its history: ``copying`` to
   ``catching_up``) and of the whole ``start_move`` call (capture, copy, catch-up, full
   verify, freeze, cut-over), the ratios move / raw (of the medians, and the median of
   each repeat's own ratio, steadier on a busy machine), and the median freeze
   (``frozen`` to ``cut_over``).
2. **Freeze under load** (issue 19: freeze p99 <= 1 s with 8 writers). A tenant of
   ``--freeze-rows`` rows is moved back and forth ``--moves`` times (each move run to its
   cut-over, then cleaned up 2 s later) while 8 threads write: 4 for the moving tenant
   (insert a row, update the one of 3 loops ago, delete the one of 10 loops ago, so its
   size stays; retrying on the retryable TenantMovedError / TenantStatusError of a
   freeze) and 4 for two other tenants on ds0. Printed: freeze
   p50 / p99 / max over the moves (a move's last freeze, from its history), abandoned
   freezes, the writers' statement counts, retries, and failures of the other tenants'
   statements (should be 0). A move not done after 120 s stops the writers (so that it
   can finish) and ends the run; the figures then cover the moves before it. PostgreSQL
   only unless ``--freeze-backends`` says more.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pymysql

import tenantdb
from tenantdb.admin import cleanup_move, start_move
from tenantdb.core.moves import MoveState

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql://postgres@127.0.0.1:5432/{}"
MYSQL_URL = "mysql://root@127.0.0.1:3306/{}"
COLUMNS = ("tenant_id", "id", "customer_id", "amount", "status", "created_at")
ORDERS = (
    "CREATE TABLE orders (tenant_id VARCHAR(40) NOT NULL, id BIGINT NOT NULL,"
    " customer_id INTEGER NOT NULL, amount NUMERIC(12, 2) NOT NULL, status VARCHAR(16)"
    " NOT NULL, created_at TIMESTAMP NOT NULL, PRIMARY KEY (tenant_id, id))"
)
STATUSES = ("new", "paid", "shipped", "delivered", "returned")
MYSQL_BATCH = 5_000
WRITERS_PER_SIDE = 4
HANG_GUARD_S = 600.0
STALL_S = 120.0
SETTLE_S = 2.0


def generated(tenant: str, count: int, first: int = 1) -> Iterator[tuple[Any, ...]]:
    """``count`` rows of ``tenant`` with ids from ``first``: realistic, deterministic."""
    start = datetime.datetime(2026, 1, 1)
    for i in range(first, first + count):
        yield (
            tenant,
            i,
            i * 7919 % 50_000,
            f"{i * 37 % 100_000 / 100:.2f}",
            STATUSES[i % len(STATUSES)],
            (start + datetime.timedelta(seconds=i * 13)).isoformat(sep=" "),
        )


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending sequence."""
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def phase_time(state: MoveState, phase: str) -> float | None:
    """When ``state`` last entered ``phase`` (its history's wall-clock time)."""
    times = [at for name, at in state.history if name == phase]
    return times[-1] if times else None


def span(state: MoveState, first: str, then: str) -> float:
    """Seconds from the last entry of ``first`` to the last entry of ``then``."""
    start, end = phase_time(state, first), phase_time(state, then)
    if start is None or end is None:
        raise RuntimeError(f"move {state.move_id} has no {first} -> {then} in its history")
    return end - start


# -- the three backends -------------------------------------------------------------------


class Databases:
    """Two scratch databases of one backend: raw connections, URLs, the raw copy."""

    name: str
    dialect: str

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.urls: list[str] = []

    def create(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def raw(self, index: int) -> Any:
        raise NotImplementedError

    @property
    def mark(self) -> str:
        return "?" if self.dialect == "sqlite" else "%s"

    def run(self, index: int, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with contextlib.closing(self.raw(index)) as connection:
            cursor = connection.cursor()
            cursor.execute(sql, tuple(params))
            rows = list(cursor.fetchall()) if cursor.description else []
            connection.commit()
            return rows

    def load(self, index: int, rows: Iterator[tuple[Any, ...]]) -> None:
        marks = ", ".join([self.mark] * len(COLUMNS))
        insert = f"INSERT INTO orders ({', '.join(COLUMNS)}) VALUES ({marks})"
        with contextlib.closing(self.raw(index)) as connection:
            cursor = connection.cursor()
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row)
                if len(batch) == MYSQL_BATCH:
                    cursor.executemany(insert, batch)
                    batch = []
            if batch:
                cursor.executemany(insert, batch)
            connection.commit()

    def count(self, index: int, tenant: str) -> int:
        sql = f"SELECT COUNT(*) FROM orders WHERE tenant_id = {self.mark}"
        return int(self.run(index, sql, (tenant,))[0][0])

    def empty_target(self, index: int) -> None:
        self.run(index, "DELETE FROM orders")

    def raw_copy(self, source: int, target: int, tenant: str) -> None:
        """The driver's fastest copy of the tenant's rows, committed."""
        raise NotImplementedError


class Postgres(Databases):
    name = dialect = "postgres"

    def create(self) -> None:
        tag = secrets.token_hex(3)
        names = [f"tdb_bench_move_{tag}_{i}" for i in range(2)]
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f"CREATE DATABASE {name}")
        self.names = names
        self.urls = [PG_URL.format(n) for n in names]

    def drop(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in self.names:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def raw(self, index: int) -> Any:
        return psycopg.connect(self.urls[index])

    def load(self, index: int, rows: Iterator[tuple[Any, ...]]) -> None:
        into = f"COPY orders ({', '.join(COLUMNS)}) FROM STDIN"
        with self.raw(index) as connection, connection.cursor().copy(into) as copy:
            for row in rows:
                copy.write_row(row)

    def empty_target(self, index: int) -> None:
        self.run(index, "TRUNCATE orders")

    def raw_copy(self, source: int, target: int, tenant: str) -> None:
        listed = ", ".join(COLUMNS)
        with self.raw(source) as reader, self.raw(target) as writer:
            select = f"COPY (SELECT {listed} FROM orders WHERE tenant_id = %s) TO STDOUT"
            with (
                reader.cursor().copy(select, (tenant,)) as out,
                writer.cursor().copy(f"COPY orders ({listed}) FROM STDIN") as into,
            ):
                for data in out:
                    into.write(data)
            writer.commit()


class MariaDB(Databases):
    name = "mysql"
    dialect = "mysql"

    def create(self) -> None:
        tag = secrets.token_hex(3)
        self.names = [f"tdb_bench_move_{tag}_{i}" for i in range(2)]
        with contextlib.closing(pymysql.connect(host="127.0.0.1", user="root")) as admin:
            for name in self.names:
                admin.cursor().execute(f"CREATE DATABASE {name}")
        self.urls = [MYSQL_URL.format(n) for n in self.names]

    def drop(self) -> None:
        with contextlib.closing(pymysql.connect(host="127.0.0.1", user="root")) as admin:
            for name in self.names:
                admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")

    def raw(self, index: int) -> Any:
        return pymysql.connect(
            host="127.0.0.1", user="root", database=self.names[index], charset="utf8mb4"
        )

    def empty_target(self, index: int) -> None:
        self.run(index, "TRUNCATE TABLE orders")

    def raw_copy(self, source: int, target: int, tenant: str) -> None:
        listed = ", ".join(COLUMNS)
        marks = ", ".join(["%s"] * len(COLUMNS))
        insert = f"INSERT INTO orders ({listed}) VALUES ({marks})"
        with (
            contextlib.closing(self.raw(source)) as reader,
            contextlib.closing(self.raw(target)) as writer,
        ):
            out = reader.cursor(pymysql.cursors.SSCursor)
            out.execute(f"SELECT {listed} FROM orders WHERE tenant_id = %s", (tenant,))
            into = writer.cursor()
            while batch := out.fetchmany(MYSQL_BATCH):
                into.executemany(insert, batch)
            writer.commit()


class SQLite(Databases):
    name = dialect = "sqlite"

    def create(self) -> None:
        self.paths = [self.tmp / f"ds{i}.db" for i in range(2)]
        for path in self.paths:
            with contextlib.closing(sqlite3.connect(path)) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
        self.urls = [f"sqlite:///{path}" for path in self.paths]

    def drop(self) -> None:
        pass  # the temporary directory goes

    def raw(self, index: int) -> Any:
        return sqlite3.connect(self.paths[index])

    def raw_copy(self, source: int, target: int, tenant: str) -> None:
        with contextlib.closing(self.raw(target)) as writer:
            writer.execute("ATTACH DATABASE ? AS src", (str(self.paths[source]),))
            listed = ", ".join(COLUMNS)
            writer.execute(
                f"INSERT INTO orders ({listed}) SELECT {listed} FROM src.orders"
                " WHERE tenant_id = ?",
                (tenant,),
            )
            writer.commit()
            writer.execute("DETACH DATABASE src")


BACKENDS: dict[str, type[Databases]] = {"postgres": Postgres, "mysql": MariaDB, "sqlite": SQLite}


def answers(kind: str) -> str | None:
    """None when the backend's server accepts a connection, else why not."""
    try:
        if kind == "postgres":
            with psycopg.connect(PG_ADMIN, connect_timeout=3) as connection:
                connection.execute("SELECT 1")
        elif kind == "mysql":
            pymysql.connect(host="127.0.0.1", user="root", connect_timeout=3).close()
    except Exception as exc:
        return str(exc).strip().splitlines()[0]
    return None


def document(dbs: Databases, tmp: Path, tenants: dict[str, str]) -> dict[str, Any]:
    registry = tmp / f"registry-{secrets.token_hex(3)}.db"
    return {
        "dialect": dbs.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(dbs.urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {name: {"datasource": ds} for name, ds in tenants.items()},
        "registry": {"url": f"sqlite:///{urllib.parse.quote(str(registry))}"},
    }


# -- 1. copy throughput ---------------------------------------------------------------------


def throughput(kind: str, rows: int, repeats: int, tmp: Path) -> None:
    dbs = BACKENDS[kind](tmp)
    dbs.create()
    try:
        for index in range(2):
            dbs.run(index, ORDERS)
        dbs.load(0, generated("big", rows))
        raw_s: list[float] = []
        copy_s: list[float] = []
        move_s: list[float] = []
        freeze_s: list[float] = []
        with tenantdb.connect(document(dbs, tmp, {"big": "ds0"})) as cluster:
            for repeat in range(repeats):
                source, target = (0, 1) if repeat % 2 == 0 else (1, 0)
                # Both copies go into an emptied table: the last repeat's cleanup left its
                # deleted rows in this one, which would slow the raw copy only.
                dbs.empty_target(target)
                started = time.perf_counter()
                dbs.raw_copy(source, target, "big")
                raw_s.append(time.perf_counter() - started)
                if dbs.count(target, "big") != rows:
                    raise RuntimeError("the raw copy did not copy every row")
                dbs.empty_target(target)
                started = time.perf_counter()
                state = start_move(cluster, "big", f"ds{target}")
                move_s.append(time.perf_counter() - started)
                copy_s.append(span(state, "copying", "catching_up"))
                freeze_s.append(span(state, "frozen", "cut_over"))
                cleanup_move(cluster, "big", force=True)
                if dbs.count(target, "big") != rows or dbs.count(source, "big") != 0:
                    raise RuntimeError("the move did not leave every row on the target")
                print(
                    f"  {kind} repeat {repeat + 1}: raw {raw_s[-1]:.2f} s, move copy"
                    f" {copy_s[-1]:.2f} s, start_move {move_s[-1]:.2f} s,"
                    f" freeze {freeze_s[-1] * 1000:.0f} ms",
                    flush=True,
                )
    finally:
        dbs.drop()
    raw, copy, move = (statistics.median(x) for x in (raw_s, copy_s, move_s))
    print(f"{kind}: {rows:,} rows, median of {repeats} repeats")
    print(f"  raw driver copy          {rows / raw:>12,.0f} rows/s  ({raw:.2f} s)")
    print(f"  move, copy phase         {rows / copy:>12,.0f} rows/s  ({copy:.2f} s)")
    print(f"  move, whole start_move   {rows / move:>12,.0f} rows/s  ({move:.2f} s)")
    print(f"  ratio copy phase / raw   {raw / copy:>12.2f}x  (issue 19 target >= 0.5x)")
    print(f"  ratio start_move / raw   {raw / move:>12.2f}x")
    paired = statistics.median(r / c for r, c in zip(raw_s, copy_s, strict=True))
    print(f"  ratio copy / raw, median of the repeats' own ratios {paired:.2f}x")
    print(f"  freeze (frozen -> cut_over) median {statistics.median(freeze_s) * 1000:.0f} ms")


# -- 2. freeze under load -------------------------------------------------------------------


@dataclass
class Tally:
    statements: int = 0
    retried: int = 0
    failures: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def freeze_under_load(kind: str, rows: int, moves: int, tmp: Path) -> None:
    dbs = BACKENDS[kind](tmp)
    dbs.create()
    mover, others = Tally(), Tally()
    freezes: list[float] = []
    abandoned = 0
    stalled = False
    try:
        for index in range(2):
            dbs.run(index, ORDERS)
        for tenant in ("moving", "other1", "other2"):
            dbs.load(0, generated(tenant, rows))
        tenants = {"moving": "ds0", "other1": "ds0", "other2": "ds0"}
        stop = threading.Event()
        with tenantdb.connect(document(dbs, tmp, tenants)) as cluster:

            def writer(tenant: str, first: int, into: Tally) -> None:
                n = first
                insert = (
                    f"INSERT INTO orders ({', '.join(COLUMNS[1:])}) VALUES (%s, %s, %s, %s, %s)"
                )
                with cluster.session(tenant=tenant) as session:
                    while not stop.is_set():
                        n += 1
                        row = next(generated(tenant, 1, n))[1:]
                        try:
                            session.execute(insert, row)
                            session.execute(
                                "UPDATE orders SET amount = amount + 1 WHERE id = %s", (n - 3,)
                            )
                            # Its own row of ten loops ago: the tenant keeps its size.
                            session.execute("DELETE FROM orders WHERE id = %s", (n - 10,))
                            with into.lock:
                                into.statements += 3
                        except (tenantdb.TenantMovedError, tenantdb.TenantStatusError):
                            with into.lock:
                                into.retried += 1
                        except BaseException as exc:
                            with into.lock:
                                into.failures.append(exc)
                            return

            threads = [
                threading.Thread(target=writer, args=("moving", 10**9 + i * 10**7, mover))
                for i in range(WRITERS_PER_SIDE)
            ] + [
                threading.Thread(
                    target=writer, args=(f"other{i % 2 + 1}", 10**9 + i * 10**7, others)
                )
                for i in range(WRITERS_PER_SIDE)
            ]
            for thread in threads:
                thread.start()
            try:
                where = 0
                for number in range(moves):
                    # A move whose catch-up cannot keep up with the writers would run on
                    # for ever: past STALL_S the writers stop, and so does this run.
                    stall = threading.Timer(STALL_S, stop.set)
                    stall.start()
                    try:
                        state = start_move(cluster, "moving", f"ds{1 - where}")
                    finally:
                        stall.cancel()
                    # cleanup_move drops the fence: only once every session routes the
                    # tenant to its new place (see its docstring).
                    time.sleep(SETTLE_S)
                    cleanup_move(cluster, "moving", force=True)
                    where = 1 - where
                    if stop.is_set():
                        print(
                            f"  {kind} move {number + 1}/{moves}: not done after {STALL_S:.0f} s"
                            " under the writers (its catch-up did not keep up); writers"
                            " stopped, the run ends here"
                        )
                        stalled = True
                        break
                    freezes.append(span(state, "frozen", "cut_over"))
                    abandoned += state.freeze_attempts
                    print(
                        f"  {kind} move {number + 1}/{moves}: freeze {freezes[-1] * 1000:.0f} ms"
                        f", abandoned {state.freeze_attempts}",
                        flush=True,
                    )
            finally:
                stop.set()
                for thread in threads:
                    thread.join(HANG_GUARD_S)
    finally:
        dbs.drop()
    ordered = sorted(freezes)
    if not ordered:
        print(f"{kind}: no move finished under the writers")
        return
    done = f"{len(ordered)} of {moves} moves" + (" (then a stall)" if stalled else "")
    print(f"{kind}: freeze over {done} of a {rows:,}-row tenant, 8 writers")
    p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
    print(
        f"  p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms"
        " (issue 19 target p99 <= 1000 ms);"
        f" abandoned freezes {abandoned}"
    )
    print(
        f"  moving tenant: {mover.statements:,} statements, {mover.retried:,} retried,"
        f" {len(mover.failures)} failed; other tenants: {others.statements:,} statements,"
        f" {others.retried:,} retried, {len(others.failures)} failed (should be 0)"
    )
    for exc in (mover.failures + others.failures)[:3]:
        print(f"    failure: {type(exc).__name__}: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="postgres,mysql,sqlite")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--freeze-backends", default="postgres")
    parser.add_argument("--freeze-rows", type=int, default=5_000)
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="tdb-bench-move-"))
    try:
        for kind in [k for k in args.backends.split(",") if k]:
            why = answers(kind)
            if why is not None:
                print(f"{kind}: skipped, the server does not answer ({why})")
                continue
            throughput(kind, args.rows, args.repeats, tmp)
        for kind in [k for k in args.freeze_backends.split(",") if k]:
            why = answers(kind)
            if why is not None or args.moves < 1:
                print(f"{kind}: freeze skipped ({why or 'no moves asked'})")
                continue
            freeze_under_load(kind, args.freeze_rows, args.moves, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
