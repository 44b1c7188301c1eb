"""Errors for connections that could not be opened in time, naming the endpoint.

A server that accepts TCP connections but never answers (a hung server, a wrong port
behind a load balancer, a proxy with no backend) used to surface as "all connections in
use; raise pool.max_size", which sends the operator the wrong way. These errors say that
connecting timed out and where to: ``host:port`` (or the socket path), never the URL's
user or password.
"""

from __future__ import annotations

import urllib.parse

from ..errors import ShardUnavailableError

_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306}


def endpoint(url: str) -> str:
    """``host:port`` of a database URL (the default port when none is written); a Unix
    socket given as ``?host=/path`` or ``?unix_socket=/path`` is shown as its path."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "an unparseable address"
    query = dict(urllib.parse.parse_qsl(parts.query))
    socket_path = query.get("unix_socket") or (
        query["host"] if query.get("host", "").startswith("/") else None
    )
    if socket_path and not parts.hostname:
        return socket_path
    host = parts.hostname or query.get("host") or "localhost"
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{host}:{port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)}"


def connect_timed_out(
    *, datasource: str, role: str, address: str, seconds: float, exc: BaseException | None
) -> ShardUnavailableError:
    """The error for one connection attempt that hit its connect timeout."""
    return ShardUnavailableError(
        f"connecting to datasource {datasource!r} ({role}) at {address} timed out after "
        f"{seconds:g} s: the server did not complete the connection; check that {address} "
        "is the database server and that it is up and answering (a hung or overloaded "
        "server, a firewall or a proxy without a backend look like this)",
        datasource=datasource,
        role=role,
        orig=exc,
    )


def still_connecting(
    *,
    datasource: str,
    role: str,
    address: str,
    seconds: float,
    in_use: int,
    waiting: int | None = None,
) -> ShardUnavailableError:
    """The error for an ``acquire`` whose pool had free slots but could not open a
    connection within the pool timeout (attempts are still waiting for the server)."""
    attempts = f"{waiting} attempt(s) waiting for the server, " if waiting else ""
    return ShardUnavailableError(
        f"no connection to datasource {datasource!r} ({role}) at {address} could be opened "
        f"within {seconds:g} s: connecting timed out ({attempts}{in_use} connection(s) in "
        f"use, so the pool is not full); check that {address} is the database server and "
        "that it is up and answering",
        datasource=datasource,
        role=role,
    )


def is_timeout(exc: BaseException) -> bool:
    """Whether a driver's connect error is its connect timeout expiring."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError):
            return True
        if type(current).__name__ == "ConnectionTimeout":  # psycopg.errors.ConnectionTimeout
            return True
        # PyMySQL wraps the socket's TimeoutError and keeps it here.
        original = getattr(current, "original_exception", None)
        if isinstance(original, BaseException):
            current = original
            continue
        current = current.__cause__ or current.__context__
    return False


__all__ = ["connect_timed_out", "endpoint", "is_timeout", "still_connecting"]
