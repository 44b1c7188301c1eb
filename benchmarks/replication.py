"""Read/write splitting: replica reads against primary reads and the raw driver, side by side.

Run with ``make bench`` (or ``.venv/bin/python benchmarks/replication.py``). Needs the
PostgreSQL primary on 127.0.0.1:5432 and its streaming hot standby on 127.0.0.1:5433 (user
postgres, trust). It creates a scratch database on the primary with ``items(id, v)`` and
10,000 rows, waits until the standby has replayed them, and drops the database at the end.
Figures are printed, never asserted; the machine may be shared and noisy: compare figures
from one run only.

1. **Read throughput.** N threads (1, 4, 8), each with its own session or connection,
   running point SELECTs by key for a fixed time, in repeated rounds that rotate the four
   configurations so that all see the same machine load: (a) tenantdb, cluster with one
   replica, reads served by the replica (the role of every result is counted); (b) the
   same cluster with ``primary=True`` sessions; (c) raw psycopg on the primary; (d) raw
   psycopg on the replica. Median reads/s per configuration and the ratios tenantdb / raw.
   Both servers run on this one machine, so a replica adds no CPU here: the point is that
   the replica path costs no more than the primary path and really serves the reads.
2. **The replica choice alone, no I/O.** ``Session._replica_for`` (what every read outside
   a transaction calls to pick its replica) in a tight ``timeit`` loop with 1, 2 and 3
   replicas configured (the extra ones are the same standby under other names), without
   and with a read-your-writes position; against the same call on a datasource without
   replicas (the baseline: it returns at once). Also ``ReplicaSet.choose`` alone, with
   ``min_position`` None and set, and the pure ``ReplicaSelector.choose`` over fresh
   states. Median ns per call; target: <= 2 µs per statement. Runs even when the
   standby does not answer (its replicas then point at the primary, which answers the
   monitor's probes as a replica that has replayed everything).
3. **Latency of one point read.** Single thread, ``perf_counter_ns`` around each call,
   one call of each configuration per step (rotating order): tenantdb replica path,
   tenantdb ``primary=True``, raw psycopg on the replica and on the primary. Median, p99
   and mean µs, the ratios, and the median of the per-step differences (what tenantdb
   adds, steadier than a difference of medians on a busy machine).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import platform
import secrets
import signal
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg

import tenantdb
from tenantdb.core.replication import ReplicaSelector, ReplicaState, encode_token, format_pg_lsn

ROWS = 10_000
PRIMARY = "postgresql://postgres@127.0.0.1:5432/{}"
REPLICA = "postgresql://postgres@127.0.0.1:5433/{}"
POINT = "SELECT v FROM items WHERE id = %s"
THREADS = (1, 4, 8)
ROUND_S = 0.4
ROUNDS = 5
CHOICE_TARGET_NS = 2_000


# -- helpers ----------------------------------------------------------------------------


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an ascending sequence."""
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def answers(url: str) -> str | None:
    """None when the server at ``url`` accepts a connection, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
    return None


def cluster_config(database: str, replicas: dict[str, int], replica_url: str) -> dict[str, Any]:
    """Datasource per entry of ``replicas`` (name -> how many replicas), all on ``database``."""
    return {
        "dialect": "postgres",
        "datasources": {
            name: {
                "url": PRIMARY.format(database),
                "replicas": [replica_url.format(database)] * count,
                "lag_check_interval": 0.5,
                "pool": {"min_size": 1, "max_size": 10},
            }
            for name, count in replicas.items()
        },
        "tables": {
            "items": {
                "strategy": "single",
                "datasource": next(iter(replicas)),
                "tenant_scoped": False,
            }
        },
    }


class Collected(logging.Handler):
    """Keeps what tenantdb and psycopg log (a replica going away and coming back, when
    another process restarts the standby) for a summary, instead of interleaving it with
    the figures."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def install(self) -> None:
        for name in ("tenantdb", "psycopg"):
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.propagate = False

    def summary(self) -> None:
        if self.records:
            first = self.records[0].getMessage().splitlines()[0]
            print(f"{len(self.records)} warnings logged by tenantdb/psycopg, first: {first}")


def wait_serving(cluster: Any, names: Sequence[str], timeout_s: float = 15.0) -> str:
    """Start the replica sets of ``names`` and wait for the monitor's first readings;
    return the states as text."""
    deadline = time.monotonic() + timeout_s
    sets = [cluster.datasources.replicas(name) for name in names]
    while time.monotonic() < deadline:
        if all(s.state == "serving" and s.replayed is not None for r in sets for s in r.states):
            break
        time.sleep(0.05)
    return states_text(sets)


def states_text(sets: Sequence[Any]) -> str:
    return "; ".join(
        f"{s.name} {s.state}"
        + (f" lag {s.lag_s:.3g} s" if s.lag_s is not None else "")
        + (f" replayed {format_pg_lsn(s.replayed)}" if s.replayed is not None else "")
        for r in sets
        for s in r.states
    )


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh database on the primary with ``items`` loaded, visible on the standby."""
    name = f"tdb_bench_repl_{secrets.token_hex(4)}"
    with psycopg.connect(PRIMARY.format("postgres"), autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(PRIMARY.format(name), autocommit=True) as primary:
            primary.execute("CREATE TABLE items (id integer PRIMARY KEY, v text NOT NULL)")
            primary.execute(
                "INSERT INTO items SELECT g, 'value ' || g FROM generate_series(0, %s) g",
                (ROWS - 1,),
            )
        started = time.monotonic()
        deadline = started + 30
        last = "not tried"
        while True:
            try:
                with psycopg.connect(REPLICA.format(name), connect_timeout=3) as replica:
                    count = replica.execute("SELECT count(*) FROM items").fetchone()
                    if count is not None and count[0] == ROWS:
                        break
                    last = f"{count[0] if count else 0} rows"
            except psycopg.Error as exc:
                last = str(exc).strip().splitlines()[0]
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby does not have {name} after 30 s ({last})")
            time.sleep(0.05)
        print(
            f"Scratch database {name}: {ROWS:,} rows, on the standby after"
            f" {(time.monotonic() - started) * 1000:.0f} ms"
        )
        yield name
    finally:
        with psycopg.connect(PRIMARY.format("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- 1. throughput ----------------------------------------------------------------------


Reader = Callable[[int], object]


def tenantdb_reader(session: Any, served: list[int]) -> Reader:
    """A point read through ``session``; ``served[1]`` counts replica reads, ``[0]`` others."""

    def call(i: int) -> object:
        result = session.execute(POINT, (i,))
        served[result.targets[0].role == "replica"] += 1
        return result.fetchall()

    return call


class RawReader:
    """A point read on one psycopg connection (autocommit, one cursor), connected on first
    use and again after a failure (another process may restart the standby)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.connection: psycopg.Connection[Any] | None = None
        self.cursor: psycopg.Cursor[Any] | None = None

    def __call__(self, i: int) -> object:
        cursor = self.cursor
        if cursor is None or cursor.closed or cursor.connection.closed:
            self.close()
            self.connection = psycopg.connect(self.url, autocommit=True, connect_timeout=3)
            cursor = self.cursor = self.connection.cursor()
        cursor.execute(POINT, (i,))
        return cursor.fetchall()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
        self.connection = self.cursor = None


def reads_per_second(readers: Sequence[Reader], duration_s: float) -> float | str:
    """Run every reader in its own thread for ``duration_s``: total reads per second, or
    the first error a reader met (the round is then not counted)."""
    counts = [0] * len(readers)
    finished = [0.0] * len(readers)
    errors: list[str] = []
    barrier = threading.Barrier(len(readers) + 1)
    deadline = [0.0]

    def work(k: int) -> None:
        call = readers[k]
        clock = time.perf_counter
        barrier.wait()
        end = deadline[0]
        i = k * 1237
        done = 0
        try:
            while clock() < end:
                call(i % ROWS)
                i += 7
                done += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
        counts[k] = done
        finished[k] = clock()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(readers))]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    deadline[0] = start + duration_s
    barrier.wait()
    for thread in threads:
        thread.join()
    if errors:
        return errors[0]
    return sum(counts) / (max(finished) - start)


def bench_throughput(database: str) -> None:
    most = max(THREADS)
    config = cluster_config(database, {"ds0": 1}, REPLICA)
    # Sessions hold their connections: 8 primary=True sessions, and 8 replica sessions
    # that may fall back to the primary if the standby goes away, need 16 at most.
    config["datasources"]["ds0"]["pool"]["max_size"] = 2 * most + 2
    cluster = tenantdb.connect(config)
    sessions = [cluster.session() for _ in range(most)]
    forced = [cluster.session(primary=True) for _ in range(most)]
    raw_primary = [RawReader(PRIMARY.format(database)) for _ in range(most)]
    raw_replica = [RawReader(REPLICA.format(database)) for _ in range(most)]
    served: dict[tuple[str, int], list[list[int]]] = {}
    try:
        states = wait_serving(cluster, ["ds0"])
        print(
            f"1. Read throughput: point SELECT by key, N threads x {ROUNDS} rounds of"
            f" {ROUND_S:g} s per configuration, rotating; median reads/s"
        )
        print(f"   replica states: {states}")
        print(
            "   Note: primary and standby share this machine's"
            f" {os.cpu_count()} CPUs (and the GIL of this one client process), so a replica"
            " cannot add read capacity here; the figures show what the replica path costs"
            " against the primary path, and that the replica really serves the reads."
        )
        names = ["tenantdb replica", "tenantdb primary=True", "raw replica", "raw primary"]
        print(
            f"   {'threads':>7} "
            + " ".join(f"{n:>21}" for n in names)
            + "   tdb/raw replica  tdb/raw primary  tdb replica/primary=True"
            + "   served by the replica (tdb replica / primary=True)"
        )
        disrupted: list[str] = []
        for n in THREADS:
            served[("replica", n)] = [[0, 0] for _ in range(n)]
            served[("primary", n)] = [[0, 0] for _ in range(n)]
            configs: dict[str, list[Reader]] = {
                "tenantdb replica": [
                    tenantdb_reader(s, c)
                    for s, c in zip(sessions[:n], served[("replica", n)], strict=True)
                ],
                "tenantdb primary=True": [
                    tenantdb_reader(s, c)
                    for s, c in zip(forced[:n], served[("primary", n)], strict=True)
                ],
                "raw replica": list(raw_replica[:n]),
                "raw primary": list(raw_primary[:n]),
            }
            for readers in configs.values():  # connect everything before timing
                for k, call in enumerate(readers):
                    with contextlib.suppress(Exception):
                        call(k)
            samples: dict[str, list[float]] = {name: [] for name in names}
            attempt = 0
            while min(len(v) for v in samples.values()) < ROUNDS and attempt < 2 * ROUNDS:
                shift = attempt % len(names)
                attempt += 1
                for name in names[shift:] + names[:shift]:
                    if len(samples[name]) >= ROUNDS:
                        continue
                    figure = reads_per_second(configs[name][:n], ROUND_S)
                    if isinstance(figure, str):
                        disrupted.append(f"{n} threads, {name}: {figure}")
                        time.sleep(0.5)
                    else:
                        samples[name].append(figure)
            median = {
                name: statistics.median(values) if values else math.nan
                for name, values in samples.items()
            }
            shares = []
            for role in ("replica", "primary"):
                by_replica = sum(c[1] for c in served[(role, n)])
                total = by_replica + sum(c[0] for c in served[(role, n)])
                shares.append(f"{100 * by_replica / max(1, total):.1f}%")
            print(
                f"   {n:>7} "
                + " ".join(f"{median[name]:>21,.0f}" for name in names)
                + f"   {median['tenantdb replica'] / median['raw replica']:15.2f}"
                f"  {median['tenantdb primary=True'] / median['raw primary']:15.2f}"
                f"  {median['tenantdb replica'] / median['tenantdb primary=True']:24.2f}"
                f"   {shares[0]} / {shares[1]}"
            )
        if disrupted:
            print(
                f"   {len(disrupted)} rounds not counted (a read failed: another process on"
                f" this machine may have stopped the standby), first: {disrupted[0]}"
            )
    finally:
        for session in sessions + forced:
            with contextlib.suppress(Exception):
                session.close()
        cluster.close()
        for reader in raw_primary + raw_replica:
            reader.close()


# -- 2. the choice alone ----------------------------------------------------------------


def ns_per_call(fn: Callable[..., object], *args: object, number: int = 20_000) -> float:
    """Median ns per ``fn(*args)`` over repeated timeit loops (the loop's own cost, a few
    ns, is included)."""
    names = [f"a{k}" for k in range(len(args))]
    timer = timeit.Timer(
        f"f({', '.join(names)})",
        setup="; ".join(["f = _f", *(f"{n} = _{n}" for n in names)]),
        globals={"_f": fn, **{f"_{n}": a for n, a in zip(names, args, strict=True)}},
    )
    return statistics.median(t / number * 1e9 for t in timer.repeat(repeat=9, number=number))


def bench_choice(replica_url: str, where: str) -> None:
    names = {"r1": 1, "r2": 2, "r3": 3, "plain": 0}
    cluster = tenantdb.connect(cluster_config("postgres", names, replica_url))
    try:
        states = wait_serving(cluster, ["r1", "r2", "r3"])
        sets: dict[str, Any] = {n: cluster.datasources.replicas(n) for n in ("r1", "r2", "r3")}
        replayed = [s.replayed for r in sets.values() for s in r.states if s.replayed is not None]
        position = min(replayed) if replayed else 0
        session = cluster.session()
        written = cluster.session(
            consistency_token=encode_token(dict.fromkeys(("r1", "r2", "r3"), position))
        )
        pure = {
            k: ReplicaSelector([ReplicaState(index=i, name=f"pure/replica{i}") for i in range(k)])
            for k in (1, 2, 3)
        }

        def noop(name: str, forced: bool) -> None:
            return None

        rows: list[tuple[str, list[float], str]] = []
        roles = []
        for name in ("r1", "r2", "r3"):
            picked = session._replica_for(name, False)[1]
            roles.append(f"{name}: {'replica' if picked is not None else 'PRIMARY'}")
        baseline = ns_per_call(session._replica_for, "plain", False)
        loop = ns_per_call(noop, "plain", False)
        rows.append(
            (
                "Session._replica_for, no read-your-writes",
                [ns_per_call(session._replica_for, n, False) for n in sets],
                "choose(None)",
            )
        )
        rows.append(
            (
                "Session._replica_for, after a write (token)",
                [ns_per_call(written._replica_for, n, False) for n in sets],
                f"choose({position})",
            )
        )
        rows.append(
            ("ReplicaSet.choose(None)", [ns_per_call(r.choose, None) for r in sets.values()], "")
        )
        rows.append(
            (
                "ReplicaSet.choose(min_position)",
                [ns_per_call(r.choose, position) for r in sets.values()],
                "",
            )
        )
        rows.append(
            (
                "ReplicaSelector.choose(None), pure",
                [ns_per_call(s.choose, None) for s in pure.values()],
                "fresh states",
            )
        )
        session.close()
        written.close()
        after = states_text(list(sets.values()))
    finally:
        cluster.close()
    print(
        "2. The replica choice per statement, no I/O: median ns per call"
        f" (timeit, 9 x 20,000 calls), replicas = {where}"
    )
    print(f"   replica states before: {states}")
    print(f"   replica states after:  {after}")
    print(f"   picked by _replica_for: {', '.join(roles)}")
    print(f"   {'':<46} {'1 replica':>10} {'2 replicas':>11} {'3 replicas':>11}")
    print(f"   {'baseline: _replica_for on a datasource w/o replicas':<46} {baseline:10.0f} ns")
    print(f"   {'reference: a no-op Python function, same args':<46} {loop:10.0f} ns")
    for label, figures, note in rows:
        print(
            f"   {label:<46} {figures[0]:10.0f} {figures[1]:11.0f} {figures[2]:11.0f}"
            + (f"   ({note})" if note else "")
        )
    worst = max(max(rows[0][1]), max(rows[1][1]))
    added = [f - baseline for f in rows[0][1]]
    print(
        "   added by the lag-aware choice (vs baseline), 1/2/3 replicas: "
        + " / ".join(f"+{a:.0f} ns" for a in added)
    )
    print(
        f"   target ≤ 2 µs per statement: {'met' if worst <= CHOICE_TARGET_NS else 'missed'}"
        f" (slowest _replica_for {worst / 1000:.3f} µs)"
    )


# -- 3. latency -------------------------------------------------------------------------


def bench_latency(database: str) -> None:
    cluster = tenantdb.connect(cluster_config(database, {"ds0": 1}, REPLICA))
    session = cluster.session()
    forced = cluster.session(primary=True)
    raw_replica = RawReader(REPLICA.format(database))
    raw_primary = RawReader(PRIMARY.format(database))
    served = [0, 0]
    calls = 3000
    disrupted: list[str] = []
    try:
        wait_serving(cluster, ["ds0"])
        configs: dict[str, Reader] = {
            "tenantdb replica": tenantdb_reader(session, served),
            "tenantdb primary=True": tenantdb_reader(forced, [0, 0]),
            "raw replica": raw_replica,
            "raw primary": raw_primary,
        }
        names = list(configs)
        samples: dict[str, list[int]] = {name: [] for name in names}
        clock = time.perf_counter_ns
        for call in configs.values():
            with contextlib.suppress(Exception):
                for i in range(50):
                    call(i)
        # One call of each configuration per step (in rotating order), so that all four
        # see the same moment's load, and the samples pair up step by step.
        step = 0
        while len(samples[names[0]]) < calls and step < 2 * calls:
            key = step * 7 % ROWS
            shift = step % len(names)
            step += 1
            taken: dict[str, int] = {}
            try:
                for name in names[shift:] + names[:shift]:
                    start = clock()
                    configs[name](key)
                    taken[name] = clock() - start
            except Exception as exc:
                disrupted.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
                time.sleep(0.5)
                continue
            for name, elapsed in taken.items():
                samples[name].append(elapsed)
    finally:
        for closing in (session.close, forced.close, cluster.close):
            with contextlib.suppress(Exception):
                closing()
        raw_replica.close()
        raw_primary.close()
    print(
        f"3. Latency of one point read, single thread, {len(samples[names[0]]):,} steps of one"
        f" call per configuration, interleaved ({served[1]:,} of {sum(served):,} tenantdb"
        " replica-path reads served by the replica)"
    )
    print(
        "   Note: when other processes keep both CPUs busy, many round trips wait for the"
        " scheduler and the per-call times turn bimodal; the paired differences (same step)"
        " are the steadier figure."
    )
    if not samples[names[0]]:
        print("   no step completed")
    else:
        for name, values in samples.items():
            ordered = sorted(values)
            print(
                f"   {name:<24} median {percentile(ordered, 0.5) / 1000:7.1f} µs"
                f"   p99 {percentile(ordered, 0.99) / 1000:7.1f} µs"
                f"   mean {statistics.fmean(values) / 1000:7.1f} µs"
            )
        for ours, theirs in (
            ("tenantdb replica", "raw replica"),
            ("tenantdb primary=True", "raw primary"),
            ("tenantdb replica", "tenantdb primary=True"),
        ):
            o, t = sorted(samples[ours]), sorted(samples[theirs])
            paired = sorted(a - b for a, b in zip(samples[ours], samples[theirs], strict=True))
            print(
                f"   {ours + ' vs ' + theirs:<46}"
                f" median {percentile(o, 0.5) / percentile(t, 0.5):5.2f}x"
                f"   p99 {percentile(o, 0.99) / percentile(t, 0.99):5.2f}x"
                f"   paired difference median {percentile(paired, 0.5) / 1000:+6.1f} µs"
            )
    if disrupted:
        print(
            f"   {len(disrupted)} steps not counted (a read failed: another process on this"
            f" machine may have stopped the standby), first: {disrupted[0]}"
        )


# -- main -------------------------------------------------------------------------------


def machine() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" psycopg {psycopg.__version__}, {platform.platform()}; load average {load}"
    )
    print(
        "Note: primary (5432) and standby (5433) run on this same machine; compare figures"
        " within this run only."
    )


def main() -> None:
    # SIGTERM unwinds like Ctrl-C, so the finally blocks drop the scratch database.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    machine()
    collected = Collected()
    collected.install()
    try:
        run()
    finally:
        collected.summary()


def run() -> None:
    primary_down = answers(PRIMARY.format("postgres"))
    replica_down = answers(REPLICA.format("postgres"))
    if primary_down or replica_down:
        if primary_down:
            print(f"PostgreSQL primary on 127.0.0.1:5432 does not answer ({primary_down}).")
        if replica_down:
            print(f"PostgreSQL standby on 127.0.0.1:5433 does not answer ({replica_down}).")
        print("Skipping 1 (throughput) and 3 (latency): they need both servers.")
        if not primary_down:
            bench_choice(PRIMARY, "the primary 5432 under replica names (standby down)")
        else:
            print("2. runs with replicas that do not answer: the monitor marks them down.")
            bench_choice(REPLICA, "127.0.0.1:5433, not answering")
        return
    scratch = scratch_database()
    try:
        database = scratch.__enter__()
    except Exception as exc:
        print(f"No scratch database ({type(exc).__name__}: {exc}); skipping 1 and 3.")
        bench_choice(REPLICA, "the standby 5433 under 1-3 names")
        return
    try:
        sections: list[tuple[int, Callable[[], None]]] = [
            (1, lambda: bench_throughput(database)),
            (2, lambda: bench_choice(REPLICA, "the standby 5433 under 1-3 names")),
            (3, lambda: bench_latency(database)),
        ]
        for number, section in sections:
            try:
                section()
            except Exception as exc:
                print(f"{number}. failed ({type(exc).__name__}: {exc})")
    finally:
        scratch.__exit__(None, None, None)


if __name__ == "__main__":
    started = time.monotonic()
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; the scratch database has been dropped", file=sys.stderr)
        sys.exit(130)
    print(f"Total {time.monotonic() - started:.0f} s")
