"""A PostgreSQL server that refuses connections is reported once, as ShardUnavailableError,
without psycopg_pool's own "error connecting" lines before it (issue 14). Needs only psycopg:
the port is one nothing listens on."""

from __future__ import annotations

import logging
import socket

import pytest

import tenantdb

pytest.importorskip("psycopg_pool")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_refused_connection_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/x"
    cluster = tenantdb.connect({"datasources": {"ds0": {"url": url, "pool": {"timeout": 20}}}})
    caplog.set_level(logging.WARNING, logger="psycopg.pool")
    try:
        with pytest.raises(tenantdb.ShardUnavailableError, match="refused"):  # noqa: SIM117
            with cluster.session(admin=True) as s:
                s.execute("SELECT 1")
        pool_lines = [r.getMessage() for r in caplog.records if r.name == "psycopg.pool"]
    finally:
        cluster.close()
    assert pool_lines == []
