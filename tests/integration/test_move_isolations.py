"""Online moves of tenants with a schema (PostgreSQL, MariaDB) or a database (all three
backends) of their own, on real servers, while the moving tenant and another one write:
at the cut-over the target holds exactly the source's rows, every acknowledged write is
there once (none lost, doubled or stale), nothing lands on the source after it, the other
tenant's writes never fail, and nothing of the move is left after its cleanup. A mover
killed with SIGKILL at several points is resumed to the same end; one killed before the
cut-over is aborted to the source as written, and the schema and tables the move made
on the target are gone with everything else it made.

On MariaDB a schema is a database of the server, so two datasources of one server see
the same schemas: the schema tenant moves to a schema of another name there (the tests
have one MariaDB server), and a move to the same name is refused.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from tenantdb.admin import (
    abort_move,
    apply_schema,
    cleanup_move,
    move_status,
    resume_move,
    start_move,
)
from tenantdb.core.moves import PREFIX, MoveState

from .conftest import Backend

HERE = Path(__file__).parent
HANG_GUARD_S = 120.0
PAUSE_S = 0.002
SEEDED = 2_500
OTHERS_SEEDED = 300

SCRIPT = (
    "CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, tenant_id VARCHAR(40),"
    " amount INTEGER, note VARCHAR(40));\n"
    "CREATE INDEX orders_amount ON orders (amount);\n"
)

CASES = [
    pytest.param("postgres", "schema", id="postgres-schema", marks=pytest.mark.postgres),
    pytest.param("mysql", "schema", id="mysql-schema", marks=pytest.mark.mysql),
    pytest.param("sqlite", "database", id="sqlite-database"),
    pytest.param("postgres", "database", id="postgres-database", marks=pytest.mark.postgres),
    pytest.param("mysql", "database", id="mysql-database", marks=pytest.mark.mysql),
]


@dataclass
class World:
    """Datasources ``ds0`` (acme's, and for a schema tenant also the shared tenant beta's),
    ``ds1`` (the target: no table of acme's there) and, for a database tenant, ``ds2``
    (beta's); acme with ``SEEDED`` rows, beta with ``OTHERS_SEEDED``; the configuration
    file (a registry the processes share)."""

    backend: Backend
    isolation: str
    urls: list[str]
    path: Path
    schema: str | None = None
    """acme's schema on ds0 (schema isolation)."""
    target_schema: str | None = None
    """Its schema on ds1 after the move (another name on MariaDB: see the docstring)."""

    @property
    def beta_url(self) -> str:
        return self.urls[0] if self.isolation == "schema" else self.urls[2]

    def table(self, side: str) -> str:
        schema = self.schema if side == "source" else self.target_schema
        if schema is None:
            return "orders"
        quote = "`" if self.backend.name == "mysql" else '"'
        return f"{quote}{schema}{quote}.orders"

    def url(self, side: str) -> str:
        return self.urls[0] if side == "source" else self.urls[1]

    def rows(self, side: str) -> list[tuple[Any, ...]]:
        """acme's rows where ``side`` keeps them."""
        return self.backend.query(
            self.url(side), f"SELECT id, amount, note FROM {self.table(side)} ORDER BY id"
        )

    def beta_rows(self) -> dict[int, int]:
        found = self.backend.query(
            self.beta_url, "SELECT id, amount FROM orders WHERE tenant_id = 'beta' ORDER BY id"
        )
        return {int(i): int(a) for i, a in found}

    def has_table(self, side: str) -> bool:
        schema = self.schema if side == "source" else self.target_schema
        url, p = self.url(side), self.backend.placeholder
        if self.backend.name == "sqlite":
            sql, params = f"SELECT 1 FROM sqlite_master WHERE name = {p}", ("orders",)
        elif self.backend.name == "postgres":
            sql, params = "SELECT to_regclass(%s) IS NOT NULL", (self.table(side),)
            return bool(self.backend.query(url, sql, params)[0][0])
        else:
            sql = (
                "SELECT 1 FROM information_schema.tables WHERE table_name = 'orders'"
                " AND table_schema = COALESCE(%s, DATABASE())"
            )
            params = (schema,)
        return bool(self.backend.query(url, sql, params))

    def has_schema(self, side: str) -> bool:
        schema = self.schema if side == "source" else self.target_schema
        if self.backend.name == "postgres":
            sql = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
        else:
            sql = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s"
        return bool(self.backend.query(self.url(side), sql, (schema,)))

    def has_index(self, side: str) -> bool:
        """The index the application's script made on the source (copied to the target
        by a move that made the table)."""
        url = self.url(side)
        if self.backend.name == "sqlite":
            found = self.backend.query(
                url, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders'"
            )
        elif self.backend.name == "postgres":
            found = self.backend.query(
                url,
                "SELECT indexname FROM pg_indexes WHERE tablename = 'orders'"
                " AND schemaname = COALESCE(%s, current_schema())",
                (self.schema if side == "source" else self.target_schema,),
            )
        else:
            found = self.backend.query(
                url,
                "SELECT index_name FROM information_schema.statistics WHERE table_name = 'orders'"
                " AND table_schema = COALESCE(%s, DATABASE())",
                (self.schema if side == "source" else self.target_schema,),
            )
        return any("amount" in str(name) for (name,) in found)

    def leftovers(self) -> list[Any]:
        """Every object named like a move's capture, on every datasource (all schemas)."""
        like = PREFIX + "%"
        found: list[Any] = []
        for url in self.urls:
            if self.backend.name == "sqlite":
                found += self.backend.query(
                    url, "SELECT name FROM sqlite_master WHERE name LIKE ?", (like,)
                )
            elif self.backend.name == "postgres":
                found += self.backend.query(
                    url,
                    "SELECT relname FROM pg_class WHERE relname LIKE %s UNION ALL"
                    " SELECT proname FROM pg_proc WHERE proname LIKE %s UNION ALL"
                    " SELECT tgname FROM pg_trigger WHERE tgname LIKE %s",
                    (like, like, like),
                )
            else:
                escaped = like.replace("_", "\\_")
                schemas = (self.schema or "", self.target_schema or "")
                found += self.backend.query(
                    url,
                    "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s"
                    " AND (table_schema = DATABASE() OR table_schema IN (%s, %s)) UNION ALL"
                    " SELECT trigger_name FROM information_schema.triggers WHERE trigger_name"
                    " LIKE %s AND (trigger_schema = DATABASE() OR trigger_schema IN (%s, %s))",
                    (escaped, *schemas, escaped, *schemas),
                )
        return found


@pytest.fixture
def world(
    request: pytest.FixtureRequest, backend: Backend, run_id: str, tmp_path: Path
) -> Iterator[World]:
    isolation: str = request.param
    renamed = isolation == "schema renamed"  # to a schema of another name on the target
    isolation = isolation.split()[0]
    urls = backend.new_databases(2 if isolation == "schema" else 3)
    document: dict[str, Any] = {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "registry": {"url": f"sqlite:///{tmp_path}/registry.db?poll_interval=0.02"},
        "moves": {"write_hold": "60s", "cleanup_wait": "0s"},
    }
    schema = target_schema = None
    if isolation == "schema":
        schema = f"{run_id}_acme"
        target_schema = f"{schema}_to" if backend.name == "mysql" or renamed else schema
        document["tenants"] = {
            "acme": {"datasource": "ds0", "isolation": "schema", "schema": schema},
            "beta": {"datasource": "ds0"},
        }
    else:
        document["default_datasource"] = "ds2"  # not a database tenant's
        document["tenants"] = {
            "acme": {"datasource": "ds0", "isolation": "database"},
            "beta": {"datasource": "ds2"},
        }
    path = tmp_path / "tenantdb.json"
    path.write_text(json.dumps(document))
    made = World(backend, isolation, urls, path, schema, target_schema)
    try:
        with tenantdb.connect(path) as cluster:
            if isolation == "schema":
                assert apply_schema(cluster, SCRIPT).ok  # acme's schema and tables, beta's
            else:
                for url in (urls[0], urls[2]):  # nothing on the target
                    for statement in filter(None, (s.strip() for s in SCRIPT.split(";"))):
                        backend.query(url, statement)
            for tenant, count in (("acme", SEEDED), ("beta", OTHERS_SEEDED)):
                with cluster.session(tenant=tenant) as session:
                    session.executemany(
                        "INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)",
                        [(i, i, f"{tenant}-{i}") for i in range(1, count + 1)],
                    )
        yield made
    finally:
        if backend.name == "mysql" and schema is not None:
            for name in {schema, target_schema}:
                backend.query(urls[0], f"DROP DATABASE IF EXISTS `{name}`")


class Writer:
    """Inserts and updates one tenant's rows on a thread, keeping the rows its acknowledged
    writes must have made; a retryable refusal (the move's freeze or fence) is counted and
    retried, anything else is kept as a failure."""

    def __init__(self, cluster: tenantdb.Cluster, tenant: str, seeded: int) -> None:
        self.expected = {i: i for i in range(1, seeded + 1)}
        self.failures: list[BaseException] = []
        self.refusals = 0
        self._cluster, self._tenant, self._seeded = cluster, tenant, seeded
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
        with self._cluster.session(tenant=self._tenant) as session:
            while not self._stop.wait(PAUSE_S):  # steady writes, not a busy loop
                n += 1
                try:
                    session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (n, 0))
                    self.expected[n] = 0
                    target = n - 7 if n - 7 > 100_000 else n % self._seeded + 1
                    session.execute(
                        "UPDATE orders SET amount = amount + 1 WHERE id = %s", (target,)
                    )
                    if target in self.expected:
                        self.expected[target] += 1
                except (tenantdb.TenantMovedError, tenantdb.TenantStatusError):
                    self.refusals += 1
                except BaseException as exc:  # reported by the test
                    self.failures.append(exc)
                    return


@contextlib.contextmanager
def writers(world: World, cluster: tenantdb.Cluster) -> Iterator[tuple[Writer, Writer]]:
    with Writer(cluster, "acme", SEEDED) as acme, Writer(cluster, "beta", OTHERS_SEEDED) as beta:
        yield acme, beta


def amounts(rows: list[tuple[Any, ...]]) -> dict[int, int]:
    return {int(row[0]): int(row[1]) for row in rows}


def assert_placed_on_target(world: World, cluster: tenantdb.Cluster) -> None:
    tenant = cluster.tenants.get("acme")
    assert (tenant.datasource, tenant.status) == ("ds1", "active")
    if world.isolation == "schema":
        assert tenant.schema == world.target_schema


def assert_cleaned_up(world: World) -> None:
    if world.isolation == "schema":
        assert not world.has_table("source")
        assert not world.has_schema("source")  # nothing else was in it
    else:
        assert world.rows("source") == []  # emptied, kept for whoever is placed there
        assert world.has_table("source")
    assert world.leftovers() == []


RENAMED = pytest.param(
    "postgres", "schema renamed", id="postgres-schema-renamed", marks=pytest.mark.postgres
)


@pytest.mark.parametrize(("backend", "world"), [*CASES, RENAMED], indirect=True)
def test_a_tenant_with_a_place_of_its_own_moves_while_it_and_another_write(
    world: World,
) -> None:
    at_cut_over: dict[str, list[tuple[Any, ...]]] = {}

    def look(step: str, state: MoveState) -> None:
        # Frozen, fenced and verified: nobody can write the tenant's rows anywhere.
        if step == "phase cut_over":
            at_cut_over["source"] = world.rows("source")
            at_cut_over["target"] = world.rows("target")

    assert not world.has_table("target")
    with tenantdb.connect(world.path) as cluster:
        with writers(world, cluster) as (acme, beta):
            state = start_move(cluster, "acme", "ds1", schema=world.target_schema, on_step=look)
        assert acme.failures == []
        assert beta.failures == []
        assert beta.refusals == 0  # the other tenant was never held
        assert len(acme.expected) > SEEDED, "the moving tenant never wrote"
        assert len(beta.expected) > OTHERS_SEEDED, "the other tenant never wrote"
        assert state.phase == "cleaning"
        assert state.isolation == world.isolation
        assert all(table.created_by_move for table in state.tables)
        assert_placed_on_target(world, cluster)
        assert at_cut_over["target"] == at_cut_over["source"]
        assert world.rows("source") == at_cut_over["source"]  # nothing landed there since
        assert amounts(world.rows("target")) == acme.expected  # none lost, doubled, stale
        assert world.beta_rows() == beta.expected
        assert world.has_index("target")  # the table was made like the source's
        with cluster.session(tenant="acme") as session:
            count = session.execute("SELECT COUNT(*) FROM orders").fetchall()[0][0]
            assert count == len(acme.expected)
            session.execute("INSERT INTO orders (id, amount) VALUES (%s, %s)", (999_999, 1))
        assert world.rows("source") == at_cut_over["source"]  # the new write went to ds1
        assert cleanup_move(cluster, "acme").phase == "done"
    assert_cleaned_up(world)
    assert world.has_table("target")
    assert world.beta_rows() == beta.expected


def kill_mover(world: World, step: str, n: int) -> None:
    """Run a mover of acme to ds1 in another process that SIGKILLs itself at ``step``."""
    extra = [world.target_schema] if world.target_schema else []
    command = [sys.executable, str(HERE / "move_worker.py"), str(world.path), "acme", "ds1"]
    worker = subprocess.run(
        [*command, step, str(n), *extra],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr


# (step, which time): where an isolation's move differs from a shared one's: after the
# target's schema and tables are made, in the freeze with the fence up, right after the
# registry write (the new placement, its schema). Mid-chunk and mid catch-up run the same
# code for every isolation: test_move_resume.py kills the shared move there.
POINTS = [("target prepared", 1), ("fenced", 1), ("placed", 1)]
RESUME_CASES = [
    pytest.param(*case.values, step, n, id=f"{case.id}-{step.replace(' ', '_')}", marks=case.marks)
    for case in CASES
    for step, n in POINTS
]


@pytest.mark.parametrize(
    ("backend", "world", "step", "n"), RESUME_CASES, indirect=["backend", "world"]
)
def test_a_mover_killed_anywhere_is_resumed_to_the_same_end(
    world: World, step: str, n: int
) -> None:
    with tenantdb.connect(world.path) as cluster:
        with writers(world, cluster) as (acme, beta):
            kill_mover(world, step, n)
            (killed,) = move_status(cluster, "acme")
            state = resume_move(cluster, "acme")
        assert acme.failures == []
        assert beta.failures == []
        assert beta.refusals == 0
        assert len(acme.expected) > SEEDED, "the moving tenant never wrote"
        assert state.phase == "cleaning", killed
        assert_placed_on_target(world, cluster)
        assert amounts(world.rows("target")) == acme.expected
        assert world.beta_rows() == beta.expected
        cleanup_move(cluster, "acme")
    assert_cleaned_up(world)


ABORT_POINTS = [("target prepared", 1), ("fenced", 1)]
ABORT_CASES = [
    pytest.param(*case.values, step, n, id=f"{case.id}-{step.replace(' ', '_')}", marks=case.marks)
    for case in CASES
    for step, n in ABORT_POINTS
]


@pytest.mark.parametrize(
    ("backend", "world", "step", "n"), ABORT_CASES, indirect=["backend", "world"]
)
def test_a_mover_killed_before_the_cut_over_is_aborted_to_the_source_as_written(
    world: World, step: str, n: int
) -> None:
    with tenantdb.connect(world.path) as cluster:
        with writers(world, cluster) as (acme, beta):
            kill_mover(world, step, n)
            state = abort_move(cluster, "acme")
        assert acme.failures == []
        assert beta.failures == []
        assert beta.refusals == 0
        assert len(acme.expected) > SEEDED, "the moving tenant never wrote"
        assert state.phase == "aborted"
        tenant = cluster.tenants.get("acme")
        assert (tenant.datasource, tenant.status) == ("ds0", "active")
        if world.isolation == "schema":
            assert tenant.schema == world.schema
        assert amounts(world.rows("source")) == acme.expected  # the source kept every write
        assert world.beta_rows() == beta.expected
    # Everything the move made is gone: its rows with the table (and schema) it made.
    assert not world.has_table("target")
    if world.isolation == "schema" and world.target_schema != world.schema:
        assert not world.has_schema("target")
    if world.isolation == "schema" and world.backend.name == "postgres":
        assert not world.has_schema("target")
    assert world.leftovers() == []


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "world"), [pytest.param("sqlite", "database", id="sqlite-database")], indirect=True
)
def test_a_database_tenant_moves_only_to_a_datasource_of_its_own(world: World) -> None:
    with tenantdb.connect(world.path) as cluster:
        with pytest.raises(tenantdb.ProgrammingError, match="holds rows no single tenant owns"):
            start_move(cluster, "acme", "ds2")  # the default datasource (and beta's)
        cluster.tenants.put({"id": "beta", "datasource": "ds1"}, force=True)
        with pytest.raises(tenantdb.ProgrammingError, match=r"holds tenant\(s\) 'beta'"):
            start_move(cluster, "acme", "ds1")
        with pytest.raises(tenantdb.ProgrammingError, match="only a schema-isolated"):
            start_move(cluster, "acme", "ds1", schema="elsewhere")
        assert move_status(cluster, "acme") == []
    assert not world.has_table("target")


@pytest.mark.parametrize(
    ("backend", "world"),
    [pytest.param("mysql", "schema", id="mysql-schema", marks=pytest.mark.mysql)],
    indirect=True,
)
def test_a_schema_tenant_is_not_moved_onto_its_own_schema_on_one_mariadb_server(
    world: World,
) -> None:
    with tenantdb.connect(world.path) as cluster:
        with pytest.raises(tenantdb.NotSupportedError, match="same MariaDB/MySQL server"):
            start_move(cluster, "acme", "ds1")
        assert move_status(cluster, "acme") == []
    assert len(world.rows("source")) == SEEDED


@pytest.mark.parametrize(
    ("backend", "world"), [pytest.param("sqlite", "database", id="sqlite-database")], indirect=True
)
def test_a_table_found_on_the_target_is_used_emptied_on_abort_and_kept(world: World) -> None:
    """The target had the table already (made by the operator): the move writes into it,
    an abort deletes its rows and leaves the table; one holding rows is refused."""
    for statement in filter(None, (s.strip() for s in SCRIPT.split(";"))):
        world.backend.query(world.urls[1], statement)

    class Stop(Exception):
        pass

    def stop_at_verify(step: str, state: MoveState) -> None:
        if step == "phase verifying":
            raise Stop

    before = world.rows("source")
    with tenantdb.connect(world.path) as cluster:
        with pytest.raises(Stop):
            start_move(cluster, "acme", "ds1", on_step=stop_at_verify)
        (state,) = move_status(cluster, "acme")
        assert not any(table.created_by_move for table in state.tables)
        assert world.rows("target") == before  # copied into the table it found
        assert abort_move(cluster, "acme").phase == "aborted"
        assert world.has_table("target")
        assert world.rows("target") == []
        world.backend.query(world.urls[1], "INSERT INTO orders (id) VALUES (1)")
        with pytest.raises(tenantdb.ProgrammingError, match="holds rows already"):
            start_move(cluster, "acme", "ds1")
    assert world.rows("source") == before
    assert world.leftovers() == []


SCHEMA_CASES = [case for case in CASES if case.values[1] == "schema"]


@pytest.mark.parametrize(("backend", "world"), SCHEMA_CASES, indirect=True)
def test_a_cleanup_cut_short_is_run_again_to_its_end(world: World) -> None:
    """A cleanup killed after it deleted the rows and dropped some of the source's tables
    is run again: what is gone already is skipped, the schema goes last."""

    class Killed(Exception):
        pass

    def killed_at_unfencing(step: str, state: MoveState) -> None:
        if step == "phase unfencing":
            raise Killed(step)

    with tenantdb.connect(world.path) as cluster:
        start_move(cluster, "acme", "ds1", schema=world.target_schema)
        with pytest.raises(Killed):
            cleanup_move(cluster, "acme", on_step=killed_at_unfencing)
        # As a cleanup killed in the middle of its drops leaves it.
        world.backend.query(world.urls[0], f"DROP TABLE {world.table('source')}")
        assert cleanup_move(cluster, "acme").phase == "done"
    assert not world.has_schema("source")
    assert len(world.rows("target")) == SEEDED
    assert world.leftovers() == []
