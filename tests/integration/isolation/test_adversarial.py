"""The tenant-isolation boundary against adversarial statements, on every backend.

Each statement of ``statements.CASES`` runs as tenant ``a`` on SQLite, PostgreSQL and
MariaDB (those it is written for); ``statements.py`` says what each expectation checks.
The other tests cover tenant status (suspended / read_only), tenant ids that need quoting,
ids that only a case- or accent-insensitive collation confuses, admin sessions, reads of
non-tenant tables and the ``allowed_functions`` key. B's rows are always read with raw
driver connections and compared in Python.

The boundary must hold on both fronts: the tests that take ``front`` run on the thread
front and on the asyncio front (``tests/fronts.py``); the DB-API module's test is the thread
front's only (``tenantdb.dbapi`` is built on it). Of the statements, every one runs on the
thread front and about one in ``ASYNC_EVERY`` on the asyncio front too (``on_fronts``): whether a
statement is refused and how it is confined is decided by the router both fronts share,
while what differs (drivers, results, errors) shows on a sample of every kind; the suite's
other tests run in full on both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest

import tenantdb
from fronts import Front

from ..conftest import Backend
from .conftest import BACKEND_MARKS, IsolationEnv, Outcome, backend_param, multiset, on_fronts
from .statements import (
    ALLOW,
    EITHER,
    NO_LEAK,
    OTHER,
    REFUSE,
    SEED,
    TENANT,
    TENANT_TABLES,
    TWIN_IDS,
    UNUSUAL_IDS,
    Case,
    Params,
    Row,
    cases_for,
)

REFUSALS = (tenantdb.TenantIsolationError, tenantdb.UnsupportedSQLError, tenantdb.SQLSyntaxError)
BACKENDS = tuple(BACKEND_MARKS)
#: A refusal must say what to change: one of these words (or the config key) must appear.
ACTIONABLE = re.compile(
    r"\b(add|remove|omit|use|write|run|declare|list|send|rewrite|change|leave|split|name|"
    r"create|insert|pass|admin|instead|check|may|must|only|allowed|allowed_functions)\b",
    re.IGNORECASE,
)

ASYNC_EVERY = 2
CASE_PARAMS = [
    backend_param(name, case, id=f"{name}-{case.name}")
    for name in BACKENDS
    for case in cases_for(name)
]


def seed_own(tenant: str = TENANT) -> dict[str, list[Row] | str]:
    return {t: multiset([r for r in SEED[t] if r[1] == tenant]) for t in TENANT_TABLES}


def expected_own(changes: Mapping[str, Mapping[int, Row | None]]) -> dict[str, list[Row] | str]:
    own: dict[str, list[Row] | str] = {}
    for table in TENANT_TABLES:
        rows = {r[0]: r for r in SEED[table] if r[1] == TENANT}
        for key, row in changes.get(table, {}).items():
            if row is None:
                rows.pop(key, None)
            else:
                rows[key] = row
        own[table] = multiset(list(rows.values()))
    return own


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    lines = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table), after.get(table)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            gone = [r for r in old if r not in new]
            added = [r for r in new if r not in old]
            lines.append(f"{table}: removed/changed {gone} -> now {added}")
        else:
            lines.append(f"{table}: {old!r} -> {new!r}")
    return "; ".join(lines)


def string_params(params: Params) -> list[str]:
    values = params.values() if isinstance(params, Mapping) else (params or ())
    return [v for v in values if isinstance(v, str)]


def check_refusal_message(exc: BaseException, params: Params) -> None:
    message = str(exc)
    assert len(message.strip()) >= 20, f"refusal message too short to act on: {message!r}"
    assert ACTIONABLE.search(message), f"refusal does not say what to change: {message!r}"
    for value in string_params(params):
        if len(value) >= 6:
            assert value not in message, f"refusal message shows a parameter value: {message!r}"


def check_row_owners(outcome: Outcome) -> None:
    """Columns named tenant_id hold only ``a`` (or NULL); integer ``id`` columns are A's."""
    assert outcome.rows is not None
    for index, column in enumerate(outcome.columns):
        name = column.lower().rsplit(".", 1)[-1]
        for row in outcome.rows:
            value = row[index]
            if name == "tenant_id":
                assert value in (TENANT, None), f"row of tenant {value!r} returned: {row}"
            elif name == "id" and isinstance(value, int) and not isinstance(value, bool):
                assert value < 100, f"row id {value} is not one of A's (< 100): {row}"


def check_allowed(iso: IsolationEnv, case: Case, outcome: Outcome, before: Any) -> None:
    after = iso.others()
    assert after == before, f"B's rows changed: {diff(before, after)}"
    if outcome.rows is not None:
        check_row_owners(outcome)
    if case.oracle and case.expect != NO_LEAK:
        expected = iso.on_mirror(case.sql, case.params)
        if outcome.rows is not None or expected.rows is not None:
            assert outcome.rows is not None, "returned no rows; on A's data alone it does"
            assert expected.rows is not None
            if case.ordered:
                assert outcome.rows == expected.rows, "rows differ from A's data alone"
            else:
                got, want = multiset(outcome.rows), multiset(expected.rows)
                assert got == want, (
                    f"rows differ from A's data alone: extra {[r for r in got if r not in want]}"
                    f", missing {[r for r in want if r not in got]}"
                )
        else:
            assert outcome.rowcount == expected.rowcount, (
                f"rowcount {outcome.rowcount}, on A's data alone {expected.rowcount}"
            )
        own, want_own = iso.own(), iso.mirror_own()
        assert own == want_own, (
            f"A's rows afterwards differ from A's data alone: {diff(want_own, own)}"
        )
    elif case.check_a:
        own, want_own = iso.own(), expected_own(case.a_changes)
        assert own == want_own, f"A's rows afterwards: {diff(want_own, own)}"


@pytest.mark.parametrize(
    ("backend", "case", "front"),
    on_fronts(CASE_PARAMS, async_every=ASYNC_EVERY),
    indirect=["backend", "front"],
)
@pytest.mark.usefixtures("front")  # iso's cluster runs on it
def test_statement(backend: Backend, iso: IsolationEnv, case: Case) -> None:
    before = iso.others()
    error: tenantdb.Error | None = None
    try:
        outcome = iso.run(case.sql, case.params)
    except REFUSALS as exc:
        after = iso.others()
        assert after == before, f"refused, but B's rows changed: {diff(before, after)}"
        assert iso.own() == seed_own(), "refused, but A's rows changed"
        if case.expect == ALLOW:
            pytest.fail(f"refused a statement the contract allows: {type(exc).__name__}: {exc}")
        check_refusal_message(exc, case.params)
        return
    except tenantdb.Error as exc:
        error = exc
    if error is not None:
        iso.reset_cluster()
        after = iso.others()
        assert after == before, (
            f"{type(error).__name__}, and B's rows changed: {diff(before, after)}"
        )
        if case.expect == NO_LEAK and isinstance(error, tenantdb.DatabaseError):
            return
        wanted = "a refusal" if case.expect == REFUSE else "the statement to run"
        pytest.fail(f"expected {wanted}, got {type(error).__name__}: {error}")
    if case.expect == REFUSE:
        # It ran: it may have left a pooled connection changed (SET, USE, ATTACH, LOCK).
        iso.reset_cluster()
        after = iso.others()
        changed = diff(before, after) or "none"
        pytest.fail(
            f"ran instead of being refused (rows: {outcome.rows!r:.200}, rowcount "
            f"{outcome.rowcount}); changes to B: {changed}"
        )
    assert case.expect in (ALLOW, EITHER, NO_LEAK)
    check_allowed(iso, case, outcome, before)


def test_there_are_enough_statements() -> None:
    for name in BACKENDS:
        assert len(cases_for(name)) >= 120, name


# --- explicit effects of A's own writes (the oracle covers them too; these read back raw) ---

ALL_BACKENDS = [backend_param(name) for name in BACKENDS]


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_own_writes_land_as_tenant_a(backend: Backend, iso: IsolationEnv) -> None:
    before = iso.others()
    assert (
        iso.run("INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)", (10, 7, "n")).rowcount
        == 1
    )
    assert iso.raw("SELECT tenant_id, amount FROM orders WHERE id = 10").rows == [(TENANT, 7)]
    assert iso.run("INSERT INTO order_items (id, order_id, sku) VALUES (10, 10, 'z')").rowcount == 1
    assert iso.raw("SELECT tenant_id FROM order_items WHERE id = 10").rows == [(TENANT,)]
    assert iso.run("UPDATE orders SET amount = amount + 1 WHERE 1=1").rowcount == 6
    amounts = iso.raw("SELECT id, amount FROM orders WHERE id < 100 ORDER BY id").rows
    assert amounts == [(1, 11), (2, 21), (3, 31), (4, 41), (5, 51), (10, 8)]
    assert iso.run("DELETE FROM order_items WHERE id = 1 OR 1=1").rowcount == 6
    assert iso.raw("SELECT id FROM order_items WHERE id < 100").rows == []
    assert iso.others() == before


# --- tenant status --------------------------------------------------------------------------


def status_error() -> type[BaseException]:
    cls = getattr(tenantdb, "TenantStatusError", None)
    if cls is None:
        pytest.fail("tenantdb.TenantStatusError does not exist")
    assert isinstance(cls, type)
    return cls


WRITES = [
    ("INSERT INTO orders (id, amount) VALUES (%s, %s)", (50, 1)),
    ("UPDATE orders SET amount = 0 WHERE id = %s", (1,)),
    ("DELETE FROM orders WHERE id = %s", (2,)),
    ("INSERT INTO orders (id, amount) SELECT id + 1000, amount FROM orders", None),
]
READ = ("SELECT tenant_id, id FROM orders", None)


def expect_status_error(cluster: tenantdb.Cluster, sql: str, params: Params, word: str) -> None:
    error = status_error()
    with pytest.raises(error) as info, cluster.session(tenant=TENANT) as session:
        session.execute(sql, params)
    message = str(info.value).lower().replace("-", "_").replace(" ", "_")
    assert word in message, f"the message does not name the status {word!r}: {info.value}"
    assert TENANT in str(info.value) or "tenant" in str(info.value).lower()


def test_status_error_class() -> None:
    error = status_error()
    assert issubclass(error, tenantdb.OperationalError)
    assert "TenantStatusError" in tenantdb.__all__


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_suspended_tenant_runs_nothing(backend: Backend, iso: IsolationEnv, front: Front) -> None:
    state = iso.state()
    with front.connect(iso.config()) as cluster:
        cluster.tenants.put({"id": TENANT, "status": "suspended"})
        for sql, params in [
            READ,
            *WRITES,
            ("SELECT 1", None),
            ("SELECT code FROM countries", None),
        ]:
            expect_status_error(cluster, sql, params, "suspended")
        with cluster.session(tenant=OTHER) as session:  # another tenant is not affected
            count = session.execute("SELECT count(*) FROM orders").fetchall()
            assert count == [(len(seed_own(OTHER)["orders"]),)]
    assert iso.state() == state


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_read_only_tenant_reads_only(backend: Backend, iso: IsolationEnv, front: Front) -> None:
    state = iso.state()
    with front.connect(iso.config()) as cluster:
        cluster.tenants.put({"id": TENANT, "status": "read_only"})
        for sql, params in WRITES:
            expect_status_error(cluster, sql, params, "read_only")
        with cluster.session(tenant=TENANT) as session:
            rows = session.execute(*READ).fetchall()
        assert multiset(rows) == [(TENANT, i) for i in range(1, 6)]
    assert iso.state() == state


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_static_status_in_configuration(backend: Backend, iso: IsolationEnv, front: Front) -> None:
    state = iso.state()
    config = iso.config()
    config["tenants"][TENANT]["status"] = "suspended"
    config["tenants"][OTHER]["status"] = "read_only"
    error = status_error()
    with front.connect(config) as cluster:
        expect_status_error(cluster, *READ, "suspended")
        with cluster.session(tenant=OTHER) as session:
            count = session.execute("SELECT count(*) FROM orders").scalar()
            assert count == len(seed_own(OTHER)["orders"])
            with pytest.raises(error):
                session.execute("UPDATE orders SET amount = 0")
    assert iso.state() == state


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_status_change_reaches_open_session(
    backend: Backend, iso: IsolationEnv, front: Front
) -> None:
    error = status_error()
    with front.connect(iso.config()) as cluster, cluster.session(tenant=TENANT) as session:
        assert session.execute("SELECT count(*) FROM orders").scalar() == 5
        cluster.tenants.put({"id": TENANT, "status": "suspended"})
        with pytest.raises(error):
            session.execute("SELECT count(*) FROM orders")
        cluster.tenants.put({"id": TENANT, "status": "read_only"})
        assert session.execute("SELECT count(*) FROM orders").scalar() == 5
        with pytest.raises(error):
            session.execute("DELETE FROM orders")
        assert iso.raw("SELECT count(*) FROM orders WHERE id < 100").rows == [(5,)]
        cluster.tenants.put({"id": TENANT, "status": "active"})
        assert session.execute("INSERT INTO orders (id, amount) VALUES (50, 1)").rowcount == 1
    assert iso.raw("SELECT tenant_id FROM orders WHERE id = 50").rows == [(TENANT,)]


# --- tenant ids that need quoting, and collation twins ----------------------------------------


def readable(tenant_id: str) -> str:
    return tenant_id.encode("ascii", "backslashreplace").decode().replace(" ", "_") or "empty"


UNUSUAL_PARAMS = [
    backend_param(name, k, tenant_id, id=f"{name}-{k}-{readable(tenant_id)}")
    for name in BACKENDS
    for k, tenant_id in enumerate(UNUSUAL_IDS, 1)
]


@pytest.mark.parametrize(("backend", "k", "tenant_id"), UNUSUAL_PARAMS, indirect=["backend"])
@pytest.mark.usefixtures("front")
def test_unusual_tenant_id_is_confined(
    backend: Backend, iso: IsolationEnv, k: int, tenant_id: str
) -> None:
    before = iso.others(tenant_id)
    seeded = (200 + k, tenant_id, 2000 + k, f"u{k}")
    assert iso.own(tenant_id)["orders"] == [seeded]

    def run(sql: str, params: Params = None) -> Outcome:
        return iso.run(sql, params, tenant=tenant_id)

    assert run("INSERT INTO orders (id, amount, note) VALUES (300, 1, 'ins')").rowcount == 1
    assert (
        run(
            "INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)", (301, tenant_id, 2)
        ).rowcount
        == 1
    )
    assert iso.raw("SELECT id, tenant_id FROM orders WHERE id >= 300 ORDER BY id").rows == [
        (300, tenant_id),
        (301, tenant_id),
    ]
    rows = run("SELECT tenant_id, id FROM orders WHERE 1=1 OR tenant_id = 'b'").rows
    assert multiset(rows or []) == multiset(
        [(tenant_id, 200 + k), (tenant_id, 300), (tenant_id, 301)]
    )
    assert run("SELECT count(*) FROM orders WHERE tenant_id = %s", (TENANT,)).rows == [(0,)]
    assert run("SELECT count(*) FROM order_items").rows == [(0,)]
    assert run("UPDATE orders SET amount = amount + 1").rowcount == 3
    with pytest.raises(tenantdb.TenantIsolationError):
        run("INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)", (302, OTHER, 1))
    assert run("DELETE FROM orders WHERE id = 300 OR 1=1").rowcount == 3
    assert iso.own(tenant_id)["orders"] == []
    after = iso.others(tenant_id)
    assert after == before, f"other tenants' rows changed: {diff(before, after)}"


TWIN_PARAMS = [
    backend_param(name, twin, id=f"{name}-{readable(twin)}-vs-{readable(seeded)}")
    for name in BACKENDS
    for twin, seeded in TWIN_IDS.items()
]


@pytest.mark.parametrize(("backend", "twin"), TWIN_PARAMS, indirect=["backend"])
@pytest.mark.usefixtures("front")
def test_collation_twin_ids_stay_apart(backend: Backend, iso: IsolationEnv, twin: str) -> None:
    """A tenant whose id equals another's only under a case-/accent-insensitive or PAD SPACE
    collation (MariaDB's default ``utf8mb4_general_ci``) owns no rows and must see none."""
    before = iso.others(twin)
    rows = iso.run("SELECT tenant_id, id FROM orders", tenant=twin).rows
    assert rows == [], f"tenant {twin!r} sees rows of {TWIN_IDS[twin]!r}: {rows}"
    assert iso.run("UPDATE orders SET note = 'twin'", tenant=twin).rowcount == 0
    assert iso.run("DELETE FROM orders", tenant=twin).rowcount == 0
    after = iso.others(twin)
    assert after == before, f"tenant {twin!r} changed other rows: {diff(before, after)}"


# --- admin sessions, non-tenant tables, allowed_functions ----------------------------------------


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_admin_session_sees_every_tenant(backend: Backend, iso: IsolationEnv) -> None:
    rows = iso.run("SELECT tenant_id, id FROM orders", tenant=None, admin=True).rows
    assert multiset(rows or []) == multiset([(r[1], r[0]) for r in SEED["orders"]])
    counts = iso.run(
        "SELECT tenant_id, count(*) FROM order_items GROUP BY tenant_id", tenant=None, admin=True
    ).rows
    assert multiset(counts or []) == [(TENANT, 5), (OTHER, 5)]
    assert (
        iso.run("UPDATE orders SET note = 'admin' WHERE id = 101", tenant=None, admin=True).rowcount
        == 1
    )
    assert iso.raw("SELECT note FROM orders WHERE id = 101").rows == [("admin",)]


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_tenant_session_reads_non_tenant_tables(backend: Backend, iso: IsolationEnv) -> None:
    for table, columns in (("countries", "code, name"), ("settings", "name, value")):
        rows = iso.run(f"SELECT {columns} FROM {table}").rows
        assert multiset(rows or []) == multiset(SEED[table])
        rows = iso.run(f"SELECT {columns} FROM {table}", tenant=OTHER).rows
        assert multiset(rows or []) == multiset(SEED[table])


HARMLESS_FUNCTIONS = {"sqlite": "changes", "postgres": "pg_backend_pid", "mysql": "connection_id"}


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_allowed_functions_lets_a_listed_function_through(
    backend: Backend, iso: IsolationEnv, front: Front
) -> None:
    function = HARMLESS_FUNCTIONS[backend.name]
    sql = f"SELECT {function}(), count(*) FROM orders"
    with pytest.raises(REFUSALS) as info:
        iso.run(sql)
    message = str(info.value)
    assert function in message.lower(), f"the refusal does not name {function}: {message}"
    assert "allowed_functions" in message, f"the refusal does not name the key: {message}"
    with (
        front.connect(iso.config(allowed_functions=[function])) as cluster,
        cluster.session(tenant=TENANT) as session,
    ):
        rows = session.execute(sql).fetchall()
        assert len(rows) == 1
        assert isinstance(rows[0][0], int)
        assert rows[0][1] == 5
        with pytest.raises(REFUSALS):
            session.execute("SELECT pg_sleep(0), sleep(0), load_file('x')")


# --- other ways in: no tenant, executemany, transactions, the DB-API module, explain ------------


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_session_without_tenant_reaches_no_tenant_table(
    backend: Backend, iso: IsolationEnv
) -> None:
    state = iso.state()
    for sql in (
        "SELECT tenant_id, id FROM orders",
        "SELECT count(*) FROM countries WHERE EXISTS (SELECT 1 FROM order_items)",
        "UPDATE notes SET body = 'x'",
        "INSERT INTO orders (id, tenant_id, amount) VALUES (50, 'a', 1)",
        "DELETE FROM orders WHERE id = 101",
    ):
        with pytest.raises(tenantdb.ProgrammingError):
            iso.run(sql, tenant=None)
    assert iso.state() == state


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_executemany_and_transactions_are_confined(backend: Backend, iso: IsolationEnv) -> None:
    before = iso.others()
    with iso.cluster.session(tenant=TENANT) as session:
        with pytest.raises(tenantdb.TenantIsolationError):
            session.executemany(
                "INSERT INTO orders (id, tenant_id, amount) VALUES (%s, %s, %s)",
                [(40, TENANT, 1), (41, OTHER, 1), (42, TENANT, 1)],
            )
        assert iso.raw("SELECT id FROM orders WHERE id BETWEEN 40 AND 42").rows == []
        session.executemany(
            "UPDATE orders SET note = %s WHERE id = %s OR tenant_id = %s",
            [("m1", 101, OTHER), ("m2", 1, OTHER)],
        )
        with session.transaction():
            session.execute("DELETE FROM order_items WHERE id > 100 OR 1=1")
            rows = session.execute("SELECT tenant_id, id FROM order_items").fetchall()
            assert rows == []
            session.execute("INSERT INTO order_items (id, order_id, sku) VALUES (60, 1, 'x')")
        rows = session.execute("SELECT tenant_id, note FROM orders WHERE id = 1").fetchall()
        assert rows == [(TENANT, "m2")]
    assert iso.raw("SELECT id, tenant_id FROM order_items WHERE id < 100").rows == [(60, TENANT)]
    after = iso.others()
    assert after == before, f"B's rows changed: {diff(before, after)}"


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
@pytest.mark.usefixtures("front")
def test_executemany_fills_a_none_tenant_row_by_row(backend: Backend, iso: IsolationEnv) -> None:
    # An ORM's executemany: the tenant column mapped and None in some rows, the tenant's id
    # in others. Every row lands as A's; one row naming B refuses the whole call.
    before = iso.others()
    sql = "INSERT INTO orders (id, tenant_id, note) VALUES (%(id)s, %(tenant_id)s, %(note)s)"
    with iso.cluster.session(tenant=TENANT) as session:
        session.executemany(
            sql,
            [
                {"id": 50, "tenant_id": None, "note": "n50"},
                {"id": 51, "tenant_id": TENANT, "note": "n51"},
                {"id": 52, "tenant_id": None, "note": None},
            ],
        )
        with pytest.raises(tenantdb.TenantIsolationError):
            session.executemany(
                sql,
                [
                    {"id": 53, "tenant_id": None, "note": "x"},
                    {"id": 54, "tenant_id": OTHER, "note": "x"},
                ],
            )
        # A NULL literal in an upsert on B's key: the row stays B's, untouched.
        if backend.name == "mysql":
            upsert = "ON DUPLICATE KEY UPDATE note = VALUES(note)"
        else:
            upsert = "ON CONFLICT (id) DO UPDATE SET note = excluded.note"
        session.execute(
            f"INSERT INTO orders (id, tenant_id, note) VALUES (101, NULL, 'x') {upsert}"
        )
    rows = iso.raw("SELECT id, tenant_id, note FROM orders WHERE id BETWEEN 50 AND 54").rows
    assert multiset(rows or []) == [(50, TENANT, "n50"), (51, TENANT, "n51"), (52, TENANT, None)]
    after = iso.others()
    assert after == before, f"B's rows changed: {diff(before, after)}"


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_dbapi_insert_with_a_none_tenant_lands_as_the_tenants(
    backend: Backend, iso: IsolationEnv
) -> None:
    from tenantdb import dbapi

    before = iso.others()
    connection = dbapi.connect(iso.config(), tenant=TENANT)
    try:
        cursor = connection.cursor()
        cursor.execute(
            "INSERT INTO notes (id, tenant_id, body) VALUES (%s, %s, %s)", (55, None, "one")
        )
        cursor.executemany(
            "INSERT INTO notes (id, tenant_id, body) VALUES (%s, %s, %s)",
            [(56, None, "two"), (57, TENANT, "three")],
        )
        with pytest.raises(tenantdb.TenantIsolationError):
            cursor.execute("INSERT INTO notes (id, tenant_id) VALUES (%s, %s)", (58, OTHER))
        connection.commit()
    finally:
        connection.close()
    admin = dbapi.connect(iso.config(), admin=True)
    try:  # an admin session inserts NULL as written (the table refuses it: NOT NULL)
        with pytest.raises(tenantdb.IntegrityError):
            admin.cursor().execute("INSERT INTO notes (id, tenant_id) VALUES (59, NULL)")
    finally:
        admin.close()
    rows = iso.raw("SELECT id, tenant_id, body FROM notes WHERE id BETWEEN 55 AND 59").rows
    assert multiset(rows or []) == [(55, TENANT, "one"), (56, TENANT, "two"), (57, TENANT, "three")]
    after = iso.others()
    assert after == before, f"B's rows changed: {diff(before, after)}"


@pytest.mark.parametrize("backend", ALL_BACKENDS, indirect=True)
def test_dbapi_cursor_is_confined(backend: Backend, iso: IsolationEnv) -> None:
    from tenantdb import dbapi

    before = iso.others()
    connection = dbapi.connect(iso.config(), tenant=TENANT)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT tenant_id, id FROM orders WHERE tenant_id = %s OR 1=1", (OTHER,))
        assert multiset(cursor.fetchall()) == [(TENANT, i) for i in range(1, 6)]
        cursor.execute("UPDATE orders SET amount = 0 WHERE id > 100 OR id = 1")
        with pytest.raises(tenantdb.TenantIsolationError):
            cursor.execute("INSERT INTO orders (id, tenant_id) VALUES (%s, %s)", (43, OTHER))
        connection.commit()
    finally:
        connection.close()
    assert iso.raw("SELECT amount FROM orders WHERE id = 1").rows == [(0,)]
    after = iso.others()
    assert after == before, f"B's rows changed: {diff(before, after)}"


@pytest.mark.parametrize("tenant_id", UNUSUAL_IDS, ids=readable)
def test_tenant_id_is_a_bound_parameter_in_plans(tenant_id: str, front: Front) -> None:
    config = {
        "dialect": "postgres",
        "datasources": {"ds0": {"url": "postgresql://app@127.0.0.1:1/none"}},
        "tables": {"orders": {"strategy": "tenant"}, "order_items": {"strategy": "tenant"}},
        "tenants": {tenant_id: {"datasource": "ds0"}},
    }
    with front.connect(config) as cluster:
        for sql in (
            "SELECT id FROM orders WHERE id IN (SELECT order_id FROM order_items)",
            "INSERT INTO orders (id, amount) VALUES (%s, %s)",
            "UPDATE orders SET amount = 1",
            "DELETE FROM order_items",
        ):
            params = (1, 2) if "%s" in sql else None
            (target,) = cluster.explain(sql, params, tenant=tenant_id).targets
            assert tenant_id in target.params
            assert tenant_id not in target.sql
            for fragment in ("brien", "DROP", "ünï", "😀", "\\"):
                if fragment in tenant_id:
                    assert fragment not in target.sql, target.sql
