"""OpenTelemetry spans for tenantdb's statements: the tracer lookup and the span attributes.

Only the OpenTelemetry API is used, and only when the application has imported it and set
a tracer provider: tenantdb never imports ``opentelemetry`` itself (its import costs about
0.2 s), so an application without tracing pays one dictionary lookup per statement.
Attribute names follow the stable database semantic conventions (``db.system.name``,
``db.namespace``, ``db.operation.name``, ``db.collection.name``, ``db.query.summary``,
``db.query.text``, ``db.response.status_code``, ``server.address``, ``server.port``,
``error.type``); tenantdb's own are under ``tenantdb.*``.
"""

from __future__ import annotations

import math
import sys
import urllib.parse
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ..config import Config
from ..core.routing import Target

_RECHECK_S = 1.0  # how often to look again for a tracer provider while none is set
_TRACER_NAME = "tenantdb"
_MYSQL_DRIVERS = ("pymysql", "asyncmy")

# Dialect → db.system.name (MariaDB servers are reported as "mysql": the URL cannot tell).
SYSTEM_NAMES = {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}


class TracerLookup:
    """Finds the application's tracer, cheaply enough to ask on every statement.

    ``tracer(now)`` returns None while ``opentelemetry.trace`` is not imported or no tracer
    provider is set (it looks again at most once a second: ``next_look``), then the tracer
    for good: a provider, once set, cannot be replaced (OpenTelemetry refuses a second one).
    """

    __slots__ = ("_tracer", "_version", "next_look")

    def __init__(self, version: str) -> None:
        self._version = version
        self._tracer: Any = None
        self.next_look = -math.inf

    def use(self, provider: Any) -> None:
        """Take spans from ``provider`` instead of the global one."""
        self._tracer = provider.get_tracer(_TRACER_NAME, self._version)

    def tracer(self, now: float) -> Any:
        """The tracer, or None; ``now`` is ``time.perf_counter()``."""
        tracer = self._tracer
        if tracer is not None or now < self.next_look:
            return tracer
        self.next_look = now + _RECHECK_S
        module = sys.modules.get("opentelemetry.trace")
        if module is None:
            return None
        provider = module.get_tracer_provider()
        if isinstance(provider, module.ProxyTracerProvider):
            return None
        self._tracer = provider.get_tracer(_TRACER_NAME, self._version)
        return self._tracer


class Endpoint(NamedTuple):
    """Where one datasource endpoint is, as span attributes name it."""

    address: str | None
    port: int | None
    namespace: str | None


def endpoints(config: Config) -> dict[tuple[str, str], Endpoint | None]:
    """(datasource, role) → its endpoint. A replica role has one only when the datasource
    has exactly one replica (a result says "replica", not which one)."""
    found: dict[tuple[str, str], Endpoint | None] = {}
    for name, entry in config.datasources.items():
        found[(name, "primary")] = _endpoint(entry.url)
        found[(name, "replica")] = (
            _endpoint(entry.replicas[0]) if len(entry.replicas) == 1 else None
        )
    return found


def _endpoint(url: str) -> Endpoint:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return Endpoint(None, None, None)
    path = urllib.parse.unquote(parts.path.lstrip("/"))
    if parts.scheme.startswith("sqlite"):
        return Endpoint(None, None, path.rsplit("/", 1)[-1] or None)
    return Endpoint(parts.hostname, port, path or None)


def summary(kind: str, tables: Sequence[str]) -> tuple[str, str | None, str]:
    """(db.operation.name, db.collection.name or None, db.query.summary) of a statement of
    ``kind`` on the logical ``tables`` (a collection only when there is one)."""
    operation = kind.upper()
    collection = tables[0] if len(tables) == 1 else None
    return operation, collection, " ".join((operation, *tables)) if tables else operation


def logical_tables(targets: Sequence[Target]) -> list[str]:
    """The logical tables ``targets`` touch, in order of first appearance."""
    seen: dict[str, None] = {}
    for target in targets:
        for name in target.tables:
            seen.setdefault(name, None)
    return list(seen)


def target_attributes(
    system: str, endpoint: Endpoint | None, datasource: str, role: str, physical: Iterable[str]
) -> dict[str, Any]:
    """The attributes of the work on one datasource endpoint (``physical``: the physical
    tables it touches)."""
    attributes: dict[str, Any] = {
        "db.system.name": system,
        "tenantdb.datasource": datasource,
        "tenantdb.role": role,
        "tenantdb.physical_tables": sorted(set(physical)),
    }
    if endpoint is not None:
        if endpoint.address is not None:
            attributes["server.address"] = endpoint.address
        if endpoint.port is not None:
            attributes["server.port"] = endpoint.port
        if endpoint.namespace is not None:
            attributes["db.namespace"] = endpoint.namespace
    return attributes


def error_attributes(error: BaseException) -> dict[str, Any]:
    """``error.type`` and, when the database answered, ``db.response.status_code``: the
    SQLSTATE on PostgreSQL, the error number on MySQL/MariaDB, the result code on SQLite."""
    kind = type(error)
    attributes: dict[str, Any] = {"error.type": f"{kind.__module__}.{kind.__qualname__}"}
    code = status_code(error)
    if code is not None:
        attributes["db.response.status_code"] = code
    return attributes


def status_code(error: BaseException) -> str | None:
    """The database's own code for ``error`` (or for the driver error it wraps), else None."""
    orig = getattr(error, "orig", None) or error.__cause__ or error
    args = getattr(orig, "args", ())
    if type(orig).__module__.startswith(_MYSQL_DRIVERS):  # the MySQL error number
        return str(args[0]) if args and isinstance(args[0], int) else None
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate
    code = getattr(orig, "sqlite_errorcode", None)  # sqlite3
    if isinstance(code, int):
        return str(code)
    return None
