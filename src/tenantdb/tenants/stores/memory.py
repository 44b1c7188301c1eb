"""``memory:`` — tenants kept in this process only (a cluster without ``[registry]``).

Static tenants seed it; ``put`` and ``delete`` work and last as long as the process.
Changes are delivered to the process's own watcher, so it behaves like any other store.
"""

from __future__ import annotations

import copy
import queue
import threading
from collections.abc import Callable, Iterator

from ._base import Change, Record

# How often a waiting watch looks at its stop event by itself; close() wakes it at once.
_POLL_S = 0.5


class MemoryStore:
    """An in-process store: a dict guarded by a lock, and a queue of changes."""

    url = "memory:"

    def __init__(self) -> None:
        self._records: dict[str, Record] = {}
        self._lock = threading.Lock()
        # None wakes the watcher without a change (close() puts it there).
        self._changes: queue.SimpleQueue[Change | None] = queue.SimpleQueue()
        self._watched = False  # queue changes only while someone watches

    def load(self, tenant_id: str) -> Record | None:
        with self._lock:
            record = self._records.get(tenant_id)
        return copy.deepcopy(record) if record is not None else None

    def load_all(self) -> Iterator[Record]:
        with self._lock:
            records = list(self._records.values())
        return (copy.deepcopy(r) for r in records)

    def versions(self) -> dict[str, int]:
        with self._lock:
            return {i: r["version"] for i, r in self._records.items()}

    def write(self, record: Record, *, expected_version: int) -> bool:
        tenant_id = record["id"]
        with self._lock:
            current = self._records.get(tenant_id)
            if (current["version"] if current is not None else 0) != expected_version:
                return False
            self._records[tenant_id] = copy.deepcopy(record)
            if self._watched:
                self._changes.put(Change(tenant_id, record["version"]))
        return True

    def remove(self, tenant_id: str) -> bool:
        with self._lock:
            if self._records.pop(tenant_id, None) is None:
                return False
            if self._watched:
                self._changes.put(Change(tenant_id, None))
        return True

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        with self._lock:
            self._watched = True
            while not self._changes.empty():  # changes before on_ready are not delivered
                self._changes.get_nowait()
        on_ready()
        while not stop.is_set():
            try:
                change = self._changes.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if change is not None:
                on_change(change)

    def close(self) -> None:
        """Wake a watcher waiting for the next change, so a ``stop`` set before this call
        ends its ``watch`` at once (the registry closes the store, then joins the watcher)."""
        self._changes.put(None)

    def __repr__(self) -> str:
        return f"<MemoryStore [{len(self._records)} tenants]>"
