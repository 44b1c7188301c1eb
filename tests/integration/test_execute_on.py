"""Session.execute_on: one physical statement on a datasource's primary, for admin jobs.

It takes the same pyformat placeholders as ``execute`` on every backend, runs on the
session's own connection (so it joins ``transaction()``), and is refused outside an admin
session. Checked against the raw driver, never through tenantdb alone. On both fronts
(``front``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import tenantdb
from fronts import Front

from .conftest import Backend

TEXT = {"sqlite": "TEXT", "postgres": "TEXT", "mysql": "VARCHAR(40)"}


@pytest.fixture
def urls(backend: Backend) -> list[str]:
    urls = backend.new_databases(2)
    for url in urls:
        backend.query(
            url, f"CREATE TABLE ledger (id INTEGER PRIMARY KEY, note {TEXT[backend.name]})"
        )
    return urls


@pytest.fixture
def cluster(backend: Backend, urls: list[str], front: Front) -> Iterator[tenantdb.Cluster]:
    config: dict[str, Any] = {
        "dialect": backend.dialect,
        "datasources": {f"ds{i}": {"url": url} for i, url in enumerate(urls)},
        "tables": {"orders": {"strategy": "tenant"}},
        "tenants": {"acme": {"datasource": "ds0"}},
    }
    with front.connect(config) as opened:
        yield opened


def _notes(backend: Backend, url: str) -> list[tuple[Any, ...]]:
    return backend.query(url, "SELECT id, note FROM ledger ORDER BY id")


def test_runs_on_the_named_primary_with_pyformat_placeholders(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    with cluster.session(admin=True) as admin:
        result = admin.execute_on(
            "ds1", "INSERT INTO ledger (id, note) VALUES (%s, %s)", (1, "50% off")
        )
        assert [(t.datasource, t.role) for t in result.targets] == [("ds1", "primary")]
        admin.execute_on(
            "ds1", "INSERT INTO ledger (id, note) VALUES (%(id)s, %(note)s)", {"id": 2, "note": "x"}
        )
        rows = admin.execute_on(
            "ds1", "SELECT note FROM ledger WHERE note LIKE '50%%' AND id = %s", [1]
        ).fetchall()
    assert rows == [("50% off",)]
    assert _notes(backend, urls[1]) == [(1, "50% off"), (2, "x")]
    assert _notes(backend, urls[0]) == []


def test_joins_the_admin_transaction(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    with cluster.session(admin=True) as admin:
        seen: list[tuple[Any, ...]] = []

        def write_then_fail() -> None:
            with admin.transaction():
                admin.execute_on("ds0", "INSERT INTO ledger (id, note) VALUES (%s, %s)", (1, "a"))
                # The same connection: the uncommitted row is visible inside the transaction.
                seen.extend(admin.execute_on("ds0", "SELECT id FROM ledger", ()).fetchall())
                raise RuntimeError("roll back")

        with pytest.raises(RuntimeError):
            write_then_fail()
        assert seen == [(1,)]
        assert _notes(backend, urls[0]) == []  # rolled back: nothing written

        with admin.transaction():
            admin.execute_on("ds0", "INSERT INTO ledger (id, note) VALUES (%s, %s)", (2, "b"))
            assert _notes(backend, urls[0]) == []  # not committed yet
    assert _notes(backend, urls[0]) == [(2, "b")]


def test_is_refused_outside_an_admin_session(
    backend: Backend, urls: list[str], cluster: tenantdb.Cluster
) -> None:
    insert = "INSERT INTO ledger (id, note) VALUES (%s, %s)"
    needs_admin = r"open the session with cluster\.session\(admin=True\)"
    for opened in (cluster.session("acme"), cluster.session()):
        with opened as session, pytest.raises(tenantdb.TenantIsolationError, match=needs_admin):
            session.execute_on("ds0", insert, (1, "a"))
    assert _notes(backend, urls[0]) == []


def test_bad_datasource_and_parameters_are_refused_before_anything_runs(
    cluster: tenantdb.Cluster,
) -> None:
    with cluster.session(admin=True) as admin:
        with pytest.raises(tenantdb.InterfaceError, match="no datasource 'ds9'; configured: ds0"):
            admin.execute_on("ds9", "SELECT 1")
        with pytest.raises(tenantdb.ProgrammingError, match="2 placeholders but 1"):
            admin.execute_on("ds0", "SELECT %s, %s", (1,))
        with pytest.raises(tenantdb.ProgrammingError, match="as a mapping"):
            admin.execute_on("ds0", "SELECT %(a)s", (1,))
