"""Tenant stores, one module per kind, chosen by the scheme of ``[registry] url``:

- ``memory:`` — this process only (no ``[registry]``: the static tenants, changeable);
- ``sqlite:///path.db`` — the embedded default; other processes see changes by polling
  a change log (every ``poll_interval`` seconds, default 0.05);
- ``postgresql://…`` — a table, changes published with LISTEN/NOTIFY by a trigger;
- ``redis://…`` — a hash per tenant and a change stream;
- ``file:///path.toml|.yaml|.json`` — a document shaped like ``[tenants.*]``, watched;
- ``etcd://host:port/prefix`` — a key per tenant, watched.

Every store implements :class:`TenantStore`; ``open_store(url)`` builds one.
"""

from __future__ import annotations

from ._base import Change, Record, TenantStore
from ._open import open_store

__all__ = ["Change", "Record", "TenantStore", "open_store"]
