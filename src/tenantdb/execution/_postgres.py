"""Moved: the PostgreSQL driver is written once (``tenantdb._async._postgres``) and generated
for this front; ``_replica_set`` opens its lag probes through this name until it moves too."""

from __future__ import annotations

from .._sync import connect_postgres as connect

__all__ = ["connect"]
