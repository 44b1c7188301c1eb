"""A server that accepts connections but never answers: the error says that connecting
timed out and to which endpoint, never "all connections in use" (issue 13, item 11).

The server is a thread holding every accepted socket open without a byte sent, so the
drivers get past the TCP connect and wait for the handshake. Only the drivers are needed,
no database server. No test asserts elapsed time: each only has to end within a 30 s hang
guard (before the fix, PyMySQL waited forever for the handshake).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

import tenantdb
from tenantdb.drivers import endpoint

HANG_GUARD = 30.0
PASSWORD = "s3cret-pw"


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and holds them, answering nothing."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            self.held.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


DRIVERS = [
    pytest.param("postgresql", id="postgres"),
    pytest.param("mysql", id="mysql"),
]


def _statements(url: str, threads: int) -> list[BaseException | None]:
    """Run ``SELECT 1`` from ``threads`` threads at once on a pool of 2; each one's error."""
    cluster = tenantdb.connect(
        {"datasources": {"ds0": {"url": url, "pool": {"max_size": 2, "timeout": 2}}}}
    )
    outcomes: list[BaseException | None] = [None] * threads

    def run(i: int) -> None:
        try:
            with cluster.session(admin=True) as session:
                session.execute("SELECT 1")
        except BaseException as exc:
            outcomes[i] = exc

    workers = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(HANG_GUARD)
    hung = sum(worker.is_alive() for worker in workers)
    assert not hung, f"{hung} statement(s) still waiting after the {HANG_GUARD:.0f} s hang guard"
    cluster.close()
    return outcomes


@pytest.mark.parametrize("scheme", DRIVERS)
def test_one_statement_reports_a_connect_timeout_with_the_endpoint(
    silent: SilentServer, scheme: str
) -> None:
    pytest.importorskip("psycopg" if scheme == "postgresql" else "pymysql")
    url = f"{scheme}://app:{PASSWORD}@127.0.0.1:{silent.port}/app"
    (error,) = _statements(url, 1)
    assert isinstance(error, tenantdb.ShardUnavailableError), repr(error)
    assert not isinstance(error, tenantdb.PoolTimeoutError)
    message = str(error)
    assert f"127.0.0.1:{silent.port}" in message
    assert "timed out" in message
    assert "max_size" not in message
    assert PASSWORD not in message
    assert error.datasource == "ds0"
    assert silent.accepted >= 1  # the TCP connect did succeed: only the handshake hung


@pytest.mark.parametrize("scheme", DRIVERS)
def test_callers_beyond_the_pool_size_are_not_told_the_pool_is_full(
    silent: SilentServer, scheme: str
) -> None:
    pytest.importorskip("psycopg" if scheme == "postgresql" else "pymysql")
    url = f"{scheme}://app:{PASSWORD}@127.0.0.1:{silent.port}/app"
    errors = _statements(url, 4)  # twice the pool size: two callers wait for a slot
    for error in errors:
        assert isinstance(error, tenantdb.ShardUnavailableError), repr(error)
        assert not isinstance(error, tenantdb.PoolTimeoutError), str(error)
        assert f"127.0.0.1:{silent.port}" in str(error)
        assert "timed out" in str(error)
        assert PASSWORD not in str(error)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@db.example:6543/x", "db.example:6543"),
        ("postgresql://u:pw@db.example/x", "db.example:5432"),
        ("postgres://u@[::1]:5433/x", "[::1]:5433"),
        ("postgresql:///x?host=/run/postgresql", "/run/postgresql"),
        ("mysql://root:pw@10.0.0.7/app", "10.0.0.7:3306"),
        ("mariadb://root@h:3307/app", "h:3307"),
        ("mysql://root@/app?unix_socket=/run/mysqld.sock", "/run/mysqld.sock"),
    ],
)
def test_endpoint_is_host_and_port_without_credentials(url: str, expected: str) -> None:
    assert endpoint(url) == expected


@pytest.mark.parametrize("scheme", DRIVERS)
def test_connect_timeout_is_its_own_setting(silent: SilentServer, scheme: str) -> None:
    """``pool.connect_timeout`` bounds connecting though waiting for a free connection may
    last a minute: the statement fails within the hang guard, naming the connect timeout."""
    pytest.importorskip("psycopg" if scheme == "postgresql" else "pymysql")
    url = f"{scheme}://app:{PASSWORD}@127.0.0.1:{silent.port}/app"
    pool = {"max_size": 2, "timeout": "120s", "connect_timeout": "2s"}
    cluster = tenantdb.connect({"datasources": {"ds0": {"url": url, "pool": pool}}})
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            with cluster.session(admin=True) as session:
                session.execute("SELECT 1")
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_GUARD)  # the pool timeout (120 s) would outlast it
    assert not worker.is_alive(), "the connect waited for the pool timeout, not connect_timeout"
    cluster.close()
    (error,) = outcome
    assert isinstance(error, tenantdb.ShardUnavailableError), repr(error)
    assert "timed out" in str(error)
    assert "2 s" in str(error) or "2s" in str(error), str(error)
