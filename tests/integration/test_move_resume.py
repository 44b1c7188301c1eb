"""A mover killed with SIGKILL at every kind of point, then resumed: the tenant ends on the
target with exactly the rows its acknowledged writes made (none lost, none doubled, none
stale), its writes never failed but for retryable refusals, the other tenant is untouched,
and nothing of the move is left after the cleanup."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tenantdb
from tenantdb.admin import abort_move, cleanup_move, move_status, resume_move

from .conftest import Backend
from .test_move_tenant import ORDERS, leftovers, rows

HERE = Path(__file__).parent
HANG_GUARD_S = 120.0
SEEDED = 2_500
SEEDED_ROWS = {i: i for i in range(1, SEEDED + 1)}
PAUSE_S = 0.002

# (step the move reports, which time): before the capture, mid-chunk (inside the chunk's
# transaction), between chunks, at the catch-up, mid catch-up, at the verify, in the
# freeze (status set; fence up), at the cut-over (logged, before the registry write; right
# after it), and after it.
POINTS = [
    ("phase capturing", 1),
    ("chunk written", 2),
    ("chunk copied", 2),
    ("phase catching_up", 1),
    ("changes written", 1),
    ("phase verifying", 1),
    ("verified", 1),
    ("writes held", 1),
    ("fenced", 1),
    ("phase cut_over", 1),
    ("placed", 1),
    ("phase cleaning", 1),
]
# Every point on SQLite and PostgreSQL; on MariaDB the ones that differ by backend
# (transactions around DDL, the fence's lock wait).
CASES = [
    pytest.param(name, step, n, id=f"{name}-{step.replace(' ', '_')}-{n}")
    for name in ("sqlite", "postgres", "mysql")
    for step, n in POINTS
    if name != "mysql" or step in ("chunk written", "changes written", "fenced", "placed")
]


class Writer:
    """Inserts and updates the tenant's rows on a thread, keeping the rows its
    acknowledged writes must have made; a retryable refusal (the move's freeze or fence)
    is retried, anything else is kept as a failure."""

    def __init__(self, cluster: tenantdb.Cluster, seeded: dict[int, int]) -> None:
        self.expected = dict(seeded)
        self.failures: list[BaseException] = []
        self.refusals = 0
        self._cluster = cluster
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(HANG_GUARD_S)
        assert not self._thread.is_alive()

    def _run(self) -> None:
        n = 100_000
        with self._cluster.session(tenant="acme") as session:
            # A short pause between writes: a steady workload, not a busy loop that starves
            # the other tests' processes on a small machine.
            while not self._stop.wait(PAUSE_S):
                n += 1
                try:
                    session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (n, 0))
                    self.expected[n] = 0
                    target = n - 7 if n - 7 > 100_000 else n % SEEDED + 1
                    session.execute(
                        "UPDATE orders SET amount = amount + 1 WHERE id = %s", (target,)
                    )
                    if target in self.expected:  # else no row had that id: nothing updated
                        self.expected[target] += 1
                except (tenantdb.TenantMovedError, tenantdb.TenantStatusError):
                    self.refusals += 1
                except BaseException as exc:  # reported by the test
                    self.failures.append(exc)
                    return


def seeded_world(
    backend: Backend, tmp_path: Path, tenants: tuple[str, ...]
) -> tuple[list[str], Path]:
    """Two databases with ``orders``, ``tenants`` on the first with ``SEEDED`` rows each,
    and the configuration file (a registry the processes share)."""
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, ORDERS)
    document = {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {tenant: {"datasource": "ds0"} for tenant in tenants},
        "registry": {"url": f"sqlite:///{tmp_path}/registry.db?poll_interval=0.02"},
        "moves": {"write_hold": "60s", "cleanup_wait": "0s"},
    }
    path = tmp_path / "tenantdb.json"
    path.write_text(json.dumps(document))
    with tenantdb.connect(path) as cluster:
        for tenant in tenants:
            with cluster.session(tenant=tenant) as session:
                session.executemany(
                    "INSERT INTO orders (id, amount) VALUES (%s, %s)", list(SEEDED_ROWS.items())
                )
    return urls, path


def kill_mover(
    path: Path,
    step: str,
    n: int,
    *,
    before_cleanup: Callable[[], None] | None = None,
    resume: bool = False,
    chunk_rows: int | None = None,
    may_finish: bool = False,
    kill_by: str | None = None,
) -> bool:
    """Run a mover of acme to ds1 (``resume``: acme's unfinished move) in another process
    that SIGKILLs itself at the ``n``-th ``step``; at a step of the cleanup, the mover waits
    until ``before_cleanup`` has returned. Whether it was killed: with ``may_finish``, a
    mover that ran to its end without reaching the step is fine too. ``kill_by``: a step at
    which it dies anyway if it has not reached its point by then."""
    gate = path.parent / "cleanup.gate"
    env = {**os.environ, "TENANTDB_CLEANUP_GATE": str(gate)}
    if resume:
        env["TENANTDB_TEST_RESUME"] = "1"
    if chunk_rows is not None:
        env["TENANTDB_TEST_CHUNK_ROWS"] = str(chunk_rows)
    if kill_by is not None:
        env["TENANTDB_TEST_KILL_BY"] = kill_by
    worker = subprocess.Popen(
        [sys.executable, str(HERE / "move_worker.py"), str(path), "acme", "ds1", step, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        if before_cleanup is not None:
            before_cleanup()
            gate.touch()
        _, errors = worker.communicate(timeout=HANG_GUARD_S)
    finally:
        worker.kill()
        worker.wait()
    if may_finish and worker.returncode == 0:
        return False
    assert worker.returncode == -signal.SIGKILL, errors
    return True


@pytest.mark.parametrize(("backend", "step", "n"), CASES, indirect=["backend"])
def test_a_mover_killed_anywhere_is_resumed_to_the_same_end(
    backend: Backend, step: str, n: int, tmp_path: Path
) -> None:
    urls, path = seeded_world(backend, tmp_path, ("acme", "beta"))
    with tenantdb.connect(path) as cluster:
        beta = rows(backend, urls[0], "beta")
        with Writer(cluster, SEEDED_ROWS) as writer:
            kill_mover(path, step, n)
            (killed,) = move_status(cluster, "acme")
            state = resume_move(cluster, "acme")
        assert writer.failures == []
        assert state.phase == "cleaning", killed
        tenant = cluster.tenants.get("acme")
        assert (tenant.datasource, tenant.status) == ("ds1", "active")
        got = {row[0]: row[1] for row in rows(backend, urls[1], "acme")}
        assert got == writer.expected  # nothing lost, doubled or stale
        cleanup_move(cluster, "acme", force=True)
    assert rows(backend, urls[0], "acme") == []
    assert rows(backend, urls[0], "beta") == beta
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


# The kinds of point a random kill picks from, in the order a move reaches them. A chunk or
# change step comes again in the next run (its n: which one of that run's); any other is
# met once per move, so it is drawn at most once. (Before the capture and at the cut-over
# are met once only, by the first run to get there: the fixed points above cover them.)
RANDOM_STEPS = [
    "chunk written",
    "chunk copied",
    "phase catching_up",
    "changes written",
    "phase verifying",
    "verified",
    "writes held",
    "fenced",
    "placed",
]
REPEATING = ("chunk written", "chunk copied", "changes written")
RANDOM_KILLS = 20
RANDOM_ABORT_KILLS = 8  # then the abort; fewer: each kill costs a process start


def random_points(rng: random.Random, count: int, last: str) -> list[tuple[str, int]]:
    """``count`` kill points up to step ``last``, in the order a move meets them (so each
    resumed mover still has its point ahead of it)."""
    steps = RANDOM_STEPS[: RANDOM_STEPS.index(last) + 1]
    once = [s for s in steps if s not in REPEATING]
    picked_once = set(rng.sample(once, k=rng.randint(0, min(len(once), count // 4))))
    # Mostly mid-copy and mid-catch-up, where most of a move's time goes.
    repeating = rng.choices(REPEATING, weights=(3, 3, 2), k=count - len(picked_once))
    order = {step: i for i, step in enumerate(steps)}
    chosen = sorted([*picked_once, *repeating], key=order.__getitem__)
    return [(step, rng.randint(1, 2) if step in REPEATING else 1) for step in chosen]


@pytest.mark.parametrize(
    ("backend", "ending"),
    [
        ("sqlite", "resume"),
        pytest.param("postgres", "resume", marks=pytest.mark.postgres),
        ("sqlite", "abort"),
    ],
    indirect=["backend"],
)
def test_a_move_killed_at_random_points_and_resumed_each_time(
    backend: Backend, ending: str, tmp_path: Path
) -> None:
    """Issue 19: kill -9 the mover at 20 random points, resuming each time, while the
    tenant and another one write; then resume it to its end (or, after 8, abort it). The
    seed is in every failure message: ``TENANTDB_MOVE_SEED=<seed>`` replays the points."""
    seed = int(os.environ.get("TENANTDB_MOVE_SEED") or random.SystemRandom().randrange(10**9))
    rng = random.Random(seed)
    last = "placed" if ending == "resume" else "fenced"
    count = RANDOM_KILLS if ending == "resume" else RANDOM_ABORT_KILLS
    points = random_points(rng, count, last)
    urls, path = seeded_world(backend, tmp_path, ("acme", "beta"))
    killed: list[tuple[str, int]] = []
    context = f"seed {seed}, points {points}"
    with tenantdb.connect(path) as cluster:
        beta = rows(backend, urls[0], "beta")
        with Writer(cluster, SEEDED_ROWS) as writer:
            for step, n in points:
                resume = bool(move_status(cluster, "acme"))
                phase = move_status(cluster, "acme")[0].phase if resume else None
                if phase == "cleaning":
                    break  # past the cut-over: the points left come before it
                # No mover runs past its last point's phase: one whose point is behind it
                # (a chunk step once the copy is done) dies there, so every run is a kill.
                assert kill_mover(path, step, n, resume=resume, chunk_rows=50, kill_by=last), (
                    context
                )
                killed.append((step, n))
            if ending == "resume":
                state = resume_move(cluster, "acme") if move_status(cluster, "acme") else None
            else:
                state = abort_move(cluster, "acme")
        assert writer.failures == [], context
        assert state is not None, context
        if ending == "resume":
            assert state.phase == "cleaning", context
            assert cluster.tenants.get("acme").datasource == "ds1", context
            got = {row[0]: row[1] for row in rows(backend, urls[1], "acme")}
            assert got == writer.expected, context  # nothing lost, doubled or stale
            cleanup_move(cluster, "acme")
            assert rows(backend, urls[0], "acme") == [], context
        else:
            assert state.phase == "aborted", context
            assert cluster.tenants.get("acme").datasource == "ds0", context
            got = {row[0]: row[1] for row in rows(backend, urls[0], "acme")}
            assert got == writer.expected, context  # the source kept every acknowledged write
            assert rows(backend, urls[1], "acme") == [], context
    assert rows(backend, urls[0], "beta") == beta, context
    assert leftovers(backend, urls[0]) == [], context
    assert leftovers(backend, urls[1]) == [], context


CLEANUP_CASES = [
    pytest.param(name, step, id=f"{name}-{step.replace(' ', '_')}")
    for name in ("sqlite", "postgres", "mysql")
    for step in ("source rows deleted", "phase unfencing", "phase done")
    if name != "mysql" or step == "source rows deleted"
]


@pytest.mark.parametrize(("backend", "step"), CLEANUP_CASES, indirect=["backend"])
def test_a_cleanup_killed_anywhere_is_finished_by_running_it_again(
    backend: Backend, step: str, tmp_path: Path
) -> None:
    """The source's rows go while the fence is up, so however the cleanup is cut short,
    no write of the tenant lands on the source, and running it again finishes it."""
    urls, path = seeded_world(backend, tmp_path, ("acme", "beta"))
    with tenantdb.connect(path) as cluster:
        beta = rows(backend, urls[0], "beta")

        def placed_here() -> None:  # every process routes acme to ds1 before the cleanup
            deadline = time.monotonic() + HANG_GUARD_S
            while cluster.tenants.get("acme").datasource != "ds1":
                assert time.monotonic() < deadline, "the cut-over never reached this process"
                time.sleep(0.01)

        with Writer(cluster, SEEDED_ROWS) as writer:
            kill_mover(path, step, 1, before_cleanup=placed_here)
            (killed,) = move_status(cluster, "acme")
            assert killed.phase in ("cleaning", "unfencing", "done"), killed
            assert cluster.tenants.get("acme").datasource == "ds1"
            if killed.phase != "done":
                # cleanup_wait is 0 s here: no --force needed
                assert cleanup_move(cluster, "acme").phase == "done"
        assert writer.failures == []
        got = {row[0]: row[1] for row in rows(backend, urls[1], "acme")}
        assert got == writer.expected  # nothing lost, doubled or stale
    assert rows(backend, urls[0], "acme") == []
    assert rows(backend, urls[0], "beta") == beta
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


ABORTABLE_POINTS = POINTS[: POINTS.index(("phase cut_over", 1))]
ABORT_CASES = [
    pytest.param(name, step, n, id=f"{name}-{step.replace(' ', '_')}-{n}")
    for name in ("sqlite", "postgres")
    for step, n in ABORTABLE_POINTS
    if name == "sqlite" or step in ("chunk written", "changes written", "fenced")
]


@pytest.mark.parametrize(("backend", "step", "n"), ABORT_CASES, indirect=["backend"])
def test_a_mover_killed_before_the_cut_over_is_aborted_to_the_source_as_written(
    backend: Backend, step: str, n: int, tmp_path: Path
) -> None:
    urls, path = seeded_world(backend, tmp_path, ("acme",))
    with tenantdb.connect(path) as cluster:
        with Writer(cluster, SEEDED_ROWS) as writer:
            kill_mover(path, step, n)
            state = abort_move(cluster, "acme")
        assert writer.failures == []
        assert state.phase == "aborted"
        tenant = cluster.tenants.get("acme")
        assert (tenant.datasource, tenant.status) == ("ds0", "active")
        got = {row[0]: row[1] for row in rows(backend, urls[0], "acme")}
        assert got == writer.expected  # the source kept every acknowledged write
    assert rows(backend, urls[1], "acme") == []
    assert leftovers(backend, urls[0]) == []
