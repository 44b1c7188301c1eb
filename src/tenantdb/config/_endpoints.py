"""Which database and schema a URL reaches, read from the URL alone (no connection).

Used to tell whether two URLs (a datasource and the tenant registry) share a database, and
which schemas of a datasource hold rows that no single tenant owns: the schema unqualified
table names resolve to, and the system schemas. Hosts are compared as written, except that
the loopback spellings (``localhost``, ``127.0.0.1``, ``::1``, a Unix socket) count as one
host: two URLs for the same server under different host names are not recognised.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Mapping
from typing import NamedTuple

from ._urls import url_scheme

REGISTRY_TABLE = "tenantdb_tenants"
"""The table the PostgreSQL and SQLite tenant stores keep records in (PostgreSQL: unless
the URL says ``?table=NAME``)."""
SQLITE_REGISTRY_TABLES = (REGISTRY_TABLE, "tenantdb_tenant_changes")

_LOOPBACK = frozenset({"", "localhost", "127.0.0.1", "::1", "[::1]"})
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}
_KINDS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
# "-c search_path=a,b", "-csearch_path=a", "--search_path=a" inside libpq's options.
_SEARCH_PATH = re.compile(r"(?:-c\s*|--)search_path\s*=\s*((?:\\.|[^\s\\])+)", re.IGNORECASE)

SYSTEM_SCHEMAS = {
    "postgres": frozenset({"public", "pg_catalog", "information_schema", "pg_toast"}),
    "mysql": frozenset({"information_schema", "mysql", "performance_schema", "sys"}),
    "sqlite": frozenset({"main", "temp"}),
}
"""Schemas that hold the server's own rows, or (``public``, SQLite's ``main``) the rows of
unqualified tables by default."""


class Endpoint(NamedTuple):
    """Where a URL leads: the kind of database, the server, the database and the role."""

    kind: str
    server: tuple[str, int]
    database: str
    user: str | None
    schemas: tuple[str, ...]
    """Where unqualified names resolve, in order, lower-cased (PostgreSQL: the search
    path, ``public`` when the URL sets none; MySQL: the database; SQLite: ``main``)."""

    def same_database(self, other: Endpoint) -> bool:
        return (self.kind, self.server, self.database) == (other.kind, other.server, other.database)


def endpoint(url: str) -> Endpoint | None:
    """The Endpoint of a datasource or registry URL; None for another kind of store."""
    scheme = url_scheme(url)
    kind = _KINDS.get(scheme or "")
    if kind is None:
        return None
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    if kind == "sqlite":
        path = urllib.parse.unquote(parts.path[1:])
        where = path if path in ("", ":memory:") else os.path.abspath(path)
        return Endpoint("sqlite", ("", 0), where, None, ("main",))
    user = query.get("user") or (urllib.parse.unquote(parts.username) if parts.username else None)
    host = query.get("host", parts.hostname or "")
    try:
        port = int(query.get("port") or parts.port or _DEFAULT_PORTS[kind])
    except ValueError:
        port = _DEFAULT_PORTS[kind]
    server = ("local" if host.lower() in _LOOPBACK or host.startswith("/") else host.lower(), port)
    database = query.get("dbname") or urllib.parse.unquote(parts.path.lstrip("/")) or (user or "")
    if kind == "mysql":
        return Endpoint(kind, server, database, user, (database.lower(),) if database else ())
    return Endpoint(kind, server, database, user, _search_path(query.get("options", ""), user))


def _search_path(options: str, user: str | None) -> tuple[str, ...]:
    match = _SEARCH_PATH.search(options)
    if match is None:
        names = ["$user", "public"]
    else:
        names = [n.strip().strip('"') for n in match.group(1).replace("\\", "").split(",")]
    found: list[str] = []
    for name in names:
        name = (user or "") if name == "$user" else name
        if name and name.lower() not in found:
            found.append(name.lower())
    return tuple(found)


def registry_tables(url: str) -> tuple[str, ...]:
    """The tables a tenant store at ``url`` keeps in its database (none for stores that
    are not databases)."""
    scheme = url_scheme(url)
    if scheme == "sqlite":
        return SQLITE_REGISTRY_TABLES
    if scheme in ("postgresql", "postgres"):
        query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)
        tables = [value for key, value in query if key == "table"]
        return (tables[-1] if tables else REGISTRY_TABLE,)
    return ()


def registry_neighbours(
    registry_url: str | None, datasources: Mapping[str, str]
) -> list[tuple[str, Endpoint, Endpoint]]:
    """``(datasource, its endpoint, the registry's)`` for each datasource (name → URL)
    whose database the tenant registry shares."""
    registry = endpoint(registry_url) if registry_url else None
    if registry is None:
        return []
    found = []
    for name, url in datasources.items():
        here = endpoint(url)
        if here is not None and here.same_database(registry):
            found.append((name, here, registry))
    return found


def registry_warnings(registry_url: str | None, datasources: Mapping[str, str]) -> list[str]:
    """Advice for ``tenantdb config check``: the registry shares a datasource's database
    and schema (where a statement run for the application could reach its table)."""
    warnings = []
    for name, here, registry in registry_neighbours(registry_url, datasources):
        # Unqualified, the registry's table lands in the first schema of its search path
        # that exists, which only the server knows: any schema both may use counts.
        shared = [schema for schema in registry.schemas if schema in here.schemas]
        if not shared:
            continue
        role = (
            f" and role {here.user!r}"
            if here.user is not None and here.user == registry.user
            else ""
        )
        where = "file" if here.kind == "sqlite" else f"database {here.database!r}"
        warnings.append(
            f"registry.url: the tenant registry shares {where} and schema"
            f" {' or '.join(repr(schema) for schema in shared)}"
            f"{role} with datasource {name!r}; put the registry in its own schema or"
            " database with its own role, so that no statement run through the"
            " application's connections can reach the tenant records"
        )
    return warnings


def is_system_schema(kind: str, schema: str) -> bool:
    """True for a schema the database keeps for itself (PostgreSQL reserves ``pg_*``)."""
    folded = schema.lower()
    return folded in SYSTEM_SCHEMAS.get(kind, frozenset()) or (
        kind == "postgres" and folded.startswith("pg_")
    )


__all__ = [
    "REGISTRY_TABLE",
    "SYSTEM_SCHEMAS",
    "Endpoint",
    "endpoint",
    "is_system_schema",
    "registry_neighbours",
    "registry_tables",
    "registry_warnings",
]
