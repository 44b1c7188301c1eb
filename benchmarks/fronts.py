"""The two fronts against the raw drivers and against each other, measured side by side.

Run with ``.venv/bin/python benchmarks/fronts.py`` (a few minutes; ``--quick`` for a smoke
run of a few seconds per part; ``--parts point,scan,sync`` for a subset). Three parts, each
printing medians and ratios from this run only (the machine may be shared: compare figures
from one run, never across runs):

1. ``point``: a point SELECT by primary key through the asyncio front
   (``await s.execute(...)`` + ``await r.fetchall()`` in one open session of tenant
   ``acme``, whose ``tenant`` table lives on the backend) ÷ the raw driver running the same
   physical statement (the one ``cluster.explain`` gives: with the tenant predicate) on one
   connection opened as tenantdb opens its own (autocommit; psycopg's and asyncmy's defaults
   otherwise):

   - PostgreSQL: raw psycopg ``AsyncConnection``; target ≤ 1.10x;
   - SQLite: raw ``sqlite3`` called directly on the event loop's thread. The asyncio front
     cannot do that: every driver call hops to the connection's own thread and back. A
     context line shows what that hop alone costs (raw ``sqlite3`` behind one hop to a
     thread of its own, ``async_drivers.ConnectionThread``);
   - MariaDB: raw ``asyncmy``.

   The thread front (``tenantdb.connect``) ÷ the raw driver is shown for context. The raw
   side only reads the rows; tenantdb also routes the statement and gives every Result its
   ``description`` (for psycopg, a ``Column`` object per column), which is part of its cost.

2. ``scan``: ``SELECT id, x FROM ev ORDER BY x LIMIT 10`` on a ``mod`` table of 16 shards
   over 4 PostgreSQL databases (100,000 rows, ``x`` indexed, ``tenant_scoped = false``):
   asyncio front ÷ thread front, the same cluster configuration, one open session each.

3. ``sync``: the thread front's point SELECT after the reshaping (``--after``, default
   ``HEAD``) ÷ before it (``--before``, default ``94bf6e4``, the commit before the session
   moved into the generated ``_sync`` package). Each version is checked out into a temporary
   ``git worktree`` (removed at the end; ``--after .`` measures this working tree as it is).
   A round starts one subprocess per version, each importing tenantdb from its version's
   ``src`` (``PYTHONPATH``; checked) and opening one tenant session per backend; the script
   then has them time batches of point SELECTs in turn, alternating batch by batch so both
   see the same load, and each prints the per-call median of its batches as JSON. Rounds
   alternate which version starts; the script reports, per version, the median over rounds
   of the subprocess medians, their ratio, and the range of the per-round ratios (the
   noise). Target: ≤ 1.00x, no regression. ``--profile`` adds, in the last round, a
   cProfile of one batch in each version (SQLite and PostgreSQL): where the time goes.

Services: PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and MariaDB on 127.0.0.1:3306
(root, no password); a backend that does not answer is skipped with a line saying why.
Every database created here is named ``tdb_bench_fronts_<random hex>_<n>`` and dropped at
the end, SQLite files live in a temporary directory that is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import tenantdb
from async_drivers import (
    MYSQL,
    ConnectionThread,
    mysql_unreachable,
    sqlite_connect,
    sqlite_execute,
    version,
)
from execution import PG_ADMIN, per_call_us

REPO = Path(__file__).resolve().parent.parent
PREFIX = "tdb_bench_fronts"
POINT_ROWS = 10_000
SCAN_ROWS = 100_000
SCAN_SHARDS = 16
SCAN_DATABASES = 4
TENANT = "acme"
POINT = "SELECT id, name, price FROM items WHERE id = %s"
SCAN = "SELECT id, x FROM ev ORDER BY x LIMIT 10"
CREATE_ITEMS = (
    "CREATE TABLE items (id INTEGER PRIMARY KEY, tenant_id VARCHAR(64) NOT NULL,"
    " name VARCHAR(40), price INTEGER)"
)
MYSQL_URL = f"mysql://{MYSQL['user']}@{MYSQL['host']}:{MYSQL['port']}"
PG_URL = PG_ADMIN.rsplit("/", 1)[0]


@dataclass(frozen=True)
class Sizes:
    """How much each part runs: ``--quick`` shrinks everything to a smoke run."""

    rounds: int = 41  # interleaved rounds of parts 1 and 2
    point_batch: int = 100  # point SELECTs per timed batch
    scan_batch: int = 10  # 16-shard scans per timed batch
    sync_rounds: int = 9  # pairs of subprocesses in part 3
    child_batches: int = 15  # timed batches per backend inside one subprocess
    child_batch: int = 200  # point SELECTs per batch there
    warmup: int = 300
    profile_calls: int = 3000  # point SELECTs under cProfile (--profile)


QUICK = Sizes(
    rounds=3,
    point_batch=50,
    scan_batch=3,
    sync_rounds=2,
    child_batches=3,
    child_batch=50,
    profile_calls=300,
)


def key(i: int) -> int:
    """The i-th key read: spread over the table, the same sequence on every side."""
    return i * 37 % POINT_ROWS


# -- timing: sides that run a batch of n calls and return µs per call ----------------------

Batch = Callable[[int], float]


def direct(call: Callable[[int], object]) -> Batch:
    """A blocking side (raw sqlite3, the thread front): timed with execution.per_call_us."""
    return lambda n: per_call_us(call, batch=n, repeats=1)[0]


def on_loop(runner: asyncio.Runner, call: Callable[[int], Awaitable[object]]) -> Batch:
    """An asyncio side: the whole batch runs in one task on ``runner``'s loop, timed inside
    it (starting the task is not counted). The loop is idle between batches, so blocking
    sides can run in between on this thread."""

    async def timed(n: int) -> float:
        start = time.perf_counter_ns()
        for i in range(n):
            await call(i)
        return (time.perf_counter_ns() - start) / n / 1000

    return lambda n: runner.run(timed(n))


def interleave(sides: dict[str, Batch], *, batch: int, rounds: int) -> dict[str, list[float]]:
    """µs per call of each side's batches, ``rounds`` rounds that run one batch of every
    side, the order rotated round by round so all see the same machine load."""
    names = list(sides)
    for name in names:  # warm up: caches, prepared statements, pool connections
        sides[name](max(1, batch // 4))
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(sides[name](batch))
    return samples


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    low, middle, high = statistics.quantiles(values, n=4)
    return low, middle, high


def compare(samples: dict[str, list[float]], base: str) -> list[str]:
    """One line per side: the median µs per call, its ratio to ``base``'s median, and the
    quartiles of the round-by-round ratios (how noisy the ratio is)."""
    lines = []
    base_us = statistics.median(samples[base])
    for name, values in samples.items():
        us = statistics.median(values)
        line = f"    {name:<46} {us:9.1f} µs"
        if name != base:
            ratios = [a / b for a, b in zip(values, samples[base], strict=True)]
            low, _, high = quartiles(ratios)
            line += (
                f"   ratio {us / base_us:5.2f}   ({us - base_us:+.1f} µs;"
                f" per-round ratios: quartiles {low:.2f} .. {high:.2f})"
            )
        lines.append(line)
    return lines


# -- scratch databases -----------------------------------------------------------------------


@dataclass
class Backend:
    """One reachable backend with its scratch point database (``items``, tenant acme)."""

    name: str  # sqlite, postgres, mysql
    label: str
    url: str  # the point database, as a tenantdb datasource URL

    def point_config(self) -> dict[str, Any]:
        return {
            "dialect": self.name,
            "datasources": {"ds0": {"url": self.url, "pool": {"min_size": 1, "max_size": 4}}},
            "tables": {"items": {"strategy": "tenant"}},
            "tenants": {TENANT: {"datasource": "ds0"}},
        }


def scratch_names(count: int) -> list[str]:
    token = secrets.token_hex(4)
    return [f"{PREFIX}_{token}_{n}" for n in range(count)]


@contextlib.contextmanager
def postgres_scratch(count: int) -> Iterator[list[str]]:
    """``count`` new PostgreSQL databases (URLs), dropped on exit."""
    import psycopg

    names = scratch_names(count)
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [f"{PG_URL}/{name}" for name in names]
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def mysql_scratch(count: int) -> Iterator[list[str]]:
    import pymysql

    names = scratch_names(count)
    admin = pymysql.connect(**MYSQL, autocommit=True, connect_timeout=3)
    try:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield [f"{MYSQL_URL}/{name}" for name in names]
    finally:
        with admin.cursor() as cursor:
            for name in names:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@contextlib.contextmanager
def sqlite_scratch(count: int) -> Iterator[list[str]]:
    directory = tempfile.mkdtemp(prefix="tenantdb-bench-fronts-")
    try:
        yield [f"sqlite:///{directory}/{PREFIX}_{n}.db" for n in range(count)]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def raw_sync_connect(backend: str, url: str) -> Any:
    """A blocking raw connection to ``url``, opened as tenantdb opens its own."""
    if backend == "sqlite":
        return sqlite_connect(url.removeprefix("sqlite:///"))
    if backend == "postgres":
        import psycopg

        return psycopg.connect(url, autocommit=True)
    import pymysql

    return pymysql.connect(**MYSQL, database=url.rsplit("/", 1)[1], autocommit=True)


def fill_items(backend: str, url: str) -> None:
    mark = "?" if backend == "sqlite" else "%s"
    raw = raw_sync_connect(backend, url)
    try:
        cursor = raw.cursor()
        cursor.execute(CREATE_ITEMS)
        cursor.executemany(
            f"INSERT INTO items (id, tenant_id, name, price) VALUES ({mark}, {mark}, {mark}, "
            f"{mark})",
            [(i, TENANT, f"item {i}", i % 97) for i in range(POINT_ROWS)],
        )
        cursor.close()
    finally:
        raw.close()


def open_backends(stack: contextlib.ExitStack, skipped: list[str]) -> list[Backend]:
    """The reachable backends, each with its point database filled; the rest in ``skipped``."""
    found: list[Backend] = []
    [url] = stack.enter_context(sqlite_scratch(1))
    fill_items("sqlite", url)
    found.append(Backend("sqlite", "SQLite (file, WAL)", url))
    try:
        [url] = stack.enter_context(postgres_scratch(1))
    except Exception as exc:
        skipped.append(f"PostgreSQL ({type(exc).__name__}: {exc})")
    else:
        fill_items("postgres", url)
        found.append(Backend("postgres", "PostgreSQL 127.0.0.1:5432", url))
    reason = mysql_unreachable()
    try:
        import asyncmy  # noqa: F401  # the asyncio front's MySQL driver
    except ImportError:
        reason = reason or "asyncmy is not installed: .venv/bin/pip install -e '.[dev]'"
    if reason is not None:
        skipped.append(f"MariaDB ({reason})")
    else:
        [url] = stack.enter_context(mysql_scratch(1))
        fill_items("mysql", url)
        found.append(Backend("mysql", "MariaDB 127.0.0.1:3306", url))
    return found


# -- part 1: asyncio front ÷ raw driver ------------------------------------------------------


def physical_point(cluster: Any) -> tuple[str, Callable[[int], tuple[Any, ...]]]:
    """The physical SQL tenantdb sends for ``POINT`` in a session of ``TENANT`` (the tenant
    predicate added), and a function from a key to its parameters."""
    sentinel = 987_654_321
    [target] = cluster.explain(POINT, (sentinel,), tenant=TENANT).targets
    *own, last = target.params
    assert last == sentinel, target.params  # the key is the last parameter
    assert sentinel not in own, target.params
    return target.sql, lambda k: (*own, k)


async def raw_async_connect(backend: Backend) -> tuple[Any, Callable[[], Awaitable[None]]]:
    """The raw asyncio connection and its close, opened as tenantdb's own are."""
    if backend.name == "postgres":
        import psycopg

        pg = await psycopg.AsyncConnection.connect(backend.url, autocommit=True)
        return pg, pg.close
    import asyncmy
    from asyncmy.constants import CLIENT

    my = await asyncmy.connect(
        **MYSQL,
        database=backend.url.rsplit("/", 1)[1],
        autocommit=True,
        charset="utf8mb4",
        client_flag=CLIENT.FOUND_ROWS,
    )

    async def close() -> None:
        await my.ensure_closed()

    return my, close


def measure_point(backend: Backend, sizes: Sizes) -> list[str]:
    """The lines of one backend's figures: each side's µs per call, ratio to the raw one."""
    config = backend.point_config()
    with asyncio.Runner() as runner, contextlib.ExitStack() as stack:
        sync_cluster = tenantdb.connect(config)
        stack.callback(sync_cluster.close)
        async_cluster = tenantdb.connect_async(config)
        stack.callback(lambda: runner.run(async_cluster.aclose()))
        sql, raw_params = physical_point(sync_cluster)

        sync_session = stack.enter_context(sync_cluster.session(tenant=TENANT))
        async_session = async_cluster.session(tenant=TENANT)
        runner.run(async_session.__aenter__())
        stack.callback(lambda: runner.run(async_session.__aexit__(None, None, None)))

        async def ours_async(i: int) -> object:
            result = await async_session.execute(POINT, (key(i),))
            return await result.fetchall()

        def ours_sync(i: int) -> object:
            return sync_session.execute(POINT, (key(i),)).fetchall()

        sides: dict[str, Batch] = {}
        raw_label = ""
        if backend.name == "sqlite":
            raw = sqlite_connect(_path(backend))
            stack.callback(raw.close)
            raw_label = "raw sqlite3, called directly"
            sides[raw_label] = direct(lambda i: sqlite_execute(raw, sql, raw_params(key(i))))
            hop = ConnectionThread()
            stack.callback(hop.stop)
            hopped = runner.run(hop.run(partial(sqlite_connect, _path(backend))))
            stack.callback(lambda: runner.run(hop.run(hopped.close)))
            sides["raw sqlite3 behind one thread hop (context)"] = on_loop(
                runner, lambda i: hop.run(partial(sqlite_execute, hopped, sql, raw_params(key(i))))
            )
        else:
            connection, close = runner.run(raw_async_connect(backend))
            stack.callback(lambda: runner.run(close()))
            if backend.name == "postgres":
                import psycopg

                raw_label = f"raw psycopg {psycopg.__version__} AsyncConnection"

                async def raw_call(i: int) -> object:
                    async with connection.cursor() as cursor:
                        await cursor.execute(sql, raw_params(key(i)))
                        return await cursor.fetchall()

            else:
                raw_label = f"raw asyncmy {version('asyncmy')}"

                async def raw_call(i: int) -> object:
                    cursor = connection.cursor()
                    try:
                        await cursor.execute(sql, raw_params(key(i)))
                        return await cursor.fetchall()
                    finally:
                        await cursor.close()

            sides[raw_label] = on_loop(runner, raw_call)
        sides["tenantdb asyncio front"] = on_loop(runner, ours_async)
        sides["tenantdb thread front (context)"] = direct(ours_sync)

        expected = [(key(5), f"item {key(5)}", key(5) % 97)]
        assert [tuple(row) for row in runner.run(ours_async(5))] == expected  # type: ignore[arg-type]
        assert ours_sync(5) == expected
        samples = interleave(sides, batch=sizes.point_batch, rounds=sizes.rounds)
    return compare(samples, raw_label)


def _path(backend: Backend) -> str:
    return backend.url.removeprefix("sqlite:///")


def part_point(backends: list[Backend], sizes: Sizes) -> None:
    print(
        f"\n1. Point SELECT by key, tenant session, {POINT_ROWS} rows; median µs per statement "
        f"over {sizes.rounds} interleaved rounds of {sizes.point_batch}; ratio to the raw "
        "driver (target for the asyncio front: <= 1.10)",
        flush=True,
    )
    for backend in backends:
        lines = measure_point(backend, sizes)
        print(f"  {backend.label}:")
        print("\n".join(lines))
        print(flush=True)


# -- part 2: 16-shard ORDER BY ... LIMIT, asyncio front ÷ thread front -----------------------


SCAN_GROUPS = 50
SCAN_CREATE = "CREATE TABLE ev (id INTEGER PRIMARY KEY, x INTEGER, g INTEGER, note VARCHAR(40))"
SCAN_INDEX = "CREATE INDEX ev_x ON ev (x)"
SCAN_FILL = (
    "INSERT INTO {table} (id, x, g, note)"
    f" SELECT i, i * 7919 % 100003, i % {SCAN_GROUPS}, 'note ' || i"
    f" FROM generate_series(0, {SCAN_ROWS - 1}) AS i"
)
"""Rows of ``ev``: x is a permutation of the ids (100003 is prime), so no ties; g groups."""


def scan_config(urls: list[str]) -> dict[str, Any]:
    """``ev``: a ``mod`` table of ``SCAN_SHARDS`` shards over the databases ``urls``
    (also ``benchmarks/scatter.py``'s)."""
    return {
        "dialect": "postgres",
        "datasources": {
            f"ds{n}": {"url": url, "pool": {"min_size": 1, "max_size": 4}}
            for n, url in enumerate(urls)
        },
        "tables": {
            "ev": {
                "strategy": "mod",
                "key": "id",
                "shards": SCAN_SHARDS,
                "tenant_scoped": False,
            }
        },
    }


def x_of(i: int) -> int:
    """Column x of row i (``SCAN_FILL``)."""
    return i * 7919 % 100_003


def fill_scan(cluster: Any, urls: list[str]) -> None:
    """Create ``ev`` and its index through tenantdb, load each physical table straight on
    its database (server-side generate_series), ANALYZE."""
    import psycopg

    with cluster.session(admin=True) as session:
        session.execute(SCAN_CREATE)
        session.execute(SCAN_INDEX)
    by_name = {f"ds{n}": url for n, url in enumerate(urls)}
    for target in cluster.explain("SELECT id FROM ev").targets:
        table = target.tables["ev"]
        shard = int(table.rsplit("_", 1)[1])
        with psycopg.connect(by_name[target.datasource], autocommit=True) as raw:
            raw.execute(SCAN_FILL.format(table=table) + f" WHERE i % {SCAN_SHARDS} = {shard}")
            raw.execute(f"ANALYZE {table}")


def part_scan(sizes: Sizes, skipped: list[str]) -> None:
    try:
        context = postgres_scratch(SCAN_DATABASES)
        urls = context.__enter__()
    except Exception as exc:
        skipped.append(f"part 2, PostgreSQL ({type(exc).__name__}: {exc})")
        return
    try:
        config = scan_config(urls)
        with asyncio.Runner() as runner, contextlib.ExitStack() as stack:
            sync_cluster = tenantdb.connect(config)
            stack.callback(sync_cluster.close)
            fill_scan(sync_cluster, urls)
            async_cluster = tenantdb.connect_async(config)
            stack.callback(lambda: runner.run(async_cluster.aclose()))
            sync_session = stack.enter_context(sync_cluster.session())
            async_session = async_cluster.session()
            runner.run(async_session.__aenter__())
            stack.callback(lambda: runner.run(async_session.__aexit__(None, None, None)))

            async def async_scan(i: int) -> object:
                return await (await async_session.execute(SCAN)).fetchall()

            def sync_scan(i: int) -> object:
                return sync_session.execute(SCAN).fetchall()

            expected = sorted(((i, x_of(i)) for i in range(SCAN_ROWS)), key=lambda r: r[1])[:10]
            assert sync_scan(0) == expected, sync_scan(0)
            assert runner.run(async_scan(0)) == expected
            assert sync_session.execute("SELECT count(*) FROM ev").fetchall() == [(SCAN_ROWS,)]
            samples = interleave(
                {"thread front": direct(sync_scan), "asyncio front": on_loop(runner, async_scan)},
                batch=sizes.scan_batch,
                rounds=sizes.rounds,
            )
    finally:
        context.__exit__(None, None, None)
    print(
        f"2. {SCAN!r}: mod table, {SCAN_SHARDS} shards over {SCAN_DATABASES} PostgreSQL "
        f"databases, {SCAN_ROWS:,} rows, x indexed; median µs per statement over "
        f"{sizes.rounds} interleaved rounds of {sizes.scan_batch}; ratio asyncio / thread"
    )
    print("\n".join(compare(samples, "thread front")))
    print(flush=True)


# -- part 3: the thread front's point path, after ÷ before, in subprocesses -----------------


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[tuple[Path, str]]:
    """(src directory, description) of ``rev``: a temporary git worktree, removed on exit;
    ``.`` is this working tree as it is, uncommitted edits included."""
    if rev == ".":
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "src")
        yield REPO / "src", f"working tree at {head}" + (" + uncommitted edits" if dirty else "")
        return
    commit = git("rev-parse", "--short", f"{rev}^{{commit}}")
    where = Path(tempfile.mkdtemp(prefix="tenantdb-bench-fronts-")) / commit
    git("worktree", "add", "--detach", "--quiet", str(where), commit)
    try:
        subject = git("log", "-1", "--format=%s", commit)
        yield where / "src", f"{commit} ({subject[:60]}{'...' if len(subject) > 60 else ''})"
    finally:
        git("worktree", "remove", "--force", str(where))
        shutil.rmtree(where.parent, ignore_errors=True)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


class Child:
    """This script run as a subprocess (``--child``) that imports tenantdb from ``src``, opens
    one tenant session per backend, warms up, and then answers one JSON line per command
    read on its stdin: a backend name (time one batch of point SELECTs there), ``profile
    <backend>`` (a cProfile of one batch), ``done`` (the median of its batches, and exit)."""

    def __init__(self, src: Path, spec: dict[str, Any]) -> None:
        self.src = src
        env = dict(os.environ, PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1")
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--child", json.dumps(spec)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        imported = self._answer()["tenantdb"]
        if not imported.startswith(str(self.src)):
            raise RuntimeError(f"the subprocess imported {imported}, not tenantdb from {self.src}")

    def ask(self, command: str) -> Any:
        assert self._process.stdin is not None
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._answer()

    def _answer(self) -> Any:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.close()
            assert self._process.stderr is not None
            raise RuntimeError(
                f"the subprocess on {self.src} failed:\n{self._process.stderr.read()}"
            )
        return json.loads(line)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()


def child(spec: dict[str, Any]) -> None:
    """The subprocess's side of ``Child``."""

    def reply(answer: object) -> None:
        print(json.dumps(answer), flush=True)

    points: dict[str, Callable[[int], object]] = {}
    with contextlib.ExitStack() as stack:
        for name, config in spec["configs"].items():
            cluster = tenantdb.connect(config)
            stack.callback(cluster.close)
            session = stack.enter_context(cluster.session(tenant=TENANT))

            def point(i: int, session: Any = session) -> object:
                return session.execute(POINT, (key(i),)).fetchall()

            for i in range(spec["warmup"]):
                point(i)
            points[name] = point
        reply({"tenantdb": tenantdb.__file__})
        samples: dict[str, list[float]] = {name: [] for name in points}
        for line in sys.stdin:
            command, _, name = line.strip().partition(" ")
            if command == "done":
                break
            if command == "profile":
                calls = spec["profile_calls"]
                profiler = cProfile.Profile()
                profiler.runcall(per_call_us, points[name], batch=calls, repeats=1)
                reply(profile_summary(profiler, calls))
                continue
            samples[command] += per_call_us(points[command], batch=spec["batch"], repeats=1)
            reply(samples[command][-1])
        reply({name: statistics.median(values) for name, values in samples.items() if values})


def profile_summary(profiler: cProfile.Profile, calls: int, top: int = 18) -> str:
    """The profile per point SELECT: own time and function calls summed by package (the
    calls are exact and load-independent, the times are inflated by cProfile and move with
    the machine's load), then the functions with the most own time (paths from
    ``site-packages/`` or ``src/``)."""

    def where(filename: str) -> str:
        for marker in ("site-packages/", "/src/", "/benchmarks/"):
            if marker in filename:
                return filename.rsplit(marker, 1)[1]
        return filename

    def package(filename: str) -> str:
        name = where(filename)
        if name.startswith("tenantdb/"):
            return "/".join(name.split("/")[:2])
        if name == "~":
            return "built-ins (C: drivers' and Python's)"
        if not name or name.startswith("<"):
            return "other (<string>, frozen modules)"
        if name in ("fronts.py", "execution.py"):
            return "the benchmark's loop"
        if name.startswith("/"):
            return "Python's standard library"
        return name.split("/")[0].split(".")[0]

    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    by_package: dict[str, tuple[float, int]] = {}
    rows = []
    for (filename, line, function), (_, ncalls, own, cumulative, _) in stats.items():
        seconds, count = by_package.get(package(filename), (0.0, 0))
        by_package[package(filename)] = (seconds + own, count + ncalls)
        rows.append((own, cumulative, ncalls, f"{where(filename)}:{line}({function})"))
    total = sum(seconds for seconds, _ in by_package.values())
    count = sum(n for _, n in by_package.values())
    out = [
        f"    per point SELECT under cProfile: {total / calls * 1e6:.1f} µs, "
        f"{count / calls:.1f} function calls; by package:"
    ]
    for name, (seconds, n) in sorted(by_package.items(), key=lambda item: -item[1][0]):
        out.append(f"      {seconds / calls * 1e6:7.2f} µs  {n / calls:6.1f} calls  {name}")
    out.append("    functions with the most own time (µs per point SELECT; calls per SELECT):")
    for own, cumulative, ncalls, name in sorted(rows, reverse=True)[:top]:
        out.append(
            f"      own {own / calls * 1e6:6.2f}  cum {cumulative / calls * 1e6:7.2f}"
            f"  {ncalls / calls:4.1f}x  {name}"
        )
    return "\n".join(out)


@dataclass
class SyncRound:
    """What one round of part 3 gives, per backend: each version's median µs per call, the
    ratios after/before of the batch pairs, and the profiles asked for."""

    medians: dict[str, dict[str, float]]
    pairs: dict[str, list[float]]
    profiles: dict[str, dict[str, str]]


def sync_round(
    versions: dict[str, Path], spec: dict[str, Any], batches: int, first: str, profile: bool
) -> SyncRound:
    """One round: a subprocess per version, both alive; per backend, ``batches`` pairs of
    batches, one in each version (which goes first alternating pair by pair)."""
    order = [first, *(v for v in versions if v != first)]
    children = {which: Child(versions[which], spec) for which in order}
    profiles: dict[str, dict[str, str]] = {which: {} for which in order}
    pairs: dict[str, list[float]] = {name: [] for name in spec["configs"]}
    try:
        for each in children.values():
            each.ready()
        for name in spec["configs"]:
            for batch in range(batches):
                us = {}
                for which in order if batch % 2 == 0 else order[::-1]:
                    us[which] = children[which].ask(name)
                pairs[name].append(us["after"] / us["before"])
            if profile:
                for which in order:
                    profiles[which][name] = children[which].ask(f"profile {name}")
        medians = {which: children[which].ask("done") for which in order}
        return SyncRound(medians, pairs, profiles)
    finally:
        for each in children.values():
            each.close()


def part_sync(
    backends: list[Backend], sizes: Sizes, before: str, after: str, profile: bool
) -> None:
    spec = {
        "configs": {b.name: b.point_config() for b in backends},
        "warmup": sizes.warmup,
        "batch": sizes.child_batch,
        "profile_calls": sizes.profile_calls,
    }
    medians: dict[str, dict[str, list[float]]] = {
        b.name: {"before": [], "after": []} for b in backends
    }
    pairs: dict[str, list[float]] = {b.name: [] for b in backends}
    profiles: dict[str, dict[str, str]] = {}
    with checkout(before) as (before_src, before_text), checkout(after) as (after_src, after_text):
        versions = {"before": before_src, "after": after_src}
        for round_ in range(sizes.sync_rounds):
            last = round_ == sizes.sync_rounds - 1
            first = "before" if round_ % 2 == 0 else "after"
            result = sync_round(versions, spec, sizes.child_batches, first, profile and last)
            for which, by_backend in result.medians.items():
                for name, us in by_backend.items():
                    medians[name][which].append(us)
            for name, ratios in result.pairs.items():
                pairs[name] += ratios
            profiles = result.profiles
    print(
        f"3. Thread front, point SELECT in a tenant session, after ÷ before: {sizes.sync_rounds} "
        f"rounds, each one subprocess per version (both alive, batches alternating: "
        f"{sizes.child_batches} batches of {sizes.child_batch} per backend after "
        f"{sizes.warmup} warm-up statements); per version the median over rounds of each "
        "subprocess's median µs (target: after/before <= 1.00)"
    )
    print(f"    before: {before_text}")
    print(f"    after:  {after_text}")
    labels = {b.name: b.label for b in backends}
    for name, by_version in medians.items():
        before_us = statistics.median(by_version["before"])
        after_us = statistics.median(by_version["after"])
        per_round = sorted(
            a / b for a, b in zip(by_version["after"], by_version["before"], strict=True)
        )
        low, middle, high = quartiles(pairs[name])
        print(
            f"    {labels[name]:<28} before {before_us:8.1f} µs   after {after_us:8.1f} µs"
            f"   after/before {after_us / before_us:5.2f}"
            f"   (per round {per_round[0]:.2f} .. {per_round[-1]:.2f};"
            f" {len(pairs[name])} batch pairs: median {middle:.2f}, quartiles {low:.2f} .. "
            f"{high:.2f})"
        )
    for which, by_backend in profiles.items():
        for name, text in by_backend.items():
            print(f"\n  cProfile, {which}, {labels[name]}, {sizes.profile_calls} point SELECTs:")
            print(text)
    print(flush=True)


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few small rounds")
    parser.add_argument(
        "--parts", default="point,scan,sync", help="comma-separated subset of point,scan,sync"
    )
    parser.add_argument("--before", default="94bf6e4", help="part 3's before (a git revision)")
    parser.add_argument(
        "--after", default="HEAD", help="part 3's after: a git revision, or . (this tree)"
    )
    parser.add_argument("--profile", action="store_true", help="part 3: cProfile both versions")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(json.loads(args.child))
        return
    parts = set(args.parts.split(","))
    if unknown := parts - {"point", "scan", "sync"}:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else Sizes()
    started = time.monotonic()
    skipped: list[str] = []
    print(
        f"tenantdb fronts, {'quick smoke run' if args.quick else 'full run'}; medians and "
        "ratios measured side by side in this run (compare within one run only)",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        backends = open_backends(stack, skipped)
        if "point" in parts:
            part_point(backends, sizes)
        if "scan" in parts:
            part_scan(sizes, skipped)
        if "sync" in parts:
            part_sync(backends, sizes, args.before, args.after, args.profile)
    for line in skipped:
        print(f"skipped: {line}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{time.monotonic() - started:.0f} s; load average at the end: {load} "
        f"({os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
