"""The contract every tenant store keeps, as a test class to subclass per store.

A store's test module subclasses ``StoreContract`` and provides the fixture
``open_store``: a callable returning a *new* store object on one fresh, empty namespace
(database, key prefix, file) for the test, so two calls act like two processes sharing
the store. Stores are closed by the contract's fixtures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tenantdb.tenants.stores import Change, Record, TenantStore

OpenStore = Callable[[], TenantStore]
WAIT_S = 10.0


def record(tenant_id: str, version: int = 1, **fields: object) -> Record:
    base: Record = {
        "id": tenant_id,
        "datasource": "ds0",
        "isolation": "shared",
        "schema": None,
        "status": "active",
        "limits": {
            "requests_per_second": None,
            "burst": None,
            "max_concurrent": None,
            "max_concurrent_per_datasource": None,
            "max_queued": None,
            "queue_timeout": None,
            "statement_timeout": None,
        },
        "features": {},
        "version": version,
    }
    limits = fields.pop("limits", {})
    assert isinstance(limits, dict)
    base["limits"].update(limits)  # stores write every limit key, set or not
    base.update(fields)
    return base


class Watcher:
    """Runs ``store.watch`` on a thread and collects the changes it delivers."""

    def __init__(self, store: TenantStore) -> None:
        self.store = store
        self.changes: list[Change] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._arrived = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.store.watch(self._on_change, on_ready=self.ready.set, stop=self.stop)
        except BaseException as exc:
            self.error = exc

    def _on_change(self, change: Change) -> None:
        assert self.ready.is_set(), "on_change called before on_ready"
        with self._arrived:
            self.changes.append(change)
            self._arrived.notify_all()

    def start(self) -> Watcher:
        self.thread.start()
        assert self.ready.wait(WAIT_S), f"watch never became ready (error: {self.error!r})"
        return self

    def wait_for(self, predicate: Callable[[list[Change]], bool]) -> list[Change]:
        deadline = time.monotonic() + WAIT_S
        with self._arrived:
            while not predicate(self.changes):
                left = deadline - time.monotonic()
                assert left > 0, f"changes seen so far: {self.changes}; error: {self.error!r}"
                self._arrived.wait(left)
            return list(self.changes)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "watch did not return after stop was set"


class StoreContract:
    """Tests every store must pass. Subclasses define the ``open_store`` fixture."""

    @pytest.fixture
    def stores(self, open_store: OpenStore) -> Iterator[Callable[[], TenantStore]]:
        opened: list[TenantStore] = []

        def make() -> TenantStore:
            store = open_store()
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()

    @pytest.fixture
    def store(self, stores: Callable[[], TenantStore]) -> TenantStore:
        return stores()

    def test_an_empty_store_has_no_tenants(self, store: TenantStore) -> None:
        assert store.load("acme") is None
        assert list(store.load_all()) == []
        assert store.versions() == {}

    def test_a_written_record_reads_back_equal(self, store: TenantStore) -> None:
        written = record(
            "acme",
            features={"stage": "beta", "flags": {"new_ui": True}, "ratio": 0.25},
            limits={"requests_per_second": 50.0, "burst": 100, "max_concurrent": 4},
        )
        assert store.write(written, expected_version=0)
        assert store.load("acme") == written
        assert list(store.load_all()) == [written]
        assert store.versions() == {"acme": 1}

    def test_write_is_a_compare_and_set_on_the_version(self, store: TenantStore) -> None:
        assert store.write(record("acme", 1), expected_version=0)
        assert not store.write(record("acme", 1, status="suspended"), expected_version=0)
        assert store.write(record("acme", 2, status="read_only"), expected_version=1)
        assert not store.write(record("acme", 2, status="suspended"), expected_version=1)
        loaded = store.load("acme")
        assert loaded is not None
        assert (loaded["version"], loaded["status"]) == (2, "read_only")

    def test_remove_deletes_once(self, store: TenantStore) -> None:
        store.write(record("acme"), expected_version=0)
        store.write(record("other"), expected_version=0)
        assert store.remove("acme") is True
        assert store.remove("acme") is False
        assert store.load("acme") is None
        assert store.versions() == {"other": 1}
        assert store.write(record("acme"), expected_version=0), "a removed id can be reused"

    def test_ids_are_data(self, store: TenantStore) -> None:
        odd = ["o'brien", 'quote"d', "semi;colon -- x", "ünïcødé 租户", "a/b\\c", "*", "%s"]
        for tenant_id in odd:
            assert store.write(record(tenant_id), expected_version=0), tenant_id
        assert store.versions() == dict.fromkeys(odd, 1)
        for tenant_id in odd:
            assert store.load(tenant_id) == record(tenant_id)
        assert store.load("o") is None

    def test_many_records_load_at_once(self, store: TenantStore) -> None:
        ids = [f"t{n:04d}" for n in range(500)]
        for tenant_id in ids:
            store.write(record(tenant_id, datasource=f"ds{len(tenant_id) % 2}"), expected_version=0)
        loaded = {r["id"]: r for r in store.load_all()}
        assert sorted(loaded) == ids
        assert loaded["t0042"] == record("t0042", datasource="ds1")

    def test_of_two_writers_of_one_version_exactly_one_wins(
        self, stores: Callable[[], TenantStore]
    ) -> None:
        first, second = stores(), stores()
        first.write(record("acme"), expected_version=0)
        for version in range(1, 21):
            writers = [(first, "read_only"), (second, "suspended")]
            if version % 2:
                writers.reverse()
            outcomes = [
                store.write(record("acme", version + 1, status=status), expected_version=version)
                for store, status in writers
            ]
            assert outcomes == [True, False]
            loaded = first.load("acme")
            assert loaded is not None
            assert loaded["status"] == writers[0][1]
        assert second.versions() == {"acme": 21}

    def test_watch_delivers_changes_from_another_process(
        self, stores: Callable[[], TenantStore]
    ) -> None:
        watcher = Watcher(stores()).start()
        try:
            writer = stores()
            writer.write(record("acme"), expected_version=0)
            writer.write(record("acme", 2, status="suspended"), expected_version=1)
            writer.remove("acme")
            changes = watcher.wait_for(lambda seen: len(seen) >= 3)
            assert [c.tenant_id for c in changes[:3]] == ["acme"] * 3
            assert [c.version for c in changes[:3]] == [1, 2, None]
        finally:
            watcher.close()
        assert watcher.error is None

    def test_watch_returns_after_stop(self, store: TenantStore) -> None:
        # close() sets stop and waits up to WAIT_S for watch to return: far longer than any
        # store's poll period, so only a watch that ignores stop (or waits out a long
        # poll) fails here; how fast it returns is not measured.
        watcher = Watcher(store).start()
        watcher.close()
        assert not watcher.thread.is_alive()
        assert watcher.error is None
