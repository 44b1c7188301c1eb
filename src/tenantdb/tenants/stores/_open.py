"""``open_store(url)``: the store for a ``[registry] url``, by scheme."""

from __future__ import annotations

import urllib.parse

from ...errors import ConfigError, ConfigProblem
from ._base import TenantStore

SCHEMES = ("memory", "sqlite", "postgresql", "postgres", "redis", "rediss", "file", "etcd")


def open_store(url: str) -> TenantStore:
    """Build the store ``url`` names. Connects to nothing yet (first use does).

    Raises ConfigError (key ``registry.url``) for an unknown scheme; ImportError's message
    names the extra to install when a store's driver is missing.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return PostgresStore(url)
    if scheme in ("redis", "rediss"):
        from .redis import RedisStore

        return RedisStore(url)
    if scheme == "file":
        from .file import FileStore

        return FileStore(url)
    if scheme == "etcd":
        from .etcd import EtcdStore

        return EtcdStore(url)
    raise ConfigError(
        [
            ConfigProblem(
                "registry.url",
                f"unknown tenant store scheme {scheme!r}; use one of"
                f" {', '.join(s + ':' for s in SCHEMES)}",
            )
        ]
    )
