"""Circuit breakers per datasource endpoint, on a real PostgreSQL reached through a TCP proxy
the test cuts and heals (``tests/proxy.py``), on both fronts.

The breaker counts checkouts (``_async/_breaker_pool.py``): a checkout whose connection
cannot be made, or comes back broken, is a failure. While it is open a statement fails at
once with ``CircuitOpenError`` and nothing reaches the server: the proxy sees no new
connection. The waits below poll the breaker's own state under a hang guard; nothing
asserts elapsed time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from fronts import Front
from proxy import TcpProxy
from tenantdb import CircuitOpenError, IntegrityError, ShardUnavailableError

from .conftest import Backend

HANG_GUARD_S = 60.0
BREAKER = {
    "window": "count",
    "window_size": 4,
    "minimum_calls": 2,
    "failure_rate": 50,
    "open_wait": "200ms",
    "permitted_probes": 1,
}


@pytest.fixture
def pg(postgres_server: Any, _database_names: Iterator[str]) -> Backend:
    return Backend("postgres", postgres_server, _database_names)


@pytest.fixture
def proxied(pg: Backend) -> Iterator[tuple[str, TcpProxy]]:
    url = pg.new_database()
    host, port = url.split("@", 1)[1].split("/", 1)[0].split(":")
    with TcpProxy(host, int(port)) as proxy:
        yield url, proxy


def config(url: str, proxy: TcpProxy, **breaker: Any) -> dict[str, Any]:
    return {
        "dialect": "postgres",
        "datasources": {
            "ds0": {
                "url": proxy.url_for(url),
                "pool": {"min_size": 0, "max_size": 2, "timeout": "2s"},
                "breaker": {**BREAKER, **breaker},
            },
        },
        "tables": {"items": {"strategy": "single", "tenant_scoped": False}},
    }


def breaker_state(cluster: Any) -> dict[str, Any]:
    state: dict[str, Any] = cluster.status()["datasources"]["ds0"]["breakers"]["primary"]
    return state


def wait_for_state(cluster: Any, wanted: str) -> None:
    pause = threading.Event()
    for _ in range(int(HANG_GUARD_S / 0.02)):
        if breaker_state(cluster)["state"] == wanted:
            return
        pause.wait(0.02)
    raise AssertionError(f"the breaker never became {wanted}: {breaker_state(cluster)}")


def test_an_open_breaker_fails_fast_and_a_probe_closes_it(
    front: Front, proxied: tuple[str, TcpProxy]
) -> None:
    url, proxy = proxied
    cluster = front.connect(config(url, proxy))
    try:
        with cluster.session(admin=True) as session:
            session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            session.execute("INSERT INTO items VALUES (1)")
        assert breaker_state(cluster)["state"] == "closed"
        proxy.cut()
        failures = 0
        while breaker_state(cluster)["state"] == "closed":
            with pytest.raises(ShardUnavailableError), cluster.session(admin=True) as session:
                session.execute("SELECT id FROM items")
            failures += 1
            assert failures <= 4, breaker_state(cluster)
        state = breaker_state(cluster)
        assert state["state"] == "open"
        assert "failed" in state["reason"] or "fail" in state["reason"]
        # Open: refused at once, and nothing is sent: no connection reaches the proxy.
        tried = proxy.accepted
        with pytest.raises(CircuitOpenError) as refused, cluster.session(admin=True) as session:
            session.execute("SELECT id FROM items")
        assert proxy.accepted == tried
        error = refused.value
        assert (error.datasource, error.role) == ("ds0", "primary")
        assert 0 <= error.retry_after <= 0.2
        assert "tried again in" in str(error)
        proxy.heal()
        wait_for_state(cluster, "half_open")
        # The probe succeeds and closes the breaker; traffic resumes.
        with cluster.session(admin=True) as session:
            assert session.execute("SELECT id FROM items").fetchall() == [(1,)]
        assert breaker_state(cluster)["state"] == "closed"
        assert breaker_state(cluster)["opened_count"] == 1
    finally:
        cluster.close()


def test_a_failed_probe_opens_the_breaker_again(
    front: Front, proxied: tuple[str, TcpProxy]
) -> None:
    url, proxy = proxied
    cluster = front.connect(config(url, proxy))
    try:
        with cluster.session(admin=True) as session:
            session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
        proxy.cut()
        for _ in range(4):
            if breaker_state(cluster)["state"] != "closed":
                break
            with pytest.raises(ShardUnavailableError), cluster.session(admin=True) as session:
                session.execute("SELECT id FROM items")
        wait_for_state(cluster, "half_open")
        with pytest.raises(ShardUnavailableError) as probe, cluster.session(admin=True) as session:
            session.execute("SELECT id FROM items")
        assert not isinstance(probe.value, CircuitOpenError)  # the probe really went out
        state = breaker_state(cluster)
        assert (state["state"], state["opened_count"]) == ("open", 2)
    finally:
        cluster.close()


def test_statement_errors_never_open_the_breaker(
    front: Front, proxied: tuple[str, TcpProxy]
) -> None:
    url, proxy = proxied
    cluster = front.connect(config(url, proxy))
    try:
        with cluster.session(admin=True) as session:
            session.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
            session.execute("INSERT INTO items VALUES (1)")
        for _ in range(10):
            with pytest.raises(IntegrityError), cluster.session(admin=True) as session:
                session.execute("INSERT INTO items VALUES (1)")  # a duplicate key
        state = breaker_state(cluster)
        assert state["state"] == "closed"
        assert state["failure_rate_percent"] == 0.0
    finally:
        cluster.close()


def test_a_disabled_breaker_is_not_there(front: Front, proxied: tuple[str, TcpProxy]) -> None:
    url, proxy = proxied
    cluster = front.connect(config(url, proxy, enabled=False))
    try:
        with cluster.session(admin=True) as session:
            session.execute("SELECT 1")
        assert breaker_state(cluster) is None
    finally:
        cluster.close()
