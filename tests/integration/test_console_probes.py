"""The console's /healthz, /readyz and /metrics against a live cluster whose primary the
test cuts (a real PostgreSQL behind ``tests/proxy.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import tenantdb
from proxy import TcpProxy
from tenantdb.console._console import Console
from tenantdb.console._http import Request
from tenantdb.console._vantage import InProcess

from .conftest import Backend

TOKEN = "probe-test-console-token-0123456789"
pytestmark = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def cut_cluster(backend: Backend) -> Iterator[tuple[tenantdb.Cluster, TcpProxy]]:
    url = backend.new_database()
    host, port = url.split("@", 1)[1].split("/", 1)[0].split(":")
    breaker = {"window_size": 2, "minimum_calls": 1, "failure_rate": 50, "open_wait": "60s"}
    with TcpProxy(host, int(port)) as proxy:
        document: dict[str, Any] = {
            "dialect": "postgres",
            "datasources": {
                "ds0": {
                    "url": proxy.url_for(url),
                    "pool": {"min_size": 0, "timeout": "2s"},
                    "breaker": breaker,
                }
            },
        }
        with tenantdb.connect(document) as cluster:
            yield cluster, proxy


def get(console: Console, path: str, *, token: bool = False) -> Any:
    headers = {"host": "console.test"}
    if token:
        headers["authorization"] = f"Bearer {TOKEN}"
    return console.handle(Request("GET", path, "", headers, b"", client="203.0.113.9", root=""))


def test_probes_and_metrics(cut_cluster: tuple[tenantdb.Cluster, TcpProxy]) -> None:
    cluster, proxy = cut_cluster
    console = Console(InProcess(cluster), token=TOKEN)
    assert get(console, "/healthz").status == 200  # no token needed
    with cluster.session(admin=True) as session:
        assert session.execute("SELECT 1").fetchall() == [(1,)]
    ready = get(console, "/readyz")
    assert (ready.status, ready.body) == (200, b"ready\n")

    assert get(console, "/metrics").status == 401  # metrics need the token
    metrics = get(console, "/metrics", token=True)
    assert metrics.status == 200
    families = {f.name: f for f in text_string_to_metric_families(metrics.body.decode())}
    assert "tenantdb_pool_connections" in families
    assert "db_client_operation_duration_seconds" in families

    proxy.cut()
    with pytest.raises(tenantdb.ShardUnavailableError), cluster.session(admin=True) as session:
        session.execute("SELECT 1")
    not_ready = get(console, "/readyz")
    assert not_ready.status == 503
    assert b"datasource ds0" in not_ready.body
    assert get(console, "/healthz").status == 200  # the process itself is alive
