"""TenantRegistry over the in-process MemoryStore: writes, reads, subscribers, LRU mode
and the negative cache, with an injected clock and (mostly) no watcher thread."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from tenantdb.errors import InvalidTenantError, UnknownTenantError
from tenantdb.tenants import Placement, Tenant, TenantLimits, TenantRegistry
from tenantdb.tenants.stores import Record
from tenantdb.tenants.stores.memory import MemoryStore

PLACEMENT = Placement({"ds0": 1.0, "ds1": 1.0})
WAIT_S = 10.0

MakeRegistry = Callable[..., TenantRegistry]


class CountingStore(MemoryStore):
    """A MemoryStore that counts ``load`` calls per tenant id."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: Counter[str] = Counter()

    def load(self, tenant_id: str) -> Record | None:
        self.loads[tenant_id] += 1
        return super().load(tenant_id)


@pytest.fixture
def make_registry() -> Iterator[MakeRegistry]:
    """Opens registries (without a watcher unless ``watch=True``); closes them at the end."""
    opened: list[TenantRegistry] = []

    def make(store: MemoryStore | None = None, **options: Any) -> TenantRegistry:
        options.setdefault("watch", False)
        registry = TenantRegistry(
            store if store is not None else MemoryStore(), placement=PLACEMENT, **options
        )
        opened.append(registry)
        return registry

    yield make
    for registry in opened:
        registry.close()


def seed(store: MemoryStore, *tenants: Tenant) -> None:
    """Write ``tenants`` at version 1 straight into the store (another process's put)."""
    for tenant in tenants:
        assert store.write(replace(tenant, version=1).to_dict(), expected_version=0)


def ids(n: int) -> list[str]:
    return [f"t{i}" for i in range(n)]


# -- put ---------------------------------------------------------------------------------


def test_put_of_a_mapping_creates_version_1_placed_by_the_ring(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    registry = make_registry(store, wall_clock=lambda: 1_800_000_000.5)
    tenant = registry.put({"id": "acme", "features": {"stage": "beta"}})
    assert tenant == Tenant(
        id="acme", datasource=registry.place("acme"), features={"stage": "beta"}, version=1
    )
    assert registry.place("acme") == PLACEMENT.place("acme")
    assert registry.get("acme") == tenant
    # The store keeps the merged record: the named fields, the placement, the version and
    # the time of the write.
    assert store.load("acme") == {
        "id": "acme",
        "features": {"stage": "beta"},
        "datasource": registry.place("acme"),
        "version": 1,
        "updated_at": 1_800_000_000.5,
    }


def test_put_places_new_tenants_on_every_datasource_by_the_ring(
    make_registry: MakeRegistry,
) -> None:
    registry = make_registry()
    placed = {t: registry.put({"id": t}).datasource for t in ids(40)}
    assert placed == {t: PLACEMENT.place(t) for t in ids(40)}
    assert set(placed.values()) == {"ds0", "ds1"}


def test_a_second_put_changes_only_the_given_fields(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    first = registry.put(
        {"id": "acme", "datasource": "ds1", "features": {"x": True}, "limits": {"burst": 5}}
    )
    second = registry.put({"id": "acme", "status": "suspended"})
    assert second == replace(first, status="suspended", version=2)
    assert registry.get("acme") == second


def test_put_of_a_tenant_replaces_every_field(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    registry.put({"id": "acme", "datasource": "ds1", "status": "read_only", "features": {"x": 1}})
    registry.put({"id": "acme", "limits": {"requests_per_second": 10}})
    replaced = registry.put(Tenant(id="acme", datasource="ds0", version=42))
    assert replaced == Tenant(id="acme", datasource="ds0", version=3)
    assert replaced.limits == TenantLimits()
    assert registry.get("acme") == replaced


def test_put_on_an_undefined_datasource_is_refused_and_changes_nothing(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    registry = make_registry(store, wall_clock=lambda: 1_800_000_000.0)
    with pytest.raises(InvalidTenantError) as caught:
        registry.put({"id": "acme", "datasource": "ds9"})
    assert caught.value.tenant_id == "acme"
    assert caught.value.field == "datasource"
    assert "'ds9' is not defined (defined: ds0, ds1)" in str(caught.value)
    assert store.load("acme") is None
    assert "acme" not in registry

    before = registry.put({"id": "acme", "datasource": "ds0"})
    with pytest.raises(InvalidTenantError, match="'ds9'"):
        registry.put({"id": "acme", "datasource": "ds9", "status": "suspended"})
    assert store.load("acme") == {
        "id": "acme",
        "datasource": "ds0",
        "version": 1,
        "updated_at": 1_800_000_000.0,
    }
    assert registry.get("acme") == before


@pytest.mark.parametrize("change", [{}, {"status": "active"}, {"id": 7}, {"id": None}])
def test_put_without_a_string_id_is_refused(
    make_registry: MakeRegistry, change: dict[str, Any]
) -> None:
    store = MemoryStore()
    registry = make_registry(store)
    with pytest.raises(InvalidTenantError, match="needs the tenant's 'id'") as caught:
        registry.put(change)
    assert caught.value.field == "id"
    assert caught.value.tenant_id is None
    assert store.versions() == {}


def test_put_of_a_malformed_change_is_refused_and_changes_nothing(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    registry = make_registry(store)
    with pytest.raises(InvalidTenantError) as caught:
        registry.put({"id": "acme", "status": "gone"})
    assert caught.value.field == "status"
    with pytest.raises(InvalidTenantError) as caught:
        registry.put({"id": "acme", "zone": "eu"})
    assert caught.value.field == "zone"
    assert store.versions() == {}


def test_put_with_an_empty_datasource_never_serves_an_unplaced_tenant(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    registry = make_registry(store)
    try:
        tenant = registry.put({"id": "acme", "datasource": ""})
    except InvalidTenantError:
        return  # refusing the empty name would be a fix too
    other = make_registry(store)
    assert tenant.datasource == registry.place("acme")
    assert registry.get("acme") == other.get("acme")


def test_put_of_an_id_that_is_not_valid_unicode_is_an_invalid_tenant(
    make_registry: MakeRegistry,
) -> None:
    registry = make_registry()
    with pytest.raises(InvalidTenantError):
        registry.put({"id": "acme\udc80"})


# -- delete and get ----------------------------------------------------------------------


def test_delete_then_get_is_unknown(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    registry = make_registry(store)
    registry.put({"id": "acme"})
    registry.delete("acme")
    assert store.load("acme") is None
    assert "acme" not in registry
    with pytest.raises(UnknownTenantError) as caught:
        registry.get("acme")
    assert caught.value.tenant_id == "acme"
    assert str(caught.value) == "unknown tenant 'acme'"


def test_delete_of_an_unknown_tenant_is_refused(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    with pytest.raises(UnknownTenantError) as caught:
        registry.delete("ghost")
    assert caught.value.tenant_id == "ghost"
    assert "'ghost'" in str(caught.value)


def test_get_loads_a_tenant_another_process_wrote(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    registry = make_registry(store)
    seed(store, Tenant(id="acme", datasource="ds1", status="read_only"))
    assert "acme" not in registry
    assert registry.get("acme") == Tenant(
        id="acme", datasource="ds1", status="read_only", version=1
    )
    assert "acme" in registry


def test_a_stored_tenant_without_datasource_is_placed_on_read(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    seed(store, Tenant(id="acme"))
    registry = make_registry(store)
    assert registry.get("acme").datasource == PLACEMENT.place("acme")
    assert store.load("acme")["datasource"] is None  # type: ignore[index]


def test_a_malformed_stored_record_is_not_served(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    assert store.write({"id": "acme", "version": 1, "status": "gone"}, expected_version=0)
    with caplog.at_level(logging.ERROR, logger="tenantdb.tenants"):
        registry = make_registry(store)
        with pytest.raises(UnknownTenantError):
            registry.get("acme")
    assert registry.list() == []
    assert any("'acme'" in r.getMessage() and "status" in r.getMessage() for r in caplog.records)


# -- static tenants ----------------------------------------------------------------------


def test_static_tenants_seed_the_store(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    registry = make_registry(
        store,
        static=[
            Tenant(id="acme", datasource="ds1", status="read_only"),
            Tenant(id="globex", isolation="schema", schema="globex"),
        ],
        wall_clock=lambda: 1_800_000_000.0,
    )
    stamp = {"updated_at": 1_800_000_000.0}  # seeding is a write like any other
    assert store.load("acme") == {
        **Tenant(id="acme", datasource="ds1", status="read_only", version=1).to_dict(),
        **stamp,
    }
    assert store.load("globex") == {
        **Tenant(
            id="globex",
            datasource=PLACEMENT.place("globex"),
            isolation="schema",
            schema="globex",
            version=1,
        ).to_dict(),
        **stamp,
    }
    assert [t.id for t in registry.list()] == ["acme", "globex"]


def test_the_stores_copy_wins_over_a_static_entry(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    stored = Tenant(id="acme", datasource="ds0", status="suspended", version=4)
    assert store.write(stored.to_dict(), expected_version=0)
    registry = make_registry(store, static=[Tenant(id="acme", datasource="ds1")])
    assert registry.get("acme") == stored
    assert store.load("acme") == stored.to_dict()


# -- list and schema_layout --------------------------------------------------------------


def test_list_is_sorted_by_id(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    for tenant_id in ("zeta", "alpha", "mid", "Beta"):
        registry.put({"id": tenant_id})
    assert [t.id for t in registry.list()] == ["Beta", "alpha", "mid", "zeta"]
    assert len(registry) == 4


def test_schema_layout_lists_schema_tenants_per_datasource(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    assert dict(registry.schema_layout()) == {}
    registry.put({"id": "b_co", "datasource": "ds0", "isolation": "schema"})
    registry.put({"id": "a_co", "datasource": "ds0", "isolation": "schema"})
    registry.put({"id": "c-co", "datasource": "ds1", "isolation": "schema", "schema": "c_co"})
    registry.put({"id": "shared_co", "datasource": "ds1"})
    with pytest.raises(InvalidTenantError, match="also used by tenants 'c-co', 'shared_co'"):
        registry.put({"id": "own_db", "datasource": "ds1", "isolation": "database"})
    assert dict(registry.schema_layout()) == {"ds0": ("a_co", "b_co"), "ds1": ("c_co",)}
    assert registry.schema_layout() is registry.schema_layout()  # remembered

    registry.put({"id": "a_co", "isolation": "shared"})
    registry.put({"id": "shared_co", "isolation": "schema"})
    assert dict(registry.schema_layout()) == {"ds0": ("b_co",), "ds1": ("c_co", "shared_co")}
    registry.delete("b_co")
    assert dict(registry.schema_layout()) == {"ds1": ("c_co", "shared_co")}


# -- subscribers -------------------------------------------------------------------------


def test_subscribers_get_old_and_new_until_they_unsubscribe(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    heard: list[tuple[Tenant | None, Tenant | None]] = []
    unsubscribe = registry.subscribe(lambda old, new: heard.append((old, new)))
    first = registry.put({"id": "acme"})
    second = registry.put({"id": "acme", "status": "read_only"})
    registry.delete("acme")
    assert heard == [(None, first), (first, second), (second, None)]

    unsubscribe()
    registry.put({"id": "acme"})
    registry.delete("acme")
    assert len(heard) == 3


def test_a_failing_subscriber_does_not_break_put(
    make_registry: MakeRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    registry = make_registry()
    heard: list[tuple[Tenant | None, Tenant | None]] = []

    def broken(old: Tenant | None, new: Tenant | None) -> None:
        raise RuntimeError("subscriber bug")

    registry.subscribe(broken)
    registry.subscribe(lambda old, new: heard.append((old, new)))
    with caplog.at_level(logging.ERROR, logger="tenantdb.tenants"):
        tenant = registry.put({"id": "acme"})
    assert tenant.version == 1
    assert registry.get("acme") == tenant
    assert heard == [(None, tenant)]
    failures = [r for r in caplog.records if "tenant subscriber" in r.getMessage()]
    assert len(failures) == 1
    assert "'acme'" in failures[0].getMessage()
    assert failures[0].exc_info is not None


def test_the_watcher_delivers_changes_written_by_another_process(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    registry = make_registry(store, watch=True)
    assert registry.wait_ready(WAIT_S)
    arrived = threading.Event()
    heard: list[tuple[Tenant | None, Tenant | None]] = []

    def listen(old: Tenant | None, new: Tenant | None) -> None:
        heard.append((old, new))
        arrived.set()

    registry.subscribe(listen)
    seed(store, Tenant(id="acme", datasource="ds1"))
    assert arrived.wait(WAIT_S)
    expected = Tenant(id="acme", datasource="ds1", version=1)
    assert heard == [(None, expected)]
    assert registry.get("acme") == expected


# -- change propagation ------------------------------------------------------------------


class WallClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write_stamped(store: MemoryStore, tenant_id: str, version: int, stamp: float | None) -> None:
    """Another process's put of ``tenant_id`` at ``version``, stamped ``stamp`` (None: by
    a version that wrote no stamp)."""
    record: dict[str, Any] = {"id": tenant_id, "datasource": "ds0", "version": version}
    if stamp is not None:
        record["updated_at"] = stamp
    assert store.write(record, expected_version=version - 1)


def arrive(registry: TenantRegistry, tenant_id: str, version: int) -> None:
    for _ in range(int(WAIT_S / 0.01)):
        if tenant_id in registry and registry.get(tenant_id).version == version:
            return
        time.sleep(0.01)
    raise AssertionError(f"version {version} of {tenant_id!r} never arrived")


def test_a_change_from_another_process_is_timed_from_its_stamp(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    clock = WallClock(1_800_000_010.0)
    registry = make_registry(store, watch=True, wall_clock=clock)
    assert registry.wait_ready(WAIT_S)
    heard: list[float] = []
    stop = registry.on_propagation(heard.append)
    write_stamped(store, "acme", 1, 1_800_000_007.5)
    arrive(registry, "acme", 1)
    propagation = registry.propagation()
    assert (propagation.count, propagation.sum) == (1, 2.5)
    assert dict(propagation.cumulative())[2.5] == 1
    assert dict(propagation.cumulative())[1.0] == 0
    assert heard == [2.5]

    # A writer whose clock runs ahead: 0, not a negative delay.
    write_stamped(store, "acme", 2, 1_800_000_012.0)
    arrive(registry, "acme", 2)
    assert (registry.propagation().count, registry.propagation().sum) == (2, 2.5)
    assert heard == [2.5, 0.0]

    # Unstamped records (older writers) and deletions are not timed; neither is this
    # process's own put, which it applied before the feed brought it back.
    stop()
    write_stamped(store, "acme", 3, None)
    arrive(registry, "acme", 3)
    registry.put({"id": "globex"})
    assert store.remove("acme")
    write_stamped(store, "last", 1, 1_800_000_009.0)  # the feed delivers in order
    arrive(registry, "last", 1)
    assert "acme" not in registry
    assert (registry.propagation().count, registry.propagation().sum) == (3, 3.5)
    assert heard == [2.5, 0.0]  # stopped listening


def test_a_put_of_identical_fields_is_a_new_version_with_a_new_stamp(
    make_registry: MakeRegistry,
) -> None:
    """Decided: a put is a write, whatever it says. It gets a version and a stamp of its
    own (other processes reload the tenant and time the change), while the Tenant, which
    carries no stamp, compares equal but for the version."""
    store = MemoryStore()
    clock = WallClock(1_800_000_000.0)
    registry = make_registry(store, wall_clock=clock)
    first = registry.put({"id": "acme", "datasource": "ds0"})
    clock.now += 60
    second = registry.put({"id": "acme", "datasource": "ds0"})
    assert (first.version, second.version) == (1, 2)
    assert replace(second, version=1) == first
    assert store.load("acme") == {
        "id": "acme",
        "datasource": "ds0",
        "version": 2,
        "updated_at": 1_800_000_060.0,
    }


# -- LRU mode ----------------------------------------------------------------------------


def test_more_stored_tenants_than_max_cached_start_in_lru_mode(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    seed(store, *(Tenant(id=t, datasource="ds0") for t in ids(5)))
    registry = make_registry(store, max_cached=3)
    assert registry.status()["mode"] == "lru"
    assert len(registry) == 0

    for t in ids(5):
        assert registry.get(t).id == t
        assert len(registry) <= 3
    assert [t in registry for t in ids(5)] == [False, False, True, True, True]

    registry.get("t2")  # a hit: now the most recently used
    registry.get("t0")  # a miss: evicts the least recently used, t3
    assert [t in registry for t in ids(5)] == [True, False, True, False, True]
    assert len(registry) == 3
    assert [t.id for t in registry.list()] == ids(5)  # from the store


def test_puts_past_max_cached_switch_to_lru_mode(make_registry: MakeRegistry) -> None:
    registry = make_registry(max_cached=3)
    for t in ids(3):
        registry.put({"id": t})
    assert registry.status()["mode"] == "snapshot"
    assert len(registry) == 3

    registry.put({"id": "t3"})
    assert registry.status()["mode"] == "lru"
    assert len(registry) == 3
    assert "t3" in registry
    assert [t.id for t in registry.list()] == ids(4)
    evicted = next(t for t in ids(4) if t not in registry)
    assert registry.get(evicted).id == evicted  # loaded again from the store
    assert len(registry) == 3


def test_schema_layout_in_lru_mode_covers_tenants_not_in_memory(
    make_registry: MakeRegistry,
) -> None:
    store = MemoryStore()
    seed(store, *(Tenant(id=t, datasource="ds1", isolation="schema") for t in ids(4)))
    registry = make_registry(store, max_cached=2)
    assert len(registry) == 0
    assert dict(registry.schema_layout()) == {"ds1": tuple(ids(4))}
    registry.put({"id": "t1", "isolation": "shared"})
    assert dict(registry.schema_layout()) == {"ds1": ("t0", "t2", "t3")}


# -- negative cache ----------------------------------------------------------------------


def test_an_unknown_id_is_remembered_for_negative_ttl(make_registry: MakeRegistry) -> None:
    now = [1000.0]
    store = CountingStore()
    registry = make_registry(store, clock=lambda: now[0], negative_ttl_s=5.0)
    with pytest.raises(UnknownTenantError):
        registry.get("ghost")
    assert store.loads["ghost"] == 1
    assert registry.status()["negative_cached"] == 1

    seed(store, Tenant(id="ghost", datasource="ds0"))  # another process creates it
    now[0] = 1004.9
    with pytest.raises(UnknownTenantError) as caught:
        registry.get("ghost")
    assert caught.value.tenant_id == "ghost"
    assert store.loads["ghost"] == 1

    now[0] = 1005.1
    assert registry.get("ghost").version == 1
    assert store.loads["ghost"] == 2
    registry.get("ghost")
    assert store.loads["ghost"] == 2


def test_a_put_in_this_process_forgets_the_negative_entry(make_registry: MakeRegistry) -> None:
    now = [0.0]
    registry = make_registry(CountingStore(), clock=lambda: now[0], negative_ttl_s=60.0)
    with pytest.raises(UnknownTenantError):
        registry.get("acme")
    created = registry.put({"id": "acme"})
    assert registry.status()["negative_cached"] == 0
    assert registry.get("acme") == created


def test_negative_ttl_0_disables_the_negative_cache(make_registry: MakeRegistry) -> None:
    store = CountingStore()
    registry = make_registry(store, clock=lambda: 0.0, negative_ttl_s=0)
    for _ in range(3):
        with pytest.raises(UnknownTenantError):
            registry.get("ghost")
    assert store.loads["ghost"] == 3
    assert registry.status()["negative_cached"] == 0


# -- repr and status ---------------------------------------------------------------------


def test_repr_shows_store_size_and_mode(make_registry: MakeRegistry) -> None:
    registry = make_registry()
    registry.put({"id": "acme"})
    registry.put({"id": "globex"})
    assert repr(registry) == "<TenantRegistry memory: [2 tenants, snapshot]>"

    store = MemoryStore()
    seed(store, *(Tenant(id=t) for t in ids(4)))
    lru = make_registry(store, max_cached=3)
    lru.get("t1")
    assert repr(lru) == "<TenantRegistry memory: [1 tenants, lru 3]>"


def test_status_of_a_live_registry(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    registry = make_registry(
        store, watch=True, static=[Tenant(id="acme", datasource="ds0")], max_cached=10
    )
    assert registry.wait_ready(WAIT_S)
    with pytest.raises(UnknownTenantError):
        registry.get("ghost")
    status = registry.status()
    assert status.pop("changed_s_ago") >= 0
    assert status == {
        "store": "memory:",
        "shared_cache": None,
        "mode": "snapshot",
        "cached": 1,
        "max_cached": 10,
        "negative_cached": 1,
        "refused": 0,
        "feed": "live",
        "last_error": None,
        "generation": 1,  # the load at start
    }
    registry.put(Tenant(id="globex", datasource="ds0"))
    assert registry.status()["generation"] == 2


def test_status_of_an_lru_registry(make_registry: MakeRegistry) -> None:
    store = MemoryStore()
    seed(store, *(Tenant(id=t) for t in ids(3)))
    registry = make_registry(store, max_cached=2, negative_ttl_s=0)
    registry.get("t0")
    status = registry.status()
    assert (status["mode"], status["cached"], status["max_cached"]) == ("lru", 1, 2)
    assert status["negative_cached"] == 0


def test_close_wakes_the_watcher_so_it_ends_at_once(
    make_registry: MakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The watch polls its stop event only every hour here: the watcher is gone when
    # close() returns (it joins it for at most 5 s) only because close() woke it.
    from tenantdb.tenants.stores import memory

    monkeypatch.setattr(memory, "_POLL_S", 3600.0)
    before = set(threading.enumerate())
    registry = make_registry(watch=True)
    assert registry.wait_ready(WAIT_S)
    (watcher,) = [t for t in threading.enumerate() if t not in before]
    registry.close()
    assert not watcher.is_alive()
