"""The store contract: what the registry needs from the place tenants are kept.

A store keeps *records*: JSON-shaped dicts with the Tenant fields (``id``, ``datasource``,
``isolation``, ``schema``, ``status``, ``limits``, ``features``, ``version``) and the
time of the write that made them (``updated_at``; a store may drop it). It does not
validate them beyond what it needs to store them: the registry parses every record it
reads and rejects malformed ones (a store may hold a record someone wrote by hand).

Versions are the store's own: a write is a compare-and-set on the version the writer read,
so two processes changing one tenant at once cannot lose an update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

Record = dict[str, Any]


class Change(NamedTuple):
    """A notification: tenant ``tenant_id`` changed; ``version`` is its new version, or
    ``None`` when it was deleted (or the store cannot tell). The registry reloads the
    tenant from the store either way, so a notification carries no tenant data."""

    tenant_id: str
    version: int | None


class TenantStore(Protocol):
    """Where tenant records live. Any method may raise tenantdb.RegistryUnavailableError.

    Implementations are thread-safe: the registry calls ``load`` from request threads
    while its watcher thread runs ``watch``.
    """

    url: str
    """The store's URL with any password replaced by ``***`` (for logs and reprs)."""

    def load(self, tenant_id: str) -> Record | None:
        """The record of ``tenant_id``, or None when the store has none."""
        ...

    def load_all(self) -> Iterator[Record]:
        """Every record, in no particular order."""
        ...

    def versions(self) -> dict[str, int]:
        """``{tenant id: version}`` for every record: what a resync compares."""
        ...

    def write(self, record: Record, *, expected_version: int) -> bool:
        """Store ``record`` (whose ``version`` is ``expected_version + 1``) if the stored
        version is still ``expected_version`` (0: no record yet); return False, changing
        nothing, if it is not. Publishes a Change on success."""
        ...

    def remove(self, tenant_id: str) -> bool:
        """Delete the record; True if there was one. Publishes a Change on success."""
        ...

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        """Deliver changes made by any process until ``stop`` is set, then return.

        Calls ``on_ready()`` once the subscription is live, before any ``on_change``:
        changes made before that moment are not delivered, so the registry resyncs
        there. Raises RegistryUnavailableError when the connection is lost; the registry
        calls ``watch`` again (and so resyncs again) once the store answers. Must notice
        ``stop`` within about a second.
        """
        ...

    def close(self) -> None:
        """Release connections. ``watch`` returns soon after."""
        ...
