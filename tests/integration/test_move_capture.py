"""A move's change capture on real servers: the triggers record the key of every row of
the moving tenant that any writer touched (not only tenantdb), nothing of other tenants,
and removing them leaves no object behind (the anchors leak theirs: PgDog #1592, Citus
#7896)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest

import tenantdb
from fronts import Front
from tenantdb.core.moves import MOVED_MESSAGE, PREFIX, Capture, capture_for

from .conftest import Backend

HANG_GUARD_S = 60.0
ORDERS = "CREATE TABLE orders (id INTEGER PRIMARY KEY, tenant_id VARCHAR(40) NOT NULL, n INTEGER)"


def acme_capture(backend: Backend, move_id: str, tenant: str = "acme") -> Capture:
    """The capture of ``orders``' rows of ``tenant`` (a shared table, key ``id``)."""
    return capture_for(
        backend.dialect,
        move_id=move_id,
        index=0,
        table="orders",
        schema=None,
        key=("id",),
        tenant_column="tenant_id",
        tenant=tenant,
    )


def run(backend: Backend, url: str, statements: Any) -> None:
    with contextlib.closing(backend.raw_connect(url)) as raw:
        cursor = raw.cursor()
        for statement in statements:
            cursor.execute(statement)


def native(backend: Backend, sql: str) -> str:
    return sql.replace("%s", backend.placeholder)


def pending(backend: Backend, url: str, capture: Capture) -> list[Any]:
    """The first key column of each waiting change, oldest first (once per key, at its
    last change)."""
    rows = backend.query(url, native(backend, capture.pending()), (1_000,))
    keys = [row[1] for row in rows]
    return [key for i, key in enumerate(keys) if key not in keys[i + 1 :]]


def mark_all(backend: Backend, url: str, capture: Capture, round_: int) -> None:
    rows = backend.query(url, native(backend, capture.pending()), (1_000,))
    sql = native(backend, capture.mark(len(rows)))
    backend.query(url, sql, (round_, *[row[0] for row in rows]))


def leftovers(backend: Backend, url: str) -> list[Any]:
    """Every object whose name starts with the capture's prefix, from the catalog."""
    like = PREFIX + "%"
    p = backend.placeholder
    if backend.name == "sqlite":
        sql = f"SELECT type, name FROM sqlite_master WHERE name LIKE {p}"
        return backend.query(url, sql, (like,))
    if backend.name == "postgres":
        sql = (
            f"SELECT 'relation', relname FROM pg_class WHERE relname LIKE {p}"
            f" UNION ALL SELECT 'function', proname FROM pg_proc WHERE proname LIKE {p}"
            f" UNION ALL SELECT 'trigger', tgname FROM pg_trigger WHERE tgname LIKE {p}"
        )
        return backend.query(url, sql, (like, like, like))
    sql = (
        "SELECT 'table', table_name FROM information_schema.tables"
        f" WHERE table_schema = DATABASE() AND table_name LIKE {p}"
        " UNION ALL SELECT 'trigger', trigger_name FROM information_schema.triggers"
        f" WHERE trigger_schema = DATABASE() AND trigger_name LIKE {p}"
    )
    return backend.query(url, sql, (like.replace("_", "\\_"), like.replace("_", "\\_")))


def test_the_capture_records_every_write_of_the_tenant_and_only_those(backend: Backend) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS])
    p = backend.placeholder
    for row in [(1, "acme", 1), (2, "beta", 1), (3, "acme", 1), (4, "acme", 1)]:
        backend.query(url, f"INSERT INTO orders VALUES ({p}, {p}, {p})", row)
    capture = acme_capture(backend, "t1")
    run(backend, url, capture.install)
    assert pending(backend, url, capture) == []  # rows from before are the copy's, not changes
    run(
        backend,
        url,
        [
            "INSERT INTO orders VALUES (10, 'acme', 0)",
            "INSERT INTO orders VALUES (11, 'beta', 0)",
            "UPDATE orders SET n = n + 1 WHERE id = 2",  # beta's
            "UPDATE orders SET n = n + 1 WHERE id = 1",
            "UPDATE orders SET id = 30 WHERE id = 3",  # a key change: the old and the new key
            "UPDATE orders SET tenant_id = 'beta' WHERE id = 4",  # leaves acme: recorded
            "DELETE FROM orders WHERE id = 10",
            "DELETE FROM orders WHERE id = 11",
        ],
    )
    changed = pending(backend, url, capture)
    assert sorted(changed) == [1, 3, 4, 10, 30]
    # In the order of their last change: 10 was deleted last.
    assert changed[-1] == 10
    backlog = backend.query(url, native(backend, capture.backlog()))
    assert backlog == [(7,)]  # 10, 1, 3 and 30, 4, 4 (update's old and new), 10
    mark_all(backend, url, capture, 1)
    assert pending(backend, url, capture) == []
    assert backend.query(url, native(backend, capture.backlog())) == [(0,)]
    run(backend, url, ["UPDATE orders SET n = n + 1 WHERE id = 1"])
    assert pending(backend, url, capture) == [1]
    since = native(backend, capture.changed_since())
    assert sorted(row[0] for row in backend.query(url, since, (0,))) == [1, 3, 4, 10, 30]
    assert [row[0] for row in backend.query(url, since, (1,))] == [1]  # waiting only
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []
    run(backend, url, [*capture.unfence, *capture.remove])  # removing again is harmless
    backend.query(url, "INSERT INTO orders VALUES (40, 'acme', 0)")  # no trigger fires now


def test_a_tenant_with_its_own_tables_has_every_write_recorded(backend: Backend) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS])
    capture = capture_for(
        backend.dialect, move_id="t2", index=3, table="orders", schema=None, key=("id",)
    )
    run(backend, url, capture.install)
    run(backend, url, ["INSERT INTO orders VALUES (1, 'whoever', 0)", "DELETE FROM orders"])
    assert pending(backend, url, capture) == [1]
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []


@pytest.mark.parametrize("tenant", ["o'brien", "back\\slash", "semi;colon -- x"])
def test_a_tenant_id_with_quotes_is_matched_as_written(backend: Backend, tenant: str) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS])
    capture = acme_capture(backend, "t3", tenant=tenant)
    run(backend, url, capture.install)
    p = backend.placeholder
    backend.query(url, f"INSERT INTO orders VALUES (1, {p}, 0)", (tenant,))
    backend.query(url, f"INSERT INTO orders VALUES (2, {p}, 0)", (tenant + "x",))
    assert pending(backend, url, capture) == [1]
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []


def refused(backend: Backend, url: str, sql: str) -> str:
    """The error message ``sql`` fails with (the test fails when it succeeds)."""
    with contextlib.closing(backend.raw_connect(url)) as raw:
        try:
            raw.cursor().execute(sql)
        except Exception as exc:  # each driver's own class for the server's refusal
            return str(exc)
    raise AssertionError(f"not refused: {sql}")


def test_a_fenced_source_refuses_every_write_to_the_tenants_rows(backend: Backend) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS])
    p = backend.placeholder
    for row in [(1, "acme", 1), (2, "beta", 1)]:
        backend.query(url, f"INSERT INTO orders VALUES ({p}, {p}, {p})", row)
    capture = acme_capture(backend, "t4")
    run(backend, url, capture.install)
    run(backend, url, capture.fence)
    for sql in [
        "INSERT INTO orders VALUES (3, 'acme', 0)",
        "UPDATE orders SET n = 5 WHERE id = 1",
        "UPDATE orders SET tenant_id = 'acme' WHERE id = 2",  # moving a row into the tenant
        "DELETE FROM orders WHERE id = 1",
    ]:
        assert MOVED_MESSAGE + " (tenant acme): retry" in refused(backend, url, sql)
    beta_writes = [
        "INSERT INTO orders VALUES (4, 'beta', 0)",
        "UPDATE orders SET n = 2 WHERE tenant_id = 'beta'",
    ]
    run(backend, url, beta_writes)
    assert backend.query(url, "SELECT id, n FROM orders WHERE tenant_id = 'acme'") == [(1, 1)]
    assert sorted(backend.query(url, "SELECT id, n FROM orders WHERE tenant_id = 'beta'")) == [
        (2, 2),
        (4, 2),
    ]
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []
    run(backend, url, ["DELETE FROM orders WHERE id = 1"])  # unfenced


def test_the_fences_pass_lets_only_its_own_transaction_through(backend: Backend) -> None:
    """The cleanup deletes the tenant's rows through the fence: a pass opened in its own
    transaction, which no other writer sees, then closed before the commit."""
    url = backend.new_database()
    run(backend, url, [ORDERS])
    p = backend.placeholder
    for row in [(1, "acme", 1), (2, "acme", 1), (3, "beta", 1)]:
        backend.query(url, f"INSERT INTO orders VALUES ({p}, {p}, {p})", row)
    capture = acme_capture(backend, "t7")
    run(backend, url, [*capture.install, *capture.fence])
    with contextlib.closing(backend.raw_connect(url)) as holder:
        cursor = holder.cursor()
        cursor.execute("BEGIN")
        for statement in capture.open_pass:
            cursor.execute(statement)
        cursor.execute("DELETE FROM orders WHERE id = 1")
        # Another writer meanwhile is refused: the pass is not its own. (PostgreSQL
        # refuses it at once; MariaDB's trigger reads the pass table with a lock and SQLite
        # has one writer, so there it waits for the commit, then is refused.)
        outcome: list[str] = []
        other = threading.Thread(
            target=lambda: outcome.append(
                refused(backend, url, "INSERT INTO orders VALUES (4, 'acme', 0)")
            )
        )
        other.start()
        if backend.name != "sqlite":  # other tenants' rows do not wait for the pass
            with contextlib.closing(backend.raw_connect(url)) as beta:
                beta.cursor().execute("UPDATE orders SET n = 6 WHERE id = 3")
        for statement in capture.close_pass:
            cursor.execute(statement)
        cursor.execute("COMMIT")
        other.join(HANG_GUARD_S)
        assert not other.is_alive()
    assert len(outcome) == 1
    assert MOVED_MESSAGE in outcome[0]
    assert backend.query(url, "SELECT id FROM orders ORDER BY id") == [(2,), (3,)]
    # Closed again: every write to the tenant's rows is refused, whoever sends it.
    assert MOVED_MESSAGE in refused(backend, url, "DELETE FROM orders WHERE id = 2")
    assert MOVED_MESSAGE in refused(backend, url, "INSERT INTO orders VALUES (5, 'acme', 0)")
    run(backend, url, ["UPDATE orders SET n = 7 WHERE id = 3"])  # other tenants' rows: free
    assert backend.query(url, "SELECT n FROM orders WHERE id = 3") == [(7,)]
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []


def test_a_fenced_table_of_the_tenants_own_refuses_every_write(backend: Backend) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS, "INSERT INTO orders VALUES (1, 'x', 0)"])
    capture = capture_for(
        backend.dialect, move_id="t5", index=0, table="orders", schema=None, key=("id",)
    )
    run(backend, url, capture.install)
    run(backend, url, capture.fence)
    assert MOVED_MESSAGE in refused(backend, url, "DELETE FROM orders")
    assert backend.query(url, "SELECT id FROM orders") == [(1,)]
    run(backend, url, [*capture.unfence, *capture.remove])
    assert leftovers(backend, url) == []


def test_a_write_refused_by_the_fence_is_a_tenant_moved_error(
    backend: Backend, front: Front
) -> None:
    url = backend.new_database()
    run(backend, url, [ORDERS, "INSERT INTO orders VALUES (1, 'acme', 0)"])
    capture = acme_capture(backend, "t6")
    run(backend, url, [*capture.install, *capture.fence])
    config = {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": url}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        # The registry never places acme elsewhere: the session's retry gives up at once.
        "moves": {"write_hold": "0s"},
    }
    with front.connect(config) as cluster, cluster.session(tenant="acme") as session:
        with pytest.raises(tenantdb.TenantMovedError, match="retry the statement") as caught:
            session.execute("UPDATE orders SET n = 9 WHERE id = %s", (1,))
        assert caught.value.datasource == "ds0"
        assert session.execute("SELECT n FROM orders WHERE id = %s", (1,)).fetchall() == [(0,)]
    run(backend, url, [*capture.unfence, *capture.remove])


def test_a_write_the_fence_refused_runs_again_where_the_registry_places_the_tenant(
    backend: Backend, front: Front
) -> None:
    """A statement outside a transaction that the old place refuses is routed again once
    the registry has the new placement (within ``[moves] write_hold``); inside a
    transaction the refusal is the caller's to handle."""
    urls = backend.new_databases(2)
    for url in urls:
        run(backend, url, [ORDERS, "INSERT INTO orders VALUES (1, 'acme', 0)"])
    capture = acme_capture(backend, "t8")
    run(backend, urls[0], [*capture.install, *capture.fence])
    config = {
        "dialect": backend.dialect,
        "datasources": {"ds0": {"url": urls[0]}, "ds1": {"url": urls[1]}},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
        "moves": {"write_hold": "60s"},  # a hang guard: the placement changes in 0.2 s
    }
    with front.connect(config) as cluster, cluster.session(tenant="acme") as session:

        def place_later(datasource: str, after_s: float) -> threading.Timer:
            tenant = {"id": "acme", "datasource": datasource}
            timer = threading.Timer(after_s, lambda: cluster.tenants.put(tenant, force=True))
            timer.start()
            return timer

        cluster.tenants.get("acme")  # the registry runs before a timer writes to it
        # In a transaction: refused at once, though the placement changes 2 s later (a
        # retry would wait for it and succeed).
        placing = place_later("ds1", 2.0)
        with pytest.raises(tenantdb.TenantMovedError), session.transaction():
            session.execute("UPDATE orders SET n = 5 WHERE id = %s", (1,))
        placing.join(HANG_GUARD_S)
        place_later("ds0", 0).join(HANG_GUARD_S)
        # Outside one: held until the registry places the tenant on ds1, then run there.
        placing = place_later("ds1", 0.2)
        result = session.execute("UPDATE orders SET n = 9 WHERE id = %s", (1,))
        placing.join(HANG_GUARD_S)
        assert result.rowcount == 1
        assert [t.datasource for t in result.targets] == ["ds1"]
    assert backend.query(urls[1], "SELECT n FROM orders WHERE id = 1") == [(9,)]
    assert backend.query(urls[0], "SELECT n FROM orders WHERE id = 1") == [(0,)]
    run(backend, urls[0], [*capture.unfence, *capture.remove])


def test_the_fence_goes_up_only_after_open_writing_transactions_end(backend: Backend) -> None:
    """The fence's DDL waits for a transaction that wrote the tenant's row and is still
    open; once in, that transaction's change is in the change table."""
    url = backend.new_database()
    run(backend, url, [ORDERS, "INSERT INTO orders VALUES (1, 'acme', 0)"])
    capture = acme_capture(backend, "t7")
    run(backend, url, capture.install)
    with contextlib.closing(backend.raw_connect(url)) as writer:
        cursor = writer.cursor()
        cursor.execute("BEGIN")
        cursor.execute("UPDATE orders SET n = 1 WHERE id = 1")
        fenced = threading.Event()
        failure: list[BaseException] = []

        def fence() -> None:
            try:
                run(backend, url, capture.fence)
                fenced.set()
            except BaseException as exc:  # reported below
                failure.append(exc)

        fencer = threading.Thread(target=fence)
        fencer.start()
        assert not fenced.wait(1.0), "the fence went up while a writing transaction was open"
        cursor.execute("COMMIT")
        fencer.join(HANG_GUARD_S)
    assert not fencer.is_alive()
    assert failure == []
    assert fenced.is_set()
    assert pending(backend, url, capture) == [1]  # the committed change was recorded
    run(backend, url, [*capture.unfence, *capture.remove])
