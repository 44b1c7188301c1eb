"""Online tenant moves on real servers: the tenant's rows reach the target while it keeps
writing, the registry places it there, the source keeps nothing after the cleanup, other
tenants are untouched, and an abort leaves the source as it was."""

from __future__ import annotations

import threading
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
from tenantdb.core.moves import PREFIX, MoveState

from .conftest import Backend

HANG_GUARD_S = 120.0
ORDERS = (
    "CREATE TABLE orders (id INTEGER NOT NULL, tenant_id VARCHAR(40) NOT NULL,"
    " amount INTEGER, note VARCHAR(40), PRIMARY KEY (tenant_id, id))"
)


def config(backend: Backend, urls: list[str], registry: str) -> dict[str, Any]:
    return {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}, "beta": {"datasource": "ds0"}},
        "registry": {"url": registry},
    }


@pytest.fixture
def world(backend: Backend, tmp_path: Path) -> tuple[list[str], dict[str, Any]]:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(url, ORDERS)
    document = config(backend, urls, f"sqlite:///{tmp_path}/registry.db")
    with tenantdb.connect(document) as cluster:
        for tenant in ("acme", "beta"):
            with cluster.session(tenant=tenant) as session:
                session.executemany(
                    "INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)",
                    [(i, i * 10, f"{tenant}-{i}") for i in range(1, 2501)],
                )
    return urls, document


def rows(backend: Backend, url: str, tenant: str) -> list[tuple[Any, ...]]:
    p = backend.placeholder
    found = backend.query(
        url, f"SELECT id, amount, note FROM orders WHERE tenant_id = {p} ORDER BY id", (tenant,)
    )
    return [tuple(r) for r in found]


def leftovers(backend: Backend, url: str) -> list[Any]:
    like = PREFIX + "%"
    if backend.name == "sqlite":
        return backend.query(url, "SELECT name FROM sqlite_master WHERE name LIKE ?", (like,))
    if backend.name == "postgres":
        return backend.query(
            url,
            "SELECT relname FROM pg_class WHERE relname LIKE %s UNION ALL"
            " SELECT proname FROM pg_proc WHERE proname LIKE %s UNION ALL"
            " SELECT tgname FROM pg_trigger WHERE tgname LIKE %s",
            (like, like, like),
        )
    escaped = like.replace("_", "\\_")
    return backend.query(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        " AND table_name LIKE %s UNION ALL SELECT trigger_name FROM"
        " information_schema.triggers WHERE trigger_schema = DATABASE()"
        " AND trigger_name LIKE %s",
        (escaped, escaped),
    )


def test_a_tenant_moves_while_it_writes_and_others_are_untouched(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    beta_before = rows(backend, urls[0], "beta")
    written: list[int] = []
    retried: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    with tenantdb.connect(document) as cluster:

        def writer() -> None:
            n = 10_000
            with cluster.session(tenant="acme") as session:
                while not stop.wait(0.002):  # steady writes, not a busy loop
                    n += 1
                    try:
                        session.execute(
                            "INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)",
                            (n, n, "during"),
                        )
                        session.execute(
                            "UPDATE orders SET amount = amount + 1 WHERE id = %s", (n - 5,)
                        )
                        session.execute("DELETE FROM orders WHERE id = %s", (n % 2000 + 1,))
                        written.append(n)
                    except (tenantdb.TenantMovedError, tenantdb.TenantStatusError) as exc:
                        retried.append(type(exc).__name__)  # retryable: the next loop retries
                        continue
                    except BaseException as exc:  # reported below
                        failures.append(exc)
                        return

        at_cut_over: dict[str, list[tuple[Any, ...]]] = {}

        def look(step: str, state: MoveState) -> None:
            # Frozen, fenced and verified: nobody can write the tenant's rows anywhere.
            if step == "phase cut_over":
                at_cut_over["source"] = rows(backend, urls[0], "acme")
                at_cut_over["target"] = rows(backend, urls[1], "acme")

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            state = start_move(cluster, "acme", "ds1", on_step=look)
        finally:
            stop.set()
            thread.join(HANG_GUARD_S)
        assert not thread.is_alive()
        assert failures == []
        assert state.phase == "cleaning"
        assert cluster.tenants.get("acme").datasource == "ds1"
        assert cluster.tenants.get("acme").status == "active"
        # At the cut-over the target held exactly what the source held; no write reached
        # the source after it; every acknowledged insert is on the target (none of their
        # ids is ever deleted).
        assert at_cut_over["target"] == at_cut_over["source"]
        assert rows(backend, urls[0], "acme") == at_cut_over["source"]
        target_rows = rows(backend, urls[1], "acme")
        assert written, "the writer never wrote"
        assert set(written) <= {r[0] for r in target_rows}
        with cluster.session(tenant="acme") as session:
            count = session.execute("SELECT COUNT(*) FROM orders").fetchall()[0][0]
        assert count == len(target_rows)
        done = cleanup_move(cluster, "acme", force=True)
    assert done.phase == "done"
    assert rows(backend, urls[0], "acme") == []
    assert rows(backend, urls[0], "beta") == beta_before
    assert rows(backend, urls[1], "beta") == []
    assert leftovers(backend, urls[0]) == []
    assert leftovers(backend, urls[1]) == []


def test_an_abort_leaves_the_source_as_it_was(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world
    before = rows(backend, urls[0], "acme")

    class Stop(Exception):
        pass

    def stop_at_verify(step: str, state: MoveState) -> None:
        if step == "phase verifying":
            raise Stop

    with tenantdb.connect(document) as cluster:
        with pytest.raises(Stop):
            start_move(cluster, "acme", "ds1", on_step=stop_at_verify)
        (state,) = move_status(cluster, "acme")
        assert state.phase == "verifying"
        assert rows(backend, urls[1], "acme") == before  # copied, not yet placed there
        aborted = abort_move(cluster, "acme")
        assert aborted.phase == "aborted"
        assert cluster.tenants.get("acme").datasource == "ds0"
        with pytest.raises(tenantdb.ProgrammingError, match="no unfinished move"):
            resume_move(cluster, "acme")
    assert rows(backend, urls[0], "acme") == before
    assert rows(backend, urls[1], "acme") == []
    assert leftovers(backend, urls[0]) == []


def test_a_table_with_array_columns_moves_by_multi_row_upserts(
    backend: Backend, tmp_path: Path
) -> None:
    """A table with a column of arrays moves whole, in fixed chunks here so that several
    run (by binary COPY where both sides' types match; where they do not, by multi-row
    upserts, since unnest would flatten the arrays: test_move_copy_pg.py)."""
    if backend.name != "postgres":
        pytest.skip("array columns are PostgreSQL's")
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(
            url,
            "CREATE TABLE tagged (tenant_id VARCHAR(40) NOT NULL, id INTEGER NOT NULL,"
            " tags INTEGER[], note TEXT, PRIMARY KEY (tenant_id, id))",
        )
    document = config(backend, urls, f"sqlite:///{tmp_path}/registry.db")
    document["tables"] = {"tagged": {"strategy": "tenant"}}
    with tenantdb.connect(document) as cluster:
        with cluster.session(tenant="acme") as session:
            session.executemany(
                "INSERT INTO tagged (id, tags, note) VALUES (%s, %s, %s)",
                [(i, [i, i + 1] if i % 3 else None, f"n{i}") for i in range(1, 31)],
            )
        listed = "SELECT id, tags, note FROM tagged WHERE tenant_id = 'acme' ORDER BY id"
        before = backend.query(urls[0], listed)
        steps: list[str] = []
        state = start_move(
            cluster,
            "acme",
            "ds1",
            settings=MoveSettings(chunk_rows=7, chunk_s=None),
            on_step=lambda step, _: steps.append(step),
        )
        assert state.phase == "cleaning"
        assert steps.count("chunk copied") == 5  # 7 + 7 + 7 + 7 + 2 rows
        assert backend.query(urls[1], listed) == before
        cleanup_move(cluster, "acme", force=True)
    assert backend.query(urls[0], listed) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_copies_that_differ_past_the_capture_stop_the_move_with_what_to_do(
    backend: Backend, world: tuple[list[str], dict[str, Any]]
) -> None:
    urls, document = world

    strays: list[int] = []

    def stray_row(step: str, state: MoveState) -> None:
        if step == "phase catching_up" and not strays:  # behind the capture's back
            backend.query(urls[1], "INSERT INTO orders VALUES (999999, 'acme', 1, 'stray')")
            strays.append(999999)

    with tenantdb.connect(document) as cluster:
        with pytest.raises(tenantdb.OperationalError, match="no recorded change to explain"):
            start_move(
                cluster, "acme", "ds1", settings=MoveSettings(max_verifies=2), on_step=stray_row
            )
        assert cluster.tenants.get("acme").datasource == "ds0"
        assert abort_move(cluster, "acme").phase == "aborted"
    assert rows(backend, urls[1], "acme") == []
