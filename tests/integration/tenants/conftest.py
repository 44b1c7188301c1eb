"""Fixtures for tenant-store tests: one fresh namespace per test on each real server.

``pg_registry_url``     ``postgresql://…/<run db>?table=<fresh table>`` (one database per
                        run, one table name per test)
``redis_registry_url``  ``redis://127.0.0.1:6379/0?prefix=<fresh prefix>``
``etcd_registry_url``   ``etcd://127.0.0.1:2379/<fresh prefix>``
``proxy``               ``proxy(url)`` → (TcpProxy in front of the url's server, proxied url)

Servers come from ``TENANTDB_TEST_PG_URL``, ``TENANTDB_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) and ``TENANTDB_TEST_ETCD_URL`` (default
``etcd://127.0.0.1:2379``). When one does not answer its tests skip, or fail under
``TENANTDB_REQUIRE_SERVICES=1``. Keys and tables a run creates are removed at its end.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from proxy import TcpProxy

from ..conftest import _PostgresServer, _unavailable

REDIS_URL_ENV = "TENANTDB_TEST_REDIS_URL"
ETCD_URL_ENV = "TENANTDB_TEST_ETCD_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_ETCD_URL = "etcd://127.0.0.1:2379"

_names = itertools.count(1)


def _fresh(run_id: str) -> str:
    return f"{run_id}_reg{next(_names)}"


@pytest.fixture(scope="session")
def registry_database(postgres_server: _PostgresServer, run_id: str) -> str:
    """A database of this run holding the tables of the PostgreSQL store tests."""
    return postgres_server.create(f"{run_id}_registry")


@pytest.fixture
def pg_registry_url(registry_database: str, run_id: str) -> str:
    return f"{registry_database}?table={_fresh(run_id)}"


@pytest.fixture(scope="session")
def redis_server_url(run_id: str) -> Iterator[str]:
    url = os.environ.get(REDIS_URL_ENV, DEFAULT_REDIS_URL)
    try:
        import redis
    except ImportError as exc:
        _unavailable(f"Redis tests need redis-py: pip install 'tenantdb[redis]' ({exc})")
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except Exception as exc:  # any failure to connect means "not reachable"
        _unavailable(f"Redis not reachable at {url}: {exc}")
    yield url
    for key in client.scan_iter(match=f"{run_id}_*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_registry_url(redis_server_url: str, run_id: str) -> str:
    return f"{redis_server_url}?prefix={_fresh(run_id)}"


@pytest.fixture(scope="session")
def etcd_server_url(run_id: str) -> Iterator[str]:
    url = os.environ.get(ETCD_URL_ENV, DEFAULT_ETCD_URL)
    parts = urllib.parse.urlsplit(url)
    endpoint = f"http://{parts.hostname}:{parts.port or 2379}"
    try:
        _etcd_call(endpoint, "/v3/kv/range", {"key": _b64("probe")})
    except Exception as exc:  # any failure to connect means "not reachable"
        _unavailable(f"etcd not reachable at {endpoint} (scripts/services.sh starts it): {exc}")
    yield url.rstrip("/")
    prefix = f"/{run_id}_"
    _etcd_call(
        endpoint,
        "/v3/kv/deleterange",
        {"key": _b64(prefix), "range_end": _b64(prefix[:-1] + chr(ord(prefix[-1]) + 1))},
    )


@pytest.fixture
def etcd_registry_url(etcd_server_url: str, run_id: str) -> str:
    return f"{etcd_server_url}/{_fresh(run_id)}"


@pytest.fixture
def proxy() -> Iterator[Callable[[str], tuple[TcpProxy, str]]]:
    opened: list[TcpProxy] = []

    def make(url: str) -> tuple[TcpProxy, str]:
        parts = urllib.parse.urlsplit(url)
        default_port = {"postgresql": 5432, "redis": 6379, "etcd": 2379}[parts.scheme]
        tcp = TcpProxy(parts.hostname or "127.0.0.1", parts.port or default_port)
        opened.append(tcp)
        return tcp, tcp.url_for(url)

    yield make
    for tcp in opened:
        tcp.close()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _etcd_call(endpoint: str, path: str, body: dict[str, str]) -> object:
    request = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
