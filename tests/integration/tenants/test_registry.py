"""The registry over real stores: propagation, outages, resync, malformed records,
single-flight misses and negative caching.

Each test runs on SQLite, a TOML file and, where the server answers, PostgreSQL, Redis and etcd. Two
registries on one store stand for two processes; a TCP proxy in front of the server lets a
test cut one of them off while the server keeps running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from proxy import TcpProxy
from tenantdb.core.retry import Backoff
from tenantdb.errors import InvalidTenantError, RegistryUnavailableError, UnknownTenantError
from tenantdb.tenants import Placement, Tenant, TenantRegistry
from tenantdb.tenants.stores import Change, Record, TenantStore, open_store

from .store_contract import record

WAIT_S = 10.0
PLACEMENT = Placement({"ds0": 1.0, "ds1": 1.0})
FAST_RETRY = Backoff(initial_s=0.02, max_s=0.2)

NETWORK_KINDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("etcd", marks=pytest.mark.etcd),
]
ALL_KINDS = [pytest.param("sqlite"), pytest.param("file"), *NETWORK_KINDS]


@pytest.fixture
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind: str = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db?poll_interval=0.01"
    if kind == "file":
        return f"file://{tmp_path}/tenants.toml"
    fixture = {
        "postgres": "pg_registry_url",
        "redis": "redis_registry_url",
        "etcd": "etcd_registry_url",
    }
    url: str = request.getfixturevalue(fixture[kind])
    return url


class Registries:
    """Opens registries (one per simulated process) and closes them all at the end."""

    def __init__(self) -> None:
        self.opened: list[TenantRegistry] = []

    def open(self, url: str, *, store: TenantStore | None = None, **options: Any) -> TenantRegistry:
        options.setdefault("backoff", FAST_RETRY)
        registry = TenantRegistry(store or open_store(url), placement=PLACEMENT, **options)
        self.opened.append(registry)
        if options.get("watch", True):
            assert registry.wait_ready(WAIT_S), registry.status()
        return registry

    def close(self) -> None:
        for registry in self.opened:
            registry.close()


@pytest.fixture
def registries() -> Iterator[Registries]:
    opened = Registries()
    yield opened
    opened.close()


class CountingStore:
    """A real store that counts loads per id (and can slow them down to widen races)."""

    def __init__(self, inner: TenantStore, *, load_delay_s: float = 0.0) -> None:
        self.inner = inner
        self.url = inner.url
        self.loads: Counter[str] = Counter()
        self.load_delay_s = load_delay_s
        self._lock = threading.Lock()

    def load(self, tenant_id: str) -> Record | None:
        with self._lock:
            self.loads[tenant_id] += 1
        time.sleep(self.load_delay_s)
        return self.inner.load(tenant_id)

    def load_all(self) -> Iterator[Record]:
        return self.inner.load_all()

    def versions(self) -> dict[str, int]:
        return self.inner.versions()

    def write(self, record: Record, *, expected_version: int) -> bool:
        return self.inner.write(record, expected_version=expected_version)

    def remove(self, tenant_id: str) -> bool:
        return self.inner.remove(tenant_id)

    def watch(
        self,
        on_change: Callable[[Change], None],
        *,
        on_ready: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        self.inner.watch(on_change, on_ready=on_ready, stop=stop)

    def close(self) -> None:
        self.inner.close()


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.005)


def held_version(registry: TenantRegistry, tenant_id: str) -> int | None:
    """The version this registry holds in memory (no store read, unlike ``get``)."""
    return {t.id: t.version for t in registry.list()}.get(tenant_id)


def version_of(registry: TenantRegistry, tenant_id: str) -> int | None:
    try:
        return registry.get(tenant_id).version
    except UnknownTenantError:
        return None


@pytest.mark.parametrize("store_url", ALL_KINDS, indirect=True)
def test_a_change_in_one_process_reaches_the_others(store_url: str, registries: Registries) -> None:
    writer = registries.open(store_url)
    reader = registries.open(store_url)
    seen: list[tuple[Tenant | None, Tenant | None]] = []
    reader.subscribe(lambda old, new: seen.append((old, new)))

    created = writer.put({"id": "acme", "datasource": "ds1"})
    assert created.version == 1
    eventually(lambda: version_of(reader, "acme") == 1, "reader sees acme v1")
    changed = writer.put({"id": "acme", "status": "suspended"})
    assert (changed.version, changed.datasource, changed.status) == (2, "ds1", "suspended")
    eventually(lambda: reader.get("acme").status == "suspended", "reader sees the suspension")
    writer.delete("acme")
    eventually(lambda: version_of(reader, "acme") is None, "reader sees the deletion")
    with pytest.raises(UnknownTenantError, match="acme"):
        reader.get("acme")
    assert [(o and o.version, n and n.version) for o, n in seen] == [(None, 1), (1, 2), (2, None)]


@pytest.mark.parametrize("store_url", NETWORK_KINDS, indirect=True)
def test_an_outage_keeps_the_last_snapshot_and_a_reconnect_resyncs_by_version(
    store_url: str,
    registries: Registries,
    proxy: Callable[[str], tuple[TcpProxy, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = registries.open(store_url)
    for tenant_id in ("acme", "gone", "kept"):
        writer.put({"id": tenant_id, "datasource": "ds0"})
    tcp, proxied_url = proxy(store_url)
    reader = registries.open(proxied_url)
    assert [t.id for t in reader.list()] == ["acme", "gone", "kept"]

    caplog.set_level(logging.WARNING, logger="tenantdb.tenants")
    tcp.cut()
    eventually(lambda: reader.status()["feed"] == "reconnecting", "reader notices the outage")
    # While the store is unreachable for the reader, changes happen and are not delivered.
    writer.put({"id": "acme", "status": "read_only"})
    writer.put({"id": "late", "datasource": "ds1"})
    writer.delete("gone")
    time.sleep(0.5)  # several reconnect attempts, all refused
    for _ in range(1000):
        assert reader.get("acme").version == 1, "the last good snapshot keeps serving"
    assert reader.get("gone").version == 1
    with pytest.raises(RegistryUnavailableError):
        reader.get("never-seen")  # a miss has no last good answer
    unreachable = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(unreachable) == 1, [r.getMessage() for r in unreachable]

    tcp.heal()
    eventually(lambda: reader.status()["feed"] == "live", "reader reconnects")
    assert reader.get("acme").status == "read_only"
    assert reader.get("acme").version == 2
    assert reader.get("late").datasource == "ds1"
    with pytest.raises(UnknownTenantError):
        reader.get("gone")
    assert reader.get("kept").version == 1


@pytest.mark.parametrize("store_url", NETWORK_KINDS, indirect=True)
def test_a_store_down_at_start_up_serves_static_tenants_then_catches_up(
    store_url: str, registries: Registries, proxy: Callable[[str], tuple[TcpProxy, str]]
) -> None:
    writer = registries.open(store_url)
    writer.put({"id": "acme", "datasource": "ds1", "status": "read_only"})
    tcp, proxied_url = proxy(store_url)
    tcp.cut()
    static = [Tenant(id="acme", datasource="ds0", version=1), Tenant(id="initech")]
    reader = registries.open(proxied_url, static=static, watch=False)
    assert reader.get("acme").datasource == "ds0", "the static entry until the store answers"
    assert reader.get("initech").datasource == PLACEMENT.place("initech")
    reader.close()
    tcp.heal()
    reader = registries.open(proxied_url, static=static)
    assert reader.get("acme").datasource == "ds1", "the store's copy wins over the static one"
    assert reader.get("initech").version == 1, "a static tenant the store lacked is seeded"


@pytest.mark.parametrize("store_url", ALL_KINDS, indirect=True)
def test_a_malformed_record_is_rejected_and_the_previous_one_kept(
    store_url: str, registries: Registries, caplog: pytest.LogCaptureFixture
) -> None:
    raw = open_store(store_url)
    try:
        writer = registries.open(store_url)
        reader = registries.open(store_url)
        writer.put({"id": "acme", "datasource": "ds0"})
        eventually(lambda: version_of(reader, "acme") == 1, "reader sees acme v1")

        caplog.set_level(logging.ERROR, logger="tenantdb.tenants")
        bad = record("acme", 2, status="on_holiday")
        assert raw.write(bad, expected_version=1)
        writer.put({"id": "barrier", "datasource": "ds0"})  # delivered after the bad change
        eventually(lambda: held_version(reader, "barrier") == 1, "reader passes the barrier")
        assert reader.get("acme").version == 1, "the malformed v2 must not replace v1"
        assert reader.get("acme").status == "active"
        assert any(
            "acme" in r.getMessage() and "status" in r.getMessage() for r in caplog.records
        ), [r.getMessage() for r in caplog.records]

        elsewhere = record("acme", 3, datasource="ds9")  # an undefined datasource
        assert raw.write(elsewhere, expected_version=2)
        writer.put({"id": "barrier", "status": "read_only"})
        eventually(lambda: held_version(reader, "barrier") == 2, "reader passes the barrier")
        assert reader.get("acme").version == 1

        fixed = writer.put({"id": "acme", "datasource": "ds1", "status": "suspended"})
        assert fixed.version == 4
        eventually(lambda: version_of(reader, "acme") == 4, "reader takes the fixed record")
        with pytest.raises(InvalidTenantError, match="status"):
            writer.put({"id": "acme", "status": "on_holiday"})
        with pytest.raises(InvalidTenantError, match="ds9"):
            writer.put({"id": "acme", "datasource": "ds9"})
        assert writer.get("acme").version == 4
    finally:
        raw.close()


@pytest.mark.parametrize("store_url", ALL_KINDS, indirect=True)
def test_a_thousand_concurrent_misses_cost_one_store_read(
    store_url: str, registries: Registries
) -> None:
    seed = open_store(store_url)
    try:
        for n in range(3):
            seed.write(record(f"warm{n}"), expected_version=0)
        seed.write(record("cold", datasource="ds1"), expected_version=0)
    finally:
        seed.close()
    counting = CountingStore(open_store(store_url), load_delay_s=0.2)
    # Fewer slots than tenants: LRU mode, nothing loaded up front.
    registry = registries.open(store_url, store=counting, max_cached=2)
    assert registry.status()["mode"] == "lru"
    assert "cold" not in registry

    start = threading.Barrier(1000)
    answers: list[str | None] = []

    def ask() -> None:
        start.wait()
        answers.append(registry.get("cold").datasource)

    threads = [threading.Thread(target=ask) for _ in range(1000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["ds1"] * 1000
    assert counting.loads["cold"] == 1
    registry.get("cold")
    assert counting.loads["cold"] == 1, "a loaded tenant is served from memory"


@pytest.mark.parametrize("store_url", ALL_KINDS, indirect=True)
def test_unknown_ids_are_cached_negatively_until_created(
    store_url: str, registries: Registries
) -> None:
    now = [0.0]
    counting = CountingStore(open_store(store_url))
    reader = registries.open(store_url, store=counting, negative_ttl_s=5.0, clock=lambda: now[0])
    for _ in range(100):
        with pytest.raises(UnknownTenantError, match="ghost"):
            reader.get("ghost")
    assert counting.loads["ghost"] == 1
    now[0] += 5.1
    with pytest.raises(UnknownTenantError):
        reader.get("ghost")
    assert counting.loads["ghost"] == 2, "the negative answer expires after negative_ttl_s"

    writer = registries.open(store_url)
    writer.put({"id": "ghost", "datasource": "ds0"})
    # The creation's notification clears the negative entry: no waiting for the TTL.
    eventually(lambda: version_of(reader, "ghost") == 1, "reader sees the new tenant")


class LoadAllCounter(CountingStore):
    """Counts full reads as well."""

    def __init__(self, inner: TenantStore) -> None:
        super().__init__(inner)
        self.full_reads = 0

    def load_all(self) -> Iterator[Record]:
        self.full_reads += 1
        return self.inner.load_all()


@pytest.mark.redis
@pytest.mark.parametrize("store_url", ALL_KINDS, indirect=True)
def test_a_new_process_warms_up_from_the_shared_cache(
    store_url: str, registries: Registries, redis_registry_url: str
) -> None:
    from tenantdb.tenants._shared_cache import RedisSharedCache

    cache_url = redis_registry_url  # a fresh prefix of its own
    first = registries.open(
        store_url,
        store=LoadAllCounter(open_store(store_url)),
        shared_cache=RedisSharedCache(cache_url),
    )
    for n in range(50):
        first.put({"id": f"t{n}", "datasource": f"ds{n % 2}"})

    second_store = LoadAllCounter(open_store(store_url))
    second = registries.open(
        store_url, store=second_store, shared_cache=RedisSharedCache(cache_url)
    )
    assert second_store.full_reads == 0, "warmed up from the cache, not the store"
    assert [t.version for t in second.list()] == [1] * 50
    assert sum(second_store.loads.values()) == 0, "nothing was stale, nothing was reloaded"

    # A change the cache missed (written behind its back) is caught by the version resync.
    raw = open_store(store_url)
    try:
        assert raw.write(record("t7", 2, datasource="ds0"), expected_version=1)
    finally:
        raw.close()
    third_store = LoadAllCounter(open_store(store_url))
    third = registries.open(store_url, store=third_store, shared_cache=RedisSharedCache(cache_url))
    assert third_store.full_reads == 0
    eventually(lambda: held_version(third, "t7") == 2, "the resync reloads the stale tenant")
