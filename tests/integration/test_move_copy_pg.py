"""A move's copy by ``COPY`` on PostgreSQL: the session's COPY hooks, which tables travel
by COPY (binary, text, or not at all), a chunk whose keys are on the target already, a
mover killed inside a chunk's COPY, and nothing left behind after done or abort.

A statement trigger on the target's table records ``current_query()`` of every statement
that inserts into it, so a test sees how the rows got there (a failed statement's record
rolls back with it)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

import tenantdb
from tenantdb.admin import (
    MoveSettings,
    abort_move,
    cleanup_move,
    move_status,
    resume_move,
    start_move,
)
from tenantdb.admin._move_copy import ChunkPrefetch, CopyPlanner
from tenantdb.core.moves import MovedTable, MoveState
from tenantdb.core.verify import TableShape

from .conftest import Backend
from .test_move_resume import SEEDED_ROWS, kill_mover, seeded_world
from .test_move_tenant import config, leftovers

pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)

SEEN = (
    "CREATE TABLE seen (n SERIAL PRIMARY KEY, query TEXT);"
    " CREATE FUNCTION note_query() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN INSERT INTO seen (query) VALUES (current_query()); RETURN NULL; END $$;"
    " CREATE TRIGGER note_query AFTER INSERT ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION note_query()"
)


def watch_inserts(backend: Backend, url: str, table: str) -> None:
    backend.query(url, SEEN.format(table=table))


def inserts(backend: Backend, url: str) -> list[str]:
    """How each statement that inserted into the watched table began, in order."""
    found = backend.query(url, "SELECT query FROM seen ORDER BY n")
    return [str(q).split()[0] + _format(str(q)) for (q,) in found]


def _format(query: str) -> str:
    for kind in ("binary", "text"):
        if f"FORMAT {kind}" in query:
            return f" {kind}"
    return ""


def table_world(
    backend: Backend, tmp_path: Path, source_ddl: str, target_ddl: str, rows: list[tuple[Any, ...]]
) -> tuple[list[str], dict[str, Any]]:
    """Two databases with table ``t`` (made by each DDL), ``rows`` of acme (id, value) on
    the first, inserts into the second watched."""
    urls = backend.new_databases(2)
    for url, ddl in zip(urls, (source_ddl, target_ddl), strict=True):
        backend.query(url, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
        backend.query(url, ddl)
    watch_inserts(backend, urls[1], "t")
    document = config(backend, urls, f"sqlite:///{tmp_path}/registry.db")
    document["tables"] = {"t": {"strategy": "tenant"}}
    with tenantdb.connect(document) as cluster, cluster.session(tenant="acme") as session:
        session.executemany("INSERT INTO t (id, v) VALUES (%s, %s)", rows)
    return urls, document


def listed(backend: Backend, url: str) -> list[tuple[Any, ...]]:
    return backend.query(url, "SELECT tenant_id, id, v::text FROM t ORDER BY id")


FIXED = MoveSettings(chunk_rows=7, chunk_s=None)  # 30 rows: chunks of 7, 7, 7, 7, 2


def test_an_admin_session_copies_rows_between_datasources_in_its_transaction(
    backend: Backend, tmp_path: Path
) -> None:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, at TIMESTAMPTZ)")
    backend.query(
        urls[0],
        "INSERT INTO t SELECT i, 'n' || i, now() - i * interval '1 day'"
        " FROM generate_series(1, 50) AS i",
    )
    document = {"datasources": {"ds0": {"url": urls[0]}, "ds1": {"url": urls[1]}}}
    out = "COPY (SELECT id, note, at FROM t WHERE id > %s) TO STDOUT (FORMAT binary)"
    into = "COPY t (id, note, at) FROM STDIN (FORMAT binary)"
    with tenantdb.connect(document) as cluster, cluster.session(admin=True) as session:
        data, count = session.copy_out_on("ds0", out, (10,))
        assert count == 40
        with contextlib.suppress(ZeroDivisionError), session.transaction():
            assert session.copy_in_on("ds1", into, data) == 40
            1 / 0  # noqa: B018  # the transaction rolls the COPY back
        assert backend.query(urls[1], "SELECT count(*) FROM t") == [(0,)]
        with session.transaction():
            session.copy_in_on("ds1", into, data)
    every = "SELECT id, note, at FROM t WHERE id > 10 ORDER BY id"
    assert backend.query(urls[1], every) == backend.query(urls[0], every)


def test_copy_is_for_admin_sessions_on_postgresql_only(backend: Backend, tmp_path: Path) -> None:
    (url,) = backend.new_databases(1)
    backend.query(url, "CREATE TABLE orders (tenant_id TEXT, id INTEGER PRIMARY KEY)")
    document = config(backend, [url], f"sqlite:///{tmp_path}/registry.db")
    with tenantdb.connect(document) as cluster, cluster.session(tenant="acme") as session:
        with pytest.raises(tenantdb.TenantIsolationError, match="admin=True"):
            session.copy_out_on("ds0", "COPY orders TO STDOUT")
        with pytest.raises(tenantdb.TenantIsolationError, match="admin=True"):
            session.copy_in_on("ds0", "COPY orders FROM STDIN", b"")
    lite = {"datasources": {"ds0": {"url": f"sqlite:///{tmp_path}/lite.db"}}}
    with (
        tenantdb.connect(lite) as cluster,
        cluster.session(admin=True) as session,
        pytest.raises(tenantdb.NotSupportedError, match="COPY is PostgreSQL's"),
    ):
        session.copy_out_on("ds0", "COPY t TO STDOUT")


ROWS = [(i, i * 3) for i in range(1, 31)]
MOODS = [(i, ("sad", "ok", "happy")[i % 3]) for i in range(1, 31)]
ARRAYS = [(i, [i, i + 1] if i % 3 else None) for i in range(1, 31)]


def t_ddl(value_type: str) -> str:
    return (
        "CREATE TABLE t (tenant_id VARCHAR(40) NOT NULL, id INTEGER NOT NULL,"
        f" v {value_type}, PRIMARY KEY (tenant_id, id))"
    )


@pytest.mark.parametrize(
    ("source_type", "target_type", "styles_differ", "data", "how"),
    [
        pytest.param("BIGINT", "BIGINT", False, ROWS, "COPY text", id="built-in-text"),
        pytest.param("BIGINT", "BIGINT", True, ROWS, "COPY binary", id="built-in-binary"),
        pytest.param("INTEGER[]", "INTEGER[]", False, ARRAYS, "COPY text", id="arrays-text"),
        pytest.param("INTEGER[]", "INTEGER[]", True, ARRAYS, "COPY binary", id="arrays-binary"),
        pytest.param("mood", "mood", False, MOODS, "COPY text", id="own-type-text"),
        pytest.param("mood", "mood", True, MOODS, "INSERT", id="own-type-styles-differ"),
        pytest.param("INTEGER", "BIGINT", False, ROWS, "INSERT", id="types-differ-arrays"),
        pytest.param("INTEGER[]", "BIGINT[]", False, ARRAYS, "INSERT", id="types-differ-rows"),
    ],
)
def test_each_table_travels_by_the_copy_its_types_and_servers_allow(
    backend: Backend,
    tmp_path: Path,
    source_type: str,
    target_type: str,
    styles_differ: bool,
    data: list[tuple[Any, ...]],
    how: str,
) -> None:
    """Text COPY where the servers print values alike; binary where they do not, for
    built-in types only; the upserts where the types differ between the sides."""
    urls, document = table_world(backend, tmp_path, t_ddl(source_type), t_ddl(target_type), data)
    if styles_differ:
        name = backend.query(urls[1], "SELECT current_database()")[0][0]
        backend.query(urls[1], f"ALTER DATABASE {name} SET DateStyle = 'SQL, DMY'")
    before = listed(backend, urls[0])
    with tenantdb.connect(document) as cluster:
        state = start_move(cluster, "acme", "ds1", settings=FIXED)
        assert state.phase == "cleaning"
        assert listed(backend, urls[1]) == before
        assert inserts(backend, urls[1]) == [how] * 5  # one statement per chunk
        cleanup_move(cluster, "acme", force=True)
    assert listed(backend, urls[0]) == []
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_a_chunk_whose_keys_are_on_the_target_already_is_written_by_key(
    backend: Backend, tmp_path: Path
) -> None:
    """Rows written on the target past the move make the chunk's COPY fail whole; the
    chunk is written again by upsert, and the target ends as the source is."""
    urls, document = table_world(backend, tmp_path, t_ddl("BIGINT"), t_ddl("BIGINT"), ROWS)
    before = listed(backend, urls[0])

    def stray_rows(step: str, state: MoveState) -> None:
        if step == "phase copying":
            backend.query(urls[1], "INSERT INTO t VALUES ('acme', 9, -1), ('acme', 30, -1)")

    with tenantdb.connect(document) as cluster:
        state = start_move(cluster, "acme", "ds1", settings=FIXED, on_step=stray_rows)
        assert state.phase == "cleaning"
        assert state.tables[0].copied_rows == 30
        assert listed(backend, urls[1]) == before
        # The strays' own insert, then chunks 1, 3 and 4 by COPY; 2 and 5 held a stray key.
        assert inserts(backend, urls[1]) == [
            "INSERT",
            "COPY text",
            "INSERT",
            "COPY text",
            "COPY text",
            "INSERT",
        ]
        cleanup_move(cluster, "acme", force=True)
    assert leftovers(backend, urls[1]) == []


def test_a_mover_killed_inside_a_chunks_copy_leaves_nothing_of_it(
    backend: Backend, tmp_path: Path
) -> None:
    """Killed with SIGKILL after the second chunk's COPY, before its commit: the target
    holds the first chunk only, as the log says; resumed, it ends with every row."""
    urls, path = seeded_world(backend, tmp_path, ("acme", "beta"))
    watch_inserts(backend, urls[1], "orders")
    kill_mover(path, "chunk written", 2)
    with tenantdb.connect(path) as cluster:
        (killed,) = move_status(cluster, "acme")
        assert killed.phase == "copying"
        (table,) = killed.tables
        assert 0 < table.copied_rows < len(SEEDED_ROWS)
        on_target = backend.query(urls[1], "SELECT count(*) FROM orders")
        assert on_target == [(table.copied_rows,)]
        assert inserts(backend, urls[1]) == ["COPY text"]
        state = resume_move(cluster, "acme")
        assert state.phase == "cleaning"
        got = backend.query(urls[1], "SELECT id, amount FROM orders ORDER BY id")
        assert dict(got) == SEEDED_ROWS
        cleanup_move(cluster, "acme", force=True)
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_an_abort_mid_copy_leaves_the_target_empty_and_nothing_behind(
    backend: Backend, tmp_path: Path
) -> None:
    urls, document = table_world(backend, tmp_path, t_ddl("BIGINT"), t_ddl("BIGINT"), ROWS)
    before = listed(backend, urls[0])

    class Stop(Exception):
        pass

    def stop_after_two(step: str, state: MoveState) -> None:
        if step == "chunk copied" and state.tables[0].copied_rows == 14:
            raise Stop

    with tenantdb.connect(document) as cluster:
        with pytest.raises(Stop):
            start_move(cluster, "acme", "ds1", settings=FIXED, on_step=stop_after_two)
        assert backend.query(urls[1], "SELECT count(*) FROM t") == [(14,)]
        assert abort_move(cluster, "acme").phase == "aborted"
    assert listed(backend, urls[1]) == []
    assert listed(backend, urls[0]) == before
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_keys_of_any_text_find_their_chunk_bounds(backend: Backend, tmp_path: Path) -> None:
    """Text chunks take their last key from their last line: keys with tabs, newlines,
    backslashes and other escapes, non-ASCII letters and time zones come back exact."""
    ddl = (
        "CREATE TABLE t (tenant_id VARCHAR(40) NOT NULL, code TEXT NOT NULL,"
        " at TIMESTAMPTZ NOT NULL, id INTEGER NOT NULL, v TEXT,"
        " PRIMARY KEY (tenant_id, code, at))"
    )
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, ddl)
    watch_inserts(backend, urls[1], "t")
    document = config(backend, urls, f"sqlite:///{tmp_path}/registry.db")
    document["tables"] = {"t": {"strategy": "tenant"}}
    odd = ["a\tb", "c\nd", "e\\f", "\\N", "g\rh", "é ü", "x\\ty", "z\x01", "q'uote", ' "d" ']
    with tenantdb.connect(document) as cluster:
        with cluster.session(tenant="acme") as session:
            session.executemany(
                "INSERT INTO t (code, at, id, v) VALUES"
                " (%s, timestamptz '2026-03-29 01:30:00+01' + %s * interval '17 minutes', %s, %s)",
                [(code, i, i, code * 2) for i in range(3) for code in odd],
            )
        every = "SELECT tenant_id, code, at, id, v FROM t ORDER BY code, at"
        before = backend.query(urls[0], every)
        state = start_move(cluster, "acme", "ds1", settings=FIXED)
        assert state.phase == "cleaning"
        assert state.tables[0].copied_rows == 30
        assert backend.query(urls[1], every) == before
        assert inserts(backend, urls[1]) == ["COPY text"] * 5
        cleanup_move(cluster, "acme", force=True)


def test_a_chunk_read_ahead_serves_only_the_cursor_it_was_read_for(
    backend: Backend, tmp_path: Path
) -> None:
    """The mover's next chunk is read while it writes the one before; asked for another
    cursor (a chunk written by upsert ended elsewhere), the prefetch reads that one."""
    urls, document = table_world(backend, tmp_path, t_ddl("BIGINT"), t_ddl("BIGINT"), ROWS)
    shape = TableShape(
        "postgres",
        "t",
        ("tenant_id", "id"),
        ("tenant_id", "id", "v"),
        where="tenant_id = %s",
        where_params=("acme",),
    )
    table = MovedTable("t", "t", ("tenant_id", "id"), columns=shape.columns)
    with tenantdb.connect(document) as cluster, cluster.session(admin=True) as session:
        planner = CopyPlanner(session, "ds0", "ds1", lambda: True)
        plan = planner.plan(table)
        assert plan is not None
        opened: list[tenantdb.Session] = []

        def open_reader() -> tenantdb.Session:
            opened.append(cluster.session(admin=True))
            return opened[-1]

        prefetch = ChunkPrefetch(planner, open_reader)
        try:
            count, last, done, _ = prefetch.next_chunk(plan, shape, None, 10)
            assert (count, last, done) == (10, ("acme", 10), False)
            # Read ahead from ("acme", 10); asked from ("acme", 4): read again.
            count, last, done, _ = prefetch.next_chunk(plan, shape, ("acme", 4), 10)
            assert (count, last, done) == (10, ("acme", 14), False)
            count, last, done, write = prefetch.next_chunk(plan, shape, ("acme", 14), 20)
            assert (count, last, done) == (10, ("acme", 24), False)  # read ahead: size 10
            with session.transaction():
                write()
        finally:
            prefetch.close()
        assert len(opened) == 1
        with pytest.raises(tenantdb.InterfaceError, match="closed"):
            opened[0].execute_on("ds0", "SELECT 1")
    assert backend.query(urls[1], "SELECT min(id), max(id) FROM t") == [(15, 24)]


def test_a_source_pool_of_one_connection_copies_without_reading_ahead(
    backend: Backend, tmp_path: Path
) -> None:
    """Reading ahead needs a second connection to the source: with a pool of one, the
    chunks are read in turn (else the read would wait for the pool until it timed out)."""
    urls, document = table_world(backend, tmp_path, t_ddl("BIGINT"), t_ddl("BIGINT"), ROWS)
    document["datasources"]["ds0"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": "2s"}
    before = listed(backend, urls[0])
    with tenantdb.connect(document) as cluster:
        assert start_move(cluster, "acme", "ds1", settings=FIXED).phase == "cleaning"
        assert listed(backend, urls[1]) == before
        assert inserts(backend, urls[1]) == ["COPY text"] * 5


def test_the_asyncio_front_copies_between_datasources_too(backend: Backend) -> None:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)")
    backend.query(urls[0], "INSERT INTO t SELECT i, 'n' || i FROM generate_series(1, 20) AS i")
    document = {"datasources": {"ds0": {"url": urls[0]}, "ds1": {"url": urls[1]}}}

    async def copy() -> int:
        cluster = tenantdb.connect_async(document)
        try:
            async with cluster.session(admin=True) as session:
                data, count = await session.copy_out_on(
                    "ds0", "COPY (SELECT id, note FROM t WHERE id <= %s) TO STDOUT", (15,)
                )
                async with session.transaction():
                    assert await session.copy_in_on("ds1", "COPY t FROM STDIN", data) == count
                return count
        finally:
            await cluster.aclose()

    assert asyncio.run(copy()) == 15
    every = "SELECT id, note FROM t WHERE id <= 15 ORDER BY id"
    assert backend.query(urls[1], every) == backend.query(urls[0], every)
