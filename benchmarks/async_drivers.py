"""Asyncio drivers for MySQL/MariaDB and SQLite against the sync drivers, measured in one run.

Run with ``.venv/bin/python benchmarks/async_drivers.py [--rounds N]``. Candidates:

- MariaDB (127.0.0.1:3306, root, no password; a scratch database ``tdb_bench_async_<hex>`` is
  created and dropped): PyMySQL (the sync driver, the baseline), aiomysql, asyncmy;
- SQLite (a temporary file, WAL, as ``execution/_sqlite.py`` opens it): ``sqlite3`` (the
  baseline), aiosqlite used the way its API mirrors ``sqlite3`` (``execute``, ``fetchall``
  and ``close`` each a hop to its thread), aiosqlite's one-hop ``execute_fetchall``, and two
  own wrappers that run one whole driver call (execute, fetch, close) per hop: a daemon
  thread per connection, and ``asyncio.to_thread``.

A candidate that is not installed, or a server that does not answer, is skipped with a line
saying so. Workloads, on a table of 1,000 rows:

- point: sequential SELECT by primary key on one connection, µs per statement;
- fetch: SELECT of all 1,000 rows read at once (buffered cursor), ms per statement;
- stream: the same read in batches of 100 (MySQL: the unbuffered ``SSCursor``), ms;
- 50 tasks: 50 asyncio tasks (sync baseline: 50 threads), each on its own connection, doing
  point reads; statements per second.

Every round runs every candidate on every workload, the order of candidates rotated round by
round so each sees the same machine load; the table shows medians over the rounds and the
ratio to the sync driver of the same run (time: lower is better; ops/s: higher is better).
The machine may be shared: compare figures from one run only.

What it decided (issue 15, December 2026, on 2 CPUs shared with other test runs, load 6-18;
figures are the ranges of the medians over four runs):

- MariaDB: asyncmy. It and aiomysql both stream, batch executemany, set autocommit, send
  COM_RESET_CONNECTION and close a connection whose task is cancelled mid-read; asyncmy
  decodes rows in compiled code: 1,000 rows in 2.9-6.1 ms against 21-45 ms for aiomysql
  (17-37 ms for PyMySQL); 50 tasks at 0.87-1.21x the statements/s of 50 PyMySQL threads
  against 0.49-0.66x for aiomysql; point reads 0.68-1.05x PyMySQL's time (aiomysql 1.0-1.45x).
- SQLite: an own daemon thread per connection, one hop per driver call. aiosqlite 0.22.1
  keeps the interpreter from exiting while an unclosed connection is referenced (its worker
  thread is not a daemon); used as a mirror of sqlite3 it pays a hop per call: 1.7-2.5x the
  point-read time of the own thread, and 0.35-0.42x its statements/s with 50 tasks; its
  one-hop ``execute_fetchall`` (no description) times the same as the own thread, so the
  hop count is the difference. ``asyncio.to_thread`` (1.35-2.1x the own thread's point
  time) shares the loop's few default threads and holds the end of ``asyncio.run`` until a
  running statement ends, even one whose task was cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.metadata
import os
import queue
import secrets
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

ROWS = 1_000
POINT_OPS = 1_000  # sequential point reads per sample
FETCH_OPS = 20  # reads of the whole table per sample
STREAM_BATCH = 100
TASKS = 50
TASK_OPS = 40  # point reads per task per sample
WORKLOADS = ("point", "fetch", "stream", "tasks")

MYSQL: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
POINT_SQL = "SELECT id, amount, note FROM items WHERE id = %s"
ALL_SQL = "SELECT id, amount, note FROM items ORDER BY id"


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# -- the candidates: one small class per driver, the calls tenantdb's driver would make ------


class SyncDriver:
    """A sync driver: its calls run on the caller's thread."""

    label = ""

    def connect(self) -> Any:
        raise NotImplementedError

    def point(self, raw: Any, key: int) -> list[Any]:
        raise NotImplementedError

    def fetch(self, raw: Any) -> list[Any]:
        raise NotImplementedError

    def stream(self, raw: Any) -> int:
        raise NotImplementedError

    def close(self, raw: Any) -> None:
        raw.close()


class AsyncDriver:
    """An asyncio driver (or wrapper): every call is awaited."""

    label = ""

    async def connect(self) -> Any:
        raise NotImplementedError

    async def point(self, raw: Any, key: int) -> list[Any]:
        raise NotImplementedError

    async def fetch(self, raw: Any) -> list[Any]:
        raise NotImplementedError

    async def stream(self, raw: Any) -> int:
        raise NotImplementedError

    async def close(self, raw: Any) -> None:
        raise NotImplementedError


Driver = SyncDriver | AsyncDriver


class PyMySQLDriver(SyncDriver):
    def __init__(self, database: str) -> None:
        import pymysql
        import pymysql.cursors
        from pymysql.constants import CLIENT

        self._pymysql = pymysql
        self._sscursor = pymysql.cursors.SSCursor
        self._params: dict[str, Any] = dict(
            MYSQL,
            database=database,
            autocommit=True,
            charset="utf8mb4",
            client_flag=CLIENT.FOUND_ROWS,
        )
        self.label = f"PyMySQL {version('PyMySQL')} (sync)"

    def connect(self) -> Any:
        return self._pymysql.connect(**self._params)

    def point(self, raw: Any, key: int) -> list[Any]:
        cursor = raw.cursor()
        cursor.execute(POINT_SQL, (key,))
        rows: list[Any] = cursor.fetchall()
        cursor.close()
        return rows

    def fetch(self, raw: Any) -> list[Any]:
        cursor = raw.cursor()
        cursor.execute(ALL_SQL, ())
        rows: list[Any] = cursor.fetchall()
        cursor.close()
        return rows

    def stream(self, raw: Any) -> int:
        cursor = raw.cursor(self._sscursor)
        cursor.execute(ALL_SQL, ())
        count = 0
        while batch := cursor.fetchmany(STREAM_BATCH):
            count += len(batch)
        cursor.close()
        return count


class AiomysqlDriver(AsyncDriver):
    def __init__(self, database: str) -> None:
        import aiomysql  # type: ignore[import-untyped]  # aiomysql ships no types
        from pymysql.constants import CLIENT

        self._aiomysql = aiomysql
        # aiomysql names the database ``db`` (PyMySQL takes ``database`` or ``db``).
        self._params: dict[str, Any] = dict(
            MYSQL, db=database, autocommit=True, charset="utf8mb4", client_flag=CLIENT.FOUND_ROWS
        )
        self.label = f"aiomysql {version('aiomysql')}"

    async def connect(self) -> Any:
        return await self._aiomysql.connect(**self._params)

    async def point(self, raw: Any, key: int) -> list[Any]:
        cursor = await raw.cursor()  # aiomysql: cursor() is awaited, fetch*() too
        await cursor.execute(POINT_SQL, (key,))
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def fetch(self, raw: Any) -> list[Any]:
        cursor = await raw.cursor()
        await cursor.execute(ALL_SQL, ())
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def stream(self, raw: Any) -> int:
        cursor = await raw.cursor(self._aiomysql.SSCursor)
        await cursor.execute(ALL_SQL, ())
        count = 0
        while batch := await cursor.fetchmany(STREAM_BATCH):
            count += len(batch)
        await cursor.close()
        return count

    async def close(self, raw: Any) -> None:
        await raw.ensure_closed()


class AsyncmyDriver(AsyncDriver):
    def __init__(self, database: str) -> None:
        import asyncmy
        import asyncmy.cursors
        from asyncmy.constants import CLIENT

        self._asyncmy = asyncmy
        self._sscursor = asyncmy.cursors.SSCursor
        self._params: dict[str, Any] = dict(
            MYSQL,
            database=database,
            autocommit=True,
            charset="utf8mb4",
            client_flag=CLIENT.FOUND_ROWS,
        )
        self.label = f"asyncmy {version('asyncmy')}"

    async def connect(self) -> Any:
        return await self._asyncmy.connect(**self._params)

    async def point(self, raw: Any, key: int) -> list[Any]:
        cursor = raw.cursor()  # asyncmy: cursor() is plain, every fetch*() is awaited
        await cursor.execute(POINT_SQL, (key,))
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def fetch(self, raw: Any) -> list[Any]:
        cursor = raw.cursor()
        await cursor.execute(ALL_SQL, ())
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def stream(self, raw: Any) -> int:
        cursor = raw.cursor(self._sscursor)
        await cursor.execute(ALL_SQL, ())
        count = 0
        while batch := await cursor.fetchmany(STREAM_BATCH):
            count += len(batch)
        await cursor.close()
        return count

    async def close(self, raw: Any) -> None:
        await raw.ensure_closed()


# SQLite: one whole driver call (execute, fetch, close the cursor) as one function, so the
# sync baseline and the one-hop wrappers run exactly the same code.


def sqlite_connect(path: str) -> sqlite3.Connection:
    """Open ``path`` as ``execution/_sqlite.py`` does (autocommit, WAL, busy timeout)."""
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    sqlite_setup(raw)
    return raw


def sqlite_setup(raw: sqlite3.Connection) -> None:
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA busy_timeout=30000")
    raw.execute("PRAGMA foreign_keys=ON")


def sqlite_execute(raw: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def sqlite_stream_open(raw: sqlite3.Connection, sql: str) -> sqlite3.Cursor:
    cursor = raw.cursor()
    cursor.execute(sql)
    return cursor


S_POINT = POINT_SQL.replace("%s", "?")


class SQLiteDriver(SyncDriver):
    label = "sqlite3 (sync)"

    def __init__(self, path: str) -> None:
        self._path = path

    def connect(self) -> Any:
        return sqlite_connect(self._path)

    def point(self, raw: Any, key: int) -> list[Any]:
        return sqlite_execute(raw, S_POINT, (key,))

    def fetch(self, raw: Any) -> list[Any]:
        return sqlite_execute(raw, ALL_SQL, ())

    def stream(self, raw: Any) -> int:
        cursor = sqlite_stream_open(raw, ALL_SQL)
        count = 0
        while batch := cursor.fetchmany(STREAM_BATCH):
            count += len(batch)
        cursor.close()
        return count


class AiosqliteDriver(AsyncDriver):
    """aiosqlite as a name-mapped twin of sqlite3 code would use it: every call a hop."""

    def __init__(self, path: str) -> None:
        import aiosqlite

        self._aiosqlite = aiosqlite
        self._path = path
        self.label = f"aiosqlite {version('aiosqlite')}"

    async def connect(self) -> Any:
        raw = await self._aiosqlite.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON"):
            await raw.execute(f"PRAGMA {pragma}")
        return raw

    async def point(self, raw: Any, key: int) -> list[Any]:
        cursor = await raw.execute(S_POINT, (key,))
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def fetch(self, raw: Any) -> list[Any]:
        cursor = await raw.execute(ALL_SQL)
        rows: list[Any] = await cursor.fetchall()
        await cursor.close()
        return rows

    async def stream(self, raw: Any) -> int:
        cursor = await raw.execute(ALL_SQL)
        count = 0
        while batch := await cursor.fetchmany(STREAM_BATCH):
            count += len(batch)
        await cursor.close()
        return count

    async def close(self, raw: Any) -> None:
        await raw.close()


class AiosqliteOneHopDriver(AiosqliteDriver):
    """aiosqlite's ``execute_fetchall``: one hop, but it gives no ``description``."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.label += " execute_fetchall"

    async def point(self, raw: Any, key: int) -> list[Any]:
        rows: list[Any] = list(await raw.execute_fetchall(S_POINT, (key,)))
        return rows

    async def fetch(self, raw: Any) -> list[Any]:
        rows: list[Any] = list(await raw.execute_fetchall(ALL_SQL))
        return rows


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the awaiting task may have been cancelled meanwhile
        future.set_result(result)


def _settle_error(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class ConnectionThread:
    """Runs the calls of one sqlite3 connection, in order, on a daemon thread of its own.

    Daemon, so an unclosed connection cannot hold the interpreter at exit (aiosqlite 0.22's
    worker thread is not a daemon).
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[tuple[asyncio.Future[Any], Callable[[], Any]] | None]
        self._calls = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="sqlite-connection", daemon=True)
        self._thread.start()

    async def run(self, call: Callable[[], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, call))
        return await future

    def stop(self) -> None:
        self._calls.put(None)

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            future, call = item
            loop = future.get_loop()
            try:
                result = call()
            except BaseException as exc:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                    loop.call_soon_threadsafe(_settle_error, future, exc)
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_settle, future, result)


class OwnThreadDriver(AsyncDriver):
    label = "own: thread per connection"

    def __init__(self, path: str) -> None:
        self._path = path

    async def connect(self) -> Any:
        worker = ConnectionThread()
        raw = await worker.run(partial(sqlite_connect, self._path))
        return worker, raw

    async def point(self, raw: Any, key: int) -> list[Any]:
        worker, connection = raw
        rows: list[Any] = await worker.run(partial(sqlite_execute, connection, S_POINT, (key,)))
        return rows

    async def fetch(self, raw: Any) -> list[Any]:
        worker, connection = raw
        rows: list[Any] = await worker.run(partial(sqlite_execute, connection, ALL_SQL, ()))
        return rows

    async def stream(self, raw: Any) -> int:
        worker, connection = raw
        cursor = await worker.run(partial(sqlite_stream_open, connection, ALL_SQL))
        count = 0
        while batch := await worker.run(partial(cursor.fetchmany, STREAM_BATCH)):
            count += len(batch)
        await worker.run(cursor.close)
        return count

    async def close(self, raw: Any) -> None:
        worker, connection = raw
        await worker.run(connection.close)
        worker.stop()


class ToThreadDriver(AsyncDriver):
    label = "own: asyncio.to_thread"

    def __init__(self, path: str) -> None:
        self._path = path

    async def connect(self) -> Any:
        return await asyncio.to_thread(sqlite_connect, self._path)

    async def point(self, raw: Any, key: int) -> list[Any]:
        return await asyncio.to_thread(sqlite_execute, raw, S_POINT, (key,))

    async def fetch(self, raw: Any) -> list[Any]:
        return await asyncio.to_thread(sqlite_execute, raw, ALL_SQL, ())

    async def stream(self, raw: Any) -> int:
        cursor = await asyncio.to_thread(sqlite_stream_open, raw, ALL_SQL)
        count = 0
        while batch := await asyncio.to_thread(cursor.fetchmany, STREAM_BATCH):
            count += len(batch)
        await asyncio.to_thread(cursor.close)
        return count

    async def close(self, raw: Any) -> None:
        await asyncio.to_thread(raw.close)


# -- scratch databases ------------------------------------------------------------------------


def fill(raw: Any, placeholder: str) -> None:
    cursor = raw.cursor()
    cursor.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, amount DOUBLE, note VARCHAR(40))")
    cursor.executemany(
        f"INSERT INTO items (id, amount, note) VALUES ({placeholder}, {placeholder}, "
        f"{placeholder})",
        [(i, i * 1.25, f"note number {i}") for i in range(1, ROWS + 1)],
    )
    cursor.close()


def mysql_unreachable() -> str | None:
    """Why MariaDB cannot be used (PyMySQL missing, no server), or None."""
    try:
        import pymysql
    except ImportError:
        return "PyMySQL is not installed: .venv/bin/pip install -e '.[dev]'"
    try:
        pymysql.connect(**MYSQL, connect_timeout=3).close()
    except pymysql.err.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@contextlib.contextmanager
def mysql_database() -> Iterator[str]:
    import pymysql

    name = f"tdb_bench_async_{secrets.token_hex(4)}"
    admin = pymysql.connect(**MYSQL, autocommit=True, connect_timeout=3)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            admin.select_db(name)
            fill(admin, "%s")
            yield name
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        admin.close()


@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="tenantdb-bench-async-")
    path = os.path.join(directory, "bench.db")
    try:
        raw = sqlite_connect(path)
        fill(raw, "?")
        raw.close()
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- timing -----------------------------------------------------------------------------------


async def sample(driver: Driver, workload: str, threads: ThreadPoolExecutor) -> float:
    """One timed sample: µs per point read, ms per fetch or stream, statements/s for tasks."""
    if isinstance(driver, SyncDriver):
        return sample_sync(driver, workload, threads)
    if workload == "tasks":
        connections = [await driver.connect() for _ in range(TASKS)]
        try:

            async def task(raw: Any) -> None:
                for i in range(TASK_OPS):
                    await driver.point(raw, i % ROWS + 1)

            start = time.perf_counter()
            await asyncio.gather(*(task(raw) for raw in connections))
            return TASKS * TASK_OPS / (time.perf_counter() - start)
        finally:
            for raw in connections:
                await driver.close(raw)
    raw = await driver.connect()
    try:
        if workload == "point":
            start = time.perf_counter()
            for i in range(POINT_OPS):
                await driver.point(raw, i % ROWS + 1)
            return (time.perf_counter() - start) / POINT_OPS * 1e6
        read: Callable[[Any], Awaitable[object]] = (
            driver.fetch if workload == "fetch" else driver.stream
        )
        start = time.perf_counter()
        for _ in range(FETCH_OPS):
            await read(raw)
        return (time.perf_counter() - start) / FETCH_OPS * 1e3
    finally:
        await driver.close(raw)


def sample_sync(driver: SyncDriver, workload: str, threads: ThreadPoolExecutor) -> float:
    if workload == "tasks":
        connections = [driver.connect() for _ in range(TASKS)]
        try:

            def task(raw: Any) -> None:
                for i in range(TASK_OPS):
                    driver.point(raw, i % ROWS + 1)

            start = time.perf_counter()
            list(threads.map(task, connections))
            return TASKS * TASK_OPS / (time.perf_counter() - start)
        finally:
            for raw in connections:
                driver.close(raw)
    raw = driver.connect()
    try:
        if workload == "point":
            start = time.perf_counter()
            for i in range(POINT_OPS):
                driver.point(raw, i % ROWS + 1)
            return (time.perf_counter() - start) / POINT_OPS * 1e6
        read = driver.fetch if workload == "fetch" else driver.stream
        start = time.perf_counter()
        for _ in range(FETCH_OPS):
            read(raw)
        return (time.perf_counter() - start) / FETCH_OPS * 1e3
    finally:
        driver.close(raw)


async def check(driver: Driver) -> None:
    """Every candidate reads the same rows (and warms up) before anything is timed."""
    if isinstance(driver, SyncDriver):
        raw = driver.connect()
        rows, every, streamed = driver.point(raw, 7), driver.fetch(raw), driver.stream(raw)
        driver.close(raw)
    else:
        raw = await driver.connect()
        rows, every, streamed = await driver.point(raw, 7), await driver.fetch(raw), 0
        streamed = await driver.stream(raw)
        await driver.close(raw)
    assert [tuple(row) for row in rows] == [(7, 8.75, "note number 7")], rows
    assert len(every) == ROWS, len(every)
    assert streamed == ROWS, streamed


async def measure(
    backend: str, drivers: list[Driver], rounds: int, threads: ThreadPoolExecutor
) -> list[tuple[str, str, dict[str, float]]]:
    for driver in drivers:
        await check(driver)
    samples: dict[str, dict[str, list[float]]] = {
        driver.label: {workload: [] for workload in WORKLOADS} for driver in drivers
    }
    for round_ in range(rounds):
        order = drivers[round_ % len(drivers) :] + drivers[: round_ % len(drivers)]
        for workload in WORKLOADS:
            for driver in order:
                samples[driver.label][workload].append(await sample(driver, workload, threads))
    return [
        (backend, label, {w: statistics.median(values) for w, values in by_workload.items()})
        for label, by_workload in samples.items()
    ]


def candidates(
    factories: list[tuple[str, Callable[[str], Driver]]], target: str
) -> tuple[list[Driver], list[str]]:
    drivers: list[Driver] = []
    skipped: list[str] = []
    for module, factory in factories:
        try:
            importlib.import_module(module)
        except ImportError:
            skipped.append(f"{module} (not installed: .venv/bin/pip install {module})")
            continue
        drivers.append(factory(target))
    return drivers, skipped


def table(results: list[tuple[str, str, dict[str, float]]]) -> str:
    header = (
        f"{'backend':<8} {'driver':<36} {'point µs':>9} {'/sync':>6} {'1,000 rows ms':>13} "
        f"{'/sync':>6} {'stream ms':>9} {'/sync':>6} {'50 tasks ops/s':>14} {'/sync':>6}"
    )
    lines = [header, "-" * len(header)]
    baseline: dict[str, float] = {}
    for backend, label, medians in results:
        if label.endswith("(sync)"):
            baseline = medians
        cells = []
        for workload, width, digits in (
            ("point", 9, 1),
            ("fetch", 13, 2),
            ("stream", 9, 2),
            ("tasks", 14, 0),
        ):
            value = medians[workload]
            cells.append(f"{value:>{width},.{digits}f} {value / baseline[workload]:>6.2f}")
        lines.append(f"{backend:<8} {label:<36} " + " ".join(cells))
    return "\n".join(lines)


async def run(rounds: int) -> None:
    results: list[tuple[str, str, dict[str, float]]] = []
    skipped: list[str] = []
    with ThreadPoolExecutor(max_workers=TASKS) as threads:
        if (reason := mysql_unreachable()) is not None:
            skipped.append(f"MariaDB ({reason})")
        else:
            with mysql_database() as name:
                drivers, missing = candidates(
                    [
                        ("pymysql", PyMySQLDriver),
                        ("aiomysql", AiomysqlDriver),
                        ("asyncmy", AsyncmyDriver),
                    ],
                    name,
                )
                skipped += missing
                results += await measure("MariaDB", drivers, rounds, threads)
        with sqlite_database() as path:
            drivers, missing = candidates(
                [
                    ("sqlite3", SQLiteDriver),
                    ("aiosqlite", AiosqliteDriver),
                    ("aiosqlite", AiosqliteOneHopDriver),
                    ("threading", OwnThreadDriver),
                    ("asyncio", ToThreadDriver),
                ],
                path,
            )
            skipped += sorted(set(missing))
            results += await measure("SQLite", drivers, rounds, threads)
    print(
        f"medians of {rounds} interleaved rounds; point: {POINT_OPS} reads, fetch/stream: "
        f"{FETCH_OPS} reads of {ROWS} rows (stream in batches of {STREAM_BATCH}), 50 tasks: "
        f"{TASKS} x {TASK_OPS} point reads, one connection each; /sync: time ratio (lower is "
        "better), ops/s ratio (higher is better)"
    )
    print(table(results))
    for line in skipped:
        print(f"skipped: {line}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average at the end: {load} ({os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
